#include "keys.h"

#include <czmq.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "codec.h"
#include "util.h"

/* Copies the file CZMQ wrote into fd (ours, created O_EXCL). */
static int copy_into(const char *from, int fd)
{
	char buf[4096];
	int in = open(from, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	ssize_t n = 0;

	if (in < 0)
		return -1;
	while ((n = read(in, buf, sizeof(buf))) > 0)
		if (write_all(fd, buf, (size_t)n) < 0) {
			n = -1;
			break;
		}
	close(in);
	return n < 0 || fsync(fd) < 0 ? -1 : 0;
}

/* CZMQ writes the pair into a directory only we can enter, next to path;
 * it is copied from there into fd_pub and fd_sec. */
static int fill_pair(zcert_t *cert, const char *path, int fd_pub, int fd_sec,
		     char *err, size_t errlen)
{
	char tmpdir[4096], tmp_pub[4200], tmp_sec[4300];
	int rc = -1;

	if (path_dirname(path, tmpdir, sizeof(tmpdir)) < 0 ||
	    strlen(tmpdir) + sizeof("/.keygen.XXXXXX") > sizeof(tmpdir)) {
		snprintf(err, errlen, "path too long: %s", path);
		return -1;
	}
	strcat(tmpdir, "/.keygen.XXXXXX");
	if (!mkdtemp(tmpdir)) {
		snprintf(err, errlen, "cannot create a temporary directory next to %s: %s",
			 path, strerror(errno));
		return -1;
	}
	snprintf(tmp_pub, sizeof(tmp_pub), "%s/key", tmpdir);
	snprintf(tmp_sec, sizeof(tmp_sec), "%s/key_secret", tmpdir);
	if (zcert_save(cert, tmp_pub) != 0 || copy_into(tmp_sec, fd_sec) < 0 ||
	    copy_into(tmp_pub, fd_pub) < 0 || fchmod(fd_pub, 0644) < 0)
		snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno));
	else
		rc = 0;
	unlink(tmp_sec);
	unlink(tmp_pub);
	rmdir(tmpdir);
	return rc;
}

/* Both files are created here with O_EXCL | O_NOFOLLOW at their final
 * modes: a key, a symlink or anything else planted at either name is
 * refused, never overwritten or followed, and the secret is never readable
 * by others, not even for a moment. */
static int write_pair(zcert_t *cert, const char *path, const char *secret_path,
		      char *err, size_t errlen)
{
	int flags = O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC;
	int fd_sec = open(secret_path, flags, 0600), fd_pub = -1, rc = -1;

	if (fd_sec >= 0)
		fd_pub = open(path, flags, 0644);
	if (fd_sec < 0 || fd_pub < 0)
		snprintf(err, errlen, "cannot create %s: %s%s", fd_sec < 0 ? secret_path : path,
			 strerror(errno), errno == EEXIST || errno == ELOOP ?
			 " (not overwriting a key, nor following a link)" : "");
	else
		rc = fill_pair(cert, path, fd_pub, fd_sec, err, errlen);
	if ((fd_sec >= 0 && close(fd_sec) < 0) || (fd_pub >= 0 && close(fd_pub) < 0)) {
		if (rc == 0)
			snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno));
		rc = -1;
	}
	if (rc < 0 && fd_sec >= 0)
		unlink(secret_path); /* ours: created above, never someone else's */
	if (rc < 0 && fd_pub >= 0)
		unlink(path);
	return rc;
}

int keys_generate(const char *path, const char *host_id, char *err,
		  size_t errlen)
{
	char secret_path[4096];
	zcert_t *cert;
	int rc;

	if (snprintf(secret_path, sizeof(secret_path), "%s_secret", path) >=
	    (int)sizeof(secret_path)) {
		snprintf(err, errlen, "path too long: %s", path);
		return -1;
	}
	cert = zcert_new();
	if (!cert) {
		snprintf(err, errlen, "cannot generate a key pair");
		return -1;
	}
	if (host_id)
		zcert_set_meta(cert, "host-id", "%s", host_id);
	mode_t old = umask(0077); /* CZMQ's temporary copies too */
	rc = write_pair(cert, path, secret_path, err, errlen);
	umask(old);
	zcert_destroy(&cert);
	return rc;
}

int keys_load(const char *path, struct keypair *out, char *err, size_t errlen)
{
	zcert_t *cert;
	const char *host;

	memset(out, 0, sizeof(*out));
	if (access(path, R_OK) != 0) {
		snprintf(err, errlen, "cannot read key file %s: %s", path,
			 strerror(errno));
		return -1;
	}
	cert = zcert_load(path);
	if (!cert) {
		snprintf(err, errlen, "%s is not a CURVE certificate file", path);
		return -1;
	}
	memcpy(out->public_z85, zcert_public_txt(cert), KEY_Z85_LEN);
	if (strcmp(zcert_secret_txt(cert), "0000000000000000000000000000000000000000") != 0)
		memcpy(out->secret_z85, zcert_secret_txt(cert), KEY_Z85_LEN);
	host = zcert_meta(cert, "host-id");
	if (host)
		strlcpy_checked(out->host_id, host, sizeof(out->host_id));
	zcert_destroy(&cert);
	return 0;
}

static void keygen_usage(const char *prog, FILE *f)
{
	fprintf(f,
		"usage: %s keygen --out FILE [--host ID]\n"
		"\n"
		"Creates a CURVE key pair: FILE holds the public key (give it to the\n"
		"other side), FILE_secret the secret key (mode 0600, stays here).\n"
		"--host ID records the host id the key is enrolled for (agents).\n"
		"Existing files are never overwritten.\n",
		prog);
}

int keys_keygen_main(const char *prog, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "out", required_argument, NULL, 'o' },
		{ "host", required_argument, NULL, 'H' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *out = NULL, *host = NULL;
	char err[512];
	int c;

	optind = 0; /* full getopt reset: main() parsed with "+" */
	while ((c = getopt_long(argc, argv, "o:H:h", opts, NULL)) != -1) {
		switch (c) {
		case 'o': out = optarg; break;
		case 'H': host = optarg; break;
		case 'h': keygen_usage(prog, stdout); return 0;
		default: keygen_usage(prog, stderr); return 2;
		}
	}
	if (!out || optind != argc) {
		fprintf(stderr, "%s: keygen needs --out FILE\n", prog);
		return 2;
	}
	if (host && !codec_valid_host_id(host)) {
		fprintf(stderr, "%s: invalid host id '%s' (letters, digits, '.', '_', '-'; at most 64)\n",
			prog, host);
		return 2;
	}
	if (keys_generate(out, host, err, sizeof(err)) < 0) {
		fprintf(stderr, "%s: %s\n", prog, err);
		return 1;
	}
	printf("public key:  %s\nsecret key:  %s_secret\n", out, out);
	return 0;
}

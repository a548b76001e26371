#include "keys.h"

#include <czmq.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "codec.h"
#include "util.h"

int keys_generate(const char *path, const char *host_id, char *err,
		  size_t errlen)
{
	char secret_path[4096];
	zcert_t *cert;
	int rc;

	snprintf(secret_path, sizeof(secret_path), "%s_secret", path);
	if (access(path, F_OK) == 0 || access(secret_path, F_OK) == 0) {
		snprintf(err, errlen, "%s or %s already exists; not overwriting a key",
			 path, secret_path);
		return -1;
	}
	cert = zcert_new();
	if (!cert) {
		snprintf(err, errlen, "cannot generate a key pair");
		return -1;
	}
	if (host_id)
		zcert_set_meta(cert, "host-id", "%s", host_id);
	/* The secret file must never exist world-readable, even briefly. */
	mode_t old = umask(0077);
	rc = zcert_save(cert, path);
	umask(old);
	if (rc == 0)
		rc = chmod(path, 0644);
	zcert_destroy(&cert);
	if (rc != 0) {
		snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
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

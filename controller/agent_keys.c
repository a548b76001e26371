#include "agent_keys.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "log.h"
#include "util.h"

static int key_file_wanted(const char *name)
{
	size_t len = strlen(name);

	if (name[0] == '.')
		return 0;
	return !(len > 7 && strcmp(name + len - 7, "_secret") == 0);
}

/* The host a file name enrols: its name up to the first dot. */
static int file_host_id(const char *file, char host[65])
{
	size_t len = strcspn(file, ".");

	if (len == 0 || len > 64)
		return -1;
	memcpy(host, file, len);
	host[len] = '\0';
	return codec_valid_host_id(host) ? 0 : -1;
}

static int load_one_key(const char *dir, const char *name, struct authorized_key *out)
{
	char path[4096], err[512];
	struct keypair kp;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (keys_load(path, &kp, err, sizeof(err)) < 0) {
		log_warnx("authorized agents: skipping %s", err);
		return -1;
	}
	if (file_host_id(name, out->host_id) < 0) {
		log_warnx("authorized agents: %s refused: its file name gives no valid host id "
			   "(HOST.cert, HOST = letters, digits, '.', '_', '-')", path);
		return -1;
	}
	if (kp.host_id[0] && strcmp(kp.host_id, out->host_id) != 0) {
		log_warnx("authorized agents: %s refused: its host-id metadata says '%s', its "
			   "file name '%s' (rename the file or regenerate the key)",
			   path, kp.host_id, out->host_id);
		return -1;
	}
	memcpy(out->public_z85, kp.public_z85, sizeof(out->public_z85));
	strlcpy_checked(out->file, name, sizeof(out->file));
	return 0;
}

static int by_host(const void *a, const void *b)
{
	return strcmp(((const struct authorized_key *)a)->host_id,
		      ((const struct authorized_key *)b)->host_id);
}

static int by_key(const void *a, const void *b)
{
	return strcmp(((const struct authorized_key *)a)->public_z85,
		      ((const struct authorized_key *)b)->public_z85);
}

/* Marks (refused[i] = 1) every key equal to a neighbour once sorted by cmp:
 * which of two claims is right is for the operator to say, not us. */
static void refuse_duplicates(struct authorized_key *k, size_t n, char *refused,
			      int (*cmp)(const void *, const void *), const char *what)
{
	if (n < 2)
		return; /* nothing to compare, and qsort must not get NULL */
	qsort(k, n, sizeof(*k), cmp);
	for (size_t i = 1; i < n; i++) {
		if (cmp(&k[i - 1], &k[i]) != 0)
			continue;
		int order = strcmp(k[i - 1].file, k[i].file) < 0;

		log_warnx("authorized agents: %s and %s refused: %s",
			  k[order ? i - 1 : i].file, k[order ? i : i - 1].file, what);
		refused[i - 1] = refused[i] = 1;
	}
}

static size_t drop_duplicates(struct authorized_key *k, size_t n)
{
	char *refused = calloc(n ? n : 1, 1);
	size_t kept = 0;

	if (!refused)
		return 0; /* out of memory: no key rather than an ambiguous one */
	refuse_duplicates(k, n, refused, by_host, "both name the same host");
	for (size_t i = 0; i < n; i++) /* host order is lost below: compact now */
		if (!refused[i])
			k[kept++] = k[i];
	memset(refused, 0, n);
	refuse_duplicates(k, kept, refused, by_key, "the same key under two names");
	n = kept;
	kept = 0;
	for (size_t i = 0; i < n; i++)
		if (!refused[i])
			k[kept++] = k[i];
	free(refused);
	return kept;
}

ssize_t agent_keys_load(const char *dir, struct authorized_key **keys, char *err,
			size_t errlen)
{
	DIR *d = opendir(dir);
	struct authorized_key *k = NULL, *grown;
	size_t n = 0;
	struct dirent *de;

	*keys = NULL;
	if (!d) {
		snprintf(err, errlen, "cannot read authorized agents directory %s: %s",
			 dir, strerror(errno));
		return -1;
	}
	while ((de = readdir(d))) {
		if (!key_file_wanted(de->d_name))
			continue;
		grown = realloc(k, (n + 1) * sizeof(*k));
		if (!grown)
			break;
		k = grown;
		if (load_one_key(dir, de->d_name, &k[n]) == 0)
			n++;
	}
	closedir(d);
	*keys = k;
	return (ssize_t)drop_duplicates(k, n);
}

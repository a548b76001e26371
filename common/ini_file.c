#include "ini_file.h"

#include <errno.h>
#include <ini.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

struct ini_read {
	FILE *f;
	ini_entry_fn entry;
	void *user;
	unsigned line;          /* lines handed to inih so far */
	unsigned bad_line;      /* first line refused by us, 0 if none */
	char why[256];
};

static void refuse(struct ini_read *r, const char *why, const char *key)
{
	if (r->bad_line)
		return;
	r->bad_line = r->line;
	if (why[0])
		snprintf(r->why, sizeof(r->why), "%s", why);
	else
		snprintf(r->why, sizeof(r->why), "invalid value for '%s'", key);
}

static bool at_end(FILE *f)
{
	int c = getc(f);

	return c == EOF || ungetc(c, f) == EOF;
}

/* fgets for inih, one whole line at a time; after a refused line it ends
 * the file, so nothing after it is applied. */
static char *read_line(char *buf, int len, void *stream)
{
	struct ini_read *r = stream;

	if (r->bad_line || !fgets(buf, len, r->f))
		return NULL;
	r->line++;
	if (!strchr(buf, '\n') && !at_end(r->f)) {
		snprintf(r->why, sizeof(r->why), "line too long (at most %d characters)",
			 len - 2);
		r->bad_line = r->line;
		return NULL;
	}
	return buf;
}

static int on_entry(void *user, const char *section, const char *key, const char *value)
{
	struct ini_read *r = user;
	char why[256] = "";

	if (r->entry(r->user, section, key, value, why, sizeof(why)))
		return 1;
	refuse(r, why, key);
	return 0;
}

int ini_file_read(const char *path, int must_exist, ini_entry_fn entry, void *user,
		  char *err, size_t errlen)
{
	struct ini_read r = { .f = fopen(path, "r"), .entry = entry, .user = user };
	bool read_error;
	int rc;

	if (!r.f) {
		if (!must_exist && errno == ENOENT)
			return 1;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	rc = ini_parse_stream(read_line, &r, on_entry, &r);
	read_error = ferror(r.f);
	fclose(r.f);
	if (read_error) {
		snprintf(err, errlen, "%s: read error", path);
		return -1;
	}
	/* inih's own (syntax) errors come with their line only. */
	if (rc < 0)
		snprintf(err, errlen, "%s: out of memory", path);
	else if (rc > 0 && (!r.bad_line || (unsigned)rc < r.bad_line))
		snprintf(err, errlen, "%s:%d: syntax error (expected [section] or key = value)",
			 path, rc);
	else if (r.bad_line)
		snprintf(err, errlen, "%s:%u: %s", path, r.bad_line, r.why);
	return rc != 0 || r.bad_line ? -1 : 0;
}

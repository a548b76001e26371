/* Shared by the report_*.c files; not for other modules (report_parse.h is
 * the interface). */
#ifndef CORDON_REPORT_INTERNAL_H
#define CORDON_REPORT_INTERNAL_H

#include <gmime/gmime.h>
#include <stdarg.h>

#include "report_parse.h"

#define REPORT_SOURCES_MAX 256
#define REPORT_URLS_MAX 64
#define REPORT_PARTS_MAX 1000

struct parse_ctx {
	const struct report_config *cfg;
	struct report_parsed *out;
	GMimeMessage *msg;
	GString *note;     /* "; "-separated remarks, becomes out->note */
	int oom;           /* an allocation failed: the parse is given up */
	unsigned n_parts;
};

/* report_result.c. Helpers record a failed allocation in c->oom, which
 * report_parse turns into an error: callers need not check each one. */
void result_note(struct parse_ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void result_set(struct parse_ctx *c, char **dst, const char *value);
/* text an IP address (a bracketed or v4-mapped one too): 1 added, 0 not
 * an address we keep (noted when explicit), already listed or too many. */
int result_add_source(struct parse_ctx *c, const char *text, time_t at, int explicit);
void result_add_url(struct parse_ctx *c, const char *url, size_t len);
/* Keeps at most cfg->evidence_max bytes of text, cut on a UTF-8 boundary. */
void result_set_evidence(struct parse_ctx *c, const char *text, size_t len);
/* Our category for type of family (tried as given, then each half of
 * "a/b"), else the configured default, noting that. */
void result_map_type(struct parse_ctx *c, enum report_family family, const char *type);

/* report_mime.c */
/* The part's content with its transfer encoding undone (a message part:
 * the message as written; empty if it could not be decoded). The caller
 * unrefs it. */
GByteArray *mime_bytes(GMimeObject *obj);
/* The part's text as UTF-8 (charset converted, odd ones noted); g_free. */
char *mime_text(struct parse_ctx *c, GMimeObject *obj);
/* Calls visit on obj and every part below it, depth first, until visit
 * returns non-zero (which is returned). Bounds were checked before. */
int mime_walk(struct parse_ctx *c, GMimeObject *obj,
	      int (*visit)(struct parse_ctx *c, GMimeObject *part, void *arg), void *arg);
/* -1 (reason in err) if obj nests deeper than cfg->max_depth or has more
 * than REPORT_PARTS_MAX parts. */
int mime_check_bounds(struct parse_ctx *c, GMimeObject *obj, char *err, size_t errlen);
/* RFC 5322 or ISO 8601 date; 0 if neither. */
time_t mime_date(const char *text);
/* Parses bytes as a header block ("Name: value" lines) with GMime. */
GMimeMessage *mime_header_block(const guint8 *data, size_t len);
/* Whether obj is a part of type/subtype (either may be "*"). */
int mime_is(GMimeObject *obj, const char *type, const char *subtype);

/* report_arf.c, report_xarf.c, report_xarf02.c, report_plain.c: 1 when the
 * message is of that format (out filled), 0 when not. */
int report_arf(struct parse_ctx *c);
int report_xarf_json(struct parse_ctx *c);
int report_xarf02(struct parse_ctx *c);
void report_plain(struct parse_ctx *c);
/* The date a source of this report is taken to have acted at when the
 * format gives none: the mail's Date. */
time_t report_fallback_time(const struct parse_ctx *c);

#endif

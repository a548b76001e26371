/* report_parse.c: abuse report mails (ARF, X-ARF v4/v3/0.2, plain) into
 * what cordond needs to match and count them; report_config.c: the
 * mapping of each format's types to our categories and the rules for
 * plain mails. docs/reports.md describes both. */
#ifndef CORDON_REPORT_PARSE_H
#define CORDON_REPORT_PARSE_H

#include <jansson.h>
#include <regex.h>
#include <stddef.h>
#include <time.h>

#define REPORT_SIZE_CAP_DEFAULT (1024 * 1024)
#define REPORT_SIZE_CAP_MIN (4 * 1024)
#define REPORT_SIZE_CAP_MAX (8 * 1024 * 1024) /* what cordond keeps at most */
#define REPORT_DEPTH_MAX_DEFAULT 16
#define REPORT_EVIDENCE_MAX_DEFAULT (16 * 1024)
#define REPORT_CATEGORY_MAX 64

enum report_format {
	REPORT_NOT_MAIL,
	REPORT_ARF,
	REPORT_XARF4,
	REPORT_XARF3,
	REPORT_XARF02,
	REPORT_PLAIN,
};

/* Which table of report-types.conf a type is looked up in. */
enum report_family { REPORT_FAMILY_ARF, REPORT_FAMILY_XARF, REPORT_N_FAMILIES };

struct report_type_map {
	enum report_family family;
	char *type; /* lower case: "abuse", "messaging/spam", "spam" */
	char category[REPORT_CATEGORY_MAX];
};

/* What a plain-mail rule looks at. */
enum report_field { REPORT_FIELD_FROM, REPORT_FIELD_SUBJECT, REPORT_FIELD_BODY, REPORT_N_FIELDS };

struct report_rule {
	char *name;                    /* its [section] */
	regex_t re[REPORT_N_FIELDS];   /* compiled where has[] is set */
	int has[REPORT_N_FIELDS];
	char category[REPORT_CATEGORY_MAX];
};

struct report_config {
	size_t size_cap;      /* bytes parsed of a message; the rest is ignored */
	unsigned max_depth;   /* multipart / message nesting refused beyond */
	size_t evidence_max;  /* bytes of evidence text kept */
	char default_category[REPORT_CATEGORY_MAX]; /* an unmapped type */
	char plain_default[REPORT_CATEGORY_MAX];    /* a plain mail no rule matched */
	struct report_type_map *types;
	size_t n_types;
	struct report_rule *rules;
	size_t n_rules;
};

struct report_source {
	char addr[46];  /* INET6_ADDRSTRLEN: inet_ntop's canonical form */
	time_t at;      /* when it was reported to have acted; 0 unknown */
};

struct report_parsed {
	enum report_format format;
	char *type;            /* the format's own: Feedback-Type, X-ARF category/type */
	char category[REPORT_CATEGORY_MAX];
	struct report_source *sources;
	size_t n_sources;
	char **urls;
	size_t n_urls;
	char *message_id;
	char *report_id;       /* X-ARF Report-ID / report_id */
	char original_sha256[65]; /* hex of the ARF original part; "" none */
	char *reported_domain;
	char *subject;         /* RFC 2047 decoded, UTF-8 */
	char *from;
	time_t date;           /* the mail's Date header; 0 none */
	char *evidence;        /* UTF-8, at most evidence_max bytes */
	char *note;            /* how it was parsed and anything odd, one line */
};

/* Defaults only: every type maps to "other", no plain rules. */
struct report_config *report_config_new(void);
/* report-types.conf and report-rules.conf (either path may be NULL: that
 * table stays empty). NULL with "file:line: reason" in err. */
struct report_config *report_config_load(const char *types_path, const char *rules_path,
					 char *err, size_t errlen);
void report_config_free(struct report_config *cfg);
/* The category for a type of family, or NULL if the table has none. */
const char *report_config_map(const struct report_config *cfg, enum report_family family,
			      const char *type);

/* Parses msg (len bytes, not NUL terminated; only cfg->size_cap of them).
 * 0: out describes a report (format arf, xarf-*, plain). -1: out->format
 * is REPORT_NOT_MAIL (or parsing was refused: nesting too deep) with the
 * reason in err and out->note; what could be read (ids, subject) is
 * still in out. Either way out must be freed with report_parsed_free. */
int report_parse(const char *msg, size_t len, const struct report_config *cfg,
		 struct report_parsed *out, char *err, size_t errlen);
void report_parsed_free(struct report_parsed *r);

/* report_json.c: r as a JSON object (times as RFC 3339 UTC and unix
 * seconds), what `cordonctl report parse --json` prints; NULL if out of
 * memory. */
json_t *report_parsed_json(const struct report_parsed *r);

/* "arf", "xarf-v4", "xarf-v3", "xarf-0.2", "plain", "not-mail". */
const char *report_format_name(enum report_format f);

#endif

/* Legacy X-ARF 0.2 mails (header "X-ARF: YES", multipart/mixed): a human
 * part, the report as YAML (Reported-From, Category, Report-Type,
 * Report-ID, Date, Source, Source-Type, ...), read with libyaml, and the
 * evidence part after it. */
#include <string.h>
#include <yaml.h>

#include "report_internal.h"

enum { F_CATEGORY, F_TYPE, F_ID, F_DATE, F_SOURCE, F_SOURCE_TYPE, N_FIELDS };

static const char *const field_keys[N_FIELDS] = {
	"Category", "Report-Type", "Report-ID", "Date", "Source", "Source-Type",
};

struct yaml_report {
	char *field[N_FIELDS];
	GMimeObject *part;      /* the YAML part, once found */
	GMimeObject *evidence;  /* the leaf part after it */
};

static void keep_field(struct yaml_report *y, const char *key, const char *value)
{
	for (int f = 0; f < N_FIELDS; f++)
		if (g_ascii_strcasecmp(key, field_keys[f]) == 0 && !y->field[f])
			y->field[f] = g_strdup(value);
}

/* The top-level mapping's scalar pairs; nested values are skipped. */
static void read_mapping(yaml_parser_t *p, struct yaml_report *y)
{
	char *key = NULL;
	int depth = 0, done = 0;
	yaml_event_t ev;

	while (!done && yaml_parser_parse(p, &ev)) {
		switch (ev.type) {
		case YAML_MAPPING_START_EVENT:
		case YAML_SEQUENCE_START_EVENT:
			depth++;
			g_clear_pointer(&key, g_free);
			break;
		case YAML_MAPPING_END_EVENT:
		case YAML_SEQUENCE_END_EVENT:
			done = --depth <= 0;
			break;
		case YAML_SCALAR_EVENT:
			if (depth != 1)
				break;
			if (!key) {
				key = g_strdup((const char *)ev.data.scalar.value);
				break;
			}
			keep_field(y, key, (const char *)ev.data.scalar.value);
			g_clear_pointer(&key, g_free);
			break;
		case YAML_STREAM_END_EVENT:
			done = 1;
			break;
		default:
			break;
		}
		yaml_event_delete(&ev);
	}
	g_free(key);
}

static int parse_yaml(const char *text, struct yaml_report *y)
{
	yaml_parser_t p;

	if (!yaml_parser_initialize(&p))
		return 0;
	yaml_parser_set_input_string(&p, (const unsigned char *)text, strlen(text));
	read_mapping(&p, y);
	yaml_parser_delete(&p);
	return y->field[F_TYPE] || (y->field[F_CATEGORY] && y->field[F_SOURCE]);
}

static void clear_fields(struct yaml_report *y)
{
	for (int f = 0; f < N_FIELDS; f++)
		g_clear_pointer(&y->field[f], g_free);
}

static int visit_yaml(struct parse_ctx *c, GMimeObject *part, void *arg)
{
	struct yaml_report *y = arg;
	char *text;

	if (y->part && (GMIME_IS_PART(part) || GMIME_IS_MESSAGE_PART(part))) {
		y->evidence = part;
		return 1;
	}
	if (!GMIME_IS_PART(part))
		return 0;
	if (!mime_is(part, "text", "*") && !mime_is(part, "*", "yaml") && !mime_is(part, "*", "x-yaml"))
		return 0;
	text = mime_text(c, part);
	if (parse_yaml(text, y))
		y->part = part;
	else
		clear_fields(y);
	g_free(text);
	return 0;
}

static void fill(struct parse_ctx *c, struct yaml_report *y)
{
	const char *stype = y->field[F_SOURCE_TYPE], *src = y->field[F_SOURCE];
	time_t at = mime_date(y->field[F_DATE]);
	char *type = NULL;

	if (!at) {
		result_note(c, "Date %s: the mail's Date used", y->field[F_DATE] ? "unreadable" : "missing");
		at = report_fallback_time(c);
	}
	if (y->field[F_CATEGORY] || y->field[F_TYPE])
		type = y->field[F_CATEGORY] && y->field[F_TYPE]
			       ? g_strdup_printf("%s/%s", y->field[F_CATEGORY], y->field[F_TYPE])
			       : g_strdup(y->field[F_TYPE] ? y->field[F_TYPE] : y->field[F_CATEGORY]);
	if (type) {
		char *lower = g_ascii_strdown(type, -1);

		result_set(c, &c->out->type, lower);
		g_free(lower);
		g_free(type);
	}
	result_set(c, &c->out->report_id, y->field[F_ID]);
	if (src && stype && (g_ascii_strcasecmp(stype, "uri") == 0 || g_ascii_strcasecmp(stype, "url") == 0))
		result_add_url(c, src, strlen(src));
	else if (src)
		result_add_source(c, src, at, 1);
	else
		result_note(c, "X-ARF report without Source");
}

static void evidence_from(struct parse_ctx *c, GMimeObject *part)
{
	char *text = mime_text(c, part);

	result_set_evidence(c, text, strlen(text));
	g_free(text);
}

int report_xarf02(struct parse_ctx *c)
{
	struct yaml_report y = { 0 };
	gsize note_len = c->note->len;

	mime_walk(c, g_mime_message_get_mime_part(c->msg), visit_yaml, &y);
	if (!y.part) {
		g_string_truncate(c->note, note_len);
		return 0;
	}
	c->out->format = REPORT_XARF02;
	result_note(c, "X-ARF 0.2 YAML report");
	if (!g_mime_object_get_header(GMIME_OBJECT(c->msg), "X-ARF"))
		result_note(c, "no X-ARF header");
	fill(c, &y);
	if (y.evidence)
		evidence_from(c, y.evidence);
	else
		result_note(c, "no evidence part");
	result_map_type(c, REPORT_FAMILY_XARF, c->out->type);
	clear_fields(&y);
	return 1;
}

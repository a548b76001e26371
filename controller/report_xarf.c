/* X-ARF JSON reports, read with jansson: v4 (xarf_version, report_id,
 * timestamp, source_identifier, category + type, evidence[]) and the v3
 * layout (Report.ReportClass/ReportType, Report.Source.IP, Report.Date,
 * Report.Samples[]). Found as an attachment (application/json, *.json) or
 * as the mail's text; every such part in the mail adds its sources. */
#include <jansson.h>
#include <string.h>

#include "report_internal.h"

struct xarf_scan {
	unsigned found;
};

static const char *str_at(const json_t *obj, const char *key)
{
	return json_string_value(json_object_get(obj, key));
}

static void set_type(struct parse_ctx *c, const char *category, const char *type)
{
	char *full, *lower;

	if (c->out->type || (!category && !type))
		return;
	full = category && type ? g_strdup_printf("%s/%s", category, type)
				: g_strdup(type ? type : category);
	lower = g_ascii_strdown(full, -1);
	result_set(c, &c->out->type, lower);
	g_free(lower);
	g_free(full);
}

static time_t report_time(struct parse_ctx *c, const char *text, const char *field)
{
	time_t at = mime_date(text);

	if (!at) {
		result_note(c, "%s %s: the mail's Date used", field, text ? "unreadable" : "missing");
		at = report_fallback_time(c);
	}
	return at;
}

/* A payload is base64 in v4; text that is not base64 is kept as it is. */
static void append_payload(GString *ev, const char *payload)
{
	gsize n = 0;
	guchar *raw = g_base64_decode(payload, &n);

	if (raw && n > 0 && g_utf8_validate((const char *)raw, (gssize)n, NULL))
		g_string_append_len(ev, (const char *)raw, (gssize)n);
	else
		g_string_append(ev, payload);
	g_string_append_c(ev, '\n');
	g_free(raw);
}

static void evidence_items(struct parse_ctx *c, const json_t *items, const char *desc_key,
			   const char *payload_key)
{
	GString *ev = g_string_new(NULL);
	size_t i;
	json_t *it;

	json_array_foreach(items, i, it) {
		const char *desc = str_at(it, desc_key), *payload = str_at(it, payload_key);

		if (desc)
			g_string_append_printf(ev, "%s\n", desc);
		if (payload)
			append_payload(ev, payload);
		if (ev->len > c->cfg->evidence_max)
			break;
	}
	if (ev->len && !c->out->evidence)
		result_set_evidence(c, ev->str, ev->len);
	g_string_free(ev, TRUE);
}

static void source_or_target(struct parse_ctx *c, const char *id, time_t at)
{
	if (!id)
		result_note(c, "X-ARF report without a source");
	else if (strstr(id, "://"))
		result_add_url(c, id, strlen(id));
	else if (strchr(id, ':') || strspn(id, "0123456789.[]") == strlen(id))
		result_add_source(c, id, at, 1);
	else if (!c->out->reported_domain)
		result_set(c, &c->out->reported_domain, id);
}

static void xarf_v4(struct parse_ctx *c, const json_t *j)
{
	time_t at = report_time(c, str_at(j, "timestamp"), "timestamp");

	c->out->format = REPORT_XARF4;
	set_type(c, str_at(j, "category"), str_at(j, "type"));
	if (!c->out->report_id)
		result_set(c, &c->out->report_id, str_at(j, "report_id"));
	source_or_target(c, str_at(j, "source_identifier"), at);
	if (str_at(j, "url"))
		result_add_url(c, str_at(j, "url"), strlen(str_at(j, "url")));
	evidence_items(c, json_object_get(j, "evidence"), "description", "payload");
}

static void xarf_v3(struct parse_ctx *c, const json_t *j)
{
	const json_t *r = json_object_get(j, "Report");
	const json_t *src = json_object_get(r, "Source");
	time_t at = report_time(c, str_at(r, "Date"), "Report.Date");
	const char *id = str_at(r, "ReportID") ? str_at(r, "ReportID") : str_at(j, "ReportID");

	c->out->format = REPORT_XARF3;
	set_type(c, str_at(r, "ReportClass"), str_at(r, "ReportType"));
	if (!c->out->report_id)
		result_set(c, &c->out->report_id, id);
	source_or_target(c, str_at(src, "IP") ? str_at(src, "IP") : str_at(src, "URL"), at);
	evidence_items(c, json_object_get(r, "Samples"), "Description", "Payload");
}

static int json_candidate(GMimeObject *part)
{
	const char *name;

	if (!GMIME_IS_PART(part))
		return 0;
	name = g_mime_part_get_filename(GMIME_PART(part));
	return mime_is(part, "application", "json") || mime_is(part, "text", "plain") ||
	       (name && g_str_has_suffix(name, ".json"));
}

static int visit_json(struct parse_ctx *c, GMimeObject *part, void *arg)
{
	struct xarf_scan *scan = arg;
	char *text;
	json_t *j;

	if (!json_candidate(part))
		return 0;
	text = mime_text(c, part);
	g_strchug(text);
	j = text[0] == '{' ? json_loads(text, 0, NULL) : NULL;
	if (json_is_object(j) && json_object_get(j, "xarf_version")) {
		xarf_v4(c, j);
		scan->found++;
	} else if (json_is_object(j) && json_is_object(json_object_get(j, "Report"))) {
		xarf_v3(c, j);
		scan->found++;
	}
	json_decref(j);
	g_free(text);
	return 0;
}

int report_xarf_json(struct parse_ctx *c)
{
	struct xarf_scan scan = { 0 };

	/* Notes from parts that turn out not to be JSON are not this
	 * report's: they are dropped unless a report was found. */
	gsize note_len = c->note->len;

	mime_walk(c, g_mime_message_get_mime_part(c->msg), visit_json, &scan);
	if (!scan.found) {
		g_string_truncate(c->note, note_len);
		return 0;
	}
	result_map_type(c, REPORT_FAMILY_XARF, c->out->type);
	result_note(c, "X-ARF %s JSON report%s", c->out->format == REPORT_XARF4 ? "v4" : "v3",
		    scan.found > 1 ? "s (several in one mail)" : "");
	return 1;
}

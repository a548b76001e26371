/* A parsed report as JSON: what `cordonctl report parse --json` prints
 * and what a later ingest hands to cordond. */
#include <string.h>

#include "report_parse.h"
#include "util.h"

static json_t *time_json(time_t t)
{
	char buf[32];

	return t ? json_string(format_time_utc((int64_t)t, buf, sizeof(buf))) : json_null();
}

static json_t *sources_json(const struct report_parsed *r)
{
	json_t *a = json_array();

	for (size_t i = 0; a && i < r->n_sources; i++)
		if (json_array_append_new(a, json_pack("{s:s, s:o, s:I}", "ip", r->sources[i].addr,
						       "at", time_json(r->sources[i].at), "at_unix",
						       (json_int_t)r->sources[i].at)) < 0) {
			json_decref(a);
			return NULL;
		}
	return a;
}

static json_t *urls_json(const struct report_parsed *r)
{
	json_t *a = json_array();

	for (size_t i = 0; a && i < r->n_urls; i++)
		if (json_array_append_new(a, json_string(r->urls[i])) < 0) {
			json_decref(a);
			return NULL;
		}
	return a;
}

json_t *report_parsed_json(const struct report_parsed *r)
{
	json_t *sources = sources_json(r), *urls = urls_json(r);

	if (!sources || !urls) {
		json_decref(sources);
		json_decref(urls);
		return NULL;
	}
	return json_pack("{s:s, s:s?, s:s?, s:o, s:o, s:s?, s:s?, s:s?, s:s?, s:s?, s:s?, s:o, "
			 "s:I, s:s?, s:s?}",
			 "format", report_format_name(r->format), "type", r->type,
			 "category", r->category[0] ? r->category : NULL, "sources", sources,
			 "urls", urls, "message_id", r->message_id, "report_id", r->report_id,
			 "original_sha256", r->original_sha256[0] ? r->original_sha256 : NULL,
			 "reported_domain", r->reported_domain, "subject", r->subject, "from", r->from,
			 "date", time_json(r->date), "date_unix", (json_int_t)r->date,
			 "evidence", r->evidence, "note", r->note);
}

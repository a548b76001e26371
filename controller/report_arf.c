/* ARF, RFC 5965: multipart/report; report-type=feedback-report, holding a
 * human-readable part, the message/feedback-report fields and the
 * original message (message/rfc822) or its headers (text/rfc822-headers). */
#include <stdlib.h>
#include <string.h>

#include "report_internal.h"

static int is_feedback_report(struct parse_ctx *c, GMimeObject *obj, void *arg)
{
	GMimeObject **found = arg;
	const char *rt;

	(void)c;
	if (!GMIME_IS_MULTIPART(obj) || !mime_is(obj, "multipart", "report"))
		return 0;
	rt = g_mime_object_get_content_type_parameter(obj, "report-type");
	if (!rt || g_ascii_strcasecmp(rt, "feedback-report") != 0)
		return 0;
	*found = obj;
	return 1;
}

/* The fields as a header list: GMime gives a message/feedback-report part
 * either as a message (its fields the headers) or as a leaf part. */
static GMimeMessage *fields_of(GMimeObject *part)
{
	GByteArray *bytes;
	GMimeMessage *m;

	if (GMIME_IS_MESSAGE_PART(part)) {
		m = g_mime_message_part_get_message(GMIME_MESSAGE_PART(part));
		return m ? g_object_ref(m) : NULL;
	}
	bytes = mime_bytes(part);
	m = mime_header_block(bytes->data, bytes->len);
	g_byte_array_unref(bytes);
	return m;
}

static void read_fields(struct parse_ctx *c, GMimeObject *fields_obj)
{
	GMimeHeaderList *list = g_mime_object_get_header_list(fields_obj);
	const char *type = g_mime_object_get_header(fields_obj, "Feedback-Type");
	const char *arrival = g_mime_object_get_header(fields_obj, "Arrival-Date");
	time_t at;

	if (!arrival)
		arrival = g_mime_object_get_header(fields_obj, "Received-Date");
	at = mime_date(arrival);
	if (!at) {
		at = report_fallback_time(c);
		result_note(c, arrival ? "Arrival-Date unreadable: the mail's Date used"
				       : "no Arrival-Date: the mail's Date used");
	}
	if (type) {
		char *trimmed = g_strstrip(g_strdup(type));
		char *lower = g_ascii_strdown(trimmed, -1);

		result_set(c, &c->out->type, lower);
		g_free(lower);
		g_free(trimmed);
	} else {
		result_note(c, "no Feedback-Type");
	}
	for (int i = 0; i < g_mime_header_list_get_count(list); i++) {
		GMimeHeader *h = g_mime_header_list_get_header_at(list, i);
		const char *name = g_mime_header_get_name(h), *value = g_mime_header_get_value(h);
		char *v = g_strstrip(g_strdup(value ? value : ""));

		if (g_ascii_strcasecmp(name, "Source-IP") == 0)
			result_add_source(c, v, at, 1);
		else if (g_ascii_strcasecmp(name, "Reported-Domain") == 0 && !c->out->reported_domain)
			result_set(c, &c->out->reported_domain, v);
		else if (g_ascii_strcasecmp(name, "Reported-URI") == 0)
			result_add_url(c, v, strlen(v));
		g_free(v);
	}
}

static void feedback_fields(struct parse_ctx *c, GMimeObject *part)
{
	GMimeMessage *fields = fields_of(part);

	if (!fields) {
		result_note(c, "message/feedback-report part unreadable");
		return;
	}
	read_fields(c, GMIME_OBJECT(fields));
	g_object_unref(fields);
}

/* Same original = same report: the hash is over its bytes with line ends
 * made LF, so a CRLF and an LF copy of one message agree. */
static void hash_original(struct parse_ctx *c, const GByteArray *bytes)
{
	GChecksum *sum = g_checksum_new(G_CHECKSUM_SHA256);
	/* An empty original may have no buffer at all: NULL + 0 is undefined. */
	const guint8 *p = bytes->data, *end = p ? p + bytes->len : p;

	while (p < end) {
		const guint8 *cr = memchr(p, '\r', (size_t)(end - p));
		const guint8 *stop = cr ? cr : end;

		g_checksum_update(sum, p, stop - p);
		p = stop;
		if (cr && cr + 1 < end && cr[1] == '\n')
			p++;
		else if (cr) {
			g_checksum_update(sum, cr, 1);
			p++;
		}
	}
	snprintf(c->out->original_sha256, sizeof(c->out->original_sha256), "%s",
		 g_checksum_get_string(sum));
	g_checksum_free(sum);
}

static void original_part(struct parse_ctx *c, GMimeObject *part)
{
	GByteArray *bytes = mime_bytes(part);
	char *headers = NULL;

	hash_original(c, bytes);
	if (GMIME_IS_MESSAGE_PART(part)) {
		GMimeMessage *m = g_mime_message_part_get_message(GMIME_MESSAGE_PART(part));

		headers = m ? g_mime_object_get_headers(GMIME_OBJECT(m), NULL) : NULL;
	} else {
		headers = mime_text(c, part);
	}
	if (headers)
		result_set_evidence(c, headers, strlen(headers));
	g_free(headers);
	g_byte_array_unref(bytes);
}

int report_arf(struct parse_ctx *c)
{
	GMimeObject *report = NULL;
	GMimeMultipart *mp;
	int have_fields = 0, have_original = 0;

	if (!mime_walk(c, g_mime_message_get_mime_part(c->msg), is_feedback_report, &report))
		return 0;
	c->out->format = REPORT_ARF;
	result_note(c, "ARF feedback report");
	mp = GMIME_MULTIPART(report);
	for (int i = 0; i < g_mime_multipart_get_count(mp); i++) {
		GMimeObject *part = g_mime_multipart_get_part(mp, i);

		if (!have_fields && mime_is(part, "message", "feedback-report")) {
			feedback_fields(c, part);
			have_fields = 1;
		} else if (!have_original && (mime_is(part, "message", "rfc822") ||
					      mime_is(part, "text", "rfc822-headers"))) {
			original_part(c, part);
			have_original = 1;
		}
	}
	if (!have_fields)
		result_note(c, "ARF without its message/feedback-report part");
	if (!have_original)
		result_note(c, "ARF without the original message or its headers");
	result_map_type(c, REPORT_FAMILY_ARF, c->out->type);
	return 1;
}

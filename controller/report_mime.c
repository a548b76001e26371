/* GMime helpers for the report parsers: decoded bytes and text of a part,
 * a bounded walk over the MIME tree, dates, header blocks. */
#include <string.h>

#include "report_internal.h"

GByteArray *mime_bytes(GMimeObject *obj)
{
	GByteArray *bytes = g_byte_array_new();
	GMimeStream *s = g_mime_stream_mem_new_with_byte_array(bytes);
	gssize written = 0;

	/* The stream must not free the array it writes into. */
	g_mime_stream_mem_set_owner(GMIME_STREAM_MEM(s), FALSE);
	if (GMIME_IS_PART(obj)) {
		GMimeDataWrapper *content = g_mime_part_get_content(GMIME_PART(obj));

		if (content)
			written = g_mime_data_wrapper_write_to_stream(content, s);
	} else if (GMIME_IS_MESSAGE_PART(obj)) {
		GMimeMessage *m = g_mime_message_part_get_message(GMIME_MESSAGE_PART(obj));

		if (m)
			written = g_mime_object_write_to_stream(GMIME_OBJECT(m), NULL, s);
	}
	g_object_unref(s);
	/* Content GMime could not decode is treated as absent, not half read. */
	if (written < 0)
		g_byte_array_set_size(bytes, 0);
	return bytes;
}

/* Bytes already valid UTF-8, or converted from charset; NULL if neither. */
static char *utf8_from(struct parse_ctx *c, const char *data, gsize len, const char *charset)
{
	char *text;

	/* g_strndup(NULL, 0) is NULL, g_convert refuses NULL: "" here. */
	if (len == 0)
		return g_strdup("");
	if (charset && g_ascii_strcasecmp(charset, "utf-8") != 0 &&
	    g_ascii_strcasecmp(charset, "us-ascii") != 0) {
		text = g_convert(data, (gssize)len, "UTF-8", g_mime_charset_iconv_name(charset), NULL,
				 NULL, NULL);
		if (text)
			return text;
		result_note(c, "charset '%.32s' unknown or wrong for the text", charset);
	}
	return g_utf8_validate(data, (gssize)len, NULL) ? g_strndup(data, len) : NULL;
}

char *mime_text(struct parse_ctx *c, GMimeObject *obj)
{
	GByteArray *bytes = mime_bytes(obj);
	const char *charset = g_mime_object_get_content_type_parameter(obj, "charset");
	char *text;

	/* A NUL would end the text early: reports are text, so blank them. */
	for (guint i = 0; i < bytes->len; i++)
		if (bytes->data[i] == '\0')
			bytes->data[i] = ' ';
	text = utf8_from(c, (const char *)bytes->data, bytes->len, charset);
	if (!text) {
		text = g_mime_utils_decode_8bit(NULL, (const char *)bytes->data, bytes->len);
		result_note(c, "8-bit text not valid in its charset: decoded by guess");
	}
	g_byte_array_unref(bytes);
	return text;
}

int mime_is(GMimeObject *obj, const char *type, const char *subtype)
{
	GMimeContentType *ct = g_mime_object_get_content_type(obj);

	return ct && g_mime_content_type_is_type(ct, type, subtype);
}

int mime_walk(struct parse_ctx *c, GMimeObject *obj,
	      int (*visit)(struct parse_ctx *c, GMimeObject *part, void *arg), void *arg)
{
	int rc = visit(c, obj, arg);

	if (rc)
		return rc;
	if (GMIME_IS_MULTIPART(obj)) {
		GMimeMultipart *mp = GMIME_MULTIPART(obj);

		for (int i = 0; i < g_mime_multipart_get_count(mp); i++) {
			rc = mime_walk(c, g_mime_multipart_get_part(mp, i), visit, arg);
			if (rc)
				return rc;
		}
	} else if (GMIME_IS_MESSAGE_PART(obj)) {
		GMimeMessage *m = g_mime_message_part_get_message(GMIME_MESSAGE_PART(obj));

		if (m && g_mime_message_get_mime_part(m))
			return mime_walk(c, g_mime_message_get_mime_part(m), visit, arg);
	}
	return 0;
}

static int bounds_below(struct parse_ctx *c, GMimeObject *obj, unsigned depth, char *err,
			size_t errlen)
{
	if (depth > c->cfg->max_depth) {
		snprintf(err, errlen, "MIME parts nested deeper than %u levels: refused (a MIME bomb?)",
			 c->cfg->max_depth);
		return -1;
	}
	if (++c->n_parts > REPORT_PARTS_MAX) {
		snprintf(err, errlen, "more than %d MIME parts: refused", REPORT_PARTS_MAX);
		return -1;
	}
	if (GMIME_IS_MULTIPART(obj)) {
		GMimeMultipart *mp = GMIME_MULTIPART(obj);

		for (int i = 0; i < g_mime_multipart_get_count(mp); i++)
			if (bounds_below(c, g_mime_multipart_get_part(mp, i), depth + 1, err, errlen) < 0)
				return -1;
	} else if (GMIME_IS_MESSAGE_PART(obj)) {
		GMimeMessage *m = g_mime_message_part_get_message(GMIME_MESSAGE_PART(obj));

		if (m && g_mime_message_get_mime_part(m))
			return bounds_below(c, g_mime_message_get_mime_part(m), depth + 1, err, errlen);
	}
	return 0;
}

int mime_check_bounds(struct parse_ctx *c, GMimeObject *obj, char *err, size_t errlen)
{
	c->n_parts = 0;
	return bounds_below(c, obj, 1, err, errlen);
}

time_t mime_date(const char *text)
{
	GTimeZone *utc;
	GDateTime *dt;
	time_t t;

	if (!text || !*text)
		return 0;
	utc = g_time_zone_new_utc();
	dt = g_date_time_new_from_iso8601(text, utc);
	g_time_zone_unref(utc);
	if (!dt)
		dt = g_mime_utils_header_decode_date(text);
	if (!dt)
		return 0;
	t = (time_t)g_date_time_to_unix(dt);
	g_date_time_unref(dt);
	return t > 0 ? t : 0;
}

GMimeMessage *mime_header_block(const guint8 *data, size_t len)
{
	GMimeStream *s;
	GMimeParser *p;
	GMimeMessage *m;

	/* An empty part's data is NULL, which GMime refuses. */
	if (len == 0)
		return NULL;
	s = g_mime_stream_mem_new_with_buffer((const char *)data, len);
	p = g_mime_parser_new_with_stream(s);
	m = g_mime_parser_construct_message(p, NULL);

	g_object_unref(p);
	g_object_unref(s);
	return m;
}

/* report_parse(): one message, at most cfg->size_cap bytes of it, parsed
 * with GMime; the format is found in this order: an X-ARF JSON report
 * (attachment or body), an ARF feedback report, an X-ARF 0.2 YAML report,
 * else a plain mail. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report_internal.h"

/* Headers of which a mail has at least one; a text with none is not mail. */
static const char *const mail_headers[] = {
	"From", "Date", "Subject", "Message-ID", "To", "Received", "Return-Path",
	"MIME-Version", "Content-Type", "X-ARF",
};

static pthread_once_t gmime_once = PTHREAD_ONCE_INIT;

static void gmime_start(void)
{
	g_mime_init();
}

const char *report_format_name(enum report_format f)
{
	switch (f) {
	case REPORT_ARF: return "arf";
	case REPORT_XARF4: return "xarf-v4";
	case REPORT_XARF3: return "xarf-v3";
	case REPORT_XARF02: return "xarf-0.2";
	case REPORT_PLAIN: return "plain";
	case REPORT_NOT_MAIL: break;
	}
	return "not-mail";
}

void report_parsed_free(struct report_parsed *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->n_urls; i++)
		free(r->urls[i]);
	free(r->urls);
	free(r->sources);
	free(r->type);
	free(r->message_id);
	free(r->report_id);
	free(r->reported_domain);
	free(r->subject);
	free(r->from);
	free(r->evidence);
	free(r->note);
	memset(r, 0, sizeof(*r));
}

time_t report_fallback_time(const struct parse_ctx *c)
{
	return c->out->date;
}

static int is_mail(GMimeMessage *m, GMimeParser *p, const char *msg, char *err, size_t errlen)
{
	gint64 end = g_mime_parser_get_headers_end(p);

	if (end > 0 && memchr(msg, '\0', (size_t)end)) {
		snprintf(err, errlen, "binary data (NUL bytes) in the header: not a mail");
		return 0;
	}
	for (size_t i = 0; i < G_N_ELEMENTS(mail_headers); i++)
		if (g_mime_object_get_header(GMIME_OBJECT(m), mail_headers[i]))
			return 1;
	snprintf(err, errlen, "no mail header (From, Date, Subject, Message-ID, Received, ...): "
		 "not a mail");
	return 0;
}

static void read_envelope(struct parse_ctx *c)
{
	InternetAddressList *from = g_mime_message_get_from(c->msg);
	GDateTime *date = g_mime_message_get_date(c->msg);

	result_set(c, &c->out->message_id, g_mime_message_get_message_id(c->msg));
	result_set(c, &c->out->subject, g_mime_message_get_subject(c->msg));
	if (from && internet_address_list_length(from) > 0) {
		char *text = internet_address_list_to_string(from, NULL, FALSE);

		result_set(c, &c->out->from, text);
		g_free(text);
	}
	if (date && g_date_time_to_unix(date) > 0)
		c->out->date = (time_t)g_date_time_to_unix(date);
}

static void find_format(struct parse_ctx *c)
{
	if (report_xarf_json(c) || report_arf(c) || report_xarf02(c))
		return;
	report_plain(c);
}

static int parse_message(struct parse_ctx *c, const char *msg, size_t len, char *err, size_t errlen)
{
	GMimeStream *s;
	GMimeParser *p;
	GMimeObject *body;
	int rc = -1;

	if (!msg || len == 0) {
		snprintf(err, errlen, "empty input: not a mail");
		return -1;
	}
	s = g_mime_stream_mem_new_with_buffer(msg, len);
	p = g_mime_parser_new_with_stream(s);
	c->msg = g_mime_parser_construct_message(p, NULL);
	if (!c->msg)
		snprintf(err, errlen, "no message could be read: not a mail");
	else if (is_mail(c->msg, p, msg, err, errlen)) {
		read_envelope(c);
		body = g_mime_message_get_mime_part(c->msg);
		if (!body)
			snprintf(err, errlen, "a header without a body: not a report");
		else if (mime_check_bounds(c, body, err, errlen) == 0) {
			find_format(c);
			rc = 0;
		}
	}
	if (c->msg)
		g_object_unref(c->msg);
	g_object_unref(p);
	g_object_unref(s);
	return rc;
}

/* The note is one line of UTF-8: control characters from the input are
 * blanked, and a quote cut short ("%.32s") inside a character mended. */
static void finish_note(struct parse_ctx *c)
{
	char *valid;

	for (gsize i = 0; i < c->note->len; i++)
		if ((unsigned char)c->note->str[i] < 0x20 || c->note->str[i] == 0x7f)
			c->note->str[i] = ' ';
	valid = g_utf8_make_valid(c->note->str, (gssize)c->note->len);
	c->out->note = strdup(valid);
	if (!c->out->note)
		c->oom = 1;
	g_free(valid);
	g_string_free(c->note, TRUE);
}

int report_parse(const char *msg, size_t len, const struct report_config *cfg,
		 struct report_parsed *out, char *err, size_t errlen)
{
	struct parse_ctx c = { .cfg = cfg, .out = out };
	int rc;

	pthread_once(&gmime_once, gmime_start);
	memset(out, 0, sizeof(*out));
	c.note = g_string_new(NULL);
	if (len > cfg->size_cap) {
		result_note(&c, "message larger than %zu bytes: parsed on its first %zu", cfg->size_cap,
			    cfg->size_cap);
		len = cfg->size_cap;
	}
	rc = parse_message(&c, msg, len, err, errlen);
	if (rc < 0) {
		out->format = REPORT_NOT_MAIL;
		result_note(&c, "%s", err);
	} else if (out->n_sources == 0) {
		result_note(&c, "no source address found");
	}
	finish_note(&c);
	if (c.oom) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	return rc;
}

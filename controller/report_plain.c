/* Plain complaint mails (SpamCop-style, CERT notices, phishing takedown
 * requests): addresses and URLs from the Subject and every text part
 * (forwarded messages' text included), the category from the first rule
 * of report-rules.conf whose patterns all match. No header but Subject is
 * read for addresses: Received lines name the relays that carried the
 * complaint (the reporter's and ours), not the abuse. */
#include <string.h>

#include "report_internal.h"

#define URL_PATTERN "(https?|ftp)://[^][:space:]<>\"'{}|\\^`[]+"

static int visit_text(struct parse_ctx *c, GMimeObject *part, void *arg)
{
	GString *body = arg;
	char *text;

	if (!GMIME_IS_PART(part) || !mime_is(part, "text", "*") || body->len >= c->cfg->size_cap)
		return 0;
	text = mime_text(c, part);
	g_string_append(body, text);
	g_string_append_c(body, '\n');
	g_free(text);
	return 0;
}

/* Defanged notation ("198.51.100[.]7", "hxxp://") back to plain. */
static void refang(GString *s)
{
	static const char *const from[] = { "[.]", "(.)", "[dot]", "hxxp", "HXXP" };
	static const char *const to[] = { ".", ".", ".", "http", "http" };

	for (size_t i = 0; i < G_N_ELEMENTS(from); i++)
		g_string_replace(s, from[i], to[i], 0);
}

static int ip_char(char ch)
{
	return g_ascii_isxdigit(ch) || ch == ':' || ch == '.';
}

/* One run of address characters: as it is, without a trailing dot or
 * colon, or up to a ":port". */
static void try_token(struct parse_ctx *c, char *tok, size_t n)
{
	char *colon;

	while (n > 0 && (tok[n - 1] == '.' || tok[n - 1] == ':'))
		tok[--n] = '\0';
	if (n < 7)
		return;
	if (result_add_source(c, tok, report_fallback_time(c), 0))
		return;
	colon = strchr(tok, ':');
	if (colon && memchr(tok, '.', (size_t)(colon - tok)) && strchr(colon + 1, ':') == NULL) {
		*colon = '\0';
		result_add_source(c, tok, report_fallback_time(c), 0);
	}
}

static void scan_addresses(struct parse_ctx *c, const char *text)
{
	const char *p = text;

	while (*p) {
		size_t n = 0;

		while (p[n] && ip_char(p[n]))
			n++;
		if (n >= 7 && n < 64 && (p == text || !g_ascii_isalnum(p[-1])) &&
		    !g_ascii_isalnum(p[n])) {
			char tok[64];

			memcpy(tok, p, n);
			tok[n] = '\0';
			try_token(c, tok, n);
		}
		p += n ? n : 1;
	}
}

static void scan_urls(struct parse_ctx *c, const char *text)
{
	regex_t re;
	regmatch_t m;
	const char *p = text;

	if (regcomp(&re, URL_PATTERN, REG_EXTENDED | REG_ICASE) != 0) {
		result_note(c, "URL pattern failed to compile");
		return;
	}
	while (regexec(&re, p, 1, &m, p == text ? 0 : REG_NOTBOL) == 0) {
		size_t len = (size_t)(m.rm_eo - m.rm_so);

		while (len > 0 && strchr(".,;:!?)'\"", p[m.rm_so + len - 1]))
			len--;
		result_add_url(c, p + m.rm_so, len);
		p += m.rm_eo;
	}
	regfree(&re);
}

static int rule_matches(const struct report_rule *r, const char *const value[REPORT_N_FIELDS])
{
	for (int f = 0; f < REPORT_N_FIELDS; f++)
		if (r->has[f] && regexec(&r->re[f], value[f], 0, NULL, 0) != 0)
			return 0;
	return 1;
}

static void apply_rules(struct parse_ctx *c, const char *body)
{
	const char *value[REPORT_N_FIELDS] = {
		c->out->from ? c->out->from : "", c->out->subject ? c->out->subject : "", body,
	};
	const struct report_config *cfg = c->cfg;

	for (size_t i = 0; i < cfg->n_rules; i++)
		if (rule_matches(&cfg->rules[i], value)) {
			result_set(c, &c->out->type, cfg->rules[i].name);
			memcpy(c->out->category, cfg->rules[i].category, sizeof(c->out->category));
			result_note(c, "rule [%s] matched", cfg->rules[i].name);
			return;
		}
	result_set(c, &c->out->type, "default");
	memcpy(c->out->category, cfg->plain_default, sizeof(c->out->category));
	result_note(c, "no rule matched: default category %s", cfg->plain_default);
}

void report_plain(struct parse_ctx *c)
{
	GString *body = g_string_new(NULL);

	c->out->format = REPORT_PLAIN;
	result_note(c, "plain mail");
	mime_walk(c, g_mime_message_get_mime_part(c->msg), visit_text, body);
	result_set_evidence(c, body->str, body->len);
	apply_rules(c, body->str);
	if (c->out->subject)
		g_string_prepend(g_string_prepend_c(body, '\n'), c->out->subject);
	refang(body);
	scan_addresses(c, body->str);
	scan_urls(c, body->str);
	g_string_free(body, TRUE);
}

/* Filling a struct report_parsed: sources normalised and deduplicated,
 * URLs, bounded evidence, the note, and the type-to-category mapping. */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report_internal.h"

void result_note(struct parse_ctx *c, const char *fmt, ...)
{
	va_list ap;

	if (c->note->len)
		g_string_append(c->note, "; ");
	va_start(ap, fmt);
	g_string_append_vprintf(c->note, fmt, ap);
	va_end(ap);
}

/* Every string kept is UTF-8: JSON and the store need it. */
void result_set(struct parse_ctx *c, char **dst, const char *value)
{
	char *valid = value ? g_utf8_make_valid(value, -1) : NULL;
	char *copy = valid ? strdup(valid) : NULL;

	g_free(valid);
	if (value && !copy) {
		c->oom = 1;
		return;
	}
	free(*dst);
	*dst = copy;
}

/* Addresses that never name a tenant: unspecified, loopback, link-local,
 * multicast and the rest of 0/8, 240/4 and ::/8. */
static int v4_kept(const unsigned char *a)
{
	return a[0] != 0 && a[0] != 127 && a[0] < 224 && !(a[0] == 169 && a[1] == 254);
}

static int v6_kept(const unsigned char *a)
{
	return a[0] != 0 && a[0] != 0xff && !(a[0] == 0xfe && (a[1] & 0xc0) == 0x80);
}

/* text into canonical form in buf; 1 kept, 0 not kept, -1 not an address. */
static int normalise_ip(const char *text, char buf[46])
{
	static const unsigned char mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
	unsigned char a[16];
	char plain[64];
	size_t n = strlen(text);

	if (n >= 2 && text[0] == '[' && text[n - 1] == ']') {
		text++;
		n -= 2;
	}
	if (n == 0 || n >= sizeof(plain))
		return -1;
	memcpy(plain, text, n);
	plain[n] = '\0';
	if (inet_pton(AF_INET, plain, a) == 1) {
		inet_ntop(AF_INET, a, buf, 46);
		return v4_kept(a);
	}
	if (inet_pton(AF_INET6, plain, a) != 1)
		return -1;
	if (memcmp(a, mapped, sizeof(mapped)) == 0) {
		inet_ntop(AF_INET, a + 12, buf, 46);
		return v4_kept(a + 12);
	}
	inet_ntop(AF_INET6, a, buf, 46);
	return v6_kept(a);
}

static int source_listed(const struct report_parsed *r, const char *addr, time_t at)
{
	for (size_t i = 0; i < r->n_sources; i++)
		if (r->sources[i].at == at && strcmp(r->sources[i].addr, addr) == 0)
			return 1;
	return 0;
}

int result_add_source(struct parse_ctx *c, const char *text, time_t at, int explicit)
{
	struct report_parsed *r = c->out;
	struct report_source *grown;
	char addr[46];
	int kept = normalise_ip(text, addr);

	if (kept <= 0) {
		if (explicit)
			result_note(c, "source '%.64s' %s: ignored", text,
				    kept < 0 ? "is not an IP address" : "is not a unicast address");
		return 0;
	}
	if (source_listed(r, addr, at))
		return 0;
	if (r->n_sources == REPORT_SOURCES_MAX) {
		result_note(c, "more than %d sources: the rest ignored", REPORT_SOURCES_MAX);
		return 0;
	}
	grown = realloc(r->sources, (r->n_sources + 1) * sizeof(*grown));
	if (!grown) {
		c->oom = 1;
		return 0;
	}
	r->sources = grown;
	memcpy(grown[r->n_sources].addr, addr, sizeof(addr));
	grown[r->n_sources].at = at;
	r->n_sources++;
	return 1;
}

void result_add_url(struct parse_ctx *c, const char *url, size_t len)
{
	struct report_parsed *r = c->out;
	char **grown, *copy;

	for (size_t i = 0; i < r->n_urls; i++)
		if (strlen(r->urls[i]) == len && memcmp(r->urls[i], url, len) == 0)
			return;
	if (r->n_urls == REPORT_URLS_MAX) {
		if (!strstr(c->note->str, "URLs: the rest ignored"))
			result_note(c, "more than %d URLs: the rest ignored", REPORT_URLS_MAX);
		return;
	}
	/* A URL runs until white space: bytes after it that are not UTF-8
	 * (found by fuzz_report_parse) must not make the result unstorable. */
	char *valid = g_utf8_make_valid(url, (gssize)len);

	copy = valid ? strdup(valid) : NULL;
	g_free(valid);
	grown = copy ? realloc(r->urls, (r->n_urls + 1) * sizeof(*grown)) : NULL;
	if (!grown) {
		free(copy);
		c->oom = 1;
		return;
	}
	r->urls = grown;
	grown[r->n_urls++] = copy;
}

void result_set_evidence(struct parse_ctx *c, const char *text, size_t len)
{
	size_t max = c->cfg->evidence_max;
	const char *end;
	char *copy;

	if (len > max) {
		/* Back up to the start of a character. */
		while (max > 0 && ((unsigned char)text[max] & 0xc0) == 0x80)
			max--;
		result_note(c, "evidence cut to %zu of %zu bytes", max, len);
		len = max;
	}
	copy = g_utf8_make_valid(text, (gssize)len);
	if (!g_utf8_validate(text, (gssize)len, &end))
		result_note(c, "evidence had invalid UTF-8 (replaced)");
	free(c->out->evidence);
	c->out->evidence = strdup(copy);
	if (!c->out->evidence)
		c->oom = 1;
	g_free(copy);
}

static const char *map_halves(const struct report_config *cfg, enum report_family family,
			      const char *type)
{
	const char *slash = strchr(type, '/'), *cat = report_config_map(cfg, family, type);
	char head[128];

	if (cat || !slash)
		return cat;
	cat = report_config_map(cfg, family, slash + 1);
	if (cat || (size_t)(slash - type) >= sizeof(head))
		return cat;
	memcpy(head, type, (size_t)(slash - type));
	head[slash - type] = '\0';
	return report_config_map(cfg, family, head);
}

void result_map_type(struct parse_ctx *c, enum report_family family, const char *type)
{
	const char *cat = type && *type ? map_halves(c->cfg, family, type) : NULL;

	if (!cat) {
		cat = c->cfg->default_category;
		result_note(c, "type '%.64s' not in the mapping: default category %s",
			    type && *type ? type : "(none)", cat);
	}
	snprintf(c->out->category, sizeof(c->out->category), "%s", cat);
}

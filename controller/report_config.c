/* report-types.conf (each format's types -> our categories) and
 * report-rules.conf (plain mails: sender, subject, body patterns ->
 * category, first match wins), both INI files read with inih through
 * common/ini_file.c, like cordond's and the agent's own. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ini_file.h"
#include "report_parse.h"

struct load_ctx {
	struct report_config *cfg;
	char *reason;    /* ini_file_read's buffer for the line being read */
	size_t reason_len;
};

static const char *const field_names[REPORT_N_FIELDS] = { "from", "subject", "body" };
static const char *const family_names[REPORT_N_FAMILIES] = { "arf", "xarf" };

struct report_config *report_config_new(void)
{
	struct report_config *cfg = calloc(1, sizeof(*cfg));

	if (!cfg)
		return NULL;
	cfg->size_cap = REPORT_SIZE_CAP_DEFAULT;
	cfg->max_depth = REPORT_DEPTH_MAX_DEFAULT;
	cfg->evidence_max = REPORT_EVIDENCE_MAX_DEFAULT;
	strcpy(cfg->default_category, "other");
	strcpy(cfg->plain_default, "other");
	return cfg;
}

static void rule_free(struct report_rule *r)
{
	for (int f = 0; f < REPORT_N_FIELDS; f++)
		if (r->has[f])
			regfree(&r->re[f]);
	free(r->name);
}

void report_config_free(struct report_config *cfg)
{
	if (!cfg)
		return;
	for (size_t i = 0; i < cfg->n_types; i++)
		free(cfg->types[i].type);
	free(cfg->types);
	for (size_t i = 0; i < cfg->n_rules; i++)
		rule_free(&cfg->rules[i]);
	free(cfg->rules);
	free(cfg);
}

/* A category names a policy file: lower case letters, digits, '-'. */
static int set_category(char dst[REPORT_CATEGORY_MAX], const char *value, struct load_ctx *c)
{
	size_t n = strlen(value);

	if (n == 0 || n >= REPORT_CATEGORY_MAX || strspn(value, "abcdefghijklmnopqrstuvwxyz0123456789-") != n) {
		snprintf(c->reason, c->reason_len,
			 "category '%s' is not a policy name (a-z, 0-9, '-', at most %d characters)",
			 value, REPORT_CATEGORY_MAX - 1);
		return 0;
	}
	memcpy(dst, value, n + 1);
	return 1;
}

static int add_type(struct load_ctx *c, enum report_family fam, const char *name, const char *value)
{
	struct report_config *cfg = c->cfg;
	struct report_type_map *t, *grown;

	if (report_config_map(cfg, fam, name)) {
		snprintf(c->reason, c->reason_len, "type '%s' mapped twice in [%s]", name,
			 family_names[fam]);
		return 0;
	}
	grown = realloc(cfg->types, (cfg->n_types + 1) * sizeof(*grown));
	if (!grown) {
		snprintf(c->reason, c->reason_len, "out of memory");
		return 0;
	}
	cfg->types = grown;
	t = &cfg->types[cfg->n_types];
	memset(t, 0, sizeof(*t));
	t->family = fam;
	if (!set_category(t->category, value, c))
		return 0;
	t->type = strdup(name);
	if (!t->type) {
		snprintf(c->reason, c->reason_len, "out of memory");
		return 0;
	}
	for (char *p = t->type; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	cfg->n_types++;
	return 1;
}

/* Bytes of a message kept and parsed: "1048576", "512K", "4M". */
static int set_size_cap(struct load_ctx *c, const char *value)
{
	char *end;
	unsigned long long n;

	errno = 0;
	n = strtoull(value, &end, 10);
	if (*end == 'K' || *end == 'k')
		n <<= 10, end++;
	else if (*end == 'M' || *end == 'm')
		n <<= 20, end++;
	if (errno || end == value || *end || n < REPORT_SIZE_CAP_MIN || n > REPORT_SIZE_CAP_MAX) {
		snprintf(c->reason, c->reason_len,
			 "size_cap '%s' is not a size from 4K to 8M (bytes, or with K or M)", value);
		return 0;
	}
	c->cfg->size_cap = (size_t)n;
	return 1;
}

static int types_entry(void *user, const char *section, const char *name, const char *value,
		       char *why, size_t whylen)
{
	struct load_ctx *c = user;

	c->reason = why;
	c->reason_len = whylen;
	if (strcmp(section, "default") == 0 && strcmp(name, "category") == 0)
		return set_category(c->cfg->default_category, value, c);
	if (strcmp(section, "limits") == 0 && strcmp(name, "size_cap") == 0)
		return set_size_cap(c, value);
	for (int f = 0; f < REPORT_N_FAMILIES; f++)
		if (strcmp(section, family_names[f]) == 0)
			return add_type(c, (enum report_family)f, name, value);
	snprintf(c->reason, c->reason_len,
		 "unknown key '%s' in [%s] (sections: [default] category, [limits] size_cap, [arf], [xarf])", name,
		 section);
	return 0;
}

/* The rule being read: a section name not seen before starts a new one. */
static struct report_rule *rule_for(struct load_ctx *c, const char *section)
{
	struct report_config *cfg = c->cfg;
	struct report_rule *grown;

	if (cfg->n_rules > 0 && strcmp(cfg->rules[cfg->n_rules - 1].name, section) == 0)
		return &cfg->rules[cfg->n_rules - 1];
	for (size_t i = 0; i < cfg->n_rules; i++)
		if (strcmp(cfg->rules[i].name, section) == 0) {
			snprintf(c->reason, c->reason_len, "rule [%s] appears twice", section);
			return NULL;
		}
	grown = realloc(cfg->rules, (cfg->n_rules + 1) * sizeof(*grown));
	if (!grown)
		goto oom;
	cfg->rules = grown;
	memset(&grown[cfg->n_rules], 0, sizeof(*grown));
	grown[cfg->n_rules].name = strdup(section);
	if (!grown[cfg->n_rules].name)
		goto oom;
	return &cfg->rules[cfg->n_rules++];
oom:
	snprintf(c->reason, c->reason_len, "out of memory");
	return NULL;
}

static int rule_pattern(struct load_ctx *c, struct report_rule *r, int f, const char *value)
{
	int rc;

	if (r->has[f]) {
		snprintf(c->reason, c->reason_len, "rule [%s] has two '%s' patterns", r->name,
			 field_names[f]);
		return 0;
	}
	rc = regcomp(&r->re[f], value, REG_EXTENDED | REG_ICASE | REG_NOSUB | REG_NEWLINE);
	if (rc != 0) {
		char msg[128];

		regerror(rc, &r->re[f], msg, sizeof(msg));
		snprintf(c->reason, c->reason_len, "rule [%s] %s: bad regular expression '%s': %s",
			 r->name, field_names[f], value, msg);
		return 0;
	}
	r->has[f] = 1;
	return 1;
}

static int rules_entry(void *user, const char *section, const char *name, const char *value,
		       char *why, size_t whylen)
{
	struct load_ctx *c = user;
	struct report_rule *r;

	c->reason = why;
	c->reason_len = whylen;
	if (strcmp(section, "default") == 0) {
		if (strcmp(name, "category") == 0)
			return set_category(c->cfg->plain_default, value, c);
		snprintf(c->reason, c->reason_len, "unknown key '%s' in [default] (only category)", name);
		return 0;
	}
	if (!section[0]) {
		snprintf(c->reason, c->reason_len, "'%s' outside a [rule] section", name);
		return 0;
	}
	r = rule_for(c, section);
	if (!r)
		return 0;
	if (strcmp(name, "category") == 0)
		return set_category(r->category, value, c);
	for (int f = 0; f < REPORT_N_FIELDS; f++)
		if (strcmp(name, field_names[f]) == 0)
			return rule_pattern(c, r, f, value);
	snprintf(c->reason, c->reason_len, "unknown key '%s' in rule [%s] (from, subject, body, category)",
		 name, section);
	return 0;
}

/* Every rule must say what it decides and look at something. */
static int rules_complete(const struct report_config *cfg, const char *path, char *err, size_t errlen)
{
	for (size_t i = 0; i < cfg->n_rules; i++) {
		const struct report_rule *r = &cfg->rules[i];

		if (!r->category[0] || !(r->has[0] || r->has[1] || r->has[2])) {
			snprintf(err, errlen, "%s: rule [%s] needs a category and at least one of "
				 "from, subject, body", path, r->name);
			return -1;
		}
	}
	return 0;
}

struct report_config *report_config_load(const char *types_path, const char *rules_path,
					 char *err, size_t errlen)
{
	struct report_config *cfg = report_config_new();
	struct load_ctx c = { .cfg = cfg };

	if (!cfg) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if ((types_path && ini_file_read(types_path, 1, types_entry, &c, err, errlen) < 0) ||
	    (rules_path && ini_file_read(rules_path, 1, rules_entry, &c, err, errlen) < 0) ||
	    (rules_path && rules_complete(cfg, rules_path, err, errlen) < 0)) {
		report_config_free(cfg);
		return NULL;
	}
	return cfg;
}

const char *report_config_map(const struct report_config *cfg, enum report_family family,
			      const char *type)
{
	for (size_t i = 0; i < cfg->n_types; i++)
		if (cfg->types[i].family == family && strcasecmp(cfg->types[i].type, type) == 0)
			return cfg->types[i].category;
	return NULL;
}

#include "config.h"

#include <stdio.h>
#include <string.h>

#include "codec.h"
#include "ini_file.h"
#include "log.h"
#include "util.h"

void agent_config_defaults(struct agent_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	strcpy(cfg->controller_keys[0], "/etc/cordon/controller.cert");
	cfg->n_controller_keys = 1;
	strcpy(cfg->key, "/etc/cordon/agent.cert_secret");
	strcpy(cfg->state_dir, "/var/lib/cordon-agent");
	strcpy(cfg->status_socket, "/run/cordon-agent/status.sock");
	strcpy(cfg->nft_table, "cordon");
	strcpy(cfg->inventory_file, "/etc/cordon/inventory.json");
	cfg->inventory = INVENTORY_STATIC;
	strcpy(cfg->libvirt_uri, AGENT_DEFAULT_LIBVIRT_URI);
	strcpy(cfg->log_level, "info");
	strcpy(cfg->unmapped_scope, "public");
	cfg->heartbeat_ms = 1000;
	cfg->verify_ms = 5000;
	cfg->max_unlisted_vms = 10000;
	cfg->detach_timeout_ms = 5000;
	cfg->shutdown_timeout_ms = 30000;
	if (metrics_addr_parse(AGENT_DEFAULT_METRICS, &cfg->metrics, NULL, 0) < 0)
		fatalx("default metrics_listen does not parse"); /* a code change */
}

/* Where an entry's handler writes why it refused the line. */
struct why {
	char *buf;
	size_t len;
};

static int valid_scope_word(const char *v)
{
	return strcmp(v, "public") == 0 || strcmp(v, "private") == 0;
}

static int scope_entry(struct agent_config *c, const char *key, const char *value,
		       struct why w)
{
	struct scope_map_entry *e;

	if (!valid_scope_word(value)) {
		snprintf(w.buf, w.len, "scope of '%s' must be public or private, not '%s'",
			 key, value);
		return 0;
	}
	if (strcmp(key, "unmapped") == 0)
		return strlcpy_checked(c->unmapped_scope, value, sizeof(c->unmapped_scope)) == 0;
	if (c->n_scopes == AGENT_MAX_SCOPE_MAP) {
		snprintf(w.buf, w.len, "more than %d bridges in [scopes]", AGENT_MAX_SCOPE_MAP);
		return 0;
	}
	e = &c->scopes[c->n_scopes];
	if (strlcpy_checked(e->bridge, key, sizeof(e->bridge)) < 0)
		return 0;
	strcpy(e->scope, value);
	c->n_scopes++;
	return 1;
}

static int inventory_entry(struct agent_config *c, const char *value, struct why w)
{
	if (strcmp(value, "static") == 0)
		c->inventory = INVENTORY_STATIC;
	else if (strcmp(value, "libvirt") == 0)
		c->inventory = INVENTORY_LIBVIRT;
	else {
		snprintf(w.buf, w.len, "inventory must be static or libvirt, not '%s'", value);
		return 0;
	}
	return 1;
}

/* A comma-separated list's items, blanks around them trimmed, into the
 * rows of out (max rows of width bytes). -1 with why naming key and item. */
static int split_list(const char *key, const char *value, char *out, size_t width, size_t max,
		      size_t *n, struct why w)
{
	size_t count = 0;
	const char *p = value;

	for (;;) {
		const char *end = strchr(p, ','), *stop = end ? end : p + strlen(p);
		size_t len;

		while (p < stop && (*p == ' ' || *p == '\t'))
			p++;
		while (stop > p && (stop[-1] == ' ' || stop[-1] == '\t'))
			stop--;
		len = (size_t)(stop - p);
		if (len == 0) {
			snprintf(w.buf, w.len, "%s: item %zu of the list is empty", key, count + 1);
			return -1;
		}
		if (count == max) {
			snprintf(w.buf, w.len, "%s: more than %zu items", key, max);
			return -1;
		}
		if (len >= width) {
			snprintf(w.buf, w.len, "%s: item %zu is longer than %zu characters", key,
				 count + 1, width - 1);
			return -1;
		}
		memcpy(out + count * width, p, len);
		out[count * width + len] = '\0';
		count++;
		if (!end)
			break;
		p = end + 1;
	}
	*n = count;
	return 0;
}

/* "tcp://a:7440, tcp://b:7440": each one checked, none twice. */
static int controller_entry(struct agent_config *c, const char *value, struct why w)
{
	char list[AGENT_MAX_CONTROLLERS][ENDPOINT_MAX + 1], reason[128];
	size_t n;

	if (split_list("controller", value, &list[0][0], sizeof(list[0]), AGENT_MAX_CONTROLLERS,
		       &n, w) < 0)
		return 0;
	for (size_t i = 0; i < n; i++) {
		if (endpoint_check(list[i], reason, sizeof(reason)) < 0) {
			snprintf(w.buf, w.len, "controller: '%.80s': %s", list[i], reason);
			return 0;
		}
		for (size_t k = 0; k < i; k++)
			if (endpoint_same(list[k], list[i])) {
				snprintf(w.buf, w.len, "controller: '%.80s' is listed twice", list[i]);
				return 0;
			}
	}
	memcpy(c->controllers, list, sizeof(list));
	c->n_controllers = n;
	return 1;
}

static int controller_key_entry(struct agent_config *c, const char *value, struct why w)
{
	size_t n;

	/* Straight into the config: a refused file is not copied back. */
	if (split_list("controller_key", value, &c->controller_keys[0][0],
		       sizeof(c->controller_keys[0]), AGENT_MAX_CONTROLLERS, &n, w) < 0)
		return 0;
	c->n_controller_keys = n;
	return 1;
}

static int agent_entry(struct agent_config *c, const char *key, const char *value,
		       struct why w)
{
	enum log_level lvl;

#define STR(name) if (strcmp(key, #name) == 0) return strlcpy_checked(c->name, value, sizeof(c->name)) == 0
	STR(host_id); STR(key); STR(state_dir);
	STR(status_socket); STR(status_group); STR(nft_table); STR(inventory_file); STR(libvirt_uri);
	STR(mechanisms);
#undef STR
	if (strcmp(key, "controller") == 0)
		return controller_entry(c, value, w);
	if (strcmp(key, "controller_key") == 0)
		return controller_key_entry(c, value, w);
	if (strcmp(key, "inventory") == 0)
		return inventory_entry(c, value, w);
	if (strcmp(key, "metrics_listen") == 0)
		return metrics_addr_parse(value, &c->metrics, w.buf, w.len) == 0;
	if (strcmp(key, "heartbeat_ms") == 0)
		return parse_long(value, 50, 600000, &c->heartbeat_ms) == 0;
	if (strcmp(key, "verify_ms") == 0)
		return parse_long(value, 100, 3600000, &c->verify_ms) == 0;
	if (strcmp(key, "max_unlisted_vms") == 0)
		return parse_long(value, 0, 10000000, &c->max_unlisted_vms) == 0;
	if (strcmp(key, "detach_timeout_ms") == 0)
		return parse_long(value, 100, 600000, &c->detach_timeout_ms) == 0;
	if (strcmp(key, "shutdown_timeout_ms") == 0)
		return parse_long(value, 0, 3600000, &c->shutdown_timeout_ms) == 0;
	if (strcmp(key, "log_level") == 0)
		return log_level_parse(value, &lvl) == 0 &&
		       strlcpy_checked(c->log_level, value, sizeof(c->log_level)) == 0;
	snprintf(w.buf, w.len, "unknown key '%s' in [agent]", key);
	return 0;
}

static int agent_config_entry(void *user, const char *section, const char *key,
			      const char *value, char *why, size_t whylen)
{
	struct why w = { why, whylen };

	if (strcmp(section, "agent") == 0)
		return agent_entry(user, key, value, w);
	if (strcmp(section, "scopes") == 0)
		return scope_entry(user, key, value, w);
	snprintf(why, whylen, "unknown section [%s]", section);
	return 0;
}

/* "nft,detach": nft is required (always applied first), detach needs
 * libvirt. Empty: the default for the inventory source. */
static int check_mechanisms(const char *path, struct agent_config *c, char *err,
			    size_t errlen)
{
	char buf[sizeof(c->mechanisms)], *save = NULL, *tok;
	bool nft = false;

	if (!c->mechanisms[0]) {
		c->mech_detach = c->inventory == INVENTORY_LIBVIRT;
		strcpy(c->mechanisms, c->mech_detach ? "nft,detach" : "nft");
		return 0;
	}
	strcpy(buf, c->mechanisms);
	c->mech_detach = false;
	for (tok = strtok_r(buf, ", \t", &save); tok; tok = strtok_r(NULL, ", \t", &save)) {
		if (strcmp(tok, "nft") == 0)
			nft = true;
		else if (strcmp(tok, "detach") == 0)
			c->mech_detach = true;
		else {
			snprintf(err, errlen, "%s: mechanisms: unknown '%s' (nft, detach)", path, tok);
			return -1;
		}
	}
	if (!nft) {
		snprintf(err, errlen, "%s: mechanisms must include nft (applied first)", path);
		return -1;
	}
	if (c->mech_detach && c->inventory != INVENTORY_LIBVIRT) {
		snprintf(err, errlen, "%s: mechanisms: detach needs inventory = libvirt", path);
		return -1;
	}
	return 0;
}

static int check_required(const char *path, struct agent_config *c,
			  char *err, size_t errlen)
{
	if (!c->host_id[0] || !codec_valid_host_id(c->host_id)) {
		snprintf(err, errlen, "%s: host_id is %s (letters, digits, '.', '_', '-')", path,
			 c->host_id[0] ? "invalid" : "missing");
		return -1;
	}
	if (!c->n_controllers) {
		snprintf(err, errlen, "%s: controller is missing (e.g. tcp://cordond.example:7440)",
			 path);
		return -1;
	}
	if (c->n_controller_keys != 1 && c->n_controller_keys != c->n_controllers) {
		snprintf(err, errlen, "%s: controller_key lists %zu key files for the %zu endpoints "
			 "of controller: give one key file for all of them, or one per endpoint "
			 "in the same order", path, c->n_controller_keys, c->n_controllers);
		return -1;
	}
	if (c->inventory == INVENTORY_LIBVIRT && !c->libvirt_uri[0]) {
		snprintf(err, errlen, "%s: libvirt_uri is empty (e.g. qemu:///system)", path);
		return -1;
	}
	return check_mechanisms(path, c, err, errlen);
}

int agent_config_load(const char *path, struct agent_config *cfg, char *err,
		      size_t errlen)
{
	/* Read into a copy: a refused file changes nothing. */
	struct agent_config next = *cfg;

	if (ini_file_read(path, 1, agent_config_entry, &next, err, errlen) < 0 ||
	    check_required(path, &next, err, errlen) < 0)
		return -1;
	*cfg = next;
	return 0;
}

const char *agent_config_controller_key(const struct agent_config *cfg, size_t i)
{
	return cfg->controller_keys[cfg->n_controller_keys == 1 ? 0 : i];
}

const char *agent_config_scope_find(const struct agent_config *cfg,
				   const char *bridge)
{
	for (size_t i = 0; i < cfg->n_scopes; i++)
		if (strcmp(cfg->scopes[i].bridge, bridge) == 0)
			return cfg->scopes[i].scope;
	return NULL;
}

const char *agent_config_scope_of(const struct agent_config *cfg,
				  const char *bridge)
{
	const char *s = agent_config_scope_find(cfg, bridge);

	return s ? s : cfg->unmapped_scope;
}

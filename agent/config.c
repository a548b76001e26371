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
	strcpy(cfg->controller_key, "/etc/cordon/controller.cert");
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

static int agent_entry(struct agent_config *c, const char *key, const char *value,
		       struct why w)
{
	enum log_level lvl;

#define STR(name) if (strcmp(key, #name) == 0) return strlcpy_checked(c->name, value, sizeof(c->name)) == 0
	STR(host_id); STR(controller); STR(controller_key); STR(key); STR(state_dir);
	STR(status_socket); STR(status_group); STR(nft_table); STR(inventory_file); STR(libvirt_uri);
	STR(mechanisms);
#undef STR
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
	if (!c->controller[0]) {
		snprintf(err, errlen, "%s: controller is missing (e.g. tcp://cordond.example:7440)",
			 path);
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

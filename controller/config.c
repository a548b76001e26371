#include "config.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "calendar.h"
#include "control_roles.h"
#include "endpoint.h"
#include "ini_file.h"
#include "log.h"
#include "util.h"

#ifndef CORDON_SBINDIR /* set by the Makefile from PREFIX */
#define CORDON_SBINDIR "/usr/local/sbin"
#endif

void ctl_config_defaults(struct ctl_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	strcpy(cfg->listen, "tcp://0.0.0.0:7440");
	strcpy(cfg->key, "/etc/cordon/controller.cert_secret");
	strcpy(cfg->authorized_agents, "/etc/cordon/authorized-agents");
	strcpy(cfg->database, "/var/lib/cordon/cordon.db");
	strcpy(cfg->control_socket, "/run/cordon/control.sock");
	strcpy(cfg->control_group, "cordon");
	strcpy(cfg->readonly_group, "cordon-monitor");
	strcpy(cfg->report_group, "cordon-report");
	strcpy(cfg->log_level, "info");
	strcpy(cfg->policies, "/etc/cordon/policies");
	strcpy(cfg->calendar, "/etc/cordon/calendar.conf");
	strcpy(cfg->templates, "/etc/cordon/templates");
	/* Not /usr/sbin/sendmail: Debian's queue through a setuid or setgid
	 * helper, which the shipped unit's NoNewPrivileges=yes forbids. */
	strcpy(cfg->notify_command, CORDON_SBINDIR "/cordon-sendmail -t -i");
	strcpy(cfg->notify_from, "abuse@localhost");
	cfg->resend_ms = 1000;
	cfg->agent_timeout_ms = 5000;
	cfg->handshake_ms = 3000;
	if (metrics_addr_parse(CORDOND_DEFAULT_METRICS, &cfg->metrics, NULL, 0) < 0)
		fatalx("default metrics_listen does not parse"); /* a code change */
	cfg->prune_interval = 3600;
	if (gethostname(cfg->instance, sizeof(cfg->instance)) < 0 || !cfg->instance[0])
		strcpy(cfg->instance, "cordond");
	cfg->instance[sizeof(cfg->instance) - 1] = '\0';
	cfg->lease_ms = 5000;
	cfg->keepalive_s = 1;
	cfg->statement_timeout_ms = 30000;
}

int ctl_config_retention_parse(const char *text, long *seconds)
{
	size_t n = strlen(text);
	long weeks;
	char digits[16];

	if (strcmp(text, "forever") == 0) {
		*seconds = 0;
		return 0;
	}
	/* Weeks are not a policy unit: "52w" is read here, up to ten years. */
	if (n > 1 && n < sizeof(digits) && text[n - 1] == 'w') {
		memcpy(digits, text, n - 1);
		digits[n - 1] = '\0';
		if (parse_long(digits, 0, 521, &weeks) < 0)
			return -1;
		*seconds = weeks * 7 * 86400;
		return 0;
	}
	return calendar_duration_parse(text, seconds);
}

/* The retain_* keys and prune_interval; -1 when key is not one of them. */
static int set_retention(struct ctl_config *c, const char *key, const char *value, char *why,
			 size_t whylen)
{
	static const struct { const char *key; size_t off; } keys[] = {
		{ "retain_resolved_cases", offsetof(struct ctl_config, retain_resolved_cases) },
		{ "retain_audit", offsetof(struct ctl_config, retain_audit) },
		{ "retain_notifications", offsetof(struct ctl_config, retain_notifications) },
		{ "retain_reports", offsetof(struct ctl_config, retain_reports) },
		{ "prune_interval", offsetof(struct ctl_config, prune_interval) },
	};

	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		if (strcmp(key, keys[i].key) != 0)
			continue;
		if (ctl_config_retention_parse(value, (long *)((char *)c + keys[i].off)) == 0)
			return 1;
		snprintf(why, whylen, "invalid value for '%s': '%.40s' (a duration such as 400d,"
			 " 52w or 12h; 0 or forever: %s)", key, value,
			 strcmp(key, "prune_interval") == 0 ? "never by itself" : "keep everything");
		return 0;
	}
	return -1;
}

static int set_string(char *dst, size_t len, const char *value)
{
	return strlcpy_checked(dst, value, len) < 0 ? 0 : 1;
}

/* "" says "no endpoint to give agents" (a follower then names no leader). */
static int set_advertise(struct ctl_config *c, const char *value, char *why, size_t whylen)
{
	char reason[128];

	if (*value && endpoint_check(value, reason, sizeof(reason)) < 0) {
		snprintf(why, whylen, "advertise '%.60s': %s (the endpoint agents reach this "
			 "cordond at, e.g. tcp://198.18.0.1:7440)", value, reason);
		return 0;
	}
	c->advertise_set = true;
	return set_string(c->advertise, sizeof(c->advertise), value);
}

/* A name for logs, status and audit rows: letters, digits, . _ - */
static int set_instance(struct ctl_config *c, const char *value, char *why, size_t whylen)
{
	size_t n = strlen(value);

	if (n == 0 || n >= sizeof(c->instance) ||
	    strspn(value, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") != n) {
		snprintf(why, whylen, "instance '%.70s': 1 to %zu letters, digits, '.', '_' or '-'",
			 value, sizeof(c->instance) - 1);
		return 0;
	}
	memcpy(c->instance, value, n + 1);
	return 1;
}

/* The leadership keys; -1 when key is not one of them. */
static int set_leadership(struct ctl_config *c, const char *key, const char *value, char *why,
			  size_t whylen)
{
	if (strcmp(key, "instance") == 0)
		return set_instance(c, value, why, whylen);
	if (strcmp(key, "lease_ms") == 0)
		return parse_long(value, 1000, 600000, &c->lease_ms) == 0;
	if (strcmp(key, "keepalive_s") == 0)
		return parse_long(value, 1, 60, &c->keepalive_s) == 0;
	if (strcmp(key, "statement_timeout_ms") == 0)
		return parse_long(value, 0, 86400000, &c->statement_timeout_ms) == 0;
	return -1;
}

static int ctl_config_entry(void *user, const char *section, const char *key,
			    const char *value, char *why, size_t whylen)
{
	struct ctl_config *c = user;
	enum log_level lvl;
	int rc;

	if (strcmp(section, "controller") != 0) {
		snprintf(why, whylen, "unknown section [%s]", section);
		return 0;
	}
#define STR(name) if (strcmp(key, #name) == 0) return set_string(c->name, sizeof(c->name), value)
	STR(listen); STR(key); STR(authorized_agents); STR(database);
	STR(control_socket); STR(control_group); STR(policies); STR(calendar);
	STR(templates); STR(notify_command); STR(notify_from); STR(call_hook);
	STR(readonly_group); STR(report_group);
#undef STR
	if (strcmp(key, "advertise") == 0)
		return set_advertise(c, value, why, whylen);
	if (strcmp(key, "control_socket_readonly") == 0) {
		c->control_socket_readonly_set = true;
		return set_string(c->control_socket_readonly, sizeof(c->control_socket_readonly),
				  value);
	}
	if (strcmp(key, "control_socket_report") == 0) {
		c->control_socket_report_set = true;
		return set_string(c->control_socket_report, sizeof(c->control_socket_report),
				  value);
	}
	if (strcmp(key, "metrics_listen") == 0)
		return metrics_addr_parse(value, &c->metrics, why, whylen) == 0;
	if (strcmp(key, "resend_ms") == 0)
		return parse_long(value, 10, 3600000, &c->resend_ms) == 0;
	if (strcmp(key, "agent_timeout_ms") == 0)
		return parse_long(value, 100, 3600000, &c->agent_timeout_ms) == 0;
	if (strcmp(key, "handshake_ms") == 0)
		return parse_long(value, 100, 60000, &c->handshake_ms) == 0;
	rc = set_retention(c, key, value, why, whylen);
	if (rc < 0)
		rc = set_leadership(c, key, value, why, whylen);
	if (rc >= 0)
		return rc;
	if (strcmp(key, "log_level") == 0) {
		if (log_level_parse(value, &lvl) < 0)
			return 0;
		return set_string(c->log_level, sizeof(c->log_level), value);
	}
	snprintf(why, whylen, "unknown key '%s'", key);
	return 0;
}

int ctl_config_load(const char *path, int must_exist, struct ctl_config *cfg,
		    char *err, size_t errlen)
{
	/* Read into a copy: a refused file changes nothing. */
	struct ctl_config next = *cfg;

	if (ini_file_read(path, must_exist, ctl_config_entry, &next, err, errlen) < 0)
		return -1;
	if (!next.control_socket_readonly_set &&
	    control_socket_sibling(next.control_socket, "ro", next.control_socket_readonly,
				   sizeof(next.control_socket_readonly)) < 0) {
		snprintf(err, errlen, "%s: control_socket too long for its read-only sibling;"
			 " set control_socket_readonly", path);
		return -1;
	}
	if (!next.control_socket_report_set &&
	    control_socket_sibling(next.control_socket, "report", next.control_socket_report,
				   sizeof(next.control_socket_report)) < 0) {
		snprintf(err, errlen, "%s: control_socket too long for its report sibling;"
			 " set control_socket_report", path);
		return -1;
	}
	if (!next.advertise_set)
		endpoint_from_listen(next.listen, next.advertise, sizeof(next.advertise));
	*cfg = next;
	return 0;
}

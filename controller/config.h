/* config.c: cordond.conf ([controller] section, key = value). */
#ifndef CORDON_CTL_CONFIG_H
#define CORDON_CTL_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "metrics_addr.h"

#define CORDOND_DEFAULT_CONFIG "/etc/cordon/cordond.conf"
#define CORDOND_DEFAULT_METRICS "127.0.0.1:9750"

struct ctl_config {
	char listen[256];
	/* The endpoint agents reach this instance at (tcp://HOST:PORT), for
	 * leader.c to publish as the leader's: a follower names it in
	 * NotLeader. Unset: listen when it names a host, "" for a wildcard. */
	char advertise[256];
	bool advertise_set;
	char key[4096];
	char authorized_agents[4096];
	char database[4096];
	char control_socket[108];
	char control_group[64];
	/* Answers read commands only; "" = none. Unset: beside control_socket
	 * (control_socket_sibling). */
	char control_socket_readonly[108];
	bool control_socket_readonly_set;
	char readonly_group[64];
	/* Takes report mails only (cordonctl report ingest, run by the MTA);
	 * "" = none. Unset: beside control_socket. */
	char control_socket_report[108];
	bool control_socket_report_set;
	char report_group[64];
	char policies[4096];        /* directory of *.policy ladders */
	char calendar[4096];        /* business calendar file; "" = defaults */
	char templates[4096];       /* notification templates */
	char notify_command[1024];  /* gets each rendered message on stdin */
	char notify_from[256];
	char call_hook[1024];       /* optional: run for each call task */
	long resend_ms;
	long agent_timeout_ms;
	long handshake_ms;          /* a TCP peer not through CURVE by then is dropped */
	char log_level[16];
	struct metrics_addr metrics; /* GET /metrics; default 127.0.0.1:9750 */
	/* Data retention (retention.c), seconds; 0 = keep forever (the
	 * default). prune_interval: how often cordond prunes, 0 = only by
	 * `cordonctl prune`. */
	long retain_resolved_cases;
	long retain_audit;
	long retain_notifications;
	long retain_reports;
	long prune_interval;
	/* Leadership over a shared PostgreSQL store (leader.c). instance
	 * names this cordond in status, NotLeader and its audit rows (default:
	 * the host name). The leader that has not confirmed its database
	 * session for lease_ms stops acting; keepalive_s paces both ends' TCP
	 * keepalives; statement_timeout_ms bounds every statement (0: none). */
	char instance[64];
	long lease_ms;
	long keepalive_s;
	long statement_timeout_ms;
};

/* A retention: "0" or "forever" (keep), a number of weeks ("52w"), or a
 * duration as in policies ("400d", "12h", "1h30m"). -1 when it is none. */
int ctl_config_retention_parse(const char *text, long *seconds);

void ctl_config_defaults(struct ctl_config *cfg);
/* Reads path over the defaults. A missing file is an error only when
 * must_exist. -1 with "file:line: reason" in err. */
int ctl_config_load(const char *path, int must_exist, struct ctl_config *cfg,
		    char *err, size_t errlen);

#endif

/* The controller's process-wide state, shared by its modules. */
#ifndef CORDON_CORDOND_H
#define CORDON_CORDOND_H

#include <jansson.h>
#include <stdbool.h>
#include <sys/types.h>

#include "config.h"
#include "leader.h"
#include "metrics.h"
#include "retention.h"
#include "registry.h"
#include "store.h"
#include "transport.h"

struct policy_set;
struct calendar;
struct notifier;
struct ladders;
struct jsonsock_server;

struct cordond {
	struct ctl_config cfg;
	struct store *store;
	struct ctl_transport *transport;
	struct registry registry;
	struct jsonsock_server *control; /* common/jsonsock_server.c */
	int64_t started;
	bool test_clock;
	struct policy_set *policies;
	struct calendar *calendar;
	struct notifier *notifier;
	struct ladders *ladders;    /* ladder.c: parsed ladders of cases */
	/* Hosts whose desired state changed and must be pushed (deduplicated):
	 * the scheduler marks them per step and pushes once per batch. */
	char (*push_hosts)[65];
	size_t n_push, cap_push;
	struct ctl_metrics metrics; /* metrics.c: GET /metrics */
	struct leader leader;       /* leader.c: whether this instance acts */
	/* Monotonic ms when the agents' messages were last all read: silence
	 * is counted up to then, not through a long step batch or hello of
	 * ours (their heartbeats wait in the socket meanwhile). */
	uint64_t router_read_ms;
	struct {                    /* prune.c: the retention pass */
		bool running;
		uint64_t next_ms;   /* monotonic: when the next pass starts */
		struct prune_counts removed; /* by the running pass so far */
	} prune;
};

/* agents.c: messages from agents, and desired state to them. */
/* An agent whose protocol is too far from ours: refused (Refused sent,
 * listed as refused in `cordonctl agents`, logged once per change), sent
 * no desired state. */
void agents_refuse_protocol(struct cordond *d, const struct peer *peer);
void agents_handle(struct cordond *d, const struct peer *peer,
		   const Cordon__Envelope *env);
/* Sends the VM's desired state to each host that lists it, if connected. */
void agents_push_vm(struct cordond *d, const char *uuid);
/* Marks the VM's hosts for a push; agents_flush() sends to each once. */
void agents_mark_vm(struct cordond *d, const char *uuid);
void agents_flush(struct cordond *d);
/* Resends what is not acked yet, expires silent agents. */
void agents_tick(struct cordond *d);

/* prune.c: retention passes (retention.c) from the main loop and by
 * `cordonctl prune`. prune_tick runs one batch of the pass in progress or
 * due; true when more is due at once. */
void prune_init(struct cordond *d);
bool prune_tick(struct cordond *d);
json_t *prune_cmd(struct cordond *d, const json_t *req, uid_t uid);

/* What a control socket's clients may do. */
enum control_role {
	CONTROL_ROLE_ADMIN,  /* everything */
	CONTROL_ROLE_READ,   /* read commands only (control_roles.c) */
	CONTROL_ROLE_REPORT, /* report_ingest only: the MTA's pipe */
};
/* A report_ingest request: an 8 MiB mail in base64 and its parse. */
#define REPORT_REQUEST_MAX (12 * 1024 * 1024)

/* control.c: the unix control sockets' commands for cordonctl, a
 * jsonsock_serve_fn (ctx: the cordond; role: an enum control_role). */
json_t *control_dispatch(void *ctx, const json_t *req, uid_t uid, int role);
json_t *reply_ok(json_t *result);
json_t *reply_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* A change the store did not take, with the reason (a full disk, a
 * read-only filesystem, another writer's lock): "nothing changed". */
json_t *reply_store_error(struct cordond *d);
/* req's "vm" (uuid, name or IP) -> uuid; else *error is the reply. */
int resolve_arg(struct cordond *d, const json_t *req, char uuid[65], json_t **error);

/* cases.c: abuse cases (cordonctl case ...), audit, clock, policies. */
json_t *cases_cmd_open(struct cordond *d, const json_t *req, uid_t uid);
json_t *cases_cmd_list(struct cordond *d, const json_t *req, uid_t uid);
json_t *cases_cmd_show(struct cordond *d, const json_t *req, uid_t uid);
json_t *cases_cmd_respond(struct cordond *d, const json_t *req, uid_t uid);
json_t *cases_cmd_resume(struct cordond *d, const json_t *req, uid_t uid);
json_t *cases_cmd_escalate(struct cordond *d, const json_t *req, uid_t uid);
json_t *cases_cmd_note(struct cordond *d, const json_t *req, uid_t uid);
json_t *cases_cmd_resolve(struct cordond *d, const json_t *req, uid_t uid);
json_t *cases_cmd_called(struct cordond *d, const json_t *req, uid_t uid);
json_t *cases_cmd_replan(struct cordond *d, const json_t *req, uid_t uid);
json_t *cases_cmd_audit(struct cordond *d, const json_t *req, uid_t uid);
json_t *cases_cmd_clock(struct cordond *d, const json_t *req, uid_t uid);
json_t *cases_cmd_policy_list(struct cordond *d, const json_t *req, uid_t uid);
json_t *cases_cmd_policy_show(struct cordond *d, const json_t *req, uid_t uid);

#endif

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cordond.h"
#include "desired.h"
#include "enforced_adopt.h"
#include "inventory.h"
#include "leader.h"
#include "log.h"
#include "util.h"
#include "vm_hosts.h"

static void send_env(struct cordond *d, struct agent_conn *a, Cordon__Envelope *env)
{
	if (ctl_transport_send(d->transport, &a->peer, env) < 0)
		log_warnx("cannot send %s to agent %s", codec_body_name(env), a->peer.host_id);
}

static void send_simple(struct cordond *d, const struct peer *peer,
			Cordon__Envelope *env)
{
	if (ctl_transport_send(d->transport, peer, env) < 0)
		log_warnx("cannot send %s to %s", codec_body_name(env), peer->host_id);
}

/* Collects desired rows into a DesiredSet under construction. */
struct set_builder {
	Cordon__VmState **states;
	size_t n, cap;
	int failed;
};

static void builder_add(const struct desired_row *row, void *arg)
{
	struct set_builder *b = arg;
	Cordon__VmState *s;

	if (b->n == b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 16;
		Cordon__VmState **v = realloc(b->states, cap * sizeof(*v));
		if (!v) {
			b->failed = 1;
			return;
		}
		b->states = v;
		b->cap = cap;
	}
	s = malloc(sizeof(*s));
	if (s) {
		cordon__vm_state__init(s);
		s->uuid = strdup(row->uuid);
	}
	if (!s || !s->uuid) {
		free(s);
		b->failed = 1;
		return;
	}
	s->generation = row->generation;
	s->scopes = row->scopes;
	s->power_off = row->power_off;
	b->states[b->n++] = s;
}

static void builder_free(struct set_builder *b)
{
	for (size_t i = 0; i < b->n; i++) {
		free(b->states[i]->uuid);
		free(b->states[i]);
	}
	free(b->states);
}

static void send_desired(struct cordond *d, struct agent_conn *a, enum desired_select sel)
{
	struct set_builder b = { 0 };
	Cordon__Envelope env = CORDON__ENVELOPE__INIT;
	Cordon__DesiredSet set = CORDON__DESIRED_SET__INIT;
	bool full = sel == DESIRED_ALL;

	/* Only the acting leader pushes: a follower's store may be behind. */
	if (!leader_acting(d))
		return;
	if (desired_foreach_host(d->store, a->peer.host_id, sel, a->sent_gen, builder_add, &b) < 0 ||
	    b.failed) {
		log_warnx("cannot build the desired set for %s", a->peer.host_id);
		builder_free(&b);
		return;
	}
	if (b.n || full) {
		set.full = full;
		set.term = leader_term(d); /* the agents' fence against a former leader */
		set.vms = b.states;
		set.n_vms = b.n;
		env.body_case = CORDON__ENVELOPE__BODY_DESIRED;
		env.desired = &set;
		send_env(d, a, &env);
		log_debug("sent %s desired set (%zu VMs) to %s", full ? "full" :
			  sel == DESIRED_NEWER ? "changed" : "unacked", b.n, a->peer.host_id);
	}
	for (size_t i = 0; i < b.n; i++)
		if (b.states[i]->generation > a->sent_gen)
			a->sent_gen = b.states[i]->generation;
	a->last_resend_mono = now_mono_ms();
	builder_free(&b);
}

static void refuse(struct cordond *d, const struct peer *peer, const char *why)
{
	Cordon__Envelope env = CORDON__ENVELOPE__INIT;
	Cordon__Refused refused = CORDON__REFUSED__INIT;

	refused.reason = (char *)why;
	env.body_case = CORDON__ENVELOPE__BODY_REFUSED;
	env.refused = &refused;
	send_simple(d, peer, &env);
}

/* A VM another host lists too is not taken from it: each host that lists a
 * VM gets its desired state (vm_hosts.c), so nothing here makes another
 * host lift anything. */
static int store_inventory(struct cordond *d, const char *host_id,
			   Cordon__Vm **vms, size_t n, const char *version, bool complete)
{
	if (!complete)
		log_warnx("agent %s could not read its whole inventory (%zu VMs read): "
			  "the VMs it did not list stay bound to it, cut or not", host_id, n);
	if (store_begin(d->store) < 0)
		return -1;
	if ((version && inventory_host_seen(d->store, host_id, version) < 0) ||
	    inventory_replace_host(d->store, host_id, vms, n, complete) < 0 ||
	    store_commit(d->store) < 0) {
		store_rollback(d->store);
		return -1;
	}
	return 0;
}

static void record_acks(struct cordond *d, const char *host_id,
			Cordon__VmState **states, size_t n)
{
	if (store_begin(d->store) < 0)
		return;
	for (size_t i = 0; i < n; i++)
		if (acks_record(d->store, host_id, states[i]) < 0) {
			store_rollback(d->store);
			return;
		}
	if (store_commit(d->store) < 0)
		store_rollback(d->store);
}

static void ask_hello(struct cordond *d, const struct peer *peer)
{
	Cordon__Envelope req = CORDON__ENVELOPE__INIT;
	Cordon__HelloRequired body = CORDON__HELLO_REQUIRED__INIT;

	req.body_case = CORDON__ENVELOPE__BODY_HELLO_REQUIRED;
	req.hello_required = &body;
	send_simple(d, peer, &req);
}

/* A follower serves no agent: it names the leader (or "" when none is
 * known) and its term, and stores nothing. An agent bound here while this
 * instance acted is no longer ours: not connected. */
static void not_leader(struct cordond *d, const struct peer *peer)
{
	Cordon__Envelope env = CORDON__ENVELOPE__INIT;
	Cordon__NotLeader body = CORDON__NOT_LEADER__INIT;
	struct agent_conn *a = registry_by_peer(&d->registry, peer);

	if (a && a->connected) {
		a->connected = false;
		log_info("agent %s: this cordond is not the acting leader; sent to %s", peer->host_id,
			 leader_endpoint(d)[0] ? leader_endpoint(d) : "whichever leader it finds");
	}
	body.leader = (char *)leader_endpoint(d);
	body.term = leader_term(d);
	env.body_case = CORDON__ENVELOPE__BODY_NOT_LEADER;
	env.not_leader = &body;
	send_simple(d, peer, &env);
	log_debug("told %s: not the leader (leader '%s', term %llu)", peer->host_id, body.leader,
		  (unsigned long long)body.term);
}

/* An agent that accepted a newer term than ours (the store was restored
 * from an older copy): take a term above it first, or the agent ignores
 * everything we send. false when the hello cannot be served now. */
static bool term_caught_up(struct cordond *d, const struct peer *peer, uint64_t seen)
{
	struct agent_conn *a;

	if (seen <= leader_term(d))
		return true;
	if (leader_term_at_least(d, seen) == 0) {
		if (leader_term(d) < seen)
			log_warnx("agent %s has accepted term %llu, above this leader's %llu: it "
				  "ignores what we send", peer->host_id, (unsigned long long)seen,
				  (unsigned long long)leader_term(d));
		return true;
	}
	log_errorx("agent %s has accepted term %llu, above ours (%llu), and the store cannot "
		   "take a newer term: nothing sent to it, its hello is asked for again",
		   peer->host_id, (unsigned long long)seen, (unsigned long long)leader_term(d));
	a = registry_bind(&d->registry, peer);
	if (a)
		a->hello_again_mono = now_mono_ms() + (uint64_t)d->cfg.agent_timeout_ms;
	return false;
}

/* Logged once per host and reason: a far agent retries its Hello on
 * every new session. */
void agents_refuse_protocol(struct cordond *d, const struct peer *peer)
{
	char why[128];
	int changed;

	snprintf(why, sizeof(why), "protocol %u, this controller (protocol %d) talks with %d-%d",
		 peer->version, CORDON_PROTO_VERSION, CORDON_PROTO_MIN, CORDON_PROTO_READ_MAX);
	changed = registry_refuse(&d->registry, peer, why);
	if (changed != 0)
		log_warnx("refused agent %s: %s; it keeps the cuts it holds, and gets no desired "
			  "state until one of the two is upgraded", peer->host_id, why);
	else
		log_debug("refused agent %s again: %s", peer->host_id, why);
	refuse(d, peer, why);
}

static void handle_hello(struct cordond *d, const struct peer *peer,
			 const Cordon__Hello *hello)
{
	struct agent_conn *a;
	size_t adopted;
	bool stored;

	/* Stamped in a version we read, written by one we cannot talk with
	 * (it fell back a version, still too far). */
	if (!codec_version_compatible(peer->version)) {
		agents_refuse_protocol(d, peer);
		return;
	}
	if (strcmp(hello->host_id, peer->host_id) != 0) {
		log_warnx("refused agent claiming host '%s' with the key enrolled for host '%s'",
			  hello->host_id, peer->host_id);
		refuse(d, peer, "host id does not match the key it is enrolled with");
		return;
	}
	if (!leader_acting(d)) {
		not_leader(d, peer);
		return;
	}
	if (!term_caught_up(d, peer, hello->term_seen))
		return;
	/* Taking the newer term may have cost the leadership. */
	if (!leader_acting(d)) {
		not_leader(d, peer);
		return;
	}
	/* A store that cannot be written (a full disk) must not keep a host
	 * from its cuts: one that lost its state in a reboot gets them only
	 * from us. It is served from what the store has, and asked for its
	 * hello again until its inventory is stored (test 530). */
	stored = store_inventory(d, peer->host_id, hello->vms, hello->n_vms, hello->version,
				 !hello->inventory_incomplete) == 0;
	if (!stored)
		log_errorx("cannot store the inventory of %s; serving it the desired state stored "
			  "before, its hello is asked for again", peer->host_id);
	a = registry_bind(&d->registry, peer);
	if (!a)
		return;
	a->hello_again_mono = stored ? 0 : now_mono_ms() + (uint64_t)d->cfg.agent_timeout_ms;
	strlcpy_checked(a->version, hello->version, sizeof(a->version));
	a->vm_count = (uint32_t)hello->n_vms;
	log_info("agent %s connected (version %s, protocol %u, speaking %u; %zu VMs, "
		 "%zu enforced)", peer->host_id, hello->version, peer->version, peer->reply_stamp,
		 hello->n_vms, hello->n_enforced);
	if (enforced_adopt(d->store, peer->host_id, hello->enforced, hello->n_enforced,
			   &adopted) < 0) {
		/* Its full set could lift a cut this store does not know. */
		log_errorx("cannot check what %s enforces against the store: nothing sent to it, "
			   "its hello is asked for again", peer->host_id);
		a->hello_again_mono = now_mono_ms() + (uint64_t)d->cfg.agent_timeout_ms;
		return;
	}
	if (adopted)
		log_errorx("agent %s: %zu VMs keep cuts this store had no record of, as manual "
			   "holds (cordonctl audit: action kept)", peer->host_id, adopted);
	record_acks(d, peer->host_id, hello->enforced, hello->n_enforced);
	send_desired(d, a, DESIRED_ALL);
}

static void handle_heartbeat(struct cordond *d, struct agent_conn *a,
			     const Cordon__Heartbeat *hb)
{
	Cordon__Envelope env = CORDON__ENVELOPE__INIT;
	Cordon__Heartbeat reply = CORDON__HEARTBEAT__INIT;

	reply.seq = hb->seq;
	reply.time_ms = now_wall_ms();
	env.body_case = CORDON__ENVELOPE__BODY_HEARTBEAT;
	env.heartbeat = &reply;
	send_env(d, a, &env);
}

static void handle_inventory(struct cordond *d, struct agent_conn *a,
			     const Cordon__Inventory *inv)
{
	if (!inv->full) {
		log_warnx("agent %s sent a partial inventory; only full inventories are supported",
			  a->peer.host_id);
		return;
	}
	if (store_inventory(d, a->peer.host_id, inv->vms, inv->n_vms, NULL, !inv->incomplete) < 0)
		return;
	a->vm_count = (uint32_t)inv->n_vms;
	log_info("agent %s: inventory now %zu VMs", a->peer.host_id, inv->n_vms);
	send_desired(d, a, DESIRED_ALL);
}

void agents_handle(struct cordond *d, const struct peer *peer,
		   const Cordon__Envelope *env)
{
	struct agent_conn *a;

	if (env->body_case == CORDON__ENVELOPE__BODY_HELLO) {
		handle_hello(d, peer, env->hello);
		return;
	}
	/* A heartbeat or an ack to a former leader: nothing recorded, the
	 * agent is sent on (its hello would be answered the same). */
	if (!leader_acting(d)) {
		not_leader(d, peer);
		return;
	}
	a = registry_by_peer(&d->registry, peer);
	if (!a) {
		/* We restarted, or it timed out: it must introduce itself again. */
		ask_hello(d, peer);
		return;
	}
	registry_touch(a);
	switch (env->body_case) {
	case CORDON__ENVELOPE__BODY_HEARTBEAT:
		handle_heartbeat(d, a, env->heartbeat);
		break;
	case CORDON__ENVELOPE__BODY_ACK:
		record_acks(d, a->peer.host_id, env->ack->vms, env->ack->n_vms);
		a->last_ack_mono = now_mono_ms();
		break;
	case CORDON__ENVELOPE__BODY_INVENTORY:
		handle_inventory(d, a, env->inventory);
		break;
	default:
		log_warnx("agent %s sent an unexpected %s message; dropped", a->peer.host_id,
			  codec_body_name(env));
	}
}

void agents_push_vm(struct cordond *d, const char *uuid)
{
	agents_mark_vm(d, uuid);
	agents_flush(d);
}

void agents_tick(struct cordond *d)
{
	uint64_t now = now_mono_ms();

	registry_expire(&d->registry, (uint64_t)d->cfg.agent_timeout_ms, d->router_read_ms);
	for (size_t i = 0; i < d->registry.n; i++) {
		struct agent_conn *a = &d->registry.agents[i];
		uint64_t quiet = now - (a->last_ack_mono > a->last_resend_mono ?
					a->last_ack_mono : a->last_resend_mono);
		/* Resend what is unacked only once the agent has gone quiet:
		 * while acks flow, it is working through what it has. */
		if (a->connected && quiet >= (uint64_t)d->cfg.resend_ms)
			send_desired(d, a, DESIRED_UNACKED);
		if (a->connected && a->hello_again_mono && now >= a->hello_again_mono) {
			a->hello_again_mono = now + (uint64_t)d->cfg.agent_timeout_ms;
			ask_hello(d, &a->peer); /* its inventory could not be stored */
		}
	}
}

static void mark_host(const char *host, void *arg)
{
	struct cordond *d = arg;

	for (size_t i = 0; i < d->n_push; i++)
		if (strcmp(d->push_hosts[i], host) == 0)
			return;
	if (d->n_push == d->cap_push) {
		size_t cap = d->cap_push ? d->cap_push * 2 : 8;
		char (*v)[65] = realloc(d->push_hosts, cap * sizeof(*v));
		if (!v)
			return; /* the periodic resend delivers it anyway */
		d->push_hosts = v;
		d->cap_push = cap;
	}
	strcpy(d->push_hosts[d->n_push++], host);
}

/* Every host that lists the VM is told (a live migration: both). */
void agents_mark_vm(struct cordond *d, const char *uuid)
{
	if (vm_hosts_foreach(d->store, uuid, mark_host, d) < 0)
		log_warnx("cannot read the hosts of VM %s; the periodic resend delivers it", uuid);
}

void agents_flush(struct cordond *d)
{
	for (size_t i = 0; i < d->n_push; i++) {
		struct agent_conn *a = registry_by_host(&d->registry, d->push_hosts[i]);
		if (a && a->connected)
			send_desired(d, a, DESIRED_NEWER);
	}
	d->n_push = 0;
}

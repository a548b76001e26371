/* cordon-agent: enforces the controller's desired state on this host. */
#include <errno.h>
#include <getopt.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>
#include <zmq.h>

#include "agent.h"
#include "follow.h"
#include "jsonsock.h"
#include "jsonsock_server.h"
#include "keys.h"
#include "log.h"
#include "metrics_http.h"
#include "util.h"

#define REFUSED_RETRY_MS 10000
/* How long the first Hello waits for the first inventory from libvirt. */
#define LIBVIRT_HELLO_WAIT_MS 10000
#define POLL_MS 100
#define START_WAIT_MS 5000   /* first libvirt read at start */
#define CHECK_WAIT_MS 15000  /* --check-config: is libvirt readable? */

static void usage(FILE *f)
{
	fprintf(f,
		"usage: cordon-agent [-c FILE] [--log-level LEVEL] [--check-config]\n"
		"       cordon-agent status [-c FILE | --socket PATH] [--json]\n"
		"       cordon-agent keygen --out FILE [--host ID]\n"
		"\n"
		"The cordon agent: cuts and restores VMs' network on this hypervisor as the\n"
		"controller (cordond) says, with nftables. What it enforces is kept in its\n"
		"state file and in the kernel: stopping or crashing the agent lifts nothing.\n"
		"Its VMs come from a static file or from libvirt ([agent] inventory).\n"
		"\n"
		"  -c, --config FILE   configuration (default " AGENT_DEFAULT_CONFIG ")\n"
		"  --log-level LEVEL   error, warning, info (default) or debug\n"
		"  --check-config      read configuration, keys and inventory, report, exit\n"
		"  -V, --version       print the version and exit\n"
		"  -h, --help          this text\n");
}

static int send_hello(struct agent *a)
{
	Cordon__Envelope env = CORDON__ENVELOPE__INIT;
	Cordon__Hello hello = CORDON__HELLO__INIT;
	struct inventory_wire w;
	size_t n_states;
	Cordon__VmState **states;
	int rc = -1;

	if (inventory_to_wire(&a->inv, &w) < 0)
		return -1;
	states = enforcer_states(&a->enf, &n_states);
	if (states) {
		hello.host_id = a->cfg.host_id;
		hello.version = (char *)CORDON_VERSION;
		hello.vms = w.vms;
		hello.n_vms = w.n;
		hello.enforced = states;
		hello.n_enforced = n_states;
		hello.inventory_incomplete = !a->inv.complete;
		hello.term_seen = a->term.seen;
		env.body_case = CORDON__ENVELOPE__BODY_HELLO;
		env.hello = &hello;
		rc = link_send(a->link, &env);
	}
	enforcer_states_free(states, n_states);
	inventory_wire_free(&w);
	if (rc == 0) {
		a->link->hello_needed = false;
		a->link->state = LINK_HELLO_SENT;
		a->link->last_rx_mono = now_mono_ms();
		a->inventory_dirty = false;
		log_debug("hello sent (%zu VMs%s, %zu enforced)", a->inv.n,
			  a->inv.complete ? "" : ", inventory incomplete", n_states);
	}
	return rc;
}

static void send_inventory(struct agent *a)
{
	Cordon__Envelope env = CORDON__ENVELOPE__INIT;
	Cordon__Inventory inv = CORDON__INVENTORY__INIT;
	struct inventory_wire w;

	if (a->link->state != LINK_UP || inventory_to_wire(&a->inv, &w) < 0)
		return; /* the next Hello carries it */
	inv.full = true;
	inv.incomplete = !a->inv.complete;
	inv.vms = w.vms;
	inv.n_vms = w.n;
	env.body_case = CORDON__ENVELOPE__BODY_INVENTORY;
	env.inventory = &inv;
	if (link_send(a->link, &env) == 0)
		a->inventory_dirty = false;
	inventory_wire_free(&w);
}

/* Remembers which VMs to ack once what was staged is committed. */
static void ack_later(struct agent *a, const Cordon__DesiredSet *set)
{
	for (size_t i = 0; i < set->n_vms; i++) {
		if (a->n_ack == a->cap_ack) {
			size_t cap = a->cap_ack ? a->cap_ack * 2 : 64;
			char **v = realloc(a->ack_uuids, cap * sizeof(*v));
			if (!v)
				return; /* not acked now: the controller resends */
			a->ack_uuids = v;
			a->cap_ack = cap;
		}
		a->ack_uuids[a->n_ack] = strdup(set->vms[i]->uuid);
		if (a->ack_uuids[a->n_ack])
			a->n_ack++;
	}
}

static void handle_desired(struct agent *a, const Cordon__DesiredSet *set)
{
	enum term_verdict verdict;

	/* Before anything of it is staged: a newer term is saved first, an
	 * older one is a former leader's (nothing applied, nothing acked). */
	if (!term_accept(&a->term, set->term, &verdict)) {
		/* One endpoint: nowhere else to go, and every new session
		 * would only cost the controller another hello. */
		if (verdict == TERM_STALE && set->full && a->link->n_endpoints > 1)
			follow_move_on(a->link, -1, "it sent a full set of an older term");
		return;
	}
	agent_metrics_received(&a->metrics);
	if (enforcer_stage(&a->enf, set->vms, set->n_vms, set->full) < 0)
		log_warnx("could not take the whole desired state; will retry");
	ack_later(a, set);
	if (set->full) {
		if (a->link->state != LINK_UP)
			log_info("in sync with the controller %s, term %llu (%zu desired VMs)",
				 link_endpoint(a->link), (unsigned long long)a->term.seen, set->n_vms);
		a->link->state = LINK_UP;
		follow_in_sync(a->link);
		a->link->last_heartbeat_wall = (int64_t)(now_wall_ms() / 1000);
		if (a->inventory_dirty)
			send_inventory(a);
	}
}

/* After draining the link: one state write, one kernel batch, one ack. */
static void commit_and_ack(struct agent *a)
{
	Cordon__Envelope env = CORDON__ENVELOPE__INIT;
	Cordon__Ack ack;
	uint64_t t0 = now_mono_ms();

	if (a->n_ack == 0 && !a->enf.staged)
		return;
	/* A failure keeps the first receipt: the latency then includes the
	 * retries until the controller's resend is applied. */
	if (enforcer_commit(&a->enf) < 0)
		log_errorx("could not apply the desired state; will retry");
	else
		agent_metrics_applied(&a->metrics);
	if (a->mech)
		mech_kick(a->mech); /* libvirt follows nft, never before */
	if (enforcer_ack_for(&a->enf, a->ack_uuids, a->n_ack, &ack) == 0 && ack.n_vms) {
		env.body_case = CORDON__ENVELOPE__BODY_ACK;
		env.ack = &ack;
		if (link_send(a->link, &env) < 0)
			log_warnx("could not send the ack; the controller will resend");
	}
	log_debug("applied and acked %zu of %zu VM state(s) in %llu ms", ack.n_vms, a->n_ack,
		  (unsigned long long)(now_mono_ms() - t0));
	a->pending_acks = (unsigned)(a->n_ack - ack.n_vms);
	enforcer_ack_free(&ack);
	for (size_t i = 0; i < a->n_ack; i++)
		free(a->ack_uuids[i]);
	a->n_ack = 0;
}

static void handle_message(struct agent *a, const Cordon__Envelope *env)
{
	switch (env->body_case) {
	case CORDON__ENVELOPE__BODY_DESIRED:
		handle_desired(a, env->desired);
		break;
	case CORDON__ENVELOPE__BODY_HEARTBEAT:
		a->link->last_heartbeat_wall = (int64_t)(now_wall_ms() / 1000);
		break;
	case CORDON__ENVELOPE__BODY_HELLO_REQUIRED:
		if (link_holds_off(a->link))
			break; /* our heartbeat crossed the refusal; retried later */
		log_info("controller asks for a new hello (it restarted?)");
		a->link->hello_needed = true;
		break;
	case CORDON__ENVELOPE__BODY_NOT_LEADER:
		follow_not_leader(a->link, env->not_leader);
		break;
	case CORDON__ENVELOPE__BODY_REFUSED:
		a->link->state = LINK_REFUSED;
		snprintf(a->link->detail, sizeof(a->link->detail), "refused by the controller: %s",
			 env->refused->reason);
		log_warnx("%s", a->link->detail);
		break;
	default:
		log_warnx("unexpected %s message from the controller; dropped",
			  codec_body_name(env));
	}
}

struct timers {
	uint64_t next_heartbeat, next_verify, refused_since;
};

static void send_heartbeat(struct agent *a)
{
	Cordon__Envelope env = CORDON__ENVELOPE__INIT;
	Cordon__Heartbeat hb = CORDON__HEARTBEAT__INIT;

	hb.seq = ++a->link->heartbeat_seq;
	hb.time_ms = now_wall_ms();
	env.body_case = CORDON__ENVELOPE__BODY_HEARTBEAT;
	env.heartbeat = &hb;
	link_send(a->link, &env);
}

/* An empty first Hello would tell the controller this host has no VMs: with
 * libvirt, wait for the first read (bounded, so a dead libvirtd does not
 * keep the host away from the controller). */
static bool hello_ready(struct agent *a, uint64_t now)
{
	if (a->inv_ready)
		return true;
	if (now - a->started_mono < LIBVIRT_HELLO_WAIT_MS)
		return false;
	if (!a->hello_without_inv)
		log_warnx("no inventory from libvirt after %d ms; greeting the controller without",
			  LIBVIRT_HELLO_WAIT_MS);
	a->hello_without_inv = true;
	return true;
}

static void link_timers(struct agent *a, struct timers *t, uint64_t now)
{
	struct agent_link *l = a->link;
	uint64_t hb = (uint64_t)a->cfg.heartbeat_ms;

	if (l->state == LINK_REFUSED || l->state == LINK_AUTH_FAILED ||
	    (l->state == LINK_PROTOCOL && l->n_endpoints > 1)) {
		if (!t->refused_since)
			t->refused_since = now;
		if (now - t->refused_since >= REFUSED_RETRY_MS) {
			/* Another instance may take us (its keys, its version). */
			if (l->n_endpoints > 1)
				follow_move_on(l, -1, link_state_name(l->state));
			/* libzmq gives up a session whose key was refused: the
			 * key may be enrolled since (cordond reloaded). */
			else if (l->state == LINK_AUTH_FAILED)
				link_reconnect(l);
			l->hello_needed = l->n_endpoints == 1;
			t->refused_since = 0;
		}
	} else {
		t->refused_since = 0;
	}
	if (l->hello_needed && !link_holds_off(l) && hello_ready(a, now))
		send_hello(a);
	follow_tick(l, now);
	if (now < t->next_heartbeat)
		return;
	t->next_heartbeat = now + hb;
	/* How many ignored sets the limit kept out of the log. */
	log_limit_flush(&a->term.stale_log);
	if (l->state == LINK_UP || l->state == LINK_HELLO_SENT) {
		send_heartbeat(a);
		/* Only noted for status: a dead peer is found by ZMTP
		 * heartbeats (reconnect, then Hello); a slow controller
		 * (storing a big host's inventory) must not get more Hellos. */
		/* last_rx_mono can be later than now: a Hello sent above sets it. */
		if (now > l->last_rx_mono && now - l->last_rx_mono > 3 * hb && !l->silent) {
			log_warnx("no answer from the controller for %llu ms",
				  (unsigned long long)(now - l->last_rx_mono));
			l->silent = true;
			if (l->state == LINK_HELLO_SENT)
				link_hello_unanswered(l);
		}
	}
}

/* Reported on every change: their scope is only the configured default. */
static void log_unmapped(const struct inventory *inv, const struct agent_config *cfg)
{
	for (size_t i = 0; i < inv->n; i++)
		for (size_t j = 0; j < inv->vms[i].n_ifaces; j++) {
			const struct inv_iface *f = &inv->vms[i].ifaces[j];
			if (f->unmapped)
				log_info("VM %s interface %s: '%s' is not in [scopes]; scope %s",
					 inv->vms[i].name, f->mac_text, f->bridge, cfg->unmapped_scope);
		}
}

/* A fresh inventory (static file re-read, or a libvirt read). The enforcer
 * (MACs of the VMs it cuts) and the controller hear of it only when
 * something changed. */
static void apply_inventory(struct agent *a, struct inventory *fresh, const char *why)
{
	bool first = !a->enf.inv_ready;

	a->inv_ready = true;
	a->enf.inv_ready = true;
	if (a->mech)
		mech_kick(a->mech);
	if (inventory_equal(&a->inv, fresh) && !first) {
		/* Still a newer read: "running" in it is current. */
		a->inv.read_ms = fresh->read_ms;
		log_debug("%s: inventory unchanged (%zu VM(s))", why, a->inv.n);
		inventory_clear(fresh);
		return;
	}
	inventory_clear(&a->inv);
	a->inv = *fresh;
	*fresh = (struct inventory){ 0 };
	log_info("inventory reloaded (%s): %zu VM(s)", why, a->inv.n);
	log_unmapped(&a->inv, &a->cfg);
	if (enforcer_inventory_changed(&a->enf) < 0)
		log_warnx("could not apply the new inventory's MACs; will retry");
	a->inventory_dirty = true;
	send_inventory(a);
}

/* On failure the old inventory stays, so no cut is lost. */
static void reload_static_inventory(struct agent *a)
{
	struct inventory fresh = { 0 };
	char err[512];

	if (inventory_load_static(a->cfg.inventory_file, &a->cfg, &fresh, err, sizeof(err)) < 0) {
		log_errorx("SIGHUP: %s; keeping the old inventory", err);
		return;
	}
	apply_inventory(a, &fresh, "SIGHUP");
}

/* 1 = keep running, 0 = stop. */
static int handle_signals(struct agent *a, int sfd)
{
	struct signalfd_siginfo si;

	while (read(sfd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo == SIGHUP && a->virt) {
			log_info("SIGHUP: re-reading the inventory from libvirt");
			virt_request_reload(a->virt);
			continue;
		}
		if (si.ssi_signo == SIGHUP) {
			reload_static_inventory(a);
			continue;
		}
		log_info("signal %u: stopping; enforcement stays in the kernel", si.ssi_signo);
		return 0;
	}
	return 1;
}

static void drain_link(struct agent *a)
{
	Cordon__Envelope *env;
	int rc;

	while ((rc = link_recv(a->link, &env)) != -1) {
		if (rc == 0) {
			int events = 0;
			size_t len = sizeof(events);
			zmq_getsockopt(a->link->dealer, ZMQ_EVENTS, &events, &len);
			if (!(events & ZMQ_POLLIN))
				break;
			continue;
		}
		handle_message(a, env);
		codec_free(env);
	}
	commit_and_ack(a);
}

static void on_link(void *arg, const char *name, int ifindex, bool present)
{
	struct agent *a = arg;

	(void)ifindex;
	enforcer_link_event(&a->enf, name, present);
}

static bool link_exists(void *arg, const char *port)
{
	return link_watch_ifindex(arg, port) > 0;
}

static void handle_nft_events(struct agent *a)
{
	if (nft_monitor_read(a->enf.nft) == 1)
		enforcer_reassert(&a->enf, "seen on the nftables monitor");
}

/* A read published by virt.c's reader thread. */
static void virt_events(struct agent *a)
{
	struct inventory fresh = { 0 };

	if (virt_take_inventory(a->virt, &a->enf.state, &fresh) == 1)
		apply_inventory(a, &fresh, "libvirt");
}

/* libvirt mechanisms converge after the ack: finished work is applied to
 * the state, and VMs whose mechanisms changed are acked again (same
 * generation, new mechanisms) so the controller shows what holds. */
static void mech_events(struct agent *a)
{
	Cordon__Envelope env = CORDON__ENVELOPE__INIT;
	Cordon__Ack ack;
	char **changed = NULL;
	size_t n = 0;

	mech_tick(a->mech, &a->enf, &a->inv, a->virt, &changed, &n);
	if (n && a->link->state == LINK_UP &&
	    enforcer_ack_for(&a->enf, changed, n, &ack) == 0) {
		if (ack.n_vms) {
			env.body_case = CORDON__ENVELOPE__BODY_ACK;
			env.ack = &ack;
			if (link_send(a->link, &env) < 0)
				log_warnx("could not report the mechanisms that hold now");
		}
		enforcer_ack_free(&ack);
	}
	for (size_t i = 0; i < n; i++)
		free(changed[i]);
	free(changed);
}

static int run_loop(struct agent *a, int sfd)
{
	/* The fixed sockets, then (after n_fixed) the status socket's, which
	 * come and go with its clients. */
	zmq_pollitem_t items[8 + JSONSOCK_POLL_MAX] = {
		{ a->link->dealer, 0, ZMQ_POLLIN, 0 },
		{ a->link->monitor, 0, ZMQ_POLLIN, 0 },
		{ NULL, nft_monitor_fd(a->enf.nft), ZMQ_POLLIN, 0 },
		{ NULL, sfd, ZMQ_POLLIN, 0 },
		{ NULL, link_watch_fd(a->links), ZMQ_POLLIN, 0 },
		{ NULL, a->virt ? virt_event_fd(a->virt) : -1, ZMQ_POLLIN, 0 },
		{ NULL, a->mech ? mech_event_fd(a->mech) : -1, ZMQ_POLLIN, 0 },
	};
	size_t n_fixed = a->mech ? 7 : a->virt ? 6 : 5;
	struct timers t = { 0 };

	/* metrics (off: not polled) after the fixed ones, before status's;
	 * metrics_http_run below serves it whether or not it polled readable. */

	if (a->metrics.http)
		items[n_fixed++] = (zmq_pollitem_t){ NULL, metrics_http_fd(a->metrics.http),
						     ZMQ_POLLIN, 0 };

	t.next_verify = now_mono_ms() + (uint64_t)a->cfg.verify_ms;
	for (;;) {
		size_t n_status = jsonsock_server_poll_fill(a->status, items + n_fixed);

		/* A move to another controller is a new socket (follow.c). */
		items[0].socket = a->link->dealer;
		items[1].socket = a->link->monitor;

		long wait = metrics_http_timeout(a->metrics.http, POLL_MS);

		if (zmq_poll(items, (int)(n_fixed + n_status), wait) < 0 && errno != EINTR) {
			log_warn("zmq_poll");
			return -1;
		}
		if ((items[4].revents & ZMQ_POLLIN) &&
		    link_watch_read(a->links, on_link, a) < 0)
			log_warnx("link events: read failed; periodic verify still runs");
		if (items[2].revents & ZMQ_POLLIN)
			handle_nft_events(a);
		if (items[1].revents & ZMQ_POLLIN)
			link_handle_monitor(a->link);
		if (items[0].revents & ZMQ_POLLIN)
			drain_link(a);
		jsonsock_server_poll_handle(a->status, items + n_fixed, n_status);
		/* Also without input: MHD times idle connections out here. */
		metrics_http_run(a->metrics.http);
		if ((items[3].revents & ZMQ_POLLIN) && !handle_signals(a, sfd))
			return 0;
		uint64_t now = now_mono_ms();
		if (a->virt && (items[5].revents & ZMQ_POLLIN))
			virt_events(a);
		if (a->mech)
			mech_events(a);
		link_timers(a, &t, now);
		if (now >= t.next_verify) {
			enforcer_verify(&a->enf);
			/* The verify's dump, the batches and the inventory's JSON
			 * are transient: give their pages back while idle. */
			malloc_trim(0);
			t.next_verify = now + (uint64_t)a->cfg.verify_ms;
		}
		enforcer_tick(&a->enf);
		/* A change made while our own batch was out has no event to
		 * wake us: repair it now, not at the next periodic check. */
		if (nft_gap_seen(a->enf.nft))
			handle_nft_events(a);
		sd_notify(0, "WATCHDOG=1");
	}
}

struct options {
	const char *config;
	const char *log_level;
	bool check_only;
};

static int parse_options(int argc, char **argv, struct options *o)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "log-level", required_argument, NULL, 'l' },
		{ "check-config", no_argument, NULL, 'C' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	memset(o, 0, sizeof(*o));
	o->config = AGENT_DEFAULT_CONFIG;
	while ((c = getopt_long(argc, argv, "c:hV", opts, NULL)) != -1) {
		switch (c) {
		case 'c': o->config = optarg; break;
		case 'l': o->log_level = optarg; break;
		case 'C': o->check_only = true; break;
		case 'h': usage(stdout); exit(0);
		case 'V': printf("%s %s\n", "cordon-agent", CORDON_VERSION); exit(0);
		default: usage(stderr); return -1;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "cordon-agent: unexpected argument '%s'\n", argv[optind]);
		return -1;
	}
	return 0;
}

/* The first inventory. libvirt not answering is not fatal (the state file
 * holds the cut MACs; the connection is retried), except for --check-config,
 * whose job is to say whether the inventory can be read. */
static int start_inventory(struct agent *a, bool check_only, char *err, size_t errlen)
{
	if (a->cfg.inventory == INVENTORY_STATIC) {
		a->inv_ready = true;
		return inventory_load_static(a->cfg.inventory_file, &a->cfg, &a->inv, err, errlen);
	}
	a->virt = virt_new(a->cfg.libvirt_uri, &a->cfg, err, errlen);
	if (!a->virt)
		return -1;
	/* Bounded: a hung libvirtd must not keep the cuts of the state file
	 * from being asserted. The state is not loaded yet: NICs cordon
	 * detached come with the next read (requested once it is). */
	if (!virt_wait_first(a->virt, check_only ? CHECK_WAIT_MS : START_WAIT_MS, err, errlen)) {
		if (check_only)
			return -1;
		log_warnx("%s; will retry", err);
		return 0;
	}
	virt_take_inventory(a->virt, NULL, &a->inv);
	a->inv_ready = true;
	log_info("inventory from libvirt %s: %zu VM(s)", a->cfg.libvirt_uri, a->inv.n);
	log_unmapped(&a->inv, &a->cfg);
	return 0;
}

/* Order matters: the kernel is asserted from the state file before the
 * agent talks to anyone, so cuts hold even with no controller. */
/* The status socket: root's only (0600), or its group's too (0660) when
 * status_group is set; a missing group is logged, never fatal. */
static int status_listen(struct agent *a, char *err, size_t errlen)
{
	const char *group = a->cfg.status_group;
	char why[512] = "";

	int fd = jsonsock_listen(a->cfg.status_socket, group[0] ? 0660 : 0600, group,
				 why, sizeof(why));

	if (fd < 0) {
		snprintf(err, errlen, "%s", why);
		return -1;
	}
	a->status = jsonsock_server_new("status socket", status_serve, a);
	if (!a->status || jsonsock_server_add(a->status, fd, a->cfg.status_socket, 0, 0) < 0) {
		close(fd);
		snprintf(err, errlen, "status socket: out of memory");
		return -1;
	}
	if (why[0])
		log_warnx("status socket %s: %s; only root can use it", a->cfg.status_socket, why);
	return 0;
}

static int start(struct agent *a, const struct options *o, char *err, size_t errlen)
{
	if (start_inventory(a, o->check_only, err, errlen) < 0)
		return -1;
	if (o->check_only) {
		struct keypair kp;
		if (keys_load(a->cfg.key, &kp, err, errlen) < 0)
			return -1;
		for (size_t i = 0; i < a->cfg.n_controllers; i++)
			if (keys_load(agent_config_controller_key(&a->cfg, i), &kp, err, errlen) < 0)
				return -1;
		return term_open(&a->term, a->cfg.state_dir, err, errlen);
	}
	a->links = link_watch_new();
	if (!a->links) {
		snprintf(err, errlen, "cannot read the host's network links (netlink)");
		return -1;
	}
	if (enforcer_start(&a->enf, a->cfg.nft_table, a->cfg.state_dir, &a->inv, a->inv_ready,
			   link_exists, a->links, err, errlen) < 0)
		return -1;
	a->enf.max_unlisted = (size_t)a->cfg.max_unlisted_vms;
	/* Before the first Hello, which says the newest term accepted. */
	if (term_open(&a->term, a->cfg.state_dir, err, errlen) < 0)
		return -1;
	if (a->virt) {
		/* After the state is loaded: its saved XML and power records are
		 * what an agent restarted mid-way finishes or undoes. */
		a->mech = mech_new(&a->cfg, err, errlen);
		if (!a->mech)
			return -1;
		a->enf.libvirt_mech = true;
		virt_request_reload(a->virt);
		log_info("mechanisms %s (detach timeout %ld ms, shutdown timeout %ld ms)",
			 a->cfg.mechanisms, a->cfg.detach_timeout_ms, a->cfg.shutdown_timeout_ms);
	}
	if (status_listen(a, err, errlen) < 0)
		return -1;
	a->metrics.http = metrics_http_serve(&a->cfg.metrics, agent_metrics_render, a);
	sd_notify(0, "READY=1");
	a->link = link_new(&a->cfg, err, errlen);
	return a->link ? 0 : -1;
}

static int run_agent(int argc, char **argv)
{
	struct options o;
	struct agent a = { 0 };
	enum log_level lvl;
	char err[1024] = "";
	int sfd, rc = 1;

	if (parse_options(argc, argv, &o) < 0)
		return 2;
	agent_config_defaults(&a.cfg);
	if (agent_config_load(o.config, &a.cfg, err, sizeof(err)) < 0) {
		fprintf(stderr, "cordon-agent: %s\n", err);
		return 1;
	}
	if (log_level_parse(o.log_level ? o.log_level : a.cfg.log_level, &lvl) < 0) {
		fprintf(stderr, "cordon-agent: unknown log level (error, warning, info, debug)\n");
		return 2;
	}
	log_init("cordon-agent", lvl);
	a.started = (int64_t)(now_wall_ms() / 1000);
	a.started_mono = now_mono_ms();
	agent_metrics_init(&a.metrics);
	sfd = signals_to_fd();
	if (sfd < 0)
		fatal("signalfd");
	if (start(&a, &o, err, sizeof(err)) < 0) {
		log_errorx("%s", err);
	} else if (o.check_only) {
		printf("cordon-agent: configuration %s is valid (%zu VMs in inventory)\n", o.config,
		       a.inv.n);
		rc = 0;
	} else {
		log_info("cordon-agent %s host %s: controller %s%s (%zu endpoint(s)), term %llu",
			 CORDON_VERSION, a.cfg.host_id, a.cfg.controllers[0],
			 a.cfg.n_controllers > 1 ? " first" : "", a.cfg.n_controllers,
			 (unsigned long long)a.term.seen);
		rc = run_loop(&a, sfd) < 0 ? 1 : 0;
		sd_notify(0, "STOPPING=1");
	}
	metrics_http_free(a.metrics.http);
	jsonsock_server_free(a.status); /* unlinks the socket */
	link_free(a.link);
	mech_free(a.mech);
	virt_free(a.virt);
	for (size_t i = 0; i < a.n_ack; i++)
		free(a.ack_uuids[i]);
	free(a.ack_uuids);
	enforcer_stop(&a.enf);
	link_watch_free(a.links);
	inventory_clear(&a.inv);
	close(sfd);
	return rc;
}

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "status") == 0)
		return status_main(argc - 1, argv + 1);
	if (argc > 1 && strcmp(argv[1], "keygen") == 0)
		return keys_keygen_main("cordon-agent", argc - 1, argv + 1);
	return run_agent(argc, argv);
}

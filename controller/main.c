/* cordond: the cordon controller. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>
#include <zmq.h>

#include "calendar.h"
#include "case_counts.h"
#include "cases.h"
#include "jsonsock_server.h"
#include "cordond.h"
#include "policy.h"
#include "scheduler.h"
#include "jsonsock.h"
#include "keys.h"
#include "ladder.h"
#include "log.h"
#include "metrics_http.h"
#include "migrate_store.h"
#include "notify.h"
#include "outbox.h"
#include "util.h"

#define TICK_MS 100

static void usage(FILE *f)
{
	fprintf(f,
		"usage: cordond [-c FILE] [--log-level LEVEL] [--check-config] [--test-clock]\n"
		"       cordond --migrate-store FROM TO [--log-level LEVEL]\n"
		"\n"
		"The cordon controller: keeps VMs' desired network state, sends it to the\n"
		"cordon-agent on each hypervisor over ZeroMQ (CURVE), and serves cordonctl\n"
		"on a unix control socket.\n"
		"\n"
		"  -c, --config FILE   configuration (default " CORDOND_DEFAULT_CONFIG ")\n"
		"  --log-level LEVEL   error, warning, info (default) or debug\n"
		"  --check-config      read the configuration and keys, report, exit\n"
		"  --test-clock        allow cordonctl to move the controller's clock (tests only)\n"
		"  --migrate-store FROM TO\n"
		"                      copy the store FROM into the empty store TO (sqlite:PATH or\n"
		"                      postgresql:CONNINFO, as database =), verify, exit\n"
		"  -V, --version       print the version and exit\n"
		"  -h, --help          this text\n");
}

struct options {
	const char *config;
	const char *log_level;
	bool check_only;
	bool test_clock;
	bool migrate; /* --migrate-store: from, to */
	const char *from, *to;
};

static int parse_options(int argc, char **argv, struct options *o)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "log-level", required_argument, NULL, 'l' },
		{ "check-config", no_argument, NULL, 'C' },
		{ "test-clock", no_argument, NULL, 'T' },
		{ "migrate-store", no_argument, NULL, 'M' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	memset(o, 0, sizeof(*o));
	o->config = CORDOND_DEFAULT_CONFIG;
	while ((c = getopt_long(argc, argv, "c:hV", opts, NULL)) != -1) {
		switch (c) {
		case 'c': o->config = optarg; break;
		case 'l': o->log_level = optarg; break;
		case 'C': o->check_only = true; break;
		case 'T': o->test_clock = true; break;
		case 'M': o->migrate = true; break;
		case 'h': usage(stdout); exit(0);
		case 'V': printf("%s %s\n", "cordond", CORDON_VERSION); exit(0);
		default: usage(stderr); return -1;
		}
	}
	if (o->migrate && argc - optind == 2) {
		o->from = argv[optind];
		o->to = argv[optind + 1];
		return 0;
	}
	if (o->migrate) {
		fprintf(stderr, "cordond: --migrate-store takes two stores, FROM and TO\n");
		return -1;
	}
	if (optind != argc) {
		fprintf(stderr, "cordond: unexpected argument '%s'\n", argv[optind]);
		return -1;
	}
	return 0;
}

static int setup_logging(const struct options *o, struct ctl_config *cfg)
{
	enum log_level lvl;
	const char *name = o->log_level ? o->log_level : cfg->log_level;

	if (log_level_parse(name, &lvl) < 0) {
		fprintf(stderr, "cordond: unknown log level '%s' (error, warning, info, debug)\n", name);
		return -1;
	}
	log_init("cordond", lvl);
	return 0;
}

/* Every notify step must name a template that renders: found at load, not
 * when a customer should be warned. */
static int check_templates(struct cordond *d, const struct policy_set *set, char *err,
			   size_t errlen)
{
	char why[512];

	for (size_t i = 0; i < policy_set_count(set); i++) {
		const struct policy *p = policy_set_at(set, i);
		for (size_t j = 0; j < policy_n_steps(p); j++) {
			const struct policy_step *s = policy_step(p, j);
			if (s->action != POLICY_NOTIFY ||
			    notify_check_template(d->cfg.templates, s->tmpl, why, sizeof(why)) == 0)
				continue;
			snprintf(err, errlen, "%s:%u: %s", policy_path(p), s->line, why);
			return -1;
		}
	}
	return 0;
}

/* The policies directory: NULL in *set when it does not exist (no case
 * category can be opened), -1 when it has errors. */
static int load_policies(struct cordond *d, struct policy_set **set, char *err, size_t errlen)
{
	*set = NULL;
	if (access(d->cfg.policies, F_OK) != 0) {
		log_warnx("policies directory %s does not exist: no case category can be opened",
			  d->cfg.policies);
		return 0;
	}
	*set = policy_set_load_dir(d->cfg.policies, err, errlen);
	if (!*set || check_templates(d, *set, err, errlen) < 0) {
		policy_set_free(*set);
		*set = NULL;
		return -1;
	}
	return 0;
}

/* Policies and calendar; a missing directory or file means none / the
 * defaults, a malformed one is an error (reported, nothing replaced). The
 * policies' ladders are recorded in the store first (not with
 * --check-config, not by a follower): open cases keep the ladders they
 * follow (ladder.c). */
static int load_ladders(struct cordond *d, char *err, size_t errlen)
{
	struct policy_set *set;
	struct calendar *cal;

	if (load_policies(d, &set, err, errlen) < 0)
		return -1;
	if (d->cfg.calendar[0] && access(d->cfg.calendar, F_OK) == 0)
		cal = calendar_load(d->cfg.calendar, err, errlen);
	else
		cal = calendar_new();
	/* A follower records nothing: it records them when it takes over. */
	if (!cal || (d->store && leader_acting(d) && ladders_load(d, set, err, errlen) < 0)) {
		calendar_free(cal);
		policy_set_free(set);
		return -1;
	}
	policy_set_free(d->policies);
	calendar_free(d->calendar);
	d->policies = set;
	d->calendar = cal;
	log_info("%zu policies from %s; calendar %s", set ? policy_set_count(set) : 0,
		 d->cfg.policies, calendar_zone(cal));
	return 0;
}

static void reload(struct cordond *d)
{
	char err[512] = "";

	if (ctl_transport_load_keys(d->transport, d->cfg.authorized_agents, err, sizeof(err)) < 0)
		log_errorx("SIGHUP: %s; keeping the old keys", err);
	if (load_ladders(d, err, sizeof(err)) < 0)
		log_errorx("SIGHUP: %s; keeping the policies loaded before", err);
}

/* 1 = keep running, 0 = stop. */
static int handle_signal(struct cordond *d, int sfd)
{
	struct signalfd_siginfo si;

	while (read(sfd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo == SIGHUP) {
			reload(d);
			continue;
		}
		log_info("signal %u: stopping", si.ssi_signo);
		return 0;
	}
	return 1;
}

static void drain_router(struct cordond *d)
{
	struct peer peer;
	Cordon__Envelope *env;
	uint64_t started = now_mono_ms();
	int rc;

	while ((rc = ctl_transport_recv(d->transport, &peer, &env)) >= 0) {
		if (rc == 0) {
			int events = 0;
			size_t len = sizeof(events);
			zmq_getsockopt(ctl_transport_router(d->transport), ZMQ_EVENTS, &events, &len);
			if (!(events & ZMQ_POLLIN)) {
				d->router_read_ms = started;
				return;
			}
			continue;
		}
		if (rc == CTL_RECV_FAR) {
			agents_refuse_protocol(d, &peer);
			continue;
		}
		agents_handle(d, &peer, env);
		codec_free(env);
	}
}

enum { POLL_ROUTER, POLL_ZAP, POLL_MONITOR, POLL_SIGNAL, POLL_METRICS, POLL_CONTROL };

static int run_loop(struct cordond *d, int sfd)
{
	zmq_pollitem_t items[POLL_CONTROL + JSONSOCK_POLL_MAX] = {
		[POLL_ROUTER] = { ctl_transport_router(d->transport), 0, ZMQ_POLLIN, 0 },
		[POLL_ZAP] = { ctl_transport_zap(d->transport), 0, ZMQ_POLLIN, 0 },
		[POLL_MONITOR] = { ctl_transport_monitor(d->transport), 0, ZMQ_POLLIN, 0 },
		[POLL_SIGNAL] = { NULL, sfd, ZMQ_POLLIN, 0 },
		/* -1 (metrics off) is ignored by poll(2). */
		[POLL_METRICS] = { NULL, metrics_http_fd(d->metrics.http), ZMQ_POLLIN, 0 },
	};
	uint64_t next_tick = now_mono_ms() + TICK_MS;
	bool more_due = false;

	for (;;) {
		/* The control clients change every turn: polled as they are now. */
		size_t n_ctl = jsonsock_server_poll_fill(d->control, items + POLL_CONTROL);
		int64_t wait = more_due ? 0 : (int64_t)(next_tick - now_mono_ms());
		wait = metrics_http_timeout(d->metrics.http, wait < 0 ? 0 : (long)wait);
		if (zmq_poll(items, (int)(POLL_CONTROL + n_ctl), wait) < 0 &&
		    errno != EINTR) {
			log_warn("zmq_poll");
			return -1;
		}
		if (items[POLL_ZAP].revents & ZMQ_POLLIN)
			ctl_transport_handle_zap(d->transport);
		if (items[POLL_MONITOR].revents & ZMQ_POLLIN)
			ctl_transport_handle_monitor(d->transport);
		if (items[POLL_ROUTER].revents & ZMQ_POLLIN)
			drain_router(d);
		else
			d->router_read_ms = now_mono_ms(); /* nothing waits there */
		jsonsock_server_poll_handle(d->control, items + POLL_CONTROL, n_ctl);
		/* Also without input: MHD times idle connections out here. */
		metrics_http_run(d->metrics.http);
		if ((items[POLL_SIGNAL].revents & ZMQ_POLLIN) && !handle_signal(d, sfd))
			return 0;
		leader_tick(d);
		/* One batch per turn, so agents and operators are served
		 * between batches when many steps fall due at once. Only the
		 * leader decides: a follower serves reads. */
		more_due = leader_acting(d) && scheduler_run(d, SCHEDULER_BATCH) == SCHEDULER_BATCH;
		/* Pruning too: one batch (one transaction) per turn. */
		if (leader_acting(d) && prune_tick(d))
			more_due = true;
		if (now_mono_ms() >= next_tick) {
			agents_tick(d);
			outbox_tick(d);
			ctl_transport_log_flush(d->transport);
			next_tick = now_mono_ms() + TICK_MS;
			sd_notify(0, "WATCHDOG=1");
		}
	}
}

/* --check-config: everything a start would read, nothing it would create
 * or bind (a running cordond holds the port). */
static int check_config(struct cordond *d, char *err, size_t errlen)
{
	struct keypair kp;
	struct ctl_transport *t;

	if (keys_load(d->cfg.key, &kp, err, errlen) < 0)
		return -1;
	if (!kp.secret_z85[0]) {
		snprintf(err, errlen, "%.900s holds no secret key (use the _secret file)", d->cfg.key);
		return -1;
	}
	t = ctl_transport_new_unbound(err, errlen);
	if (!t || ctl_transport_load_keys(t, d->cfg.authorized_agents, err, errlen) < 0) {
		ctl_transport_free(t);
		return -1;
	}
	ctl_transport_free(t);
	return load_ladders(d, err, errlen);
}

/* One control socket; a missing group is logged (root can still use it),
 * never a reason not to start. */
static int control_listen_one(struct cordond *d, const char *path, const char *group,
			      enum control_role role, char *err, size_t errlen)
{
	char why[512] = "";
	int fd = jsonsock_listen(path, 0660, group, why, sizeof(why));
	/* Only the report socket takes a whole mail. */
	size_t max = role == CONTROL_ROLE_REPORT ? REPORT_REQUEST_MAX : 0;

	if (fd < 0 || jsonsock_server_add(d->control, fd, path, (int)role, max) < 0) {
		snprintf(err, errlen, "%s", why[0] ? why : "cannot serve the control socket");
		if (fd >= 0)
			close(fd);
		return -1;
	}
	if (why[0])
		log_warnx("control socket %s: %s; only root can use it", path, why);
	return 0;
}

static int control_listen(struct cordond *d, char *err, size_t errlen)
{
	d->control = jsonsock_server_new("control socket", control_dispatch, d);
	if (!d->control) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (control_listen_one(d, d->cfg.control_socket, d->cfg.control_group, CONTROL_ROLE_ADMIN,
			       err, errlen) < 0)
		return -1;
	if (d->cfg.control_socket_readonly[0] &&
	    control_listen_one(d, d->cfg.control_socket_readonly, d->cfg.readonly_group,
			       CONTROL_ROLE_READ, err, errlen) < 0)
		return -1;
	if (d->cfg.control_socket_report[0] &&
	    control_listen_one(d, d->cfg.control_socket_report, d->cfg.report_group,
			       CONTROL_ROLE_REPORT, err, errlen) < 0)
		return -1;
	return 0;
}

/* A flood of connections must run into the hard limit, not a soft one
 * set low for interactive shells. */
static void raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur >= rl.rlim_max)
		return;
	rl.rlim_cur = rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
		log_warn("cannot raise the descriptor limit to %llu",
			 (unsigned long long)rl.rlim_max);
}

static int start(struct cordond *d, const struct options *o, char *err, size_t errlen)
{
	if (o->check_only)
		return check_config(d, err, errlen);
	leader_configure(d);
	d->store = store_open(d->cfg.database, err, errlen);
	if (!d->store || leader_start(d, err, errlen) < 0)
		return -1;
	if (case_counts_start(d->store) < 0) {
		snprintf(err, errlen, "cannot count the open cases (see above)");
		return -1;
	}
	if (load_ladders(d, err, errlen) < 0)
		return -1;
	d->notifier = notifier_new(4);
	if (!d->notifier) {
		snprintf(err, errlen, "cannot start the notifier");
		return -1;
	}
	prune_init(d);
	raise_nofile();
	d->transport = ctl_transport_new(&d->cfg, err, errlen);
	if (!d->transport)
		return -1;
	if (control_listen(d, err, errlen) < 0)
		return -1;
	d->metrics.http = metrics_http_serve(&d->cfg.metrics, ctl_metrics_render, d);
	return 0;
}

int main(int argc, char **argv)
{
	struct options o;
	struct cordond d = { 0 };
	char err[1024] = "";
	int sfd, rc = 1;

	if (parse_options(argc, argv, &o) < 0)
		return 2;
	if (o.migrate) /* no configuration, keys or socket: the two stores only */
		return migrate_store_main(o.from, o.to, o.log_level);
	ctl_config_defaults(&d.cfg);
	if (ctl_config_load(o.config, strcmp(o.config, CORDOND_DEFAULT_CONFIG) != 0,
			    &d.cfg, err, sizeof(err)) < 0) {
		fprintf(stderr, "cordond: %s\n", err);
		return 1;
	}
	if (setup_logging(&o, &d.cfg) < 0)
		return 2;
	d.test_clock = o.test_clock;
	ctl_metrics_init(&d.metrics);
	d.started = (int64_t)(now_wall_ms() / 1000);
	sfd = signals_to_fd();
	if (sfd < 0)
		fatal("signalfd");
	if (start(&d, &o, err, sizeof(err)) < 0) {
		log_errorx("%s", err);
	} else if (o.check_only) {
		printf("cordond: configuration %s is valid\n", o.config);
		rc = 0;
	} else {
		log_info("cordond %s listening on %s, control socket %s, read-only %s",
			 CORDON_VERSION, d.cfg.listen, d.cfg.control_socket,
			 d.cfg.control_socket_readonly[0] ? d.cfg.control_socket_readonly : "none");
		sd_notify(0, "READY=1");
		rc = run_loop(&d, sfd) < 0 ? 1 : 0;
		sd_notify(0, "STOPPING=1");
	}
	metrics_http_free(d.metrics.http);
	jsonsock_server_free(d.control);
	ctl_transport_free(d.transport);
	if (d.store && d.test_clock && leader_acting(&d) && store_save_test_now(d.store) < 0)
		log_errorx("could not save the test clock");
	if (d.store)
		leader_stop(&d);
	store_close(d.store);
	notifier_free(d.notifier);
	ladders_free(&d);
	policy_set_free(d.policies);
	calendar_free(d.calendar);
	free(d.push_hosts);
	registry_clear(&d.registry);
	close(sfd);
	return rc;
}

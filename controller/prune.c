/* prune.c: cordond's retention passes (retention.c does the store's
 * part). A pass runs one batch per turn of the main loop, so agents and
 * the control socket are served between batches; it starts shortly after
 * cordond does, then every prune_interval, and `cordonctl prune` runs one
 * now. Each pass that removed something is logged and audited. */
#include <stdio.h>

#include "cordond.h"
#include "log.h"
#include "retention.h"
#include "util.h"

#define PRUNE_FIRST_DELAY_MS 10000 /* after start: let agents connect first */
#define PRUNE_CMD_BUDGET_MS 100    /* cordonctl prune: the rest in the background */

static struct retention retention_of_config(const struct ctl_config *cfg)
{
	return (struct retention){
		.resolved_cases = cfg->retain_resolved_cases,
		.audit = cfg->retain_audit,
		.notifications = cfg->retain_notifications,
		.reports = cfg->retain_reports,
	};
}

void prune_init(struct cordond *d)
{
	struct retention r = retention_of_config(&d->cfg);

	d->prune.running = false;
	d->prune.next_ms = now_mono_ms() + PRUNE_FIRST_DELAY_MS;
	if (retention_keeps_all(&r))
		log_info("retention: everything is kept (no retain_* key set)");
}

/* The end of a pass: logged, and audited when it removed something. */
static void pass_done(struct cordond *d, const struct prune_counts *c, uid_t uid)
{
	char what[400];

	prune_counts_format(c, what, sizeof(what));
	if (!prune_counts_total(c)) {
		log_debug("prune: nothing due");
		return;
	}
	log_info("prune: removed %s", what);
	if (store_begin(d->store) < 0 || store_audit(d->store, uid, "prune", NULL, what) < 0 ||
	    store_commit(d->store) < 0) {
		store_rollback(d->store);
		log_errorx("prune: the pass is not audited: %s", store_last_error(d->store));
	}
}

/* One batch into *c: 1 more is due, 0 done, -1 a store error (logged). */
static int prune_batch(struct cordond *d, struct prune_counts *c)
{
	struct retention r = retention_of_config(&d->cfg);
	int rc = retention_prune_batch(d->store, &r, store_now(), RETENTION_BATCH, c);

	if (rc < 0)
		log_errorx("prune: stopped, nothing of the failed batch removed: %s",
			   store_last_error(d->store));
	return rc;
}

bool prune_tick(struct cordond *d)
{
	struct retention r = retention_of_config(&d->cfg);
	int rc;

	if (!d->prune.running) {
		if (retention_keeps_all(&r) || !d->cfg.prune_interval ||
		    now_mono_ms() < d->prune.next_ms)
			return false;
		d->prune.running = true;
		d->prune.removed = (struct prune_counts){ { 0 } };
	}
	rc = prune_batch(d, &d->prune.removed);
	if (rc > 0)
		return true;
	d->prune.running = false;
	d->prune.next_ms = now_mono_ms() + (uint64_t)d->cfg.prune_interval * 1000;
	pass_done(d, &d->prune.removed, (uid_t)-1);
	return false;
}

static json_t *prune_reply(const struct prune_counts *c, bool dry_run, bool more,
			   const struct retention *r)
{
	json_t *counts = prune_counts_json(c);

	if (!counts)
		return reply_error("out of memory");
	return reply_ok(json_pack("{s:b, s:b, s:b, s:o, s:{s:I, s:I, s:I, s:I}}",
		"dry_run", dry_run, "more", more, "keeps_all", retention_keeps_all(r),
		"removed", counts, "retention",
		"resolved_cases", (json_int_t)r->resolved_cases, "audit", (json_int_t)r->audit,
		"notifications", (json_int_t)r->notifications, "reports", (json_int_t)r->reports));
}

/* prune [dry_run]: a pass now, for at most PRUNE_CMD_BUDGET_MS; what is
 * left is for the background pass, which starts at once. */
json_t *prune_cmd(struct cordond *d, const json_t *req, uid_t uid)
{
	struct retention r = retention_of_config(&d->cfg);
	struct prune_counts c = { { 0 } };
	bool dry_run = json_is_true(json_object_get(req, "dry_run"));
	uint64_t until = now_mono_ms() + PRUNE_CMD_BUDGET_MS;
	int rc;

	if (dry_run) {
		if (retention_count(d->store, &r, store_now(), &c) < 0)
			return reply_error("database read failed (%s)", store_last_error(d->store));
		return prune_reply(&c, true, false, &r);
	}
	while ((rc = prune_batch(d, &c)) > 0 && now_mono_ms() < until)
		;
	log_info("uid %u: prune", (unsigned)uid);
	pass_done(d, &c, uid);
	if (rc < 0)
		return reply_store_error(d);
	if (rc > 0 && !d->prune.running) {
		d->prune.running = true;
		d->prune.removed = (struct prune_counts){ { 0 } };
	}
	return prune_reply(&c, false, rc > 0, &r);
}

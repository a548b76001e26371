#include "outbox.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cordond.h"
#include "ladder.h"
#include "log.h"
#include "notify.h"
#include "policy.h"
#include "util.h"

#define JOB_TIMEOUT_MS 30000
#define MAX_ATTEMPTS 10
#define CALL_JOB_BIT (1ull << 62)   /* job ids: notification id, or call id | bit */

int outbox_start(struct cordond *d)
{
	return store_exec(d->store,
		"UPDATE notifications SET state = 'pending' WHERE state = 'sending';"
		"UPDATE calls SET hook_state = 'pending' WHERE hook_state = 'running';");
}

/* Both kinds of outbox work share one retry shape: done, or one more
 * attempt with backoff (1 min doubling up to 1 h) until MAX_ATTEMPTS, then
 * "failed" (a call task itself stays listed until someone calls).
 * Parameters: ?1 now, ?2 detail, ?3 id, ?4 MAX_ATTEMPTS. */
struct outbox_kind {
	const char *what, *done;
	const char *sql_ok, *sql_failed;
};

static const struct outbox_kind notification_kind = {
	"notification", "sent",
	"UPDATE notifications SET state = 'sent', sent_at = ?1, attempts = attempts + 1,"
	" last_error = NULL WHERE id = ?3",
	"UPDATE notifications SET attempts = attempts + 1, last_error = ?2,"
	" state = CASE WHEN attempts + 1 >= ?4 THEN 'failed' ELSE 'pending' END,"
	" next_try = ?1 + CASE WHEN attempts < 6 THEN 60 << CAST(attempts AS INT) ELSE 3600 END WHERE id = ?3",
};

static const struct outbox_kind call_hook_kind = {
	"call hook for call task", "done",
	"UPDATE calls SET hook_state = 'done', hook_detail = ?2,"
	" hook_attempts = hook_attempts + 1 WHERE id = ?3",
	"UPDATE calls SET hook_detail = ?2, hook_attempts = hook_attempts + 1,"
	" hook_state = CASE WHEN hook_attempts + 1 >= ?4 THEN 'failed' ELSE 'pending' END,"
	" hook_next_try = ?1 + CASE WHEN hook_attempts < 6 THEN 60 << CAST(hook_attempts AS INT) ELSE 3600 END WHERE id = ?3",
};

static void record_result(struct cordond *d, const struct outbox_kind *k, int64_t id, int ok,
			  const char *detail)
{
	struct db_stmt *st = store_prepare(d->store, ok ? k->sql_ok : k->sql_failed);

	if (!st)
		return;
	db_bind_int64(st, 1, store_now());
	db_bind_text(st, 2, detail);
	db_bind_int64(st, 3, id);
	db_bind_int64(st, 4, MAX_ATTEMPTS);
	store_exec_stmt(d->store, st);
	if (ok)
		log_info("%s %lld %s", k->what, (long long)id, k->done);
	else
		log_warnx("%s %lld failed (%s); will retry", k->what, (long long)id, detail);
}

static void job_done(uint64_t job, int ok, const char *detail, void *arg)
{
	struct cordond *d = arg;

	if (job & CALL_JOB_BIT) {
		record_result(d, &call_hook_kind, (int64_t)(job & ~CALL_JOB_BIT), ok, detail);
		return;
	}
	record_result(d, &notification_kind, (int64_t)job, ok, detail);
	d->metrics.notify_failures += !ok;
}

/* The customer is told what comes next: the message for the case's next
 * step, from the ladder the case follows. */
static const char *next_step_text(const struct policy_step *s)
{
	if (s->action == POLICY_NOTIFY)
		return "a further notice";
	if (s->action == POLICY_CALL)
		return "a phone call to your authorised contact";
	if (s->action == POLICY_POWEROFF)
		return "the server is switched off";
	if ((s->scopes & POLICY_SCOPE_SMTP) && !(s->scopes & ~POLICY_SCOPE_SMTP))
		return "outbound e-mail (SMTP) is blocked";
	return "the server's network is suspended";
}

static void next_step_vars(struct cordond *d, int64_t case_id, json_t *vars)
{
	struct db_stmt *st = store_prepare(d->store,
		"SELECT s.step, s.due, coalesce(c.ladder_id, 0) FROM case_steps s"
		" JOIN cases c ON c.id = s.case_id WHERE s.case_id = ?"
		" AND s.state IN ('pending', 'failing') ORDER BY s.due, s.step LIMIT 1");
	const struct policy *p;
	const struct policy_step *s;
	const char *what = "none";
	char due[40] = "-", err[256];

	if (st) {
		db_bind_int64(st, 1, case_id);
		if (db_step(st) == DB_ROW &&
		    (p = ladder_get(d, db_column_int64(st, 2), err, sizeof(err))) &&
		    (s = policy_step(p, (size_t)db_column_int64(st, 0)))) {
			what = next_step_text(s);
			format_time_utc(db_column_int64(st, 1), due, sizeof(due));
		}
	}
	db_finalize(st);
	json_object_set_new(vars, "next_step", json_string(what));
	json_object_set_new(vars, "next_due", json_string(due));
}

static json_t *case_vars(struct cordond *d, int64_t case_id)
{
	struct db_stmt *st = store_prepare(d->store,
		"SELECT c.category, c.vm_uuid, coalesce(v.name, c.vm_uuid), coalesce(c.ip,"
		" (SELECT ip FROM ips WHERE vm_uuid = c.vm_uuid ORDER BY ip LIMIT 1), ''),"
		" coalesce(c.contact, ''), coalesce(c.evidence, ''), coalesce(c.source, ''), c.opened"
		" FROM cases c LEFT JOIN vms v ON v.uuid = c.vm_uuid WHERE c.id = ?");
	json_t *vars = NULL;
	char opened[32], now[32];
	char *excerpt;

	if (!st)
		return NULL;
	db_bind_int64(st, 1, case_id);
	if (db_step(st) == DB_ROW) {
		excerpt = notify_excerpt((const char *)db_column_text(st, 5), 2048, 40);
		vars = json_pack("{s:I, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}",
			"case_id", (json_int_t)case_id,
			"category", (const char *)db_column_text(st, 0),
			"vm_uuid", (const char *)db_column_text(st, 1),
			"vm_name", (const char *)db_column_text(st, 2),
			"ip", (const char *)db_column_text(st, 3),
			"contact", (const char *)db_column_text(st, 4),
			"evidence", excerpt ? excerpt : "",
			"source", (const char *)db_column_text(st, 6),
			"opened", format_time_utc(db_column_int64(st, 7), opened, sizeof(opened)),
			"now", format_time_utc(store_now(), now, sizeof(now)),
			"from", d->cfg.notify_from);
		free(excerpt);
		if (vars)
			next_step_vars(d, case_id, vars);
	}
	db_finalize(st);
	return vars;
}

#define MAX_JOBS 4

static void mark(struct cordond *d, const char *sql, int64_t id)
{
	struct db_stmt *st = store_prepare(d->store, sql);

	if (!st)
		return;
	db_bind_int64(st, 1, id);
	store_exec_stmt(d->store, st);
}

/* CORDON_CASE_ID=.. etc. for the child; strings owned by env_buf. */
static void job_env(const json_t *vars, char env_buf[5][300], char *envp[6])
{
	static const char *const keys[] = { "case_id", "category", "vm_name", "ip", "contact" };
	static const char *const names[] = { "CORDON_CASE_ID", "CORDON_CATEGORY", "CORDON_VM",
					     "CORDON_IP", "CORDON_CONTACT" };

	for (int i = 0; i < 5; i++) {
		json_t *v = json_object_get(vars, keys[i]);
		if (json_is_integer(v))
			snprintf(env_buf[i], 300, "%s=%lld", names[i], (long long)json_integer_value(v));
		else
			snprintf(env_buf[i], 300, "%s=%s", names[i], json_string_value(v) ? json_string_value(v) : "");
		envp[i] = env_buf[i];
	}
	envp[5] = NULL;
}

static void start_notification(struct cordond *d, int64_t id, int64_t case_id, const char *tmpl)
{
	char err[512], env_buf[5][300], *envp[6], *text = NULL;
	json_t *vars = case_vars(d, case_id);

	if (!vars || notify_render(d->cfg.templates, tmpl, vars, &text, err, sizeof(err)) < 0) {
		if (!vars)
			snprintf(err, sizeof(err), "case %lld not found", (long long)case_id);
		json_decref(vars);
		record_result(d, &notification_kind, id, 0, err);
		return;
	}
	job_env(vars, env_buf, envp);
	if (notifier_spawn(d->notifier, (uint64_t)id, d->cfg.notify_command, text, envp,
			   JOB_TIMEOUT_MS, err, sizeof(err)) == 0)
		mark(d, "UPDATE notifications SET state = 'sending' WHERE id = ?", id);
	else
		record_result(d, &notification_kind, id, 0, err);
	free(text);
	json_decref(vars);
}

static void start_call_hook(struct cordond *d, int64_t id, int64_t case_id)
{
	char err[512], env_buf[5][300], *envp[6];
	json_t *vars = case_vars(d, case_id);

	if (!vars)
		return;
	job_env(vars, env_buf, envp);
	if (notifier_spawn(d->notifier, (uint64_t)id | CALL_JOB_BIT, d->cfg.call_hook, "", envp,
			   JOB_TIMEOUT_MS, err, sizeof(err)) == 0)
		mark(d, "UPDATE calls SET hook_state = 'running' WHERE id = ?", id);
	else
		record_result(d, &call_hook_kind, id, 0, err);
	json_decref(vars);
}

static void start_due(struct cordond *d, int slots)
{
	struct db_stmt *st = store_prepare(d->store,
		"SELECT 0, id, case_id, template FROM notifications WHERE state = 'pending'"
		" AND next_try <= ?1 UNION ALL SELECT 1, id, case_id, '' FROM calls"
		" WHERE hook_state = 'pending' AND coalesce(hook_next_try, 0) <= ?1 LIMIT ?2");
	struct { int kind; int64_t id, case_id; char tmpl[65]; } jobs[MAX_JOBS];
	int n = 0;

	if (!st)
		return;
	db_bind_int64(st, 1, store_now());
	db_bind_int64(st, 2, slots);
	while (n < slots && n < MAX_JOBS && db_step(st) == DB_ROW) {
		jobs[n].kind = db_column_int(st, 0);
		jobs[n].id = db_column_int64(st, 1);
		jobs[n].case_id = db_column_int64(st, 2);
		strlcpy_checked(jobs[n].tmpl, (const char *)db_column_text(st, 3), sizeof(jobs[n].tmpl));
		n++;
	}
	db_finalize(st);
	for (int i = 0; i < n; i++) {
		if (jobs[i].kind == 0)
			start_notification(d, jobs[i].id, jobs[i].case_id, jobs[i].tmpl);
		else if (d->cfg.call_hook[0])
			start_call_hook(d, jobs[i].id, jobs[i].case_id);
		else
			record_result(d, &call_hook_kind, jobs[i].id, 1, "no call hook configured");
	}
}

void outbox_tick(struct cordond *d)
{
	size_t running;

	notifier_poll(d->notifier, job_done, d);
	running = notifier_running(d->notifier);
	/* A follower finishes what it started, starts nothing. */
	if (running < MAX_JOBS && leader_acting(d))
		start_due(d, MAX_JOBS - (int)running);
}

/* Steps that fail: one step whose firing fails every time (its template
 * gone, a store error on its case) must not hold up the other due steps
 * (issue 9). Each step of a batch fires in a savepoint: a failure undoes
 * that step alone and records it on its row (state 'failing', attempts,
 * last_error, next_try), the rest of the batch commits. Retries back off
 * 1, 2, 4 ... 60 minutes on the controller's clock and never give up: a
 * step that cuts must keep trying for as long as its case is open. The
 * backoff is in the store, so a restart keeps it. */
#include <stdio.h>

#include "cordond.h"
#include "ladder.h"
#include "log.h"
#include "scheduler.h"
#include "util.h"

static const char sp_begin[] = "SAVEPOINT step";
static const char sp_release[] = "RELEASE step";
static const char sp_undo[] = "ROLLBACK TO step";

static int sp(struct cordond *d, const char *sql)
{
	return store_run(d->store, store_cached(d->store, sql));
}

/* The first failure goes into the case's audit trail; the retries only
 * into the log (every hour at most), and the success names how many
 * attempts failed (fire_detail). */
static int audit_failure(struct cordond *d, const struct step_ref *s, const char *why)
{
	char detail[700];

	snprintf(detail, sizeof(detail), "step %lld failed: %s; retried with backoff while it fails",
		 (long long)s->step + 1, why);
	return store_audit_case(d->store, (uid_t)-1, s->case_id, "step", NULL, detail);
}

static int step_failed(struct cordond *d, const struct step_ref *s, const char *why)
{
	static const char sql[] =
		"UPDATE case_steps SET state = 'failing', attempts = attempts + 1, last_error = ?1,"
		" next_try = ?2 + CASE WHEN attempts < 6 THEN 60 << CAST(attempts AS INT) ELSE 3600 END"
		" WHERE case_id = ?3 AND step = ?4 AND report = ?5 RETURNING attempts, next_try";
	struct db_stmt *st = store_cached(d->store, sql);
	int64_t attempts = 0, next = 0;
	char when[32];
	int rc;

	if (!st)
		return -1;
	db_bind_text(st, 1, why);
	db_bind_int64(st, 2, store_now());
	db_bind_int64(st, 3, s->case_id);
	db_bind_int64(st, 4, s->step);
	db_bind_int64(st, 5, s->report);
	if ((rc = db_step(st)) == DB_ROW) {
		attempts = db_column_int64(st, 0);
		next = db_column_int64(st, 1);
		rc = db_step(st);
	}
	db_reset(st);
	if (rc != DB_DONE || attempts == 0)
		return -1;
	log_errorx("case %lld: step %lld failed (attempt %lld): %s; next try %s", (long long)s->case_id,
		  (long long)s->step + 1, (long long)attempts, why,
		  format_time_utc(next, when, sizeof(when)));
	return attempts == 1 ? audit_failure(d, s, why) : 0;
}

int step_try(struct cordond *d, const struct step_ref *s)
{
	char err[512] = "";

	if (sp(d, sp_begin) < 0)
		return -1;
	if (scheduler_fire(d, s, (uid_t)-1, false, err, sizeof(err)) == 0)
		return sp(d, sp_release);
	/* Undo what the step wrote before it failed; the batch goes on. */
	if (sp(d, sp_undo) < 0 || sp(d, sp_release) < 0)
		return -1;
	return step_failed(d, s, err[0] ? err : "unknown error") < 0 ? -1 : 1;
}

static json_t *failing_row_json(struct cordond *d, struct db_stmt *st)
{
	char what[96];

	ladder_step_text(d, db_column_int64(st, 7), db_column_int64(st, 1), what,
			 sizeof(what));
	return json_pack("{s:I, s:I, s:I, s:s, s:I, s:I, s:I, s:s}",
		"case", (json_int_t)db_column_int64(st, 0),
		"step", (json_int_t)db_column_int64(st, 1) + 1,
		"report", (json_int_t)db_column_int64(st, 2) + 1, "action", what,
		"due", (json_int_t)db_column_int64(st, 3),
		"attempts", (json_int_t)db_column_int64(st, 4),
		"next_try", (json_int_t)db_column_int64(st, 5),
		"last_error", (const char *)db_column_text(st, 6));
}

json_t *steps_failing_json(struct cordond *d, int limit)
{
	static const char sql[] =
		"SELECT s.case_id, s.step, s.report, s.due, s.attempts, s.next_try,"
		" coalesce(s.last_error, ''), coalesce(c.ladder_id, 0), count(*) OVER ()"
		" FROM case_steps s JOIN cases c ON c.id = s.case_id WHERE s.state = 'failing'"
		" ORDER BY s.due, s.case_id, s.step, s.report LIMIT ?";
	struct db_stmt *st = store_cached(d->store, sql);
	json_t *steps = json_array(), *o;
	json_int_t count = 0;
	int rc;

	if (!st || !steps) {
		json_decref(steps);
		return NULL;
	}
	db_bind_int64(st, 1, limit);
	while ((rc = db_step(st)) == DB_ROW) {
		count = db_column_int64(st, 8);
		if (json_array_append_new(steps, failing_row_json(d, st)) < 0)
			break;
	}
	db_reset(st);
	if (rc != DB_DONE || !(o = json_pack("{s:I}", "count", count))) {
		json_decref(steps);
		return NULL;
	}
	if (json_object_set_new(o, "steps", steps) < 0) { /* steals steps */
		json_decref(o);
		return NULL;
	}
	return o;
}

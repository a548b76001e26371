/* scheduler.c: each open case's ladder as rows in case_steps (due time and
 * state, recomputed from the case's own ladder (ladder.c), the calendar,
 * reports and responses), and firing the steps that are due. A step's
 * state and its effects are committed in one transaction, so a step never
 * fires twice, even if the controller dies in the middle; deadlines live
 * in the store, so a step that fell due while the controller was down
 * fires at start. A step that fails is undone alone (step_retry.c) and
 * retried with backoff: it never holds up the other due steps. */
#ifndef CORDON_SCHEDULER_H
#define CORDON_SCHEDULER_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include <sys/types.h>

struct cordond;

/* One row of case_steps: step indexes the case's ladder; report is the
 * report an each-report step runs for (else 0). */
struct step_ref {
	int64_t case_id, step, report, due;
	int64_t attempts; /* failed attempts so far */
};

/* Recomputes the not-yet-fired steps of a case. Inside a transaction. */
int scheduler_replan(struct cordond *d, int64_t case_id);
/* Fires one step now (escalate: forced ignores its condition). Inside a
 * transaction. 0, or -1 with the reason in err; then some of the step's
 * effects may be written: the caller rolls back (to a savepoint). */
int scheduler_fire(struct cordond *d, const struct step_ref *s, uid_t uid, bool forced,
		   char *err, size_t errlen);
/* Fires steps due by now (and failing ones whose retry time has come), at
 * most a batch; returns how many were tried, or -1 (a store error: the
 * batch is rolled back). Call again while it returns a full batch. */
int scheduler_run(struct cordond *d, int batch);

/* step_retry.c. Fires s in a savepoint of the caller's transaction: 0
 * fired; 1 failed, undone to the savepoint and recorded as failing (retried
 * after 1, 2, 4 ... 60 minutes, for as long as it fails); -1 on a store
 * error (the caller rolls back the whole batch). */
int step_try(struct cordond *d, const struct step_ref *s);
/* cordonctl status: {"count": N, "steps": [the first limit failing steps,
 * each with its case, action, attempts, next_try and last_error]}; NULL on
 * a store error. */
json_t *steps_failing_json(struct cordond *d, int limit);

/* When `case called` last recorded the case's call done (0: never), what
 * an "after call" step counts from. -1 on a store error. */
int scheduler_called_at(struct cordond *d, int64_t case_id, time_t *at);

#endif

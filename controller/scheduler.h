/* scheduler.c: each open case's ladder as rows in case_steps (due time and
 * state, recomputed from the policy, the calendar, reports and responses),
 * and firing the steps that are due. A step's state and its effects are
 * committed in one transaction, so a step never fires twice, even if the
 * controller dies in the middle; deadlines live in the store, so a step
 * that fell due while the controller was down fires at start. */
#ifndef CORDON_SCHEDULER_H
#define CORDON_SCHEDULER_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

struct cordond;

/* Recomputes the not-yet-fired steps of a case. Inside a transaction. */
int scheduler_replan(struct cordond *d, int64_t case_id);
/* Fires one step now (escalate: forced ignores its condition). Inside a
 * transaction. 0, or -1. */
int scheduler_fire(struct cordond *d, int64_t case_id, int64_t step, int64_t report,
		   int64_t due, uid_t uid, bool forced);
/* Fires steps due by now, at most a batch; returns how many fired, or -1.
 * Call again while it returns a full batch. */
int scheduler_run(struct cordond *d, int batch);

#endif

/* ladder.c: the ladder each case follows. A policy reload must never remap
 * the steps of an open case (issue 9): a case's case_steps rows index into
 * the ladder it was opened with, whatever the policies directory says
 * later. A ladder is the canonical text of a policy's category, clock and
 * steps (policy_format_ladder), stored once in the table ladders and named
 * by its row id ("ladder #3"); cases.ladder_id is the one a case follows.
 * New policy text applies to new cases; `cordonctl case replan` moves an
 * open case onto the current one (case_replan.c).
 *
 * ladders.current marks the ladders of the policies loaded now, set in the
 * transaction that records them, so the store itself can tell which open
 * cases follow an older ladder. Ladders are never changed once stored, so
 * the parsed copies kept here never go stale. */
#ifndef CORDON_LADDER_H
#define CORDON_LADDER_H

#include <stddef.h>
#include <stdint.h>

struct cordond;
struct policy;
struct policy_set;

/* At every policy load (start and SIGHUP), in one transaction: records the
 * ladder of each policy of set (a row only for a text not seen before),
 * marks them current, and gives each open case without a ladder (from a
 * store older than ladders) its category's policy, audited per case. -1
 * with err: nothing changed, the caller keeps its old policies. */
int ladders_load(struct cordond *d, const struct policy_set *set, char *err, size_t errlen);

/* The id of the current ladder of category; 0 when no policy for it is
 * loaded, -1 on a store error. */
int64_t ladder_current(struct cordond *d, const char *category);

/* The ladder with this id, parsed once and kept until ladders_free(). NULL
 * with the reason in err (no such ladder, id 0, a store error, text that
 * does not parse). */
const struct policy *ladder_get(struct cordond *d, int64_t id, char *err, size_t errlen);

/* "notify warning", "call", ...: step (0-based) of ladder id, or "step N"
 * when the ladder cannot be read or has no such step. */
void ladder_step_text(struct cordond *d, int64_t id, int64_t step, char *buf, size_t len);

/* How many open cases follow a ladder that is not current (an older text
 * of their policy, or a category no longer loaded); -1 on error. */
int64_t ladders_old_count(struct cordond *d);

/* 16 hex digits naming the ladder's text (FNV-1a 64: a short name for
 * display and lookup, not a security property; the text decides). */
void ladder_hash(const char *text, char out[17]);

void ladders_free(struct cordond *d);

#endif

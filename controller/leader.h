/* leader.c: whether this cordond acts, and under which term.
 *
 * Several cordond may share one PostgreSQL store; only the holder of the
 * store's leadership (a session advisory lock) acts: runs the scheduler,
 * pushes desired state, takes mutations. Taking it bumps the term, a
 * fencing token sent with every desired-state message: an agent ignores
 * a term older than the newest it has seen, so a stalled former leader
 * can never undo a newer decision. A SQLite store has one cordond: it
 * always acts, and its term moves up at each start. */
#ifndef CORDON_LEADER_H
#define CORDON_LEADER_H

#include <stdbool.h>
#include <stdint.h>

struct cordond;

/* True while this instance holds the leadership and its lease. */
bool leader_acting(const struct cordond *d);
/* The term this instance acts under (0 when it never led). */
uint64_t leader_term(const struct cordond *d);
/* The acting leader's agent endpoint as agents reach it ("tcp://a:7700"),
 * "" when unknown (no leader now). */
const char *leader_endpoint(const struct cordond *d);
/* An agent has seen term t from this store's leaders (its Hello): if t is
 * above ours (the store was restored from an older copy), the acting
 * leader takes a term above t, so that agents follow it again. 0 or -1
 * (store error: the hello is asked again). */
int leader_term_at_least(struct cordond *d, uint64_t t);

#endif

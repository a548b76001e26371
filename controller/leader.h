/* leader.c: whether this cordond acts, and under which term.
 *
 * Several cordond may share one PostgreSQL store; only the holder of the
 * store's leadership (a session advisory lock) acts: runs the scheduler,
 * pushes desired state, takes mutations. Taking it bumps the term, a
 * fencing token sent with every desired-state message: an agent ignores
 * a term older than the newest it has seen, so a stalled former leader
 * can never undo a newer decision. The leader confirms its session every
 * third of its lease; one that could not for a whole lease stops acting
 * (the server ends a silent session, and frees the lock, only later: see
 * db_pg.c). A SQLite store has one cordond: it always acts. */
#ifndef CORDON_LEADER_H
#define CORDON_LEADER_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct cordond;

struct leader {
	bool acting;
	uint64_t term;         /* acting: ours; else the last leader's we read */
	char holder[64];       /* that leader's instance name, "" if none */
	char endpoint[256];    /* and its agent endpoint */
	int64_t since;         /* wall clock: when it took the term */
	uint64_t confirmed_ms; /* monotonic: our session last confirmed */
	uint64_t next_ms;      /* monotonic: the next check */
	uint64_t retry_ms;     /* backoff between reconnects, 0: connected */
	bool db_up;            /* the last check reached the database */
	char why[200];         /* why this instance does not act */
};

/* PostgreSQL session timeouts from cordond.conf: before store_open. */
void leader_configure(const struct cordond *d);
/* After store_open: SQLite acts at once; on PostgreSQL this instance
 * leads if the lock is free, else follows. -1 with err on a store error. */
int leader_start(struct cordond *d, char *err, size_t errlen);
/* From the main loop: confirms the lease, or tries to take the lead. */
void leader_tick(struct cordond *d);
/* A clean stop: the lock is freed for a standby at once. */
void leader_stop(struct cordond *d);

/* True while this instance holds the leadership and its lease. */
bool leader_acting(const struct cordond *d);
/* The term this instance acts under; a follower's: the leader's. */
uint64_t leader_term(const struct cordond *d);
/* The acting leader's agent endpoint as agents reach it ("tcp://a:7700"),
 * "" when unknown (no leader now). */
const char *leader_endpoint(const struct cordond *d);
/* Who leads, for an operator: "b (tcp://198.18.0.2:7440, term 3)". */
const char *leader_describe(const struct cordond *d, char *buf, size_t len);
/* Milliseconds of lease left (0 when not acting; SQLite: the lease). */
int64_t leader_lease_left_ms(const struct cordond *d);
/* {role, term, leader, ...} for cordonctl status. */
json_t *leader_status_json(const struct cordond *d);
/* An agent has seen term t from this store's leaders (its Hello): if t is
 * above ours (the store was restored from an older copy), the acting
 * leader takes a term above t, so that agents follow it again. 0 or -1
 * (store error: the hello is asked again). */
int leader_term_at_least(struct cordond *d, uint64_t t);

struct db;
/* Whether a cordond leads the PostgreSQL store on db now (some session
 * holds its lock): cordond --migrate-store refuses a store in use. False
 * on SQLite. 0 or -1 (db_errmsg says why). */
int leader_lock_held(struct db *db, bool *held);

#endif

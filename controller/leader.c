#include "leader.h"

#include <stdio.h>
#include <string.h>

#include "cordond.h"
#include "db.h"
#include "log.h"
#include "ladder.h"
#include "outbox.h"
#include "util.h"

/* The store's leadership: a session advisory lock on this key ("cord");
 * advisory locks are per database, and a database holds one store. */
#define LEADER_LOCK_KEY 1668248164
#define RECONNECT_MAX_MS 10000
#define STR_(x) #x
#define STR(x) STR_(x)

static bool on_pg(const struct cordond *d)
{
	return d->store && store_kind(d->store) == DB_POSTGRESQL;
}

void leader_configure(const struct cordond *d)
{
	long k = d->cfg.keepalive_s, lease = d->cfg.lease_ms;
	long probes = (lease + k * 1000 - 1) / (k * 1000);
	/* The server ends a silent session (and frees the lock) only a
	 * keepalive or two after our lease is over: by then we stopped. */
	struct db_pg_session s = {
		.connect_timeout_s = lease / 3000 > 2 ? lease / 3000 : 2, /* libpq: 2 at least */
		.keepalive_s = k,
		.keepalive_count = probes,
		.server_keepalive_count = probes + 1,
		.server_timeout_ms = lease + 2000 * k,
		/* The kernel checks it when a retransmission or window probe
		 * falls due, and those back off: half the lease is noticed
		 * within about the lease. */
		.user_timeout_ms = lease / 2,
		.statement_timeout_ms = d->cfg.statement_timeout_ms,
	};

	db_pg_configure(&s);
}

/* The row of the last leader to take a term: who it is, for followers. */
static int read_holder(struct cordond *d)
{
	struct db_stmt *st = db_prepare(store_conn(d->store),
		"SELECT term, instance, endpoint, since FROM leader WHERE id = 1");
	int rc = st ? db_step(st) : DB_ERROR;

	if (rc == DB_ROW) {
		d->leader.term = (uint64_t)db_column_int64(st, 0);
		snprintf(d->leader.holder, sizeof(d->leader.holder), "%s", db_column_text(st, 1));
		snprintf(d->leader.endpoint, sizeof(d->leader.endpoint), "%s", db_column_text(st, 2));
		d->leader.since = db_column_int64(st, 3);
	}
	db_finalize(st);
	return rc == DB_ROW ? 0 : -1;
}

/* Records this instance as the holder of the next term (SQLite: keeps
 * the term, the first is 1). 0, or -1 on a store error. */
static int write_holder(struct cordond *d)
{
	struct db_stmt *st = db_prepare(store_conn(d->store), on_pg(d) ?
		"UPDATE leader SET term = term + 1, instance = ?1, endpoint = ?2, since = ?3"
		" WHERE id = 1 RETURNING term" :
		"UPDATE leader SET term = CASE WHEN term = 0 THEN 1 ELSE term END, instance = ?1,"
		" endpoint = ?2, since = ?3 WHERE id = 1 RETURNING term");
	int rc;

	if (!st)
		return -1;
	db_bind_text(st, 1, d->cfg.instance);
	db_bind_text(st, 2, d->cfg.advertise);
	db_bind_int64(st, 3, (int64_t)(now_wall_ms() / 1000));
	rc = db_step(st);
	if (rc == DB_ROW)
		d->leader.term = (uint64_t)db_column_int64(st, 0);
	db_finalize(st);
	if (rc != DB_ROW)
		return -1;
	snprintf(d->leader.holder, sizeof(d->leader.holder), "%s", d->cfg.instance);
	snprintf(d->leader.endpoint, sizeof(d->leader.endpoint), "%s", d->cfg.advertise);
	d->leader.since = (int64_t)(now_wall_ms() / 1000);
	return 0;
}

/* 1 when the lock was free and is ours now, 0 when another session holds
 * it, -1 on an error. */
static int try_lock(struct cordond *d)
{
	struct db_stmt *st = db_prepare(store_conn(d->store),
		"SELECT pg_try_advisory_lock(" STR(LEADER_LOCK_KEY) ")");
	int rc = st ? db_step(st) : DB_ERROR, got = rc == DB_ROW ? db_column_int(st, 0) : -1;

	db_finalize(st);
	return got;
}

static void unlock(struct cordond *d)
{
	if (db_connected(store_conn(d->store)) &&
	    db_exec(store_conn(d->store), "SELECT pg_advisory_unlock_all()") < 0)
		log_warnx("postgresql: cannot release the leadership: %s",
			  db_errmsg(store_conn(d->store)));
}

/* The lock and the new term in one transaction: no term is taken without
 * the lock, no lock kept without its term. 1 taken, 0 not, -1 error. */
static int take(struct cordond *d)
{
	struct db *db = store_conn(d->store);
	int got;

	if (!on_pg(d))
		return write_holder(d) < 0 ? -1 : 1;
	if (db_exec(db, "BEGIN") < 0)
		return -1;
	got = try_lock(d);
	if (got == 1 && (write_holder(d) < 0 || db_exec(db, "COMMIT") < 0))
		got = -1;
	if (got != 1) {
		snprintf(d->leader.why, sizeof(d->leader.why), "%s", got < 0 ? db_errmsg(db) : "");
		db_exec(db, "ROLLBACK");
		/* A session lock taken in a transaction outlives its rollback. */
		if (got < 0)
			unlock(d);
	}
	return got;
}

/* What a new leader takes over: agents introduce themselves again (their
 * state here is from before), in-flight notifications of the old leader
 * are sent again, the test clock is the store's. */
static void begin_acting(struct cordond *d)
{
	char why[256];

	d->leader.acting = true;
	d->leader.confirmed_ms = now_mono_ms();
	d->leader.why[0] = '\0';
	registry_clear(&d->registry);
	if (d->test_clock && store_load_test_now(d->store) < 0)
		log_warnx("cannot read the test clock from the store");
	if (outbox_start(d) < 0)
		log_warnx("cannot requeue the notifications in flight");
	/* New cases follow this instance's policies from now on (at start
	 * they are loaded, and recorded, after this). */
	if (d->policies && ladders_load(d, d->policies, why, sizeof(why)) < 0)
		log_warnx("%s; open cases keep theirs, new ones follow the last leader's", why);
	log_info("acting as the leader, term %llu (instance %s%s%s)",
		 (unsigned long long)d->leader.term, d->cfg.instance,
		 d->cfg.advertise[0] ? ", agents at " : "", d->cfg.advertise);
}

static void stop_acting(struct cordond *d, const char *why)
{
	snprintf(d->leader.why, sizeof(d->leader.why), "%s", why);
	if (!d->leader.acting)
		return;
	d->leader.acting = false;
	/* Who leads now is for the store to say: until it does, agents are
	 * sent on to the next controller they know, not back to us. */
	d->leader.holder[0] = d->leader.endpoint[0] = '\0';
	log_errorx("not acting any more (was the leader of term %llu): %s",
		   (unsigned long long)d->leader.term, why);
	registry_clear(&d->registry);
	unlock(d);
}

int leader_start(struct cordond *d, char *err, size_t errlen)
{
	int rc;

	/* Which of several wrote an audit row; one (SQLite) needs no name. */
	if (on_pg(d))
		store_set_instance(d->store, d->cfg.instance);
	d->leader.db_up = true;
	rc = take(d);
	if (rc < 0) {
		snprintf(err, errlen, "cannot take the leadership: %s",
			 db_errmsg(store_conn(d->store)));
		return -1;
	}
	if (rc == 1) {
		begin_acting(d);
		return 0;
	}
	if (read_holder(d) < 0) {
		snprintf(err, errlen, "cannot read who leads: %s", db_errmsg(store_conn(d->store)));
		return -1;
	}
	snprintf(d->leader.why, sizeof(d->leader.why), "another instance leads");
	log_info("following: %s leads (term %llu); this instance (%s) takes over when it stops",
		 d->leader.holder[0] ? d->leader.holder : "another instance",
		 (unsigned long long)d->leader.term, d->cfg.instance);
	d->leader.next_ms = now_mono_ms() + (uint64_t)d->cfg.lease_ms / 3;
	return 0;
}

/* The leader's lease: our session still holds the lock, and the store's
 * term is still ours. Confirmed as of when it was asked. */
static void confirm(struct cordond *d)
{
	struct db_stmt *st = db_prepare(store_conn(d->store),
		"SELECT (SELECT term FROM leader WHERE id = 1), EXISTS (SELECT 1 FROM pg_locks"
		" WHERE locktype = 'advisory' AND classid = 0 AND objid = " STR(LEADER_LOCK_KEY)
		" AND objsubid = 1 AND pid = pg_backend_pid() AND granted)");
	uint64_t asked = now_mono_ms();
	int rc = st ? db_step(st) : DB_ERROR;
	char why[160];

	d->leader.db_up = rc == DB_ROW;
	if (rc == DB_ROW && db_column_int(st, 1) && (uint64_t)db_column_int64(st, 0) == d->leader.term) {
		d->leader.confirmed_ms = asked;
	} else if (rc == DB_ROW) {
		snprintf(why, sizeof(why), "the store's term is %lld%s: another instance leads",
			 (long long)db_column_int64(st, 0),
			 db_column_int(st, 1) ? "" : " and this session lost the lock");
		stop_acting(d, why);
	} else if (!db_connected(store_conn(d->store))) {
		snprintf(why, sizeof(why), "lost the database session: %s",
			 db_errmsg(store_conn(d->store)));
		stop_acting(d, why);
	}
	db_finalize(st);
	if (d->leader.acting && now_mono_ms() - d->leader.confirmed_ms > (uint64_t)d->cfg.lease_ms)
		stop_acting(d, "could not confirm the database session within the lease");
}

int leader_lock_held(struct db *db, bool *held)
{
	struct db_stmt *st;
	int rc;

	*held = false;
	if (db_kind(db) != DB_POSTGRESQL)
		return 0;
	st = db_prepare(db, "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory'"
			" AND classid = 0 AND objid = " STR(LEADER_LOCK_KEY) " AND objsubid = 1"
			" AND granted AND database = (SELECT oid FROM pg_database"
			" WHERE datname = current_database()))");
	rc = st ? db_step(st) : DB_ERROR;
	if (rc == DB_ROW)
		*held = db_column_int(st, 0) != 0;
	db_finalize(st);
	return rc == DB_ROW ? 0 : -1;
}

/* A follower: back on a session if it lost it, then the lock if free. */
static void follow(struct cordond *d)
{
	struct db *db = store_conn(d->store);
	bool was_up = d->leader.db_up;
	int rc;

	if (!db_connected(db) && db_reconnect(db) < 0) {
		d->leader.db_up = false;
		d->leader.holder[0] = d->leader.endpoint[0] = '\0';
		snprintf(d->leader.why, sizeof(d->leader.why), "database unreachable: %s",
			 db_errmsg(db));
		if (was_up)
			log_errorx("postgresql: %s; trying again, backing off to %d s", db_errmsg(db),
				   RECONNECT_MAX_MS / 1000);
		/* A connect blocks for its timeout: between tries, operators
		 * and agents are answered (not leader, database unreachable). */
		d->leader.retry_ms = d->leader.retry_ms ? d->leader.retry_ms * 2 :
				     (uint64_t)d->cfg.lease_ms / 3;
		if (d->leader.retry_ms > RECONNECT_MAX_MS)
			d->leader.retry_ms = RECONNECT_MAX_MS;
		d->leader.next_ms = now_mono_ms() + d->leader.retry_ms;
		return;
	}
	d->leader.retry_ms = 0;
	rc = take(d);
	d->leader.db_up = rc >= 0;
	if (rc == 1) {
		begin_acting(d);
		return;
	}
	if (rc == 0 && read_holder(d) == 0)
		snprintf(d->leader.why, sizeof(d->leader.why), "another instance leads");
	else if (was_up)
		log_errorx("postgresql: cannot take or read the leadership: %s", db_errmsg(db));
	if (!was_up && d->leader.db_up)
		log_info("postgresql: the database answers again; %s leads (term %llu)",
			 d->leader.holder[0] ? d->leader.holder : "no instance",
			 (unsigned long long)d->leader.term);
}

void leader_tick(struct cordond *d)
{
	uint64_t now = now_mono_ms();

	if (!on_pg(d) || now < d->leader.next_ms || db_in_transaction(store_conn(d->store)))
		return;
	d->leader.next_ms = now + (uint64_t)d->cfg.lease_ms / 3;
	if (d->leader.acting)
		confirm(d);
	else
		follow(d);
}

void leader_stop(struct cordond *d)
{
	if (!on_pg(d) || !d->leader.acting)
		return;
	d->leader.acting = false;
	unlock(d);
	log_info("leadership of term %llu released", (unsigned long long)d->leader.term);
}

int leader_term_at_least(struct cordond *d, uint64_t t)
{
	struct db_stmt *st;
	int rc;

	if (!d->leader.acting || t < d->leader.term)
		return 0;
	st = db_prepare(store_conn(d->store),
		"UPDATE leader SET term = ?1 + 1 WHERE id = 1 AND term = ?2 RETURNING term");
	if (!st)
		return -1;
	db_bind_int64(st, 1, (int64_t)t);
	db_bind_int64(st, 2, (int64_t)d->leader.term);
	rc = db_step(st);
	if (rc == DB_ROW)
		d->leader.term = (uint64_t)db_column_int64(st, 0);
	db_finalize(st);
	/* Not our term in the store any more: another instance leads. */
	if (rc == DB_DONE) {
		stop_acting(d, "the store's term moved past ours: another instance leads");
		return 0;
	}
	if (rc == DB_ERROR) {
		log_errorx("cannot take a term above %llu: %s", (unsigned long long)t,
			   db_errmsg(store_conn(d->store)));
		return -1;
	}
	log_warnx("an agent has seen term %llu (the store was restored from an older copy?):"
		  " acting under term %llu now", (unsigned long long)t,
		  (unsigned long long)d->leader.term);
	return 0;
}

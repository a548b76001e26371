/* store.c: the controller's database (SQLite or PostgreSQL, db.h):
 * schema, migrations, audit, generations. Modules run their own
 * statements through store_prepare/store_cached and db.h's calls. */
#ifndef CORDON_STORE_H
#define CORDON_STORE_H

#include <sqlite3.h>

#include "db.h"
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct store;

/* Opens (creating and migrating) the database: "sqlite:PATH", a bare
 * path, or "postgresql:CONNINFO". NULL with reason in err. */
struct store *store_open(const char *url, char *err, size_t errlen);
void store_close(struct store *store);
enum db_kind store_kind(const struct store *store);
struct db *store_conn(struct store *store);
/* The SQLite handle (backups), NULL on PostgreSQL. */
sqlite3 *store_sqlite(struct store *store);
/* Why the connection's last call failed. */
const char *store_errmsg(struct store *store);
/* Rows changed by the last statement; id of the last INSERT. */
int64_t store_changes(struct store *store);
int64_t store_last_insert_id(struct store *store);

int store_begin(struct store *store);
/* Why the last statement of the current transaction that failed did ("" if
 * none did since store_begin): for the operator's error line. */
const char *store_last_error(const struct store *store);
int store_commit(struct store *store);
/* Statements that failed since the store was opened (prepare, step). */
uint64_t store_error_count(const struct store *store);
void store_rollback(struct store *store);

/* Next value of the controller-wide generation counter (call inside a
 * transaction). 0 on error. */
uint64_t store_next_generation(struct store *store);
/* Moves the counter up to gen if it is below (inside a transaction). 0 or -1. */
int store_generation_at_least(struct store *store, uint64_t gen);

/* Appends an audit event. uid = (uid_t)-1 for the controller itself. */
/* The instance name (cordond.conf instance) audit rows record. */
void store_set_instance(struct store *store, const char *name);
int store_audit(struct store *store, uid_t uid, const char *action,
		const char *vm_uuid, const char *detail);

/* One step of a read: 1 a row, 0 no more rows, -1 an error (logged). A
 * read that fails part way is an error for the whole operation, never
 * "no more rows": nothing may be decided or sent from half a read. */
int store_step(struct store *store, struct db_stmt *st);

/* Prepares sql; logs and returns NULL on error. */
struct db_stmt *store_prepare(struct store *store, const char *sql);
/* Runs a statement without results (bind with "text"/"int64" helpers
 * before). 0 or -1 (logged). Finalizes it. */
int store_exec_stmt(struct store *store, struct db_stmt *stmt);
int store_exec(struct store *store, const char *sql);

/* A prepared statement cached for the store's life, keyed by the address of
 * sql (pass a string literal), reset and unbound. Never finalize it. */
struct db_stmt *store_cached(struct store *store, const char *sql);
/* Steps a cached statement once (no rows expected) and resets it. */
int store_run(struct store *store, struct db_stmt *stmt);

int store_audit_case(struct store *store, uid_t uid, int64_t case_id,
		     const char *action, const char *vm_uuid, const char *detail);

/* Seconds: the controller's notion of now (the real clock, or the test
 * clock once set: see store.c). */
int64_t store_now(void);
/* Test clock minus the real clock (0 when not set), for display. */
int64_t store_clock_offset(void);
/* Sets the test clock to this instant and persists it. */
int store_set_test_now(struct store *store, int64_t now);
/* At start (cordond --test-clock): the persisted test clock plus the time
 * the controller was not running. */
int store_load_test_now(struct store *store);
/* At a clean stop: remember when, so the next start adds only downtime. */
int store_save_test_now(struct store *store);

#endif

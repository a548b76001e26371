#include "store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "store_backup.h"
#include "store_schema.h"
#include "util.h"

/* Prepared statements kept for the store's life, keyed by the address of
 * their SQL literal: hot paths (the scheduler firing 100k steps) would
 * otherwise spend most of their time in sqlite3_prepare. */
#define STMT_CACHE 128

struct cached_stmt {
	const char *sql;
	struct db_stmt *st;
};

struct store {
	struct db *db;
	enum db_kind kind;
	struct cached_stmt cache[STMT_CACHE];
	size_t n_cached;
	char last_error[200]; /* of the current transaction, for the operator */
	uint64_t errors;      /* statements that failed: cordon_store_errors_total */
	char instance[64];    /* which cordond writes: in its audit rows */
};

void store_set_instance(struct store *store, const char *name)
{
	snprintf(store->instance, sizeof(store->instance), "%s", name);
}


/* Logs why a statement failed and keeps it for store_last_error: once the
 * transaction is rolled back, the connection no longer says. */
static void store_failed(struct store *store, const char *what, const char *why)
{
	log_errorx("%s: %s%s", store->kind == DB_SQLITE ? "sqlite" : "postgresql", what, why);
	store->errors++;
	snprintf(store->last_error, sizeof(store->last_error), "%s", why);
}

uint64_t store_error_count(const struct store *store)
{
	return store ? store->errors : 0;
}

const char *store_last_error(const struct store *store)
{
	return store->last_error;
}

const char *store_errmsg(struct store *store)
{
	return db_errmsg(store->db);
}

enum db_kind store_kind(const struct store *store)
{
	return store->kind;
}

struct db *store_conn(struct store *store)
{
	return store->db;
}

int64_t store_changes(struct store *store)
{
	return db_changes(store->db);
}

int64_t store_last_insert_id(struct store *store)
{
	return db_last_insert_id(store->db);
}

int store_step(struct store *store, struct db_stmt *st)
{
	int rc = db_step(st);

	if (rc == DB_ERROR)
		store_failed(store, "reading: ", db_errmsg(store->db));
	return rc;
}

int store_exec(struct store *store, const char *sql)
{
	if (db_exec(store->db, sql) < 0) {
		store_failed(store, "", db_errmsg(store->db));
		return -1;
	}
	return 0;
}

/* SQLite keeps the version in the file header; PostgreSQL in a table of
 * its own, created with the schema. -1: unreadable; -2: a PostgreSQL
 * database that holds tables but not cordon's. */
static int schema_version(struct store *store)
{
	struct db_stmt *st;
	int v = -1;

	if (store->kind == DB_SQLITE) {
		st = store_prepare(store, "PRAGMA user_version");
	} else {
		st = store_prepare(store,
				   "SELECT CASE WHEN to_regclass('cordon_schema') IS NOT NULL THEN 1"
				   " WHEN EXISTS (SELECT 1 FROM pg_tables WHERE schemaname = current_schema())"
				   " THEN -2 ELSE 0 END");
		if (st && store_step(store, st) == DB_ROW && (v = db_column_int(st, 0)) == 1) {
			db_finalize(st);
			v = -1;
			st = store_prepare(store, "SELECT max(version) FROM cordon_schema");
		} else {
			db_finalize(st);
			return v;
		}
	}
	if (st && store_step(store, st) == DB_ROW)
		v = db_column_int(st, 0);
	db_finalize(st);
	return v;
}

static int set_schema_version(struct store *store, int v)
{
	char sql[200];

	if (store->kind == DB_SQLITE)
		snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", v);
	else
		snprintf(sql, sizeof(sql),
			 "CREATE TABLE IF NOT EXISTS cordon_schema (version BIGINT NOT NULL);"
			 "DELETE FROM cordon_schema; INSERT INTO cordon_schema VALUES (%d)", v);
	return store_exec(store, sql);
}

static int store_migrate(struct store *store, char *err, size_t errlen)
{
	int v = schema_version(store);

	if (v == -2) {
		snprintf(err, errlen, "database holds tables but is not a cordon store "
			 "(no cordon_schema table): give cordond a database of its own");
		return -1;
	}
	if (v < 0) {
		snprintf(err, errlen, "cannot read the database's schema version: %s",
			 store->last_error);
		return -1;
	}
	if (v > store_schema_version) {
		snprintf(err, errlen, "database schema version %d is newer than this cordond (%d)",
			 v, store_schema_version);
		return -1;
	}
	if (v < store_schema_version && store->kind == DB_SQLITE &&
	    store_backup_before_migrate(store_sqlite(store), v, store_schema_version, err, errlen) < 0)
		return -1;
	for (; v < store_schema_version; v++) {
		if (store_begin(store) < 0 || store_exec(store, store_migrations[v]) < 0 ||
		    set_schema_version(store, v + 1) < 0 || store_commit(store) < 0) {
			snprintf(err, errlen, "schema migration %d -> %d failed: %s", v, v + 1,
				 store->last_error);
			store_rollback(store);
			return -1;
		}
		log_info("database schema migrated to version %d", v + 1);
	}
	return 0;
}

/* An ack to an operator means the change is on disk: FULL sync.
 * temp_store in memory: each fired step runs in a savepoint (so one
 * failing step never rolls back its batch), whose sub-journal would
 * otherwise be written to a temp file page by page. */
static const char sqlite_setup[] = "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
				   "PRAGMA foreign_keys=ON; PRAGMA temp_store=MEMORY;";

/* Text is compared bytewise (as SQLite does) by the columns' collation;
 * the session must be able to write. */
static int pg_setup(struct store *store, char *err, size_t errlen)
{
	struct db_stmt *st = store_prepare(store, "SELECT current_setting('transaction_read_only')");
	int ro = -1;

	if (st && store_step(store, st) == DB_ROW)
		ro = !strcmp(db_column_text(st, 0), "on");
	db_finalize(st);
	if (ro) {
		snprintf(err, errlen, ro < 0 ? "cannot read the session's settings: %s"
			 : "the PostgreSQL session is read-only (a standby? give a conninfo with "
			   "target_session_attrs=read-write)%s", ro < 0 ? store->last_error : "");
		return -1;
	}
	return store_exec(store, "SET client_min_messages = warning");
}

static int store_open_parsed(struct store *store, const char *target, char *err, size_t errlen)
{
	char dir[4096];

	if (store->kind == DB_SQLITE && path_dirname(target, dir, sizeof(dir)) == 0)
		mkdir_parents(dir, 0750);
	if (!(store->db = db_open(store->kind, target, err, errlen)))
		return -1;
	if (store->kind == DB_SQLITE ? store_exec(store, sqlite_setup) < 0
				     : pg_setup(store, err, errlen) < 0)
		return -1;
	return store_migrate(store, err, errlen);
}

struct store *store_open(const char *url, char *err, size_t errlen)
{
	struct store *store = calloc(1, sizeof(*store));
	char target[4096];

	if (!store) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	err[0] = '\0';
	if (db_parse_url(url, &store->kind, target, sizeof(target), err, errlen) < 0 ||
	    store_open_parsed(store, target, err, errlen) < 0) {
		if (!err[0])
			snprintf(err, errlen, "cannot initialise database %s: %s", url,
				 store->last_error);
		store_close(store);
		return NULL;
	}
	return store;
}

void store_close(struct store *store)
{
	if (!store)
		return;
	for (size_t i = 0; i < store->n_cached; i++)
		db_finalize(store->cache[i].st);
	db_close(store->db);
	free(store);
}

sqlite3 *store_sqlite(struct store *store)
{
	return store->db ? db_sqlite_handle(store->db) : NULL;
}

int store_begin(struct store *store)
{
	store->last_error[0] = '\0';
	return store_exec(store, "BEGIN IMMEDIATE");
}

int store_commit(struct store *store)
{
	return store_exec(store, "COMMIT");
}

void store_rollback(struct store *store)
{
	if (db_in_transaction(store->db))
		store_exec(store, "ROLLBACK");
}

struct db_stmt *store_prepare(struct store *store, const char *sql)
{
	struct db_stmt *st = db_prepare(store->db, sql);

	if (!st) {
		log_errorx("%s prepare: %s (%s)", store->kind == DB_SQLITE ? "sqlite" : "postgresql",
			   db_errmsg(store->db), sql);
		store->errors++;
	}
	return st;
}

struct db_stmt *store_cached(struct store *store, const char *sql)
{
	struct db_stmt *st;

	for (size_t i = 0; i < store->n_cached; i++)
		if (store->cache[i].sql == sql) {
			db_reset(store->cache[i].st);
			db_clear_bindings(store->cache[i].st);
			return store->cache[i].st;
		}
	if (!(st = store_prepare(store, sql)))
		return NULL;
	if (store->n_cached == STMT_CACHE)
		fatalx("statement cache full: raise STMT_CACHE"); /* a code change, not data */
	store->cache[store->n_cached++] = (struct cached_stmt){ sql, st };
	return st;
}

int store_run(struct store *store, struct db_stmt *stmt)
{
	int rc;

	if (!stmt)
		return -1;
	rc = db_step(stmt);
	if (rc == DB_ERROR)
		store_failed(store, "", db_errmsg(store->db));
	db_reset(stmt);
	return rc == DB_ERROR ? -1 : 0;
}

int store_exec_stmt(struct store *store, struct db_stmt *stmt)
{
	int rc;

	if (!stmt)
		return -1;
	rc = db_step(stmt);
	if (rc != DB_DONE)
		store_failed(store, "", rc == DB_ROW ? "a statement without results returned rows"
						   : db_errmsg(store->db));
	db_finalize(stmt);
	return rc == DB_DONE ? 0 : -1;
}

uint64_t store_next_generation(struct store *store)
{
	struct db_stmt *st;
	uint64_t gen = 0;

	static const char sql[] =
		"UPDATE meta SET value = value + 1 WHERE key = 'generation' RETURNING value";

	st = store_cached(store, sql);
	if (!st)
		return 0;
	if (db_step(st) == DB_ROW)
		gen = (uint64_t)db_column_int64(st, 0);
	else
		store_failed(store, "generation: ", db_errmsg(store->db));
	db_reset(st);
	return gen;
}

int store_generation_at_least(struct store *store, uint64_t gen)
{
	static const char sql[] =
		"UPDATE meta SET value = ?1 WHERE key = 'generation' AND value < ?1";
	struct db_stmt *st = store_cached(store, sql);

	if (!st)
		return -1;
	db_bind_int64(st, 1, (int64_t)gen);
	return store_run(store, st);
}

int store_audit(struct store *store, uid_t uid, const char *action,
		const char *vm_uuid, const char *detail)
{
	return store_audit_case(store, uid, 0, action, vm_uuid, detail);
}

int store_audit_case(struct store *store, uid_t uid, int64_t case_id,
		     const char *action, const char *vm_uuid, const char *detail)
{
	static const char sql[] =
		"INSERT INTO audit (at, uid, action, vm_uuid, detail, case_id, instance)"
		" VALUES (?,?,?,?,?,?,?)";
	struct db_stmt *st = store_cached(store, sql);

	if (!st)
		return -1;
	db_bind_int64(st, 1, store_now());
	if (uid == (uid_t)-1)
		db_bind_null(st, 2);
	else
		db_bind_int64(st, 2, uid);
	db_bind_text_copy(st, 3, action);
	db_bind_text_copy(st, 4, vm_uuid);
	db_bind_text_copy(st, 5, detail);
	if (case_id)
		db_bind_int64(st, 6, case_id);
	else
		db_bind_null(st, 6);
	db_bind_text(st, 7, store->instance[0] ? store->instance : NULL);
	return store_run(store, st);
}

/* The test clock (cordond --test-clock): once `cordonctl clock set` ran,
 * now stands still while cordond runs and moves only with clock set and
 * advance, so ladders are tested to the second. The real time that passes
 * while cordond is not running is added when it starts, so a deadline can
 * still fall due while the controller is down. Kept in the store. */
static int64_t test_now; /* 0: the real clock */

int64_t store_now(void)
{
	return test_now ? test_now : (int64_t)time(NULL);
}

int64_t store_clock_offset(void)
{
	return test_now ? test_now - (int64_t)time(NULL) : 0;
}

static int meta_put(struct store *store, const char *key, int64_t value)
{
	struct db_stmt *st = store_prepare(store, "INSERT INTO meta (key, value) VALUES (?1, ?2)"
					    " ON CONFLICT (key) DO UPDATE SET value = ?2");

	if (!st)
		return -1;
	db_bind_text(st, 1, key);
	db_bind_int64(st, 2, value);
	return store_exec_stmt(store, st);
}

static int64_t meta_get(struct store *store, const char *key)
{
	struct db_stmt *st = store_prepare(store, "SELECT value FROM meta WHERE key = ?");
	int64_t v = 0;

	if (!st)
		return 0;
	db_bind_text(st, 1, key);
	if (db_step(st) == DB_ROW)
		v = db_column_int64(st, 0);
	db_finalize(st);
	return v;
}

int store_set_test_now(struct store *store, int64_t now)
{
	if (meta_put(store, "test_now", now) < 0 ||
	    meta_put(store, "test_real_at", (int64_t)time(NULL)) < 0)
		return -1;
	test_now = now;
	return 0;
}

int store_load_test_now(struct store *store)
{
	int64_t saved = meta_get(store, "test_now"), real_at = meta_get(store, "test_real_at");

	test_now = 0;
	if (!saved)
		return 0;
	/* Add the time the controller was away (never backwards). */
	if (real_at && time(NULL) > real_at)
		saved += (int64_t)time(NULL) - real_at;
	return store_set_test_now(store, saved);
}

int store_save_test_now(struct store *store)
{
	return test_now ? store_set_test_now(store, test_now) : 0;
}

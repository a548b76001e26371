/* db.h on SQLite: a thin shell over sqlite3's own statement API. */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>

#include "db_backend.h"
#include "util.h"

struct db {
	struct db_head head;
	sqlite3 *lite;
};

struct db_stmt {
	struct db_head head;
	struct db *db;
	sqlite3_stmt *lite;
};

static struct db *lite_open(const char *path, char *err, size_t errlen)
{
	struct db *db = calloc(1, sizeof(*db));

	if (!db) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	db->head.ops = &db_sqlite_ops;
	/* NOMUTEX: one thread uses the connection (cordond has no other);
	 * the serialized mode's mutex cost ~5 % of firing 100k steps. */
	if (sqlite3_open_v2(path, &db->lite,
			    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
			    NULL) != SQLITE_OK) {
		snprintf(err, errlen, "cannot open database %s: %s", path,
			 db->lite ? sqlite3_errmsg(db->lite) : "out of memory");
		sqlite3_close(db->lite);
		free(db);
		return NULL;
	}
	sqlite3_busy_timeout(db->lite, 5000);
	return db;
}

static void lite_close(struct db *db)
{
	sqlite3_close(db->lite);
	free(db);
}

static void *lite_handle(struct db *db) { return db->lite; }
static const char *lite_errmsg(struct db *db) { return sqlite3_errmsg(db->lite); }

static int lite_exec(struct db *db, const char *sql)
{
	return sqlite3_exec(db->lite, sql, NULL, NULL, NULL) == SQLITE_OK ? 0 : -1;
}

static bool lite_in_transaction(struct db *db) { return !sqlite3_get_autocommit(db->lite); }
static int64_t lite_changes(struct db *db) { return sqlite3_changes64(db->lite); }
static int64_t lite_last_insert_id(struct db *db) { return sqlite3_last_insert_rowid(db->lite); }

static bool lite_connected(struct db *db)
{
	(void)db;
	return true;
}

static uint64_t lite_alive_ms(struct db *db)
{
	(void)db;
	return now_mono_ms(); /* no session to lose */
}

static int lite_reconnect(struct db *db)
{
	(void)db;
	return 0;
}

static struct db_stmt *lite_prepare(struct db *db, const char *sql)
{
	struct db_stmt *st = calloc(1, sizeof(*st));

	if (!st)
		return NULL;
	st->head.ops = &db_sqlite_ops;
	st->db = db;
	if (sqlite3_prepare_v3(db->lite, sql, -1, SQLITE_PREPARE_PERSISTENT, &st->lite, NULL) !=
	    SQLITE_OK) {
		free(st);
		return NULL;
	}
	return st;
}

static int lite_rc(int rc) { return rc == SQLITE_OK ? 0 : -1; }

static int lite_bind_text(struct db_stmt *st, int idx, const char *s, bool copy)
{
	return lite_rc(sqlite3_bind_text(st->lite, idx, s, -1,
					 copy ? SQLITE_TRANSIENT : SQLITE_STATIC));
}

static int lite_bind_int64(struct db_stmt *st, int idx, int64_t v)
{
	return lite_rc(sqlite3_bind_int64(st->lite, idx, v));
}

static int lite_bind_null(struct db_stmt *st, int idx)
{
	return lite_rc(sqlite3_bind_null(st->lite, idx));
}

static int lite_bind_blob(struct db_stmt *st, int idx, const void *p, size_t n)
{
	return lite_rc(sqlite3_bind_blob64(st->lite, idx, p, n, SQLITE_STATIC));
}

static int lite_bind_parameter_count(struct db_stmt *st)
{
	return sqlite3_bind_parameter_count(st->lite);
}

static int lite_step(struct db_stmt *st)
{
	int rc = sqlite3_step(st->lite);

	return rc == SQLITE_ROW ? DB_ROW : rc == SQLITE_DONE ? DB_DONE : DB_ERROR;
}

static int64_t lite_column_int64(struct db_stmt *st, int col)
{
	return sqlite3_column_int64(st->lite, col);
}

static const char *lite_column_text(struct db_stmt *st, int col)
{
	return (const char *)sqlite3_column_text(st->lite, col);
}

static bool lite_column_is_null(struct db_stmt *st, int col)
{
	return sqlite3_column_type(st->lite, col) == SQLITE_NULL;
}

static bool lite_column_is_integer(struct db_stmt *st, int col)
{
	return sqlite3_column_type(st->lite, col) == SQLITE_INTEGER;
}

static const void *lite_column_blob(struct db_stmt *st, int col)
{
	return sqlite3_column_blob(st->lite, col);
}

static size_t lite_column_bytes(struct db_stmt *st, int col)
{
	return (size_t)sqlite3_column_bytes(st->lite, col);
}

static void lite_reset(struct db_stmt *st) { sqlite3_reset(st->lite); }
static void lite_clear_bindings(struct db_stmt *st) { sqlite3_clear_bindings(st->lite); }

static void lite_finalize(struct db_stmt *st)
{
	sqlite3_finalize(st->lite);
	free(st);
}

const struct db_ops db_sqlite_ops = {
	.open = lite_open,
	.close = lite_close,
	.handle = lite_handle,
	.errmsg = lite_errmsg,
	.exec = lite_exec,
	.in_transaction = lite_in_transaction,
	.changes = lite_changes,
	.last_insert_id = lite_last_insert_id,
	.connected = lite_connected,
	.reconnect = lite_reconnect,
	.alive_ms = lite_alive_ms,
	.prepare = lite_prepare,
	.bind_text = lite_bind_text,
	.bind_int64 = lite_bind_int64,
	.bind_null = lite_bind_null,
	.bind_blob = lite_bind_blob,
	.bind_parameter_count = lite_bind_parameter_count,
	.step = lite_step,
	.column_int64 = lite_column_int64,
	.column_text = lite_column_text,
	.column_is_null = lite_column_is_null,
	.column_is_integer = lite_column_is_integer,
	.column_blob = lite_column_blob,
	.column_bytes = lite_column_bytes,
	.reset = lite_reset,
	.clear_bindings = lite_clear_bindings,
	.finalize = lite_finalize,
};

/* db.c: one SQL connection and its statements, on SQLite (db_sqlite.c) or
 * PostgreSQL (db_pg.c). The calls follow SQLite's statement API (prepare,
 * bind, step, column, reset), which every store module was written
 * against; the PostgreSQL backend rewrites the SQL (db_pg_sql.c) and runs
 * each statement when it is first stepped.
 *
 * SQL written for both: parameters ?N or ?, upserts as ON CONFLICT, no
 * rowid, no integer used as a boolean, no scalar min()/max(),
 * `INSERT OR IGNORE` only (rewritten to ON CONFLICT DO NOTHING). */
#ifndef CORDON_DB_H
#define CORDON_DB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum db_kind { DB_SQLITE, DB_POSTGRESQL };

/* What db_step returns. */
#define DB_ROW 1
#define DB_DONE 0
#define DB_ERROR (-1)

struct db;
struct db_stmt;

/* "sqlite:PATH", "postgresql:CONNINFO", "postgresql://..." or a bare path
 * (SQLite). Fills kind and the backend's target; -1 with err when bad. */
int db_parse_url(const char *url, enum db_kind *kind, char *target, size_t tlen,
		 char *err, size_t errlen);

/* Connects; NULL with the reason in err. */
struct db *db_open(enum db_kind kind, const char *target, char *err, size_t errlen);
void db_close(struct db *db);
enum db_kind db_kind(const struct db *db);
/* The underlying sqlite3 * (SQLite only, else NULL): backups. */
void *db_sqlite_handle(struct db *db);

/* Why the last call on this connection failed. */
const char *db_errmsg(struct db *db);
/* Runs one or more statements without parameters or results. 0 or -1. */
int db_exec(struct db *db, const char *sql);
bool db_in_transaction(struct db *db);
/* Rows changed by the last INSERT/UPDATE/DELETE; id of the last INSERT. */
int64_t db_changes(struct db *db);
int64_t db_last_insert_id(struct db *db);
/* False once the server connection is lost (PostgreSQL). */
bool db_connected(struct db *db);
/* A new session on the same target after a lost one (PostgreSQL; SQLite:
 * nothing to do). 0 or -1. */
int db_reconnect(struct db *db);
/* Monotonic ms at which the last statement the server answered (with
 * rows or an error) was sent: the session was alive then. */
uint64_t db_alive_ms(struct db *db);

/* PostgreSQL sessions opened from now on: 0 leaves a value to libpq or
 * the server. Keepalives (idle and interval keepalive_s; probes: ours
 * keepalive_count, the server's server_keepalive_count), how long sent
 * data may stay unacknowledged (ours, the server's), the connect limit,
 * and the statement timeout (ms, 0: none). */
struct db_pg_session {
	long connect_timeout_s;
	long keepalive_s, keepalive_count, server_keepalive_count;
	long user_timeout_ms, server_timeout_ms;
	long statement_timeout_ms;
};
void db_pg_configure(const struct db_pg_session *s);

/* NULL on error (db_errmsg says why). */
struct db_stmt *db_prepare(struct db *db, const char *sql);
/* Text binds keep the pointer (valid until the statement is stepped to
 * its end or reset); _copy takes a copy. NULL text binds NULL. */
int db_bind_text(struct db_stmt *st, int idx, const char *s);
int db_bind_text_copy(struct db_stmt *st, int idx, const char *s);
int db_bind_int64(struct db_stmt *st, int idx, int64_t v);
int db_bind_null(struct db_stmt *st, int idx);
int db_bind_blob(struct db_stmt *st, int idx, const void *p, size_t n);
int db_bind_parameter_count(struct db_stmt *st);
int db_step(struct db_stmt *st);
int64_t db_column_int64(struct db_stmt *st, int col);
int db_column_int(struct db_stmt *st, int col);
/* NULL for SQL NULL; valid until the next step or reset. */
const char *db_column_text(struct db_stmt *st, int col);
bool db_column_is_null(struct db_stmt *st, int col);
/* An integer (or boolean) column, as opposed to text. */
bool db_column_is_integer(struct db_stmt *st, int col);
const void *db_column_blob(struct db_stmt *st, int col);
size_t db_column_bytes(struct db_stmt *st, int col);
void db_reset(struct db_stmt *st);
void db_clear_bindings(struct db_stmt *st);
void db_finalize(struct db_stmt *st);

#endif

#include "db.h"

#include <stdio.h>
#include <string.h>

#include "db_backend.h"

#define OPS(x) (((const struct db_head *)(const void *)(x))->ops)

int db_parse_url(const char *url, enum db_kind *kind, char *target, size_t tlen,
		 char *err, size_t errlen)
{
	const char *t = url;

	*kind = DB_SQLITE;
	if (!strncmp(url, "sqlite:", 7)) {
		t = url + 7;
	} else if (!strncmp(url, "postgresql:", 11) && strncmp(url, "postgresql://", 13)) {
		*kind = DB_POSTGRESQL;
		t = url + 11;
	} else if (!strncmp(url, "postgresql://", 13) || !strncmp(url, "postgres://", 11)) {
		*kind = DB_POSTGRESQL; /* a URI conninfo: libpq takes it whole */
	} else if (strchr(url, ':') && url[0] != '/' && url[0] != '.') {
		snprintf(err, errlen, "database '%s': expected sqlite:PATH or postgresql:CONNINFO",
			 url);
		return -1;
	}
	if (!*t) {
		snprintf(err, errlen, "database '%s': empty %s", url,
			 *kind == DB_SQLITE ? "path" : "conninfo");
		return -1;
	}
	if (snprintf(target, tlen, "%s", t) >= (int)tlen) {
		snprintf(err, errlen, "database: too long (%zu bytes at most)", tlen - 1);
		return -1;
	}
	return 0;
}

struct db *db_open(enum db_kind kind, const char *target, char *err, size_t errlen)
{
	return (kind == DB_SQLITE ? &db_sqlite_ops : &db_pg_ops)->open(target, err, errlen);
}

void db_close(struct db *db)
{
	if (db)
		OPS(db)->close(db);
}

enum db_kind db_kind(const struct db *db)
{
	return OPS(db) == &db_sqlite_ops ? DB_SQLITE : DB_POSTGRESQL;
}

void *db_sqlite_handle(struct db *db) { return OPS(db)->handle(db); }
const char *db_errmsg(struct db *db) { return OPS(db)->errmsg(db); }
int db_exec(struct db *db, const char *sql) { return OPS(db)->exec(db, sql); }
bool db_in_transaction(struct db *db) { return OPS(db)->in_transaction(db); }
int64_t db_changes(struct db *db) { return OPS(db)->changes(db); }
int64_t db_last_insert_id(struct db *db) { return OPS(db)->last_insert_id(db); }
bool db_connected(struct db *db) { return OPS(db)->connected(db); }
int db_reconnect(struct db *db) { return OPS(db)->reconnect(db); }
uint64_t db_alive_ms(struct db *db) { return OPS(db)->alive_ms(db); }
struct db_stmt *db_prepare(struct db *db, const char *sql) { return OPS(db)->prepare(db, sql); }

int db_bind_text(struct db_stmt *st, int idx, const char *s)
{
	return OPS(st)->bind_text(st, idx, s, false);
}

int db_bind_text_copy(struct db_stmt *st, int idx, const char *s)
{
	return OPS(st)->bind_text(st, idx, s, true);
}

int db_bind_int64(struct db_stmt *st, int idx, int64_t v) { return OPS(st)->bind_int64(st, idx, v); }
int db_bind_null(struct db_stmt *st, int idx) { return OPS(st)->bind_null(st, idx); }

int db_bind_blob(struct db_stmt *st, int idx, const void *p, size_t n)
{
	return OPS(st)->bind_blob(st, idx, p, n);
}

int db_bind_parameter_count(struct db_stmt *st) { return OPS(st)->bind_parameter_count(st); }
int db_step(struct db_stmt *st) { return OPS(st)->step(st); }
int64_t db_column_int64(struct db_stmt *st, int col) { return OPS(st)->column_int64(st, col); }
int db_column_int(struct db_stmt *st, int col) { return (int)OPS(st)->column_int64(st, col); }
const char *db_column_text(struct db_stmt *st, int col) { return OPS(st)->column_text(st, col); }
bool db_column_is_null(struct db_stmt *st, int col) { return OPS(st)->column_is_null(st, col); }
bool db_column_is_integer(struct db_stmt *st, int col) { return OPS(st)->column_is_integer(st, col); }
const void *db_column_blob(struct db_stmt *st, int col) { return OPS(st)->column_blob(st, col); }
size_t db_column_bytes(struct db_stmt *st, int col) { return OPS(st)->column_bytes(st, col); }
/* NULL-safe like sqlite3_reset: callers reset what they may not have got. */
void db_reset(struct db_stmt *st)
{
	if (st)
		OPS(st)->reset(st);
}

void db_clear_bindings(struct db_stmt *st)
{
	if (st)
		OPS(st)->clear_bindings(st);
}

void db_finalize(struct db_stmt *st)
{
	if (st)
		OPS(st)->finalize(st);
}

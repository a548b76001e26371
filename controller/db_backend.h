/* The two backends behind db.h: each implements every db_* call for its
 * kind; db.c picks by the connection's kind. */
#ifndef CORDON_DB_BACKEND_H
#define CORDON_DB_BACKEND_H

#include "db.h"

struct db_ops {
	struct db *(*open)(const char *target, char *err, size_t errlen);
	void (*close)(struct db *db);
	void *(*handle)(struct db *db);
	const char *(*errmsg)(struct db *db);
	int (*exec)(struct db *db, const char *sql);
	bool (*in_transaction)(struct db *db);
	int64_t (*changes)(struct db *db);
	int64_t (*last_insert_id)(struct db *db);
	bool (*connected)(struct db *db);
	int (*reconnect)(struct db *db);
	uint64_t (*alive_ms)(struct db *db);
	struct db_stmt *(*prepare)(struct db *db, const char *sql);
	int (*bind_text)(struct db_stmt *st, int idx, const char *s, bool copy);
	int (*bind_int64)(struct db_stmt *st, int idx, int64_t v);
	int (*bind_null)(struct db_stmt *st, int idx);
	int (*bind_blob)(struct db_stmt *st, int idx, const void *p, size_t n);
	int (*bind_parameter_count)(struct db_stmt *st);
	int (*step)(struct db_stmt *st);
	int64_t (*column_int64)(struct db_stmt *st, int col);
	const char *(*column_text)(struct db_stmt *st, int col);
	bool (*column_is_null)(struct db_stmt *st, int col);
	bool (*column_is_integer)(struct db_stmt *st, int col);
	const void *(*column_blob)(struct db_stmt *st, int col);
	size_t (*column_bytes)(struct db_stmt *st, int col);
	void (*reset)(struct db_stmt *st);
	void (*clear_bindings)(struct db_stmt *st);
	void (*finalize)(struct db_stmt *st);
};

/* Every struct db and struct db_stmt starts with its ops. */
struct db_head {
	const struct db_ops *ops;
};

extern const struct db_ops db_sqlite_ops;
extern const struct db_ops db_pg_ops;

#endif

/* The parts of cordond --migrate-store (migrate_store.c): the tables as
 * the databases list them, reads of many rows, the copy of a table, the
 * checks around it. Errors: 0 / -1 with the reason in err. */
#ifndef CORDON_MIGRATE_INTERNAL_H
#define CORDON_MIGRATE_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "db.h"

struct mig_column {
	char *name;
	bool blob;     /* declared BLOB / bytea: copied as bytes */
	bool identity; /* AUTOINCREMENT / GENERATED ... AS IDENTITY */
};

struct mig_table {
	char *name;
	size_t ncols;
	struct mig_column *cols;
	bool has_blob;
};

/* The tables of a store, by name (bytewise), without the databases' own
 * (sqlite_*) and PostgreSQL's cordon_schema (the version). */
struct mig_schema {
	size_t n;
	struct mig_table *t;
};

/* migrate_schema.c */
int mig_schema_read(struct db *db, struct mig_schema *s, char *err, size_t errlen);
void mig_schema_free(struct mig_schema *s);
const struct mig_table *mig_schema_find(const struct mig_schema *s, const char *name);
bool mig_table_has_column(const struct mig_table *t, const char *name);
/* "name" quoted as an SQL identifier into buf; -1 if it does not fit. */
int mig_quote(const char *name, char *buf, size_t len);
/* The first column of the first row of sql as an integer (NULL: 0), with
 * the text parameters ?1 and ?2 (NULL: none). */
int mig_query_int64(struct db *db, const char *sql, const char *a1, const char *a2,
		    int64_t *out, char *err, size_t errlen);
int mig_count(struct db *db, const char *table, int64_t *out, char *err, size_t errlen);

/* A read of many rows that keeps few in memory: on PostgreSQL through a
 * cursor (inside the connection's transaction), fetch rows at a time. */
struct mig_reader;
struct mig_reader *mig_read_open(struct db *db, const char *sql, int fetch, char *err,
				 size_t errlen);
/* DB_ROW (columns in mig_read_stmt until the next call), DB_DONE, DB_ERROR. */
int mig_read_next(struct mig_reader *r);
struct db_stmt *mig_read_stmt(struct mig_reader *r);
/* 0, or -1 when the cursor could not be closed. NULL-safe. */
int mig_read_close(struct mig_reader *r);

/* One value of a row, kept past the row (migrate_copy.c). */
enum mig_cell_type { MIG_NULL, MIG_INT, MIG_TEXT, MIG_BLOB };
struct mig_cell {
	enum mig_cell_type type;
	int64_t i;
	char *p; /* TEXT and BLOB: len bytes and a '\0' */
	size_t len, cap;
};

/* migrate_copy.c */
int mig_cell_read(struct mig_cell *c, struct db_stmt *st, int col, bool blob);
bool mig_cell_equal(const struct mig_cell *a, const struct mig_cell *b);
/* Copies every row of t from one connection into the other; rows copied. */
int mig_copy_table(struct db *from, struct db *to, const struct mig_table *t,
		   int64_t *rows, char *err, size_t errlen);

/* migrate_verify.c */
/* 0 when every table of TO holds what the same table of a new store (ref)
 * holds, else -1 naming the first that does not. */
int mig_target_empty(struct db *to, const struct mig_schema *ts, struct db *ref,
		     const struct mig_schema *rs, char *err, size_t errlen);
/* Row counts of every table, then the latest generation of each VM and
 * the generation counter: equal in both, else -1 saying what differs.
 * vms and gen: what was compared. */
int mig_verify(struct db *from, struct db *to, const struct mig_schema *s, int64_t *vms,
	       int64_t *gen, char *err, size_t errlen);
/* TO's id counters past the highest id of each identity column, and past
 * FROM's counter (ids of deleted rows are not handed out again). */
int mig_move_sequences(struct db *from, const struct mig_schema *fs, struct db *to,
		       const struct mig_schema *ts, char *err, size_t errlen);

#endif

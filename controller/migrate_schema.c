/* The tables and columns of a store as its database lists them at run
 * time, so that a table or column a later migration adds is copied
 * without a change here; small queries; reads of many rows. */
#include "migrate_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Rows a PostgreSQL read holds at a time when the caller does not say. */
#define MIG_FETCH_DEFAULT 1000

static const char lite_tables[] =
	"SELECT name, sql FROM sqlite_master WHERE type = 'table'"
	" AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name";
static const char lite_columns[] =
	"SELECT name, type, pk FROM pragma_table_info(?1) ORDER BY cid";
static const char pg_tables[] =
	"SELECT table_name, '' FROM information_schema.tables"
	" WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'"
	" AND table_name <> 'cordon_schema' ORDER BY table_name";
static const char pg_columns[] =
	"SELECT column_name, data_type, is_identity FROM information_schema.columns"
	" WHERE table_schema = current_schema() AND table_name = ?1 ORDER BY ordinal_position";

static int add_column(struct mig_table *t, const char *name, bool blob, bool identity)
{
	struct mig_column *c = realloc(t->cols, (t->ncols + 1) * sizeof(*c));

	if (!c)
		return -1;
	t->cols = c;
	c += t->ncols;
	*c = (struct mig_column){ .name = strdup(name), .blob = blob, .identity = identity };
	if (!c->name)
		return -1;
	t->ncols++;
	t->has_blob |= blob;
	return 0;
}

/* One row of lite_columns / pg_columns. create: the table's CREATE
 * statement (SQLite), where AUTOINCREMENT is said. */
static int column_row(struct mig_table *t, struct db_stmt *st, bool lite, const char *create)
{
	const char *name = db_column_text(st, 0), *type = db_column_text(st, 1);
	const char *third = db_column_text(st, 2);
	bool blob, identity;

	if (!name)
		return -1;
	type = type ? type : "";
	if (lite) {
		blob = strcasestr(type, "BLOB") != NULL;
		identity = db_column_int(st, 2) == 1 && !strcasecmp(type, "INTEGER") && create &&
			   strcasestr(create, "AUTOINCREMENT");
	} else {
		blob = !strcmp(type, "bytea");
		identity = third && !strcmp(third, "YES");
	}
	return add_column(t, name, blob, identity);
}

static int read_columns(struct db *db, struct mig_table *t, const char *create, char *err,
			size_t errlen)
{
	bool lite = db_kind(db) == DB_SQLITE;
	struct db_stmt *st = db_prepare(db, lite ? lite_columns : pg_columns);
	int rc = DB_ERROR;

	if (st && db_bind_text(st, 1, t->name) == 0) {
		while ((rc = db_step(st)) == DB_ROW)
			if (column_row(t, st, lite, create) < 0) {
				snprintf(err, errlen, "table %s: out of memory", t->name);
				db_finalize(st);
				return -1;
			}
	}
	if (rc == DB_ERROR)
		snprintf(err, errlen, "listing the columns of table %s: %s", t->name, db_errmsg(db));
	else if (!t->ncols)
		snprintf(err, errlen, "table %s: no columns listed", t->name);
	db_finalize(st);
	return rc == DB_DONE && t->ncols ? 0 : -1;
}

static int add_table(struct db *db, struct mig_schema *s, const char *name, const char *create,
		     char *err, size_t errlen)
{
	struct mig_table *t = realloc(s->t, (s->n + 1) * sizeof(*t));

	if (!t) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	s->t = t;
	t += s->n;
	*t = (struct mig_table){ .name = strdup(name) };
	if (!t->name) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	s->n++;
	return read_columns(db, t, create, err, errlen);
}

int mig_schema_read(struct db *db, struct mig_schema *s, char *err, size_t errlen)
{
	struct db_stmt *st = db_prepare(db, db_kind(db) == DB_SQLITE ? lite_tables : pg_tables);
	int rc = DB_ERROR;

	*s = (struct mig_schema){ 0 };
	if (st) {
		while ((rc = db_step(st)) == DB_ROW) {
			const char *name = db_column_text(st, 0);

			if (!name || add_table(db, s, name, db_column_text(st, 1), err, errlen) < 0) {
				if (!name)
					snprintf(err, errlen, "listing the tables: out of memory");
				db_finalize(st);
				mig_schema_free(s);
				return -1;
			}
		}
	}
	if (rc == DB_ERROR)
		snprintf(err, errlen, "listing the tables: %s", db_errmsg(db));
	db_finalize(st);
	if (rc != DB_DONE)
		mig_schema_free(s);
	return rc == DB_DONE ? 0 : -1;
}

void mig_schema_free(struct mig_schema *s)
{
	for (size_t i = 0; i < s->n; i++) {
		for (size_t j = 0; j < s->t[i].ncols; j++)
			free(s->t[i].cols[j].name);
		free(s->t[i].cols);
		free(s->t[i].name);
	}
	free(s->t);
	*s = (struct mig_schema){ 0 };
}

const struct mig_table *mig_schema_find(const struct mig_schema *s, const char *name)
{
	for (size_t i = 0; i < s->n; i++)
		if (!strcmp(s->t[i].name, name))
			return &s->t[i];
	return NULL;
}

bool mig_table_has_column(const struct mig_table *t, const char *name)
{
	for (size_t i = 0; i < t->ncols; i++)
		if (!strcmp(t->cols[i].name, name))
			return true;
	return false;
}

int mig_quote(const char *name, char *buf, size_t len)
{
	size_t n = 0;

	if (len < 3)
		return -1;
	buf[n++] = '"';
	for (const char *p = name; *p; p++) {
		/* room for this byte (doubled if a quote), the closing quote, '\0' */
		if (n + (*p == '"' ? 2 : 1) + 2 > len)
			return -1;
		if (*p == '"')
			buf[n++] = '"';
		buf[n++] = *p;
	}
	buf[n++] = '"';
	buf[n] = '\0';
	return 0;
}

int mig_query_int64(struct db *db, const char *sql, const char *a1, const char *a2,
		    int64_t *out, char *err, size_t errlen)
{
	struct db_stmt *st = db_prepare(db, sql);
	int rc = DB_ERROR;

	*out = 0;
	if (st && (!a1 || db_bind_text(st, 1, a1) == 0) && (!a2 || db_bind_text(st, 2, a2) == 0))
		rc = db_step(st);
	if (rc == DB_ROW && !db_column_is_null(st, 0))
		*out = db_column_int64(st, 0);
	if (rc == DB_ERROR)
		snprintf(err, errlen, "%s", db_errmsg(db));
	db_finalize(st);
	return rc == DB_ERROR ? -1 : 0;
}

int mig_count(struct db *db, const char *table, int64_t *out, char *err, size_t errlen)
{
	char q[300], sql[400];

	if (mig_quote(table, q, sizeof(q)) < 0) {
		snprintf(err, errlen, "table name too long: %.60s...", table);
		return -1;
	}
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM %s", q);
	if (mig_query_int64(db, sql, NULL, NULL, out, err, errlen) == 0)
		return 0;
	snprintf(sql, sizeof(sql), "%s", err);
	snprintf(err, errlen, "counting the rows of table %s: %s", table, sql);
	return -1;
}

struct mig_reader {
	struct db *db;
	struct db_stmt *st; /* the query (SQLite) or the FETCH (PostgreSQL) */
	int fetch;          /* rows per FETCH; 0: no cursor */
	int in_batch;       /* rows of the current FETCH so far */
	bool declared;
	char cursor[32];
};

static unsigned reader_seq;

struct mig_reader *mig_read_open(struct db *db, const char *sql, int fetch, char *err,
				 size_t errlen)
{
	struct mig_reader *r = calloc(1, sizeof(*r));
	char *decl = NULL, fsql[96];

	if (!r) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	r->db = db;
	if (db_kind(db) == DB_SQLITE) {
		if ((r->st = db_prepare(db, sql)))
			return r;
		snprintf(err, errlen, "%s", db_errmsg(db));
		free(r);
		return NULL;
	}
	r->fetch = fetch > 0 ? fetch : MIG_FETCH_DEFAULT;
	snprintf(r->cursor, sizeof(r->cursor), "cordon_migrate_%u", ++reader_seq);
	if (asprintf(&decl, "DECLARE %s NO SCROLL CURSOR FOR %s", r->cursor, sql) < 0) {
		snprintf(err, errlen, "out of memory");
		free(r);
		return NULL;
	}
	r->declared = db_exec(db, decl) == 0;
	free(decl);
	snprintf(fsql, sizeof(fsql), "FETCH FORWARD %d FROM %s", r->fetch, r->cursor);
	if (!r->declared || !(r->st = db_prepare(db, fsql))) {
		snprintf(err, errlen, "%s", db_errmsg(db));
		(void)mig_read_close(r);
		return NULL;
	}
	return r;
}

int mig_read_next(struct mig_reader *r)
{
	int rc = db_step(r->st);

	if (!r->fetch || rc == DB_ERROR)
		return rc;
	if (rc == DB_DONE && r->in_batch == r->fetch) {
		/* A whole batch came: there may be more. */
		db_reset(r->st);
		r->in_batch = 0;
		rc = db_step(r->st);
	}
	if (rc == DB_ROW)
		r->in_batch++;
	return rc;
}

struct db_stmt *mig_read_stmt(struct mig_reader *r)
{
	return r->st;
}

int mig_read_close(struct mig_reader *r)
{
	char sql[64];
	int rc = 0;

	if (!r)
		return 0;
	db_finalize(r->st);
	if (r->declared) {
		snprintf(sql, sizeof(sql), "CLOSE %s", r->cursor);
		rc = db_exec(r->db, sql);
	}
	free(r);
	return rc;
}

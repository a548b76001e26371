/* The copy of one table: its rows read from FROM a batch at a time, each
 * value bound as what it is (integer, text, blob, NULL), inserted into TO
 * with statements prepared once per table that take many rows each. A
 * batch TO refuses is rolled back to its savepoint and its rows inserted
 * one at a time, so that the error names the row. */
#include "migrate_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "termsafe.h"

/* Parameters of one multi-row INSERT, and rows at most. */
#define MIG_PARAMS 2000
#define MIG_ROWS 500
/* Tables with a blob column (report mails, up to 12 MiB each): few rows
 * in memory at a time, read and written. */
#define MIG_BLOB_FETCH 8
#define MIG_BLOB_ROWS 4
#define MIG_NAME_MAX 256

static int cell_set(struct mig_cell *c, enum mig_cell_type type, const void *p, size_t n)
{
	if (n + 1 > c->cap) {
		size_t cap = n + 1 < 64 ? 64 : n + 1;
		char *q = realloc(c->p, cap);

		if (!q)
			return -1;
		c->p = q;
		c->cap = cap;
	}
	if (n)
		memcpy(c->p, p, n);
	c->p[n] = '\0';
	c->len = n;
	c->type = type;
	return 0;
}

int mig_cell_read(struct mig_cell *c, struct db_stmt *st, int col, bool blob)
{
	const void *p;
	size_t n;

	if (db_column_is_null(st, col)) {
		c->type = MIG_NULL;
		return 0;
	}
	if (blob) {
		p = db_column_blob(st, col);
		n = db_column_bytes(st, col);
		return p || !n ? cell_set(c, MIG_BLOB, p, n) : -1;
	}
	if (db_column_is_integer(st, col)) {
		c->type = MIG_INT;
		c->i = db_column_int64(st, col);
		return 0;
	}
	p = db_column_text(st, col);
	return p ? cell_set(c, MIG_TEXT, p, strlen(p)) : -1;
}

bool mig_cell_equal(const struct mig_cell *a, const struct mig_cell *b)
{
	if (a->type != b->type)
		return false;
	if (a->type == MIG_INT)
		return a->i == b->i;
	return a->type == MIG_NULL || (a->len == b->len && !memcmp(a->p, b->p, a->len));
}

/* ---------------------------------------------------------------- SQL */

static int put_name(FILE *f, const char *name)
{
	char q[MIG_NAME_MAX];

	return mig_quote(name, q, sizeof(q)) < 0 || fputs(q, f) == EOF ? -1 : 0;
}

static int put_columns(FILE *f, const struct mig_table *t)
{
	for (size_t c = 0; c < t->ncols; c++)
		if ((c && fputs(", ", f) == EOF) || put_name(f, t->cols[c].name) < 0)
			return -1;
	return 0;
}

/* open_memstream sets *sql at fclose. */
static char *sql_end(FILE *f, char **sql, bool ok)
{
	if (fclose(f) != 0 || !ok) {
		free(*sql);
		return NULL;
	}
	return *sql;
}

/* SELECT "a", "b" FROM "t" */
static char *select_sql(const struct mig_table *t)
{
	char *sql = NULL;
	size_t len;
	FILE *f = open_memstream(&sql, &len);

	if (!f)
		return NULL;
	return sql_end(f, &sql, fputs("SELECT ", f) != EOF && put_columns(f, t) == 0 &&
			       fputs(" FROM ", f) != EOF && put_name(f, t->name) == 0);
}

/* INSERT INTO "t" ("a", "b") VALUES (?1, ?2), (?3, ?4), ... */
static char *insert_sql(const struct mig_table *t, size_t rows)
{
	char *sql = NULL;
	size_t len;
	FILE *f = open_memstream(&sql, &len);
	bool ok;
	int p = 0;

	if (!f)
		return NULL;
	ok = fputs("INSERT INTO ", f) != EOF && put_name(f, t->name) == 0 &&
	     fputs(" (", f) != EOF && put_columns(f, t) == 0 && fputs(") VALUES ", f) != EOF;
	for (size_t r = 0; ok && r < rows; r++)
		for (size_t c = 0; ok && c < t->ncols; c++)
			ok = fprintf(f, "%s?%d%s", c ? ", " : r ? ", (" : "(", ++p,
				     c + 1 == t->ncols ? ")" : "") > 0;
	return sql_end(f, &sql, ok);
}

/* ---------------------------------------------------------------- batch */

struct batch {
	const struct mig_table *t;
	struct db *to;
	struct db_stmt *many, *one; /* rows_max rows / one row */
	size_t rows_max, nrows;
	int64_t done;               /* rows inserted before the buffered ones */
	struct mig_cell *cells;     /* rows_max rows of t->ncols values */
};

static int batch_init(struct batch *b, struct db *to, const struct mig_table *t, char *err,
		      size_t errlen)
{
	char *one, *many = NULL;
	size_t n = MIG_PARAMS / t->ncols;

	b->t = t;
	b->to = to;
	b->rows_max = t->has_blob ? MIG_BLOB_ROWS : n < 1 ? 1 : n > MIG_ROWS ? MIG_ROWS : n;
	b->cells = calloc(b->rows_max * t->ncols, sizeof(*b->cells));
	one = insert_sql(t, 1);
	if (b->rows_max > 1)
		many = insert_sql(t, b->rows_max);
	if (!b->cells || !one || (b->rows_max > 1 && !many)) {
		snprintf(err, errlen, "table %s: out of memory (or a name too long)", t->name);
	} else if (!(b->one = db_prepare(to, one)) ||
		   (many && !(b->many = db_prepare(to, many)))) {
		snprintf(err, errlen, "table %s: preparing the INSERT on TO: %s", t->name,
			 db_errmsg(to));
	}
	free(one);
	free(many);
	return b->one && (b->rows_max == 1 || b->many) ? 0 : -1;
}

static void batch_free(struct batch *b)
{
	db_finalize(b->many);
	db_finalize(b->one);
	for (size_t i = 0; b->cells && i < b->rows_max * b->t->ncols; i++)
		free(b->cells[i].p);
	free(b->cells);
}

static int bind_row(struct db_stmt *st, const struct mig_cell *row, size_t ncols, int first)
{
	for (size_t c = 0; c < ncols; c++) {
		const struct mig_cell *v = &row[c];
		int idx = first + (int)c, rc;

		switch (v->type) {
		case MIG_NULL: rc = db_bind_null(st, idx); break;
		case MIG_INT: rc = db_bind_int64(st, idx, v->i); break;
		case MIG_TEXT: rc = db_bind_text(st, idx, v->p); break;
		default: rc = db_bind_blob(st, idx, v->p, v->len); break;
		}
		if (rc < 0)
			return -1;
	}
	return 0;
}

/* Inserts the buffered rows r0 .. r0 + n - 1 with st (made for n rows). */
static int insert(struct batch *b, struct db_stmt *st, size_t r0, size_t n, char *why,
		  size_t whylen)
{
	size_t nc = b->t->ncols;
	int rc = DB_ERROR;
	bool bound = true;

	for (size_t i = 0; bound && i < n; i++)
		bound = bind_row(st, b->cells + (r0 + i) * nc, nc, 1 + (int)(i * nc)) == 0;
	if (bound)
		rc = db_step(st);
	if (rc != DB_DONE)
		snprintf(why, whylen, "%s%s", bound ? "" : "binding a value: ",
			 rc == DB_ROW ? "the INSERT returned rows" : db_errmsg(b->to));
	db_reset(st);
	db_clear_bindings(st);
	return rc == DB_DONE ? 0 : -1;
}

/* "row N (first column = its value)": which row TO refused. */
static void row_error(const struct batch *b, size_t r, const char *why, char *err, size_t errlen)
{
	const struct mig_cell *v = &b->cells[r * b->t->ncols];
	char val[96];
	char *safe = NULL;

	if (v->type == MIG_NULL)
		snprintf(val, sizeof(val), "NULL");
	else if (v->type == MIG_INT)
		snprintf(val, sizeof(val), "%lld", (long long)v->i);
	else if (v->type == MIG_BLOB)
		snprintf(val, sizeof(val), "%zu bytes", v->len);
	else if ((safe = termsafe_dup(v->p, 0)))
		snprintf(val, sizeof(val), "'%.60s%s'", safe, strlen(safe) > 60 ? "..." : "");
	else
		snprintf(val, sizeof(val), "(text)");
	free(safe);
	snprintf(err, errlen, "table %s, row %lld (%s = %s): %s", b->t->name,
		 (long long)(b->done + (int64_t)r + 1), b->t->cols[0].name, val, why);
}

static int flush(struct batch *b, char *err, size_t errlen)
{
	char why[512];

	if (b->nrows == b->rows_max && b->many) {
		if (db_exec(b->to, "SAVEPOINT cordon_migrate") < 0) {
			snprintf(err, errlen, "table %s: SAVEPOINT on TO: %s", b->t->name,
				 db_errmsg(b->to));
			return -1;
		}
		if (insert(b, b->many, 0, b->nrows, why, sizeof(why)) == 0) {
			if (db_exec(b->to, "RELEASE SAVEPOINT cordon_migrate") < 0) {
				snprintf(err, errlen, "table %s: RELEASE on TO: %s", b->t->name,
					 db_errmsg(b->to));
				return -1;
			}
			b->done += (int64_t)b->nrows;
			b->nrows = 0;
			return 0;
		}
		/* Which row: the batch's rows again, one at a time. */
		if (db_exec(b->to, "ROLLBACK TO SAVEPOINT cordon_migrate") < 0 ||
		    db_exec(b->to, "RELEASE SAVEPOINT cordon_migrate") < 0) {
			snprintf(err, errlen, "table %s, rows %lld-%lld: %s", b->t->name,
				 (long long)b->done + 1, (long long)(b->done + (int64_t)b->nrows), why);
			return -1;
		}
	}
	for (size_t r = 0; r < b->nrows; r++)
		if (insert(b, b->one, r, 1, why, sizeof(why)) < 0) {
			row_error(b, r, why, err, errlen);
			return -1;
		}
	b->done += (int64_t)b->nrows;
	b->nrows = 0;
	return 0;
}

/* Reads every row of t from r into the batch, flushing it when full. */
static int copy_rows(struct batch *b, struct db *from, struct mig_reader *r, char *err,
		     size_t errlen)
{
	const struct mig_table *t = b->t;
	int step;

	while ((step = mig_read_next(r)) == DB_ROW) {
		struct mig_cell *row = b->cells + b->nrows * t->ncols;

		for (size_t c = 0; c < t->ncols; c++)
			if (mig_cell_read(&row[c], mig_read_stmt(r), (int)c, t->cols[c].blob) < 0) {
				snprintf(err, errlen, "table %s, row %lld: out of memory", t->name,
					 (long long)(b->done + (int64_t)b->nrows + 1));
				return -1;
			}
		if (++b->nrows == b->rows_max && flush(b, err, errlen) < 0)
			return -1;
	}
	if (step == DB_ERROR) {
		snprintf(err, errlen, "table %s: reading row %lld from FROM: %s", t->name,
			 (long long)(b->done + (int64_t)b->nrows + 1), db_errmsg(from));
		return -1;
	}
	return flush(b, err, errlen);
}

int mig_copy_table(struct db *from, struct db *to, const struct mig_table *t, int64_t *rows,
		   char *err, size_t errlen)
{
	struct batch b = { 0 };
	struct mig_reader *r = NULL;
	char *sel = select_sql(t), why[512];
	int rc = -1;

	*rows = 0;
	if (!sel) {
		snprintf(err, errlen, "table %s: out of memory (or a name too long)", t->name);
	} else if (batch_init(&b, to, t, err, errlen) == 0) {
		if (!(r = mig_read_open(from, sel, t->has_blob ? MIG_BLOB_FETCH : 0, why,
					sizeof(why))))
			snprintf(err, errlen, "table %s: reading FROM: %s", t->name, why);
		else if (copy_rows(&b, from, r, err, errlen) == 0)
			rc = 0;
	}
	if (rc == 0 && mig_read_close(r) < 0) {
		snprintf(err, errlen, "table %s: closing the read of FROM: %s", t->name,
			 db_errmsg(from));
		rc = -1;
	} else if (rc < 0) {
		(void)mig_read_close(r);
	}
	*rows = b.done;
	if (b.t)
		batch_free(&b);
	free(sel);
	return rc;
}

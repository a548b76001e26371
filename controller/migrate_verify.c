/* The checks around the copy: TO holds nothing but what a new store holds;
 * after the copy, FROM and TO agree on every table's rows and on each
 * VM's latest generation; TO's id counters start past the copied ids. */
#include "migrate_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MIG_SQL_MAX 4096

/* SELECT "a", "b" FROM "t" ORDER BY 1, 2 into sql. */
static int ordered_select(const struct mig_table *t, char *sql, size_t len)
{
	char q[256];
	size_t n = (size_t)snprintf(sql, len, "SELECT ");

	for (size_t c = 0; c < t->ncols && n < len; c++) {
		if (mig_quote(t->cols[c].name, q, sizeof(q)) < 0)
			return -1;
		n += (size_t)snprintf(sql + n, len - n, "%s%s", c ? ", " : "", q);
	}
	if (n >= len || mig_quote(t->name, q, sizeof(q)) < 0)
		return -1;
	n += (size_t)snprintf(sql + n, len - n, " FROM %s ORDER BY ", q);
	for (size_t c = 0; c < t->ncols && n < len; c++)
		n += (size_t)snprintf(sql + n, len - n, "%s%zu", c ? ", " : "", c + 1);
	return n < len ? 0 : -1;
}

/* One step of two reads side by side: 1 a row in each, 0 both done, 2 one
 * ended first (*a_more: the other is ra), -1 an error (why). */
static int step_both(struct mig_reader *ra, struct mig_reader *rb, struct db *a, struct db *b,
		     bool *a_more, char *why, size_t whylen)
{
	int sa = mig_read_next(ra), sb = sa == DB_ERROR ? DB_ERROR : mig_read_next(rb);

	if (sa == DB_ERROR || sb == DB_ERROR) {
		snprintf(why, whylen, "%s", db_errmsg(sa == DB_ERROR ? a : b));
		return -1;
	}
	*a_more = sa == DB_ROW;
	return sa != sb ? 2 : sa == DB_ROW;
}

/* 1 when the rows of t are the same in both (in order of all columns),
 * 0 when not, -1 on error. */
static int same_rows(struct db *a, struct db *b, const struct mig_table *t, char *err,
		     size_t errlen)
{
	char sql[MIG_SQL_MAX], why[512] = "";
	struct mig_reader *ra = NULL, *rb = NULL;
	struct mig_cell ca = { 0 }, cb = { 0 };
	int s = -1, same = 1;
	bool a_more;

	if (ordered_select(t, sql, sizeof(sql)) < 0) {
		snprintf(err, errlen, "table %s: names too long", t->name);
		return -1;
	}
	if ((ra = mig_read_open(a, sql, 0, why, sizeof(why))) &&
	    (rb = mig_read_open(b, sql, 0, why, sizeof(why))))
		while (same && (s = step_both(ra, rb, a, b, &a_more, why, sizeof(why))) == 1)
			for (size_t c = 0; same && c < t->ncols; c++) {
				bool blob = t->cols[c].blob;

				if (mig_cell_read(&ca, mig_read_stmt(ra), (int)c, blob) < 0 ||
				    mig_cell_read(&cb, mig_read_stmt(rb), (int)c, blob) < 0) {
					snprintf(why, sizeof(why), "out of memory");
					s = -1;
					break;
				}
				same = mig_cell_equal(&ca, &cb);
			}
	free(ca.p);
	free(cb.p);
	(void)mig_read_close(ra);
	(void)mig_read_close(rb);
	if (s < 0) {
		snprintf(err, errlen, "comparing table %s: %s", t->name, why);
		return -1;
	}
	return same && s == 0;
}

int mig_target_empty(struct db *to, const struct mig_schema *ts, struct db *ref,
		     const struct mig_schema *rs, char *err, size_t errlen)
{
	for (size_t i = 0; i < ts->n; i++) {
		const struct mig_table *t = &ts->t[i], *rt = mig_schema_find(rs, t->name);
		int64_t n, m = 0;
		int same;

		if (mig_count(to, t->name, &n, err, errlen) < 0 ||
		    (rt && mig_count(ref, t->name, &m, err, errlen) < 0))
			return -1;
		if (n != m) {
			snprintf(err, errlen, "TO is not empty: table %s holds %lld rows (a new store "
				 "%lld)", t->name, (long long)n, (long long)m);
			return -1;
		}
		if (!n)
			continue;
		for (size_t c = 0; c < t->ncols; c++)
			if (!mig_table_has_column(rt, t->cols[c].name)) {
				snprintf(err, errlen, "TO's table %s has a column %s this cordond does "
					 "not know", t->name, t->cols[c].name);
				return -1;
			}
		if ((same = same_rows(to, ref, t, err, errlen)) < 0)
			return -1;
		if (!same) {
			snprintf(err, errlen, "TO is not empty: table %s holds other rows than a new "
				 "store's (it was used)", t->name);
			return -1;
		}
	}
	return 0;
}

static int verify_counts(struct db *from, struct db *to, const struct mig_schema *s, char *err,
			 size_t errlen)
{
	for (size_t i = 0; i < s->n; i++) {
		int64_t a, b;

		if (mig_count(from, s->t[i].name, &a, err, errlen) < 0 ||
		    mig_count(to, s->t[i].name, &b, err, errlen) < 0)
			return -1;
		if (a != b) {
			snprintf(err, errlen, "verification failed: table %s: %lld rows in FROM, "
				 "%lld in TO", s->t[i].name, (long long)a, (long long)b);
			return -1;
		}
	}
	return 0;
}

/* The latest generation of each VM, row by row in the order of vm_uuid. */
static int verify_desired(struct db *from, struct db *to, int64_t *vms, char *err,
			  size_t errlen)
{
	static const char sql[] = "SELECT vm_uuid, generation FROM desired ORDER BY vm_uuid";
	struct mig_reader *ra = NULL, *rb = NULL;
	char why[512];
	int s = -1;
	bool a_more;

	*vms = 0;
	if (!(ra = mig_read_open(from, sql, 0, why, sizeof(why))) ||
	    !(rb = mig_read_open(to, sql, 0, why, sizeof(why)))) {
		snprintf(err, errlen, "verifying desired on %s: %s", ra ? "TO" : "FROM", why);
		goto out;
	}
	while ((s = step_both(ra, rb, from, to, &a_more, why, sizeof(why))) == 1) {
		struct db_stmt *a = mig_read_stmt(ra), *b = mig_read_stmt(rb);
		const char *ua = db_column_text(a, 0), *ub = db_column_text(b, 0);

		if (!ua || !ub || strcmp(ua, ub)) {
			snprintf(err, errlen, "verification failed: desired: the next VM is %.80s in "
				 "FROM, %.80s in TO", ua ? ua : "NULL", ub ? ub : "NULL");
			s = -1;
			goto out;
		}
		if (db_column_int64(a, 1) != db_column_int64(b, 1)) {
			snprintf(err, errlen, "verification failed: desired: VM %.80s: generation %lld "
				 "in FROM, %lld in TO", ua, (long long)db_column_int64(a, 1),
				 (long long)db_column_int64(b, 1));
			s = -1;
			goto out;
		}
		(*vms)++;
	}
	if (s < 0)
		snprintf(err, errlen, "verifying desired: %s", why);
	if (s == 2) {
		const char *u = db_column_text(mig_read_stmt(a_more ? ra : rb), 0);

		snprintf(err, errlen, "verification failed: desired: VM %.80s is in %s, not in %s",
			 u ? u : "NULL", a_more ? "FROM" : "TO", a_more ? "TO" : "FROM");
	}
out:
	(void)mig_read_close(ra);
	(void)mig_read_close(rb);
	return s == 0 ? 0 : -1;
}

int mig_verify(struct db *from, struct db *to, const struct mig_schema *s, int64_t *vms,
	       int64_t *gen, char *err, size_t errlen)
{
	static const char sql[] = "SELECT value FROM meta WHERE key = 'generation'";
	int64_t b;
	char why[512];

	if (verify_counts(from, to, s, err, errlen) < 0 ||
	    verify_desired(from, to, vms, err, errlen) < 0)
		return -1;
	if (mig_query_int64(from, sql, NULL, NULL, gen, why, sizeof(why)) < 0 ||
	    mig_query_int64(to, sql, NULL, NULL, &b, why, sizeof(why)) < 0) {
		snprintf(err, errlen, "verifying the generation counter: %s", why);
		return -1;
	}
	if (*gen != b) {
		snprintf(err, errlen, "verification failed: meta generation: %lld in FROM, %lld in TO",
			 (long long)*gen, (long long)b);
		return -1;
	}
	return 0;
}

/* FROM's id counter of t.c (0 when it has none): SQLite's sqlite_sequence,
 * PostgreSQL's identity sequence. */
static int source_counter(struct db *from, const char *qtable, const char *table,
			  const char *col, int64_t *out, char *err, size_t errlen)
{
	if (db_kind(from) == DB_SQLITE)
		return mig_query_int64(from, "SELECT seq FROM sqlite_sequence WHERE name = ?1",
				       table, NULL, out, err, errlen);
	return mig_query_int64(from, "SELECT pg_sequence_last_value(CAST("
			       "pg_get_serial_sequence(?1, ?2) AS regclass))", qtable, col, out,
			       err, errlen);
}

/* TO's counter of t.c at n: the next id handed out is n + 1. */
static int set_counter(struct db *to, const char *qtable, const char *table, const char *col,
		       int64_t n, char *err, size_t errlen)
{
	char sql[300];
	int64_t dummy;

	if (db_kind(to) == DB_POSTGRESQL) {
		snprintf(sql, sizeof(sql), "SELECT setval(CAST(pg_get_serial_sequence(?1, ?2) AS "
			 "regclass), %lld)", (long long)n);
		return mig_query_int64(to, sql, qtable, col, &dummy, err, errlen);
	}
	snprintf(sql, sizeof(sql), "UPDATE sqlite_sequence SET seq = %lld WHERE name = ?1 AND "
		 "seq < %lld", (long long)n, (long long)n);
	if (mig_query_int64(to, sql, table, NULL, &dummy, err, errlen) < 0)
		return -1;
	snprintf(sql, sizeof(sql), "INSERT INTO sqlite_sequence (name, seq) SELECT ?1, %lld "
		 "WHERE NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = ?1)", (long long)n);
	return mig_query_int64(to, sql, table, NULL, &dummy, err, errlen);
}

static int move_one(struct db *from, const struct mig_table *ft, struct db *to,
		    const struct mig_table *t, const struct mig_column *c, char *err, size_t errlen)
{
	char qt[256], qc[256], sql[600], why[512];
	int64_t max, high = 0;

	if (mig_quote(t->name, qt, sizeof(qt)) < 0 || mig_quote(c->name, qc, sizeof(qc)) < 0) {
		snprintf(err, errlen, "table %s: names too long", t->name);
		return -1;
	}
	snprintf(sql, sizeof(sql), "SELECT max(%s) FROM %s", qc, qt);
	if (mig_query_int64(to, sql, NULL, NULL, &max, why, sizeof(why)) < 0)
		goto fail;
	for (size_t i = 0; ft && i < ft->ncols; i++)
		if (!strcmp(ft->cols[i].name, c->name) && ft->cols[i].identity &&
		    source_counter(from, qt, t->name, c->name, &high, why, sizeof(why)) < 0)
			goto fail;
	if (high > max)
		max = high;
	if (max <= 0 || set_counter(to, qt, t->name, c->name, max, why, sizeof(why)) == 0)
		return 0;
fail:
	snprintf(err, errlen, "moving the id counter of %s.%s: %s", t->name, c->name, why);
	return -1;
}

int mig_move_sequences(struct db *from, const struct mig_schema *fs, struct db *to,
		       const struct mig_schema *ts, char *err, size_t errlen)
{
	for (size_t i = 0; i < ts->n; i++)
		for (size_t j = 0; j < ts->t[i].ncols; j++)
			if (ts->t[i].cols[j].identity &&
			    move_one(from, mig_schema_find(fs, ts->t[i].name), to, &ts->t[i],
				     &ts->t[i].cols[j], err, errlen) < 0)
				return -1;
	return 0;
}

/* cordond --migrate-store FROM TO: one store copied into another, SQLite
 * or PostgreSQL either way. Both are opened as cordond opens its store
 * (FROM migrated to this cordond's schema if older, TO's schema created),
 * the tables and columns come from FROM's database (migrate_schema.c), and
 * every row of every table is copied in one transaction on TO, read from
 * one snapshot of FROM. TO must hold nothing but what a new store holds;
 * before COMMIT the row counts and each VM's latest generation are
 * compared (migrate_verify.c). Any error: ROLLBACK, TO as it was. */
#include "migrate_store.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "leader.h"
#include "log.h"
#include "migrate_internal.h"
#include "store.h"
#include "termsafe.h"

struct migration {
	struct store *from, *to, *ref; /* ref: a new store, in memory */
	struct db *f, *t;
	struct mig_schema fs, ts, rs;
	int64_t *rows; /* copied, per table of fs */
	int64_t total, vms, gen;
};

static const char *kind_name(struct db *db)
{
	return db_kind(db) == DB_SQLITE ? "SQLite" : "PostgreSQL";
}

/* No cordond leads the store on db (PostgreSQL; on SQLite the operator
 * must know): what it wrote after the snapshot would be lost. */
static int not_in_use(struct db *db, const char *side, char *err, size_t errlen)
{
	bool held;

	if (leader_lock_held(db, &held) < 0) {
		snprintf(err, errlen, "%s: is a cordond running on it? %s", side, db_errmsg(db));
		return -1;
	}
	if (held)
		snprintf(err, errlen, "%s is in use: a cordond leads it (stop every cordond of the "
			 "store first)", side);
	return held ? -1 : 0;
}

/* FROM must exist and be a cordon store: store_open would create one. */
static int check_source(const char *url, char *err, size_t errlen)
{
	char target[4096], why[512];
	enum db_kind kind;
	struct stat sb;
	struct db *db;
	int64_t v = 0;
	int rc;

	if (db_parse_url(url, &kind, target, sizeof(target), why, sizeof(why)) < 0) {
		snprintf(err, errlen, "FROM: %s", why);
		return -1;
	}
	if (kind == DB_SQLITE && stat(target, &sb) < 0) {
		snprintf(err, errlen, "FROM %.1000s: %s", target, strerror(errno));
		return -1;
	}
	if (!(db = db_open(kind, target, why, sizeof(why)))) {
		snprintf(err, errlen, "FROM: %s", why);
		return -1;
	}
	rc = mig_query_int64(db, kind == DB_SQLITE ? "PRAGMA user_version"
			     : "SELECT CASE WHEN to_regclass('cordon_schema') IS NULL THEN 0 ELSE 1 END",
			     NULL, NULL, &v, why, sizeof(why));
	if (rc < 0)
		snprintf(err, errlen, "FROM: reading its schema version: %s", why);
	else if (v <= 0)
		snprintf(err, errlen, "FROM is not a cordon store (no schema version): nothing to "
			 "migrate");
	else
		rc = not_in_use(db, "FROM", err, errlen);
	db_close(db);
	return rc < 0 || v <= 0 ? -1 : 0;
}

static int open_stores(struct migration *m, const char *from, const char *to, char *err,
		       size_t errlen)
{
	char why[1024];

	if (!strcmp(from, to)) {
		snprintf(err, errlen, "FROM and TO are the same store");
		return -1;
	}
	if (check_source(from, err, errlen) < 0)
		return -1;
	if (!(m->from = store_open(from, why, sizeof(why))))
		snprintf(err, errlen, "FROM: %s", why);
	else if (!(m->to = store_open(to, why, sizeof(why))))
		snprintf(err, errlen, "TO: %s", why);
	else if (!(m->ref = store_open("sqlite::memory:", why, sizeof(why))))
		snprintf(err, errlen, "a new store in memory: %s", why);
	if (!m->ref)
		return -1;
	m->f = store_conn(m->from);
	m->t = store_conn(m->to);
	return not_in_use(m->t, "TO", err, errlen);
}

/* Every table and column of FROM is in TO (both are at this cordond's
 * schema; a difference was made by hand). */
static int check_columns(const struct mig_schema *fs, const struct mig_schema *ts, char *err,
			 size_t errlen)
{
	for (size_t i = 0; i < fs->n; i++) {
		const struct mig_table *t = &fs->t[i], *tt = mig_schema_find(ts, t->name);

		for (size_t c = 0; tt && c < t->ncols; c++)
			if (!mig_table_has_column(tt, t->cols[c].name)) {
				snprintf(err, errlen, "TO's table %s has no column %s (FROM's has)",
					 t->name, t->cols[c].name);
				return -1;
			}
		if (!tt) {
			snprintf(err, errlen, "TO has no table %s (FROM has)", t->name);
			return -1;
		}
	}
	return 0;
}

/* Both transactions open, the schemas read, TO found empty and its new
 * store's rows (meta, leader) deleted to make room for FROM's. */
static int prepare_target(struct migration *m, char *err, size_t errlen)
{
	char why[512], sql[300];

	if (db_exec(m->f, db_kind(m->f) == DB_SQLITE ? "BEGIN"
			  : "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY") < 0) {
		snprintf(err, errlen, "FROM: BEGIN: %s", db_errmsg(m->f));
		return -1;
	}
	if (db_exec(m->t, "BEGIN IMMEDIATE") < 0) {
		snprintf(err, errlen, "TO: BEGIN: %s", db_errmsg(m->t));
		return -1;
	}
	if (mig_schema_read(m->f, &m->fs, why, sizeof(why)) < 0) {
		snprintf(err, errlen, "FROM: %s", why);
		return -1;
	}
	if (mig_schema_read(m->t, &m->ts, why, sizeof(why)) < 0 ||
	    mig_schema_read(store_conn(m->ref), &m->rs, why, sizeof(why)) < 0) {
		snprintf(err, errlen, "TO: %s", why);
		return -1;
	}
	if (mig_target_empty(m->t, &m->ts, store_conn(m->ref), &m->rs, err, errlen) < 0 ||
	    check_columns(&m->fs, &m->ts, err, errlen) < 0)
		return -1;
	for (size_t i = 0; i < m->fs.n; i++) {
		char q[256];

		if (mig_quote(m->fs.t[i].name, q, sizeof(q)) < 0) {
			snprintf(err, errlen, "table %.100s: name too long", m->fs.t[i].name);
			return -1;
		}
		snprintf(sql, sizeof(sql), "DELETE FROM %s", q);
		if (db_exec(m->t, sql) < 0) {
			snprintf(err, errlen, "TO: emptying table %s: %s", m->fs.t[i].name,
				 db_errmsg(m->t));
			return -1;
		}
	}
	return 0;
}

static int copy_verify_commit(struct migration *m, char *err, size_t errlen)
{
	if (!(m->rows = calloc(m->fs.n ? m->fs.n : 1, sizeof(*m->rows)))) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (size_t i = 0; i < m->fs.n; i++) {
		if (mig_copy_table(m->f, m->t, &m->fs.t[i], &m->rows[i], err, errlen) < 0)
			return -1;
		m->total += m->rows[i];
	}
	if (mig_verify(m->f, m->t, &m->fs, &m->vms, &m->gen, err, errlen) < 0 ||
	    mig_move_sequences(m->f, &m->fs, m->t, &m->ts, err, errlen) < 0)
		return -1;
	if (db_exec(m->t, "COMMIT") < 0) {
		snprintf(err, errlen, "TO: COMMIT: %s", db_errmsg(m->t));
		return -1;
	}
	if (db_exec(m->f, "ROLLBACK") < 0) /* a read: nothing to keep */
		log_warnx("FROM: ending the read: %s", db_errmsg(m->f));
	return 0;
}

static void print_summary(const struct migration *m)
{
	int w = 5;

	for (size_t i = 0; i < m->fs.n; i++)
		if ((int)strlen(m->fs.t[i].name) > w)
			w = (int)strlen(m->fs.t[i].name);
	printf("copied the %s store into the %s store, rows per table:\n", kind_name(m->f),
	       kind_name(m->t));
	for (size_t i = 0; i < m->fs.n; i++)
		printf("  %-*s %10lld\n", w, m->fs.t[i].name, (long long)m->rows[i]);
	printf("verified: %zu tables, %lld rows, latest generation per VM matches "
	       "(%lld VMs, generation counter %lld)\n", m->fs.n, (long long)m->total,
	       (long long)m->vms, (long long)m->gen);
}

static void migration_free(struct migration *m)
{
	if (m->t && db_in_transaction(m->t))
		(void)db_exec(m->t, "ROLLBACK");
	mig_schema_free(&m->fs);
	mig_schema_free(&m->ts);
	mig_schema_free(&m->rs);
	free(m->rows);
	store_close(m->ref);
	store_close(m->to);
	store_close(m->from);
}

int migrate_store_main(const char *from, const char *to, const char *log_level)
{
	struct migration m = { 0 };
	enum log_level lvl = LOG_LVL_WARN;
	char err[2048] = "";
	int rc;

	if (log_level && log_level_parse(log_level, &lvl) < 0) {
		fprintf(stderr, "cordond: unknown log level '%s' (error, warning, info, debug)\n",
			log_level);
		return 2;
	}
	log_init("cordond", lvl);
	rc = open_stores(&m, from, to, err, sizeof(err)) == 0 &&
	     prepare_target(&m, err, sizeof(err)) == 0 &&
	     copy_verify_commit(&m, err, sizeof(err)) == 0 ? 0 : 1;
	if (rc == 0) {
		print_summary(&m);
	} else {
		fputs("cordond: migrate-store: ", stderr);
		termsafe_fputs(err, 0, stderr);
		fputs(m.t ? "; nothing copied into TO\n" : "\n", stderr);
	}
	migration_free(&m);
	return rc;
}

/* Data retention: a pass removes, batch by batch, what is older than its
 * retention. The candidates are chosen into two temporary tables (the
 * cases, the report mails) and every deletion names its rows through
 * them, so that a dry run counts exactly what a pass deletes, with the
 * same statements' WHERE clauses.
 *
 * What is never a candidate: an open case and anything of it; a resolved
 * case with an audit row newer than the case retention (a note added
 * after resolving), a notification still to send, a call still open or
 * its hook still to run; a report mail any remaining case took; holds,
 * desired state, acks, inventory (not touched at all). A resolved case
 * goes whole, in one transaction: its row and every row with its
 * case_id (case_reports, case_steps, case_step_history, notifications,
 * calls, audit), and the mails only it took (their keys, matches and
 * duplicates). Ladders stay (cases_ladder counts open cases only). */
#include "retention.h"

#include <stdint.h>

#include <stdio.h>
#include <string.h>

#include "log.h"

bool retention_keeps_all(const struct retention *r)
{
	return !r->resolved_cases && !r->audit && !r->notifications && !r->reports;
}

/* Each statement gets ?1 = the cutoff of its retention, ?2 = its limit. */
enum cutoff { CUT_NONE, CUT_CASES, CUT_AUDIT, CUT_NOTIFICATIONS, CUT_REPORTS };

#define IN_CASES "(SELECT id FROM temp.prune_case)"
#define IN_REPORTS "(SELECT id FROM temp.prune_report)"

static const char prune_tables[] =
	"CREATE TEMP TABLE IF NOT EXISTS prune_case (id INTEGER PRIMARY KEY);"
	"CREATE TEMP TABLE IF NOT EXISTS prune_report (id INTEGER PRIMARY KEY);"
	"DELETE FROM temp.prune_case; DELETE FROM temp.prune_report;";

struct fill {
	enum cutoff cutoff;
	const char *sql;
};

/* The candidates, in this order: resolved cases due, the mails only they
 * took, the mails no case took that are due (kept while a duplicate of
 * them is not), and the duplicates of every mail chosen. */
static const struct fill fills[] = {
	{ CUT_CASES,
	  "INSERT INTO temp.prune_case SELECT c.id FROM cases c"
	  " WHERE c.resolved IS NOT NULL AND c.resolved < ?1"
	  " AND NOT EXISTS (SELECT 1 FROM audit a WHERE a.case_id = c.id AND a.at >= ?1)"
	  " AND NOT EXISTS (SELECT 1 FROM notifications n WHERE n.case_id = c.id"
	  "  AND n.state IN ('pending', 'sending'))"
	  " AND NOT EXISTS (SELECT 1 FROM calls k WHERE k.case_id = c.id"
	  "  AND (k.state = 'open' OR k.hook_state IN ('pending', 'running')))"
	  " ORDER BY c.resolved LIMIT ?2" },
	{ CUT_CASES,
	  "INSERT OR IGNORE INTO temp.prune_report SELECT r FROM"
	  " (SELECT report AS r FROM report_matches WHERE case_id IN " IN_CASES
	  "  UNION SELECT report FROM case_reports WHERE report IS NOT NULL AND case_id IN " IN_CASES
	  ") AS taken WHERE NOT EXISTS (SELECT 1 FROM report_matches m JOIN cases c ON c.id = m.case_id"
	  "  WHERE m.report = r AND c.id NOT IN " IN_CASES ")"
	  " AND NOT EXISTS (SELECT 1 FROM case_reports cr WHERE cr.report = r"
	  "  AND cr.case_id NOT IN " IN_CASES ")" },
	{ CUT_REPORTS,
	  "INSERT OR IGNORE INTO temp.prune_report SELECT r.id FROM reports r"
	  " WHERE r.received < ?1 AND r.duplicate_of IS NULL"
	  " AND NOT EXISTS (SELECT 1 FROM report_matches m JOIN cases c ON c.id = m.case_id"
	  "  WHERE m.report = r.id)"
	  " AND NOT EXISTS (SELECT 1 FROM case_reports cr WHERE cr.report = r.id)"
	  " AND NOT EXISTS (SELECT 1 FROM reports d WHERE d.duplicate_of = r.id AND d.received >= ?1)"
	  " ORDER BY r.received LIMIT ?2" },
	{ CUT_NONE,
	  "INSERT OR IGNORE INTO temp.prune_report SELECT id FROM reports"
	  " WHERE duplicate_of IN " IN_REPORTS },
};

struct row_set {
	enum prune_kind kind;
	enum cutoff cutoff;
	const char *table;
	const char *where;
};

#define OF_CASES "case_id IN " IN_CASES

/* What goes, table by table; the case rows last, after what refers to
 * them. Notifications and audit rows of the cases chosen count as the
 * cases' rows, never twice. */
static const struct row_set row_sets[] = {
	{ PRUNE_CASE_ROWS, CUT_NONE, "case_reports", OF_CASES },
	{ PRUNE_CASE_ROWS, CUT_NONE, "case_steps", OF_CASES },
	{ PRUNE_CASE_ROWS, CUT_NONE, "case_step_history", OF_CASES },
	{ PRUNE_CASE_ROWS, CUT_NONE, "notifications", OF_CASES },
	{ PRUNE_CASE_ROWS, CUT_NONE, "calls", OF_CASES },
	{ PRUNE_CASE_ROWS, CUT_NONE, "audit", OF_CASES },
	{ PRUNE_NOTIFICATIONS, CUT_NOTIFICATIONS, "notifications",
	  "id IN (SELECT n.id FROM notifications n JOIN cases c ON c.id = n.case_id"
	  " WHERE n.created < ?1 AND c.resolved IS NOT NULL AND n.state NOT IN ('pending', 'sending')"
	  " AND n.case_id NOT IN " IN_CASES " ORDER BY n.created LIMIT ?2)" },
	{ PRUNE_AUDIT, CUT_AUDIT, "audit",
	  "id IN (SELECT id FROM audit WHERE case_id IS NULL AND at < ?1 ORDER BY at LIMIT ?2)" },
	{ PRUNE_REPORT_ROWS, CUT_NONE, "report_keys", "report IN " IN_REPORTS },
	{ PRUNE_REPORT_ROWS, CUT_NONE, "report_matches", "report IN " IN_REPORTS },
	{ PRUNE_REPORTS, CUT_NONE, "reports", "id IN " IN_REPORTS },
	{ PRUNE_CASES, CUT_NONE, "cases", "id IN " IN_CASES },
};

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))

static long retention_of(const struct retention *r, enum cutoff cut)
{
	switch (cut) {
	case CUT_CASES: return r->resolved_cases;
	case CUT_AUDIT: return r->audit;
	case CUT_NOTIFICATIONS: return r->notifications;
	case CUT_REPORTS: return r->reports;
	case CUT_NONE: break;
	}
	return 1; /* follows the others: always runs */
}

/* The limit of a statement of that retention per batch; none: the
 * largest (PostgreSQL takes no negative LIMIT for "none"). */
static int64_t limit_of(enum cutoff cut, int batch)
{
	int64_t n = batch;

	if (batch < 0)
		return INT64_MAX;
	if (cut == CUT_CASES)
		n = batch / 10;
	else if (cut == CUT_REPORTS)
		n = batch / 25;
	return n > 0 ? n : 1;
}

struct pass_args {
	const struct retention *r;
	int64_t now;
	int batch; /* -1: everything due (a dry run) */
};

/* Prepares sql with ?1 and ?2 bound for cut, if it has them. */
static struct db_stmt *prepare_bound(struct store *s, const char *sql, enum cutoff cut,
				   const struct pass_args *a)
{
	struct db_stmt *st = store_prepare(s, sql);

	if (!st)
		return NULL;
	if (db_bind_parameter_count(st) >= 1)
		db_bind_int64(st, 1, a->now - retention_of(a->r, cut));
	if (db_bind_parameter_count(st) >= 2)
		db_bind_int64(st, 2, limit_of(cut, a->batch));
	return st;
}

static int choose_candidates(struct store *s, const struct pass_args *a)
{
	if (store_exec(s, prune_tables) < 0)
		return -1;
	for (size_t i = 0; i < N_OF(fills); i++) {
		if (!retention_of(a->r, fills[i].cutoff))
			continue;
		if (store_exec_stmt(s, prepare_bound(s, fills[i].sql, fills[i].cutoff, a)) < 0)
			return -1;
	}
	return 0;
}

/* Deletes (or counts, when counting) one row set; its rows in *n. */
static int row_set_run(struct store *s, const struct row_set *rs, const struct pass_args *a,
		       bool counting, int64_t *n)
{
	char sql[1024];
	struct db_stmt *st;
	int rc;

	snprintf(sql, sizeof(sql), counting ? "SELECT count(*) FROM %s WHERE %s" :
		 "DELETE FROM %s WHERE %s", rs->table, rs->where);
	st = prepare_bound(s, sql, rs->cutoff, a);
	if (!st)
		return -1;
	rc = store_step(s, st);
	*n = counting ? (rc == 1 ? db_column_int64(st, 0) : 0) :
		(rc == 0 ? store_changes(s) : 0);
	db_finalize(st);
	return rc == (counting ? 1 : 0) ? 0 : -1;
}

/* In one transaction: choose, then delete or count every row set. */
static int pass_run(struct store *s, const struct pass_args *a, bool counting,
		    struct prune_counts *c)
{
	struct prune_counts here = { { 0 } };

	if (store_begin(s) < 0)
		return -1;
	if (choose_candidates(s, a) < 0)
		goto failed;
	for (size_t i = 0; i < N_OF(row_sets); i++) {
		int64_t n;
		if (!retention_of(a->r, row_sets[i].cutoff))
			continue;
		if (row_set_run(s, &row_sets[i], a, counting, &n) < 0)
			goto failed;
		here.n[row_sets[i].kind] += n;
	}
	/* A count changes nothing, not even the temporary tables. */
	if (counting)
		store_rollback(s);
	else if (store_commit(s) < 0)
		goto failed;
	prune_counts_add(c, &here);
	return prune_counts_total(&here) > 0;
failed:
	store_rollback(s);
	return -1;
}

int retention_prune_batch(struct store *s, const struct retention *r, int64_t now, int batch,
			  struct prune_counts *c)
{
	struct pass_args a = { .r = r, .now = now, .batch = batch > 0 ? batch : RETENTION_BATCH };

	if (retention_keeps_all(r))
		return 0;
	return pass_run(s, &a, false, c);
}

int retention_count(struct store *s, const struct retention *r, int64_t now,
		    struct prune_counts *c)
{
	struct pass_args a = { .r = r, .now = now, .batch = -1 };

	if (retention_keeps_all(r))
		return 0;
	return pass_run(s, &a, true, c) < 0 ? -1 : 0;
}

int retention_case_was_pruned(struct store *s, int64_t id)
{
	struct db_stmt *st = store_prepare(s, "SELECT ?1 > 0 AND ?1 <= coalesce((SELECT seq FROM"
					 " sqlite_sequence WHERE name = 'cases'), 0)");
	int rc;

	if (!st)
		return -1;
	db_bind_int64(st, 1, id);
	rc = store_step(s, st) == 1 ? db_column_int(st, 0) : -1;
	db_finalize(st);
	return rc;
}

int64_t prune_counts_total(const struct prune_counts *c)
{
	int64_t total = 0;

	for (int i = 0; i < PRUNE_KINDS; i++)
		total += c->n[i];
	return total;
}

void prune_counts_add(struct prune_counts *to, const struct prune_counts *c)
{
	for (int i = 0; i < PRUNE_KINDS; i++)
		to->n[i] += c->n[i];
}

static const char *const kind_names[PRUNE_KINDS] = {
	[PRUNE_CASES] = "cases", [PRUNE_CASE_ROWS] = "case_rows",
	[PRUNE_NOTIFICATIONS] = "notifications", [PRUNE_AUDIT] = "audit",
	[PRUNE_REPORTS] = "reports", [PRUNE_REPORT_ROWS] = "report_rows",
};

void prune_counts_format(const struct prune_counts *c, char *buf, size_t len)
{
	const int64_t *n = c->n;

	if (!prune_counts_total(c)) {
		snprintf(buf, len, "nothing");
		return;
	}
	snprintf(buf, len, "%lld resolved cases (%lld rows with them), %lld notifications,"
		 " %lld audit rows, %lld report mails (%lld rows with them)",
		 (long long)n[PRUNE_CASES], (long long)n[PRUNE_CASE_ROWS],
		 (long long)n[PRUNE_NOTIFICATIONS], (long long)n[PRUNE_AUDIT],
		 (long long)n[PRUNE_REPORTS], (long long)n[PRUNE_REPORT_ROWS]);
}

json_t *prune_counts_json(const struct prune_counts *c)
{
	json_t *o = json_object();

	for (int i = 0; o && i < PRUNE_KINDS; i++)
		if (json_object_set_new(o, kind_names[i], json_integer(c->n[i])) < 0) {
			json_decref(o);
			return NULL;
		}
	if (o && json_object_set_new(o, "rows", json_integer(prune_counts_total(c))) < 0) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/* Retention (controller/retention.c) on a real SQLite store file: resolved
 * old cases go whole, with every row that refers to them; open cases,
 * recent ones and everything of open cases stay; a dry run changes
 * nothing and counts what a pass removes; passes end; the store is
 * consistent after. And the retain_* values cordond.conf accepts. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../controller/config.h" /* not the agent's: -Iagent comes first */
#include "retention.h"

#define DAY 86400
#define NOW 2000000000LL

#include "store_fixture.h"

#define setup store_fixture_setup
#define teardown store_fixture_teardown

static void sql(struct store *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sql(struct store *s, const char *fmt, ...)
{
	char buf[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	assert_int_equal(store_exec(s, buf), 0);
}

static long long count(struct store *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static long long count(struct store *s, const char *fmt, ...)
{
	char buf[1024];
	struct db_stmt *st;
	long long n;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	st = store_prepare(s, buf);
	assert_non_null(st);
	assert_int_equal(db_step(st), DB_ROW);
	n = db_column_int64(st, 0);
	db_finalize(st);
	return n;
}

/* A case with one row in each table that refers to cases: opened and
 * resolved (0: open) that many days before NOW. */
static void add_case(struct store *s, int id, int opened_days, int resolved_days, int vm)
{
	long long opened = NOW - opened_days * DAY;
	char resolved[32] = "NULL";

	if (resolved_days)
		snprintf(resolved, sizeof(resolved), "%lld", NOW - resolved_days * (long long)DAY);
	sql(s, "INSERT INTO cases (id, category, vm_uuid, opened, resolved, cut_scopes)"
	    " VALUES (%d, 'phishing', 'vm%d', %lld, %s, 1)", id, vm, opened, resolved);
	sql(s, "INSERT INTO case_reports (case_id, at, source) VALUES (%d, %lld, 'cert')",
	    id, opened);
	sql(s, "INSERT INTO case_steps (case_id, step, report, due, state)"
	    " VALUES (%d, 0, 0, %lld, '%s')", id, opened, resolved_days ? "done" : "pending");
	sql(s, "INSERT INTO case_step_history (case_id, ladder_id, step, report, action, replaced)"
	    " VALUES (%d, 1, 1, 0, 'call', %lld)", id, opened);
	sql(s, "INSERT INTO notifications (case_id, template, created, state)"
	    " VALUES (%d, 'warn', %lld, 'sent')", id, opened);
	sql(s, "INSERT INTO calls (case_id, created, state) VALUES (%d, %lld, '%s')", id, opened,
	    resolved_days ? "done" : "open");
	sql(s, "INSERT INTO audit (at, action, vm_uuid, case_id) VALUES (%lld, 'case_open',"
	    " 'vm%d', %d)", opened, vm, id);
}

/* A report mail received days before NOW, matched to case_id (0: none). */
static void add_report(struct store *s, int id, int days, int case_id, int duplicate_of)
{
	char dup[16] = "NULL";

	if (duplicate_of)
		snprintf(dup, sizeof(dup), "%d", duplicate_of);
	sql(s, "INSERT INTO reports (id, received, size, stored_size, raw, format, state,"
	    " duplicate_of) VALUES (%d, %lld, 3, 3, 'abc', 'plain', '%s', %s)", id,
	    NOW - days * (long long)DAY, duplicate_of ? "duplicate" : case_id ? "matched" :
	    "unmatched", dup);
	if (duplicate_of)
		return;
	sql(s, "INSERT INTO report_keys (key, report) VALUES ('mid-%d', %d)", id, id);
	if (case_id)
		sql(s, "INSERT INTO report_matches (report, ip, vm_uuid, case_id, outcome)"
		    " VALUES (%d, '198.18.0.1', 'vm1', %d, 'joined case')", id, case_id);
}

/* The store every test starts from. */
static void populate(struct store *s)
{
	add_case(s, 1, 200, 100, 1);  /* resolved long ago: goes */
	add_case(s, 2, 200, 0, 2);    /* open for 200 days: stays, all of it */
	add_case(s, 3, 20, 2, 3);     /* resolved recently: stays */
	add_case(s, 4, 200, 100, 4);  /* a note after resolving, recently: stays */
	sql(s, "INSERT INTO audit (at, action, case_id) VALUES (%lld, 'case_note', 4)", NOW - DAY);
	add_case(s, 5, 200, 100, 5);  /* a notification still to send: stays */
	sql(s, "INSERT INTO notifications (case_id, template, created, state)"
	    " VALUES (5, 'warn', %lld, 'pending')", NOW - 150LL * DAY);
	add_report(s, 11, 200, 1, 0);  /* case 1's only: goes with it */
	add_report(s, 12, 10, 0, 11);  /* its duplicate, recent: follows it */
	sql(s, "UPDATE case_reports SET report = 11 WHERE case_id = 1");
	add_report(s, 13, 200, 1, 0);  /* case 1's and open case 2's: stays */
	sql(s, "INSERT INTO report_matches (report, ip, vm_uuid, case_id, outcome)"
	    " VALUES (13, '198.18.0.2', 'vm2', 2, 'joined case')");
	add_report(s, 14, 200, 0, 0);  /* unmatched, old: goes */
	add_report(s, 15, 5, 0, 0);    /* unmatched, recent: stays */
	add_report(s, 16, 200, 0, 0);  /* unmatched, old, with a recent duplicate: stays */
	add_report(s, 17, 5, 0, 16);
	sql(s, "INSERT INTO audit (at, uid, action, vm_uuid) VALUES (%lld, 0, 'suspend', 'vm9'),"
	    " (%lld, 0, 'restore', 'vm9')", NOW - 100LL * DAY, NOW - DAY);
	sql(s, "INSERT INTO holds (vm_uuid, scopes, created) VALUES ('vm9', 1, %lld)",
	    NOW - 400LL * DAY);
	sql(s, "INSERT INTO desired (vm_uuid, generation, scopes, power_off, updated)"
	    " VALUES ('vm2', 3, 1, 0, %lld), ('vm9', 4, 1, 0, %lld)", NOW - 200LL * DAY,
	    NOW - 400LL * DAY);
	sql(s, "INSERT INTO acks (uuid, host_id, generation, scopes, power_off, at)"
	    " VALUES ('vm2', 'hv1', 3, 1, 0, %lld)", NOW - 200LL * DAY);
}

static const struct retention month = {
	.resolved_cases = 30 * DAY, .audit = 30 * DAY, .reports = 30 * DAY,
};

/* Whole passes until nothing is due; the number of batches that removed. */
static int prune_all(struct store *s, const struct retention *r, int batch,
		     struct prune_counts *c)
{
	int rc, batches = 0;

	while ((rc = retention_prune_batch(s, r, NOW, batch, c)) == 1)
		batches++;
	assert_int_equal(rc, 0);
	return batches;
}

/* SQLite's own checks (PostgreSQL keeps its integrity without asking). */
static void assert_consistent(struct store *s)
{
	struct db_stmt *st;

	if (store_kind(s) != DB_SQLITE)
		return;
	st = store_prepare(s, "PRAGMA integrity_check");

	assert_non_null(st);
	assert_int_equal(db_step(st), DB_ROW);
	assert_string_equal((const char *)db_column_text(st, 0), "ok");
	db_finalize(st);
	st = store_prepare(s, "PRAGMA foreign_key_check");
	assert_non_null(st);
	assert_int_equal(db_step(st), DB_DONE);
	db_finalize(st);
}

/* Every row of a table that refers to a case, for case id. */
static long long rows_of_case(struct store *s, int id)
{
	static const char *const tables[] = { "case_reports", "case_steps", "case_step_history",
					      "notifications", "calls", "audit" };
	long long n = count(s, "SELECT count(*) FROM cases WHERE id = %d", id);

	for (size_t i = 0; i < sizeof(tables) / sizeof(tables[0]); i++)
		n += count(s, "SELECT count(*) FROM %s WHERE case_id = %d", tables[i], id);
	return n;
}

/* The ids of a table's rows in order, "11,13" ("" for none). */
static void ids_of(struct store *s, const char *table, char *buf, size_t len)
{
	char q[128];
	struct db_stmt *st;

	size_t used = 0;
	int rc;

	snprintf(q, sizeof(q), "SELECT id FROM %s ORDER BY id", table);
	st = store_prepare(s, q);
	assert_non_null(st);
	buf[0] = '\0';
	while ((rc = db_step(st)) == DB_ROW && used < len)
		used += (size_t)snprintf(buf + used, len - used, "%s%lld", used ? "," : "",
					 (long long)db_column_int64(st, 0));
	assert_int_equal(rc, DB_DONE);
	db_finalize(st);
}

static void test_prune_resolved_old_cases(void **state)
{
	struct store *s = ((struct fixture *)*state)->store;
	struct prune_counts c = { { 0 } };
	long long open_rows, recent_rows;
	char ids[128];

	populate(s);
	open_rows = rows_of_case(s, 2);
	recent_rows = rows_of_case(s, 3);
	prune_all(s, &month, RETENTION_BATCH, &c);
	assert_int_equal(rows_of_case(s, 1), 0);
	assert_int_equal(rows_of_case(s, 2), open_rows);
	assert_int_equal(rows_of_case(s, 3), recent_rows);
	assert_int_equal(rows_of_case(s, 4), 8);
	assert_int_equal(rows_of_case(s, 5), 8);
	ids_of(s, "cases", ids, sizeof(ids));
	assert_string_equal(ids, "2,3,4,5");
	assert_int_equal(c.n[PRUNE_CASES], 1);
	assert_int_equal(c.n[PRUNE_CASE_ROWS], 6);
	/* Mails: 11 and its duplicate 12 with case 1, 14 by age; 13 (open
	 * case 2 took it too), 15 (recent), 16 (a recent duplicate) stay. */
	ids_of(s, "reports", ids, sizeof(ids));
	assert_string_equal(ids, "13,15,16,17");
	assert_int_equal(c.n[PRUNE_REPORTS], 3);
	assert_int_equal(count(s, "SELECT count(*) FROM report_keys WHERE report IN (11, 14)"), 0);
	assert_int_equal(count(s, "SELECT count(*) FROM report_matches WHERE report = 11"), 0);
	assert_int_equal(count(s, "SELECT count(*) FROM report_matches WHERE report = 13"), 2);
	/* Audit bound to no case: the old suspend goes, the restore stays. */
	assert_int_equal(c.n[PRUNE_AUDIT], 1);
	assert_int_equal(count(s, "SELECT count(*) FROM audit WHERE action = 'restore'"), 1);
	/* Holds, desired state and acks are never touched. */
	assert_int_equal(count(s, "SELECT count(*) FROM holds"), 1);
	assert_int_equal(count(s, "SELECT count(*) FROM desired"), 2);
	assert_int_equal(count(s, "SELECT count(*) FROM acks"), 1);
	assert_consistent(s);
}

/* Once case 2 is resolved and old too, the mail it shared with the
 * pruned case 1 goes with it. */
static void test_shared_report_follows_last_case(void **state)
{
	struct store *s = ((struct fixture *)*state)->store;
	struct prune_counts c = { { 0 } };

	populate(s);
	prune_all(s, &month, RETENTION_BATCH, &c);
	sql(s, "UPDATE cases SET resolved = %lld WHERE id = 2", NOW - 60LL * DAY);
	sql(s, "UPDATE calls SET state = 'done' WHERE case_id = 2");
	sql(s, "UPDATE audit SET at = %lld WHERE case_id = 2", NOW - 60LL * DAY);
	prune_all(s, &month, RETENTION_BATCH, &c);
	assert_int_equal(rows_of_case(s, 2), 0);
	assert_int_equal(count(s, "SELECT count(*) FROM reports WHERE id = 13"), 0);
	assert_int_equal(count(s, "SELECT count(*) FROM report_matches WHERE report = 13"), 0);
	assert_consistent(s);
}

static long long all_rows(struct store *s)
{
	return count(s, "SELECT (SELECT count(*) FROM cases) + (SELECT count(*) FROM case_reports)"
		     " + (SELECT count(*) FROM case_steps) + (SELECT count(*) FROM case_step_history)"
		     " + (SELECT count(*) FROM notifications) + (SELECT count(*) FROM calls)"
		     " + (SELECT count(*) FROM audit) + (SELECT count(*) FROM reports)"
		     " + (SELECT count(*) FROM report_keys) + (SELECT count(*) FROM report_matches)");
}

/* A dry run changes nothing and counts exactly what the pass removes. */
static void test_dry_run(void **state)
{
	struct store *s = ((struct fixture *)*state)->store;
	struct prune_counts would = { { 0 } }, did = { { 0 } };
	const struct retention all = { .resolved_cases = 30 * DAY, .audit = 30 * DAY,
				       .notifications = 30 * DAY, .reports = 30 * DAY };
	long long before;

	populate(s);
	before = all_rows(s);
	assert_int_equal(retention_count(s, &all, NOW, &would), 0);
	assert_int_equal(all_rows(s), before);
	assert_true(prune_counts_total(&would) > 0);
	prune_all(s, &all, 7, &did);
	assert_memory_equal(&would, &did, sizeof(would));
	assert_int_equal(all_rows(s), before - prune_counts_total(&did));
	assert_consistent(s);
}

/* retain_notifications: sent ones of resolved cases go, case kept; never
 * those of open cases, never those still to send. */
static void test_notifications(void **state)
{
	struct store *s = ((struct fixture *)*state)->store;
	struct prune_counts c = { { 0 } };
	const struct retention r = { .notifications = 10 * DAY };

	populate(s);
	prune_all(s, &r, RETENTION_BATCH, &c);
	/* Sent and old: of cases 1, 3, 4, 5; open case 2's and the pending stay. */
	assert_int_equal(c.n[PRUNE_NOTIFICATIONS], 4);
	assert_int_equal(prune_counts_total(&c), 4);
	assert_int_equal(count(s, "SELECT count(*) FROM notifications WHERE case_id = 2"), 1);
	assert_int_equal(count(s, "SELECT count(*) FROM notifications WHERE state = 'pending'"), 1);
	assert_int_equal(count(s, "SELECT count(*) FROM cases"), 5);
}

/* Many cases, small batches: each batch is bounded, the pass ends. */
static void test_batches_end(void **state)
{
	struct store *s = ((struct fixture *)*state)->store;
	struct prune_counts c = { { 0 } };
	int batches;

	assert_int_equal(store_begin(s), 0);
	for (int i = 1; i <= 300; i++)
		add_case(s, i, 200, 100, i);
	assert_int_equal(store_commit(s), 0);
	add_case(s, 301, 200, 0, 301);
	batches = prune_all(s, &month, 40, &c); /* 4 cases per batch */
	assert_int_equal(batches, 75);
	assert_int_equal(c.n[PRUNE_CASES], 300);
	assert_int_equal(c.n[PRUNE_CASE_ROWS], 300 * 6);
	assert_int_equal(count(s, "SELECT count(*) FROM cases"), 1);
	assert_int_equal(retention_prune_batch(s, &month, NOW, 40, &c), 0);
	assert_consistent(s);
}

/* The default keeps everything: nothing is even looked at. */
static void test_keep_all(void **state)
{
	struct store *s = ((struct fixture *)*state)->store;
	struct prune_counts c = { { 0 } };
	const struct retention forever = { 0 };
	long long before;

	populate(s);
	before = all_rows(s);
	assert_true(retention_keeps_all(&forever));
	assert_int_equal(retention_prune_batch(s, &forever, NOW * 2, 0, &c), 0);
	assert_int_equal(retention_count(s, &forever, NOW * 2, &c), 0);
	assert_int_equal(prune_counts_total(&c), 0);
	assert_int_equal(all_rows(s), before);
}

static void test_config_values(void **state)
{
	static const struct { const char *text; long seconds; } good[] = {
		{ "0", 0 }, { "forever", 0 }, { "400d", 400 * DAY }, { "52w", 52 * 7 * DAY },
		{ "12h", 12 * 3600 }, { "1d12h", 36 * 3600 }, { "1w", 7 * DAY },
	};
	static const char *const bad[] = { "", "w", "-1d", "1y", "forever!", "52ww", "1w2d",
					   "3651d", "9999w", "1.5d", "d5" };
	long v;

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		assert_int_equal(ctl_config_retention_parse(good[i].text, &v), 0);
		assert_int_equal(v, good[i].seconds);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(ctl_config_retention_parse(bad[i], &v), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_prune_resolved_old_cases, setup, teardown),
		cmocka_unit_test_setup_teardown(test_shared_report_follows_last_case, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dry_run, setup, teardown),
		cmocka_unit_test_setup_teardown(test_notifications, setup, teardown),
		cmocka_unit_test_setup_teardown(test_batches_end, setup, teardown),
		cmocka_unit_test_setup_teardown(test_keep_all, setup, teardown),
		cmocka_unit_test(test_config_values),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

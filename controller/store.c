#include "store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "store_backup.h"
#include "util.h"

/* Prepared statements kept for the store's life, keyed by the address of
 * their SQL literal: hot paths (the scheduler firing 100k steps) would
 * otherwise spend most of their time in sqlite3_prepare. */
#define STMT_CACHE 128

struct cached_stmt {
	const char *sql;
	sqlite3_stmt *st;
};

struct store {
	sqlite3 *db;
	struct cached_stmt cache[STMT_CACHE];
	size_t n_cached;
	char last_error[200]; /* of the current transaction, for the operator */
	uint64_t errors;      /* statements that failed: cordon_store_errors_total */
};

/* Each entry migrates the schema from version i to i+1. Append only. */
static const char *const migrations[] = {
	/* 0 -> 1 */
	"CREATE TABLE meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);"
	"INSERT INTO meta VALUES ('generation', 0);"
	"CREATE TABLE hosts (host_id TEXT PRIMARY KEY, version TEXT,"
	"  first_seen INTEGER, last_seen INTEGER);"
	"CREATE TABLE vms (uuid TEXT PRIMARY KEY, name TEXT NOT NULL,"
	"  host_id TEXT, state TEXT, updated INTEGER);"
	"CREATE INDEX vms_host ON vms(host_id);"
	"CREATE INDEX vms_name ON vms(name);"
	"CREATE TABLE interfaces (vm_uuid TEXT NOT NULL, mac TEXT NOT NULL,"
	"  bridge TEXT, scope TEXT, PRIMARY KEY (vm_uuid, mac));"
	"CREATE TABLE ips (vm_uuid TEXT NOT NULL, mac TEXT NOT NULL,"
	"  ip TEXT NOT NULL);"
	"CREATE INDEX ips_ip ON ips(ip);"
	"CREATE INDEX ips_vm ON ips(vm_uuid);"
	"CREATE TABLE holds (vm_uuid TEXT PRIMARY KEY, scopes INTEGER NOT NULL,"
	"  power_off INTEGER NOT NULL DEFAULT 0, reason TEXT, uid INTEGER,"
	"  created INTEGER);"
	"CREATE TABLE desired (vm_uuid TEXT PRIMARY KEY,"
	"  generation INTEGER NOT NULL, scopes INTEGER NOT NULL,"
	"  power_off INTEGER NOT NULL, updated INTEGER,"
	"  acked_generation INTEGER NOT NULL DEFAULT 0, acked_at INTEGER,"
	"  acked_host TEXT, mechanisms TEXT, error TEXT);"
	"CREATE TABLE audit (id INTEGER PRIMARY KEY AUTOINCREMENT,"
	"  at INTEGER NOT NULL, uid INTEGER, action TEXT NOT NULL,"
	"  vm_uuid TEXT, detail TEXT);"
	"CREATE INDEX audit_vm ON audit(vm_uuid);",
	/* 1 -> 2: abuse cases, their ladders, notifications, calls */
	"ALTER TABLE audit ADD COLUMN case_id INTEGER;"
	"CREATE INDEX audit_case ON audit(case_id);"
	"INSERT INTO meta VALUES ('test_now', 0);"
	"CREATE TABLE cases (id INTEGER PRIMARY KEY AUTOINCREMENT,"
	"  category TEXT NOT NULL, vm_uuid TEXT NOT NULL, ip TEXT, contact TEXT,"
	"  source TEXT, evidence TEXT, opened INTEGER NOT NULL, opened_by INTEGER,"
	"  responded INTEGER, resolved INTEGER, resolution TEXT,"
	"  cut_scopes INTEGER NOT NULL DEFAULT 0, power_off INTEGER NOT NULL DEFAULT 0);"
	"CREATE INDEX cases_vm ON cases(vm_uuid, resolved);"
	"CREATE INDEX cases_open ON cases(resolved);"
	"CREATE TABLE case_reports (case_id INTEGER NOT NULL, at INTEGER NOT NULL,"
	"  source TEXT, evidence TEXT);"
	"CREATE INDEX case_reports_case ON case_reports(case_id, at);"
	"CREATE TABLE case_steps (case_id INTEGER NOT NULL, step INTEGER NOT NULL,"
	"  report INTEGER NOT NULL, due INTEGER, state TEXT NOT NULL,"
	"  fired_at INTEGER, late INTEGER, PRIMARY KEY (case_id, step, report));"
	"CREATE INDEX case_steps_due ON case_steps(state, due);"
	"CREATE TABLE notifications (id INTEGER PRIMARY KEY AUTOINCREMENT,"
	"  case_id INTEGER NOT NULL, template TEXT NOT NULL, recipient TEXT,"
	"  created INTEGER NOT NULL, state TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0,"
	"  next_try INTEGER, last_error TEXT, sent_at INTEGER);"
	"CREATE INDEX notifications_state ON notifications(state, next_try);"
	"CREATE INDEX notifications_case ON notifications(case_id);"
	"CREATE TABLE calls (id INTEGER PRIMARY KEY AUTOINCREMENT, case_id INTEGER NOT NULL,"
	"  contact TEXT, created INTEGER NOT NULL, state TEXT NOT NULL, hook_state TEXT,"
	"  hook_detail TEXT, done_at INTEGER, note TEXT);"
	"CREATE INDEX calls_case ON calls(case_id);",
	/* 2 -> 3: find what changed since the last push without a scan */
	"CREATE INDEX desired_generation ON desired(generation);"
	"ALTER TABLE vms ADD COLUMN inv_hash INTEGER;"
	"ALTER TABLE calls ADD COLUMN hook_attempts INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE calls ADD COLUMN hook_next_try INTEGER;",
	/* 3 -> 4: the port (host-side tap/veth) of each interface, NULL when
	 * the agent does not know it. Forgetting the inventory hashes makes
	 * the next hello of every agent store its VMs again, ports included:
	 * an unchanged VM would otherwise be skipped and keep a NULL port. */
	"ALTER TABLE interfaces ADD COLUMN port TEXT;"
	"UPDATE vms SET inv_hash = NULL;",
	/* 4 -> 5: a VM may be listed by several hosts (live migration, a
	 * stale definition, a host that lies): each one that lists it gets
	 * its desired state and acks it on its own; vms.host_id is the
	 * host shown. Whether each host's last inventory was complete. */
	"CREATE TABLE vm_hosts (uuid TEXT NOT NULL, host_id TEXT NOT NULL, state TEXT,"
	"  since INTEGER, PRIMARY KEY (uuid, host_id));"
	"CREATE INDEX vm_hosts_host ON vm_hosts(host_id);"
	"INSERT INTO vm_hosts SELECT uuid, host_id, state, updated FROM vms"
	"  WHERE host_id IS NOT NULL;"
	"CREATE TABLE acks (uuid TEXT NOT NULL, host_id TEXT NOT NULL,"
	"  generation INTEGER NOT NULL, scopes INTEGER NOT NULL, power_off INTEGER NOT NULL,"
	"  mechanisms TEXT, error TEXT, at INTEGER, PRIMARY KEY (uuid, host_id));"
	"INSERT INTO acks SELECT d.vm_uuid, d.acked_host, d.acked_generation, d.scopes,"
	"  d.power_off, d.mechanisms, d.error, d.acked_at FROM desired d"
	"  JOIN vm_hosts h ON h.uuid = d.vm_uuid AND h.host_id = d.acked_host"
	"  WHERE d.acked_generation > 0;"
	"ALTER TABLE hosts ADD COLUMN inventory_complete INTEGER NOT NULL DEFAULT 1;",
	/* 5 -> 6: each case keeps the ladder it follows, so that a policy
	 * reload never remaps its steps (ladder.c). A ladder's text is stored
	 * once; `current` marks those of the policies loaded now. Cases from
	 * before have no ladder_id until the first start loads the policies:
	 * then each open one adopts its category's policy (ladders_load,
	 * audited); cases_unbound finds them and cases_ladder counts the open
	 * cases of a ladder without a scan. A step that fails is retried with
	 * backoff (attempts, next_try, last_error; state 'failing'; indexed
	 * for failing steps only); the steps that fired under
	 * a ladder `case replan` replaced, with no counterpart in the new
	 * one, are kept in case_step_history. No foreign key on ladder_id:
	 * the code writes only ids it read, and a plain column can be dropped
	 * again by hand (test 345 makes a store of the previous schema). */
	"CREATE TABLE ladders (id INTEGER PRIMARY KEY AUTOINCREMENT,"
	"  category TEXT NOT NULL, hash TEXT NOT NULL, text TEXT NOT NULL,"
	"  created INTEGER NOT NULL, current INTEGER NOT NULL DEFAULT 0);"
	"CREATE INDEX ladders_text ON ladders(category, hash);"
	"ALTER TABLE cases ADD COLUMN ladder_id INTEGER;"
	"CREATE INDEX cases_unbound ON cases(category) WHERE ladder_id IS NULL AND resolved IS NULL;"
	"CREATE INDEX cases_ladder ON cases(ladder_id) WHERE resolved IS NULL;"
	"ALTER TABLE case_steps ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE case_steps ADD COLUMN next_try INTEGER;"
	"ALTER TABLE case_steps ADD COLUMN last_error TEXT;"
	"CREATE INDEX case_steps_retry ON case_steps(next_try) WHERE state = 'failing';"
	"CREATE TABLE case_step_history (case_id INTEGER NOT NULL, ladder_id INTEGER NOT NULL,"
	"  step INTEGER NOT NULL, report INTEGER NOT NULL, action TEXT NOT NULL, due INTEGER,"
	"  fired_at INTEGER, late INTEGER, replaced INTEGER NOT NULL);"
	"CREATE INDEX case_step_history_case ON case_step_history(case_id);",
	/* 6 -> 7: abuse report mails (report_store.c) and which VM held each
	 * address when (ip_history.c), so that a report matches the VM that
	 * had the address at the reported time, not whoever has it now. The
	 * history starts at the migration with the addresses known then: a
	 * report of an earlier moment stays unmatched rather than guessed.
	 * report_keys makes a message counted once (Message-ID, X-ARF report
	 * id, ARF original); case_reports.report ties a case's report to its
	 * mail. */
	"CREATE TABLE ip_history (ip TEXT NOT NULL, vm_uuid TEXT NOT NULL,"
	"  since INTEGER NOT NULL, until INTEGER);"
	"CREATE INDEX ip_history_ip ON ip_history(ip, since);"
	"CREATE INDEX ip_history_open ON ip_history(vm_uuid) WHERE until IS NULL;"
	"INSERT INTO ip_history SELECT DISTINCT ip, vm_uuid, CAST(strftime('%s', 'now') AS INTEGER),"
	"  NULL FROM ips;"
	"CREATE TABLE reports (id INTEGER PRIMARY KEY AUTOINCREMENT, received INTEGER NOT NULL,"
	"  uid INTEGER, size INTEGER NOT NULL, stored_size INTEGER NOT NULL, raw BLOB,"
	"  format TEXT NOT NULL, type TEXT, category TEXT, subject TEXT, sender TEXT,"
	"  message_id TEXT, state TEXT NOT NULL, duplicate_of INTEGER, note TEXT, parsed TEXT);"
	"CREATE INDEX reports_state ON reports(state, id);"
	"CREATE TABLE report_keys (key TEXT PRIMARY KEY, report INTEGER NOT NULL);"
	"CREATE TABLE report_matches (report INTEGER NOT NULL, ip TEXT NOT NULL, at INTEGER,"
	"  vm_uuid TEXT, case_id INTEGER, outcome TEXT NOT NULL);"
	"CREATE INDEX report_matches_report ON report_matches(report);"
	"CREATE INDEX report_matches_case ON report_matches(case_id);"
	"ALTER TABLE case_reports ADD COLUMN report INTEGER;",
	/* 7 -> 8: the VM owner's contact, from the host's inventory: a case
	 * opened without one (a report, `case open` without --contact) takes
	 * it. */
	"ALTER TABLE vms ADD COLUMN contact TEXT;",
	/* 8 -> 9: data retention (retention.c) finds what is due without a
	 * scan: audit rows bound to no case by age, the rows that point at a
	 * report mail (its keys, the cases that took it, its duplicates). */
	"CREATE INDEX IF NOT EXISTS audit_unbound ON audit(at) WHERE case_id IS NULL;"
	"CREATE INDEX IF NOT EXISTS report_keys_report ON report_keys(report);"
	"CREATE INDEX IF NOT EXISTS case_reports_report ON case_reports(report) WHERE report IS NOT NULL;"
	"CREATE INDEX IF NOT EXISTS reports_duplicate ON reports(duplicate_of) WHERE duplicate_of IS NOT NULL;"
	"CREATE INDEX IF NOT EXISTS reports_received ON reports(received);"
	"CREATE INDEX IF NOT EXISTS notifications_created ON notifications(created);",
};

#define SCHEMA_VERSION (int)(sizeof(migrations) / sizeof(migrations[0]))

/* Logs why a statement failed and keeps it for store_last_error: once the
 * transaction is rolled back, sqlite3_errmsg no longer says. */
static void store_failed(struct store *store, const char *what, const char *why)
{
	log_errorx("sqlite: %s%s", what, why);
	store->errors++;
	snprintf(store->last_error, sizeof(store->last_error), "%s", why);
}

uint64_t store_error_count(const struct store *store)
{
	return store ? store->errors : 0;
}

const char *store_last_error(const struct store *store)
{
	return store->last_error;
}

int store_step(struct store *store, sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);

	if (rc == SQLITE_ROW)
		return 1;
	if (rc == SQLITE_DONE)
		return 0;
	store_failed(store, "reading: ", sqlite3_errmsg(store->db));
	return -1;
}

int store_exec(struct store *store, const char *sql)
{
	char *msg = NULL;

	if (sqlite3_exec(store->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		store_failed(store, "", msg ? msg : "error");
		sqlite3_free(msg);
		return -1;
	}
	return 0;
}

static int schema_version(struct store *store)
{
	sqlite3_stmt *st = store_prepare(store, "PRAGMA user_version");
	int v = -1;

	if (st && sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return v;
}

static int store_migrate(struct store *store, char *err, size_t errlen)
{
	int v = schema_version(store);
	char pragma[64];

	if (v < 0 || v > SCHEMA_VERSION) {
		snprintf(err, errlen, "database schema version %d is newer than this cordond (%d)",
			 v, SCHEMA_VERSION);
		return -1;
	}
	if (v < SCHEMA_VERSION &&
	    store_backup_before_migrate(store->db, v, SCHEMA_VERSION, err, errlen) < 0)
		return -1;
	for (; v < SCHEMA_VERSION; v++) {
		snprintf(pragma, sizeof(pragma), "PRAGMA user_version = %d", v + 1);
		if (store_begin(store) < 0 || store_exec(store, migrations[v]) < 0 ||
		    store_exec(store, pragma) < 0 || store_commit(store) < 0) {
			store_rollback(store);
			snprintf(err, errlen, "schema migration %d -> %d failed", v, v + 1);
			return -1;
		}
		log_info("database schema migrated to version %d", v + 1);
	}
	return 0;
}

struct store *store_open(const char *path, char *err, size_t errlen)
{
	struct store *store = calloc(1, sizeof(*store));
	char dir[4096];

	if (!store)
		return NULL;
	if (path_dirname(path, dir, sizeof(dir)) == 0)
		mkdir_parents(dir, 0750);
	/* NOMUTEX: one thread uses the connection (cordond has no other);
	 * the serialized mode's mutex cost ~5 % of firing 100k steps. */
	if (sqlite3_open_v2(path, &store->db,
			    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
			    NULL) != SQLITE_OK) {
		snprintf(err, errlen, "cannot open database %s: %s", path,
			 store->db ? sqlite3_errmsg(store->db) : "out of memory");
		store_close(store);
		return NULL;
	}
	sqlite3_busy_timeout(store->db, 5000);
	/* An ack to an operator means the change is on disk: FULL sync. */
	/* temp_store in memory: each fired step runs in a savepoint (so one
	 * failing step never rolls back its batch), whose sub-journal would
	 * otherwise be written to a temp file page by page. */
	if (store_exec(store, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
			      "PRAGMA foreign_keys=ON; PRAGMA temp_store=MEMORY;") < 0 ||
	    store_migrate(store, err, errlen) < 0) {
		if (!err[0])
			snprintf(err, errlen, "cannot initialise database %s", path);
		store_close(store);
		return NULL;
	}
	return store;
}

void store_close(struct store *store)
{
	if (!store)
		return;
	for (size_t i = 0; i < store->n_cached; i++)
		sqlite3_finalize(store->cache[i].st);
	sqlite3_close(store->db);
	free(store);
}

sqlite3 *store_db(struct store *store)
{
	return store->db;
}

int store_begin(struct store *store)
{
	store->last_error[0] = '\0';
	return store_exec(store, "BEGIN IMMEDIATE");
}

int store_commit(struct store *store)
{
	return store_exec(store, "COMMIT");
}

void store_rollback(struct store *store)
{
	if (!sqlite3_get_autocommit(store->db))
		store_exec(store, "ROLLBACK");
}

sqlite3_stmt *store_prepare(struct store *store, const char *sql)
{
	sqlite3_stmt *st = NULL;

	if (sqlite3_prepare_v2(store->db, sql, -1, &st, NULL) != SQLITE_OK) {
		log_errorx("sqlite prepare: %s (%s)", sqlite3_errmsg(store->db), sql);
		store->errors++;
		return NULL;
	}
	return st;
}

sqlite3_stmt *store_cached(struct store *store, const char *sql)
{
	sqlite3_stmt *st;

	for (size_t i = 0; i < store->n_cached; i++)
		if (store->cache[i].sql == sql) {
			sqlite3_reset(store->cache[i].st);
			sqlite3_clear_bindings(store->cache[i].st);
			return store->cache[i].st;
		}
	if (sqlite3_prepare_v3(store->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL) != SQLITE_OK) {
		log_errorx("sqlite prepare: %s (%s)", sqlite3_errmsg(store->db), sql);
		store->errors++;
		return NULL;
	}
	if (store->n_cached == STMT_CACHE)
		fatalx("statement cache full: raise STMT_CACHE"); /* a code change, not data */
	store->cache[store->n_cached++] = (struct cached_stmt){ sql, st };
	return st;
}

int store_run(struct store *store, sqlite3_stmt *stmt)
{
	int rc;

	if (!stmt)
		return -1;
	rc = sqlite3_step(stmt);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		store_failed(store, "", sqlite3_errmsg(store->db));
	sqlite3_reset(stmt);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		return -1;
	return 0;
}

int store_exec_stmt(struct store *store, sqlite3_stmt *stmt)
{
	int rc;

	if (!stmt)
		return -1;
	rc = sqlite3_step(stmt);
	if (rc != SQLITE_DONE)
		store_failed(store, "", sqlite3_errmsg(store->db));
	sqlite3_finalize(stmt);
	if (rc != SQLITE_DONE)
		return -1;
	return 0;
}

uint64_t store_next_generation(struct store *store)
{
	sqlite3_stmt *st;
	uint64_t gen = 0;

	static const char sql[] =
		"UPDATE meta SET value = value + 1 WHERE key = 'generation' RETURNING value";

	st = store_cached(store, sql);
	if (!st)
		return 0;
	if (sqlite3_step(st) == SQLITE_ROW)
		gen = (uint64_t)sqlite3_column_int64(st, 0);
	else
		store_failed(store, "generation: ", sqlite3_errmsg(store->db));
	sqlite3_reset(st);
	return gen;
}

int store_generation_at_least(struct store *store, uint64_t gen)
{
	static const char sql[] =
		"UPDATE meta SET value = max(value, ?) WHERE key = 'generation'";
	sqlite3_stmt *st = store_cached(store, sql);

	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, (sqlite3_int64)gen);
	return store_run(store, st);
}

int store_audit(struct store *store, uid_t uid, const char *action,
		const char *vm_uuid, const char *detail)
{
	return store_audit_case(store, uid, 0, action, vm_uuid, detail);
}

int store_audit_case(struct store *store, uid_t uid, int64_t case_id,
		     const char *action, const char *vm_uuid, const char *detail)
{
	static const char sql[] =
		"INSERT INTO audit (at, uid, action, vm_uuid, detail, case_id) VALUES (?,?,?,?,?,?)";
	sqlite3_stmt *st = store_cached(store, sql);

	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, store_now());
	if (uid == (uid_t)-1)
		sqlite3_bind_null(st, 2);
	else
		sqlite3_bind_int64(st, 2, uid);
	sqlite3_bind_text(st, 3, action, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 4, vm_uuid, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 5, detail, -1, SQLITE_TRANSIENT);
	if (case_id)
		sqlite3_bind_int64(st, 6, case_id);
	else
		sqlite3_bind_null(st, 6);
	return store_run(store, st);
}

/* The test clock (cordond --test-clock): once `cordonctl clock set` ran,
 * now stands still while cordond runs and moves only with clock set and
 * advance, so ladders are tested to the second. The real time that passes
 * while cordond is not running is added when it starts, so a deadline can
 * still fall due while the controller is down. Kept in the store. */
static int64_t test_now; /* 0: the real clock */

int64_t store_now(void)
{
	return test_now ? test_now : (int64_t)time(NULL);
}

int64_t store_clock_offset(void)
{
	return test_now ? test_now - (int64_t)time(NULL) : 0;
}

static int meta_put(struct store *store, const char *key, int64_t value)
{
	sqlite3_stmt *st = store_prepare(store, "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)");

	if (!st)
		return -1;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, value);
	return store_exec_stmt(store, st);
}

static int64_t meta_get(struct store *store, const char *key)
{
	sqlite3_stmt *st = store_prepare(store, "SELECT value FROM meta WHERE key = ?");
	int64_t v = 0;

	if (!st)
		return 0;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

int store_set_test_now(struct store *store, int64_t now)
{
	if (meta_put(store, "test_now", now) < 0 ||
	    meta_put(store, "test_real_at", (int64_t)time(NULL)) < 0)
		return -1;
	test_now = now;
	return 0;
}

int store_load_test_now(struct store *store)
{
	int64_t saved = meta_get(store, "test_now"), real_at = meta_get(store, "test_real_at");

	test_now = 0;
	if (!saved)
		return 0;
	/* Add the time the controller was away (never backwards). */
	if (real_at && time(NULL) > real_at)
		saved += (int64_t)time(NULL) - real_at;
	return store_set_test_now(store, saved);
}

int store_save_test_now(struct store *store)
{
	return test_now ? store_set_test_now(store, test_now) : 0;
}

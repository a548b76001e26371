/* The store's schema, one migration per version. Written in the SQL both
 * backends read (db.h); PostgreSQL's spelling of the types comes from
 * db_pg_sql.c, so that a version means the same tables on either. */
#include "store_schema.h"

/* Each entry migrates the schema from version i to i+1. Append only. */
const char *const store_migrations[] = {
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
	"  CAST(NULL AS INTEGER) FROM ips;"
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
	/* 9 -> 10: leadership (leader.c): the term, a fencing token every
	 * desired state carries, and who holds it (a follower names it to
	 * agents and operators); which instance wrote an audit row. */
	"CREATE TABLE leader (id INTEGER PRIMARY KEY CHECK (id = 1), term INTEGER NOT NULL,"
	"  instance TEXT NOT NULL, endpoint TEXT NOT NULL, since INTEGER NOT NULL);"
	"INSERT INTO leader VALUES (1, 0, '', '', 0);"
	"ALTER TABLE audit ADD COLUMN instance TEXT;",
};

const int store_schema_version = (int)(sizeof(store_migrations) / sizeof(store_migrations[0]));

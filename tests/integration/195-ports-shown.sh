#!/bin/bash
# The controller stores each interface's port (the host-side device the
# agent reports) and shows it: `cordonctl --json vm show` / `--json vms`
# carry "port" (null when unknown), the human `vm show` has a PORT column
# and marks a cut interface without a port `mac-only (spoofable)`. A
# database of the previous schema (version 3, no port column) is upgraded
# in place: its rows survive, and the ports arrive with the agent's hello.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"
cdt_init
command -v sqlite3 >/dev/null || fail "tool sqlite3 is installed (scripts/install-deps.sh)"

PUB_MAC=52:54:00:01:01:01
PRIV_MAC=52:54:00:01:01:02

# show_line VM MAC: the interface's line of the human `vm show VM`.
show_line() { ctl vm show "$1" | grep -F -- "  $2  "; }
# port_is VM MAC PORT: --json vm show has that port ("null": JSON null).
port_is() {
	ctl --json vm show "$1" | jq -e --arg m "$2" --argjson p "$3" \
		'any(.interfaces[]; .mac == $m and has("port") and .port == $p)' >/dev/null
}
# (output captured first: under pipefail an early grep -q exit fails the writer)
line_marked() { grep -qF 'mac-only (spoofable)' <<<"$(show_line "$1" "$2")"; }
line_has_port() { grep -qE -- "  $2  +[^ ]+ +[^ ]+ +$3 " <<<"$(show_line "$1" "$2")"; }
no_marks() { ! grep -qF 'mac-only' <<<"$(ctl vm show "$1")"; }

topo_one_host 1

# --- ports from the static inventory
js=$(ctl --json vm show vm11)
check "cordonctl --json vm show vm11: interfaces {bridge, ips, mac, port, scope}, ports vm1-pub and vm1-priv" \
	jq -e --arg pm "$PUB_MAC" --arg vm "$PRIV_MAC" '
	  ([.interfaces[] | keys] | unique) == [["bridge","ips","mac","port","scope"]]
	  and ([.interfaces[] | {mac, port}]) ==
	      [{mac: $pm, port: "vm1-pub"}, {mac: $vm, port: "vm1-priv"}]' <<<"$js"
check "cordonctl --json vms: vm11's interfaces carry ports vm1-pub and vm1-priv" \
	vms_jq 'any(.[]; .name == "vm11" and ([.interfaces[].port] | sort) == ["vm1-priv","vm1-pub"])'
check "cordonctl vm show vm11: PORT column" q grep -E '^  MAC +BRIDGE +SCOPE +PORT +IPS$' <<<"$(ctl vm show vm11)"
check "cordonctl vm show vm11: $PUB_MAC on port vm1-pub" line_has_port vm11 "$PUB_MAC" vm1-pub
check "cordonctl vm show vm11: $PRIV_MAC on port vm1-priv" line_has_port vm11 "$PRIV_MAC" vm1-priv

# --- an interface loses its port: null, "-", and mac-only once cut in its scope
inv=$CDT_TMP/hv1/inventory.json
jq --arg m "$PRIV_MAC" 'del(.vms[].interfaces[] | select(.mac == $m) | .port)' "$inv" >"$inv.new"
mv "$inv.new" "$inv"
kill -HUP "${AGENT_PID[hv1]}"
ok "port of $PRIV_MAC removed from hv1's inventory file, SIGHUP sent to the agent"
check "cordonctl --json vm show vm11: $PRIV_MAC has port null within 15s" \
	wait_until 15 port_is vm11 "$PRIV_MAC" null
check "cordonctl --json vm show vm11: $PUB_MAC keeps port vm1-pub" port_is vm11 "$PUB_MAC" '"vm1-pub"'
check "cordonctl --json vms: vm11's ports are vm1-pub and null" \
	vms_jq --arg m "$PRIV_MAC" 'any(.[]; .name == "vm11" and
	  ([.interfaces[] | select(.mac == $m) | .port] == [null]))'
check "cordonctl vm show vm11: $PRIV_MAC port -" line_has_port vm11 "$PRIV_MAC" -
check "cordonctl vm show vm11: nothing marked mac-only while nothing is cut" no_marks vm11

vm_suspend vm11 public
check "cordonctl vm show vm11: a public cut marks nothing (the portless interface is private)" \
	no_marks vm11

vm_suspend vm11 all
out=$(ctl vm show vm11)
check "cordonctl vm show vm11 (cut all): $PRIV_MAC marked mac-only (spoofable)" line_marked vm11 "$PRIV_MAC"
check "cordonctl vm show vm11 (cut all): $PUB_MAC on vm1-pub, not marked" \
	eval 'line_has_port vm11 "$PUB_MAC" vm1-pub && ! line_marked vm11 "$PUB_MAC"'
check "cordonctl --json vm show: no extra keys for the mark" \
	eval 'ctl --json vm show vm11 | jq -e "([.interfaces[] | keys] | unique) == [[\"bridge\",\"ips\",\"mac\",\"port\",\"scope\"]]" >/dev/null'
expect_cut vm11 public
expect_cut vm11 private
check "cordonctl vms: vm11 enforced" wait_until 15 vm_enforced vm11
sed -n '/^interfaces:/,/^desired/p' <<<"$out" | sed 's/^/# /'

vm_restore vm11
check "cordonctl vm show vm11: nothing marked once the restore is applied" wait_until 15 no_marks vm11
expect_reach vm11 public
check "cordonctl vms: vm11 restore acked" wait_until 15 vm_converged vm11

# --- a database of the previous schema (version 3) upgrades in place
stop_agent hv1
stop_controller
db=$CDT_TMP/ctl/cordon.db
rm -f "$db" "$db-wal" "$db-shm"
rm -rf "$CDT_TMP/hv1/state" && mkdir -p "$CDT_TMP/hv1/state"
ok "cordond and agent stopped; database and agent state removed"

# The schema of version 3, as the migrations 0 -> 1 -> 2 -> 3 of
# controller/store.c wrote it (append-only, so this is frozen).
old_schema() {
	cat <<'SQL'
CREATE TABLE meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
INSERT INTO meta VALUES ('generation', 0);
CREATE TABLE hosts (host_id TEXT PRIMARY KEY, version TEXT,  first_seen INTEGER, last_seen INTEGER);
CREATE TABLE vms (uuid TEXT PRIMARY KEY, name TEXT NOT NULL,  host_id TEXT, state TEXT, updated INTEGER);
CREATE INDEX vms_host ON vms(host_id);
CREATE INDEX vms_name ON vms(name);
CREATE TABLE interfaces (vm_uuid TEXT NOT NULL, mac TEXT NOT NULL,  bridge TEXT, scope TEXT, PRIMARY KEY (vm_uuid, mac));
CREATE TABLE ips (vm_uuid TEXT NOT NULL, mac TEXT NOT NULL,  ip TEXT NOT NULL);
CREATE INDEX ips_ip ON ips(ip);
CREATE INDEX ips_vm ON ips(vm_uuid);
CREATE TABLE holds (vm_uuid TEXT PRIMARY KEY, scopes INTEGER NOT NULL,  power_off INTEGER NOT NULL DEFAULT 0, reason TEXT, uid INTEGER,  created INTEGER);
CREATE TABLE desired (vm_uuid TEXT PRIMARY KEY,  generation INTEGER NOT NULL, scopes INTEGER NOT NULL,  power_off INTEGER NOT NULL, updated INTEGER,  acked_generation INTEGER NOT NULL DEFAULT 0, acked_at INTEGER,  acked_host TEXT, mechanisms TEXT, error TEXT);
CREATE TABLE audit (id INTEGER PRIMARY KEY AUTOINCREMENT,  at INTEGER NOT NULL, uid INTEGER, action TEXT NOT NULL,  vm_uuid TEXT, detail TEXT);
CREATE INDEX audit_vm ON audit(vm_uuid);
ALTER TABLE audit ADD COLUMN case_id INTEGER;
CREATE INDEX audit_case ON audit(case_id);
INSERT INTO meta VALUES ('test_now', 0);
CREATE TABLE cases (id INTEGER PRIMARY KEY AUTOINCREMENT,  category TEXT NOT NULL, vm_uuid TEXT NOT NULL, ip TEXT, contact TEXT,  source TEXT, evidence TEXT, opened INTEGER NOT NULL, opened_by INTEGER,  responded INTEGER, resolved INTEGER, resolution TEXT,  cut_scopes INTEGER NOT NULL DEFAULT 0, power_off INTEGER NOT NULL DEFAULT 0);
CREATE INDEX cases_vm ON cases(vm_uuid, resolved);
CREATE INDEX cases_open ON cases(resolved);
CREATE TABLE case_reports (case_id INTEGER NOT NULL, at INTEGER NOT NULL,  source TEXT, evidence TEXT);
CREATE INDEX case_reports_case ON case_reports(case_id, at);
CREATE TABLE case_steps (case_id INTEGER NOT NULL, step INTEGER NOT NULL,  report INTEGER NOT NULL, due INTEGER, state TEXT NOT NULL,  fired_at INTEGER, late INTEGER, PRIMARY KEY (case_id, step, report));
CREATE INDEX case_steps_due ON case_steps(state, due);
CREATE TABLE notifications (id INTEGER PRIMARY KEY AUTOINCREMENT,  case_id INTEGER NOT NULL, template TEXT NOT NULL, recipient TEXT,  created INTEGER NOT NULL, state TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0,  next_try INTEGER, last_error TEXT, sent_at INTEGER);
CREATE INDEX notifications_state ON notifications(state, next_try);
CREATE INDEX notifications_case ON notifications(case_id);
CREATE TABLE calls (id INTEGER PRIMARY KEY AUTOINCREMENT, case_id INTEGER NOT NULL,  contact TEXT, created INTEGER NOT NULL, state TEXT NOT NULL, hook_state TEXT,  hook_detail TEXT, done_at INTEGER, note TEXT);
CREATE INDEX calls_case ON calls(case_id);
CREATE INDEX desired_generation ON desired(generation);
ALTER TABLE vms ADD COLUMN inv_hash INTEGER;
ALTER TABLE calls ADD COLUMN hook_attempts INTEGER NOT NULL DEFAULT 0;
ALTER TABLE calls ADD COLUMN hook_next_try INTEGER;
PRAGMA user_version = 3;
SQL
}
schema_of() { sqlite3 "$1" .schema; }

old_schema | sqlite3 "$db" || fail "sqlite3 creates a version 3 database"
if [ -n "${OLD_CORDOND:-}" ]; then
	# The frozen copy above against the schema the previous cordond writes.
	mv "$db" "$db.frozen"
	CORDOND=$OLD_CORDOND start_controller
	stop_controller
	check "the schema above is the one the previous cordond ($OLD_CORDOND) writes" \
		diff <(schema_of "$db.frozen") <(schema_of "$db")
	rm -f "$db" "$db-wal" "$db-shm"
	mv "$db.frozen" "$db"
else
	note "OLD_CORDOND not set: the frozen version 3 schema is not compared with a previous cordond's"
fi

UUID=${VM_UUID[vm11]}
now=$(date +%s)
# What the previous cordond would have stored: vm11 on hv1, both
# interfaces (no port), a manual cut of public+private at generation 1000,
# acked, and its audit record.
sqlite3 "$db" <<SQL || fail "rows of the previous version inserted"
UPDATE meta SET value = 1000 WHERE key = 'generation';
INSERT INTO hosts VALUES ('hv1', '0.0.0', $now, $now);
INSERT INTO vms VALUES ('$UUID', 'vm11', 'hv1', 'running', $now, 4242);
INSERT INTO interfaces VALUES ('$UUID', '$PUB_MAC', 'br-pub', 'public');
INSERT INTO interfaces VALUES ('$UUID', '$PRIV_MAC', 'br-priv', 'private');
INSERT INTO ips VALUES ('$UUID', '$PUB_MAC', '${VM_PUB[vm11]}');
INSERT INTO ips VALUES ('$UUID', '$PRIV_MAC', '${VM_PRIV[vm11]}');
INSERT INTO holds VALUES ('$UUID', 3, 0, 'old schema test', 0, $now);
INSERT INTO desired (vm_uuid, generation, scopes, power_off, updated, acked_generation, acked_at, acked_host, mechanisms)
  VALUES ('$UUID', 1000, 3, 0, $now, 1000, $now, 'hv1', 'nft');
INSERT INTO audit (at, uid, action, vm_uuid, detail) VALUES ($now, 0, 'suspend', '$UUID', 'old schema test');
SQL
ok "a version 3 database (no port column) with vm11 cut public+private at generation 1000"

start_controller
# At least 5: later migrations (the ladders, issue 9) run on too.
check "cordond migrated the database to schema version 5 and on" \
	test "$(sqlite3 "$db" 'PRAGMA user_version')" -ge 5
check "cordond logged the migrations (4: ports, 5: hosts per VM)" \
	eval "q grep -F 'database schema migrated to version 4' '$CDT_TMP/ctl/cordond.log' &&
	      q grep -F 'database schema migrated to version 5' '$CDT_TMP/ctl/cordond.log'"
check "the migrated database lists vm11 on hv1 (vm_hosts)" \
	test "$(sqlite3 "$db" "SELECT host_id FROM vm_hosts WHERE uuid = '${VM_UUID[vm11]}'")" = hv1
check "interfaces has a port column" \
	test "$(sqlite3 "$db" "SELECT count(*) FROM pragma_table_info('interfaces') WHERE name = 'port'")" = 1
check "the rows survived: 2 interfaces, 2 addresses, the hold, the audit record" \
	test "$(sqlite3 "$db" "SELECT (SELECT count(*) FROM interfaces WHERE vm_uuid = '$UUID') || ' ' ||
	  (SELECT count(*) FROM ips WHERE vm_uuid = '$UUID') || ' ' ||
	  (SELECT count(*) FROM holds WHERE vm_uuid = '$UUID' AND scopes = 3) || ' ' ||
	  (SELECT count(*) FROM audit WHERE detail = 'old schema test')")" = "2 2 1 1"
js=$(ctl --json vm show vm11)
check "cordonctl --json vm show vm11 (agent not back yet): old interfaces, port null, desired cut, manual hold" \
	jq -e --arg pm "$PUB_MAC" --arg vm "$PRIV_MAC" '
	  [.interfaces[] | {mac, bridge, scope, port}] ==
	    [{mac: $pm, bridge: "br-pub", scope: "public", port: null},
	     {mac: $vm, bridge: "br-priv", scope: "private", port: null}]
	  and .scopes == ["public","private"] and .generation == 1000
	  and any(.holds[]; .kind == "manual" and .reason == "old schema test")' <<<"$js"
check "cordonctl vm show vm11: both portless cut interfaces marked mac-only (spoofable)" \
	eval 'line_marked vm11 "$PUB_MAC" && line_marked vm11 "$PRIV_MAC"'
check "cordonctl audit lists the old record" q grep -F 'old schema test' <<<"$(ctl audit)"

start_agent hv1
wait_agent_connected hv1
check "after hv1's hello: $PUB_MAC on port vm1-pub within 15s" \
	wait_until 15 port_is vm11 "$PUB_MAC" '"vm1-pub"'
check "after hv1's hello: $PRIV_MAC still without a port" port_is vm11 "$PRIV_MAC" null
check "cordonctl vm show vm11: $PRIV_MAC marked, $PUB_MAC on vm1-pub and not" \
	eval 'line_marked vm11 "$PRIV_MAC" && line_has_port vm11 "$PUB_MAC" vm1-pub && ! line_marked vm11 "$PUB_MAC"'
expect_cut vm11 public
expect_cut vm11 private
check "cordonctl vms: vm11 enforced at generation 1000" \
	wait_until 15 vms_jq 'any(.[]; .name == "vm11" and .state == "enforced" and .acked_generation == 1000)'
vm_restore vm11
expect_reach vm11 public
expect_reach vm11 private

cdt_done

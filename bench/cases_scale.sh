#!/bin/bash
# bench/cases_scale.sh [CASES] [DUE]: the controller with CASES open cases
# (default 1,000,000): start time and RSS; then the time for DUE steps
# (default 100,000) falling due at the same moment to fire and reach the
# agent (acked).
#
# Method: one controller (--test-clock), one simulated host whose static
# inventory lists DUE VMs. The store is filled directly with sqlite3 (what
# a year of cases would leave): CASES phishing cases spread over the DUE
# VMs, each with its report and three steps (notify done; call and suspend
# pending). The first DUE cases have their suspend due 60 s after "now";
# the others fall due days later. Start time = from exec to the control
# socket answering `cordonctl status`; RSS read from /proc after start.
# Then `cordonctl clock advance 2m` and we poll (every ~0.3 s) until the
# controller has no pending desired state and DUE VMs enforced (acked).
# CDT_STORE=postgresql: the same on a PostgreSQL store (tests/pg.sh starts a
# cluster on a unix socket, fsync off as in the tests), filled with the
# same rows by SQL (generate_series) instead of sqlite3, then VACUUM ANALYZE.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-1000000}
DUE=${2:-100000}
CDT_PREFIX=cds$$
. tests/lib.sh
cdt_init

topo_controller
ctl_keygen
write_controller_conf "policies = $PWD/policies" "templates = $PWD/templates" \
	"calendar = " "notify_command = cat >/dev/null"
topo_host hv1 1
big_inventory hv1 "$DUE" a0a0a0a0 s 01
setup_agent hv1
start_controller --test-clock
start_agent hv1
# One host saying hello with DUE VMs: minutes on PostgreSQL (a round trip
# per statement), where SQLite takes seconds.
slow=60
[ "$CDT_STORE" != postgresql ] || slow=1200
t=$EPOCHREALTIME
wait_until $slow agent_connected hv1 || fail "agent connects"
vms_known() { [ "$(ctl --json status | jq .vms)" = "$DUE" ]; }
wait_until $slow vms_known || fail "controller knows the $DUE VMs"
printf 'first hello of a host with %d VMs stored in %.1f s\n' "$DUE" "$(echo "$EPOCHREALTIME - $t" | bc)"
stop_controller

t=$EPOCHREALTIME
if [ "$CDT_STORE" = postgresql ]; then
	pg_sql store "
	SET synchronous_commit = off;
	INSERT INTO cases (id, category, vm_uuid, contact, opened, ladder_id)
	  SELECT j, 'phishing', 'a0a0a0a0-0000-4000-8000-' || lpad(((j - 1) % $DUE)::text, 12, '0'),
	    'b@example.com', CASE WHEN j <= $DUE THEN $(date +%s) - 4 * 3600 + 60
	    ELSE $(date +%s) + 86400 + j - 1 END,
	    (SELECT id FROM ladders WHERE category = 'phishing' AND current <> 0)
	  FROM generate_series(1, $N) AS j;
	SELECT setval(pg_get_serial_sequence('cases', 'id'), $N);
	INSERT INTO case_reports (case_id, at) SELECT id, opened FROM cases;
	INSERT INTO case_steps (case_id, step, report, due, state, fired_at, late)
	  SELECT id, 0, 0, opened, 'done', opened, 0 FROM cases;
	INSERT INTO case_steps (case_id, step, report, due, state)
	  SELECT id, 1, 0, opened + 7200, CASE WHEN id <= $DUE THEN 'done' ELSE 'pending' END FROM cases;
	INSERT INTO case_steps (case_id, step, report, due, state)
	  SELECT id, 2, 0, opened + 14400, 'pending' FROM cases;" cordon >/dev/null &&
		pg_sql store "VACUUM ANALYZE" cordon >/dev/null || fail "filling the PostgreSQL store"
	printf 'store filled with %d cases in %.1f s (PostgreSQL, %s)\n' "$N" \
		"$(echo "$EPOCHREALTIME - $t" | bc)" \
		"$(pg_sql store "SELECT pg_size_pretty(pg_database_size('cordon'))")"
else
python3 - "$N" "$DUE" "$CDT_TMP/ctl/cordon.db" <<'PY'
import sqlite3, sys, time
n, due, path = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
now = int(time.time())
db = sqlite3.connect(path)
db.execute("PRAGMA synchronous=OFF")
# Cases opened by this cordond follow the phishing ladder it recorded at its
# first start (cases without one would be adopted, once, at the next start).
ladder = db.execute("SELECT id FROM ladders WHERE category = 'phishing' AND current").fetchone()[0]
def cases():
    for i in range(n):
        opened = now - 4 * 3600 + 60 if i < due else now + 86400 + i
        yield (i + 1, "phishing", "a0a0a0a0-0000-4000-8000-%012d" % (i % due), "b@example.com", opened, ladder)
db.executemany("INSERT INTO cases (id, category, vm_uuid, contact, opened, ladder_id) VALUES (?,?,?,?,?,?)", cases())
db.execute("INSERT INTO case_reports (case_id, at) SELECT id, opened FROM cases")
db.execute("INSERT INTO case_steps (case_id, step, report, due, state, fired_at, late)"
           " SELECT id, 0, 0, opened, 'done', opened, 0 FROM cases")
db.execute("INSERT INTO case_steps (case_id, step, report, due, state)"
           " SELECT id, 1, 0, opened + 7200, CASE WHEN id <= ? THEN 'done' ELSE 'pending' END FROM cases", (due,))
db.execute("INSERT INTO case_steps (case_id, step, report, due, state)"
           " SELECT id, 2, 0, opened + 14400, 'pending' FROM cases")
db.commit()
PY
printf 'store filled with %d cases in %.1f s (%s)\n' "$N" "$(echo "$EPOCHREALTIME - $t" | bc)" \
	"$(du -h "$CDT_TMP/ctl/cordon.db" | cut -f1)"
fi

t=$EPOCHREALTIME
start_controller --test-clock
t_start=$(echo "$EPOCHREALTIME - $t" | bc)
rss=$(awk '/VmRSS/ { print $2 }' "/proc/$CTL_PID/status")
printf 'cordond start with %d open cases: %.3f s to answering cordonctl; RSS %d KiB\n' \
	"$N" "$t_start" "$rss"
wait_until $slow agent_connected hv1 || fail "agent reconnects"

all_fired() {
	local s
	sleep 0.25 # polling status (counts over 1M rows) must not be the load
	s=$(ctl --json status)
	[ "$(jq .pending <<<"$s")" = 0 ] && [ "$(jq .enforced <<<"$s")" = "$DUE" ]
}
# PERF=FILE: perf record both daemons while the steps fire (where the
# time goes; the figure is then not comparable).
if [ -n "${PERF:-}" ]; then
	perf record -q -F 499 ${PERF_ARGS:--g} -o "$PERF" -p "$CTL_PID,${AGENT_PID[hv1]}" 2>/dev/null &
	perf_pid=$!
	sleep 1
fi
t=$EPOCHREALTIME
ctl clock advance 2m >/dev/null
wait_until $((slow * 2 + 600)) all_fired || fail "all $DUE steps fire and are acked"
t_fire=$(echo "$EPOCHREALTIME - $t" | bc)
[ -z "${PERF:-}" ] || { kill -INT "$perf_pid"; wait "$perf_pid" || true; }
agent_n=$(agent_status hv1 --json | jq .enforced_count)
printf '%d steps due at once: fired and acked by the agent in %.2f s (agent enforces %s VMs)\n' \
	"$DUE" "$t_fire" "$agent_n"
rss=$(awk '/VmRSS/ { print $2 }' "/proc/$CTL_PID/status")
echo "cordond RSS after firing: $rss KiB"
cdt_done

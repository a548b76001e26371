#!/bin/bash
# bench/prune.sh [CASES]: pruning CASES resolved old cases (default
# 111,112: 9 rows each, 1,000,008 rows) with cordond serving its control
# socket meanwhile.
#
# Method: one controller, no agent. The store is filled directly with
# sqlite3: CASES cases resolved 100 days ago, each with a report, three
# steps, a sent notification, a done call and two audit rows; cordond runs
# with retain_resolved_cases = 30d and prune_interval = 0. Then `cordonctl
# prune` (1 s in the request, the rest in cordond's background pass) while
# a loop runs `cordonctl status` back to back and times each call; the
# pass ends when cordond logs its second "prune: removed" line. Prints the
# rows, the time, rows/s, and the median and slowest `status` round trip
# (each includes a cordonctl process start), 200 of them before the pass
# for comparison.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-111112}
CDT_PREFIX=cdp$$
. tests/lib.sh
cdt_init

topo_controller
ctl_keygen
write_controller_conf "policies = $PWD/policies" "templates = $PWD/templates" \
	"calendar = " "notify_command = cat >/dev/null" "retain_resolved_cases = 30d" \
	"prune_interval = 0"
start_controller
stop_controller
python3 - "$N" "$CDT_TMP/ctl/cordon.db" <<'PY'
import sqlite3, sys, time
n, path = int(sys.argv[1]), sys.argv[2]
now = int(time.time())
res, op = now - 100 * 86400, now - 101 * 86400
db = sqlite3.connect(path)
db.execute("PRAGMA synchronous=OFF")
db.executemany("INSERT INTO cases (id, category, vm_uuid, contact, opened, resolved, resolution)"
               " VALUES (?, 'phishing', ?, 'b@example.com', ?, ?, 'done')",
               ((i + 1, "a0a0a0a0-0000-4000-8000-%012d" % (i % 1000), op, res) for i in range(n)))
db.execute("INSERT INTO case_reports (case_id, at, source) SELECT id, opened, 'cert' FROM cases")
for step in range(3):
    db.execute("INSERT INTO case_steps (case_id, step, report, due, state, fired_at)"
               " SELECT id, ?, 0, opened, 'done', opened FROM cases", (step,))
db.execute("INSERT INTO notifications (case_id, template, created, state, sent_at)"
           " SELECT id, 'warning', opened, 'sent', opened FROM cases")
db.execute("INSERT INTO calls (case_id, created, state, done_at) SELECT id, opened, 'done', resolved FROM cases")
db.execute("INSERT INTO audit (at, action, vm_uuid, case_id) SELECT opened, 'open', vm_uuid, id FROM cases")
db.execute("INSERT INTO audit (at, action, vm_uuid, case_id) SELECT resolved, 'resolve', vm_uuid, id FROM cases")
db.commit()
PY
rows=$(sqlite3 "$CDT_TMP/ctl/cordon.db" "SELECT (SELECT count(*) FROM cases)
	+ (SELECT count(*) FROM case_reports) + (SELECT count(*) FROM case_steps)
	+ (SELECT count(*) FROM notifications) + (SELECT count(*) FROM calls)
	+ (SELECT count(*) FROM audit)")
start_controller
log=$CDT_TMP/ctl/cordond.log
passes() { grep -c "prune: removed" "$log" || true; }
# summary FILE LABEL: median and slowest of the round trips in FILE.
summary() {
	awk '{ printf "%.3f\n", ($2 - $1) * 1000 }' "$1" | sort -n >"$1.sorted"
	awk -v label="$2" '{ v[NR] = $1 } END {
		printf "cordonctl status %s: %d calls, median %.1f ms, slowest %.1f ms\n",
			label, NR, v[int((NR + 1) / 2)], v[NR] }' "$1.sorted"
}
base=$CDT_TMP/latency-idle
: >"$base"
for ((i = 0; i < 200; i++)); do
	t=$EPOCHREALTIME
	ctl status >/dev/null
	echo "$t $EPOCHREALTIME" >>"$base"
done
lat=$CDT_TMP/latency
: >"$lat"
(
	while [ "$(passes)" -lt 2 ]; do
		t=$EPOCHREALTIME
		ctl status >/dev/null
		echo "$t $EPOCHREALTIME" >>"$lat"
	done
) &
probe=$!
t0=$EPOCHREALTIME
ctl prune >/dev/null
until [ "$(passes)" -ge 2 ]; do sleep 0.05; done
t1=$EPOCHREALTIME
wait "$probe"
left=$(sqlite3 "$CDT_TMP/ctl/cordon.db" "SELECT count(*) FROM cases")
echo "rows $rows in $(awk -v a="$t0" -v b="$t1" -v r="$rows" \
	'BEGIN { printf "%.2f s: %.0f rows/s", b - a, r / (b - a) }') (cases left $left)"
summary "$base" "before the pass (idle)"
summary "$lat" "during the pass"
grep "prune: removed" "$log"
cdt_done

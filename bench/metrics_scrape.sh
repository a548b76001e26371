#!/bin/bash
# bench/metrics_scrape.sh [VMS] [CASES] [OPEN]: time and size of one scrape
# of cordond's GET /metrics with VMS VMs (default 20,000) on 200 hosts and
# CASES cases (default 1,000,000), OPEN of them open (default: all).
#
# Method: cordond starts once on an empty store (schema, ladders), stops;
# the store is filled directly with sqlite3 (python3): 200 hosts, VMS VMs,
# a desired state for each (1% pending, 1% acked with an error), CASES
# phishing/spam cases (OPEN open, a tenth of those responded) with three
# steps each (one done, two pending) and a notification each (1% failed).
# cordond starts again (no agent connects: the scrape reads the store, not
# the agents); `curl` in its namespace scrapes /metrics 20 times, and we
# report the median and worst time_total, the body's size, and that it
# passes `promtool check metrics`; cordond's CPU time over the 20 (from
# /proc/PID/stat) per scrape; and how long the start took (it counts
# the open cases once, for case_counts.c).
set -euo pipefail
cd "$(dirname "$0")/.."
VMS=${1:-20000}
N=${2:-1000000}
OPEN=${3:-$N}
RUNS=20
CDT_PREFIX=cms$$
. tests/lib.sh
cdt_init

topo_controller
ctl_keygen
# The shipped ladders (the cases follow them); no step fires here.
write_controller_conf "policies = $PWD/policies" "templates = $PWD/templates" "calendar = "
start_controller
stop_controller

t=$EPOCHREALTIME
python3 - "$VMS" "$N" "$OPEN" "$CDT_TMP/ctl/cordon.db" <<'PY'
import sqlite3, sys, time
vms, n, n_open, path = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
now = int(time.time())
db = sqlite3.connect(path)
db.execute("PRAGMA synchronous=OFF")
hosts = ["hv%d" % i for i in range(200)]
db.executemany("INSERT INTO hosts (host_id, version, first_seen, last_seen) VALUES (?,?,?,?)",
               ((h, "0.1.0", now, now) for h in hosts))
uuid = lambda i: "a0a0a0a0-0000-4000-8000-%012d" % i
db.executemany("INSERT INTO vms (uuid, name, host_id, state, updated) VALUES (?,?,?,?,?)",
               ((uuid(i), "s%d" % i, hosts[i % 200], "running", now) for i in range(vms)))
db.execute("INSERT INTO vm_hosts SELECT uuid, host_id, state, updated FROM vms")
def desired():
    for i in range(vms):
        gen = i + 1
        acked = gen - 1 if i % 100 == 0 else gen
        yield (uuid(i), gen, 1, 0, now - 30, acked, "x" if i % 100 == 1 else None)
db.executemany("INSERT INTO desired (vm_uuid, generation, scopes, power_off, updated,"
               " acked_generation, error) VALUES (?,?,?,?,?,?,?)", desired())
ladders = dict(db.execute("SELECT category, id FROM ladders WHERE current"))
def cases():
    for i in range(n):
        cat = "spam" if i % 3 == 0 else "phishing"
        is_open = i >= n - n_open
        yield (i + 1, cat, uuid(i % vms), "b@example.com", now - 86400 * 30 + i % 86400,
               now - 60 if is_open and i % 10 == 0 else None,
               None if is_open else now, ladders[cat])
db.executemany("INSERT INTO cases (id, category, vm_uuid, contact, opened, responded, resolved,"
               " ladder_id) VALUES (?,?,?,?,?,?,?,?)", cases())
db.execute("INSERT INTO case_steps (case_id, step, report, due, state, fired_at, late)"
           " SELECT id, 0, 0, opened, 'done', opened, 0 FROM cases")
for step in (1, 2):
    db.execute("INSERT INTO case_steps (case_id, step, report, due, state)"
               " SELECT id, ?, 0, ? + id, 'pending' FROM cases", (step, now + 86400 * step))
db.execute("INSERT INTO notifications (case_id, template, recipient, created, state, attempts)"
           " SELECT id, 'phishing-warning', contact, opened,"
           " CASE WHEN id % 100 = 0 THEN 'failed' ELSE 'sent' END, 1 FROM cases")
db.commit()
PY
printf 'store filled: %d VMs, %d cases (%d open) in %.1f s (%s)\n' "$VMS" "$N" "$OPEN" \
	"$(echo "$EPOCHREALTIME - $t" | bc)" "$(du -h "$CDT_TMP/ctl/cordon.db" | cut -f1)"

t=$EPOCHREALTIME
start_controller
printf 'cordond start (the open cases counted once, case_counts.c): %.3f s to answering cordonctl\n' \
	"$(echo "$EPOCHREALTIME - $t" | bc)"
scrape() {
	ip netns exec "$CTL_NS" curl -sS -f --max-time 60 -o "$CDT_TMP/metrics.txt" \
		-w '%{time_total}\n' http://127.0.0.1:9750/metrics
}
# cordond's CPU (utime + stime, clock ticks): what a scrape costs the
# daemon, whatever else shares the machine.
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$CTL_PID/stat"; }
scrape >/dev/null # the first reads the store's pages from disk: not counted
times=()
c0=$(cpu_ticks)
for ((i = 0; i < RUNS; i++)); do times+=("$(scrape)"); done
c1=$(cpu_ticks)
cpu_ms=$(echo "($c1 - $c0) * 1000 / $(getconf CLK_TCK) / $RUNS" | bc -l)
sorted=$(printf '%s\n' "${times[@]}" | sort -n)
median=$(sed -n "$((RUNS / 2))p" <<<"$sorted")
worst=$(tail -n1 <<<"$sorted")
size=$(stat -c %s "$CDT_TMP/metrics.txt")
lines=$(wc -l <"$CDT_TMP/metrics.txt")
valid=no
promtool check metrics <"$CDT_TMP/metrics.txt" >/dev/null 2>&1 && valid=yes
printf 'scrape of /metrics (%d runs): median %.1f ms, worst %.1f ms; cordond CPU %.1f ms a scrape; %d bytes, %d lines; promtool check metrics: %s\n' \
	"$RUNS" "$(echo "$median * 1000" | bc)" "$(echo "$worst * 1000" | bc)" "$cpu_ms" "$size" "$lines" "$valid"
grep -E '^cordon_(vms_cut|vms_pending|cases_open|agents_known|notifications_failed|steps_overdue)' \
	"$CDT_TMP/metrics.txt" | sed 's/^/  /'
rss=$(awk '/VmRSS/ { print $2 }' "/proc/$CTL_PID/status")
echo "cordond RSS: $rss KiB"
cdt_done

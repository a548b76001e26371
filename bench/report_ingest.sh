#!/bin/bash
# bench/report_ingest.sh [N] [VMS]: N report mails (default 10,000) piped
# one by one into `cordonctl report ingest`, as an MTA would, for VMS VMs
# (default 200): time per message end to end (a cordonctl process each:
# exec, parse, the request) and the controller's own CPU time per message.
#
# Method: one controller (--test-clock, notify_command `cat >/dev/null`),
# one simulated host whose static inventory lists VMS VMs with one public
# address each, and its agent. N ARF feedback reports (abuse -> spam), each
# with its own Message-ID and original, name the VMs' addresses round
# robin, every seventh one an address that was never ours (unmatched). So
# the spam ladder really runs: every report is a notification, the third
# report of a VM cuts its SMTP (pushed to the agent). Controller CPU =
# utime + stime of cordond from /proc/PID/stat, before and after the run,
# divided by N; wall = the loop's elapsed time divided by N.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-10000}
VMS=${2:-200}
CDT_PREFIX=rib$$
. tests/lib.sh
. tests/cases.sh
. tests/reports.sh
cdt_init

topo_controller
ctl_keygen
write_controller_conf "policies = $PWD/policies" "templates = $PWD/templates" \
	"calendar = " "notify_command = cat >/dev/null" "log_level = info"
topo_host hv1 1
python3 - "$VMS" "$CDT_TMP/hv1/inventory.json" <<'PY'
import json, sys
n, path = int(sys.argv[1]), sys.argv[2]
vms = [{"uuid": "b0b0b0b0-0000-4000-8000-%012d" % i, "name": "r%d" % i,
        "interfaces": [{"mac": "02:02:%02x:%02x:%02x:01" % (i >> 16 & 255, i >> 8 & 255, i & 255),
                        "bridge": "br-pub", "ips": ["198.19.%d.%d" % (i // 250, i % 250 + 1)]}]}
       for i in range(n)]
json.dump({"vms": vms}, open(path, "w"))
PY
setup_agent hv1
start_controller --test-clock
clock_set 2026-11-23T09:00:00Z
start_agent hv1
wait_until 60 agent_connected hv1 || fail "agent connects"
known() { [ "$(ctl --json status | jq .vms)" = "$VMS" ]; }
wait_until 60 known || fail "controller knows the $VMS VMs"
clock_set 2026-11-23T10:00:00Z

mkdir "$CDT_TMP/mails"
for ((i = 0; i < N; i++)); do
	v=$((i % VMS))
	ip=198.19.$((v / 250)).$((v % 250 + 1))
	((i % 7 != 6)) || ip=198.18.200.$((i % 200 + 1))
	arf_mail "$ip" 2026-11-23T09:30:00Z "bench-$i@isp.example" "spam $i" >"$CDT_TMP/mails/$i.eml"
done
cpu() { awk '{ print $14 + $15 }' "/proc/$CTL_PID/stat"; }
tick=$(getconf CLK_TCK)
c0=$(cpu)
t0=$EPOCHREALTIME
for ((i = 0; i < N; i++)); do
	ctl report ingest --types conf/report-types.conf --rules conf/report-rules.conf \
		<"$CDT_TMP/mails/$i.eml" >/dev/null || fail "message $i: exit $?"
done
t1=$EPOCHREALTIME
c1=$(cpu)
stored=$(ctl --json report list --limit 10000 | jq length)
matched=$(ctl --json report list --limit 10000 | jq '[.[] | select(.state == "matched")] | length')
cases=$(ctl --json case list | jq length)
awk -v n="$N" -v t0="$t0" -v t1="$t1" -v c="$((c1 - c0))" -v hz="$tick" \
	-v st="$stored" -v m="$matched" -v cs="$cases" 'BEGIN {
	printf "report_ingest: %d messages in %.1f s: %.2f ms per message end to end;\n", n, t1 - t0, (t1 - t0) * 1000 / n
	printf "  controller CPU %.2f s in all, %.3f ms per message; %s stored (last 10000 listed), %s matched, %s cases\n", c / hz, c * 1000 / hz / n, st, m, cs
}'
cdt_done >/dev/null

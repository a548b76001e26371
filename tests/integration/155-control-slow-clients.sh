#!/bin/bash
# 50 hostile local clients hang on the control socket (half send a byte
# every 1.5 s and never a whole request, half connect and send nothing;
# each connects again when dropped) while an agent runs. The controller
# keeps serving: another `cordonctl status` answers within 1 s every time, a
# suspend is stored, sent and enforced (the probe fails), and the agent is
# never declared dead.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"
cdt_init
HOSTILE=$CDT_ROOT/tests/tools/hostile.py

topo_one_host 2
expect_reach vm11 public

python3 "$HOSTILE" slow "$CDT_TMP/ctl/control.sock" 50 20 >"$CDT_TMP/slow.out" &
SLOW_PID=$!
on_exit kill "$SLOW_PID"
sleep 3 # every client connected, the first deadlines passed

# status_latency: one `cordonctl status`, its wall time (ms) in LAT_MS.
status_latency() {
	local t0 t1
	t0=${EPOCHREALTIME//[.,]/}
	timeout 10 "$CORDONCTL" --socket "$CDT_TMP/ctl/control.sock" status >/dev/null 2>&1 ||
		return 1
	t1=${EPOCHREALTIME//[.,]/}
	LAT_MS=$(((t1 - t0) / 1000))
}
lats=() slow_ones=0
for i in $(seq 20); do
	if ! status_latency; then
		fail "cordonctl status answers while 50 slow clients hang (try $i: no answer within 10 s)"
		LAT_MS=10000
	fi
	lats+=("$LAT_MS")
	((LAT_MS <= 1000)) || slow_ones=$((slow_ones + 1))
	sleep 0.3
done
sorted=$(printf '%s\n' "${lats[@]}" | sort -n)
note "cordonctl status latency under 50 slow clients (ms, 20 tries): median $(sed -n 10p <<<"$sorted"), max $(tail -n 1 <<<"$sorted")"
check "every cordonctl status answered within 1 s ($slow_ones of 20 slower)" [ "$slow_ones" = 0 ]

vm_suspend vm11 public
ok "cordonctl suspend vm11 works while the slow clients hang"
expect_cut vm11 public
expect_reach vm12 public
check "cordonctl vms: vm11 enforced" wait_until 10 vm_enforced vm11
check "cordonctl agents: hv1 connected" agent_connected hv1

wait "$SLOW_PID" || true
closed=$(cat "$CDT_TMP/slow.out")
note "the controller closed slow clients $closed times in 20 s"
check "slow clients were closed at their deadline (closed $closed times, at least 100)" \
	[ "${closed:-0}" -ge 100 ]
log=$CDT_TMP/ctl/cordond.log
out=$(grep -c "agent hv1 silent" "$log" || true)
check "cordond never declared hv1 silent (log lines: $out)" [ "$out" = 0 ]
out=$(grep -c "agent hv1 connected" "$log" || true)
check "hv1 connected once and stayed (connect lines: $out)" [ "$out" = 1 ]
lines=$(wc -l <"$log")
note "cordond log: $lines lines after 20 s of slow clients"
check "the drops are rate-limited in cordond's log ($lines lines, at most 150)" [ "$lines" -le 150 ]

vm_restore vm11
expect_reach vm11 public
cdt_done

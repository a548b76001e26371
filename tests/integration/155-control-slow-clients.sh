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

latency_series 20 1000 "cordonctl status under 50 slow clients" "$CORDONCTL" --socket "$CDT_TMP/ctl/control.sock" status
check "every cordonctl status answered within 1 s ($LAT_SLOW of 20 slower)" [ "$LAT_SLOW" = 0 ]

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

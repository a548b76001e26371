#!/bin/bash
# 50 hostile local clients (the status_group may be any monitoring user)
# hang on the agent's status socket: half send a byte every 1.5 s and never
# a whole request, half connect and send nothing. The agent keeps enforcing
# and answering: `cordon-agent status` within 1 s every time, a flush of
# its table is repaired (probe), a suspend is enforced (probe).
set -euo pipefail
. "$(dirname "$0")/../lib.sh"
cdt_init
HOSTILE=$CDT_ROOT/tests/tools/hostile.py

topo_one_host 2
vm_suspend vm11 public
expect_cut vm11 public

python3 "$HOSTILE" slow "$CDT_TMP/hv1/status.sock" 50 20 >"$CDT_TMP/slow.out" &
SLOW_PID=$!
on_exit kill "$SLOW_PID"
sleep 3 # every client connected, the first deadlines passed

latency_series 10 1000 "cordon-agent status under 50 slow clients" "$CORDON_AGENT" status --socket "$CDT_TMP/hv1/status.sock"
check "every cordon-agent status answered within 1 s ($LAT_SLOW of 10 slower)" [ "$LAT_SLOW" = 0 ]

ip netns exec "${H_NS[hv1]}" nft flush ruleset
ok "nft flush ruleset on hv1 while the slow clients hang"
check "vm11 is cut again within 2 s of the flush (probe)" \
	wait_until 2 eval '! PING_W=0.2 vm_ping vm11 public'
vm_suspend vm12 private
expect_cut vm12 private
check "cordonctl vms: vm12 enforced while the slow clients hang" wait_until 10 vm_enforced vm12

wait "$SLOW_PID" || true
closed=$(cat "$CDT_TMP/slow.out")
note "the agent closed slow clients $closed times in 20 s"
check "slow clients were closed at their deadline (closed $closed times, at least 100)" \
	[ "${closed:-0}" -ge 100 ]
lines=$(wc -l <"$CDT_TMP/hv1/agent.log")
check "the drops are rate-limited in the agent's log ($lines lines, at most 150)" [ "$lines" -le 150 ]

vm_restore vm11
vm_restore vm12
expect_reach vm11 public
expect_reach vm12 private
cdt_done

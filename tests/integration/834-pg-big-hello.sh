#!/bin/bash
# A host whose hello takes the leader longer than its lease and than the
# agent timeout to store (3000 VMs on a PostgreSQL store; lease_ms and
# agent_timeout_ms at 1000 here): the leader keeps acting (its statements
# answered all along prove its session) and keeps the agent (its heartbeats
# waited in the socket, unread, not unsent). Before: the leader answered
# its own agent "not the leader" after the hello, and marked it silent, in
# a loop, and the host never got in sync. Then a cut of one of the 3000
# VMs is applied (acked) as usual.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"
cdt_init
pg_require
N=3000
CDT_STORE=postgresql
topo_controller
ctl_keygen
write_controller_conf "lease_ms = 1000" "agent_timeout_ms = 1000"
topo_host hv1 1
big_inventory hv1 "$N" b0b0b0b0 big 02
setup_agent hv1
start_controller
start_agent hv1
known() { [ "$(ctl --json status | jq .vms)" = "$N" ]; }
check "cordond stores the $N VMs of the hello" wait_until 120 known
insync() { agent_status hv1 --json | jq -e '.controller.link == "connected"' >/dev/null; }
check "the agent is in sync" wait_until 60 insync
check "the leader never answered its agent 'not the leader'" \
	not grep -q "told hv1: not the leader" "$CDT_TMP/ctl/cordond.log"
check "... never stopped acting" not grep -q "not acting any more" "$CDT_TMP/ctl/cordond.log"
check "... never marked the agent silent" not grep -q "agent hv1 silent for" "$CDT_TMP/ctl/cordond.log"
check "the agent had one session (it never had to start over)" \
	not grep -q "(session 2)" "$CDT_TMP/hv1/agent.log"
ctl suspend big7 --scope public --reason "cordon test" >/dev/null || fail "cordonctl suspend big7"
check "the cut of one of the $N VMs is acked" wait_until 20 vm_enforced big7
cdt_done

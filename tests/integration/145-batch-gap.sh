#!/bin/bash
# A change someone else makes to our table while the agent's own batch is
# out (the agent is off the nftables monitor for that moment, so no event
# for it ever comes) is repaired at once, not at the next periodic check.
# gdb holds the agent right after the kernel took its batch (at the return
# of the batch's sendto), an accept rule is inserted into the cut port's
# chain, and the agent is let go. The periodic check is set to 60 s here:
# only the batch's generation gap can find the change. The probe judges.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"
cdt_init
command -v gdb >/dev/null || fail "gdb is installed (scripts/install-deps.sh)"
topo_one_host_unstarted 2
setup_agent hv1
sed -i 's/^verify_ms = .*/verify_ms = 60000/' "$CDT_TMP/hv1/agent.conf"
start_controller
start_agent hv1
wait_agent_connected hv1
wait_vm_known vm12
expect_reach vm11 public

# gdb stops at the batch's sendto (entry, then return), runs the tamper
# there, and detaches: the agent goes on from inside its batch.
tamper="ip netns exec ${H_NS[hv1]} nft insert rule netdev cordon in_vm1-pub accept"
SHELL=/bin/bash timeout 60 gdb -batch -nx -p "${AGENT_PID[hv1]}" \
	-ex 'catch syscall sendto' -ex 'condition 1 $_thread == 1 && $rdx > 200' \
	-ex "shell $CORDONCTL --socket $CDT_TMP/ctl/control.sock suspend vm11 --scope public >/dev/null" \
	-ex continue -ex continue -ex "shell $tamper" \
	-ex "shell ip netns exec ${H_NS[hv1]} nft list chain netdev cordon in_vm1-pub >$CDT_TMP/tampered" \
	-ex detach \
	>"$CDT_TMP/gdb.log" 2>&1 </dev/null || true
check "gdb held the agent at the return of its batch's sendto" \
	q grep -F "returned from syscall sendto" "$CDT_TMP/gdb.log"
check "the tamper landed while the agent was held: an accept rule in in_vm1-pub" \
	q grep -qw accept "$CDT_TMP/tampered"
now_ms; t0=$NOW_MS
# (captured first: grep -q closing the pipe early fails under pipefail)
repaired() { local c; c=$(host_nft hv1 list chain netdev cordon in_vm1-pub) && ! grep -qw accept <<<"$c"; }
check "the agent removes the rule within 3 s (the periodic check is 60 s away)" wait_until 3 repaired
now_ms
note "repaired $((NOW_MS - t0)) ms after gdb let the agent go"
check "public ping to vm11 fails" wait_until 5 not vm_ping vm11 public
expect_stays_cut vm11 public 2
counted() { agent_status hv1 --json | jq -e '.nft.tamper_count >= 1' >/dev/null; }
check "cordon-agent status counts it as tampering" counted
expect_reach vm12 public
vm_restore vm11
check "after restore, public ping to vm11 passes" wait_until 10 vm_ping vm11 public
cdt_done

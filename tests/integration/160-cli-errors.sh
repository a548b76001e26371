#!/bin/bash
# cordonctl with bad input or no controller: one line on stderr starting
# "cordonctl: ", the contract's exit code (1 refused, 2 usage, 3
# unreachable), and nothing changes (cordonctl vms --json identical, the
# network as it was).
set -euo pipefail
. "$(dirname "$0")/../lib.sh"
cdt_init

topo_one_host_unstarted 2
# two VMs that share a name (vm13, vm14 by index)
topo_vm hv1 1 3 dup
topo_vm hv1 1 4 dup
setup_agent hv1
start_controller
start_agent hv1
wait_agent_connected hv1
wait_vm_known vm11
wait_vm_known vm12
check "cordonctl vms lists both VMs named dup" wait_until 15 \
	vms_jq '[.[] | select(.name == "dup")] | length == 2'

sock=$CDT_TMP/ctl/control.sock
check "control socket is mode 660 (got $(stat -c %a "$sock"))" [ "$(stat -c %a "$sock")" = 660 ]
check "control socket group is control_group (root here; got $(stat -c %G "$sock"))" \
	[ "$(stat -c %G "$sock")" = root ]

# Some state to (not) disturb: vm12's public side cut.
vm_suspend vm12 public
expect_cut vm12 public
check "cordonctl vms: vm12 enforced" wait_until 15 vm_enforced vm12
before=$(ctl --json vms | jq -S .)

# expect_error CODES DESC CMD...: CMD exits with one of CODES ("1" or
# "1|2") and prints exactly one line, starting "cordonctl: ", on stderr.
expect_error() {
	local codes=$1 desc=$2 rc=0 err n
	shift 2
	"$@" >"$CDT_TMP/out" 2>"$CDT_TMP/err" </dev/null || rc=$?
	err=$(cat "$CDT_TMP/err")
	n=$(wc -l <"$CDT_TMP/err")
	if [[ ! $rc =~ ^($codes)$ ]]; then
		fail "$desc: exit $codes (got $rc; stderr: ${err:-empty})"
	elif [ "$n" != 1 ] || [[ $err != "cordonctl: "* ]]; then
		fail "$desc: one line 'cordonctl: ...' on stderr (got $n lines: $err)"
	else
		ok "$desc: exit $rc, \"$err\""
	fi
}

expect_error 1 "suspend of an unknown VM name" \
	ctl suspend nosuchvm --scope public
expect_error 1 "suspend of an unknown uuid" \
	ctl suspend 0b0e0000-0000-4000-8000-00000000dead --scope all
expect_error 1 "suspend of an unknown IP (198.18.99.99)" \
	ctl suspend 198.18.99.99 --scope public
expect_error 1 "restore of an unknown VM" \
	ctl restore nosuchvm
expect_error 1 "vm show of an unknown VM" \
	ctl vm show nosuchvm
expect_error 1 "suspend of an ambiguous name (two VMs named dup)" \
	ctl suspend dup --scope all
expect_error '1|2' "suspend with a bad scope (--scope bogus)" \
	ctl suspend vm11 --scope bogus
expect_error '1|2' "suspend with an empty scope (--scope '')" \
	ctl suspend vm11 --scope ''
expect_error 2 "suspend without --scope" \
	ctl suspend vm11
expect_error 2 "suspend without a VM" \
	ctl suspend
expect_error 2 "unknown command" \
	ctl frobnicate
expect_error 2 "unknown option" \
	ctl --frobnicate vms
expect_error 3 "status with --socket pointing nowhere" \
	"$CORDONCTL" --socket "$CDT_TMP/nowhere.sock" status
expect_error 3 "suspend with --socket pointing nowhere" \
	"$CORDONCTL" --socket "$CDT_TMP/nowhere.sock" suspend vm11 --scope public
expect_error 3 "vms with CORDON_SOCKET pointing nowhere" \
	env CORDON_SOCKET="$CDT_TMP/nowhere.sock" "$CORDONCTL" vms
: >"$CDT_TMP/not-a-socket"
expect_error 3 "status with --socket naming a regular file" \
	"$CORDONCTL" --socket "$CDT_TMP/not-a-socket" status

after=$(ctl --json vms | jq -S .)
if [ "$before" = "$after" ]; then
	ok "cordonctl vms --json identical before and after the bad commands"
else
	fail "cordonctl vms --json identical before and after the bad commands: $(diff <(echo "$before") <(echo "$after") | head -20)"
fi
expect_reach vm11 public
expect_reach vm11 private
expect_cut vm12 public
expect_reach vm12 private
for ip in 198.18.11.13 198.18.11.14 198.18.12.13 198.18.12.14; do
	scope=public
	[[ $ip == 198.18.12.* ]] && scope=private
	check "ping to $ip (one of the dups) passes" wait_until 10 probe_ping hv1 $scope $ip
done

# CORDON_SOCKET is honoured when it is right.
check "cordonctl vms with CORDON_SOCKET (no --socket) works" \
	q env CORDON_SOCKET="$CDT_TMP/ctl/control.sock" "$CORDONCTL" vms

# A controller that has gone away: exit 3, and the cut holds.
stop_controller
expect_error 3 "status after cordond stopped" ctl status
expect_error 3 "restore after cordond stopped" ctl restore vm12
expect_stays_cut vm12 public 2

cdt_done

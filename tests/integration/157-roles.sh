#!/bin/bash
# Monitoring without the power to cut. A user in the read-only group
# (readonly_group) runs cordonctl status, vms and case list (cordonctl
# falls back to the read-only socket when the control socket refuses it),
# but a suspend is refused, through either socket, and nothing changes (the
# probe still passes, no audit entry). A user in neither group gets
# nothing. The agent's status socket serves its status_group. The agent
# runs with the shipped unit's privileges: root's uid, CAP_NET_ADMIN and
# nothing else, no new privileges, a member of the status group (no
# CAP_CHOWN needed to give its socket away), and still cuts.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"
cdt_init
# Test users and group, named after this test's prefix, removed at exit.
MON_GROUP=${CDT_PREFIX}mon
MON_USER=${CDT_PREFIX}m
NOBODY_USER=${CDT_PREFIX}n
test_users "$MON_GROUP" "$MON_USER" "-$NOBODY_USER"

topo_one_host_unstarted 1
write_controller_conf "readonly_group = $MON_GROUP"
agent_keygen hv1
enroll_agent hv1
write_agent_conf hv1 hv1 "status_group = $MON_GROUP"
start_controller
AGENT_WRAP=(setpriv --no-new-privs --bounding-set=-all,+net_admin --inh-caps=-all,+net_admin
	--groups="$MON_GROUP" --)
start_agent hv1
AGENT_WRAP=()
wait_agent_connected hv1
# ip netns exec and setpriv exec: the pid is the agent's.
caps=$(grep -E '^Cap(Eff|Bnd):' "/proc/${AGENT_PID[hv1]}/status")
check "the agent runs with CAP_NET_ADMIN only: $(tr '\n\t' '  ' <<<"$caps")" \
	q test "$(grep -cE ':\s0000000000001000$' <<<"$caps")" = 2
check "the status socket is mode 660, group $MON_GROUP, without CAP_CHOWN" \
	[ "$(stat -c '%a %G' "$CDT_TMP/hv1/status.sock")" = "660 $MON_GROUP" ]
wait_vm_known vm11
expect_reach vm11 public
# The test's directories are root's (0700): others may pass through to
# the sockets, whose own modes decide.
chmod 0711 "$CDT_TMP" "$CDT_TMP/ctl" "$CDT_TMP/hv1"
SOCK=$CDT_TMP/ctl/control.sock
RO_SOCK=$CDT_TMP/ctl/control-ro.sock

check "the read-only socket is mode 660, group $MON_GROUP" \
	[ "$(stat -c '%a %G' "$RO_SOCK")" = "660 $MON_GROUP" ]

for cmd in status vms "case list" agents; do
	as "$MON_USER" "$CORDONCTL" --socket "$SOCK" $cmd
	check "$MON_GROUP member: cordonctl $cmd works (exit $RC: ${OUT:0:200})" [ "$RC" = 0 ]
done
as "$MON_USER" "$CORDONCTL" --socket "$SOCK" --json vms
check "$MON_GROUP member: cordonctl --json vms lists vm11" \
	q jq -e 'any(.[]; .name == "vm11")' <<<"$OUT"

as "$MON_USER" "$CORDONCTL" --socket "$SOCK" suspend vm11 --scope public --reason monitor
check "$MON_GROUP member: cordonctl suspend is refused (exit $RC: $OUT)" \
	[ "$RC" != 0 ]
as "$MON_USER" "$CORDONCTL" --socket "$RO_SOCK" suspend vm11 --scope public --reason monitor
check "$MON_GROUP member: suspend on the read-only socket is refused, saying so (exit $RC: $OUT)" \
	eval '[ "$RC" = 1 ] && [[ $OUT == *"read-only control socket"* ]]'
as "$MON_USER" "$CORDONCTL" --socket "$RO_SOCK" case open --category phishing --ip "${VM_PUB[vm11]}"
check "$MON_GROUP member: case open on the read-only socket is refused (exit $RC: $OUT)" \
	[ "$RC" = 1 ]
expect_stays_open vm11 public 2
check "nothing changed: vm11 has no cut in cordonctl vms" \
	vms_jq 'any(.[]; .name == "vm11" and .scopes == [])'
out=$(ctl --json audit)
check "nothing changed: no audit entry" q jq -e 'length == 0' <<<"$out"

as "$NOBODY_USER" "$CORDONCTL" --socket "$SOCK" status
check "a user in neither group: cordonctl status is refused (exit $RC: $OUT)" \
	eval '[ "$RC" = 3 ] && [[ $OUT == *"ermission denied"* ]]'
as "$NOBODY_USER" "$CORDONCTL" --socket "$SOCK" suspend vm11 --scope public
check "a user in neither group: cordonctl suspend is refused (exit $RC)" [ "$RC" = 3 ]

as "$MON_USER" "$CORDON_AGENT" status --socket "$CDT_TMP/hv1/status.sock"
check "$MON_GROUP member: cordon-agent status works (exit $RC: ${OUT:0:200})" [ "$RC" = 0 ]
as "$NOBODY_USER" "$CORDON_AGENT" status --socket "$CDT_TMP/hv1/status.sock"
check "a user in neither group: cordon-agent status is refused (exit $RC)" [ "$RC" != 0 ]

# root still has every command, on the control socket.
vm_suspend vm11 public
expect_cut vm11 public
vm_restore vm11
expect_reach vm11 public
cdt_done

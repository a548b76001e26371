#!/bin/bash
# The agent's libvirt power mechanism against real QEMU TCG guests booted by
# the tests/vm harness, through the controller and cordonctl:
#   - cordonctl poweroff on a guest that obeys ACPI, autostart on: graceful
#     shutdown, domain shut off, autostart disabled, reported "power-off";
#   - `virsh start` by hand while it must be off: the agent stops it again,
#     counts it (cordon-agent status: restarted_by_someone) and reports it to
#     the controller (cordonctl vm show: agent error);
#   - cordonctl poweron: running again, autostart back on, ping passes;
#   - a guest that ignores the power button (acpi=off): destroyed after
#     shutdown_timeout_ms; poweron brings it back; a guest cordon found shut
#     off is not started by poweron.
# Layout as in 400-libvirt-inventory.sh.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"
cdt_init

. "$CDT_ROOT/tests/libvirt.sh"
lv_test_init

G1=cdt-pw-g1 MAC1=52:54:00:42:00:01 IP1=198.18.50.10
G2=cdt-pw-g2 MAC2=52:54:00:42:00:02 IP2=198.18.50.20
G3=cdt-pw-g3 MAC3=52:54:00:42:00:03 IP3=198.18.50.30

ctl_error_has() { ctl --json vm show "$1" | jq -e --arg s "$2" '[.. | objects | .error? | strings] | any(test($s))' >/dev/null; }
agent_vm() { agent_status hv1 --json | jq -e --arg u "$1" ".vms[] | select(.uuid == \$u) | $2" >/dev/null; }
# (output captured first: grep -q closing the pipe early fails under pipefail)
autostart_is() { local i; i=$(lv_virsh dominfo "$1") && grep -Eq "^Autostart: +$2" <<<"$i"; }
state_is() { [ "$(lv_virsh domstate "$1" 2>/dev/null)" = "$2" ]; }
ctl_ok() { local out; out=$(ctl "$@" 2>&1) || fail "cordonctl $* succeeds: $out"; }

# --- libvirt and the guests
lv_test_start
_log_register "$LV_DIR/guests/$G1.serial"
_log_register "$LV_DIR/guests/$G2.serial"
lv_define_guest "$G1" "$MAC1" "$LV_BRIDGE" "$IP1/24" || fail "virsh define $G1"
lv_define_guest "$G2" "$MAC2" "$LV_BRIDGE" "$IP2/24" noacpi || fail "virsh define $G2 (noacpi)"
lv_define_guest "$G3" "$MAC3" "$LV_BRIDGE" "$IP3/24" || fail "virsh define $G3 (left shut off)"
lv_virsh autostart "$G1" >/dev/null || fail "virsh autostart $G1"
lv_start_guest "$G1" || fail "virsh start $G1"
lv_start_guest "$G2" || fail "virsh start $G2"
UUID1=$(lv_virsh domuuid "$G1")
ok "libvirtd up in ${LV_START_SECS}s; $G1 (ACPI, autostart) and $G2 (acpi=off) started, $G3 shut off"

# --- controller, management link, agent in the libvirt namespace
lv_controller_and_host "shutdown_timeout_ms = 3000"
start_controller
start_agent hv1
wait_agent_connected hv1
wait_vm_known "$G1"
wait_vm_known "$G2"
wait_vm_known "$G3"
lv_wait_ready "$G1" 120 || fail "$G1 boots to its ready marker"
lv_wait_ready "$G2" 120 || fail "$G2 boots to its ready marker"
lv_wait_ping "$IP1" 30 || fail "$G1 answers ping"
lv_wait_ping "$IP2" 30 || fail "$G2 answers ping"
ok "$G1 and $G2 answer ping from the probe"

# --- poweroff: graceful shutdown
now_ms; t0=$NOW_MS
ctl_ok poweroff "$G1" --reason "cordon test"
lv_wait_state "$G1" "shut off" 30 || fail "poweroff $G1: domain shut off"
ok "poweroff $G1: shut off after $(elapsed_ms "$t0") ms (graceful)"
check "poweroff $G1: autostart disabled" wait_until 5 autostart_is "$G1" disable
check "cordonctl vm show $G1: mechanisms power-off" wait_until 10 ctl_mech_is "$G1" power-off
check "cordon-agent status: $G1 power held, was running, autostart was on" \
	agent_vm "$UUID1" '(.mechanisms == "power-off") and .power.held and .power.was_running and .power.autostart'
check "agent log: shut off gracefully (no destroy)" \
	q grep -E "VM $UUID1: shut off \(" "$CDT_TMP/hv1/agent.log"

# --- someone starts it by hand
now_ms; t0=$NOW_MS
lv_virsh start "$G1" >/dev/null || fail "virsh start $G1 by hand"
wait_until 20 state_is "$G1" "shut off" || fail "the agent stops $G1 again"
ok "$G1 started by hand: stopped again by the agent after $(elapsed_ms "$t0") ms"
check "cordon-agent status: restarted_by_someone 1 for $G1" \
	wait_until 5 agent_vm "$UUID1" '.restarted_by_someone == 1'
check "cordonctl vm show $G1: the agent reports it" wait_until 10 ctl_error_has "$G1" "started by someone"
check "agent log: warning about the start" \
	q grep "warning.*was started while it must be off" "$CDT_TMP/hv1/agent.log"
check "$G1 stays off" never_within 3 eval "! state_is '$G1' 'shut off'"

# --- poweron: running, autostart as before
now_ms; t0=$NOW_MS
ctl_ok poweron "$G1"
lv_wait_state "$G1" running 20 || fail "poweron $G1: running"
ok "poweron $G1: running after $(elapsed_ms "$t0") ms"
check "poweron $G1: autostart back on" wait_until 5 autostart_is "$G1" enable
lv_wait_ping "$IP1" 60 || fail "poweron $G1: ping passes"
ok "poweron $G1: ping passes after $(elapsed_ms "$t0") ms"
check "cordonctl vm show $G1: mechanisms none" wait_until 10 ctl_mech_is "$G1" none

# --- a guest that ignores the power button: destroy after the timeout
now_ms; t0=$NOW_MS
ctl_ok poweroff "$G2"
lv_wait_state "$G2" "shut off" 20 || fail "poweroff $G2 (acpi=off): shut off"
ok "poweroff $G2 (acpi=off): shut off after $(elapsed_ms "$t0") ms (shutdown_timeout_ms 3000)"
check "agent log: $G2 destroyed after the shutdown timeout" \
	wait_until 5 q grep "shut off by destroy after the shutdown timeout" "$CDT_TMP/hv1/agent.log"
check "autostart of $G2 stays off (it was off)" autostart_is "$G2" disable
ctl_ok poweron "$G2"
lv_wait_state "$G2" running 20 || fail "poweron $G2: running"
lv_wait_ping "$IP2" 60 || fail "poweron $G2: ping passes"
ok "poweron $G2: running, ping passes"

# --- a guest cordon found shut off is not started at restore
ctl_ok poweroff "$G3"
check "cordonctl vm show $G3: power-off" wait_until 10 ctl_mech_is "$G3" power-off
ctl_ok poweron "$G3"
check "cordonctl vm show $G3: none" wait_until 10 ctl_mech_is "$G3" none
check "$G3 stays shut off after poweron (cordon did not power it off)" state_is "$G3" "shut off"
agent_status hv1 | sed 's/^/# /'

cdt_done

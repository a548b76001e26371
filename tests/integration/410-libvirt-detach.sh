#!/bin/bash
# The agent's libvirt detach mechanism ([agent] mechanisms = nft,detach, the
# default with inventory = libvirt) against real QEMU TCG guests booted by the
# tests/vm harness, all through the controller and cordonctl:
#   (a) suspend --scope public on a guest that releases its NIC (ACPI): nft
#       cuts at once, then the interface is gone from the live AND the
#       persistent domain XML; cordonctl vm show and cordon-agent status say
#       "nft,detach"; restore re-attaches the saved XML: same MAC on the same
#       bridge, live and persistent, and the probe's ping passes again;
#   (b) a guest that never answers the unplug request (booted acpi=off):
#       after detach_timeout_ms the link-down fallback holds and is reported
#       ("nft,link-down"); restore sets the link up and ping passes;
#   (c) that guest resets after the restore: QEMU completes the unplug it
#       kept pending since the cut and the NIC vanishes from the running
#       domain; the agent, which kept watching it, re-attaches it at once,
#       so the rebooting guest has its NIC and answers ping again (and a
#       second reset changes nothing);
#   (n) a guest with no hotplug at all (no ACPI): the detach is refused at
#       once, link-down holds; restore sets the link up, nothing is left
#       pending;
#   (d) the agent killed (kill -9) while a detach is in progress and started
#       again: it ends with the NIC detached and the probe failing; restore
#       then works;
#   (e) libvirtd frozen (SIGSTOP): the agent's main loop keeps serving (a
#       re-read asked with SIGHUP and a re-attach are stuck in libvirt):
#       cordon-agent status answers and a new nft cut takes effect; the
#       agent is killed (kill -9) in the middle of that re-attach, libvirtd
#       resumes, the agent restarts: the NIC is back exactly once (live and
#       persistent) and the guest answers ping;
#   (f) the agent stopped (SIGTERM) while libvirtd hangs: it exits cleanly
#       within 10 s (leaving its stuck libvirt reader) and the cuts hold.
# Layout as in 400-libvirt-inventory.sh (agent in the harness's libvirt
# namespace, cabled to lib.sh's controller).
set -euo pipefail
. "$(dirname "$0")/../lib.sh"
cdt_init

. "$CDT_ROOT/tests/libvirt.sh"
lv_test_init

G1=cdt-dt-g1 MAC1=52:54:00:41:00:01 IP1=198.18.50.10
G2=cdt-dt-g2 MAC2=52:54:00:41:00:02 IP2=198.18.50.20
G3=cdt-dt-g3 MAC3=52:54:00:41:00:03 IP3=198.18.50.30

# Boots of a guest so far (its ready marker on the serial console).
boots() { grep -c CORDON-GUEST-READY "$LV_DIR/guests/$1.serial" 2>/dev/null || true; }
booted_after() { [ "$(boots "$1")" -gt "$2" ]; }
# reset_and_wait NAME: a hard reset (as a guest crash or `reboot`), then the
# guest's next boot to its ready marker.
reset_and_wait() {
	local n
	n=$(boots "$1")
	lv_virsh reset "$1" >/dev/null || fail "virsh reset $1"
	wait_until 60 booted_after "$1" "$n" || fail "$1 boots again after the reset"
}
agent_pending() { agent_status hv1 --json | jq -r --arg u "$1" '.vms[] | select(.uuid == $u) | .pending // ""'; }
pending_is() { [[ "$(agent_pending "$1")" == "$2"* ]]; }


# --- libvirt and two guests (booting while the daemons start)
lv_test_start
lv_boot_guest "$G1" "$MAC1" "$IP1"
lv_boot_guest "$G2" "$MAC2" "$IP2" noacpi
lv_boot_guest "$G3" "$MAC3" "$IP3" nohotplug
UUID1=$(lv_virsh domuuid "$G1")
UUID2=$(lv_virsh domuuid "$G2")
UUID3=$(lv_virsh domuuid "$G3")
ok "libvirtd up in ${LV_START_SECS}s; $G1 (ACPI), $G2 (acpi=off), $G3 (no hotplug) started"

# --- controller, management link, agent in the libvirt namespace
lv_controller_and_host "detach_timeout_ms = 3000"
start_controller
start_agent hv1
wait_agent_connected hv1
wait_vm_known "$G1"
wait_vm_known "$G2"
wait_vm_known "$G3"
check "cordon-agent status: mechanisms nft,detach (the default with libvirt)" \
	q eval "agent_status hv1 --json | jq -e '.mech.mechanisms == \"nft,detach\"'"
lv_wait_ready "$G1" 120 || fail "$G1 boots to its ready marker"
lv_wait_ready "$G2" 120 || fail "$G2 boots to its ready marker"
lv_wait_ping "$IP1" 30 || fail "$G1 answers ping from the probe"
lv_wait_ready "$G3" 120 || fail "$G3 boots to its ready marker"
lv_wait_ping "$IP2" 30 || fail "$G2 answers ping from the probe"
lv_wait_ping "$IP3" 30 || fail "$G3 answers ping from the probe"
ok "$G1, $G2 and $G3 answer ping from the probe"

# --- (a) detach on a guest that releases the NIC
now_ms; t0=$NOW_MS
vm_suspend "$G1" public
lv_wait_noping "$IP1" 10 || fail "(a) suspend $G1: the probe's ping fails"
t_ping=$(elapsed_ms "$t0")
wait_until 15 iface_gone "$G1" "$MAC1" || fail "(a) $MAC1 gone from $G1's live and persistent XML"
t_gone=$(elapsed_ms "$t0")
ok "(a) suspend $G1: ping fails after ${t_ping} ms; $MAC1 gone from live and persistent XML after ${t_gone} ms"
check "(a) cordonctl vm show $G1: mechanisms nft,detach" wait_until 10 ctl_mech_is "$G1" nft,detach
check "(a) cordon-agent status: $G1 nft,detach" agent_mech_is "$UUID1" nft,detach
check "(a) the agent's state keeps the saved interface XML" \
	q jq -e --arg m "$MAC1" '.vms[].held[]? | select(.mac == $m and .mechanism == "detach") | .xml | test("<source bridge=")' \
	"$CDT_TMP/hv1/state/state.json"
check "(a) nft still holds $MAC1 (detached, not in the inventory: its tap's chains stay, port missing)" \
	q host_holds hv1 "$MAC1"
check "(a) cordonctl vm show $G1 still lists the detached $MAC1 (from the saved XML)" \
	q eval "ctl --json vm show '$G1' | jq -e --arg m '$MAC1' 'any(.interfaces[]; .mac == \$m and .scope == \"public\")'"
check "(a) $G1 stays cut" never_within 3 lv_ping "$IP1"
now_ms; t0=$NOW_MS
vm_restore "$G1"
lv_wait_ping "$IP1" 20 || fail "(a) restore $G1: ping passes"
ok "(a) restore $G1: ping passes after $(elapsed_ms "$t0") ms"
check "(a) $MAC1 back on $LV_BRIDGE, virtio, in the live XML" \
	q eval "iface_has '$G1' '$MAC1' \"<source bridge='$LV_BRIDGE'\" &&
		iface_has '$G1' '$MAC1' \"<model type='virtio'/>\""
check "(a) $MAC1 back on $LV_BRIDGE in the persistent XML" \
	iface_has "$G1" "$MAC1" "<source bridge='$LV_BRIDGE'" --inactive
check "(a) cordonctl vm show $G1: mechanisms none" wait_until 10 ctl_mech_is "$G1" none
check "(a) the agent forgot the saved XML" wait_until 5 not state_has '"held"'

# --- (b) a guest that does not release the NIC: link-down fallback
now_ms; t0=$NOW_MS
vm_suspend "$G2" public
lv_wait_noping "$IP2" 10 || fail "(b) suspend $G2: the probe's ping fails"
t_ping=$(elapsed_ms "$t0")
if wait_until 20 ctl_mech_is "$G2" nft,link-down; then
	ok "(b) $G2 ignores the unplug: cordonctl vm show says nft,link-down after $(elapsed_ms "$t0") ms (ping failed after ${t_ping} ms)"
else
	fail "(b) cordonctl vm show $G2: nft,link-down (is: $(ctl_mech "$G2"))"
fi
check "(b) cordon-agent status: $G2 nft,link-down" agent_mech_is "$UUID2" nft,link-down
check "(b) live XML: $MAC2 present with link state down" \
	iface_has "$G2" "$MAC2" "<link state='down'/>"
check "(b) persistent XML: $MAC2 gone (a guest reboot does not bring it back)" not iface_conf "$G2" "$MAC2"
check "(b) $G2 stays cut" never_within 3 lv_ping "$IP2"
now_ms; t0=$NOW_MS
vm_restore "$G2"
lv_wait_ping "$IP2" 20 || fail "(b) restore $G2: ping passes"
ok "(b) restore $G2: link up, ping passes after $(elapsed_ms "$t0") ms"
check "(b) live XML: $MAC2 link not down" \
	not iface_has "$G2" "$MAC2" "<link state='down'/>"
check "(b) persistent XML: $MAC2 back on $LV_BRIDGE" \
	iface_has "$G2" "$MAC2" "<source bridge='$LV_BRIDGE'" --inactive
check "(b) cordonctl vm show $G2: mechanisms none" wait_until 10 ctl_mech_is "$G2" none
check "(b) the agent keeps watching $MAC2: QEMU still holds the unplug asked during the cut" \
	wait_until 5 state_has '"unplug-pending"'
check "(b) cordon-agent status says so" \
	q eval "grep -q '$MAC2: restored, but QEMU still holds the unplug' <<<\"\$(agent_status hv1)\""

# --- (c) the guest resets: the pending unplug completes, the agent re-attaches
now_ms; t0=$NOW_MS
reset_and_wait "$G2"
ok "(c) $G2 reset and booted again in $(elapsed_ms "$t0") ms"
check "(c) agent log: the reset completed the old unplug, NIC re-attached" \
	q grep "a guest reset completed the unplug asked during an earlier cut" "$CDT_TMP/hv1/agent.log"
check "(c) $MAC2 in $G2's live XML, on $LV_BRIDGE, link not down" \
	q eval "iface_has '$G2' '$MAC2' \"<source bridge='$LV_BRIDGE'\" &&
		! iface_has '$G2' '$MAC2' \"<link state='down'/>\""
check "(c) $MAC2 in $G2's persistent XML" iface_conf "$G2" "$MAC2"
lv_wait_ping "$IP2" 30 || fail "(c) $G2 answers ping after the reset (NIC present at boot)"
ok "(c) $G2 answers ping $(elapsed_ms "$t0") ms after the reset"
check "(c) nothing pending any more: the agent dropped its record" \
	wait_until 5 not state_has '"unplug-pending"'
check "(c) cordonctl vm show $G2: mechanisms none" ctl_mech_is "$G2" none
reset_and_wait "$G2"
lv_wait_ping "$IP2" 30 || fail "(c) $G2 answers ping after a second reset"
check "(c) second reset: $MAC2 still live" iface_live "$G2" "$MAC2"

# --- (n) no hotplug at all: detach refused at once, link down
now_ms; t0=$NOW_MS
vm_suspend "$G3" public
lv_wait_noping "$IP3" 10 || fail "(n) suspend $G3: the probe's ping fails"
if wait_until 10 ctl_mech_is "$G3" nft,link-down; then
	ok "(n) $G3 refuses the unplug: nft,link-down after $(elapsed_ms "$t0") ms (no wait for the guest)"
else
	fail "(n) cordonctl vm show $G3: nft,link-down (is: $(ctl_mech "$G3"))"
fi
check "(n) agent log: detach refused, link down" q grep "detach refused" "$CDT_TMP/hv1/agent.log"
check "(n) live XML: $MAC3 with link state down" iface_has "$G3" "$MAC3" "<link state='down'/>"
check "(n) persistent XML: $MAC3 gone (a guest reboot does not bring it back)" not iface_conf "$G3" "$MAC3"
check "(n) $G3 stays cut" never_within 2 lv_ping "$IP3"
vm_restore "$G3"
lv_wait_ping "$IP3" 20 || fail "(n) restore $G3: ping passes"
check "(n) $MAC3 back in the persistent XML" iface_conf "$G3" "$MAC3"
check "(n) cordonctl vm show $G3: mechanisms none" wait_until 10 ctl_mech_is "$G3" none
check "(n) nothing left pending for $G3 (its unplug was refused, not kept)" \
	wait_until 5 not q eval "jq -e --arg u '$UUID3' '.vms[] | select(.uuid == \$u) | .held' '$CDT_TMP/hv1/state/state.json'"

# --- (d) agent killed mid-detach, started again
vm_suspend "$G1" public
wait_until 10 state_has '"detaching"' || fail "(d) the agent saved $MAC1's XML as detaching"
kill9_agent hv1
ok "(d) agent killed (-9) with $MAC1 detaching"
lv_wait_noping "$IP1" 10 || fail "(d) $G1 cut by nft while the agent is down"
start_agent hv1
wait_agent_connected hv1
check "(d) after the restart: $MAC1 gone from the live and persistent XML" \
	wait_until 15 iface_gone "$G1" "$MAC1"
check "(d) cordonctl vm show $G1: nft,detach" wait_until 15 ctl_mech_is "$G1" nft,detach
check "(d) $G1 stays cut" never_within 3 lv_ping "$IP1"
vm_restore "$G1"
lv_wait_ping "$IP1" 20 || fail "(d) restore $G1 after the restart: ping passes"
ok "(d) restore $G1 after the restart: ping passes"
check "(d) $MAC1 back in the live and persistent XML" \
	q eval "iface_live '$G1' '$MAC1' && iface_conf '$G1' '$MAC1'"

# --- (e) libvirtd hangs; the agent is killed in the middle of a re-attach
vm_suspend "$G1" public
wait_until 15 ctl_mech_is "$G1" nft,detach || fail "(e) $G1 detached again"
LVPID=$(cat "$LV_DIR/libvirtd.pid")
on_exit kill -CONT "$LVPID"
kill -STOP "$LVPID"
ok "(e) libvirtd frozen (SIGSTOP)"
vm_restore "$G1"
check "(e) the agent is re-attaching $MAC1 (stuck in libvirt)" \
	wait_until 5 pending_is "$UUID1" "restore $MAC1"
kill -HUP "${AGENT_PID[hv1]}" # a full re-read, stuck in libvirt too
now_ms; t0=$NOW_MS
check "(e) cordon-agent status answers while libvirt hangs" q agent_status hv1
vm_suspend "$G3" public
lv_wait_noping "$IP3" 10 || fail "(e) a new cut ($G3) takes effect while libvirt hangs"
ok "(e) while libvirtd hangs: status answers, a new cut holds after $(elapsed_ms "$t0") ms"
check "(e) cordonctl vm show $G3: nft (libvirt's part waits)" wait_until 5 ctl_mech_is "$G3" nft
kill9_agent hv1
kill -CONT "$LVPID"
ok "(e) agent killed (-9) mid re-attach; libvirtd resumed"
start_agent hv1
wait_agent_connected hv1
lv_wait_ping "$IP1" 30 || fail "(e) after the restart: $G1 answers ping"
check "(e) $MAC1 exactly once in the live XML and in the persistent XML" \
	q eval "[ \$(lv_virsh dumpxml '$G1' | grep -c '$MAC1') = 1 ] &&
		[ \$(lv_virsh dumpxml --inactive '$G1' | grep -c '$MAC1') = 1 ]"
check "(e) cordonctl vm show $G1: mechanisms none" wait_until 10 ctl_mech_is "$G1" none
check "(e) $G3's cut holds, libvirt's part done: nft,link-down" \
	wait_until 15 ctl_mech_is "$G3" nft,link-down
check "(e) $G3 stays cut" never_within 2 lv_ping "$IP3"

# --- (f) stopping the agent while libvirtd hangs
kill -STOP "$LVPID"
kill -HUP "${AGENT_PID[hv1]}" # the reader is now stuck in libvirt
sleep 0.5
now_ms; t0=$NOW_MS
stop_agent hv1 # fails the test unless it exits cleanly within 10 s
ok "(f) agent stopped (SIGTERM) in $(elapsed_ms "$t0") ms with its libvirt reader stuck"
check "(f) agent log: it left the stuck reader" \
	q grep "libvirt reader stuck in a call to libvirtd; leaving it" "$CDT_TMP/hv1/agent.log"
kill -CONT "$LVPID"
check "(f) $G3 stays cut with no agent running" never_within 2 lv_ping "$IP3"
start_agent hv1
wait_agent_connected hv1
check "(f) after the restart: $G3 nft,link-down" wait_until 15 ctl_mech_is "$G3" nft,link-down
agent_status hv1 | sed 's/^/# /'

cdt_done

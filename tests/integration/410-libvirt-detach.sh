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
#   (d) the agent killed (kill -9) while a detach is in progress and started
#       again: it ends with the NIC detached and the probe failing; restore
#       then works.
# Layout as in 400-libvirt-inventory.sh (agent in the harness's libvirt
# namespace, cabled to lib.sh's controller).
set -euo pipefail
. "$(dirname "$0")/../lib.sh"
cdt_init

. "$CDT_ROOT/tests/libvirt.sh"
lv_test_init

G1=cdt-dt-g1 MAC1=52:54:00:41:00:01 IP1=198.18.50.10
G2=cdt-dt-g2 MAC2=52:54:00:41:00:02 IP2=198.18.50.20


# --- libvirt and two guests (booting while the daemons start)
lv_test_start
lv_boot_guest "$G1" "$MAC1" "$IP1"
lv_boot_guest "$G2" "$MAC2" "$IP2" noacpi
UUID1=$(lv_virsh domuuid "$G1")
UUID2=$(lv_virsh domuuid "$G2")
ok "libvirtd up in ${LV_START_SECS}s; $G1 (ACPI) and $G2 (acpi=off) started"

# --- controller, management link, agent in the libvirt namespace
topo_controller
ctl_keygen
write_controller_conf
lv_host_agent "detach_timeout_ms = 3000"
start_controller
start_agent hv1
wait_agent_connected hv1
wait_vm_known "$G1"
wait_vm_known "$G2"
check "cordon-agent status: mechanisms nft,detach (the default with libvirt)" \
	q eval "agent_status hv1 --json | jq -e '.mech.mechanisms == \"nft,detach\"'"
lv_wait_ready "$G1" 120 || fail "$G1 boots to its ready marker"
lv_wait_ready "$G2" 120 || fail "$G2 boots to its ready marker"
lv_wait_ping "$IP1" 30 || fail "$G1 answers ping from the probe"
lv_wait_ping "$IP2" 30 || fail "$G2 answers ping from the probe"
ok "$G1 and $G2 answer ping from the probe"

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
check "(a) nft still holds $MAC1 (detached, not in the inventory)" \
	q eval "host_nft hv1 list set bridge cordon cut_public | grep -i '$MAC1'"
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
agent_status hv1 | sed 's/^/# /'

cdt_done

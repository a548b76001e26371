#!/bin/bash
# A VM moved between hosts keeps its cut: a real QEMU guest cut on hv1 (the
# agent reads a private libvirtd, tests/vm) is undefined there and the same
# VM (uuid, MAC) shows up on hv2 (a simulated host: its static inventory,
# re-read on SIGHUP, and a namespace on its bridge), as a migration does:
# stopped on hv1, running on hv2, then undefined on hv1. hv2's agent cuts it
# (probe on hv2's bridge fails), hv1 lets go of it, restore works on hv2.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"
cdt_init

. "$CDT_ROOT/tests/libvirt.sh"
lv_test_init

G1=cdt-mv-g1 MAC1=52:54:00:43:00:01 IP1=198.18.50.10


# --- libvirt and the guest (booting while the daemons start)
lv_test_start
lv_boot_guest "$G1" "$MAC1" "$IP1"
UUID1=$(lv_virsh domuuid "$G1")
ok "libvirtd up in ${LV_START_SECS}s; $G1 started"

# --- controller, management link, agent in the libvirt namespace
lv_controller_and_host "detach_timeout_ms = 3000"
topo_host hv2 2
setup_agent hv2
start_controller
start_agent hv1
start_agent hv2
wait_agent_connected hv2
wait_agent_connected hv1
wait_vm_known "$G1"
lv_wait_ready "$G1" 120 || fail "$G1 boots to its ready marker"
lv_wait_ping "$IP1" 30 || fail "$G1 answers ping from the probe"
ok "$G1 answers ping from the probe"


vm_suspend "$G1" public
lv_wait_noping "$IP1" 10 || fail "suspend $G1 on hv1: the probe's ping fails"
ok "$G1 cut on hv1"

# --- as in a migration: it stops on hv1 ...
lv_virsh destroy "$G1" >/dev/null || fail "virsh destroy $G1 on hv1"
off_on_hv1() { ctl --json vms | jq -e --arg u "$UUID1" 'any(.[]; .uuid == $u and .host == "hv1" and .vm_state == "shut off")' >/dev/null; }
check "cordonctl vms: $G1 shut off on hv1 (libvirt event)" wait_until 10 off_on_hv1

# --- ... and runs on hv2 (same uuid and MAC; an address of hv2's network)
vns=${H_NS[hv2]}-mv
mkns "$vns"
ip -n "${H_NS[hv2]}" link add mv-pub type veth peer name eth0 netns "$vns"
ip -n "${H_NS[hv2]}" link set mv-pub master br-pub up
ip -n "$vns" link set eth0 address "$MAC1"
ip -n "$vns" addr add 198.18.21.30/24 dev eth0
ip -n "$vns" link set eth0 up
inv2=$CDT_TMP/hv2/inventory.json
jq --arg u "$UUID1" --arg n "$G1" --arg m "$MAC1" \
	'.vms += [{ uuid: $u, name: $n, interfaces: [ { mac: $m, bridge: "br-pub", port: "mv-pub", ips: ["198.18.21.30"] } ] }]' \
	"$inv2" >"$inv2.new"
mv "$inv2.new" "$inv2"
kill -HUP "${AGENT_PID[hv2]}"
ok "$G1 now in hv2's inventory (SIGHUP)"
on_hv2() { ctl --json vms | jq -e --arg u "$UUID1" 'any(.[]; .uuid == $u and .host == "hv2" and .state == "enforced")' >/dev/null; }
check "cordonctl vms: $G1 on hv2, cut, acked by hv2" wait_until 15 on_hv2
hv2_ping() { probe_ping hv2 public 198.18.21.30; }
check "public ping to $G1 on hv2 fails" wait_until 10 not hv2_ping

# --- then its definition leaves hv1's libvirt
check "while hv1 still has it defined (shut off), it stays on hv2" on_hv2
lv_virsh undefine "$G1" >/dev/null || fail "virsh undefine $G1 on hv1"
ok "$G1 undefined on hv1"
gone_from_hv1() { ! agent_status hv1 --json | jq -e --arg u "$UUID1" 'any(.vms[]; .uuid == $u)' >/dev/null; }
check "hv1's agent no longer enforces $G1" wait_until 20 gone_from_hv1
lifted_on_hv1() { ! grep -qi -e "$MAC1" -e "chain in_" <<<"$(host_nft hv1 list ruleset)"; }
check "hv1's kernel table let go of $MAC1" wait_until 10 lifted_on_hv1
check "still on hv2 and cut" on_hv2
check "public ping to $G1 on hv2 still fails" not hv2_ping

vm_restore "$UUID1"
check "after restore, public ping to $G1 on hv2 passes" wait_until 10 hv2_ping
cdt_done

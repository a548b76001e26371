#!/bin/bash
# The agent never detaches a NIC whose XML it has not saved: with its state
# directory full (a small tmpfs, filled up), a cut of a real QEMU guest
# holds at once by nft (the probe fails), the NIC stays attached and the cut
# is not acked while the state cannot be written; once space returns the
# state is saved, the NIC is detached and the cut acked; restore gives the
# NIC back (from the saved XML) and the guest answers again.
# Then a read the agent cannot complete: a cut domain (defined, not
# running: cut by MAC) redefined with 65 interfaces is skipped by the
# reader; the inventory is incomplete and its cut stays in the kernel.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"
cdt_init

. "$CDT_ROOT/tests/libvirt.sh"
lv_test_init

G1=cdt-sf-g1 MAC1=52:54:00:45:00:01 IP1=198.18.50.10

lv_test_start
lv_boot_guest "$G1" "$MAC1" "$IP1"
UUID1=$(lv_virsh domuuid "$G1")
ok "libvirtd up in ${LV_START_SECS}s; $G1 started"

lv_controller_and_host "detach_timeout_ms = 3000"
state=$CDT_TMP/hv1/state
mount -t tmpfs -o size=256k "$CDT_PREFIX-state" "$state" || fail "a 256 KiB tmpfs on the agent's state directory"
unmount_state() { umount "$state" 2>/dev/null || umount -l "$state" 2>/dev/null || true; }
on_exit unmount_state
lv_daemons_up
lv_guest_up "$G1" "$IP1"
ok "$G1 answers ping from the probe"

dd if=/dev/zero of="$state/fill" bs=4k 2>/dev/null || true
check "the state directory is full (no space left)" \
	not q sh -c "echo x >'$state/probe-write'"

vm_suspend "$G1" public
lv_wait_noping "$IP1" 10 || fail "suspend $G1 with its state full: the probe's ping fails (nft holds)"
ok "suspend $G1 with the state directory full: the probe's ping fails"
unsaved() { agent_status hv1 --json | jq -e '.pending.state_unsaved == true' >/dev/null; }
check "cordon-agent status: pending.state_unsaved" wait_until 5 unsaved
check "$MAC1 stays attached to $G1 for 6 s while its XML cannot be saved" \
	never_within 6 not iface_live "$G1" "$MAC1"
check "cordonctl vms: $G1 is pending, not enforced" vm_state_is "$G1" pending
expect_stays_cut_lv() { never_within "$1" lv_ping "$IP1"; }
check "$G1 stays cut meanwhile" expect_stays_cut_lv 2

rm -f "$state/fill"
ok "space is back in the state directory"
check "the state is saved" wait_until 10 not unsaved
wait_until 20 iface_gone "$G1" "$MAC1" || fail "$MAC1 detached from $G1 once its XML is saved"
ok "$MAC1 detached (live and persistent XML) once its XML is saved"
check "the saved XML is in the state file" \
	q jq -e --arg m "$MAC1" '.vms[].held[]? | select(.mac == $m) | .xml | test("<source bridge=")' "$state/state.json"
check "cordonctl vms: $G1 enforced" wait_until 10 vm_enforced "$G1"

vm_restore "$G1"
lv_wait_ping "$IP1" 30 || fail "restore $G1: ping passes"
ok "restore $G1: the NIC is back and the guest answers ping"
check "$MAC1 back in the live XML" iface_live "$G1" "$MAC1"

# --- a domain the reader skips keeps its cut
D2=cdt-sf-d2 MAC2=52:54:00:45:00:02
lv_define_guest "$D2" "$MAC2" "$LV_BRIDGE" 198.18.50.20 || fail "virsh define $D2"
wait_vm_known "$D2"
vm_suspend "$D2" public
check "$D2 (shut off) is cut by MAC in hv1's kernel" wait_until 10 q host_holds hv1 "$MAC2"
# Its own NIC is detached by now (the cut's detach mechanism): 65 more.
xml=$CDT_TMP/d2-65.xml
lv_virsh dumpxml --inactive "$D2" >"$CDT_TMP/d2.xml"
python3 -c '
import sys
x = sys.stdin.read()
nics = "".join("<interface type=\"bridge\"><mac address=\"52:54:00:46:00:%02x\"/>"
               "<source bridge=\"%s\"/></interface>" % (i, sys.argv[1]) for i in range(65))
print(x.replace("</devices>", nics + "</devices>", 1))' "$LV_BRIDGE" <"$CDT_TMP/d2.xml" >"$xml"
lv_virsh define "$xml" >/dev/null || fail "virsh define $D2 with 65 interfaces"
skipped() { grep -q "domain $D2 skipped: 65 interfaces" "$CDT_TMP/hv1/agent.log"; }
check "the agent skips $D2 (65 interfaces) and says its inventory is incomplete" wait_until 15 skipped
incomplete() { agents_jq 'any(.[]; .host == "hv1" and .inventory_complete == false)'; }
check "cordonctl agents: hv1's inventory_complete is false" wait_until 10 incomplete
# Not host_holds: the agent's status has no interfaces for a VM it cannot read.
# (captured first: grep -q closing the pipe early fails under pipefail)
in_map() { local m; m=$(host_nft hv1 list map bridge cordon cut 2>/dev/null) && grep -qi "$MAC2" <<<"$m"; }
check "$D2's cut stays in hv1's kernel (bridge map) for 5 s" never_within 5 not in_map
still_bound() { vms_jq --arg n "$D2" 'any(.[]; .name == $n and .host == "hv1" and (.scopes | length) > 0)'; }
check "cordonctl vms: $D2 still on hv1, still cut" still_bound
lv_virsh define "$CDT_TMP/d2.xml" >/dev/null || fail "virsh define $D2 as it was"
complete() { agents_jq 'any(.[]; .host == "hv1" and .inventory_complete == true)'; }
check "$D2 readable again: inventory complete" wait_until 15 complete
vm_restore "$D2"
lifted() { ! in_map; }
check "restore $D2: its cut is lifted" wait_until 10 lifted
cdt_done

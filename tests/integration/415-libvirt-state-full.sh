#!/bin/bash
# The agent never detaches a NIC whose XML it has not saved: with its state
# directory full (a small tmpfs, filled up), a cut of a real QEMU guest
# holds at once by nft (the probe fails), the NIC stays attached and the cut
# is not acked while the state cannot be written; once space returns the
# state is saved, the NIC is detached and the cut acked; restore gives the
# NIC back (from the saved XML) and the guest answers again.
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
cdt_done

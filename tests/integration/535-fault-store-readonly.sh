#!/bin/bash
# Fault: the filesystem of the controller's database goes read-only under
# it, the way a real one does: an ext4 error with errors=remount-ro (the
# kernel's emergency read-only; /sys/fs/ext4/DEV/trigger_fs_error raises a
# real one). The database is on a small ext4 image on a loop device the
# test mounts for it.
#
# Meanwhile mutating commands (suspend, restore, case resolve, case open)
# fail with one line that says why and exit 1, and change nothing; reads
# work, the agent stays connected, the cuts hold by probe. An emergency
# read-only stays until the filesystem is unmounted and checked (a remount
# rw does not lift it; a plain remount ro is refused while cordond holds its
# database open for writing, so this is the read-only a running cordond can
# meet), so recovery is the operator's: stop cordond (it must exit cleanly),
# e2fsck, mount, start cordond. Then every change accepted before is there,
# mutations work again, and PRAGMA integrity_check says ok.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../cases.sh"
. "$(dirname "$0")/../store_faults.sh"
cdt_init
for t in losetup mkfs.ext4 e2fsck sqlite3; do
	command -v "$t" >/dev/null || fail "$t is installed"
done

truncate -s 32M "$CDT_TMP/store.img"
mkfs.ext4 -q -F "$CDT_TMP/store.img"
dev=$(losetup -f --show "$CDT_TMP/store.img")
on_exit losetup -d "$dev"
shared_mount "$CDT_TMP/ctl/store" -o errors=remount-ro "$dev"
data=$CDT_TMP/ctl/store/fs
CTL_DB=$data/cordon.db
topo_cases 3
ok "cordond's database on a 32 MB ext4 ($dev, errors=remount-ro): $CTL_DB"

vm_suspend vm12 all
case_open --category outbound-attack --vm vm13 --contact a@example.org --source test
case13=$CASE_ID
check "vm12 (manual) and vm13 (case $case13) enforced before the fault" \
	wait_until 15 eval 'vm_enforced vm12 && vm_enforced vm13'
judge_vms vm11=- vm12=private,public vm13=private,public
rc=0
mount -o remount,ro "$data" 2>/dev/null || rc=$?
note "a plain mount -o remount,ro while cordond runs: exit $rc (the kernel refuses: files open for writing)"

read_only() { [[ "$(touch "$data/probe" 2>&1)" == *"Read-only file system"* ]]; }

# --- an ext4 error: the kernel makes the filesystem read-only
before=$(store_snapshot)
echo 1 >"/sys/fs/ext4/${dev#/dev/}/trigger_fs_error"
check "the kernel remounted the filesystem read-only (ext4 error, errors=remount-ro)" \
	wait_until 5 read_only
why='readonly|read-only|i/o'
store_refused "$why" "suspend vm11 on a read-only filesystem" suspend vm11 --scope public --reason ro
store_refused "$why" "restore vm12 on a read-only filesystem" restore vm12
store_refused "$why" "case resolve on a read-only filesystem" case resolve "$case13" --note ro
store_refused "$why" "case open on a read-only filesystem" case open --category phishing --vm vm11 \
	--contact a@example.org --source test
check "nothing changed: desired state, generations, audit rows, cases" \
	eval '[ "$(store_snapshot)" = "$before" ]'
store_reads_work "read-only"
judge_vms vm11=- vm12=private,public vm13=private,public
rc=0
mount -o remount,rw "$dev" "$data" 2>/dev/null || rc=$?
note "mount -o remount,rw: exit $rc; still read-only after it: $(read_only && echo yes || echo no)"

# --- the operator's recovery: stop cordond, check the filesystem, start it
now_ms
t0=$NOW_MS
stop_controller
ok "cordond stopped (SIGTERM) cleanly on its read-only database"
expect_stays_cut vm12 public 1
umount "$data"
rc=0
e2fsck -fy "$dev" >"$CDT_TMP/e2fsck.log" 2>&1 || rc=$?
check "e2fsck repairs the filesystem (exit $rc: 0 clean, 1 corrected)" [ "$rc" -le 1 ]
mount -o errors=remount-ro "$dev" "$data"
start_controller --test-clock
wait_agent_connected hv1 30
now_ms
note "recovery (stop, e2fsck, mount, start, agent back) took $((NOW_MS - t0)) ms"
check "every change accepted before the fault is there after the restart" \
	eval '[ "$(store_snapshot)" = "$before" ]'
vm_suspend vm11 public
vm_restore vm12
case_ok "$case13" resolve --note "written confirmation"
ok "suspend vm11, restore vm12, case resolve succeed after the recovery"
check "every VM converges" \
	wait_until 20 vms_jq 'all(.[]; .acked_generation == .generation and .state != "pending")'
judge_vms vm11=public vm12=- vm13=-
check "sqlite3 PRAGMA integrity_check says ok" \
	eval '[ "$(sqlite3 "$CTL_DB" "PRAGMA integrity_check")" = ok ]'

cdt_done

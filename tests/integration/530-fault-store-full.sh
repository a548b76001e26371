#!/bin/bash
# Fault: the filesystem of the controller's database fills up (a tmpfs the
# test mounts for it, filled by a file as a runaway log would; a tmpfs has
# no preallocated blocks, so the very next write finds no space). While it
# is full, mutating commands (suspend, restore, case open) fail with one
# line that says why and exit 1, and change nothing (desired state,
# generations, audit, cases); reads (vms, agents, status, case list, audit)
# work; the agent stays connected, an agent restarted meanwhile with its
# state lost (as in a reboot) is still served its cuts, and the cuts hold by
# probe. When space returns, mutations work at once and the database is
# intact.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../cases.sh"
. "$(dirname "$0")/../store_faults.sh"
cdt_init

shared_mount "$CDT_TMP/ctl/store" -t tmpfs -o size=4m,mode=0750 cdt-store
data=$CDT_TMP/ctl/store/fs
CTL_DB=$data/cordon.db
topo_cases 3
ok "cordond's database on a 4 MB tmpfs ($CTL_DB)"

vm_suspend vm11 public
check "vm11 enforced (public cut) before the disk fills" wait_until 15 vm_enforced vm11
judge_vms vm11=public vm12=- vm13=-

free_bytes() { df --output=avail -B1 "$data" | tail -n 1 | tr -d ' '; }

# --- the disk fills
before=$(store_snapshot)
dd if=/dev/zero of="$data/filler" bs=64k 2>/dev/null || true
check "the filesystem is full ($(free_bytes) bytes free)" [ "$(free_bytes)" = 0 ]
store_refused 'full' "suspend vm12 on a full disk" suspend vm12 --scope all --reason full
store_refused 'full' "restore vm11 on a full disk" restore vm11
store_refused 'full' "case open on a full disk" case open --category outbound-attack --vm vm13 \
	--contact a@example.org --source test
check "nothing changed: desired state, generations, audit rows, cases" \
	eval '[ "$(store_snapshot)" = "$before" ]'
store_reads_work "disk full"
judge_vms vm11=public vm12=- vm13=-
expect_stays_cut vm11 public 2

# An agent restarted now with its state lost (a reboot that wiped it) must
# still be admitted and given its cuts back by the controller.
kill9_agent hv1
host_nft hv1 delete table netdev cordon
rm -rf "${CDT_TMP:?}/hv1/state"
mkdir "$CDT_TMP/hv1/state"
check "hv1 killed, its table and state gone: shown disconnected" \
	wait_until 15 agent_disconnected hv1
expect_reach vm11 public
start_agent hv1
check "hv1 restarted with no state: connected and served while the disk is full" \
	wait_until 20 eval 'agent_connected hv1 &&
	    [ "$(agent_status hv1 --json | jq -r .controller.link)" = connected ]'
expect_cut vm11 public 15
judge_vms vm11=public vm12=- vm13=-

# --- space returns
rm -f "$data/filler"
ok "space returns ($(free_bytes) bytes free)"
vm_suspend vm12 all
vm_restore vm11
case_open --category outbound-attack --vm vm13 --contact a@example.org --source test
ok "suspend vm12, restore vm11, case open on vm13 (case $CASE_ID) succeed again"
check "every VM converges" \
	wait_until 20 vms_jq 'all(.[]; .acked_generation == .generation and .state != "pending")'
judge_vms vm11=- vm12=private,public vm13=private,public
check "the audit has the three changes" \
	eval '[ "$(ctl --json audit | jq length)" -ge $(($(sed -n 2p <<<"$before") + 3)) ]'
check "sqlite3 PRAGMA integrity_check says ok" \
	eval '[ "$(sqlite3 "$CTL_DB" "PRAGMA integrity_check")" = ok ]'

cdt_done

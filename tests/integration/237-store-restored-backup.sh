#!/bin/bash
# The operator restores the controller's store from a backup taken before
# the latest cuts (a lost disk, a bad migration). The agents still enforce
# those cuts; the restored store never decided them. Its full set must not
# lift them: only a decision lifts a cut, and a forgotten one was still
# made. The controller keeps each as a manual hold (audited, shown), moves
# its generation counter past the agents', and from then on its decisions
# (a new cut, a restore) reach the host. The probe judges.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"
cdt_init

# vm_json_jq VM JQ-ARGS...: cordonctl vm show VM --json satisfies the filter.
vm_json_jq() {
	local vm=$1
	shift
	ctl --json vm show "$vm" | jq -e "$@" >/dev/null
}
vm_gen_above() { (($(vm_field "$1" generation) > $2)); }

topo_one_host 3

vm_cut_all vm13
out=$(ctl backup --store "$CDT_TMP/ctl/cordon.db" "$CDT_TMP/backup.db" 2>&1) || fail "cordonctl backup: $out"
ok "backup taken with vm13 cut: $out"

vm_cut_all vm11
vm_suspend vm12 public
expect_cut vm12 public
vm_restore vm13
expect_vm_open vm13
gen=$(vm_field vm11 generation)

stop_controller
db=$CDT_TMP/ctl/cordon.db
rm -f "$db-wal" "$db-shm"
cp "$CDT_TMP/backup.db" "$db"
ok "store replaced by the backup (vm11, vm12 never cut there; vm13 cut)"
start_controller
wait_agent_connected hv1
expect_stays_cut vm11 public 4
expect_stays_cut vm11 private 1
expect_stays_cut vm12 public 1
expect_reach vm12 private
check "the controller logged what it kept" \
	q grep -F "keep cuts this store had no record of" "$CDT_TMP/ctl/cordond.log"
check "vm show vm11: a hold by cordond naming the agent and generation $gen" \
	q vm_json_jq vm11 --argjson g "$gen" \
	'any(.holds[]; .kind == "manual" and .uid == null and .scopes == "public,private"
	     and (.reason | contains("agent hv1 enforces it at generation \($g)")))'
out=$(ctl vm show vm11)
check "vm show vm11 says the hold is cordond's" q grep -F "by cordond, reason: kept public,private" <<<"$out"
check "vm12 keeps only public" q vm_json_jq vm12 'any(.holds[]; .scopes == "public")'
check "the audit has one 'kept' row per VM kept" \
	q test "$(ctl --json audit | jq '[.[] | select(.action == "kept")] | length')" = 2
check "the store's generation moved past the agent's ($gen)" \
	wait_until 10 vm_gen_above vm11 "$gen"
# vm13: the restored store cuts it (its restore came after the backup). A
# store that says cut is obeyed: it is cut again until an operator lifts it.
expect_cut vm13 public

# Decisions made after the restore reach the host as single updates.
vm_suspend vm12 private
expect_cut vm12 private
check "cordonctl vms: vm12 enforced" wait_until 10 vm_enforced vm12
stop_agent hv1
start_agent hv1
wait_agent_connected hv1
expect_stays_cut vm11 public 2

vm_restore vm11
expect_vm_open vm11
vm_restore vm12
expect_vm_open vm12
vm_restore vm13
expect_vm_open vm13
check "no hold left on vm11" q vm_json_jq vm11 '.holds == []'
cdt_done

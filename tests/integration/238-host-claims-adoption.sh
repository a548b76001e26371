#!/bin/bash
# A host trusted for its own ports only must not get another host's VM cut
# by claiming it. hv1 lists vm21 (which runs on hv2, not cut) and its state
# file says it enforces a cut of vm21 at a generation far beyond the
# store's: the shape of a store restored from a backup (237), which keeps
# such cuts. Here vm21 is not hv1's to keep: nothing is adopted, the
# counter stays, and vm21 keeps answering on hv2. The probe judges.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"
cdt_init
topo_two_hosts
uuid=${VM_UUID[vm21]}
gen_before=$(vm_field vm21 generation)

stop_agent hv1
inv1=$CDT_TMP/hv1/inventory.json
jq --arg u "$uuid" '.vms += [{ uuid: $u, name: "vm21", interfaces: [
	   { mac: "52:54:00:aa:bb:01", bridge: "br-pub", ips: ["198.18.11.99"] } ] }]' \
	"$inv1" >"$inv1.new"
mv "$inv1.new" "$inv1"
# The previous release's state format (test 125), with a cut of vm21.
cat >"$CDT_TMP/hv1/state/state.json" <<JSON
{ "version": 1, "vms": [ { "uuid": "$uuid", "generation": 1000,
  "scopes": ["public", "private"], "power_off": false,
  "macs": { "public": ["52:54:00:aa:bb:01"], "private": [], "smtp": [] } } ] }
JSON
start_agent hv1
wait_agent_connected hv1
ok "hv1 lists vm21 and says it enforces vm21 cut at generation 1000"
expect_stays_open vm21 public 3
expect_reach vm21 private
check "the controller logged that it did not adopt it" wait_until 10 \
	q grep -F "agent hv1 enforces VM $uuid, which it does not run for us" "$CDT_TMP/ctl/cordond.log"
check "vm21 has no hold" q eval 'ctl --json vm show vm21 | jq -e ".holds == []"'
check "no 'kept' in the audit" q eval 'ctl --json audit | jq -e "all(.[]; .action != \"kept\")"'
check "vm21's generation is still $gen_before" q test "$(vm_field vm21 generation)" = "$gen_before"
cdt_done

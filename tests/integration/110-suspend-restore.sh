#!/bin/bash
# Manual suspend and restore across two hosts: a cut scope really stops
# traffic to that one VM on that one bridge, nothing else is touched, and
# restore really brings it back. VMs are selected by name, uuid and IP.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"
cdt_init
topo_two_hosts
all_open vm11 vm12 vm21 vm22

# The generation printed by suspend/restore is the one cordonctl vms reports.
check_generation() {
	local vm=$1 printed shown
	printed=$(grep -oE '[0-9]+' <<<"$LAST_OUT" | tail -n 1 || true)
	shown=$(vm_field "$vm" generation)
	check "printed generation ($printed) is $vm's generation in cordonctl vms ($shown)" \
		eval '[ -n "$printed" ] && [ "$printed" = "$shown" ]'
}

# --- the --json shapes of docs/interfaces.md
check "cordonctl agents --json: hv1, hv2 with host connected last_seen version vms enforced pending" \
	agents_jq '(map(.host) | sort) == ["hv1","hv2"] and
	   all(.[]; has("host") and has("connected") and has("last_seen") and has("version")
	            and has("vms") and has("enforced") and has("pending"))
	   and all(.[]; .connected == true and .vms == 2 and .enforced == 0 and .pending == 0)'
check "cordonctl vms --json: 4 VMs with uuid name host ips scopes power_off generation acked_generation state" \
	vms_jq 'length == 4 and all(.[]; has("uuid") and has("name") and has("host") and has("ips")
	   and has("scopes") and has("power_off") and has("generation") and has("acked_generation")
	   and has("state")) and all(.[]; .state == "none" and .scopes == [] and .power_off == false)'
check "cordonctl vms --json: vm11 on hv1 with both IPs" \
	vms_jq --arg u "${VM_UUID[vm11]}" 'any(.[]; .uuid == $u and .name == "vm11" and .host == "hv1"
	   and (.ips | sort) == ["198.18.11.11","198.18.12.11"])'
js=$(ctl --json vm show vm11) || fail "cordonctl --json vm show vm11"
check "cordonctl --json vm show vm11: interfaces (mac, bridge, scope, ips) and holds" \
	q jq -e '.uuid and .name == "vm11" and (.holds | type == "array")
	   and ([.interfaces[] | {mac, bridge, scope}] | sort_by(.mac)) ==
	       [{mac: "52:54:00:01:01:01", bridge: "br-pub", scope: "public"},
	        {mac: "52:54:00:01:01:02", bridge: "br-priv", scope: "private"}]
	   and ([.interfaces[].ips[]] | sort) == ["198.18.11.11","198.18.12.11"]' <<<"$js"
check "cordonctl vm show vm11 (text) works" q ctl vm show vm11
check "cordonctl status --json is an object" q eval 'ctl --json status | jq -e "type == \"object\""'
check "cordonctl status (text) works" q ctl status

# --- public, by name
vm_suspend vm11 public
ok "cordonctl suspend vm11 --scope public"
check_generation vm11
g1=$(vm_field vm11 generation)
expect_cut vm11 public
expect_reach vm11 private
all_open vm12 vm21 vm22
check "cordonctl vms: vm11 enforced with scopes [public]" wait_until 10 \
	vms_jq 'any(.[]; .name == "vm11" and .state == "enforced"
	   and .scopes == ["public"] and .acked_generation == .generation)'
check "cordonctl vms: vm12, vm21, vm22 cut nothing" \
	vms_jq 'all(.[]; .name == "vm11" or (.scopes == [] and .state != "pending"))'
out=$(ctl vms)
check "cordonctl vms (table) shows vm11 with public cut" \
	q grep -E "vm11.*public" <<<"$out"
check "cordonctl --json vm show vm11: a hold with the reason given" \
	q eval 'ctl --json vm show vm11 | jq -e "(.holds | length) >= 1 and (.holds | tostring | test(\"cordon test\"))"'

vm_restore vm11
ok "cordonctl restore vm11"
check_generation vm11
g2=$(vm_field vm11 generation)
check "restore raised vm11's generation ($g1 -> $g2)" [ "$g2" -gt "$g1" ]
expect_reach vm11 public
expect_reach vm11 private
check "cordonctl vms: vm11 cuts nothing after restore" wait_until 10 \
	vms_jq 'any(.[]; .name == "vm11" and .scopes == [] and .state != "pending")'

# --- all, by uuid
vm_suspend "${VM_UUID[vm12]}" all
ok "cordonctl suspend ${VM_UUID[vm12]} --scope all (vm12 by uuid)"
expect_cut vm12 public
expect_cut vm12 private
all_open vm11 vm21 vm22
check "cordonctl vms: vm12 enforced with scopes public and private" wait_until 10 \
	vms_jq 'any(.[]; .name == "vm12" and .state == "enforced"
	   and (.scopes | sort) == ["private","public"])'
vm_restore "${VM_UUID[vm12]}"
ok "cordonctl restore ${VM_UUID[vm12]} (by uuid)"
expect_reach vm12 public
expect_reach vm12 private

# --- private, by IP, on the other host
vm_suspend "${VM_PUB[vm22]}" private
ok "cordonctl suspend ${VM_PUB[vm22]} --scope private (vm22 by public IP)"
expect_cut vm22 private
expect_reach vm22 public
all_open vm11 vm12 vm21
vm_restore "${VM_PRIV[vm22]}"
ok "cordonctl restore ${VM_PRIV[vm22]} (vm22 by private IP)"
expect_reach vm22 private
expect_reach vm22 public

# --- two VMs on two hosts at once, restored independently
vm_suspend vm21 all
vm_suspend vm11 public
expect_cut vm21 public
expect_cut vm21 private
expect_cut vm11 public
expect_reach vm11 private
all_open vm12 vm22
vm_restore vm21
expect_reach vm21 public
expect_reach vm21 private
expect_stays_cut vm11 public 2
vm_restore vm11
expect_reach vm11 public
check "cordonctl vms: nothing cut or pending at the end" wait_until 10 \
	vms_jq 'all(.[]; .scopes == [] and .state != "pending")'

cdt_done

#!/bin/bash
# What a host admin sees with `cordon-agent status` (and --json): the
# controller link, the VMs enforced on this host with their scopes, the
# health of the nft table, and tampering counted.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"
cdt_init

topo_one_host 3

vm_suspend vm11 public
vm_suspend vm12 all
expect_cut vm11 public
expect_cut vm12 private
check "cordonctl vms: vm11 and vm12 enforced" \
	wait_until 15 eval 'vm_enforced vm11 && vm_enforced vm12'

u11=${VM_UUID[vm11]}
u12=${VM_UUID[vm12]}
u13=${VM_UUID[vm13]}

# ---- human output
out=$(agent_status hv1) || fail "cordon-agent status exits 0"
printf '%s\n' "$out" | sed 's/^/#   /'
check "status shows the controller link connected" \
	q grep -iE 'controller.*connected|connected.*controller' <<<"$(grep -iv disconnected <<<"$out")"
check "status lists vm11 (by uuid or name) with public" \
	q grep -E "($u11|vm11).*public" <<<"$out"
check "status lists vm12 with public and private" \
	q grep -E "($u12|vm12).*(public.*private|private.*public)" <<<"$out"
check "status does not list vm13 (not enforced)" \
	not grep -qE "$u13|vm13" <<<"$out"
check "status shows the nft table cordon" q grep -E 'cordon' <<<"$out"

# ---- --json
js=$(agent_status hv1 --json) || fail "cordon-agent status --json exits 0"
check "status --json is JSON" q jq -e . <<<"$js"
# Schema: agent/status.c (not in docs/interfaces.md).
link_connected() { jq -e '.controller.link == "connected"' >/dev/null; }
check "status --json: controller link connected" link_connected <<<"$js"
vm_scopes() { # UUID -> sorted scope list as JSON text, from stdin
	jq -c --arg u "$1" '[.vms[] | select(.uuid == $u) | .scopes | sort] | first'
}
check "status --json: vm11 enforced with scopes [public]" \
	eval '[ "$(vm_scopes "$u11" <<<"$js")" = "[\"public\"]" ]'
check "status --json: vm12 enforced with scopes [private, public]" \
	eval '[ "$(vm_scopes "$u12" <<<"$js")" = "[\"private\",\"public\"]" ]'
check "status --json: vm13 not listed" \
	eval '! jq -e --arg u "$u13" "any(.vms[]; .uuid == \$u)" <<<"$js" >/dev/null'
nft_healthy() { jq -e '.nft.healthy == true' >/dev/null; }
check "status --json: nft table healthy" nft_healthy <<<"$js"
check "status --json: vm11 held by nft (mechanisms)" \
	q jq -e --arg u "$u11" 'any(.vms[]; .uuid == $u and (.mechanisms | test("nft")))' <<<"$js"
tamper() { jq -er '.nft.tamper_count | numbers'; }
t0=$(tamper <<<"$js") || fail "status --json has a tamper count"
ok "status --json: tamper count $t0"

# ---- tampering shows up
host_nft hv1 flush ruleset
expect_cut vm11 public 5
check "status --json: tamper count incremented after nft flush ruleset" \
	wait_until 10 eval '[ "$(agent_status hv1 --json | tamper)" -gt "$t0" ]'
check "status --json: nft table healthy again" \
	wait_until 10 eval 'agent_status hv1 --json | nft_healthy'

# ---- controller gone: the link shows it, the enforcement is still listed
stop_controller
check "status --json: controller link not connected within 15s of cordond stopping" \
	wait_until 15 eval '! agent_status hv1 --json | link_connected'
js=$(agent_status hv1 --json)
check "status --json: vm12 still listed with [private, public]" \
	eval '[ "$(vm_scopes "$u12" <<<"$js")" = "[\"private\",\"public\"]" ]'
expect_cut vm12 public

# ---- -c FILE finds the socket from the config
check "cordon-agent status -c agent.conf works" \
	q "$CORDON_AGENT" status -c "$CDT_TMP/hv1/agent.conf"

cdt_done

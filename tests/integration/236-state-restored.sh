#!/bin/bash
# An agent whose state file says less than the controller decided, at the
# same generation (a state file restored from an older backup, edited by
# hand): the agent must apply the controller's state by its content, and
# the controller must not count an ack of that generation with other
# scopes as enforced. The probe judges.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"
cdt_init
topo_one_host 2

vm_cut_all vm11
gen=$(vm_field vm11 generation)

stop_agent hv1
st=$CDT_TMP/hv1/state/state.json
jq --arg u "${VM_UUID[vm11]}" '(.vms[] | select(.uuid == $u)) |= (.scopes = [] | .macs = {} | .ports = {})' \
	"$st" >"$st.new"
mv "$st.new" "$st"
check "the state file now holds vm11 at generation $gen with nothing cut" \
	q jq -e --arg u "${VM_UUID[vm11]}" --argjson g "$gen" \
	'any(.vms[]; .uuid == $u and .generation == $g and (.scopes | length) == 0)' "$st"
stop_controller
start_controller
start_agent hv1
ok "controller and agent restarted over the edited state file"
wait_agent_connected hv1
check "public ping to vm11 fails again (applied by content)" wait_until 10 not vm_ping vm11 public
check "private ping to vm11 fails again" wait_until 5 not vm_ping vm11 private
check "cordonctl vms: vm11 enforced at generation $gen" wait_until 10 vm_enforced vm11
check "the controller logged the ack it did not count" \
	q grep -F "not counted as enforced" "$CDT_TMP/ctl/cordond.log"
expect_reach vm12 public

vm_restore vm11
check "after restore, public ping to vm11 passes" wait_until 10 vm_ping vm11 public
cdt_done

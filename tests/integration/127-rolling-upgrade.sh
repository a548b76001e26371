#!/bin/bash
# Rolling upgrades: this controller (protocol 2) works with agents one
# protocol older (a released protocol-1 agent, built from the commit below)
# and one newer (this tree built to claim protocol 3, sending a field this
# schema lacks); an agent too far (claiming 5) is refused on both sides,
# visibly, and keeps the cuts it holds; a newer controller's unknown scope
# bit cuts a VM fully; and a released protocol-1 controller still works
# with this agent (which falls back to protocol 1 when its hello gets no
# answer) once it has no term (an agent that accepted one from a newer
# controller ignores one from before terms). Every cut and restore is a
# real ping probe.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"

# The last protocol-1 release: main when protocol 2 was begun (commits
# after it on main, before protocol 2 was merged, speak protocol 1 too). Its
# agent and controller accept envelopes of version 1 only.
V1_COMMIT=41a18c248fe7a34a86e81a99c61c72d9e7d12c1f
ROLL=$CDT_ROOT/build/rolling

cdt_init

# build_v1: cordon-agent and cordond of V1_COMMIT, built once under
# build/rolling/v1-COMMIT (kept for reruns). Skips the test when the commit
# is not in this clone (a shallow one): never a pass without it.
build_v1() {
	local dir=$ROLL/v1-$V1_COMMIT
	if ! git -C "$CDT_ROOT" cat-file -e "$V1_COMMIT^{commit}" 2>/dev/null; then
		echo "# commit $V1_COMMIT (the last protocol-1 release) is not in this clone: skipped"
		exit 77
	fi
	if [ ! -x "$dir/src/build/cordon-agent" ] || [ ! -x "$dir/src/build/cordond" ]; then
		rm -rf "$dir"
		mkdir -p "$dir/src"
		git -C "$CDT_ROOT" archive "$V1_COMMIT" | tar -x -C "$dir/src"
		make -C "$dir/src" -s -j2 build/cordon-agent build/cordond >"$dir/make.log" 2>&1 ||
			fail "the protocol-1 release builds (see $dir/make.log)"
	fi
	V1_AGENT=$dir/src/build/cordon-agent
	V1_CORDOND=$dir/src/build/cordond
}

# build_variant NAME MAKE-VARIABLES... : this tree built into build/rolling/NAME.
build_variant() {
	local name=$1
	shift
	make -C "$CDT_ROOT" -s -j2 B="build/rolling/$name" "$@" "build/rolling/$name/cordon-agent" \
		"build/rolling/$name/cordond" "build/rolling/$name/cordonctl" \
		>"$CDT_TMP/make-$name.log" 2>&1 ||
		fail "this tree builds as $name ($*): $(tail -5 "$CDT_TMP/make-$name.log")"
}

build_v1
ok "protocol-1 release $V1_COMMIT built"
build_variant p3 CORDON_PROTO_VERSION_OVERRIDE=3
build_variant p5 CORDON_PROTO_VERSION_OVERRIDE=5
build_variant next CORDON_PROTO_VERSION_OVERRIDE=3 CORDON_SCOPE_NEXT=1
ok "this tree built claiming protocol 3, 5, and 3 with a fourth scope"

NEW_AGENT=$CORDON_AGENT

# with_agent BINARY HOST: starts HOST's agent from BINARY.
with_agent() {
	CORDON_AGENT=$1 start_agent "$2"
}

agent_protocol_is() { # HOST N: cordonctl agents --json
	agents_jq --arg h "$1" --argjson p "$2" 'any(.[]; .host == $h and .protocol == $p)'
}

agent_refused() { # HOST TEXT
	agents_jq --arg h "$1" --arg t "$2" \
		'any(.[]; .host == $h and .state == "refused" and (.refused | contains($t)))'
}

link_is() { # HOST STATE TEXT: cordon-agent status --json, controller link
	agent_status "$1" --json | jq -e --arg s "$2" --arg t "$3" \
		'.controller.link == $s and (.controller.detail | contains($t))' >/dev/null
}

START_AGENTS=0 topo_two_hosts
with_agent "$V1_AGENT" hv1
with_agent "$ROLL/p3/cordon-agent" hv2
wait_agent_connected hv1
wait_agent_connected hv2
for v in vm11 vm12 vm21 vm22; do wait_vm_known "$v"; done
all_open vm11 vm21

# --- 2. this controller, a protocol-1 agent
check "cordonctl agents: hv1 (the release) speaks protocol 1" agent_protocol_is hv1 1
vm_suspend vm11 public
expect_cut vm11 public
expect_reach vm11 private
check "cordonctl vms: vm11 enforced by the protocol-1 agent" wait_until 10 vm_enforced vm11
vm_restore vm11
expect_reach vm11 public

# --- 3. this controller, a protocol-3 agent (and its unknown field)
check "cordonctl agents: hv2 speaks protocol 3" agent_protocol_is hv2 3
vm_cut_all vm21
vm_restore vm21
expect_vm_open vm21
check "cordon-agent status on hv2: protocol 3, controller 2, speaking 2" \
	sh -c "'$CORDON_AGENT' status --socket '$CDT_TMP/hv2/status.sock' |
		grep -q 'protocol     3 (controller: 2, speaking 2)'"

# --- 4. an agent claiming protocol 5 is refused on both sides, keeps its cut
vm_suspend vm11 public
expect_cut vm11 public
check "cordonctl vms: vm11 enforced" wait_until 10 vm_enforced vm11
stop_agent hv1
with_agent "$ROLL/p5/cordon-agent" hv1
check "cordonctl agents: hv1 refused, naming protocol 5" \
	wait_until 20 agent_refused hv1 "protocol 5, this controller (protocol 2) talks with 1-3"
check "cordonctl agents (text) shows the refusal" \
	sh -c "'$CORDONCTL' --socket '$CDT_TMP/ctl/control.sock' agents |
		grep -E '^hv1 +refused .*refused: protocol 5'"
check "cordon-agent status on hv1: refused, naming protocol 5" \
	wait_until 10 link_is hv1 refused "protocol 5"
check "cordond logs the refusal with both versions" \
	grep -q "refused agent hv1: protocol 5, this controller (protocol 2)" "$CDT_TMP/ctl/cordond.log"
vm_restore vm11
expect_stays_cut vm11 public 3
note "the restore is not lifted by a refused agent: its saved cut holds"
stop_agent hv1
with_agent "$NEW_AGENT" hv1
wait_agent_connected hv1
check "cordonctl agents: hv1 (upgraded) speaks protocol 2" agent_protocol_is hv1 2
expect_reach vm11 public 20

# --- 5. a newer controller's scope this agent does not know cuts fully
stop_controller
CORDOND=$ROLL/next/cordond CORDONCTL=$ROLL/next/cordonctl start_controller
CORDONCTL=$ROLL/next/cordonctl wait_agent_connected hv1
out=$(CORDONCTL=$ROLL/next/cordonctl ctl suspend vm12 --scope next --reason "cordon test" 2>&1) ||
	fail "the newer controller suspends vm12 --scope next: $out"
expect_cut vm12 public
expect_cut vm12 private
check "the agent logs the unknown scope bit" \
	wait_until 10 grep -q "bits this agent does not know (0x8)" "$CDT_TMP/hv1/agent.log"
check "its ack says so (cordonctl vms --json: vm12's error)" wait_until 10 \
	sh -c "CORDONCTL='$ROLL/next/cordonctl'; '$ROLL/next/cordonctl' --socket \
		'$CDT_TMP/ctl/control.sock' --json vms |
		jq -e '.[] | select(.name == \"vm12\") | tostring | contains(\"unknown to this agent\")' >/dev/null"
CORDONCTL=$ROLL/next/cordonctl vm_restore vm12
expect_vm_open vm12

# --- 6. a protocol-1 controller, this agent: it falls back to protocol 1
# A store is never downgraded (this tree's schema is newer): the release
# starts on one of its own, and learns the VMs from the hellos.
stop_controller
CTL_DB=$CDT_TMP/ctl/release.db write_controller_conf
CORDOND=$V1_CORDOND start_controller
wait_agent_connected hv1 30
wait_vm_known vm11
# hv1 accepted term 1 from this tree's controller: a release from before
# terms sends none and is fenced off like a former leader (rolling the
# controller back; agents upgraded first never saw a term and take it, as
# an agent whose term file is gone does).
stale_seen() {
	"$CORDON_AGENT" status --socket "$CDT_TMP/hv1/status.sock" --json |
		jq -e '.controller.stale_term_messages > 0 and .controller.term == 1' >/dev/null
}
check "hv1, having accepted term 1, ignores the release's desired sets (no term)" \
	wait_until 15 stale_seen
stop_agent hv1
rm -f "$CDT_TMP/hv1/state/term"
start_agent hv1
wait_agent_connected hv1 30
check "cordon-agent status on hv1: protocol 2, speaking 1 to the release" \
	wait_until 10 sh -c "'$CORDON_AGENT' status --socket '$CDT_TMP/hv1/status.sock' |
		grep -q 'protocol     2 (controller: 1, speaking 1)'"
check "the agent said why it fell back" \
	grep -q "trying protocol 1 (an older controller?)" "$CDT_TMP/hv1/agent.log"
check "cordon-agent status on hv2 (protocol 3, too new for the release): not answered, says why" \
	wait_until 10 link_is hv2 hello-sent "trying protocol 2 (an older controller?)"
vm_suspend vm11 private
expect_cut vm11 private
expect_reach vm11 public
vm_restore vm11
expect_reach vm11 private

cdt_done

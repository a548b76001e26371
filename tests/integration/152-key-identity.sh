#!/bin/bash
# A key names one host: its file name in authorized-agents. A certificate
# whose host-id metadata names another host, two files naming one host, and
# one key under two names are refused at load and at reload, logged, and
# none of them lets one host speak for another (probes judge the cut).
#   hv1: well-behaved agent (vm11 cut, vm12)
#   hv2: a host whose key was made with --host hv1 and enrolled as hv2.cert,
#        its agent claiming host_id = hv1 (vm21)
set -euo pipefail
. "$(dirname "$0")/../lib.sh"
cdt_init

LOG=$CDT_TMP/ctl/cordond.log
AUTH=$CDT_TMP/ctl/authorized
log_has() { local text; text=$(cat "$LOG"); [[ $text == *"$1"* ]]; }
reload_controller() { kill -HUP "$CTL_PID"; }
agent_link_up() { local s; s=$(agent_status "$1" --json) && jq -e '.controller.link == "connected"' <<<"$s" >/dev/null; }

topo_one_host_unstarted 2
topo_host hv2 2
topo_vm hv2 2 1
setup_agent hv1
agent_keygen hv2 hv1
enroll_agent hv2
write_agent_conf hv2 hv1

start_controller
start_agent hv1
wait_agent_connected hv1
wait_vm_known vm12
vm_suspend vm11 all
expect_cut vm11 public
check "vm11 enforced by hv1" wait_until 15 vm_enforced vm11

# --- a key whose metadata names another host
check "cordond's log names hv2.cert and both host ids at start" \
	log_has "hv2.cert refused: its host-id metadata says 'hv1', its file name 'hv2'"
start_agent_nowait hv2
ok "hv2's agent started: key with host-id hv1 enrolled as hv2.cert, claiming host_id = hv1"
check "hv2's agent never gets in (status: link auth-failed or refused)" \
	wait_until 15 eval 'agent_status hv2 --json | jq -e "[.controller.link] | inside([\"auth-failed\", \"refused\"])"'
check "vm21 (the impostor's inventory) never appears (watched 5 s)" never_within 5 vm_known vm21
check "cordonctl agents: hv1 connected, no hv2" \
	agents_jq '[.[] | .host] == ["hv1"] and .[0].connected'
check "vm11 and vm12 still belong to hv1" \
	vms_jq '[.[] | select(.name == "vm11" or .name == "vm12") | .host] == ["hv1","hv1"]'
expect_cut vm11 public
expect_reach vm12 public
stop_agent hv2

# --- two files naming one host, added at runtime: both refused at reload
cp "$AUTH/hv1.cert" "$AUTH/hv1.old.cert"
: >"$LOG.mark"
reload_controller
check "reload: cordond logs hv1.cert and hv1.old.cert refused (same host)" \
	wait_until 10 log_has "hv1.cert and hv1.old.cert refused: both name the same host"
stop_agent hv1
start_agent_nowait hv1
check "hv1's agent, restarted, is not let in while its key is ambiguous (watched 5 s)" \
	never_within 5 agent_link_up hv1
expect_cut vm11 public
rm "$AUTH/hv1.old.cert"
reload_controller
check "once the duplicate is removed and cordond reloaded, hv1 connects again" \
	wait_until 20 agent_link_up hv1

# --- one key under two names: hv2 re-keyed without metadata, enrolled as
# hv2.cert, then the same file copied to hv9.cert
rm -f "$CDT_TMP/hv2/agent.cert" "$CDT_TMP/hv2/agent.cert_secret"
agent_keygen hv2 -
enroll_agent hv2
write_agent_conf hv2
reload_controller
start_agent hv2
wait_agent_connected hv2 30
ok "hv2, re-keyed without host-id metadata and enrolled as hv2.cert, connects"
cp "$AUTH/hv2.cert" "$AUTH/hv9.cert"
reload_controller
check "reload: cordond logs hv2.cert and hv9.cert refused (one key, two names)" \
	wait_until 10 log_has "hv2.cert and hv9.cert refused: the same key under two names"
stop_agent hv2
start_agent_nowait hv2
check "hv2's agent, restarted, gets in neither as hv2 nor as hv9 (watched 5 s)" \
	never_within 5 eval 'agent_link_up hv2 || agent_listed hv9'
rm "$AUTH/hv9.cert"
reload_controller
check "duplicate removed: hv2 connects again" wait_until 20 agent_link_up hv2
expect_cut vm11 public

vm_restore vm11
expect_reach vm11 public
check "vm11's restore acked by hv1" \
	wait_until 15 vms_jq 'any(.[]; .name == "vm11" and .acked_generation == .generation)'
cdt_done

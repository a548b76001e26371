#!/bin/bash
# Only enrolled agents get in, only as the host their key is bound to, and
# junk on the controller's port does not stop it serving.
#   hv1: well-behaved agent (vm11, vm12)
#   hv2: agent whose key (no host-id metadata) is not enrolled (vm21);
#        enrolled later as hv2.cert (host id from the file name)
#   hv3: agent whose key carries host-id hv3, enrolled as hv3.cert, whose
#        config claims host_id = hv1 (vm31); later claims hv3
set -euo pipefail
. "$(dirname "$0")/../lib.sh"
cdt_init

topo_one_host_unstarted 2
topo_host hv2 2
topo_vm hv2 2 1
topo_host hv3 3
topo_vm hv3 3 1
setup_agent hv1
agent_keygen hv2 -
write_agent_conf hv2
agent_keygen hv3
enroll_agent hv3
write_agent_conf hv3 hv1

start_controller
start_agent hv1
wait_agent_connected hv1
wait_vm_known vm11

# --- key not enrolled
start_agent_nowait hv2
ok "cordon-agent on hv2 started with a key the controller does not know"
check "hv2 never appears in cordonctl agents (watched 6 s)" \
	never_within 6 agent_listed hv2
check "vm21 (hv2's inventory) never appears in cordonctl vms" \
	not vm_known vm21
check "hv1 is still connected" agent_connected hv1
check "cordon-agent status on hv2 shows the link not connected (auth-failed or refused)" \
	wait_until 15 eval 'agent_status hv2 --json | jq -e "[.controller.link] | inside([\"auth-failed\", \"refused\"])"'

# Same agent, same config, key now enrolled (and the controller restarted
# to be sure it reads it): it gets in, so the refusal was about the key.
stop_agent hv2
enroll_agent hv2
stop_controller
start_controller
start_agent hv2
wait_agent_connected hv2 30
wait_vm_known vm21
ok "once its key is enrolled, hv2 connects and vm21 is listed"
wait_agent_connected hv1 30

# --- enrolled key, claiming another host's id
start_agent_nowait hv3
ok "cordon-agent on hv3 started: key with host-id hv3 enrolled as hv3.cert, config claims host_id = hv1"
check "vm31 (the impostor's inventory) never appears in cordonctl vms (watched 6 s)" \
	never_within 6 vm_known vm31
check "hv3 does not appear connected in cordonctl agents" \
	not agent_connected hv3
check "cordon-agent status on hv3 shows the link refused" \
	wait_until 15 eval 'agent_status hv3 --json | jq -e ".controller.link == \"refused\""'
check "cordonctl agents: hv1 still connected" agent_connected hv1
check "cordonctl vms: vm11 and vm12 still belong to hv1" \
	vms_jq '[.[] | select(.name == "vm11" or .name == "vm12") | .host] == ["hv1","hv1"]'
# The real hv1 still gets hv1's orders.
vm_suspend vm11 public
expect_cut vm11 public
expect_reach vm12 public
vm_restore vm11
expect_reach vm11 public
stop_agent hv3
# Same key and agent, now claiming the host its key is bound to: it gets in,
# so the refusal was about the claimed id.
write_agent_conf hv3 hv3
start_agent hv3
wait_agent_connected hv3 30
wait_vm_known vm31
ok "claiming hv3 (its key's host-id metadata), it connects and vm31 is listed"
check "cordonctl vms: vm31 belongs to hv3" vms_jq 'any(.[]; .name == "vm31" and .host == "hv3")'

# --- an agent given the wrong controller key (someone else's server):
# it must not talk to this one, and its cuts hold
vm_suspend vm12 private
expect_cut vm12 private
check "cordonctl vms: vm12 enforced" wait_until 15 vm_enforced vm12
stop_agent hv1
check "cordonctl agents shows hv1 disconnected within 15s" wait_until 15 agent_disconnected hv1
"$CORDONCTL" keygen --out "$CDT_TMP/other.cert" >/dev/null
cp "$CDT_TMP/other.cert" "$CDT_TMP/hv1/controller.cert"
start_agent hv1
ok "cordon-agent on hv1 restarted with controller_key = another controller's key"
check "hv1 does not connect (watched 6 s)" never_within 6 agent_connected hv1
check "cordon-agent status on hv1: link not connected" \
	q eval 'agent_status hv1 --json | jq -e ".controller.link != \"connected\""'
expect_cut vm12 private
stop_agent hv1
cp "$CDT_TMP/ctl/controller.cert" "$CDT_TMP/hv1/controller.cert"
start_agent hv1
wait_agent_connected hv1 30
vm_restore vm12
expect_reach vm12 private

# --- garbage on the controller's port
garbage() {
	# random bytes, a ZMTP 3 greeting followed by junk, and one claiming a
	# huge frame, each on its own connection
	local i
	for i in 1 2 3 4 5; do
		timeout 5 bash -c "head -c 4096 /dev/urandom > /dev/tcp/$CTL_ADDR/$CTL_PORT" || true
	done
	timeout 5 bash -c "{ printf '\xff\0\0\0\0\0\0\0\x01\x7f\x03\x00CURVE'; head -c 2048 /dev/urandom; } > /dev/tcp/$CTL_ADDR/$CTL_PORT" || true
	timeout 5 bash -c "{ printf '\xff\0\0\0\0\0\0\0\x01\x7f\x03\x00NULL'; head -c 43 /dev/zero; printf '\x06\xff\xff\xff\xff\xff\xff\xff\xff'; head -c 4096 /dev/urandom; } > /dev/tcp/$CTL_ADDR/$CTL_PORT" || true
}
export -f garbage
export CTL_ADDR CTL_PORT
ip netns exec "${H_NS[hv1]}" bash -c garbage >/dev/null 2>&1
ok "sent random bytes and malformed ZMTP to $CTL_ADDR:$CTL_PORT from hv1's namespace (7 connections)"
check "cordond is still running" pid_alive "$CTL_PID"
check "cordonctl status still answers" q ctl status
check "hv1 and hv2 are connected (again) within 20s" \
	wait_until 20 eval 'agent_connected hv1 && agent_connected hv2'
vm_suspend vm21 all
ok "cordonctl suspend vm21 --scope all after the garbage"
expect_cut vm21 public
expect_cut vm21 private
expect_reach vm11 public
vm_restore vm21
expect_reach vm21 public
expect_reach vm21 private

cdt_done

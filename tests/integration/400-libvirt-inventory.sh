#!/bin/bash
# The agent's inventory from a real libvirtd ([agent] inventory = libvirt),
# against real QEMU TCG guests booted by the tests/vm harness:
#   - a guest defined with the cordon metadata element boots and answers the
#     probe; cordonctl lists it with its uuid, MAC, bridge, scope and the IP
#     from the metadata;
#   - suspend --scope public cuts the real guest (nft on the tap's bridge),
#     restore brings it back;
#   - a guest defined after the agent started appears within seconds (domain
#     events), follows a metadata change, keeps its place with bad metadata,
#     and leaves the host when undefined;
#   - libvirtd stopped and started while the first guest is cut: the cut
#     holds, the inventory is kept meanwhile, the agent reconnects.
#
# Layout: lib.sh's controller runs in its own namespace ($CDT_PREFIX-ctl,
# 198.18.0.1 on bridge mgmt). The agent must run in the harness's libvirt
# namespace, where libvirtd, bridge cbr0 and the guests' taps live; a veth
# pair cables that namespace to the controller's mgmt bridge exactly as
# topo_host does for a simulated host (mgmt0 = 198.18.0.11), and lib.sh
# knows the namespace as host "hv1". One cleanup registry (lib.sh's on_exit)
# runs everything: the harness's own trap is off (LV_NO_TRAP) and lv_stop is
# registered before the daemons, so it runs after they are stopped.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"
cdt_init

. "$CDT_ROOT/tests/libvirt.sh"
lv_test_init

XMLNS=https://cordon.dev/xmlns/vm/1
G1=cdt-lv-g1 MAC1=52:54:00:40:00:01 IP1=198.18.50.10
G2=cdt-lv-g2 MAC2=52:54:00:40:00:02 IP2=198.18.50.20 IP2B=198.18.50.21

# cordon_metadata MAC IP: the element a provisioning system writes.
cordon_metadata() {
	cat <<EOF
  <metadata>
    <cordon:vm xmlns:cordon="$XMLNS">
      <cordon:contact>owner@customer.example</cordon:contact>
      <cordon:interface mac="$1">
        <cordon:ip>$2</cordon:ip>
      </cordon:interface>
    </cordon:vm>
  </metadata>
EOF
}

# define_with_metadata NAME MAC IP: lv_define_guest, then the same XML with
# its uuid and the metadata element after <name>, defined again (an update).
define_with_metadata() {
	local xml=$LV_DIR/guests/$1.xml uuid
	lv_define_guest "$1" "$2" "$LV_BRIDGE" "$3/24" || fail "virsh define $1"
	uuid=$(lv_virsh domuuid "$1")
	{ echo "  <uuid>$uuid</uuid>"; cordon_metadata "$2" "$3"; } >"$xml.md"
	sed -i "\|<name>$1</name>|r $xml.md" "$xml"
	lv_virsh define "$xml" >/dev/null || fail "virsh define $1 with cordon metadata"
}

status_json() { agent_status hv1 --json; }
libvirt_is() { status_json | jq -e "$@" >/dev/null; }
vm_ips_are() { vms_jq --arg n "$1" --arg ips "$2" 'any(.[]; .name == $n and (.ips | join(",")) == $ips)'; }

# --- libvirt and the first guest (booting while the daemons start)
lv_test_start
_log_register "$LV_DIR/guests/$G1.serial"
define_with_metadata "$G1" "$MAC1" "$IP1"
lv_start_guest "$G1" || fail "virsh start $G1"
UUID1=$(lv_virsh domuuid "$G1")
ok "libvirtd up in ${LV_START_SECS}s; $G1 ($UUID1) defined with cordon metadata and started"

# --- controller, management link, agent in the libvirt namespace
lv_controller_and_host
check "cordon-agent --check-config reads the inventory from libvirt" \
	q ip netns exec "$LV_NS" "$CORDON_AGENT" -c "$CDT_TMP/hv1/agent.conf" --check-config
start_controller
start_agent hv1
wait_agent_connected hv1
wait_vm_known "$G1"

check "cordonctl vms: $G1 on hv1 with its uuid and the IP from metadata" \
	vms_jq --arg n "$G1" --arg u "$UUID1" --arg ip "$IP1" \
	'any(.[]; .name == $n and .uuid == $u and .host == "hv1" and .ips == [$ip])'
js=$(ctl --json vm show "$G1") || fail "cordonctl --json vm show $G1"
check "cordonctl vm show $G1: the owner's contact from the metadata" \
	q jq -e '.contact == "owner@customer.example"' <<<"$js"
check "cordonctl vm show $G1: interface $MAC1 on $LV_BRIDGE, scope public, ips [$IP1]" \
	q jq -e --arg m "$MAC1" --arg b "$LV_BRIDGE" --arg ip "$IP1" \
	'[.interfaces[] | {mac, bridge, scope, ips}] ==
	 [{mac: $m, bridge: $b, scope: "public", ips: [$ip]}]' <<<"$js"
check "cordon-agent status: libvirt connected, inventory from libvirt" \
	libvirt_is --arg u "$LV_URI" '.inventory_source == "libvirt" and .libvirt.uri == $u
	 and .libvirt.connected == true and .libvirt.domains == 1'

lv_wait_ready "$G1" 120 || fail "$G1 boots to its ready marker"
if lv_wait_ping "$IP1" 30; then ok "$G1 answers ping from the probe"; else fail "$G1 answers ping from the probe"; fi

# --- suspend / restore the real guest
vm_suspend "$G1" public
if lv_wait_noping "$IP1" 10 && ! lv_ping "$IP1" && ! lv_ping "$IP1"; then
	ok "suspend $G1 --scope public: the probe's ping fails"
else
	fail "suspend $G1 --scope public: the probe's ping fails"
fi
# The cut is on the guest's tap; the default mechanisms then detach the
# NIC, and with it the tap goes (port missing: the chains stay).
on_its_tap() {
	local how
	how=$(iface_field hv1 "$MAC1" enforcement) || return 1
	[ "$how" = port ] || [ "$how" = "port missing" ] || return 1
	[ "$(iface_field hv1 "$MAC1" port)" = "$(lv_iface_xml "$G1" "$MAC1" 2>/dev/null |
		sed -n "s/.*<target dev='\([^']*\)'.*/\1/p")" ] || [ "$how" = "port missing" ]
}
check "nft: $MAC1 cut on its tap by the agent's netdev table in the libvirt namespace" \
	wait_until 5 eval 'on_its_tap && host_holds hv1 "$MAC1"' 
check "cordonctl vms: $G1 enforced" wait_until 10 vm_enforced "$G1"
vm_restore "$G1"
if lv_wait_ping "$IP1" 10; then ok "restore $G1: ping passes"; else fail "restore $G1: ping passes"; fi

# --- a guest defined after the agent started (events)
now_ms
t0=$NOW_MS
define_with_metadata "$G2" "$MAC2" "$IP2"
if wait_until 5 vm_ips_are "$G2" "$IP2"; then
	ok "$G2 defined after the agent started: in cordonctl vms with $IP2 after $(elapsed_ms "$t0") ms"
else
	fail "$G2 defined after the agent started is in cordonctl vms with $IP2 within 5 s"
fi
check "cordonctl vms: $G2 is shut off on hv1, $G1 still there" \
	vms_jq --arg n "$G2" '[.[] | select(.host == "hv1")] | length == 2'
now_ms
t0=$NOW_MS
lv_virsh metadata "$G2" "$XMLNS" --key cordon --config \
	--set "<vm><interface mac=\"$MAC2\"><ip>$IP2B</ip></interface><contact>two@customer.example</contact></vm>" >/dev/null ||
	fail "virsh metadata --set on $G2"
if wait_until 5 vm_ips_are "$G2" "$IP2B"; then
	ok "metadata of $G2 changed by virsh metadata: cordonctl shows $IP2B after $(elapsed_ms "$t0") ms"
else
	fail "metadata of $G2 changed: cordonctl shows $IP2B within 5 s"
fi
check "cordonctl vms: $G2's contact from the changed metadata" \
	vms_jq --arg n "$G2" 'any(.[]; .name == $n and .contact == "two@customer.example")'
lv_virsh metadata "$G2" "$XMLNS" --key cordon --config \
	--set "<vm><interface mac=\"$MAC2\"><ip>$IP2B</ip></interface><contact>two@x, boss@x</contact></vm>" >/dev/null ||
	fail "virsh metadata --set (bad contact) on $G2"
check "a bad <contact>: $G2 loses its contact, keeps $IP2B" wait_until 5 \
	vms_jq --arg n "$G2" --arg ip "$IP2B" 'any(.[]; .name == $n and .contact == null and .ips == [$ip])'
check "the agent logs the bad <contact>" \
	q grep -F "<contact> ignored: it has a space" "$CDT_TMP/hv1/agent.log"
lv_virsh metadata "$G2" "$XMLNS" --key cordon --config \
	--set "<vm><interface mac=\"$MAC2\"><ip>not-an-address</ip></interface></vm>" >/dev/null ||
	fail "virsh metadata --set (bad address) on $G2"
check "bad metadata: the agent logs it and keeps $G2, without addresses" wait_until 5 \
	eval "grep -q 'VM $G2: cordon metadata ignored' '$CDT_TMP/hv1/agent.log' && vm_ips_are '$G2' ''"
now_ms
t0=$NOW_MS
lv_virsh undefine "$G2" >/dev/null || fail "virsh undefine $G2"
# The controller keeps a VM that left its host, unbound (host "-"), with its
# desired state, so a VM moving between hosts keeps its cut.
vm_on_hv1() { vms_jq --arg n "$1" 'any(.[]; .name == $n and .host == "hv1")'; }
if wait_until 5 not vm_on_hv1 "$G2"; then
	ok "$G2 undefined: no longer on hv1 in cordonctl vms after $(elapsed_ms "$t0") ms"
else
	fail "$G2 undefined: no longer on hv1 in cordonctl vms within 5 s"
fi
check "cordon-agent status: 1 VM in the inventory" libvirt_is '.inventory_vms == 1'
check "cordonctl agents: hv1 has 1 VM" agents_jq 'any(.[]; .host == "hv1" and .vms == 1)' 
check "cordon-agent is still running" pid_alive "${AGENT_PID[hv1]}"

# --- libvirtd goes away while $G1 is cut, then comes back
vm_suspend "$G1" public
lv_wait_noping "$IP1" 10 || fail "$G1 cut again before libvirtd stops"
check "cordonctl vms: $G1 enforced" wait_until 10 vm_enforced "$G1"
lv_stop_libvirtd
ok "libvirtd stopped (guests keep running)"
check "cordon-agent status: libvirt not connected, error noted" wait_until 10 \
	libvirt_is '.libvirt.connected == false and (.libvirt.last_error | length) > 0'
check "cordon-agent status: inventory kept while libvirtd is down" \
	libvirt_is '.inventory_vms == 1 and .libvirt.domains == 1'
check "$G1 stays cut while libvirtd is down" never_within 3 lv_ping "$IP1"
lv_start_libvirtd || fail "libvirtd starts again"
ok "libvirtd started again"
check "cordon-agent status: libvirt reconnected" wait_until 15 \
	libvirt_is '.libvirt.connected == true and .libvirt.reconnects >= 1 and .inventory_vms == 1'
check "$G1 stays cut after libvirtd is back" never_within 3 lv_ping "$IP1"
check "cordonctl vms: $G1 still listed with $IP1, still enforced" \
	vms_jq --arg n "$G1" --arg ip "$IP1" \
	'any(.[]; .name == $n and .ips == [$ip] and .state == "enforced")'
check "agent log: libvirt connected again" q grep "libvirt .*: connected again" "$CDT_TMP/hv1/agent.log"
agent_status hv1 | sed -n '/^libvirt/,+1p' | sed 's/^/# /'
vm_restore "$G1"
if lv_wait_ping "$IP1" 10; then ok "restore $G1 after the libvirtd restart: ping passes"
else fail "restore $G1 after the libvirtd restart: ping passes"; fi

cdt_done

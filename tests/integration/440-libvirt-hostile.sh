#!/bin/bash
# A hostile tenant against a cut, on a real QEMU TCG guest (tests/vm): the
# test acts as root inside the guest (lv_guest_exec, the guest's command
# channel on its second serial port) as the VM's owner could.
#   - before the cut: the probe (198.18.50.2 on the harness's bridge) and
#     the guest reach each other over IPv4 and IPv6 (2001:2::/48, only on
#     that bridge), ARP is answered, and a broadcast from the probe reaches
#     the guest (its IcmpMsg InType8 counter, a broadcast echo request
#     counts even though the guest does not answer it);
#   - suspend --scope public: the probe's ping fails; guest -> probe, ARP
#     and IPv6 are cut too;
#   - the tenant changes eth0's MAC (down, new address, up) and adds a
#     second IPv4 and IPv6 address; the probe forgets its neighbours (as
#     any peer eventually does). Everything must stay cut: probe -> guest
#     on the old and new addresses (v4 and v6), guest -> probe, ARP for
#     both addresses, and a broadcast from the probe must not reach the
#     guest. cordon-agent status must show the interface enforced on its
#     port (the tap in the live XML, <target dev='vnetN'/>);
#   - restore: the probe reaches the guest again, at its new MAC, on every
#     address, and so does the guest the probe; broadcasts reach it again.
#   - cut again, virsh destroy + start: cut by MAC while shut off, then on
#     its re-created tap; restore opens it.
# The agent runs with mechanisms = nft only: a detached NIC would leave the
# tenant nothing to attack with, and this test is about the nft layer.
# Layout as in 400-libvirt-inventory.sh (agent in the harness's libvirt
# namespace, cabled to lib.sh's controller).
set -euo pipefail
. "$(dirname "$0")/../lib.sh"
cdt_init

. "$CDT_ROOT/tests/libvirt.sh"
lv_test_init

G1=cdt-hs-g1 MAC1=52:54:00:44:00:01 IP1=198.18.50.10
NEWMAC=52:54:00:aa:bb:cc IP1B=198.18.50.15 # what the tenant picks
P4=${LV_PROBE_IP%/*}
G6=2001:2::10 G6B=2001:2::15 P6=2001:2::2
STAY=3 # seconds each "stays cut" check watches (1 s per failed try)

# gx COMMAND: run COMMAND as root in the guest (its output, its status).
gx() { lv_guest_exec -t 20 "$G1" "$@"; }
p_ping() { lv_ping "$1"; }
p_ping6() { lv_probe ping -6 -n -q -c 1 -W 1 "$1" >/dev/null 2>&1; }
# g_ping [OPTIONS] IP: one ping from inside the guest (busybox) to IP.
g_ping() { gx "ping -c 1 -W 1 $* >/dev/null"; }
# p_arp IP: the probe's ARP request for IP is answered.
p_arp() { lv_probe busybox arping -q -c 1 -w 1 -I eth0 "$1"; }
# in_echo: the guest's count of ICMP echo requests received (InType8).
in_echo() {
	gx "awk '/^IcmpMsg:/ { if (!h) { for (i = 2; i <= NF; i++) c[\$i] = i; h = 1 } else print (c[\"InType8\"] ? \$c[\"InType8\"] : 0) } END { if (!h) print 0 }' /proc/net/snmp"
}
# bcast_reaches: echo requests to 255.255.255.255 (ff:ff:ff:ff:ff:ff) from
# the probe for 1 s (5, 0.2 s apart); the guest counted at least one of them
# (nothing else sends it echo requests meanwhile).
BC_SEEN=
bcast_reaches() {
	local before after
	before=$(in_echo) || fail "read the guest's IcmpMsg counters"
	lv_probe ping -b -n -q -c 5 -i 0.2 -w 1 -I eth0 255.255.255.255 >/dev/null 2>&1 || true
	sleep 0.3
	after=$(in_echo) || fail "read the guest's IcmpMsg counters"
	BC_SEEN=$((after - before))
	[ "$BC_SEEN" -gt 0 ]
}
# stays_cut DESC CMD...: CMD never succeeds for $STAY seconds.
stays_cut() {
	local desc=$1
	shift
	if never_within "$STAY" "$@"; then ok "$desc: cut (${STAY}s watched)"; else fail "$desc: cut (it got through)"; fi
}
guest_mac() { gx 'cat /sys/class/net/eth0/address'; }
guest_mac_is() { [ "$(guest_mac)" = "$1" ]; }
guest_root() { [ "$(gx id -u)" = 0 ]; }
# has_addrs A...: the guest's eth0 (as last read into $ADDRS) has them all.
has_addrs() { local a; for a; do grep -q "inet6\? $a/" <<<"$ADDRS" || return 1; done; }
probe_neigh_mac() { lv_probe ip neigh show "$1" dev eth0 | grep -o 'lladdr [0-9a-f:]*' | cut -d' ' -f2; }

T0=$SECONDS
# --- libvirt and the guest (booting while the daemons start)
lv_test_start
lv_boot_guest "$G1" "$MAC1" "$IP1"
UUID1=$(lv_virsh domuuid "$G1")
ok "libvirtd up in ${LV_START_SECS}s; $G1 started"

# --- controller, management link, agent in the libvirt namespace
lv_controller_and_host "mechanisms = nft"
lv_daemons_up
lv_guest_up "$G1" "$IP1"
now_ms; t0=$NOW_MS
channel_ok() { guest_root && guest_mac_is "$MAC1"; }
check "the test runs commands in $G1 as root (command channel): eth0 has $MAC1" channel_ok
note "a command round trip in the guest: $(elapsed_ms "$t0") ms for two"
TAP=$(lv_iface_xml "$G1" "$MAC1" | sed -n "s/.*<target dev='\([^']*\)'.*/\1/p")
[ -n "$TAP" ] || fail "the live XML names $G1's tap (<target dev=...>)"

# IPv6: the probe's side is ours; the guest kernel must have it (built in).
HAVE6=0
if gx '[ -d /proc/sys/net/ipv6 ]' && [ -d /proc/sys/net/ipv6 ]; then
	HAVE6=1
	lv_probe sysctl -qw net.ipv6.conf.eth0.disable_ipv6=0 net.ipv6.conf.eth0.accept_dad=0
	lv_probe ip -6 addr add "$P6/64" dev eth0
	gx "sysctl -w net.ipv6.conf.eth0.accept_dad=0 >/dev/null && ip -6 addr add $G6/64 dev eth0" ||
		fail "IPv6 address $G6 in $G1"
else
	# The harness's guest kernel has IPv6 built in: its absence is a broken
	# harness, not a reason to pass without IPv6 covered.
	fail "IPv6 in the guest kernel and on this host (tests/vm builds it in)"
fi

# --- before the cut: every probe used below gets through
check "before the cut: probe -> $G1 ($IP1) ping passes" p_ping "$IP1"
check "before the cut: $G1 -> probe ($P4) ping passes" wait_until 10 g_ping "$P4"
check "before the cut: the probe's ARP for $IP1 is answered" p_arp "$IP1"
if bcast_reaches; then
	ok "before the cut: a broadcast from the probe reaches $G1 ($BC_SEEN echo requests counted)"
else
	fail "before the cut: a broadcast from the probe reaches $G1 (none counted)"
fi
if [ $HAVE6 = 1 ]; then
	check "before the cut: probe -> $G1 ($G6) ping passes" wait_until 10 p_ping6 "$G6"
	check "before the cut: $G1 -> probe ($P6) ping passes" wait_until 10 g_ping -6 "$P6"
fi

# --- the cut
now_ms; t0=$NOW_MS
vm_suspend "$G1" public
lv_wait_noping "$IP1" 10 || fail "suspend $G1: the probe's ping fails"
ok "suspend $G1 public: the probe's ping fails after $(elapsed_ms "$t0") ms"
stays_cut "probe -> $G1 ($IP1) ping" p_ping "$IP1"
stays_cut "$G1 -> probe ($P4) ping" g_ping "$P4"
stays_cut "the probe's ARP for $IP1" p_arp "$IP1"
if [ $HAVE6 = 1 ]; then
	stays_cut "probe -> $G1 ($G6) ping" p_ping6 "$G6"
	stays_cut "$G1 -> probe ($P6) ping" g_ping -6 "$P6"
fi

# --- the tenant's escape attempt: a new MAC and more addresses
attack="ip link set eth0 down && ip link set eth0 address $NEWMAC && ip link set eth0 up &&
	ip addr add $IP1B/24 dev eth0"
[ $HAVE6 = 0 ] || attack="$attack && ip -6 addr add $G6/64 dev eth0 && ip -6 addr add $G6B/64 dev eth0"
now_ms; t0=$NOW_MS
out=$(gx "${attack//$'\n'/ }" 2>&1) || fail "the tenant changes eth0's MAC and addresses: $out"
check "$G1's eth0 now has MAC $NEWMAC (inside the guest)" guest_mac_is "$NEWMAC"
ADDRS=$(gx 'ip addr show dev eth0') || fail "ip addr show in $G1"
check "$G1's eth0 has $IP1 and $IP1B" has_addrs "$IP1" "$IP1B"
added=$IP1B
if [ $HAVE6 = 1 ]; then
	check "$G1's eth0 has $G6 and $G6B" has_addrs "$G6" "$G6B"
	added="$IP1B and $G6B"
fi
ok "the tenant changed eth0's MAC to $NEWMAC and added $added in $(elapsed_ms "$t0") ms"
check "libvirt still knows the NIC as $MAC1 on $TAP" iface_has "$G1" "$MAC1" "<target dev='$TAP'/>"
lv_probe ip neigh flush dev eth0 >/dev/null 2>&1 || true

stays_cut "after the MAC change: probe -> $G1 ($IP1) ping" p_ping "$IP1"
stays_cut "after the MAC change: probe -> $G1 ($IP1B, the tenant's new address) ping" p_ping "$IP1B"
stays_cut "after the MAC change: $G1 -> probe ($P4) ping" g_ping "$P4"
stays_cut "after the MAC change: $G1 -> probe ($P4) ping from $IP1B" g_ping -I "$IP1B" "$P4"
stays_cut "after the MAC change: the probe's ARP for $IP1" p_arp "$IP1"
stays_cut "after the MAC change: the probe's ARP for $IP1B" p_arp "$IP1B"
if bcast_reaches; then
	fail "after the MAC change: a broadcast from the probe does not reach $G1 ($BC_SEEN echo requests counted)"
else
	ok "after the MAC change: a broadcast from the probe does not reach $G1"
fi
if [ $HAVE6 = 1 ]; then
	stays_cut "after the MAC change: probe -> $G1 ($G6) ping" p_ping6 "$G6"
	stays_cut "after the MAC change: probe -> $G1 ($G6B) ping" p_ping6 "$G6B"
	stays_cut "after the MAC change: $G1 -> probe ($P6) ping" g_ping -6 "$P6"
fi
# What the agent says (the probes above are the judge).
port_enforced() {
	agent_status hv1 --json | jq -e --arg u "$UUID1" --arg m "$MAC1" --arg p "$TAP" \
		'any(.vms[] | select(.uuid == $u) | .interfaces[]?; .mac == $m and .port == $p and .enforcement == "port")'
}
check "cordon-agent status: $MAC1 enforced on its port $TAP" q port_enforced

# --- restore: the guest is back, at its new MAC
now_ms; t0=$NOW_MS
vm_restore "$G1"
lv_wait_ping "$IP1" 20 || fail "restore $G1: the probe's ping to $IP1 passes"
ok "restore $G1: the probe's ping passes after $(elapsed_ms "$t0") ms"
neigh_is() { [ "$(probe_neigh_mac "$1")" = "$2" ]; }
check "the probe reached $IP1 at the tenant's MAC $NEWMAC" neigh_is "$IP1" "$NEWMAC"
check "probe -> $G1 ($IP1B) ping passes" wait_until 10 p_ping "$IP1B"
check "$G1 -> probe ($P4) ping passes" wait_until 10 g_ping "$P4"
check "the probe's ARP for $IP1B is answered" wait_until 10 p_arp "$IP1B"
check "a broadcast from the probe reaches $G1 again" bcast_reaches
if [ $HAVE6 = 1 ]; then
	check "probe -> $G1 ($G6) ping passes" wait_until 10 p_ping6 "$G6"
	check "probe -> $G1 ($G6B) ping passes" wait_until 10 p_ping6 "$G6B"
	check "$G1 -> probe ($P6) ping passes" wait_until 10 g_ping -6 "$P6"
fi

# --- cut again, then the guest destroyed and started again (virsh destroy +
# start, as after a crash or a host admin's restart): its tap is re-created
# while it is cut; the cut holds on the new tap from its first frame.
vm_suspend "$G1" public
check "cut again: the probe's ping to $IP1 fails" wait_until 10 not p_ping "$IP1"
lv_virsh destroy "$G1" >/dev/null || fail "virsh destroy $G1"
shut_off_by_mac() {
	agent_status hv1 --json | jq -e --arg m "$MAC1" \
		'any(.vms[].interfaces[]?; .mac == $m and .enforcement == "mac-only") and .nft.bridge_table'
}
check "while $G1 is shut off its interface is cut by MAC (no tap)" wait_until 10 q shut_off_by_mac
lv_start_guest "$G1" || fail "virsh start $G1"
lv_wait_ready "$G1" 120 || fail "$G1 boots again to its ready marker"
# The guest is back at its configured MAC: the probe forgets the tenant's.
lv_probe ip neigh flush all
TAP2=$(lv_iface_xml "$G1" "$MAC1" | sed -n "s/.*<target dev='\([^']*\)'.*/\1/p")
TAP=$TAP2
check "cordon-agent status: after the restart $MAC1 is enforced on its tap $TAP2" \
	wait_until 10 q port_enforced
no_bridge() { agent_status hv1 --json | jq -e '.nft.bridge_table == false' >/dev/null; }
check "the MAC fallback table is gone once the tap is known" wait_until 10 no_bridge
stays_cut "after the restart: probe -> $G1 ($IP1) ping" p_ping "$IP1"
stays_cut "after the restart: $G1 -> probe ($P4) ping" g_ping "$P4"
vm_restore "$G1"
check "restore after the restart: the probe's ping to $IP1 passes" wait_until 20 p_ping "$IP1"
note "the whole test: $((SECONDS - T0)) s"
cdt_done

#!/bin/bash
# A hostile tenant against a public cut. Root inside vm11 changes eth0's
# MAC, adds a second IPv4 and an IPv6 address, answers broadcasts; the cut
# must hold against all of it (DESIGN.md "Trust model"), judged only by
# real probes on the wire: pings both ways over IPv4 (old and new address)
# and IPv6, ARP requests and their replies, a UDP broadcast counted on
# vm11's own eth0 and a broadcast ping. Meanwhile vm12 on the same bridge
# and vm11's private side stay reachable, and after the restore every one
# of those probes passes again, with the tenant's MAC.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"
cdt_init
[ -x "$RAWSEND" ] || fail "$RAWSEND is built (make)"
CDT_IPV6=1
topo_one_host 2
wait_vm_known vm11

mac0=52:54:00:01:01:01   # vm11 eth0 as provisioned (the inventory's)
evil=52:54:00:aa:bb:cc   # the tenant's choice
ip4=${VM_PUB[vm11]} ip4b=198.18.11.111
ip6=${VM_PUB6[vm11]} ip6b=2001:2:0:11::beef
probe4=198.18.11.254 probe6=2001:2:0:11::254 bcast=198.18.11.255
bport=9999

# Both VMs answer broadcast pings (the tenant's sysctl, and vm12's as the
# control that a broadcast ping gets answers at all).
for v in vm11 vm12; do
	vm_exec "$v" sysctl -qw net.ipv4.icmp_echo_ignore_broadcasts=0
done

# ------------------------------------------------------------------ probes

from_probe() { probe_ping hv1 public "$1"; }
# from_vm DST [SRC]: vm11 pings DST (from its address SRC).
from_vm() {
	local src=()
	[ -z "${2:-}" ] || src=(-I "$2")
	vm_exec vm11 ping -n -q -c 1 -W "$PING_W" "${src[@]}" "$1" >/dev/null 2>&1
}
# arp_of IP: "N MAC..." - replies to ARP requests for IP from the probe.
arp_of() { probe_exec hv1 public "$RAWSEND" arp eth0 "$probe4" "$1" 1; }
arp_answered() { local r; r=$(arp_of "$1") && [ "${r%% *}" -gt 0 ]; }
# bcast_count VM: UDP broadcasts from the probe seen on VM's eth0.
bcast_count() {
	raw_count "${VM_NS[$1]}" eth0 -u "$bport" probe_exec hv1 public \
		"$RAWSEND" -u eth0 plain - ff:ff:ff:ff:ff:ff "$probe4" "$bcast" "$bport"
}
# bping_from: the addresses answering a broadcast ping from the probe.
bping_from() {
	probe_exec hv1 public ping -n -b -c 2 -w 2 "$bcast" 2>/dev/null |
		grep -oE 'from [0-9.]+' | awk '{print $2}' | sort -u | tr '\n' ' ' || true
}

# expect_never DESC SECONDS CMD...: CMD fails for SECONDS (polled).
expect_never() {
	local desc=$1 secs=$2
	shift 2
	if never_within "$secs" "$@"; then ok "$desc"; else fail "$desc"; fi
}
# expect_bcast_blocked / expect_bcast_reaches VM
expect_bcast() {
	local vm=$1 want=$2 n
	n=$(bcast_count "$vm") || { fail "rawsend counts broadcasts on $vm's eth0"; return 0; }
	if [ "$want" = none ]; then
		check "a UDP broadcast from the probe does not reach $vm's eth0 (seen $n of 3)" [ "$n" = 0 ]
	else
		check "a UDP broadcast from the probe reaches $vm's eth0 (seen $n of 3)" [ "$n" -gt 0 ]
	fi
}

# ----------------------------------------------------------------- baseline
# Every probe works before the cut: their failing later means the cut.
expect_reach vm11 public
check "probe pings vm11 over IPv6 ($ip6)" wait_until 10 from_probe "$ip6"
check "vm11 pings the probe (IPv4 $probe4, IPv6 $probe6)" \
	wait_until 10 eval 'from_vm "$probe4" && from_vm "$probe6"'
r=$(arp_of "$ip4")
check "vm11 answers the probe's ARP requests for $ip4 from $mac0 ($r)" \
	eval '[ "${r%% *}" -gt 0 ] && [[ " $r " == *" $mac0 "* ]]'
expect_bcast vm11 some
b=$(bping_from)
check "a broadcast ping from the probe is answered by vm11 and vm12 ($b)" \
	eval '[[ " $b" == *" $ip4 "* && " $b" == *" ${VM_PUB[vm12]} "* ]]'
expect_reach vm12 public
expect_reach vm11 private

# --------------------------------------------------------------------- cut
vm_suspend vm11 public
ok "cordonctl suspend vm11 --scope public"
expect_cut vm11 public
check "cordonctl vms: vm11 enforced" wait_until 15 vm_enforced vm11
expect_reach vm11 private
# The MAC is still the provisioned one: inbound broadcasts are frames to
# vm11 too, whatever their destination MAC.
expect_bcast vm11 none

# ------------------------------------------------------------ the tenant
vm_exec vm11 ip link set dev eth0 address "$evil"
vm_exec vm11 ip addr add "$ip4b/24" dev eth0
vm_exec vm11 ip addr add "$ip6b/64" dev eth0 nodad
# Neither side keeps a neighbour entry from before: what follows is what a
# fresh exchange achieves (the tenant could also wait, or announce itself).
probe_exec hv1 public ip neigh flush all
vm_exec vm11 ip neigh flush all
ok "tenant: vm11 eth0 is now $evil with $ip4b and $ip6b added"
check "the tenant's MAC is really on vm11's eth0" \
	[ "$(ns_mac "${VM_NS[vm11]}" eth0)" = "$evil" ]

expect_never "probe -> vm11 $ip4 (old address) stays cut" 2 from_probe "$ip4"
expect_never "probe -> vm11 $ip4b (tenant's new address) stays cut" 2 from_probe "$ip4b"
expect_never "probe -> vm11 $ip6 (IPv6) stays cut" 2 from_probe "$ip6"
expect_never "probe -> vm11 $ip6b (tenant's new IPv6) stays cut" 2 from_probe "$ip6b"
for a in "$ip4" "$ip4b"; do
	r=$(arp_of "$a")
	check "no ARP reply for $a reaches the probe (got: ${r:-?})" [ "${r%% *}" = 0 ]
done
nb=$(probe_exec hv1 public ip neigh show | grep -E "^($ip4|$ip4b) .*lladdr" | tr '\n' ';' || true)
check "the probe's neighbour table has no MAC for $ip4 or $ip4b (${nb:-none})" [ -z "$nb" ]
expect_never "vm11 -> probe $probe4 stays cut" 2 from_vm "$probe4"
expect_never "vm11 -> probe $probe4 from $ip4b stays cut" 2 from_vm "$probe4" "$ip4b"
expect_never "vm11 -> probe $probe6 (IPv6) stays cut" 2 from_vm "$probe6"
expect_bcast vm11 none
expect_bcast vm12 some
b=$(bping_from)
check "a broadcast ping is answered by vm12 ($b)" eval '[[ " $b" == *" ${VM_PUB[vm12]} "* ]]'
check "... and by no address of vm11 ($b)" \
	eval '[[ " $b" != *" $ip4 "* && " $b" != *" $ip4b "* ]]'
expect_reach vm12 public
check "probe pings vm12 over IPv6" wait_until 10 from_probe "${VM_PUB6[vm12]}"
expect_reach vm11 private
check "vm11's private side answers over IPv6 too" \
	wait_until 10 probe_ping hv1 private "${VM_PRIV6[vm11]}"

# What the agent says about it (after the probes: they are the judge).
st=$(agent_status hv1 --json) || fail "cordon-agent status --json"
check "cordon-agent status: vm11's public interface ($mac0) enforced on port vm1-pub" \
	q jq -e --arg m "$mac0" 'any(.vms[]?.interfaces[]?; .mac == $m
	   and .port == "vm1-pub" and .enforcement == "port")' <<<"$st"
check "cordon-agent status: netdev table healthy, nothing mac-only, no bridge table" \
	q jq -e '.nft.family == "netdev" and .nft.healthy == true and .nft.ports_cut >= 1
	   and .nft.mac_only == 0 and .nft.bridge_table == false' <<<"$st"

# ----------------------------------------------------------------- restore
vm_restore vm11
ok "cordonctl restore vm11"
check "cordonctl vms: vm11 cuts nothing" wait_until 15 \
	vms_jq 'any(.[]; .name == "vm11" and .scopes == [] and .state != "pending")'
check "probe -> vm11 $ip4 passes again" wait_until 10 from_probe "$ip4"
check "probe -> vm11 $ip4b passes" wait_until 10 from_probe "$ip4b"
check "probe -> vm11 $ip6 passes again" wait_until 10 from_probe "$ip6"
check "probe -> vm11 $ip6b passes" wait_until 10 from_probe "$ip6b"
r=$(arp_of "$ip4b")
check "vm11 answers ARP for $ip4b from the tenant's $evil ($r)" \
	eval '[ "${r%% *}" -gt 0 ] && [[ " $r " == *" $evil "* ]]'
check "vm11 -> probe passes again (IPv4, from $ip4b, IPv6)" wait_until 10 \
	eval 'from_vm "$probe4" && from_vm "$probe4" "$ip4b" && from_vm "$probe6"'
expect_bcast vm11 some
b=$(bping_from)
check "a broadcast ping is answered by vm11 again ($b)" \
	eval '[[ " $b" == *" $ip4 "* || " $b" == *" $ip4b "* ]]'
expect_reach vm12 public
expect_reach vm11 private

cdt_done

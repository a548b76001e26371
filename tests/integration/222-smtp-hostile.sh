#!/bin/bash
# A hostile tenant against an smtp cut. vm11 may no longer open mail
# connections (TCP 25/465/587), whatever it does inside: a changed MAC,
# IPv6, TCP SYNs built by hand behind an 802.1Q tag or stacked
# 802.1ad + 802.1Q tags (QinQ), with the provisioned MAC or its own. Judged
# on the wire: nc connections, and raw frames counted by `rawsend listen` on
# the probe's eth0 before any IP stack (tags or not). Everything else still
# works: mail to vm11, other ports from vm11, untagged frames to port 80.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"
cdt_init
[ -x "$RAWSEND" ] || fail "$RAWSEND is built (make)"
command -v nc >/dev/null || fail "nc (netcat-openbsd) is installed"
CDT_IPV6=1
topo_one_host 2
wait_vm_known vm11

mac0=52:54:00:01:01:01 evil=52:54:00:aa:bb:cc
ip4=${VM_PUB[vm11]} ip6=${VM_PUB6[vm11]}
probe4=198.18.11.254 probe6=2001:2:0:11::254
pns=${H_NS[hv1]}-public
pmac=$(ns_mac "$pns" eth0)
export RAW_LISTEN_S=0.5

for port in 25 465 587 8080; do
	for a in "$probe4" "$probe6"; do
		probe_exec hv1 public nc -l -k "$a" "$port" </dev/null >/dev/null 2>&1 &
		on_exit kill "$!"
	done
done
for a in "$ip4" "$ip6"; do # vm11 receives mail
	vm_exec vm11 nc -l -k "$a" 25 </dev/null >/dev/null 2>&1 &
	on_exit kill "$!"
done

# tcp_from VM DST PORT: VM opens a TCP connection to DST:PORT.
tcp_from() { vm_exec "$1" nc -z -w 1 "$2" "$3" >/dev/null 2>&1; }
# tcp_to_vm11 DST PORT: the probe opens one to vm11.
tcp_to_vm11() { probe_exec hv1 public nc -z -w 1 "$1" "$2" >/dev/null 2>&1; }
# seen MODE SRCMAC FAMILY DPORT: 3 SYNs sent raw from vm11's eth0 (MODE
# plain|vlan|qinq, FAMILY 4|6); prints the frames to DPORT that arrive on
# the probe's eth0 (an untagged SYN that gets through can count twice: vm11's
# stack answers the probe's SYN-ACK with a RST to the same port).
seen() {
	local src dst
	if [ "$3" = 4 ]; then src=$ip4 dst=$probe4; else src=$ip6 dst=$probe6; fi
	raw_count "$pns" eth0 "$4" vm_exec vm11 "$RAWSEND" eth0 "$1" "$2" "$pmac" "$src" "$dst" "$4"
}
# expect_seen none|some MODE SRCMAC FAMILY DPORT
expect_seen() {
	local want=$1 n what="$2 TCP SYN to port $5 over IPv$4 from MAC $3"
	shift
	n=$(seen "$@") || { fail "rawsend: $what"; return 0; }
	if [ "$want" = none ]; then
		check "$what does not arrive at the probe (3 sent, seen there: $n)" [ "$n" = 0 ]
	else
		check "$what arrives at the probe (3 sent, seen there: $n)" [ "$n" -gt 0 ]
	fi
}
expect_never() {
	local desc=$1 secs=$2
	shift 2
	if never_within "$secs" "$@"; then ok "$desc"; else fail "$desc"; fi
}

# ----------------------------------------------------------------- baseline
# Each probe gets through before the cut, so its failing later is the cut.
check "before: vm11 connects to the probe's port 25 over IPv4 and IPv6" \
	wait_until 10 eval 'tcp_from vm11 "$probe4" 25 && tcp_from vm11 "$probe6" 25'
for mode in plain vlan qinq; do
	expect_seen some "$mode" "$mac0" 4 25
done
expect_seen some qinq "$mac0" 6 25

# --------------------------------------------------------------------- cut
vm_suspend vm11 smtp
ok "cordonctl suspend vm11 --scope smtp"
check "cordonctl vms: vm11 enforced with scopes [smtp]" wait_until 15 \
	vms_jq 'any(.[]; .name == "vm11" and .scopes == ["smtp"] and .state == "enforced")'
check "vm11 (provisioned MAC) can no longer connect to port 25" \
	wait_until 10 not tcp_from vm11 "$probe4" 25
# The tags alone, with the MAC the agent knows.
for fam in 4 6; do
	for mode in vlan qinq; do
		expect_seen none "$mode" "$mac0" "$fam" 25
	done
done

# ------------------------------------------------------------ the tenant
vm_exec vm11 ip link set dev eth0 address "$evil"
probe_exec hv1 public ip neigh flush all
vm_exec vm11 ip neigh flush all
check "tenant: vm11's eth0 is now $evil" [ "$(ns_mac "${VM_NS[vm11]}" eth0)" = "$evil" ]

expect_never "vm11 ($evil) -> probe TCP 25 over IPv4 stays cut" 3 tcp_from vm11 "$probe4" 25
expect_never "vm11 ($evil) -> probe TCP 25 over IPv6 stays cut" 2 tcp_from vm11 "$probe6" 25
for port in 465 587; do
	check "vm11 ($evil) -> probe TCP $port (IPv4, IPv6) fails" \
		not eval 'tcp_from vm11 "$probe4" $port || tcp_from vm11 "$probe6" $port'
done
for src in "$evil" "$mac0"; do
	for fam in 4 6; do
		for mode in qinq vlan plain; do
			expect_seen none "$mode" "$src" "$fam" 25
		done
		expect_seen some plain "$src" "$fam" 80
	done
done
check "vm11 ($evil) -> probe TCP 8080 passes (IPv4 and IPv6)" \
	wait_until 10 eval 'tcp_from vm11 "$probe4" 8080 && tcp_from vm11 "$probe6" 8080'
check "mail to vm11: the probe connects to vm11's port 25 (IPv4 and IPv6)" \
	wait_until 10 eval 'tcp_to_vm11 "$ip4" 25 && tcp_to_vm11 "$ip6" 25'
expect_reach vm11 public
check "vm12 still connects to port 25" tcp_from vm12 "$probe4" 25

st=$(agent_status hv1 --json) || fail "cordon-agent status --json"
check "cordon-agent status: vm11's public interface smtp-cut on port vm1-pub" \
	q jq -e --arg m "$mac0" 'any(.vms[]?.interfaces[]?; .mac == $m and .port == "vm1-pub"
	   and .enforcement == "port" and .scopes == ["smtp"])' <<<"$st"

# ----------------------------------------------------------------- restore
vm_restore vm11
ok "cordonctl restore vm11"
check "after restore vm11 ($evil) connects to port 25 over IPv4 and IPv6" \
	wait_until 10 eval 'tcp_from vm11 "$probe4" 25 && tcp_from vm11 "$probe6" 25'
check "and to 465 and 587" eval 'tcp_from vm11 "$probe4" 465 && tcp_from vm11 "$probe4" 587'
expect_seen some qinq "$evil" 4 25
expect_seen some vlan "$mac0" 6 25

cdt_done

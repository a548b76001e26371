#!/bin/bash
# A cut VM's port goes away and comes back (VM reboot, QEMU restart: the
# host-side device is destroyed and created again). While it is gone the
# agent reports "port missing" and lifts nothing; once it is back the cut
# holds again (measured, in ms, by status and by real pings), also against
# a tenant who changes the MAC on the new interface. A restore while the
# port is missing leaves nothing behind for the re-created port.
#
# vm11 is cut in scope all (its private port stays, and stays cut), vm12's
# public port is cut throughout and must never be disturbed.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"
cdt_init
topo_one_host 2
wait_vm_known vm11

hns=${H_NS[hv1]} vns=${VM_NS[vm11]}
mac0=52:54:00:01:01:01 mac1=52:54:00:01:01:02 evil=52:54:00:aa:bb:cc
ip4=${VM_PUB[vm11]}

# enforcement_of MAC: "enforcement" of that interface in cordon-agent
# status --json ("none" if it is not listed).
enforcement_of() {
	agent_status hv1 --json 2>/dev/null | jq -r --arg m "$1" \
		'[.vms[]?.interfaces[]? | select(.mac == $m) | .enforcement] | first // "none"'
}
enforced_as() { [ "$(enforcement_of "$1")" = "$2" ]; }

# recreate_pub: vm11's public port and eth0, exactly as topo_vm makes them.
# The probe then forgets any MAC it had for vm11 (as a booting VM's
# gratuitous ARP would make it), so a tenant's MAC from before cannot linger.
recreate_pub() {
	vm_plug vm11 public
	probe_exec hv1 public ip neigh flush all
}

all_open vm11 vm12
vm_suspend vm12 public
vm_suspend vm11 all
ok "cordonctl suspend vm12 --scope public, vm11 --scope all"
expect_cut vm11 public
expect_cut vm11 private
expect_cut vm12 public
expect_reach vm12 private
check "cordonctl vms: vm11 and vm12 enforced" wait_until 15 \
	eval 'vm_enforced vm11 && vm_enforced vm12'
check "cordon-agent status: vm11's interfaces enforced on their ports" wait_until 10 \
	eval 'enforced_as $mac0 port && enforced_as $mac1 port'

# ------------------------------------------------- the port disappears
ip -n "$hns" link del vm1-pub
ok "vm11's public port vm1-pub deleted (and with it vm11's eth0)"
check "vm11's eth0 went with it" not q ip -n "$vns" link show eth0
check "cordon-agent status: vm11's public interface is \"port missing\"" \
	wait_until 5 enforced_as "$mac0" "port missing"
st=$(agent_status hv1 --json) || fail "cordon-agent status --json"
check "cordon-agent status: nft counts the missing port (ports_missing >= 1)" \
	q jq -e '.nft.ports_missing >= 1' <<<"$st"
check "cordon-agent status: vm11 still enforced with scopes public, private" \
	q jq -e '.vms[] | select(.name == "vm11") | (.scopes | sort) == ["private","public"]' <<<"$st"
check "cordon-agent status: vm11's private interface still enforced on its port" \
	enforced_as "$mac1" port
expect_stays_cut vm11 private 2
expect_stays_cut vm12 public 1

# ------------------------------------------------ the port comes back
# A flood of pings from the probe (10 ms apart) across the re-creation:
# any answer is a frame that got through a cut port.
probe_exec hv1 public ping -n -i 0.01 -W 0.2 -w 3 "$ip4" >"$CDT_TMP/flood.out" 2>&1 &
flood=$!
sleep 0.3
now_ms
t0=$NOW_MS
recreate_pub
now_ms
t_made=$NOW_MS
t_status=
while :; do
	if enforced_as "$mac0" port; then
		now_ms
		t_status=$NOW_MS
		break
	fi
	now_ms
	((NOW_MS - t0 < 5000)) || break
	sleep 0.01
done
note "re-creating vm1-pub took $((t_made - t0)) ms (ip link add .. eth0 up)"
if [ -n "$t_status" ]; then
	note "cordon-agent status: vm11's public interface enforced on its port again $((t_status - t0)) ms after the re-creation began"
	ok "cordon-agent status: \"port\" again within 5 s of re-creating vm1-pub ($((t_status - t0)) ms)"
else
	fail "cordon-agent status: \"port\" again within 5 s of re-creating vm1-pub (now: $(enforcement_of "$mac0"))"
fi
wait "$flood" || true
replies=$(grep -oE '[0-9]+ received' "$CDT_TMP/flood.out" | grep -oE '^[0-9]+' || echo '?')
sent=$(grep -oE '[0-9]+ packets transmitted' "$CDT_TMP/flood.out" | grep -oE '^[0-9]+' || echo '?')
note "pings from the probe every 10 ms across the re-creation: $sent sent, $replies answered"
check "no ping across the re-creation got an answer ($replies of $sent)" [ "$replies" = 0 ]
check "vm11's new eth0 is up with $mac0" [ "$(ns_mac "$vns" eth0)" = "$mac0" ]
expect_cut vm11 public 5
expect_stays_cut vm11 public 2
expect_stays_cut vm11 private 1
expect_stays_cut vm12 public 1

# The tenant on the new interface: another MAC.
vm_exec vm11 ip link set dev eth0 address "$evil"
probe_exec hv1 public ip neigh flush all
vm_exec vm11 ip neigh flush all
ok "tenant: vm11's re-created eth0 is now $evil"
expect_stays_cut vm11 public 3
check "vm11 -> probe stays cut" \
	never_within 2 vm_exec vm11 ping -n -q -c 1 -W 1 198.18.11.254

# ------------------------------- a restore while the port is missing
ip -n "$hns" link del vm1-pub
check "cordon-agent status: \"port missing\" again" \
	wait_until 5 enforced_as "$mac0" "port missing"
vm_restore vm11
ok "cordonctl restore vm11 (its public port is missing)"
check "cordonctl vms: vm11 cuts nothing" wait_until 15 \
	vms_jq 'any(.[]; .name == "vm11" and .scopes == [] and .state != "pending")'
expect_reach vm11 private
recreate_pub
ok "vm1-pub re-created"
expect_reach vm11 public
expect_stays_open vm11 public 2
if tbl=$(host_nft hv1 list table netdev cordon 2>&1); then
	left=$(grep -F 'vm1-pub' <<<"$tbl" | tr -s '\t\n' '  ' || true)
	check "table netdev cordon in hv1 has no chain for vm1-pub (${left:-none})" [ -z "$left" ]
	check "... and still vm12's (vm2-pub)" q grep -F 'vm2-pub' <<<"$tbl"
else
	fail "nft list table netdev cordon in hv1 (vm12 is still cut): $(head -n 1 <<<"$tbl")"
fi
expect_stays_cut vm12 public 1
expect_reach vm12 private
vm_restore vm12
expect_reach vm12 public

cdt_done

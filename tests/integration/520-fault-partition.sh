#!/bin/bash
# Fault: a 45 s network partition between hv1's agent and the controller,
# made the way a dead switch or router would: every frame between them
# lost, in hv1's namespace only (its own table netdev cdtpart, removed at
# the heal). cordonctl agents shows hv1 disconnected within the
# controller's agent_timeout_ms; suspends and restores sent meanwhile are
# accepted and wait (pending; hv1 keeps enforcing what it had, nothing
# lifted); once the partition heals they are all applied within about a
# second (measured: the heal to the last ack, and to the probes; asserted
# within 5 s). hv2 is connected and served all along.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"
cdt_init

topo_hosts 2 3
timeout_ms=$(sed -n 's/^agent_timeout_ms *= *//p' "$CDT_TMP/ctl/cordond.conf")
hb_ms=$(sed -n 's/^heartbeat_ms *= *//p' "$CDT_TMP/hv1/agent.conf")
[ -n "$timeout_ms" ] && [ -n "$hb_ms" ] || fail "agent_timeout_ms and heartbeat_ms in the test configs"
note "controller agent_timeout_ms = $timeout_ms, agent heartbeat_ms = $hb_ms"

# Before: vm13 cut on private, the rest open.
vm_suspend vm13 private
check "vm13 enforced before the partition" wait_until 15 vm_enforced vm13
judge_vms vm11=- vm12=- vm13=private vm21=- vm22=-

# partition on|off: hv1's management link loses every frame, both ways,
# as across a dead switch, in hv1's namespace (table netdev cdtpart on
# mgmt0). Frames in are dropped at ingress. Frames out cannot simply be
# dropped at egress: TCP takes a local drop for congestion and retries
# every 500 ms without backing off, which a real partition never lets it
# do. So they leave with a destination MAC nobody has, and are lost beyond
# the link (the controller's bridge floods them to ports that discard
# them), as loss in the network is.
# The controller's neighbour entry is pinned for the partition: in a real
# region the controller is routed, and the agent's next hop stays known
# while the path beyond it is lost (here, with one segment, ARP would fail
# and turn the loss into quick local errors).
partition() {
	if [ "$1" = on ]; then
		ip -n "${H_NS[hv1]}" neigh replace "$CTL_ADDR" dev mgmt0 nud permanent \
			lladdr "$(ip -n "$CTL_NS" -j link show mgmt | jq -r '.[0].address')"
		host_nft hv1 -f - <<-EOF
			table netdev cdtpart {
				chain in { type filter hook ingress device mgmt0 priority -500; policy drop; }
				chain out {
					type filter hook egress device mgmt0 priority -500; policy accept;
					ether daddr set 02:00:00:00:00:01
				}
			}
		EOF
	else
		host_nft hv1 delete table netdev cdtpart
		ip -n "${H_NS[hv1]}" neigh del "$CTL_ADDR" dev mgmt0
	fi
}
on_exit host_nft hv1 delete table netdev cdtpart

partition on
now_ms
t_part=$NOW_MS
ok "partition: hv1's mgmt0 drops every frame both ways (table netdev cdtpart in hv1's namespace)"
check "cordonctl agents shows hv1 disconnected within agent_timeout_ms + 2 s" \
	wait_until $(((timeout_ms + 2000 + 999) / 1000)) agent_disconnected hv1
now_ms
detect_ms=$((NOW_MS - t_part))
note "hv1 shown disconnected $detect_ms ms after the partition (agent_timeout_ms $timeout_ms)"
check "not before its timeout: $detect_ms ms >= agent_timeout_ms - heartbeat_ms - 200 ms" \
	[ "$detect_ms" -ge $((timeout_ms - hb_ms - 200)) ]
check "hv2 stays connected" agent_connected hv2
note "hv1's own view: $(agent_status hv1 --json | jq -c '.controller | {link, detail}')"

# --- commands while partitioned: accepted, pending, nothing applied
ctl suspend vm11 --scope all --reason partition >/dev/null &&
	ctl restore vm11 >/dev/null &&
	ctl suspend vm11 --scope public --reason partition >/dev/null ||
	fail "suspend all / restore / suspend public of vm11 accepted while hv1 is cut off"
vm_suspend vm12 all
vm_restore vm13
ok "while partitioned: vm11 all, restore, public; vm12 all; vm13 restored (all exit 0)"
check "cordonctl vms: vm11, vm12, vm13 pending with their new scopes" \
	vms_jq '(map(select(.name == "vm11" or .name == "vm12" or .name == "vm13")) | all(.state == "pending"))
	   and any(.[]; .name == "vm11" and .scopes == ["public"])
	   and any(.[]; .name == "vm12" and (.scopes | sort) == ["private","public"])
	   and any(.[]; .name == "vm13" and .scopes == [])'
check "cordonctl agents: hv1 has 3 pending" agents_jq 'any(.[]; .host == "hv1" and .pending == 3)'

# hv2 is served meanwhile.
vm_suspend vm21 public
check "hv2: vm21 enforced during the partition" wait_until 15 vm_enforced vm21
# hv1 still holds what it had: vm13's cut is not lifted, nothing new is cut.
judge_vms vm11=- vm12=- vm13=private vm21=public vm22=-
expect_stays_cut vm13 private 2
check "hv1 is still disconnected (the partition holds)" agent_disconnected hv1
# Long enough for TCP's SYN backoff to matter: an agent that leaves its
# reconnect to TCP (one connect, its SYN retried at growing intervals)
# waited 25 s after this 45 s partition healed.
now_ms
left=$((t_part + ${PART_S:-45} * 1000 - NOW_MS))
((left <= 0)) || sleep "$((left / 1000)).$(printf '%03d' $((left % 1000)))"
now_ms
note "partition held $((NOW_MS - t_part)) ms"

# --- heal
partition off
now_ms
t_heal=$NOW_MS
ok "partition healed (table netdev cdtpart deleted)"
applied() {
	vms_jq 'all(.[]; .acked_generation == .generation and .state != "pending")' &&
		agent_connected hv1
}
check "every queued change acked by hv1 within 60 s of the heal" wait_until 60 applied
now_ms
apply_ms=$((NOW_MS - t_heal))
note "hv1 reconnected and acked the queued changes $apply_ms ms after the heal"
# The probes: the first moment vm11's and vm12's public pings fail and
# vm13's private one answers (0.2 s probes).
moved() {
	! PING_W=0.2 vm_ping vm11 public && ! PING_W=0.2 vm_ping vm12 public &&
		PING_W=0.2 vm_ping vm13 private
}
check "the probes show the changes" wait_until 30 moved
now_ms
probe_ms=$((NOW_MS - t_heal))
note "the probes show them $probe_ms ms after the heal"
check "applied within 5 s of the heal (generous: the expected figure is about 1 s): $apply_ms ms" \
	[ "$apply_ms" -le 5000 ]
judge_vms vm11=public vm12=private,public vm13=- vm21=public vm22=-
check "hv2 was connected all along" agent_connected hv2
echo "# figures: detect_ms=$detect_ms apply_ms=$apply_ms probe_ms=$probe_ms"

cdt_done

#!/bin/bash
# The test bench itself, without cordon: every probe reaches its VMs, the
# hosts' networks are isolated from each other, and a MAC drop in a bridge
# table (what the agent does) makes exactly the probe we expect fail. If this
# fails, the other integration tests' "cut"/"restored" verdicts mean nothing.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"
NEED_BINARIES=0 cdt_init

topo_controller
topo_host hv1 1
topo_host hv2 2
for v in 1 2; do topo_vm hv1 1 "$v"; topo_vm hv2 2 "$v"; done

all_open vm11 vm12 vm21 vm22

check "management: hv1 (198.18.0.11) reaches the controller 198.18.0.1" \
	q ip netns exec "${H_NS[hv1]}" ping -n -q -c 1 -W 2 198.18.0.1
check "management: hv2 (198.18.0.12) reaches the controller 198.18.0.1" \
	q ip netns exec "${H_NS[hv2]}" ping -n -q -c 1 -W 2 198.18.0.1
check "hv1's public probe cannot reach hv2's vm21 (networks isolated)" \
	not probe_ping hv1 public "${VM_PUB[vm21]}"
check "vm11's public address is not reachable on hv1's private bridge" \
	not probe_ping hv1 private "${VM_PUB[vm11]}"

inv=$CDT_TMP/hv1/inventory.json
check "hv1's inventory lists vm11 and vm12 with their MACs" \
	q jq -e '[.vms[] | .name] == ["vm11","vm12"] and
	       .vms[0].interfaces[0].mac == "52:54:00:01:01:01" and
	       .vms[1].interfaces[1].mac == "52:54:00:01:02:02" and
	       .vms[0].uuid == "c0d0c0d0-0000-4000-8000-000001000001"' "$inv"

# A bridge-family drop of vm11's public MAC, as the agent would install.
ip netns exec "${H_NS[hv1]}" nft -f - <<'EOF'
table bridge cdtbench {
	chain cut {
		type filter hook forward priority 0; policy accept;
		ether saddr 52:54:00:01:01:01 drop
		ether daddr 52:54:00:01:01:01 drop
	}
}
EOF
expect_cut vm11 public
expect_reach vm11 private
expect_reach vm12 public
expect_reach vm21 public
ip netns exec "${H_NS[hv1]}" nft delete table bridge cdtbench
expect_reach vm11 public

cdt_done

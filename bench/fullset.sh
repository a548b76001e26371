#!/bin/bash
# bench/fullset.sh [N]: the agent's enforcer taking a full desired set of N
# VMs (default 100000), the same set again, and an empty full set that
# lifts them all.
#
# Method: build/tools/fullset in a network namespace of its own (its
# nftables tables die with it), a fresh state directory; the inventory is
# built in memory (N VMs x 2 interfaces, no ports: the cut MACs go to the
# bridge table's sets). "staged" is the enforcer's work in memory
# (enforcer_stage: apply by content, lift what the set leaves out);
# "committed" is the state file written and the one nftables batch.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-100000}
tool=${FULLSET:-build/tools/fullset}
[ -x "$tool" ] || { echo "bench/fullset.sh: build first (make)" >&2; exit 1; }
ns=cdf$$
dir=$(mktemp -d /tmp/cdf$$.XXXXXX)
cleanup() { ip netns del "$ns" 2>/dev/null || true; rm -rf -- "$dir"; }
trap cleanup EXIT
ip netns add "$ns"
echo "commit $(git rev-parse --short HEAD 2>/dev/null || echo -), $(date -u +%F), $N VMs"
ip netns exec "$ns" "$tool" "$N" "$dir"

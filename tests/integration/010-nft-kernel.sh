#!/bin/bash
# 010-nft-kernel: agent/nft.c against the real kernel, through nfttool.
#
# Three network namespaces, never the root one: a "host" with bridge br0
# (where the cordon table lives) and two "VMs" on veth ports of br0,
# 198.18.0.1 and 198.18.0.2. Checks that cutting a MAC stops its traffic,
# that smtp cuts only TCP 25/465/587, that a flushed ruleset is seen by the
# monitor and re-asserted, and that deleting an absent element is -ENOENT.
#
# Exit: 0 pass, 1 fail, 77 skip (not root). NFTTOOL overrides the binary
# (e.g. a sanitizer build).
set -eEuo pipefail
cd "$(dirname "$0")/../.."

if [ "$(id -u)" -ne 0 ]; then
	echo "SKIP: needs root (network namespaces, nftables)"
	exit 77
fi
TOOL=${NFTTOOL:-build/tools/nfttool}
if [ ! -x "$TOOL" ]; then
	echo "FAIL: $TOOL not built (make build/tools/nfttool)"
	exit 1
fi
TOOL=$(realpath "$TOOL")

P=cdt-nft-$$
H=$P-h
A=$P-a
B=$P-b
MAC_A=02:cd:00:00:00:01
MAC_B=02:cd:00:00:00:02
IP_B=198.18.0.2
TMP=$(mktemp -d)
PIDS=()

cleanup() {
	local pid
	for pid in "${PIDS[@]}"; do
		kill "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	done
	for ns in "$A" "$B" "$H"; do
		ip netns del "$ns" 2>/dev/null || true
	done
	rm -rf "$TMP"
}
trap cleanup EXIT
# set -e ends the script on an unchecked failure: say where.
trap 'echo "FAIL - unexpected error at line $LINENO: $BASH_COMMAND"' ERR

FAILED=0
pass() { echo "ok   - $*"; }
fail() { echo "FAIL - $*"; FAILED=1; }
check() { # check DESCRIPTION COMMAND...
	local what=$1
	shift
	if "$@"; then pass "$what"; else fail "$what"; fi
}

inh() { ip netns exec "$H" "$@"; }
tool() { ip netns exec "$H" "$TOOL" "$@"; }
ping_ab() { ip netns exec "$A" ping -c 1 -W 1 -q "$IP_B" >/dev/null 2>&1; }
no_ping_ab() { ! ping_ab; }
# TCP connect from A to B:port within 2 s.
tcp_ab() {
	ip netns exec "$A" timeout 2 bash -c "exec 3<>/dev/tcp/$IP_B/$1" 2>/dev/null
}
no_tcp_ab() { ! tcp_ab "$1"; }

setup() {
	ip netns add "$H"
	ip netns add "$A"
	ip netns add "$B"
	inh ip link add br0 type bridge
	inh ip link set br0 up
	local ns mac ip n=0
	for ns in "$A" "$B"; do
		n=$((n + 1))
		mac=02:cd:00:00:00:0$n
		ip=198.18.0.$n
		inh ip link add vm$n type veth peer name eth0 netns "$ns"
		inh ip link set vm$n master br0 up
		ip netns exec "$ns" ip link set eth0 address "$mac"
		ip netns exec "$ns" ip addr add "$ip/24" dev eth0
		ip netns exec "$ns" ip link set eth0 up
		ip netns exec "$ns" ip link set lo up
	done
}

# TCP listeners in B on 25 (smtp) and 2525 (control).
listen_b() {
	local port
	for port in 25 2525; do
		ip netns exec "$B" python3 -c '
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", int(sys.argv[1]))); s.listen(16)
while True: s.accept()[0].close()' "$port" &
		PIDS+=($!)
	done
}

# Waits up to 5 s for FILE to hold at least N lines matching WORD.
wait_lines() {
	local file=$1 word=$2 n=$3 i
	for i in $(seq 50); do
		[ "$(grep -c "^$word\$" "$file" || true)" -ge "$n" ] && return 0
		sleep 0.1
	done
	return 1
}

setup
listen_b
sleep 0.5

check "no table: A pings B" ping_ab
check "no table: A reaches B tcp/25" tcp_ab 25

check "assert public=A" tool assert public=$MAC_A private= smtp=
check "public cut: A cannot ping B" no_ping_ab
check "verify matches (unsorted input, duplicates)" \
	tool verify public=$MAC_A,$MAC_A
check "verify sees a different set (exit 1)" \
	bash -c "ip netns exec $H '$TOOL' verify public=$MAC_B >/dev/null 2>&1; [ \$? -eq 1 ]"

inh nft list table bridge cordon >"$TMP/list"
check "nft list: prerouting chain at -300" \
	grep -q "type filter hook prerouting priority dstnat; policy accept;" "$TMP/list"
check "nft list: postrouting chain" \
	grep -q "type filter hook postrouting priority -300; policy accept;" "$TMP/list"
check "nft list: saddr and daddr rules" \
	bash -c "grep -q 'ether saddr @cut_public drop' $TMP/list &&
		 grep -q 'ether daddr @cut_private drop' $TMP/list"
check "nft list: smtp rules" \
	bash -c "[ \$(grep -c 'ether saddr @cut_smtp drop' $TMP/list) -eq 3 ] &&
		 grep -q 'dport 587' $TMP/list"
check "nft list: element present" grep -q "$MAC_A" "$TMP/list"

check "del public A" tool del public $MAC_A
check "uncut: A pings B" ping_ab
check "add private B" tool add private $MAC_B
check "private cut of B: A cannot ping B" no_ping_ab
check "add present element is not an error" tool add private $MAC_B
check "del private B" tool del private $MAC_B
check "uncut: A pings B again" ping_ab

check "add smtp A" tool add smtp $MAC_A
check "smtp cut: A still pings B" ping_ab
check "smtp cut: A cannot reach B tcp/25" no_tcp_ab 25
check "smtp cut: A reaches B tcp/2525" tcp_ab 2525
check "del smtp A" tool del smtp $MAC_A
check "smtp uncut: A reaches B tcp/25" tcp_ab 25

out=$(tool del public 02:cd:00:00:00:99 2>"$TMP/err" || true)
check "delete of absent element reports ENOENT" [ "$out" = "ENOENT" ]
check "... and names the element" grep -q "02:cd:00:00:00:99" "$TMP/err"

# Tamper by hand, verify notices, assert repairs.
tool assert public=$MAC_A >/dev/null
inh nft delete element bridge cordon cut_public "{ $MAC_A }"
check "element deleted by hand: verify says different" \
	bash -c "ip netns exec $H '$TOOL' verify public=$MAC_A >/dev/null 2>&1; [ \$? -eq 1 ]"
inh nft delete rule bridge cordon post handle \
	"$(inh nft -a list chain bridge cordon post | awk '/daddr @cut_public/ {print $NF}')"
check "assert repairs element and rule" tool assert public=$MAC_A
check "verify after repair" tool verify public=$MAC_A
inh nft delete table bridge cordon
inh nft 'add table bridge cordon; add chain bridge cordon pre { type filter hook prerouting priority 0; policy drop; }; add set bridge cordon cut_public { type ipv4_addr; }'
check "assert replaces a table it cannot repair in place" \
	tool assert public=$MAC_A
check "verify after replace" tool verify public=$MAC_A
check "public cut again: A cannot ping B" no_ping_ab

# Monitor: an agent-like loop asserts, sees a flush, re-asserts, and must
# not be woken by its own batches.
inh "$TOOL" monitor 6 public=$MAC_A >"$TMP/mon" 2>"$TMP/mon.err" &
PIDS+=($!)
sleep 0.5
inh nft add table inet unrelated
check "unrelated table: no tamper" bash -c "sleep 0.3; ! grep -q tamper $TMP/mon"
inh nft flush ruleset
check "flush ruleset: monitor reports tamper" wait_lines "$TMP/mon" tamper 1
check "flush ruleset: monitor re-asserts" wait_lines "$TMP/mon" reasserted 1
check "table back: A cannot ping B" no_ping_ab
inh nft add element bridge cordon cut_private "{ $MAC_B }"
check "foreign element add: tamper again" wait_lines "$TMP/mon" tamper 2
sleep 1
check "own re-asserts do not report tamper" \
	[ "$(grep -c '^tamper$' "$TMP/mon")" -eq 2 ]
check "verify after monitor loop" tool verify public=$MAC_A

if [ "$FAILED" -ne 0 ]; then
	echo "--- monitor stderr"; cat "$TMP/mon.err" || true
	exit 1
fi
echo "010-nft-kernel: all checks passed"
exit 0

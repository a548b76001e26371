#!/bin/bash
# 010-nft-kernel: agent/nft.c against the real kernel, through nfttool.
#
# Three network namespaces, never the root one: a "host" with bridge br0
# (where the cordon table lives) and two "VMs" on veth ports of br0,
# 198.18.0.1 and 198.18.0.2. Checks that cutting a MAC stops its traffic,
# that smtp cuts only TCP 25/465/587 the VM sends, that a MAC cut in several
# scopes keeps the strongest cut, that a flushed ruleset is seen by the
# monitor and re-asserted, that deleting an absent element is -ENOENT; and
# the netdev table: a port's chains cut whatever the MAC, verify sees every
# kind of change to them, smtp on a port, port and MAC cuts in one batch.
#
# nfttool runs STEPs separated by "--" with one handle: add/del change what
# the same process asserted (nft.c computes each MAC's verdict from it).
#
# Exit: 0 pass, 1 fail, 77 skip (not root). NFTTOOL overrides the binary
# (e.g. a sanitizer build).
set -eEuo pipefail
cd "$(dirname "$0")/../.."

if [ "$(id -u)" -ne 0 ]; then
	echo "SKIP: needs root (network namespaces, nftables)"
	exit 77
fi
TOOL=${NFTTOOL:-${CDT_BUILD:-build}/tools/nfttool}
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
not_table() { ! inh nft list table "$1" cordon >/dev/null 2>&1; }

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
check "nft list: one saddr and one daddr lookup" \
	bash -c "[ \$(grep -c 'vmap @cut' $TMP/list) -eq 2 ] &&
		 grep -q 'ether saddr vmap @cut' $TMP/list &&
		 grep -q 'ether daddr vmap @cut' $TMP/list"
check "nft list: smtp_chk rules" \
	bash -c "grep -q 'oif != 0 return' $TMP/list &&
		 [ \$(grep -c 'tcp dport [0-9]* drop' $TMP/list) -eq 3 ] &&
		 grep -q 'dport 587' $TMP/list"
check "nft list: element with verdict drop" grep -q "$MAC_A : drop" "$TMP/list"

check "del public A" tool assert public=$MAC_A -- del public $MAC_A
check "uncut: A pings B" ping_ab
check "add private B" tool assert -- add private $MAC_B
check "private cut of B: A cannot ping B" no_ping_ab
check "add present element is not an error" \
	tool assert private=$MAC_B -- add private $MAC_B -- verify private=$MAC_B
check "del private B" tool assert private=$MAC_B -- del private $MAC_B
check "uncut: A pings B again" ping_ab

check "add smtp A" tool assert -- add smtp $MAC_A
check "nft list: smtp-only MAC jumps" \
	bash -c "ip netns exec $H nft list map bridge cordon cut | grep -q '$MAC_A : jump smtp_chk'"
check "smtp cut: A still pings B" ping_ab
check "smtp cut: A cannot reach B tcp/25" no_tcp_ab 25
check "smtp cut: A reaches B tcp/2525" tcp_ab 2525
check "del smtp A" tool assert smtp=$MAC_A -- del smtp $MAC_A
check "smtp uncut: A reaches B tcp/25" tcp_ab 25
# The map serves postrouting too, where an smtp-only MAC is the destination.
check "smtp cut of B: A still reaches B tcp/25 (mail to B passes)" \
	bash -c "ip netns exec $H '$TOOL' assert smtp=$MAC_B >/dev/null && $(declare -f tcp_ab); IP_B=$IP_B A=$A tcp_ab 25"

# A MAC in several scopes: drop wins, and leaving one scope keeps the rest.
check "public+smtp A, then public lifted: smtp cut stays" \
	tool assert public=$MAC_A smtp=$MAC_A -- del public $MAC_A -- verify smtp=$MAC_A
check "... A pings B" ping_ab
check "... A cannot reach B tcp/25" no_tcp_ab 25
check "smtp A, then public added: drop" \
	tool assert smtp=$MAC_A -- add public $MAC_A -- verify public=$MAC_A smtp=$MAC_A
check "... A cannot ping B" no_ping_ab
check "public+private A, private lifted: still drop" \
	tool assert public=$MAC_A private=$MAC_A -- del private $MAC_A -- verify public=$MAC_A
check "... A cannot ping B" no_ping_ab
tool assert >/dev/null

out=$(tool assert public=$MAC_A -- del public 02:cd:00:00:00:99 2>"$TMP/err" || true)
check "delete of an element not in the scope reports ENOENT" [ "$out" = "ENOENT" ]
check "... and names the element" grep -q "02:cd:00:00:00:99" "$TMP/err"
out=$(tool del public $MAC_A 2>/dev/null || true)
check "delete without an assert by this handle reports ENOENT" [ "$out" = "ENOENT" ]
# (a second MAC keeps the table: lifting the last one deletes it)
out=$(tool assert public=$MAC_A,02:cd:00:00:00:77 -- \
	sh "nft delete element bridge cordon cut '{ $MAC_A }'" -- \
	del public $MAC_A 2>"$TMP/err" || true)
check "delete of an element gone from the kernel reports ENOENT" [ "$out" = "ENOENT" ]
check "... and names the element" grep -q "$MAC_A" "$TMP/err"

# Tamper by hand, verify notices, assert repairs.
tool assert public=$MAC_A >/dev/null
inh nft delete element bridge cordon cut "{ $MAC_A }"
check "element deleted by hand: verify says different" \
	bash -c "ip netns exec $H '$TOOL' verify public=$MAC_A >/dev/null 2>&1; [ \$? -eq 1 ]"
inh nft add element bridge cordon cut "{ $MAC_A : accept }"
check "element with another verdict: verify says different" \
	bash -c "ip netns exec $H '$TOOL' verify public=$MAC_A >/dev/null 2>&1; [ \$? -eq 1 ]"
inh nft delete rule bridge cordon post handle \
	"$(inh nft -a list chain bridge cordon post | awk '/daddr vmap @cut/ {print $NF}')"
check "rule deleted by hand: verify says different" \
	bash -c "ip netns exec $H '$TOOL' verify public=$MAC_A >/dev/null 2>&1; [ \$? -eq 1 ]"
check "assert repairs element and rule" tool assert public=$MAC_A
check "verify after repair" tool verify public=$MAC_A
inh nft delete rule bridge cordon smtp_chk handle \
	"$(inh nft -a list chain bridge cordon smtp_chk | awk '/dport 465/ {print $NF}')"
check "smtp_chk rule deleted by hand: verify says different" \
	bash -c "ip netns exec $H '$TOOL' verify public=$MAC_A >/dev/null 2>&1; [ \$? -eq 1 ]"
check "assert repairs it" tool assert public=$MAC_A -- verify public=$MAC_A
inh nft delete table bridge cordon
inh nft 'add table bridge cordon; add chain bridge cordon pre { type filter hook prerouting priority 0; policy drop; }; add map bridge cordon cut { type ipv4_addr : verdict; }'
check "assert replaces a table of another shape (pre policy drop, ipv4 map)" \
	tool assert public=$MAC_A
check "verify after replace" tool verify public=$MAC_A
check "public cut again: A cannot ping B" no_ping_ab

# Monitor: an agent-like loop asserts, sees a flush, re-asserts, and must
# not be woken by its own batches.
inh "$TOOL" monitor 6 public=$MAC_A >"$TMP/mon" 2>"$TMP/mon.err" &
MON_PID=$!
PIDS+=($!)
sleep 0.5
inh nft add table inet unrelated
check "unrelated table: no tamper" bash -c "sleep 0.3; ! grep -q tamper $TMP/mon"
inh nft flush ruleset
check "flush ruleset: monitor reports tamper" wait_lines "$TMP/mon" tamper 1
check "flush ruleset: monitor re-asserts" wait_lines "$TMP/mon" reasserted 1
check "table back: A cannot ping B" no_ping_ab
inh nft add element bridge cordon cut "{ $MAC_B : drop }"
check "foreign element add: tamper again" wait_lines "$TMP/mon" tamper 2
sleep 1
check "own re-asserts do not report tamper" \
	[ "$(grep -c '^tamper$' "$TMP/mon")" -eq 2 ]
check "verify after monitor loop" tool verify public=$MAC_A

# --- the netdev table: chains on A's port vm1, whatever A's MAC
wait "$MON_PID" || fail "the monitor step exits 0"
tool assert >/dev/null
check "port vm1 cut: A cannot ping B" tool assert port=vm1 -- sh "! ip netns exec $A ping -c 1 -W 1 -q $IP_B >/dev/null"
check "... no bridge table when every cut has a port" not_table bridge
check "... verify: as asserted" tool verify port=vm1
ip netns exec "$A" ip link set eth0 address 02:cd:00:00:00:aa
check "... A with another MAC still cannot ping B" no_ping_ab
ip netns exec "$A" ip link set eth0 address "$MAC_A"
check "chain out_vm1 deleted by hand: verify says different" \
	tool verify port=vm1 -- sh "nft delete chain netdev cordon out_vm1" -- sh "! $TOOL verify port=vm1 >/dev/null"
check "chain in_vm1 made again on device vm2: verify says different" \
	tool assert port=vm1 -- sh "nft delete chain netdev cordon in_vm1 && nft add chain netdev cordon in_vm1 '{ type filter hook ingress device vm2 priority -300; policy drop; }'" -- sh "! $TOOL verify port=vm1 >/dev/null"
check "an accept rule in in_vm1: verify says different" \
	tool assert port=vm1 -- sh "nft add rule netdev cordon in_vm1 accept" -- sh "! $TOOL verify port=vm1 >/dev/null"
check "a chain of someone else's in our table: verify says different" \
	tool assert port=vm1 -- sh "nft add chain netdev cordon extra" -- sh "! $TOOL verify port=vm1 >/dev/null"
check "smtp on port vm1: A pings B" tool assert port=vm1:smtp -- sh "ip netns exec $A ping -c 1 -W 1 -q $IP_B >/dev/null"
check "... verify (6 rules in in_vm1, no out_vm1)" tool verify port=vm1:smtp
check "... TCP 25 from A to B fails" no_tcp_ab 25
check "... TCP 2525 from A to B passes" tcp_ab 2525
check "port and MAC cuts in one batch: A and B cannot talk" \
	tool assert port=vm1 public=$MAC_B -- verify port=vm1 public=$MAC_B
check "lift everything: A pings B, no chain, no bridge table" \
	tool assert -- sh "ip netns exec $A ping -c 1 -W 1 -q $IP_B >/dev/null && ! nft list table netdev cordon | grep -q chain && ! nft list table bridge cordon >/dev/null 2>&1"

if [ "$FAILED" -ne 0 ]; then
	echo "--- monitor stderr"; cat "$TMP/mon.err" || true
	exit 1
fi
echo "010-nft-kernel: all checks passed"
exit 0

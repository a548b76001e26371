#!/bin/bash
# 015-link-watch: agent/link.c against the real kernel, through linkwatch.
#
# One network namespace ($CDT_PREFIX-link), never the root one, IPv6 left
# on. Checks that links added, renamed and deleted are each reported once
# with the right ifindex; that up/down, a MAC change, joining a bridge and
# leaving it are no events (the kernel also sends a bridge's and IPv6's view
# of a link, as RTM_NEWLINK / RTM_DELLINK of their own); that the name lookup
# does not find a bridge port under its name from before a rename; and that
# lost events (a minimal receive buffer, the reader paused) end in one
# "resync" and a refilled cache, with nothing stale replayed; and that
# no-op changes with lookups between them read no freed memory. linkwatch's
# stderr holds nothing from libnl (or a sanitizer).
#
# LINKWATCH overrides the binary (e.g. a sanitizer build).
set -euo pipefail
. "$(dirname "$0")/../lib.sh"
NEED_BINARIES=0 cdt_init

TOOL=${LINKWATCH:-$CDT_BUILD/tools/linkwatch}
[ -x "$TOOL" ] || fail "$TOOL is built (make)"
TOOL=$(realpath "$TOOL")
NS=$CDT_PREFIX-link

inh() { ip netns exec "$NS" "$@"; }
idx() { inh cat "/sys/class/net/$1/ifindex"; }
has_line() { grep -q "^[0-9]* $2" "$CDT_TMP/$1.out"; }

# watch NAME ARGS...: linkwatch ARGS in $NS, output $CDT_TMP/NAME.{out,err};
# returns once it has filled its cache.
watch() {
	local name=$1
	shift
	_log_register "$CDT_TMP/$name.err"
	inh "$TOOL" "$@" >"$CDT_TMP/$name.out" 2>"$CDT_TMP/$name.err" &
	WATCH=$!
	on_exit kill "$WATCH"
	wait_until 10 has_line "$name" ready || fail "linkwatch $name starts"
}

# events NAME EXPECTED: the events (timestamps stripped) are EXPECTED.
events() {
	sed 's/^[0-9]* //' "$CDT_TMP/$1.out" | grep -v '^ready$' >"$CDT_TMP/$1.got" || true
	printf '%s\n' "$2" >"$CDT_TMP/$1.want"
	diff -u "$CDT_TMP/$1.want" "$CDT_TMP/$1.got"
}

# Nothing on stderr but linkwatch's own log lines.
only_own_logs() { not grep -v '^[0-9:.]* linkwatch\[' "$CDT_TMP/$1.err"; }

ip netns add "$NS"
on_exit ip netns del "$NS"
inh ip link set lo up

# --- add, rename, delete; changes that must not count
watch events 5 va vb vc wa wc br0 lo
inh ip link add va type veth peer name vb
VA=$(idx va) VB=$(idx vb)
inh ip link add br0 type bridge
BR=$(idx br0)
inh ip link set br0 up
inh ip link set va master br0
inh ip link set vb up
inh ip link set va up
inh ip link set va down
inh ip link set va address 02:cd:00:00:01:01
inh ip link set va up
inh ip link set va nomaster
inh ip link set va master br0
# Down, then renamed: the bridge's view of the port keeps the old name.
inh ip link set va down
inh ip link set va name vc
inh ip link add wa type veth peer name wb
WA=$(idx wa) WB=$(idx wb)
inh ip link set wa name wc
inh ip link set wc address 02:cd:00:00:01:02
inh ip link del wc
wait "$WATCH" || fail "linkwatch exits with 0"

check "adds, renames (del + add) and deletes, nothing for flags, MAC, bridge" \
	events events "add vb $VB
add va $VA
add br0 $BR
del va
add vc $VA
add wb $WB
add wa $WA
del wa
add wc $WA
del wc
del wb
ifindex va 0
ifindex vb $VB
ifindex vc $VA
ifindex wa 0
ifindex wc 0
ifindex br0 $BR
ifindex lo 1"
check "nothing on stderr" test ! -s "$CDT_TMP/events.err"

# --- lost events: while the reader sleeps on a minimal buffer, a pair that
# comes and goes (what is queued of it must not come back after the refill:
# its deletion was lost), then 40 pairs
watch lost -b 1 -p 2500 4 ga gb v1a v40b late
inh ip link add ga type veth peer name gb
inh ip link del ga
for i in $(seq 40); do
	inh ip link add "v${i}a" type veth peer name "v${i}b"
done
check "40 pairs created within the reader's pause" not has_line lost resync
wait_until 10 has_line lost resync || true
inh ip link add late type veth peer name lateb
LATE=$(idx late) LATEB=$(idx lateb)
wait "$WATCH" || fail "linkwatch exits with 0 (overrun)"

check "overrun: one resync, nothing replayed, later events flow, cache refilled" \
	events lost "resync
add lateb $LATEB
add late $LATE
ifindex ga 0
ifindex gb 0
ifindex v1a $(idx v1a)
ifindex v40b $(idx v40b)
ifindex late $LATE"
check "overrun: logged" grep -q "events lost" "$CDT_TMP/lost.err"
check "overrun: nothing on stderr but linkwatch's log" only_own_logs lost

# --- no-op changes, looked up between events (as the agent does): libnl
# replaces a link's object by an identical one without telling us; names
# must not point into the freed one (a sanitizer build reported it)
watch noop -l 3 na nb
inh ip link add na type veth peer name nb
NA=$(idx na) NB=$(idx nb)
for i in 1 2 3; do
	inh ip link set na up
	inh ip link set nb up
	inh ip link set na alias same
	inh ip link set na alias same
	inh ip link set nb down
	inh ip link set nb down
	inh ip link set na down
done
wait "$WATCH" || fail "linkwatch exits with 0 (no-op changes)"
check "no-op changes: one add each, lookups right" events noop "add nb $NB
add na $NA
ifindex na $NA
ifindex nb $NB"
check "no-op changes: nothing on stderr (no sanitizer report)" test ! -s "$CDT_TMP/noop.err"
cdt_done

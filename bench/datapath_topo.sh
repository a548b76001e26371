# bench/datapath_topo.sh: sourced by the data-path benchmarks. A host
# namespace $NS-h with bridge br0 and two veth "VMs" $NS-a, $NS-b (MACs
# 02:aa:00:00:00:01 / 02:bb:00:00:00:01) on ports pa / pb, removed at exit;
# rate: 64-byte frames per second a -> b over 5 s (pktblast, b's
# rx_packets); median / spread of numbers on stdin; alternate and report:
# the side-by-side runs and their medians.
BLAST=$PWD/build/tools/pktblast
NFTTOOL=$PWD/build/tools/nfttool
[ "$(id -u)" = 0 ] || { echo "needs root"; exit 77; }
[ -x "$BLAST" ] && [ -x "$NFTTOOL" ] || { echo "make first"; exit 1; }

cleanup() { for n in $NS-h $NS-a $NS-b; do ip netns del "$n" 2>/dev/null || true; done; }
trap cleanup EXIT
for n in h a b; do ip netns add "$NS-$n"; ip -n "$NS-$n" link set lo up; done
ip -n "$NS-h" link add br0 type bridge
ip -n "$NS-h" link set br0 up
for n in a b; do
	ip -n "$NS-h" link add "p$n" type veth peer name eth0 netns "$NS-$n"
	ip -n "$NS-h" link set "p$n" master br0 up
	ip -n "$NS-$n" link set eth0 up
done
ip -n "$NS-a" link set eth0 address 02:aa:00:00:00:01
ip -n "$NS-b" link set eth0 address 02:bb:00:00:00:01
# The bridge learns b's port (else frames flood: still counted at b).
ip netns exec "$NS-b" "$BLAST" eth0 02:aa:00:00:00:01 0.2 >/dev/null

rate() {
	local before after
	before=$(ip netns exec "$NS-b" cat /sys/class/net/eth0/statistics/rx_packets)
	ip netns exec "$NS-a" "$BLAST" eth0 02:bb:00:00:00:01 5 >/dev/null
	after=$(ip netns exec "$NS-b" cat /sys/class/net/eth0/statistics/rx_packets)
	echo $(((after - before) / 5))
}
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
spread() { sort -n | awk 'NR == 1 { lo = $1 } { hi = $1 } END { print lo "-" hi }'; }

# alternate RUNS OFF ON: RUNS times, the shell command OFF then a rate into
# base[], ON then a rate into table[] (alternating: this machine drifts).
alternate() {
	local r
	base=() table=()
	for r in $(seq 1 "$1"); do
		eval "$2"
		base+=("$(rate)")
		eval "$3"
		table+=("$(rate)")
	done
}

# report LABEL: both series with median and spread, and the ratio.
report() {
	local b t
	b=$(printf '%s\n' "${base[@]}" | median)
	t=$(printf '%s\n' "${table[@]}" | median)
	echo "no table:    ${base[*]} frames/s (median $b, spread $(printf '%s\n' "${base[@]}" | spread))"
	echo "$1: ${table[*]} frames/s (median $t, spread $(printf '%s\n' "${table[@]}" | spread))"
	awk -v b="$b" -v t="$t" 'BEGIN { printf "ratio: %.1f %%\n", 100 * t / b }'
}

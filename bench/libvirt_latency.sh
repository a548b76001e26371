#!/bin/bash
# bench/libvirt_latency.sh [RUNS]: on a real QEMU (TCG) guest under a private
# libvirtd (tests/vm), through cordond and cordonctl:
#   - `cordonctl suspend --scope public` returning -> the probe's pings stop
#     (nft) and -> the NIC is gone from the live domain XML (detach);
#   - `cordonctl poweroff` returning -> the domain is shut off.
# Method: a ping every 10 ms from the harness's probe namespace (`ping -D`
# timestamps each reply); "cut" = the first expected reply that never came
# after the command returned (10 ms resolution). The XML and the domain
# state are polled every 20 ms with virsh. After each measure: restore /
# poweron and wait for the guest to answer again. p50/p99 over RUNS
# (default 10; TCG guests boot slowly, so runs are few).
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-10}
CDT_PREFIX=cdb$$
. tests/lib.sh
cdt_init

. "$CDT_ROOT/tests/libvirt.sh"
lv_test_init

G1=cdb-lv-g1 MAC1=52:54:00:41:00:01 IP1=198.18.50.10


# --- libvirt and the guest (booting while the daemons start)
lv_test_start
lv_boot_guest "$G1" "$MAC1" "$IP1"
UUID1=$(lv_virsh domuuid "$G1")
ok "libvirtd up; $G1 started"

# --- controller, management link, agent in the libvirt namespace
lv_controller_and_host "detach_timeout_ms = 3000"
lv_daemons_up
lv_guest_up "$G1" "$IP1"
ok "$G1 answers ping from the probe"


shut_off() { [ "$(lv_virsh domstate "$G1")" = "shut off" ]; }
# first_gap T0_MS FILE: ms from T0 to the first missing 10 ms reply after T0
first_gap() {
	awk -v t0="$1" '
		/icmp_seq=/ { ts = substr($1, 2, length($1) - 2) * 1000
			if (ts >= t0 && prev >= t0 && ts - prev > 30) { print int(prev - t0 + 10); found = 1; exit }
			if (ts >= t0 && prev < t0) prev = t0
			if (ts >= prev) prev = ts }
		END { if (!found) print int(prev - t0 + 10) }' "$2"
}
res=$CDT_TMP/results
: >"$res"
for r in $(seq 1 "$RUNS"); do
	lv_probe ping -D -n -i 0.01 -W 1 -w 3 "$IP1" >"$CDT_TMP/ping.$r" 2>&1 &
	ppid=$!
	sleep 0.5
	ctl suspend "$G1" --scope public >/dev/null
	now_ms; t0=$NOW_MS
	wait_until 20 not iface_live "$G1" "$MAC1" || fail "NIC detached (run $r)"
	now_ms; t_gone=$((NOW_MS - t0))
	wait "$ppid" || true
	t_ping=$(first_gap "$t0" "$CDT_TMP/ping.$r")
	ctl restore "$G1" >/dev/null
	lv_wait_ping "$IP1" 30 || fail "guest answers after restore (run $r)"
	ctl poweroff "$G1" >/dev/null
	now_ms; t0=$NOW_MS
	wait_until 60 shut_off || fail "guest shut off (run $r)"
	now_ms; t_off=$((NOW_MS - t0))
	ctl poweron "$G1" >/dev/null
	lv_wait_ping "$IP1" 120 || fail "guest answers after poweron (run $r)"
	echo "$t_ping $t_gone $t_off" >>"$res"
	echo "# run $r: probe fails ${t_ping} ms, NIC gone ${t_gone} ms, shut off ${t_off} ms"
done
for col in 1 2 3; do
	name=$(echo "probe-fails(nft) nic-gone(detach) shut-off(poweroff)" | cut -d" " -f$col)
	cut -d" " -f$col "$res" | sort -n | awk -v n="$name" '
		{ v[NR] = $1 } END {
			p99 = v[int(NR * 0.99 + 0.5)]; if (p99 == "") p99 = v[NR]
			printf "%-22s ms over %d runs: p50 %d  p99 %d  min %d  max %d\n", n, NR,
				v[int((NR + 1) / 2)], p99, v[1], v[NR] }'
done
cdt_done

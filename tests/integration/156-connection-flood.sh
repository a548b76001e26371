#!/bin/bash
# A flood of junk connections to the agents' ZeroMQ port and to the control
# socket, against a cordond whose descriptor limit is low enough that it
# really runs out (EMFILE). An operator's suspend still gets through during
# the flood (the probe fails), cordond's log stays short (no accept loop
# spinning on EMFILE, repeated lines rate-limited), the agent is never
# dropped, and once the flood ends cordond serves as before with its
# descriptors back.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"
cdt_init
HOSTILE=$CDT_ROOT/tests/tools/hostile.py
NOFILE=64
FLOOD_N=4000
FLOOD_S=20

# cordond under a hard descriptor limit (it raises its soft limit to the
# hard one, so both are set).
REAL_CORDOND=$CORDOND
CORDOND=$CDT_TMP/cordond-lowfd
printf '#!/bin/sh\nulimit -n %d || exit 1\nexec %q "$@"\n' "$NOFILE" "$REAL_CORDOND" >"$CORDOND"
chmod +x "$CORDOND"

topo_one_host 2
expect_reach vm11 public
fds_before=$(ls "/proc/$CTL_PID/fd" | wc -l)
note "cordond: $fds_before descriptors open before the flood, limit $NOFILE"
log=$CDT_TMP/ctl/cordond.log
lines_before=$(wc -l <"$log")

(ulimit -n 8192 && ip netns exec "$CTL_NS" python3 "$HOSTILE" flood-tcp "$CTL_ADDR" "$CTL_PORT" \
	"$FLOOD_N" "$FLOOD_S") >"$CDT_TMP/flood-tcp.out" 2>&1 &
TCP_PID=$!
on_exit kill "$TCP_PID"
(ulimit -n 8192 && python3 "$HOSTILE" flood-unix "$CDT_TMP/ctl/control.sock" "$FLOOD_N" \
	"$FLOOD_S") >"$CDT_TMP/flood-unix.out" 2>&1 &
UNIX_PID=$!
on_exit kill "$UNIX_PID"
sleep 5

t0=${EPOCHREALTIME//[.,]/}
vm_suspend vm11 public
t1=${EPOCHREALTIME//[.,]/}
note "cordonctl suspend during the flood took $(((t1 - t0) / 1000)) ms"
ok "cordonctl suspend vm11 works during the flood"
expect_cut vm11 public

wait "$TCP_PID" || true
wait "$UNIX_PID" || true
note "agent port flood: $(cat "$CDT_TMP/flood-tcp.out")"
note "control socket flood: $(cat "$CDT_TMP/flood-unix.out")"
lines=$(($(wc -l <"$log") - lines_before))
note "cordond log: $lines lines during the flood ($((2 * FLOOD_N)) connections in ${FLOOD_S} s)"
check "cordond's log did not spin ($lines lines during the flood, at most 300)" [ "$lines" -le 300 ]
check "repeated lines were rate-limited (\"similar messages suppressed\")" \
	q grep -q "similar messages suppressed" "$log"
out=$(grep -c "agent hv1 silent" "$log" || true)
check "cordond never declared hv1 silent (log lines: $out)" [ "$out" = 0 ]
check "cordond is still running" pid_alive "$CTL_PID"
emfile=$(grep -c "Too many open files" "$log" || true)
check "cordond really ran out of descriptors during the flood ($emfile lines say so)" \
	[ "$emfile" -ge 1 ]

# After the flood: descriptors back, every command served.
wait_until 15 eval '[ "$(ls /proc/$CTL_PID/fd | wc -l)" -le $((fds_before + 4)) ]' || true
fds_after=$(ls "/proc/$CTL_PID/fd" | wc -l)
check "cordond's descriptors are back after the flood ($fds_after, before $fds_before)" \
	[ "$fds_after" -le $((fds_before + 4)) ]
check "cordonctl status answers after the flood" q ctl status
check "cordonctl agents: hv1 connected" agent_connected hv1
vm_restore vm11
expect_reach vm11 public
vm_suspend vm12 public
expect_cut vm12 public
check "cordonctl vms: vm12 enforced" wait_until 10 vm_enforced vm12
cdt_done

#!/bin/bash
# bench/ha_failover.sh [RUNS]: failover time of two cordond on one
# PostgreSQL store, from SIGKILL of the leader to the new leader pushing
# to the agent (default 20 runs).
#
# Method: tests/ha.sh's topology (instances a and b, PostgreSQL and the host
# in namespaces of their own on one bridge), with the daemons' default
# timing: cordond lease_ms 5000, resend_ms 1000, agent_timeout_ms 5000;
# the agent's heartbeat_ms 1000 (the tests' shorter values are taken out of
# the configurations). Each run kills the acting leader with SIGKILL at t0
# ($EPOCHREALTIME) and polls every ~20 ms: "acting" when the other
# instance's `cordonctl status` says leader; "pushing" when the agent's
# status says it is connected (in sync: it took the new leader's full set)
# to the other instance's endpoint under the new term. The killed
# instance is then started again as a follower, and the next run kills
# the other one, 2 to 5 s (random) after: not in step with the follower's
# tries for the lock, every third of the lease from its start. p50 / p99 by rank over the runs (with 20 runs, p99 is the
# slowest).
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-20}
CDT_PREFIX=cdh$$
. tests/lib.sh
. tests/cases.sh
. tests/ha.sh
cdt_init
ha_topology 1
for f in "$CDT_TMP/ctl/cordond.conf" "$CDT_TMP/ctlb/cordond.conf"; do
	sed -i -e '/^resend_ms = /d' -e '/^agent_timeout_ms = /d' "$f"
done
sed -i -e 's/^heartbeat_ms = .*/heartbeat_ms = 1000/' "$CDT_TMP/hv1/agent.conf"

start_controller
start_b
start_agent hv1
wait_until 20 agent_on "$HA_A" || fail "the agent is on a"

results=$CDT_TMP/failover.txt
: >"$results"
leader=a
for run in $(seq 1 "$RUNS"); do
	other=b endpoint=$HA_B
	[ "$leader" = a ] || { other=a endpoint=$HA_A; }
	term=$(term_of "$leader")
	# Not in step with the follower's tries (every third of the lease
	# since its start): a kill at any moment of them.
	sleep "$((2 + RANDOM % 3)).$((RANDOM % 1000))"
	t0=$EPOCHREALTIME
	if [ "$leader" = a ]; then kill9_controller; else kill9_b; fi
	acting= pushing=
	while [ -z "$pushing" ]; do
		now=$EPOCHREALTIME
		if [ -z "$acting" ] && role_is "$other" leader; then acting=$now; fi
		if [ -n "$acting" ] && agent_on "$endpoint" &&
			agent_status hv1 --json | jq -e --argjson t "$term" '.controller.term > $t' >/dev/null; then
			pushing=$EPOCHREALTIME
		fi
		if (( ${now%.*} - ${t0%.*} > 60 )); then fail "run $run: no failover within 60 s"; fi
		sleep 0.02
	done
	a_ms=$(( (${acting/./} - ${t0/./}) / 1000 ))
	p_ms=$(( (${pushing/./} - ${t0/./}) / 1000 ))
	echo "$a_ms $p_ms" >>"$results"
	echo "run $run: killed $leader; $other acting after $a_ms ms, pushing to the agent after $p_ms ms"
	if [ "$leader" = a ]; then start_controller; else start_b; fi
	wait_until 20 role_is "$leader" follower "$other" || fail "run $run: $leader back as a follower"
	leader=$other
done

pct() { # COLUMN PERCENT
	sort -n -k"$1" "$results" | awk -v c="$1" -v p="$2" '{ v[NR] = $c }
		END { i = int((NR * p + 99) / 100); if (i < 1) i = 1; print v[i] }'
}
echo "failover over $RUNS runs (ms): acting p50 $(pct 1 50) p99 $(pct 1 99);" \
	"pushing to the agent p50 $(pct 2 50) p99 $(pct 2 99)"
cdt_done

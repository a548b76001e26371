#!/bin/bash
# bench/load_agents.sh [AGENTS [VMS [CUTS]]]: one controller against AGENTS
# agents (default 200) of VMS VMs each (default 100: 20,000 VMs); CUTS VMs
# (default 2,000) suspended through parallel cordonctl, restored, then
# CUTS others suspended while cordond is killed with SIGKILL and started
# again. Test 540 runs it at a tenth of the size.
#
# Method (docs/RELIABILITY.md, "Load: 200 agents"): every agent is a real
# cordon-agent with its own CURVE key enrolled in the controller and its
# own network namespace (its own nftables tables and event monitor, as on
# a real host), reaching cordond over TCP on the management bridge. Hosts
# 1..LOAD_REAL (default 3) have the bridges and probe namespaces of
# tests/lib.sh and four VM namespaces each (VMs 1, 2, 1+S/2 and 2+S/2, S
# the spacing of the cut VMs), judged by ping; every other VM is inventory
# only (no device: cut by MAC in the agent's bridge table). The CUTS VMs
# are spread evenly (VM 1, 1+S, 1+2S, ... of every host; the kill batch
# starts at 1+S/2). LOAD_P (default 50) cordonctl processes at a time,
# below the control socket's listen backlog of 64. Shipped intervals:
# resend_ms 1000, agent_timeout_ms 5000, heartbeat_ms 1000, verify_ms
# 5000. Each wait is bounded by LOAD_WAIT_S (default 600) s: this measures,
# it does not time-limit; a check that fails still fails the run.
set -euo pipefail
cd "$(dirname "$0")/.."
AGENTS=${1:-200} VMS=${2:-100} CUTS=${3:-2000}
P=${LOAD_P:-50} REAL=${LOAD_REAL:-3} WAIT_S=${LOAD_WAIT_S:-600}
CDT_PREFIX=${CDT_PREFIX:-cdl$$}
CDT_LOG_LEVEL=${CDT_LOG_LEVEL:-info}
. tests/lib.sh
cdt_init

PER_HOST=$((CUTS / AGENTS))
STEP=$((PER_HOST ? VMS / PER_HOST : 0))
HALF=$((STEP / 2))
((CUTS % AGENTS == 0 && STEP >= 4 && AGENTS >= REAL && REAL <= 24)) ||
	fail "sizes: CUTS a multiple of AGENTS, at least 4 VMs per cut VM, 1..24 real hosts"

# batch OFFSET: the names of VM OFFSET, OFFSET+STEP, ... of every host.
batch() {
	local i j
	for ((i = 1; i <= AGENTS; i++)); do
		for ((j = 0; j < PER_HOST; j++)); do echo "h${i}v$((j * STEP + $1))"; done
	done
}

# real_specs CUT-OFFSET: judge_vms specs of the real VMs, those at
# CUT-OFFSET cut ("-": none).
real_specs() {
	local i v scopes
	for ((i = 1; i <= REAL; i++)); do
		for v in 1 2 $((1 + HALF)) $((2 + HALF)); do
			scopes=-
			[ "$v" != "$1" ] || scopes=private,public
			echo "h${i}v$v=$scopes"
		done
	done
}

# -------------------------------------------------------------- topology
now_ms
setup_ms=$NOW_MS
topo_controller
ctl_keygen
write_controller_conf "resend_ms = 1000" "agent_timeout_ms = 5000"
for ((i = 1; i <= AGENTS; i++)); do
	if ((i <= REAL)); then
		topo_host "hv$i" "$i"
		for v in 1 2 $((1 + HALF)) $((2 + HALF)); do topo_vm "hv$i" "$i" "$v" "h${i}v$v"; done
	else
		topo_sim_host "hv$i" "$i"
	fi
	sim_vms "hv$i" "$VMS"
	agent_keygen "hv$i"
	enroll_agent "hv$i"
	write_agent_conf "hv$i" "hv$i" "heartbeat_ms = 1000" "verify_ms = 5000"
done
now_ms
note "topology: $AGENTS hosts ($REAL with probes), $((AGENTS * VMS)) VMs, $((NOW_MS - setup_ms)) ms"

# figure TEXT...: a result line (bench/run keeps lines not starting with #).
figure() { echo "$*"; }

# converge SECS FILTER: waits until cordonctl --json status matches
# FILTER; fails the run otherwise.
converge() {
	wait_until "$1" status_jq "$2" || fail "cordonctl status reaches $2 within $1 s: $(ctl --json status)"
}

# calls_summary LOG: "N calls, median M ms, max X ms" of a ctl_each log.
calls_summary() {
	awk '{ print $5 - $4 }' "$1" | sort -n |
		awk '{ v[NR] = $1 } END { printf "%d calls, median %d ms, max %d ms", NR, v[int((NR + 1) / 2)], v[NR] }'
}

# classes LOG: "ok N, unknown N, ..." of a ctl_each log.
classes() { awk '{ n[$2]++ } END { for (c in n) printf "%s %d, ", c, n[c] }' "$1" | sed 's/, $//'; }

# cut_now: "NAME STATE SCOPES" of every VM with scopes, sorted.
cut_now() {
	ctl --json vms | jq -r '.[] | select(.scopes != []) | "\(.name) \(.state) \(.scopes | sort | join(","))"' | sort
}

# expect_cut_exactly FILE WHAT: the VMs cut now are those named in FILE,
# each enforced on both scopes.
expect_cut_exactly() {
	local want have
	want=$(sort "$1" | sed 's/$/ enforced private,public/')
	have=$(cut_now)
	check "$2: cordonctl --json vms shows exactly these $(grep -c . "$1") VMs cut (all), enforced" \
		[ "$want" = "$have" ]
	[ "$want" = "$have" ] || diff <(echo "$want") <(echo "$have") | head -n 20 | sed 's/^/#   /'
}

# -------------------------------------------- phase 1: connect, inventories
start_controller
# cpu_since_mark: CPU_S = cordond's CPU seconds since the last call.
cpu_mark=0
cpu_since_mark() {
	local now
	now=$(proc_cpu_s "$CTL_PID")
	CPU_S=$(awk -v a="$now" -v b="$cpu_mark" 'BEGIN { printf "%.2f", a - b }')
	cpu_mark=$now
}
now_ms
t0=$NOW_MS
for ((i = 1; i <= AGENTS; i++)); do start_agent_nowait "hv$i"; done
converge "$WAIT_S" ".agents_connected == $AGENTS and .vms == $((AGENTS * VMS))"
now_ms
cpu_since_mark
check "all $AGENTS agents connected, inventories complete ($VMS VMs each)" \
	agents_jq "length == $AGENTS and all(.[]; .connected and .vms == $VMS and .inventory_complete)"
figure "phase 1: $AGENTS agents started -> all connected, $((AGENTS * VMS)) VMs in: $((NOW_MS - t0)) ms;" \
	"cordond CPU $CPU_S s"

# storm PHASE OP ENFORCED ARGS...: cordonctl OP ARGS for every VM of
# a.refs, LOAD_P at a time; every call must succeed and ENFORCED VMs end
# enforced, nothing pending. A figure line.
storm() {
	local phase=$1 op=$2 enforced=$3 log=$CDT_TMP/a-$2.log t0 t_calls
	shift 3
	now_ms
	t0=$NOW_MS
	ctl_each "$P" "$log" "$op" "$@" <"$CDT_TMP/a.refs"
	now_ms
	t_calls=$((NOW_MS - t0))
	converge "$WAIT_S" ".pending == 0 and .enforced == $enforced and .errors == 0"
	now_ms
	cpu_since_mark
	check "every one of $CUTS parallel ${op}s succeeded ($(classes "$log"))" \
		[ "$(awk '$2 == "ok"' "$log" | wc -l)" = "$CUTS" ]
	figure "phase $phase: $CUTS ${op}s, $P in parallel: $(calls_summary "$log"), all done" \
		"in $t_calls ms; all acked $((NOW_MS - t0)) ms after the first call; cordond CPU $CPU_S s"
}

# ------------------------------------------------------- phase 2: suspend
batch 1 >"$CDT_TMP/a.refs"
storm 2 suspend "$CUTS" --scope all --reason load-a
expect_cut_exactly "$CDT_TMP/a.refs" "after the suspends"
mapfile -t specs < <(real_specs 1)
judge_vms "${specs[@]}"

# ------------------------------------------------------- phase 3: restore
storm 3 restore 0
check "cordonctl --json vms shows no VM cut after the restores" [ -z "$(cut_now)" ]
mapfile -t specs < <(real_specs -)
judge_vms "${specs[@]}"
sleep 3
ctl_rss_steady=$(proc_kb "$CTL_PID" VmRSS)
ctl_hwm_first=$(proc_kb "$CTL_PID" VmHWM)
ctl_cpu_first=$(proc_cpu_s "$CTL_PID")

# ------------------------------------------ phase 4: kill -9 under load
batch $((1 + HALF)) >"$CDT_TMP/b.refs"
blog=$CDT_TMP/b-suspend.log
touch "$blog"
ctl_each "$P" "$blog" suspend --scope all --reason load-b <"$CDT_TMP/b.refs" &
bpid=$!
on_exit kill "$bpid"
check "half the kill batch's suspends done" \
	wait_until "$WAIT_S" eval '[ "$(wc -l <"$blog")" -ge $((CUTS / 2)) ]'
kill9_controller
now_ms
kill_ms=$NOW_MS
note "cordond killed with SIGKILL after $(wc -l <"$blog") of $CUTS calls"
sleep 1
cpu_mark=0
start_controller
now_ms
up_ms=$NOW_MS
converge "$WAIT_S" ".agents_connected == $AGENTS"
now_ms
t_connected=$((NOW_MS - up_ms))
wait "$bpid"
n_ok=$(awk '$2 == "ok"' "$blog" | wc -l)
converge "$WAIT_S" ".agents_connected == $AGENTS and .pending == 0 and .enforced >= $n_ok and .errors == 0"
now_ms
cpu_since_mark
figure "phase 4: cordond killed when $(awk -v k="$kill_ms" '$2 == "ok" && $5 < k' "$blog" | wc -l) of $CUTS suspends were done," \
	"down $((up_ms - kill_ms)) ms (1 s sleep + start); after its start: all agents connected in" \
	"$t_connected ms, every VM acked in $((NOW_MS - up_ms)) ms; calls: $(classes "$blog")," \
	"$(awk '$6 > 1' "$blog" | wc -l) retried after exit 3; new cordond CPU $CPU_S s"
check "every suspend of the kill batch got an answer or was retried to one ($(classes "$blog"))" \
	[ "$(awk '$2 == "ok" || $2 == "unknown"' "$blog" | wc -l)" = "$CUTS" ]
# Each accepted suspend is stored and enforced; a broken-off one may be.
awk '$2 == "ok" { print $1 }' "$blog" | sort >"$CDT_TMP/b.ok"
awk '$2 == "unknown" { print $1 }' "$blog" | sort >"$CDT_TMP/b.unknown"
cut_now >"$CDT_TMP/b.cut"
lost=$(join -v1 "$CDT_TMP/b.ok" <(awk '$2 == "enforced" && $3 == "private,public" { print $1 }' "$CDT_TMP/b.cut"))
extra=$(join -v2 <(sort -m "$CDT_TMP/b.ok" "$CDT_TMP/b.unknown") <(awk '{ print $1 }' "$CDT_TMP/b.cut"))
check "every accepted suspend ($n_ok) is stored and enforced after the restart (lost: ${lost:-none})" \
	[ -z "$lost" ]
check "no other VM is cut (${extra:-none})" [ -z "$extra" ]
audited=$(ctl --json audit | jq -r '.[] | select(.action == "suspend" and (.detail | endswith(": load-b"))) | .vm_name' | sort)
check "every accepted suspend has its audit row" [ -z "$(join -v1 "$CDT_TMP/b.ok" <(echo "$audited"))" ]
check "no suspend is audited twice" [ -z "$(uniq -d <<<"$audited")" ]
mapfile -t specs < <(real_specs $((1 + HALF)))
judge_vms "${specs[@]}"

# ------------------------------------------------------------- figures
rss=$(for h in "${!AGENT_PID[@]}"; do proc_kb "${AGENT_PID[$h]}" VmRSS; done | sort -n)
figure "cordond: RSS peak $ctl_hwm_first KiB before the kill, $(proc_kb "$CTL_PID" VmHWM) KiB after" \
	"its restart (VmHWM); steady $ctl_rss_steady KiB (after phase 3, 3 s idle); CPU $ctl_cpu_first s" \
	"over phases 1-3, $(proc_cpu_s "$CTL_PID") s after the restart"
figure "agents: RSS min $(head -n 1 <<<"$rss") KiB, median $(sed -n "$(((AGENTS + 1) / 2))p" <<<"$rss")" \
	"KiB, max $(tail -n 1 <<<"$rss") KiB ($AGENTS agents, VmRSS at the end)"
figure "commit $(git rev-parse --short HEAD 2>/dev/null || echo '?'), $(date -u +%F), $(nproc) cores," \
	"load average $(cut -d' ' -f1-3 /proc/loadavg)"
stop_agents_all
cdt_done

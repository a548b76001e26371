#!/bin/bash
# Fault: cordon-agent killed with SIGKILL in the middle of its work: at the
# netlink batch that applies a big change (16 VMs suspended or restored at
# once) and at its start assert, on both sides of the kernel taking the
# batch; then at random moments around big changes. Each time, after the
# restart the host is in the desired state: the netdev table holds exactly
# the chains (and rules) the desired state asks for, none twice, and the
# probes judge every VM.
#
# The precise kills are made with gdb: a catchpoint on the agent's main
# thread's sendto(2) of more than 200 bytes (the batch; its ruleset
# generation queries are ~20 bytes), killed at the syscall's entry (the
# state file is written, the kernel has nothing of the batch) or at its exit
# (the kernel committed the batch, the agent never read an ack).
set -euo pipefail
. "$(dirname "$0")/../lib.sh"
cdt_init
command -v gdb >/dev/null || fail "gdb is installed (scripts/install-deps.sh)"
command -v nc >/dev/null || fail "nc (netcat-openbsd) is installed"

N=16
topo_one_host $N
probe_ip=198.18.11.254
ip netns exec "${H_NS[hv1]}-public" nc -l -k "$probe_ip" 25 </dev/null >/dev/null 2>&1 &
on_exit kill "$!"

# The big change: VM i cut in scope all, public, private or smtp (i mod 4);
# the other is every VM restored.
scope_of() {
	local s=(all public private smtp)
	echo "${s[$(($1 % 4))]}"
}
# change cut|restore: one cordonctl call per VM, all 16 in parallel; every
# one must succeed (the controller is not the one at fault).
change() {
	local v pids=() rc=0
	for ((v = 1; v <= N; v++)); do
		if [ "$1" = cut ]; then
			ctl suspend "vm1$v" --scope "$(scope_of "$v")" --reason "510" >/dev/null &
		else
			ctl restore "vm1$v" >/dev/null &
		fi
		pids+=($!)
	done
	for p in "${pids[@]}"; do wait "$p" || rc=1; done
	return $rc
}
export -f change scope_of ctl
export N CDT_TMP CORDONCTL

# desired_of cut|restore: the desired scopes of each VM after the change,
# as vm_cut_specs prints them; specs: the same for judge_vms (ping passes
# an smtp cut).
desired_of() {
	local v s
	for ((v = 1; v <= N; v++)); do
		s=$(scope_of "$v")
		[ "$1" = cut ] || s=-
		[ "$s" != all ] || s=private,public
		echo "vm1$v=$s"
	done | sort
}
specs() { desired_of "$1" | sed 's/=smtp$/=-/'; }

# want_chains cut|restore: the chains the table must hold, "NAME RULES".
want_chains() {
	local v
	[ "$1" = cut ] || return 0
	for ((v = 1; v <= N; v++)); do
		case $(scope_of "$v") in
		all) printf '%s 0\n' "in_vm$v-pub" "out_vm$v-pub" "in_vm$v-priv" "out_vm$v-priv" ;;
		public) printf '%s 0\n' "in_vm$v-pub" "out_vm$v-pub" ;;
		private) printf '%s 0\n' "in_vm$v-priv" "out_vm$v-priv" ;;
		smtp) echo "in_vm$v-pub 6" ;;
		esac
	done | sort
}

# have_chains: what hv1's table holds, "NAME RULES" per chain, sorted
# (a chain listed twice would show twice).
have_chains() {
	host_nft hv1 -j list table netdev cordon | jq -r '
		[.nftables[] | .rule? // empty | .chain] as $r
		| .nftables[] | .chain? // empty | .name as $n
		| "\($n) \([$r[] | select(. == $n)] | length)"' | sort
}

tcp25() { ip netns exec "${VM_NS[$1]}" nc -z -w 2 "$probe_ip" 25 >/dev/null 2>&1; }

# converged cut|restore WHAT: the controller sees every VM acked with the
# change's scopes, the table is exactly the change's, one table of ours,
# and the probes judge (ping on both bridges; TCP 25 for the smtp VMs).
converged() {
	local want=$1 what=$2 v s t0
	now_ms
	t0=$NOW_MS
	check "$what: every VM acked by hv1 (acked = generation, not pending)" \
		wait_until 30 vms_jq 'all(.[]; .acked_generation == .generation and .state != "pending")'
	now_ms
	note "$what: acked $((NOW_MS - t0)) ms after cordonctl showed the agent connected"
	check "$what: the desired scopes are the change's" \
		eval 'diff <(desired_of "$want") <(vm_cut_specs | sort) >/dev/null'
	check "$what: hv1's table netdev cordon holds exactly the chains wanted, none twice" \
		wait_until 10 eval 'diff <(want_chains "$want") <(have_chains) >/dev/null'
	check "$what: one table of the agent's, no bridge fallback table" \
		eval '[ "$(host_nft hv1 list tables | grep -c cordon)" = 1 ] &&
		      host_nft hv1 list tables | grep -qx "table netdev cordon"'
	judge_vms $(specs "$want")
	for ((v = 1; v <= N; v++)); do
		s=$(scope_of "$v")
		[ "$s" = smtp ] || continue
		if [ "$want" = cut ]; then
			check "$what: vm1$v (smtp cut) cannot connect to port 25" wait_until 10 not tcp25 "vm1$v"
		else
			check "$what: vm1$v connects to port 25" wait_until 10 tcp25 "vm1$v"
		fi
	done
}

# gdb_kill entry|exit GDB-ARGS...: gdb (at most 60 s) with a catchpoint on
# the main thread's sendto(2) of more than 200 bytes (the batch), then
# GDB-ARGS (which let the agent run), then a second continue for exit,
# then SIGKILL. Its output in gdb.last (and gdb.log).
gdb_kill() {
	local more=()
	[ "$1" = entry ] || more=(-ex continue)
	shift
	SHELL=/bin/bash timeout 60 gdb -batch -nx -ex 'catch syscall sendto' \
		-ex 'condition 1 $_thread == 1 && $rdx > 200' "$@" "${more[@]}" \
		-ex 'printf "batch %d\n", $rdx' -ex kill >"$CDT_TMP/gdb.last" 2>&1 </dev/null || true
	cat "$CDT_TMP/gdb.last" >>"$CDT_TMP/gdb.log"
}

# killed_batch entry|exit: the size of the batch the last gdb_kill killed
# the agent at, on that side of the syscall; nothing if it did not.
killed_batch() {
	local side='call to'
	[ "$1" = entry ] || side='returned from'
	grep -q "Catchpoint 1 ($side syscall sendto)" "$CDT_TMP/gdb.last" || return 0
	grep -q '^\[Inferior 1 (process [0-9]*) killed\]' "$CDT_TMP/gdb.last" || return 0
	grep -m1 -oE '^batch [0-9]+' "$CDT_TMP/gdb.last" | cut -d' ' -f2
}

# gdb_batch_kill entry|exit CHANGE: attaches gdb to hv1's agent, makes the
# change while gdb holds it (so that it comes in as one burst), lets it go
# and kills it at its next batch.
gdb_batch_kill() {
	gdb_kill "$1" -p "${AGENT_PID[hv1]}" -ex "shell change $2" -ex continue
	kill9_agent hv1 # reaps it
}

# gdb_start_kill entry|exit: hv1's agent started under gdb, killed at its
# first batch (the start assert).
gdb_start_kill() {
	# The program is an argument, not "-ex file": gdb loads it before any
	# -ex, and the catchpoint then knows the syscall numbers of x86-64.
	ip netns exec "${H_NS[hv1]}" bash -c "$(declare -f gdb_kill); gdb_kill $1 '$CORDON_AGENT' \
		-ex 'set args -c $CDT_TMP/hv1/agent.conf --log-level $CDT_LOG_LEVEL' -ex run"
}
# A gdb that timed out leaves its agent running: ours to end.
on_exit eval 'for p in $(ip netns pids "${H_NS[hv1]}"); do kill -9 "$p"; done'

restart_agent() {
	start_agent hv1
	wait_agent_connected hv1 30
}

# --- 1. killed at the entry of the batch that cuts $N VMs
gdb_batch_kill entry cut
size=$(killed_batch entry)
check "gdb stopped the agent at a batch and killed it there (${size:-no} bytes)" [ -n "$size" ]
note "the controller stored all $N suspends; the agent died before its batch reached the kernel"
restart_agent
converged cut "killed at the entry of the cut batch, restarted"

# --- 2. killed at the exit of the batch that restores 16 VMs: the kernel
# has lifted them, the agent never read the acks nor acked the controller
gdb_batch_kill exit restore
size=$(killed_batch exit)
check "gdb killed the agent right after the kernel took its restore batch (${size:-no} bytes)" \
	[ -n "$size" ]
restart_agent
converged restore "killed at the exit of the restore batch, restarted"

# --- 3. killed at the exit of the cut batch: the cut is in the kernel
# with no agent alive; it holds, and the restart asserts it again, once
gdb_batch_kill exit cut
size=$(killed_batch exit)
check "gdb killed the agent right after the kernel took its cut batch (${size:-no} bytes)" \
	[ -n "$size" ]
check "with the agent dead the kernel holds the $N VMs' chains (the batch was taken whole)" \
	eval 'diff <(want_chains cut) <(have_chains) >/dev/null'
restart_agent
converged cut "killed at the exit of the cut batch, restarted"

# --- 4. the start assert, as after a reboot (the table gone): killed at
# its entry (nothing in the kernel: the VMs answer, as on a host whose
# agent has not run yet), then at its exit; then started with no path to
# the controller: the cut comes from the state file alone
kill9_agent hv1
host_nft hv1 delete table netdev cordon
gdb_start_kill entry
size=$(killed_batch entry)
check "the agent started under gdb, killed at the entry of its start assert (${size:-no} bytes)" \
	[ -n "$size" ]
check "no table in the kernel after that kill (the batch never reached it)" \
	not q host_nft hv1 list table netdev cordon
gdb_start_kill exit
size=$(killed_batch exit)
check "started again, killed at the exit of its start assert (${size:-no} bytes)" [ -n "$size" ]
check "the kernel holds the $N VMs' chains from the state file, none twice" \
	eval 'diff <(want_chains cut) <(have_chains) >/dev/null'
gdb_start_kill exit
size=$(killed_batch exit)
check "and once more over its own table (${size:-no} bytes): still exactly the chains wanted" \
	eval 'diff <(want_chains cut) <(have_chains) >/dev/null'
mgmt_link hv1 down
start_agent hv1
ok "agent started with its management link down"
judge_vms $(specs cut)
mgmt_link hv1 up
wait_agent_connected hv1 30
converged cut "start assert killed twice, restarted"

# --- 5. kills at random moments around big changes
for round in 1 2 3; do
	if ((round % 2)); then what=restore; else what=cut; fi
	delay=$(printf '0.%03d' $((RANDOM % 60)))
	change "$what" &
	cpid=$!
	sleep "$delay"
	kill9_agent hv1
	wait "$cpid" || fail "round $round: the $N cordonctl calls succeed"
	ok "round $round: agent killed with SIGKILL $delay s into a $what of $N VMs" \
		"($(have_chains | wc -l) of the cut's $(want_chains cut | wc -l) chains in the kernel then)"
	restart_agent
	converged "$what" "round $round"
done

cdt_done

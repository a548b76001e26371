#!/bin/bash
# Fault: cordond killed with SIGKILL in the middle of 500 suspends and
# restores sent by 10 parallel cordonctl workers over 20 VMs on two hosts,
# and started again while the workers keep going.
#
# Each worker owns two VMs, so the requests on one VM are sequential and
# its last successful one is well defined. After the restart every request
# cordonctl reported done (exit 0) is in the store: its audit row, and each
# VM's desired scopes are those of its last successful request. The only
# request allowed to be in the store without a success is the one cordond
# may have committed just before the kill without getting its answer out
# (cordonctl saw the connection close): at most one, and only such a one.
# Every VM converges, and the probes judge: cut VMs cut, the others reach.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"
cdt_init

NVMS=10    # per host
WORKERS=10 # each owns 2 VMs
OPS=50     # per worker: 500 requests
KILL_AT=200

topo_hosts 2 $NVMS
vms=()
for h in 1 2; do
	for ((v = 1; v <= NVMS; v++)); do vms+=("vm$h$v"); done
done

# request W J VM POS: one suspend or restore, logged as a line of w$W.log:
# VM OP SCOPE EXIT T0_MS T1_MS CLASS TAG. CLASS: ok (exit 0); refused
# (cordond answered no); unreachable (exit 3, cordond never got it);
# unknown (sent, then the connection broke: cordonctl says it may be done).
# On a VM: suspend (public, private, all in turn), restore, suspend, ...;
# a VM at an odd position starts with a restore (refused: nothing to lift)
# and so ends restored, the others end suspended.
scopes=(public private all)
request() {
	local w=$1 j=$2 vm=$3 pos=$4 k=$(($2 / 2)) op scope=- tag=- rc=0 msg cls t0
	if (((k + pos) % 2 == 0)); then
		op=suspend scope=${scopes[$(((k / 2 + pos) % 3))]} tag=w$w-$j
	else
		op=restore
	fi
	now_ms
	t0=$NOW_MS
	if [ $op = suspend ]; then
		msg=$(ctl suspend "$vm" --scope "$scope" --reason "$tag" 2>&1 >/dev/null) || rc=$?
	else
		msg=$(ctl restore "$vm" 2>&1 >/dev/null) || rc=$?
	fi
	now_ms
	case $rc:$msg in
	0:*) cls=ok ;;
	3:*) cls=unreachable ;;
	*"cordond may have done it"*) cls=unknown ;;
	*) cls=refused ;;
	esac
	echo "$vm $op $scope $rc $t0 $NOW_MS $cls $tag" >>"$CDT_TMP/w$w.log"
	[ "$cls" = ok ] || echo "$vm $op: exit $rc: $msg" >>"$CDT_TMP/w$w.err"
	# While cordond is down, do not burn the requests in a few ms.
	[ "$cls" != unreachable ] || sleep 0.2
}

worker() {
	local w=$1 j p
	for ((j = 0; j < OPS; j++)); do
		p=$((2 * w + j % 2))
		request "$w" "$j" "${vms[$p]}" "$p"
	done
}

requests_done() { cat "$CDT_TMP"/w*.log 2>/dev/null | wc -l; }

pids=()
for ((w = 0; w < WORKERS; w++)); do
	worker "$w" &
	pids+=($!)
done
on_exit kill "${pids[@]}"
check "$KILL_AT of $((WORKERS * OPS)) requests done (workers running)" \
	wait_until 120 eval '[ "$(requests_done)" -ge $KILL_AT ]'
now_ms
kill_ms=$NOW_MS
kill9_controller
ok "cordond killed with SIGKILL after $(requests_done) requests"
sleep 1
now_ms
start_controller
up_ms=$NOW_MS
ok "cordond started again (down $((up_ms - kill_ms)) ms) while the workers keep going"
for p in "${pids[@]}"; do wait "$p"; done
now_ms
done_ms=$NOW_MS
ok "the workers are done: $(requests_done) requests, $((done_ms - up_ms)) ms after the restart"
cat "$CDT_TMP"/w*.log >"$CDT_TMP/calls"
count() { awk -v c="$1" '$7 == c' "$CDT_TMP/calls" | wc -l; }
n_ok=$(count ok) n_refused=$(count refused) n_unreach=$(count unreachable) n_unknown=$(count unknown)
n_flight=$(awk -v k="$kill_ms" '$5 <= k && $6 >= k' "$CDT_TMP/calls" | wc -l)
note "requests: $(wc -l <"$CDT_TMP/calls") sent, $n_ok done (exit 0), $n_refused refused," \
	"$n_unreach unreachable (exit 3), $n_unknown broken off; $n_flight in flight at the kill"
check "$((WORKERS * OPS)) requests were sent" [ "$(wc -l <"$CDT_TMP/calls")" = $((WORKERS * OPS)) ]
check "requests were in flight at the kill ($n_flight)" [ "$n_flight" -gt 0 ]
check "requests were done before and after the kill" \
	eval '[ "$(awk -v k="$kill_ms" '\''$7 == "ok" && $6 < k'\'' "$CDT_TMP/calls" | wc -l)" -gt 0 ] &&
	      [ "$(awk -v k="$up_ms" '\''$7 == "ok" && $5 > k'\'' "$CDT_TMP/calls" | wc -l)" -gt 0 ]'
# The answers other than success, by kind.
sed -E 's/^[^ ]+ //; s/[0-9a-f-]{36}/UUID/; s#/[^ ]*/control.sock#SOCKET#' "$CDT_TMP"/w*.err |
	sort | uniq -c | sort -rn | sed 's/^/#   /'

# --- the audit: every successful request once, nothing lost
ctl --json audit | jq -r '.[] | select(.action == "suspend" or .action == "restore")
	| "\(.vm_name) \(.action) \(if .action == "suspend" then (.detail | sub("^[^:]*: "; "")) else "-" end)"' |
	sort >"$CDT_TMP/audited"
calls_of() { awk -v c="$1" '$7 == c { print $1, $2, $8 }' "$CDT_TMP/calls" | sort; }
calls_of ok >"$CDT_TMP/done"
calls_of unknown >"$CDT_TMP/unknown"
lost=$(comm -23 "$CDT_TMP/done" "$CDT_TMP/audited")
extra=$(comm -13 "$CDT_TMP/done" "$CDT_TMP/audited")
check "every one of the $n_ok successful requests has its audit row (lost: ${lost:-none})" [ -z "$lost" ]
check "the audit has at most one row more, from a broken-off request (${extra:-none})" \
	eval '[ "$(grep -c . <<<"$extra")" -le 1 ] && [ -z "$(comm -23 <(echo "$extra" | grep .) "$CDT_TMP/unknown")" ]'

# --- desired state: each VM's is its last successful request's
# VM LAST-RESULT [RESULTS OF BROKEN-OFF REQUESTS AFTER IT...]; a result
# is the cut scopes ("private,public") or "-".
awk '{ r = $2 == "restore" ? "-" : ($3 == "all" ? "private,public" : $3)
       if (!($1 in last)) { last[$1] = "-"; after[$1] = "" }
       if ($7 == "ok") { last[$1] = r; after[$1] = "" }
       else if ($7 == "unknown") after[$1] = after[$1] " " r }
     END { for (v in last) print v, last[v] after[v] }' "$CDT_TMP/calls" | sort >"$CDT_TMP/expected"
vm_cut_specs | sort >"$CDT_TMP/desired"
differ=0
while read -r vm want maybe; do
	have=$(awk -F= -v v="$vm" '$1 == v { print $2 }' "$CDT_TMP/desired")
	if [ "$have" = "$want" ]; then continue; fi
	differ=$((differ + 1))
	check "$vm: desired $have is a broken-off request's result (${maybe:-none after its last success $want})" \
		eval '[[ " $maybe " == *" $have "* ]]'
done <"$CDT_TMP/expected"
check "every VM's desired scopes are its last successful request's (${differ} differ, at most 1 may)" \
	[ "$differ" -le 1 ]
check "20 VMs expected" [ "$(wc -l <"$CDT_TMP/expected")" = 20 ]

# --- convergence, judged by the probes
wait_agent_connected hv1 30
wait_agent_connected hv2 30
check "every VM converges (acked = generation) after the restart" \
	wait_until 60 vms_jq 'all(.[]; .acked_generation == .generation and .state != "pending")'
now_ms
note "every VM converged $((NOW_MS - done_ms)) ms after the last request"
mapfile -t specs < <(vm_cut_specs)
note "desired at the end: ${specs[*]}"
check "some VMs end cut and some restored" \
	eval 'printf "%s\n" "${specs[@]}" | grep -q "=-$" && printf "%s\n" "${specs[@]}" | grep -qv "=-$"'
judge_vms "${specs[@]}"
check "store integrity after the kill: PRAGMA integrity_check says ok" \
	eval '[ "$(sqlite3 "$CDT_TMP/ctl/cordon.db" "PRAGMA integrity_check")" = ok ]'

cdt_done

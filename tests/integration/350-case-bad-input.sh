#!/bin/bash
# Bad input to the case, clock and policy commands: each is refused with a
# clear one-line error and a non-zero exit, and nothing changes: the cases
# (steps, notifications, calls, history), the VMs' desired state, the test
# clock and the notifier outputs are identical before and after, and the
# cut VM stays cut while the open one stays open. Malformed policy files
# are named with file:line by `policy check`, `cordond --check-config` and a
# SIGHUP reload (which keeps the loaded policies). Without --test-clock the
# clock cannot be moved.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../cases.sh"
cdt_init
# A private copy of the shipped policies, to break it later.
mkdir "$CDT_TMP/policies"
cp "$CDT_ROOT"/policies/*.policy "$CDT_TMP/policies/"
CASES_REPO_POLICIES=$CDT_TMP/policies
topo_cases 2

clock_set 2030-01-07T10:00:00Z # far ahead of the real clock: see the end
case_open --category outbound-attack --vm vm12 --contact b@example.org
idcut=$CASE_ID
case_open --category phishing --vm vm11 --contact a@example.org
idopen=$CASE_ID
case_open --category other --vm vm11 --contact a@example.org
idres=$CASE_ID
case_ok "$idres" resolve --note "closed"
check "mails for the three cases are out" \
	wait_until 10 eval 'has_mails $idcut 1 && has_mails $idopen 1 && has_mails $idres 1'
expect_cut vm12 public
check "cordonctl vms: vm12 enforced" wait_until 10 vm_enforced vm12
expect_reach vm11 public

# refused DESC RC REGEX ARGS...: cordonctl ARGS exits RC with one line on
# stderr, "cordonctl: " then something matching REGEX, and changes nothing.
refused() {
	local desc=$1 want=$2 re=$3 before after rc out err
	shift 3
	before=$(snapshot)
	set +e
	out=$(ctl "$@" 2>"$CDT_TMP/err")
	rc=$?
	set -e
	err=$(cat "$CDT_TMP/err")
	after=$(snapshot)
	if [ "$rc" != "$want" ]; then
		fail "$desc: cordonctl $* exits $want (got $rc; stdout '$out', stderr '$err')"
	elif [ "$(wc -l <<<"$err")" != 1 ] || ! grep -qE "^cordonctl: .*$re" <<<"$err"; then
		fail "$desc: cordonctl $* says one line matching /$re/ (got '$err')"
	elif [ "$before" != "$after" ]; then
		fail "$desc: cordonctl $* changes nothing ($(diff <(echo "$before") <(echo "$after") | head -n 5 | tr '\n' ' '))"
	else
		ok "$desc: exit $rc, '$err', nothing changed"
	fi
}

refused "unknown category" 1 \
	"unknown category 'nope' \(known: compromise, other, outbound-attack, phishing, spam, virus\)" \
	case open --category nope --vm vm11
refused "--vm and --ip both" 2 "usage: cordonctl case open" \
	case open --category phishing --vm vm11 --ip "${VM_PUB[vm11]}"
refused "neither --vm nor --ip" 2 "usage: cordonctl case open" case open --category phishing
refused "no --category" 2 "usage: cordonctl case open" case open --vm vm11
refused "VM not in the inventory" 1 "vm99" case open --category phishing --vm vm99
refused "IP not in the inventory" 1 "198\.18\.11\.99" case open --category phishing --ip 198.18.11.99
refused "not an IP" 1 "999\.1\.1\.1" case open --category phishing --ip 999.1.1.1
refused "bad contact" 1 "invalid contact address 'not an address'" \
	case open --category phishing --vm vm11 --contact "not an address"
refused "two contacts" 1 "invalid contact" \
	case open --category phishing --vm vm11 --contact "a@example.org, b@example.org"
refused "missing evidence file" 2 "evidence" \
	case open --category phishing --vm vm11 --evidence "$CDT_TMP/no-such-file"
refused "unknown option" 2 "" case open --category phishing --vm vm11 --colour red

refused "clock advance 2x" 1 "invalid duration '2x'" clock advance 2x
refused "clock advance 0" 1 "invalid duration '0'" clock advance 0
refused "clock advance -1h" 1 "invalid duration" clock advance -1h
refused "clock set garbage" 1 "invalid time 'garbage'" clock set garbage
refused "clock set month 13" 1 "invalid time" clock set 2026-13-01T00:00:00Z
refused "clock set 20 years ahead" 1 "10 years" clock set 2046-11-23T10:00:00Z

refused "resolve without --note" 1 "needs --note" case resolve "$idcut"
refused "resolve with an empty note" 1 "needs --note" case resolve "$idcut" --note ""
refused "resolve with a 5000-byte note" 1 "needs --note" \
	case resolve "$idcut" --note "$(head -c 5000 /dev/zero | tr '\0' x)"
refused "respond without --note" 1 "needs --note" case respond "$idopen"
refused "resume a case that is escalating" 1 "escalating already" case resume "$idopen"
refused "called without a call task" 1 "no open call task" case called "$idopen"
refused "resolve a resolved case" 1 "case $idres is resolved" case resolve "$idres" --note again
refused "respond to a resolved case" 1 "case $idres is resolved" case respond "$idres" --note late
refused "escalate a resolved case" 1 "case $idres is resolved" case escalate "$idres"
for a in "show 999" "respond 999 --note x" "resume 999" "escalate 999" "resolve 999 --note x" \
	"note 999 hello" "called 999"; do
	# shellcheck disable=SC2086
	refused "case $a: no such case" 1 "no case 999" case $a
done
refused "case show abc" 2 "'abc' is not a case id" case show abc
refused "case show 0" 2 "not a case id" case show 0
refused "case list --state bogus" 1 "unknown state 'bogus'" case list --state bogus
refused "policy show nope" 1 "no policy for category 'nope'" policy show nope
refused "audit --since garbage" 2 "invalid --since" audit --since garbage

expect_stays_cut vm12 public 1
expect_cut vm12 private
expect_reach vm11 public
check "no call hook ran" [ -z "$(ls "$CALL_DIR")" ]

# ------------------------------------------------ policies
check "cordonctl policy list: the six shipped categories" \
	q eval 'ctl --json policy list | jq -e "[.[].category] == [\"compromise\",\"other\",\"outbound-attack\",\"phishing\",\"spam\",\"virus\"]"'
out=$(ctl policy list)
check "cordonctl policy list (text) shows virus on the business clock" \
	q grep -E '^virus +business +3 ' <<<"$out"
out=$(ctl policy show phishing)
check "cordonctl policy show phishing: the ladder (notify, call at 2h, suspend 2h after the call)" \
	q eval 'grep -qx "category = phishing" <<<"$out" && grep -qE "^step 0 +notify warning" <<<"$out" &&
	        grep -qE "^step 2h +call" <<<"$out" && grep -qE "^step after call 2h +suspend public,private" <<<"$out"'
for c in spam virus outbound-attack; do
	ctl policy show "$c" >"$CDT_TMP/$c.shown.policy"
	check "the text of policy show $c passes policy check" q ctl policy check "$CDT_TMP/$c.shown.policy"
done
check "policy check on a shipped file passes" q ctl policy check "$CDT_ROOT/policies/virus.policy"

mkdir "$CDT_TMP/bad"
bad() { # NAME LINE REGEX TEXT: a malformed policy and the error it must get
	local f=$CDT_TMP/bad/$1.policy out rc
	printf '%b' "$4" >"$f"
	set +e
	out=$(ctl policy check "$f" 2>&1)
	rc=$?
	set -e
	if [ "$rc" = 0 ]; then
		fail "policy check $1.policy is refused (exit 0: $out)"
	elif [ "$(wc -l <<<"$out")" != 1 ] || ! grep -qE "^cordonctl: $f${2:+:$2}: $3" <<<"$out"; then
		fail "policy check $1.policy: one line 'cordonctl: $f${2:+:$2}: $3...' (got '$out')"
	else
		ok "policy check $1.policy: exit $rc, '$out'"
	fi
}
bad action 4 "unknown action 'explode'" 'category = x\n# comment\nstep 0 notify warning\nstep 2h explode\n'
bad offset 2 "bad offset '2q'" 'category = x\nstep 2q call\n'
bad nocategory "" "missing 'category" 'clock = wall\nstep 0 call\n'
bad clock 2 "unknown clock 'moon'" 'category = x\nclock = moon\nstep 0 call\n'
bad scope 2 "unknown scope 'moon'" 'category = x\nstep 0 suspend public,moon\n'
bad count 2 "bad report count '0'" 'category = x\nstep 0 suspend smtp when reports >= 0 within 7d\n'
bad catname 1 "bad category 'X Y'" 'category = X Y\nstep 0 call\n'
bad template 2 "bad template name" 'category = x\nstep 0 notify ../../etc/passwd\n'
bad eachwhen 2 "'each-report' cannot be combined with 'when'" 'category = x\nstep 0 notify warning each-report when reports >= 3 within 7d\n'
bad nosteps "" "no steps" 'category = x\n'
bad junk 3 "" 'category = x\nstep 0 call\nthis is not a policy line\n'
bad condition 2 "unknown condition 'sometimes'" 'category = x\nstep 0 call sometimes\n'
set +e
out=$(ctl policy check "$CDT_TMP/bad/none.policy" 2>&1)
rc=$?
set -e
check "policy check on a missing file: exit $rc, '$out'" \
	eval '[ "$rc" != 0 ] && grep -qE "^cordonctl: .*none\.policy: No such file" <<<"$out"'

# cordond --check-config and SIGHUP with a broken policy in the directory.
printf 'category = broken\nclock = wall\nstep 2q call\n' >"$CDT_TMP/policies/broken.policy"
set +e
out=$(ip netns exec "$CTL_NS" "$CORDOND" -c "$CDT_TMP/ctl/cordond.conf" --check-config 2>&1)
rc=$?
set -e
check "cordond --check-config with a broken policy fails ($rc) naming broken.policy:3" \
	eval '[ "$rc" != 0 ] && grep -qF "$CDT_TMP/policies/broken.policy:3: bad offset" <<<"$out"'
before=$(ctl --json policy list)
kill -HUP "$CTL_PID"
check "SIGHUP with a broken policy: cordond logs broken.policy:3" \
	wait_until 10 grep -qF "broken.policy:3" "$CDT_TMP/ctl/cordond.log"
check "cordond keeps running" pid_alive "$CTL_PID"
check "the loaded policies are kept (policy list unchanged)" \
	eval '[ "$(ctl --json policy list)" = "$before" ]'
refused "the broken category is not loaded" 1 "unknown category 'broken'" \
	case open --category broken --vm vm11
rm "$CDT_TMP/policies/broken.policy"

# ------------------------------------------------ no test clock in production
# Without --test-clock cordond runs on the real clock, years before the
# cases' test times above: nothing falls due by the restart.
stop_controller
start_controller
ok "cordond restarted without --test-clock"
wait_agent_connected hv1 30
refused "clock set without --test-clock" 1 "test clock is off" clock set 2026-11-23T10:00:00Z
refused "clock advance without --test-clock" 1 "test clock is off" clock advance 1h
check "cordonctl clock show: offset 0 (real time)" \
	q eval 'ctl --json clock show | jq -e ".offset == 0"'
check "cordonctl status --json: test_clock false" \
	q eval 'ctl --json status | jq -e ".test_clock == false"'
check "cordonctl status (text) does not announce a test clock" \
	not q eval 'grep -qi "test clock enabled" <<<"$(ctl status)"'
expect_stays_cut vm12 public 1
expect_reach vm11 public

# Known bug (see the report), checked last: --ip takes any VM reference, so
# a name or uuid is accepted as "the IP" and sent to the customer as such.
refused "--ip with a VM name instead of an address" 1 "vm11" \
	case open --category compromise --ip vm11
refused "--ip with a VM uuid instead of an address" 1 "${VM_UUID[vm11]}" \
	case open --category compromise --ip "${VM_UUID[vm11]}"

cdt_done

#!/bin/bash
# A PostgreSQL store that cordond must not use, and one that goes away in
# the middle of a change. A wrong port, a database that does not exist, a
# conninfo with an unknown option, a database holding other tables, one of
# a newer schema version, a read-only session: cordond does not start, the
# error names what is wrong, and the database is as it was. A PostgreSQL
# stopped (immediate) while `cordonctl case open` is inside its transaction
# (a trigger the test adds holds it there): the command fails saying the
# database was not written, no half of the case is left, and once the
# server is back cordond leads again on its own and the same command works.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../cases.sh"
. "$(dirname "$0")/../ha.sh"
cdt_init
ha_topology 1
conf_a=$CDT_TMP/ctl/cordond.conf
cp "$conf_a" "$CDT_TMP/ctl/good.conf"
PG=host=$HA_PG_ADDR

# refused DATABASE_URL PATTERN WHAT: cordond with that store exits 1 and its
# message matches PATTERN (grep -E).
refused() {
	local out rc=0
	sed "s|^database = .*|database = $1|" "$CDT_TMP/ctl/good.conf" >"$conf_a"
	out=$(ip netns exec "$CTL_NS" timeout 30 "$CORDOND" -c "$conf_a" 2>&1 </dev/null) || rc=$?
	note "$3: exit $rc: $(tail -1 <<<"$out")"
	check "$3: cordond refuses to start (exit 1)" [ "$rc" = 1 ]
	check "$3: the error names it" q grep -E "$2" <<<"$out"
}

refused "postgresql:$PG port=5433 dbname=cordon user=cordon" \
	'cannot connect to PostgreSQL: .*198\.18\.0\.5.*port 5433 failed: Connection refused' \
	"a port nothing listens on"
refused "postgresql:$PG port=5432 dbname=nope user=cordon" \
	'cannot connect to PostgreSQL: .*database "nope" does not exist' "a database that does not exist"
refused "postgresql:$PG hots=x" 'invalid connection option "hots"' "an unknown conninfo option"

pg_createdb ha other
pg_sql ha "CREATE TABLE billing (id int)" other >/dev/null
refused "postgresql:$PG port=5432 dbname=other user=cordon" \
	'holds tables but is not a cordon store' "a database with other tables"
check "... which still holds only its own table" \
	[ "$(pg_sql ha "SELECT string_agg(tablename, ',') FROM pg_tables WHERE schemaname = 'public'" other)" = billing ]

pg_createdb ha ro
pg_sql ha "ALTER DATABASE ro SET default_transaction_read_only = on" >/dev/null
refused "postgresql:$PG port=5432 dbname=ro user=cordon target_session_attrs=any" \
	'the PostgreSQL session is read-only' "a read-only session"
check "... and no table was made in it" \
	[ "$(pg_sql ha "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'" ro)" = 0 ]

# A store made by this cordond, then marked as a newer one's.
cp "$CDT_TMP/ctl/good.conf" "$conf_a"
start_controller --test-clock
stop_controller
v=$(pg_sql ha "SELECT version FROM cordon_schema" cordon)
pg_sql ha "UPDATE cordon_schema SET version = 99" cordon >/dev/null
refused "$HA_DB" "database schema version 99 is newer than this cordond \\($v\\)" \
	"a store of a newer schema version"
check "... left at version 99" [ "$(pg_sql ha "SELECT version FROM cordon_schema" cordon)" = 99 ]
pg_sql ha "UPDATE cordon_schema SET version = $v" cordon >/dev/null

# ---- PostgreSQL gone in the middle of a case open
cp "$CDT_TMP/ctl/good.conf" "$conf_a"
start_controller --test-clock
start_agent hv1
wait_vm_known vm11
pg_sql ha "CREATE FUNCTION cdt_slow() RETURNS trigger LANGUAGE plpgsql AS
	'BEGIN PERFORM pg_sleep(3); RETURN NEW; END';
	CREATE TRIGGER cdt_slow AFTER INSERT ON audit FOR EACH ROW EXECUTE FUNCTION cdt_slow()" cordon \
	>/dev/null || fail "the test's slow trigger"
cases_before=$(pg_sql ha "SELECT count(*) FROM cases" cordon)
term=$(term_of a)
out=$CDT_TMP/open.out
ctl case open --category phishing --vm vm11 --contact alice@example.org --source t \
	--evidence - <<<"x" >"$out" 2>&1 &
open_pid=$!
sleep 1
pg_stop ha
rc=0
wait "$open_pid" || rc=$?
note "case open with the server gone: exit $rc: $(cat "$out")"
check "the case open fails (exit 1)" [ "$rc" = 1 ]
check "... saying the database was not written and nothing changed" \
	q grep -E 'database not written \(.*\); nothing changed' "$out"
check "cordond is still running" pid_alive "$CTL_PID"
check "cordond logs that it lost the database session" wait_until 10 \
	q grep -F "not acting any more (was the leader of term $term): lost the database session" \
	"$CDT_TMP/ctl/cordond.log"
check "cordonctl status: not acting, database unreachable" \
	q jq -e '.controller.role == "follower" and .controller.database == "unreachable"' \
	<<<"$(ctl --json status)"

pg_restart ha "$HA_PG_NS" "$HA_PG_ADDR"
check "with the server back, cordond leads again under term $((term + 1))" wait_until 30 \
	eval 'role_is a leader a && [ "$(term_of a)" = $((term + 1)) ]'
check "no half-written case: the cases table is as before" \
	[ "$(pg_sql ha "SELECT count(*) FROM cases" cordon)" = "$cases_before" ]
check "... and no audit row of it" \
	[ "$(pg_sql ha "SELECT count(*) FROM audit WHERE action = 'open'" cordon)" = 0 ]
pg_sql ha "DROP TRIGGER cdt_slow ON audit; DROP FUNCTION cdt_slow()" cordon >/dev/null
case_open --category phishing --vm vm11 --contact alice@example.org --source t --evidence - <<<"x"
check "the same case open works now" list_jq --argjson id "$CASE_ID" 'any(.[]; .id == $id)'
cdt_done

#!/bin/bash
# cordond --migrate-store FROM TO, as an operator moves a controller's store:
# a cordond on SQLite with cases whose steps fired (a cut, a call task, a
# manual hold) is stopped, its store copied into an empty PostgreSQL
# database, and a cordond on that database shows the same cases, audit and
# VMs (cordonctl --json before and after) and opens the next case with the
# next id (the identity sequences moved past the copied ids). Back from
# PostgreSQL into a new SQLite file, the same again. Refused, exit 1 and
# the target unchanged: a PostgreSQL store a cordond leads (FROM or TO), a
# target that holds data (the message names the table), a missing FROM
# file, an unreachable PostgreSQL, a row the target refuses (named by
# table and row) and a copy that does not verify (a trigger on the target
# drops a row or changes a generation).
set -euo pipefail
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../cases.sh"
cdt_init
pg_require
command -v sqlite3 >/dev/null || fail "tool sqlite3 is installed (scripts/install-deps.sh)"

SQLITE_DB=$CDT_TMP/ctl/cordon.db
CTL_DB=$SQLITE_DB # this test chooses each store itself, whatever CDT_STORE says
topo_cases 2
pg_start mig
pg_createdb mig cordon
pg_createdb mig tamper
PG_URL="postgresql:$(pg_conninfo mig cordon)"
PG_TAMPER="postgresql:$(pg_conninfo mig tamper)"

# --------------------------------------------- a store with history, on SQLite
clock_set 2026-11-23T10:00:00Z
case_open --category phishing --vm vm11 --contact a@example.org
id1=$CASE_ID
case_open --category outbound-attack --vm vm12 --contact b@example.org
id2=$CASE_ID
expect_cut vm12 public
clock_advance 2h
check "the call step of case $id1 fires on the test clock" wait_until 10 has_calls "$id1" 1
case_ok "$id1" note "customer phoned back"
vm_suspend vm11 smtp
check "vm11 and vm12 enforced on SQLite" wait_until 10 eval 'vm_enforced vm11 && vm_enforced vm12'

# state FILE: what an operator sees, with what a restart changes by itself
# left out (when an agent last acked or was seen).
state() {
	{
		case_views
		ctl --json audit
		ctl --json vms | jq -S 'sort_by(.uuid)'
		ctl --json vm show vm12
	} 2>&1 | jq -S 'walk(if type == "object" then del(.acked_at, .last_seen, .at_host) else . end)' >"$1"
}

# settled: every mail and call hook of every case is done (the outbox works
# on after a command returns).
settled() {
	local id
	for id in $(ctl --json case list --state all | jq -r '.[].id'); do
		case_jq "$id" 'all(.notifications[]; .state == "sent") and
			all(.calls[]; .hook_state == null or .hook_state == "done")' || return 1
	done
}

# same_state NAME FILE: the state now is the one in FILE.
same_state() {
	state "$CDT_TMP/$1.json"
	if ! cmp -s "$2" "$CDT_TMP/$1.json"; then
		diff "$2" "$CDT_TMP/$1.json" | head -n 40 | sed 's/^/# /'
		return 1
	fi
}

# migrate FROM TO: cordond --migrate-store, output in OUT, status in RC.
migrate() { capture "$CORDOND" --migrate-store "$1" "$2"; }

# refused WHAT REGEX FROM TO: migrating FROM to TO exits 1 with one line
# "cordond: migrate-store: " and REGEX.
refused() {
	local re="^cordond: migrate-store: $2"
	migrate "$3" "$4"
	check "$1 is refused with exit 1 ($RC)" [ "$RC" = 1 ]
	check "saying so in one line: $OUT" \
		q eval '[ "$(wc -l <<<"$OUT")" = 1 ] && grep -qE "$re" <<<"$OUT"'
}

check "every mail and call hook done on SQLite" wait_until 10 settled
state "$CDT_TMP/before.json"
check "the snapshot holds both cases, the step events and the hold" \
	q jq -se 'length > 5' "$CDT_TMP/before.json"
stop_controller

# --------------------------------------------- SQLite -> PostgreSQL
migrate "sqlite:$SQLITE_DB" "$PG_URL"
check "migrate-store SQLite -> PostgreSQL exits 0 ($RC: $OUT)" [ "$RC" = 0 ]
check "it says what it verified" \
	q grep -qE '^verified: [0-9]+ tables, [0-9]+ rows, latest generation per VM matches' <<<"$OUT"
check "it lists the rows copied per table (cases: 2)" q grep -qE '^  cases +2$' <<<"$OUT"
check "PostgreSQL holds the 2 cases" [ "$(pg_sql mig 'SELECT count(*) FROM cases' cordon)" = 2 ]
check "the generation counter came along" \
	[ "$(pg_sql mig "SELECT value FROM meta WHERE key = 'generation'" cordon)" = \
	  "$(sqlite3 "$SQLITE_DB" "SELECT value FROM meta WHERE key = 'generation'")" ]

CTL_DB=$PG_URL
write_controller_conf "${CASES_CONF[@]}"
start_controller --test-clock
wait_agent_connected hv1
check "vm11 and vm12 enforced again, on PostgreSQL" wait_until 10 eval 'vm_enforced vm11 && vm_enforced vm12'
check "cordonctl status: the store is PostgreSQL" q eval 'ctl --json status | grep -qi postgres'
check "cordonctl on PostgreSQL shows the cases, audit and VMs as on SQLite" \
	same_state on-pg "$CDT_TMP/before.json"
expect_cut vm12 public

case_open --category spam --vm vm11 --contact c@example.org
check "a new case on PostgreSQL gets the next id ($id2 + 1 = $CASE_ID)" [ "$CASE_ID" = $((id2 + 1)) ]
check "and its audit rows are written (the audit sequence moved too)" \
	q eval "ctl --json audit --case $CASE_ID | jq -e 'length >= 1'"
check "every mail and call hook done on PostgreSQL" wait_until 10 settled
state "$CDT_TMP/pg.json"
refused "a PostgreSQL FROM that a cordond leads" 'FROM is in use: a cordond leads it' \
	"$PG_URL" "sqlite:$CDT_TMP/live.db"
check "and no TO file is created" [ ! -e "$CDT_TMP/live.db" ]
refused "a PostgreSQL TO that a cordond leads" 'TO is in use: a cordond leads it' \
	"sqlite:$SQLITE_DB" "$PG_URL"
stop_controller

# --------------------------------------------- PostgreSQL -> a new SQLite file
BACK_DB=$CDT_TMP/back/cordon.db
migrate "$PG_URL" "sqlite:$BACK_DB"
check "migrate-store PostgreSQL -> a new SQLite file exits 0 ($RC: $OUT)" [ "$RC" = 0 ]
check "it says what it verified" q grep -qE '^verified: .* latest generation per VM matches' <<<"$OUT"
CTL_DB=$BACK_DB
write_controller_conf "${CASES_CONF[@]}"
start_controller --test-clock
wait_agent_connected hv1
check "vm11 and vm12 enforced, on the SQLite copy" wait_until 10 eval 'vm_enforced vm11 && vm_enforced vm12'
check "no mail or call hook left to do on the SQLite copy" settled
check "cordonctl on the SQLite copy shows what it showed on PostgreSQL" \
	same_state back "$CDT_TMP/pg.json"
case_open --category spam --vm vm12 --contact d@example.org
check "a new case on the SQLite copy gets the next id ($id2 + 2 = $CASE_ID)" [ "$CASE_ID" = $((id2 + 2)) ]
stop_controller

# --------------------------------------------- refused
# pg_dump_of DB: its rows and sequences (without pg_dump's random \restrict key).
pg_dump_of() { "$(pg_bindir)/pg_dump" -a -d "$(pg_conninfo mig "$1")" | grep -vE '^\\(un)?restrict '; }
pg_dump_of cordon >"$CDT_TMP/pg-before.sql"
refused "a PostgreSQL target that holds data" 'TO is not empty: table [a-z_]+ holds [0-9]+ rows' \
	"sqlite:$SQLITE_DB" "$PG_URL"
pg_dump_of cordon >"$CDT_TMP/pg-after.sql"
check "the PostgreSQL target is unchanged" cmp -s "$CDT_TMP/pg-before.sql" "$CDT_TMP/pg-after.sql"

sqlite3 "$BACK_DB" .dump >"$CDT_TMP/back-before.sql"
refused "an SQLite target that holds data" 'TO is not empty: table [a-z_]+ holds' "$PG_URL" "$BACK_DB"
sqlite3 "$BACK_DB" .dump >"$CDT_TMP/back-after.sql"
check "the SQLite target is unchanged" cmp -s "$CDT_TMP/back-before.sql" "$CDT_TMP/back-after.sql"

NOPG="postgresql:host=$CDT_TMP/nopg port=5432 dbname=cordon user=cordon"
refused "a missing FROM file" 'FROM .*/none/cordon.db: No such file' \
	"$CDT_TMP/none/cordon.db" "sqlite:$CDT_TMP/new.db"
check "and no TO file is created" [ ! -e "$CDT_TMP/new.db" ]
refused "an unreachable PostgreSQL FROM" 'FROM: cannot connect to PostgreSQL: ' "$NOPG" "$CDT_TMP/new.db"
refused "an unreachable PostgreSQL TO" 'TO: cannot connect to PostgreSQL: ' "sqlite:$SQLITE_DB" "$NOPG"
capture "$CORDOND" --migrate-store "sqlite:$SQLITE_DB"
check "--migrate-store with one store is a usage error, exit 2 ($RC)" [ "$RC" = 2 ]

# A row the target refuses: text that is not UTF-8 (SQLite takes it).
cp "$SQLITE_DB" "$CDT_TMP/bad.db"
sqlite3 "$CDT_TMP/bad.db" "UPDATE cases SET evidence = CAST(X'41FF42' AS TEXT) WHERE id = $id2"
refused "a row PostgreSQL does not take" "table cases, row [0-9]+ \\(id = $id2\\): invalid byte sequence" \
	"sqlite:$CDT_TMP/bad.db" "$PG_TAMPER"
check "nothing of it is left in the target" \
	[ "$(pg_sql mig 'SELECT (SELECT count(*) FROM cases) + (SELECT count(*) FROM audit)' tamper)" = 0 ]

# A copy that does not verify: the target (now an empty store) drops an
# audit row, then changes a VM's generation, as they are inserted.
# tamper TABLE PLPGSQL: a trigger on TABLE of the database tamper runs
# PLPGSQL for each row inserted (the one trigger there).
tamper() {
	pg_sql mig "CREATE OR REPLACE FUNCTION tamper() RETURNS trigger LANGUAGE plpgsql AS
		\$\$BEGIN $2 END\$\$;
		DROP TRIGGER IF EXISTS tamper ON audit; DROP TRIGGER IF EXISTS tamper ON desired;
		CREATE TRIGGER tamper BEFORE INSERT ON $1 FOR EACH ROW EXECUTE FUNCTION tamper()" tamper
}
tamper audit 'IF NEW.id = 2 THEN RETURN NULL; END IF; RETURN NEW;'
refused "a target that loses a row" 'verification failed: table audit: [0-9]+ rows in FROM, [0-9]+ in TO' \
	"sqlite:$SQLITE_DB" "$PG_TAMPER"
tamper desired 'NEW.generation = NEW.generation - 1; RETURN NEW;'
refused "a target with another generation for a VM" \
	'verification failed: desired: VM [0-9a-f-]+: generation [0-9]+ in FROM, [0-9]+ in TO' \
	"sqlite:$SQLITE_DB" "$PG_TAMPER"
check "nothing of either copy is left in the target" \
	[ "$(pg_sql mig 'SELECT (SELECT count(*) FROM audit) + (SELECT count(*) FROM desired)' tamper)" = 0 ]

cdt_done

#!/bin/bash
# The store's unit tests (test_store, test_retention: desired state, acks,
# reads that fail, retention passes) against PostgreSQL: each test case on
# a database emptied first (CORDON_TEST_PG, tests/unit/store_fixture.h).
# The SQLite-only ones (an interrupted read, backups) are skipped there.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"
cdt_init
pg_start unit
pg_createdb unit cordon_unit
for t in test_store test_retention; do
	out=$CDT_TMP/$t.out
	rc=0
	CORDON_TEST_PG="$(pg_conninfo unit cordon_unit)" "$CDT_BUILD/tests/$t" >"$out" 2>&1 || rc=$?
	_log_register "$out"
	note "$t on PostgreSQL: $(grep -E '^\[  (PASSED|FAILED|SKIPPED) +\]' "$out" | tr '\n' ' ')"
	check "$t passes on PostgreSQL (exit $rc)" [ "$rc" = 0 ]
done
cdt_done

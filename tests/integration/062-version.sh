#!/bin/bash
# --version on the three programs: one line "NAME VERSION" (CORDON_VERSION
# in common/util.h), exit 0, and listed by --help, so an operator can tell
# which release runs on a host before upgrading it.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"
cdt_init

want=$(sed -n 's/^#define CORDON_VERSION "\(.*\)"$/\1/p' "$CDT_ROOT/common/util.h")
check "CORDON_VERSION is read from common/util.h ($want)" [ -n "$want" ]
for prog in cordond cordon-agent cordonctl cordon-sendmail; do
	bin=$CDT_BUILD/$prog
	rc=0
	out=$("$bin" --version 2>&1 </dev/null) || rc=$?
	check "$prog --version exits 0 (got $rc)" [ "$rc" = 0 ]
	check "$prog --version prints exactly '$prog $want' (got '$out')" [ "$out" = "$prog $want" ]
	help=$("$bin" --help 2>&1 </dev/null)
	check "$prog --help lists --version" q grep -qE -- '(^|[ ,])--version' <<<"$help"
done
out=$("$CORDONCTL" -V 2>&1)
check "cordonctl -V is the short form (got '$out')" [ "$out" = "cordonctl $want" ]

cdt_done

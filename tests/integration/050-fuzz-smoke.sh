#!/bin/bash
# 050-fuzz-smoke: every libFuzzer target (fuzz/fuzz_*.c) replays its seed
# corpus fuzz/corpus/NAME (the regression inputs of past findings
# included) and fuzzes from it: FUZZ_SMOKE_RUNS inputs (default 5000) each,
# mutated from a fixed seed, so the run is the same every time (a random
# run found a new bug in one CI run out of several: a finding belongs to
# `make fuzz`, not to a red `make check` by chance), within
# FUZZ_SMOKE_SECONDS (default 4) each. `make fuzz` in short. A crash, leak, sanitizer report, broken property or
# timeout fails the test; the input is left in build/fuzz/artifacts/.
#
# The grown corpus goes to a temporary directory, removed at exit: every
# run starts from the committed seeds. No root needed.
#
# Exit: 0 pass, 1 fail, 77 skip (clang or its libFuzzer runtime missing:
# scripts/install-deps.sh installs both).
set -euo pipefail
cd "$(dirname "$0")/../.."

work=$(mktemp -d "/tmp/${CDT_PREFIX:-cdt-fuzz}.XXXXXX")
trap 'rm -rf "$work"' EXIT

cc=${CLANG:-clang}
probe=$work/probe.c
echo 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n) { (void)d; return (int)n * 0; }' >"$probe"
if ! command -v "$cc" >/dev/null ||
	! "$cc" -fsanitize=fuzzer,address,undefined -o "$work/probe" "$probe" 2>"$work/probe.log"; then
	echo "# skipped: $cc with the libFuzzer runtime is not installed ($(head -c 200 "$work/probe.log" 2>/dev/null))"
	exit 77
fi

targets=$(find fuzz -maxdepth 1 -name 'fuzz_*.c' ! -name fuzz_input.c | wc -l)
echo "# $targets targets, ${FUZZ_SMOKE_RUNS:-5000} inputs (seed 1) or ${FUZZ_SMOKE_SECONDS:-4} s each"
out=$(FUZZ_SECONDS=${FUZZ_SMOKE_SECONDS:-4} FUZZ_RUNS=${FUZZ_SMOKE_RUNS:-5000} FUZZ_SEED=1 \
	FUZZ_WORK=$work CLANG=$cc fuzz/run 2>&1) || {
	echo "$out"
	echo "FAIL: a fuzz target found something (above)"
	exit 1
}
echo "$out"
ran=$(grep -c ' runs [0-9]' <<<"$out" || true)
if [ "$ran" != "$targets" ]; then
	echo "FAIL: $ran of $targets targets ran"
	exit 1
fi
echo "PASS: $ran targets, no finding"

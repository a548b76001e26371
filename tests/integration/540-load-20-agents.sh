#!/bin/bash
# Load, at a tenth of bench/load_agents.sh (whose scenario and checks this
# runs; read the method there): 20 real agents, each with its own key and
# namespace, 100 VMs each (2,000), two hosts with bridges, VM namespaces
# and probes. 200 suspends (scope all) through 20 parallel cordonctl: each
# succeeds, all 200 are enforced and acked, no other VM is cut, the probes
# judge; the same for the restores. Then 200 other suspends, cordond killed
# with SIGKILL half-way through and started again: every agent reconnects,
# every suspend cordonctl accepted is stored, audited and enforced, and
# only those (a broken-off one may be), judged by the probes again. The
# waits are generous (120 s each): this is no timing test.
set -euo pipefail
LOAD_P=${LOAD_P:-20} LOAD_REAL=2 LOAD_WAIT_S=${LOAD_WAIT_S:-120} \
	exec "$(dirname "$0")/../../bench/load_agents.sh" 20 100 200

#!/bin/bash
# Test 360-case-audit (the audit test) unchanged, on a PostgreSQL store
# (CDT_STORE=postgresql: tests/pg.sh starts a cluster of its own).
exec env CDT_STORE=postgresql bash "$(dirname "$0")/360-case-audit.sh"

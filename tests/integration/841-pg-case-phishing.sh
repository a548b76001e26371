#!/bin/bash
# Test 300-case-phishing (the ladder test) unchanged, on a PostgreSQL store
# (CDT_STORE=postgresql: tests/pg.sh starts a cluster of its own).
exec env CDT_STORE=postgresql bash "$(dirname "$0")/300-case-phishing.sh"

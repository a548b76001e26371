#!/bin/bash
# Test 330-case-union (the union test) unchanged, on a PostgreSQL store
# (CDT_STORE=postgresql: tests/pg.sh starts a cluster of its own).
exec env CDT_STORE=postgresql bash "$(dirname "$0")/330-case-union.sh"

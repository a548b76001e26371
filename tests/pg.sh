# PostgreSQL for the tests (sourced by tests/lib.sh). Each cluster is a
# new one: initdb into a directory of its own, run as the unprivileged
# user postgres (Debian's package makes it), listening on a unix socket in
# that directory and, when asked, on one TCP address of a namespace the
# test made. Stopped and removed at exit, whatever happened.
#
#   pg_start NAME [NETNS ADDR]   # cluster NAME; PG_DIR_NAME, conninfo by pg_conninfo
#   pg_conninfo NAME [DB]        # "host=<socket dir> port=5432 dbname=DB user=cordon"
#   pg_tcp_conninfo NAME ADDR [DB]
#   pg_sql NAME SQL              # psql -Atc as the cluster's superuser "cordon"
#   pg_stop NAME                 # immediate shutdown (as a crash would)

pg_bindir() {
	local d
	d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
	[ -n "$d" ] || return 1
	echo "$d"
}

# The test is skipped, not failed, where PostgreSQL is not installed.
pg_require() {
	if ! pg_bindir >/dev/null || ! id postgres >/dev/null 2>&1; then
		echo "# skipped: PostgreSQL server not installed (apt-get install postgresql)"
		exit 77
	fi
}

_pg_dir() { eval "echo \${_PG_DIR_$1}"; }

pg_start() {
	local name=$1 ns=${2:-} addr=${3:-} bin dir
	pg_require
	bin=$(pg_bindir)
	dir=$(mktemp -d "/tmp/$CDT_PREFIX-pg-$name.XXXXXX") || fail "mktemp for PostgreSQL $name"
	eval "_PG_DIR_$name=\$dir"
	on_exit rm -rf -- "$dir"
	chown postgres: "$dir" && chmod 0755 "$dir"
	runuser -u postgres -- "$bin/initdb" -D "$dir/data" -U cordon --auth=trust \
		-E UTF8 --locale=C -N >"$dir/initdb.log" 2>&1 ||
		fail "initdb for PostgreSQL $name: $(tail -3 "$dir/initdb.log")"
	# The test's own addresses only (198.18.0.0/15), replication too.
	printf 'host all all 198.18.0.0/15 trust\nhost replication all 198.18.0.0/15 trust\n' \
		>>"$dir/data/pg_hba.conf"
	_log_register "$dir/server.log"
	on_exit pg_stop "$name"
	_pg_ctl_start "$name" "$ns" "$addr"
}

# _pg_ctl_start NAME [NETNS ADDR]: starts cluster NAME's server (again).
_pg_ctl_start() {
	local name=$1 ns=${2:-} addr=${3:-} dir bin
	dir=$(_pg_dir "$name")
	bin=$(pg_bindir)
	local run=(runuser -u postgres -- "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 30
		-o "-k $dir -c listen_addresses='${addr}' -c fsync=off -c max_connections=40 ${PG_OPTS:-}")
	[ -z "$ns" ] || run=(ip netns exec "$ns" "${run[@]}")
	"${run[@]}" start >/dev/null || fail "PostgreSQL $name starts: $(tail -3 "$dir/server.log")"
}

# pg_restart NAME [NETNS ADDR]: the stopped cluster NAME up again.
pg_restart() { _pg_ctl_start "$@"; }

# pg_start_standby NAME PRIMARY NETNS ADDR: cluster NAME, a streaming
# replica of PRIMARY (reached at its TCP address PRIMARY_ADDR) made by
# pg_basebackup -R, in NETNS on ADDR. PG_PRIMARY_ADDR: the primary's address.
pg_start_standby() {
	local name=$1 primary=$2 ns=$3 addr=$4 bin dir
	bin=$(pg_bindir)
	dir=$(mktemp -d "/tmp/$CDT_PREFIX-pg-$name.XXXXXX") || fail "mktemp for PostgreSQL $name"
	eval "_PG_DIR_$name=\$dir"
	on_exit rm -rf -- "$dir"
	chown postgres: "$dir" && chmod 0755 "$dir"
	ip netns exec "$ns" runuser -u postgres -- "$bin/pg_basebackup" -h "$PG_PRIMARY_ADDR" \
		-U cordon -D "$dir/data" -R -X stream -c fast >"$dir/basebackup.log" 2>&1 ||
		fail "pg_basebackup of $primary for $name: $(tail -3 "$dir/basebackup.log")"
	_log_register "$dir/server.log"
	on_exit pg_stop "$name"
	ip netns exec "$ns" runuser -u postgres -- "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" \
		-w -t 30 -o "-k $dir -c listen_addresses='$addr' -c fsync=off -c max_connections=40" \
		start >/dev/null || fail "PostgreSQL standby $name starts: $(tail -3 "$dir/server.log")"
}

# pg_promote NAME: pg_ctl promote, waiting until it takes writes.
pg_promote() {
	local dir bin
	dir=$(_pg_dir "$1")
	bin=$(pg_bindir)
	runuser -u postgres -- "$bin/pg_ctl" -D "$dir/data" -w -t 30 promote >/dev/null ||
		fail "pg_ctl promote $1"
}

pg_conninfo() { echo "host=$(_pg_dir "$1") port=5432 dbname=${2:-cordon} user=cordon"; }
pg_tcp_conninfo() { echo "host=$2 port=5432 dbname=${3:-cordon} user=cordon"; }

pg_sql() {
	local dir
	dir=$(_pg_dir "$1")
	psql -X -q -At -h "$dir" -p 5432 -U cordon -d "${3:-postgres}" -c "$2"
}

pg_createdb() { pg_sql "$1" "CREATE DATABASE ${2:-cordon}" >/dev/null || fail "CREATE DATABASE ${2:-cordon}"; }

pg_stop() {
	local dir bin
	dir=$(_pg_dir "$1")
	bin=$(pg_bindir) || return 0
	[ -f "$dir/data/postmaster.pid" ] || return 0
	runuser -u postgres -- "$bin/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1
}

# CDT_STORE=postgresql: every test's cordond keeps its store in a cluster
# of its own (database cordon) instead of $CDT_TMP/ctl/cordon.db, unless
# the test names CTL_DB. The backend runs of the ladder tests use it.
CDT_STORE=${CDT_STORE:-sqlite}
PG_STORE_URL=
pg_store_ensure() {
	[ -z "$PG_STORE_URL" ] || return 0
	pg_start store
	pg_createdb store cordon
	PG_STORE_URL="postgresql:$(pg_conninfo store cordon)"
}

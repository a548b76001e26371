/* db.h on PostgreSQL (libpq). A statement runs when it is first stepped,
 * with every row fetched at once: the store's modules step one statement
 * while running others on the same connection, which one libpq connection
 * allows only between whole results. Parameters go as text (integers
 * typed int8, text left for the server to infer, blobs as binary bytea);
 * results come as text. */
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db_backend.h"
#include "db_pg_sql.h"
#include "log.h"
#include "util.h"

#define INT8OID 20
#define BYTEAOID 17
#define INT4OID 23
#define TEXTOID 25
#define INT2OID 21
#define BOOLOID 16
#define NUMERICOID 1700

struct db {
	struct db_head head;
	PGconn *conn;
	int64_t changes;
	uint64_t alive_ms; /* when the last statement answered was sent */
	char err[512];
};

struct pg_param {
	const char *value; /* NULL: SQL NULL */
	char *owned;       /* value, when it is ours */
	char num[24];
	int length, format;
	unsigned int type;
	bool unused;       /* bound but not in the SQL: typed text */
};

struct db_stmt {
	struct db_head head;
	struct db *db;
	char *sql;
	int nparams;
	struct pg_param *params;
	PGresult *res;
	int row, nrows;
	unsigned char *blob; /* the unescaped bytea of the last column_blob */
	size_t blob_len;
};

/* libpq's messages end in a newline; ours do not. */
static void pg_set_error(struct db *db, const char *msg)
{
	size_t n;

	snprintf(db->err, sizeof(db->err), "%s", msg && *msg ? msg : "unknown error");
	/* One line for logs and cordonctl: libpq's hints go on new lines. */
	for (char *p = db->err; (p = strpbrk(p, "\n\t")); p++)
		*p = ' ';
	n = strlen(db->err);
	while (n && (db->err[n - 1] == '\n' || db->err[n - 1] == ' '))
		db->err[--n] = '\0';
}

/* The server answered what was sent at `sent` (an error is an answer
 * too): the session was alive then (leader.c's lease). */
static void pg_note_alive(struct db *db, uint64_t sent)
{
	if (PQstatus(db->conn) == CONNECTION_OK && sent > db->alive_ms)
		db->alive_ms = sent;
}

static void pg_notice(void *arg, const char *msg)
{
	(void)arg;
	log_debug("postgresql: %s", msg);
}

static int pg_result_ok(struct db *db, PGresult *res);

/* Timeouts for the sessions opened from now on (db_pg_configure). */
static struct db_pg_session session;

void db_pg_configure(const struct db_pg_session *s)
{
	session = *s;
}

/* libpq's side: how long a connect or an unacknowledged send may take,
 * keepalives on an idle one. Before dbname: a conninfo that names one of
 * these keeps its own. target_session_attrs=read-write: the store is
 * written, so of a multi-host list the primary (or a promoted standby). */
static PGconn *pg_connect(const char *conninfo)
{
	char v[5][24];
	const char *keys[] = { "connect_timeout", "keepalives_idle", "keepalives_interval",
			       "keepalives_count", "tcp_user_timeout", "target_session_attrs",
			       "dbname", NULL };
	const char *vals[8];
	int n = 0;

	snprintf(v[0], sizeof(v[0]), "%ld", session.connect_timeout_s);
	snprintf(v[1], sizeof(v[1]), "%ld", session.keepalive_s);
	snprintf(v[2], sizeof(v[2]), "%ld", session.keepalive_s);
	snprintf(v[3], sizeof(v[3]), "%ld", session.keepalive_count);
	snprintf(v[4], sizeof(v[4]), "%ld", session.user_timeout_ms);
	for (int i = 0; i < 5; i++)
		vals[n++] = strcmp(v[i], "0") ? v[i] : NULL;
	vals[n++] = "read-write";
	vals[n++] = conninfo;
	vals[n] = NULL;
	return PQconnectdbParams(keys, vals, 1);
}

/* The server's side of the same timeouts: a backend whose client went
 * silent ends (and its advisory lock with it, leader.c) only after the
 * client has stopped acting. */
static int pg_session_setup(struct db *db)
{
	char sql[400];
	PGresult *res;
	int rc;

	snprintf(sql, sizeof(sql), "SET statement_timeout = %ld", session.statement_timeout_ms);
	if (session.keepalive_s > 0)
		snprintf(sql + strlen(sql), sizeof(sql) - strlen(sql),
			 "; SET tcp_keepalives_idle = %ld; SET tcp_keepalives_interval = %ld"
			 "; SET tcp_keepalives_count = %ld; SET tcp_user_timeout = %ld",
			 session.keepalive_s, session.keepalive_s, session.server_keepalive_count,
			 session.server_timeout_ms);
	res = PQexec(db->conn, sql);
	rc = pg_result_ok(db, res);
	PQclear(res);
	return rc;
}

static struct db *pg_open(const char *conninfo, char *err, size_t errlen)
{
	struct db *db = calloc(1, sizeof(*db));

	if (!db) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	db->head.ops = &db_pg_ops;
	db->conn = pg_connect(conninfo);
	if (!db->conn || PQstatus(db->conn) != CONNECTION_OK || pg_session_setup(db) < 0) {
		if (!db->conn || PQstatus(db->conn) != CONNECTION_OK)
			pg_set_error(db, db->conn ? PQerrorMessage(db->conn) : "out of memory");
		snprintf(err, errlen, "cannot connect to PostgreSQL: %s", db->err);
		PQfinish(db->conn);
		free(db);
		return NULL;
	}
	PQsetNoticeProcessor(db->conn, pg_notice, NULL);
	return db;
}

/* A new session on the same conninfo (a multi-host one finds the new
 * primary); statements are ours, not the server's, and survive it. */
static int pg_reconnect(struct db *db)
{
	PQreset(db->conn);
	if (PQstatus(db->conn) != CONNECTION_OK) {
		pg_set_error(db, PQerrorMessage(db->conn));
		return -1;
	}
	return pg_session_setup(db);
}

static void pg_close(struct db *db)
{
	PQfinish(db->conn);
	free(db);
}

static void *pg_handle(struct db *db)
{
	(void)db;
	return NULL;
}

static const char *pg_errmsg(struct db *db) { return db->err; }

/* Takes res: 0 if it is a success (changes noted), else -1 with the error. */
static int pg_result_ok(struct db *db, PGresult *res)
{
	ExecStatusType s = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;

	if (s == PGRES_COMMAND_OK || s == PGRES_TUPLES_OK) {
		const char *n = PQcmdTuples(res);

		if (n && *n)
			db->changes = strtoll(n, NULL, 10);
		return 0;
	}
	/* The primary message alone: the rest (LINE 1: ...) spans lines. */
	if (res && PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY))
		pg_set_error(db, PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY));
	else
		pg_set_error(db, res ? PQresultErrorMessage(res) : PQerrorMessage(db->conn));
	return -1;
}

static int pg_exec(struct db *db, const char *sql)
{
	int n, rc;
	char *pg = pg_sql_translate(sql, &n);
	PGresult *res;
	uint64_t sent;

	if (!pg) {
		pg_set_error(db, "out of memory");
		return -1;
	}
	sent = now_mono_ms();
	res = PQexec(db->conn, pg);
	pg_note_alive(db, sent);
	rc = pg_result_ok(db, res);
	PQclear(res);
	free(pg);
	return rc;
}

static bool pg_in_transaction(struct db *db)
{
	PGTransactionStatusType t = PQtransactionStatus(db->conn);

	return t == PQTRANS_INTRANS || t == PQTRANS_INERROR || t == PQTRANS_ACTIVE;
}

static int64_t pg_changes(struct db *db) { return db->changes; }

static int64_t pg_last_insert_id(struct db *db)
{
	PGresult *res = PQexec(db->conn, "SELECT lastval()");
	int64_t id = 0;

	if (pg_result_ok(db, res) == 0 && PQntuples(res) == 1)
		id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	PQclear(res);
	return id;
}

static bool pg_connected(struct db *db) { return PQstatus(db->conn) == CONNECTION_OK; }
static uint64_t pg_alive_ms(struct db *db) { return db->alive_ms; }

static struct db_stmt *pg_prepare(struct db *db, const char *sql)
{
	struct db_stmt *st = calloc(1, sizeof(*st));

	if (!st || !(st->sql = pg_sql_translate(sql, &st->nparams)) ||
	    (st->nparams && !(st->params = calloc((size_t)st->nparams, sizeof(*st->params))))) {
		pg_set_error(db, "out of memory");
		if (st)
			free(st->sql);
		free(st);
		return NULL;
	}
	st->head.ops = &db_pg_ops;
	st->db = db;
	st->row = -1;
	for (int i = 0; i < st->nparams; i++)
		st->params[i].unused = !pg_sql_param_used(st->sql, i + 1);
	return st;
}

/* The parameter idx (1-based), cleared; NULL when out of range. */
static struct pg_param *pg_param(struct db_stmt *st, int idx)
{
	struct pg_param *p;

	if (idx < 1 || idx > st->nparams) {
		pg_set_error(st->db, "bind: parameter index out of range");
		return NULL;
	}
	p = &st->params[idx - 1];
	free(p->owned);
	*p = (struct pg_param){ .unused = p->unused };
	return p;
}

static int pg_bind_text(struct db_stmt *st, int idx, const char *s, bool copy)
{
	struct pg_param *p = pg_param(st, idx);

	if (!p)
		return -1;
	if (s && copy) {
		if (!(p->owned = strdup(s)))
			return -1;
		s = p->owned;
	}
	p->value = s;
	return 0;
}

static int pg_bind_int64(struct db_stmt *st, int idx, int64_t v)
{
	struct pg_param *p = pg_param(st, idx);

	if (!p)
		return -1;
	snprintf(p->num, sizeof(p->num), "%lld", (long long)v);
	p->value = p->num;
	p->type = INT8OID;
	return 0;
}

static int pg_bind_null(struct db_stmt *st, int idx) { return pg_param(st, idx) ? 0 : -1; }

static int pg_bind_blob(struct db_stmt *st, int idx, const void *data, size_t n)
{
	struct pg_param *p = pg_param(st, idx);

	if (!p || n > 0x7fffffff)
		return -1;
	p->value = data ? data : "";
	p->length = (int)n;
	p->format = 1;
	p->type = BYTEAOID;
	return 0;
}

static int pg_bind_parameter_count(struct db_stmt *st) { return st->nparams; }

static int pg_run(struct db_stmt *st)
{
	const char *values[st->nparams ? st->nparams : 1];
	int lengths[st->nparams ? st->nparams : 1], formats[st->nparams ? st->nparams : 1];
	unsigned int types[st->nparams ? st->nparams : 1];
	uint64_t sent;

	for (int i = 0; i < st->nparams; i++) {
		values[i] = st->params[i].value;
		lengths[i] = st->params[i].length;
		formats[i] = st->params[i].format;
		types[i] = st->params[i].unused ? TEXTOID : st->params[i].type;
	}
	sent = now_mono_ms();
	st->res = PQexecParams(st->db->conn, st->sql, st->nparams, types, values, lengths,
			       formats, 0);
	pg_note_alive(st->db, sent);
	if (pg_result_ok(st->db, st->res) < 0) {
		PQclear(st->res);
		st->res = NULL;
		return DB_ERROR;
	}
	st->nrows = PQresultStatus(st->res) == PGRES_TUPLES_OK ? PQntuples(st->res) : 0;
	return DB_DONE;
}

static int pg_step(struct db_stmt *st)
{
	if (!st->res && pg_run(st) == DB_ERROR)
		return DB_ERROR;
	st->row++;
	return st->row < st->nrows ? DB_ROW : DB_DONE;
}

static bool pg_column_is_null(struct db_stmt *st, int col)
{
	return !st->res || st->row < 0 || st->row >= st->nrows || col >= PQnfields(st->res) ||
	       PQgetisnull(st->res, st->row, col);
}

static const char *pg_column_text(struct db_stmt *st, int col)
{
	return pg_column_is_null(st, col) ? NULL : PQgetvalue(st->res, st->row, col);
}

static bool pg_column_is_integer(struct db_stmt *st, int col)
{
	unsigned int t = st->res ? PQftype(st->res, col) : 0;

	return t == INT8OID || t == INT4OID || t == INT2OID || t == BOOLOID || t == NUMERICOID;
}

/* Booleans come as t/f: SQLite gives 1/0 for the same expressions. */
static int64_t pg_column_int64(struct db_stmt *st, int col)
{
	const char *v = pg_column_text(st, col);

	if (!v)
		return 0;
	if (v[0] == 't' && !v[1])
		return 1;
	if (v[0] == 'f' && !v[1])
		return 0;
	return strtoll(v, NULL, 10);
}

static const void *pg_column_blob(struct db_stmt *st, int col)
{
	const char *v = pg_column_text(st, col);

	PQfreemem(st->blob);
	st->blob = NULL;
	st->blob_len = 0;
	if (!v)
		return NULL;
	st->blob = PQunescapeBytea((const unsigned char *)v, &st->blob_len);
	return st->blob;
}

/* After column_blob, as sqlite3_column_bytes is called. */
static size_t pg_column_bytes(struct db_stmt *st, int col)
{
	if (!st->blob)
		pg_column_blob(st, col);
	return st->blob_len;
}

static void pg_reset(struct db_stmt *st)
{
	PQclear(st->res);
	st->res = NULL;
	st->row = -1;
	st->nrows = 0;
	PQfreemem(st->blob);
	st->blob = NULL;
	st->blob_len = 0;
}

static void pg_clear_bindings(struct db_stmt *st)
{
	for (int i = 0; i < st->nparams; i++) {
		free(st->params[i].owned);
		st->params[i] = (struct pg_param){ .unused = st->params[i].unused };
	}
}

static void pg_finalize(struct db_stmt *st)
{
	pg_reset(st);
	pg_clear_bindings(st);
	free(st->params);
	free(st->sql);
	free(st);
}

const struct db_ops db_pg_ops = {
	.open = pg_open,
	.close = pg_close,
	.handle = pg_handle,
	.errmsg = pg_errmsg,
	.exec = pg_exec,
	.in_transaction = pg_in_transaction,
	.changes = pg_changes,
	.last_insert_id = pg_last_insert_id,
	.connected = pg_connected,
	.reconnect = pg_reconnect,
	.alive_ms = pg_alive_ms,
	.prepare = pg_prepare,
	.bind_text = pg_bind_text,
	.bind_int64 = pg_bind_int64,
	.bind_null = pg_bind_null,
	.bind_blob = pg_bind_blob,
	.bind_parameter_count = pg_bind_parameter_count,
	.step = pg_step,
	.column_int64 = pg_column_int64,
	.column_text = pg_column_text,
	.column_is_null = pg_column_is_null,
	.column_is_integer = pg_column_is_integer,
	.column_blob = pg_column_blob,
	.column_bytes = pg_column_bytes,
	.reset = pg_reset,
	.clear_bindings = pg_clear_bindings,
	.finalize = pg_finalize,
};

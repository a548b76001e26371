#include "vm_hosts.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "desired.h"
#include "log.h"
#include "mac.h"
#include "util.h"

/* A cached statement with ?1 = uuid and ?2 = host bound; NULL logged. */
static struct db_stmt *pair_stmt(struct store *store, const char *sql, const char *uuid,
			       const char *host)
{
	struct db_stmt *st = store_cached(store, sql);

	if (st) {
		db_bind_text(st, 1, uuid);
		db_bind_text(st, 2, host);
	}
	return st;
}

int vm_hosts_add(struct store *store, const char *uuid, const char *host,
		 const char *state)
{
	static const char probe[] = "SELECT state FROM vm_hosts WHERE uuid = ? AND host_id = ?";
	static const char upsert[] =
		"INSERT INTO vm_hosts (uuid, host_id, state, since) VALUES (?1, ?2, ?3, ?4)"
		" ON CONFLICT (uuid, host_id) DO UPDATE SET state = ?3";
	struct db_stmt *st = pair_stmt(store, probe, uuid, host);
	bool listed = false, same = false;
	int rc;

	if (!st)
		return -1;
	rc = store_step(store, st);
	if (rc == 1) {
		const char *s = (const char *)db_column_text(st, 0);
		listed = true;
		same = s && strcmp(s, state) == 0;
	}
	db_reset(st);
	if (rc < 0)
		return -1;
	if (same)
		return 0; /* the common case at a big host's hello: no write */
	st = pair_stmt(store, upsert, uuid, host);
	if (!st)
		return -1;
	db_bind_text(st, 3, state);
	db_bind_int64(st, 4, store_now());
	if (store_run(store, st) < 0)
		return -1;
	return listed ? 0 : 1;
}

/* The uuids host lists that are not in `listed`, collected before any
 * is deleted (a statement must not read a table it is changing). An
 * anti-join on listed's key: PostgreSQL runs NOT IN over a subquery too
 * large for work_mem as a scan per row (100k VMs: beyond the statement
 * timeout). */
static int unlisted_collect(struct store *store, const char *host, char (**out)[65],
			    size_t *n)
{
	struct db_stmt *st = store_prepare(store,
		"SELECT uuid FROM vm_hosts h WHERE host_id = ? AND NOT EXISTS"
		" (SELECT 1 FROM listed l WHERE l.uuid = h.uuid)");
	size_t cap = 0;
	int rc;

	*out = NULL;
	*n = 0;
	if (!st)
		return -1;
	db_bind_text(st, 1, host);
	while ((rc = store_step(store, st)) == 1) {
		if (*n == cap) {
			char (*v)[65] = realloc(*out, (cap ? cap * 2 : 16) * sizeof(**out));
			if (!v) {
				rc = -1;
				break;
			}
			*out = v;
			cap = cap ? cap * 2 : 16;
		}
		strlcpy_checked((*out)[(*n)++], (const char *)db_column_text(st, 0), 65);
	}
	db_finalize(st);
	return rc;
}

static int drop_one(struct store *store, const char *uuid, const char *host)
{
	static const char *const sql[] = {
		"DELETE FROM vm_hosts WHERE uuid = ? AND host_id = ?",
		"DELETE FROM acks WHERE uuid = ? AND host_id = ?",
	};

	for (size_t i = 0; i < 2; i++) {
		struct db_stmt *st = pair_stmt(store, sql[i], uuid, host);
		if (!st || store_run(store, st) < 0)
			return -1;
	}
	return 0;
}

int vm_hosts_drop_unlisted(struct store *store, const char *host,
			   int (*fn)(struct store *store, const char *uuid, void *arg),
			   void *arg)
{
	char (*gone)[65];
	size_t n;
	int rc = unlisted_collect(store, host, &gone, &n);

	for (size_t i = 0; rc == 0 && i < n; i++)
		if (drop_one(store, gone[i], host) < 0 || fn(store, gone[i], arg) < 0)
			rc = -1;
	free(gone);
	return rc;
}

int vm_hosts_foreach(struct store *store, const char *uuid,
		     void (*fn)(const char *host, void *arg), void *arg)
{
	static const char sql[] = "SELECT host_id FROM vm_hosts WHERE uuid = ? ORDER BY host_id";
	struct db_stmt *st = store_cached(store, sql);
	int rc;

	if (!st)
		return -1;
	db_bind_text(st, 1, uuid);
	while ((rc = store_step(store, st)) == 1)
		fn((const char *)db_column_text(st, 0), arg);
	db_reset(st);
	return rc;
}

int vm_hosts_pick_shown(struct store *store, const char *uuid, char host[65])
{
	static const char sql[] =
		"SELECT host_id FROM vm_hosts WHERE uuid = ?"
		" ORDER BY coalesce(state, '') = 'running' DESC, since DESC, host_id LIMIT 1";
	struct db_stmt *st = store_cached(store, sql);
	int rc;

	host[0] = '\0';
	if (!st)
		return -1;
	db_bind_text(st, 1, uuid);
	rc = store_step(store, st);
	if (rc == 1)
		strlcpy_checked(host, (const char *)db_column_text(st, 0), 65);
	db_reset(st);
	return rc < 0 ? -1 : 0;
}

/* What an ack is checked against, in one read (100k acks at once). */
struct ack_target {
	struct desired_row row;
	bool listed;                /* by the acking host */
	int n_hosts;
};

static int ack_target_read(struct store *store, const char *host, const char *uuid,
			   struct ack_target *t)
{
	static const char sql[] =
		"SELECT generation, scopes, power_off,"
		" EXISTS (SELECT 1 FROM vm_hosts WHERE uuid = ?1 AND host_id = ?2),"
		" (SELECT count(*) FROM vm_hosts WHERE uuid = ?1)"
		" FROM desired WHERE vm_uuid = ?1";
	struct db_stmt *st = pair_stmt(store, sql, uuid, host);
	int rc;

	memset(t, 0, sizeof(*t));
	if (!st)
		return -1;
	rc = store_step(store, st);
	if (rc == 1) {
		t->row.generation = (uint64_t)db_column_int64(st, 0);
		t->row.scopes = (uint32_t)db_column_int64(st, 1);
		t->row.power_off = db_column_int(st, 2) != 0;
		t->listed = db_column_int(st, 3) != 0;
		t->n_hosts = db_column_int(st, 4);
	}
	db_reset(st);
	return rc < 0 ? -1 : 0;
}

/* 1 acceptable, 0 refused (logged), -1 error. */
static int ack_acceptable(const char *host, const Cordon__VmState *s, const struct ack_target *t)
{
	if (!t->listed) {
		log_debug("ack of VM %s from %s, which does not list it: ignored", s->uuid, host);
		return 0;
	}
	if (s->generation > t->row.generation) {
		log_warnx("agent %s acked generation %llu of VM %s; the controller is at %llu: "
			  "ignored", host, (unsigned long long)s->generation, s->uuid,
			  (unsigned long long)t->row.generation);
		return 0;
	}
	if (s->generation == t->row.generation &&
	    (s->scopes != t->row.scopes || s->power_off != t->row.power_off)) {
		/* One that says why (an older agent given a scope it does not
		 * know cuts every scope it knows) is heard: its error shows
		 * the VM in state "error", never "enforced". */
		if (s->error && s->error[0]) {
			log_warnx("agent %s acked generation %llu of VM %s with scopes 0x%x, not "
				  "0x%x: %s", host, (unsigned long long)s->generation, s->uuid,
				  s->scopes, t->row.scopes, s->error);
			return 1;
		}
		log_warnx("agent %s acked generation %llu of VM %s with scopes 0x%x%s, but it "
			  "must be 0x%x%s: not counted as enforced", host,
			  (unsigned long long)s->generation, s->uuid, s->scopes,
			  s->power_off ? " and power off" : "", t->row.scopes,
			  t->row.power_off ? " and power off" : "");
		return 0;
	}
	return 1;
}

static void bind_error(struct db_stmt *st, int col, const char *error)
{
	if (error && error[0])
		db_bind_text(st, col, error);
	else
		db_bind_null(st, col);
}

/* The VM's only host acked: the summary is this ack (acks_summarize's
 * result, without reading it back). */
static int summary_is_ack(struct store *store, const char *host, const Cordon__VmState *s)
{
	static const char sql[] =
		"UPDATE desired SET acked_generation = ?3, acked_at = ?4, acked_host = ?2,"
		" mechanisms = ?5, error = ?6 WHERE vm_uuid = ?1";
	struct db_stmt *st = pair_stmt(store, sql, s->uuid, host);

	if (!st)
		return -1;
	db_bind_int64(st, 3, (int64_t)s->generation);
	db_bind_int64(st, 4, store_now());
	db_bind_text(st, 5, s->mechanisms);
	bind_error(st, 6, s->error);
	return store_run(store, st);
}

int acks_record(struct store *store, const char *host, const Cordon__VmState *s)
{
	static const char sql[] =
		"INSERT INTO acks (uuid, host_id, generation, scopes, power_off, mechanisms,"
		" error, at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"
		" ON CONFLICT (uuid, host_id) DO UPDATE SET generation = ?3, scopes = ?4,"
		" power_off = ?5, mechanisms = ?6, error = ?7, at = ?8 WHERE acks.generation <= ?3";
	struct ack_target t;
	struct db_stmt *st;
	int ok;

	if (ack_target_read(store, host, s->uuid, &t) < 0)
		return -1;
	if ((ok = ack_acceptable(host, s, &t)) <= 0)
		return ok;
	st = pair_stmt(store, sql, s->uuid, host);
	if (!st)
		return -1;
	db_bind_int64(st, 3, (int64_t)s->generation);
	db_bind_int64(st, 4, s->scopes);
	db_bind_int64(st, 5, s->power_off);
	db_bind_text(st, 6, s->mechanisms);
	bind_error(st, 7, s->error);
	db_bind_int64(st, 8, store_now());
	if (store_run(store, st) < 0)
		return -1;
	if (store_changes(store) == 0)
		return 0; /* older than what this host acked before */
	return t.n_hosts == 1 ? summary_is_ack(store, host, s) : acks_summarize(store, s->uuid);
}

struct summary {
	uint64_t gen;
	size_t n;
	int64_t at;
	bool same_mech;
	char first_mech[96], first_err[256], mech[512], err[1024], acked_by[512];
};

static void append(char *buf, size_t len, const char *sep, const char *host,
		   const char *text)
{
	size_t n = strlen(buf);

	snprintf(buf + n, len - n, "%s%s%s%s", n ? sep : "", host ? host : "",
		 host ? ": " : "", text);
}

static void summary_add(struct summary *s, struct db_stmt *st)
{
	const char *host = (const char *)db_column_text(st, 0);
	bool acked = !db_column_is_null(st, 1);
	uint64_t gen = acked ? (uint64_t)db_column_int64(st, 1) : 0;
	const char *mech = acked ? (const char *)db_column_text(st, 2) : NULL;
	const char *err = (const char *)db_column_text(st, 3);

	if (s->n++ == 0 || gen < s->gen)
		s->gen = gen;
	if (!acked)
		return;
	if (db_column_int64(st, 4) > s->at)
		s->at = db_column_int64(st, 4);
	append(s->acked_by, sizeof(s->acked_by), ",", NULL, host);
	if (!s->first_mech[0])
		strlcpy_checked(s->first_mech, mech ? mech : "", sizeof(s->first_mech));
	s->same_mech &= strcmp(s->first_mech, mech ? mech : "") == 0;
	append(s->mech, sizeof(s->mech), "; ", host, mech ? mech : "");
	if (err && !s->first_err[0])
		strlcpy_checked(s->first_err, err, sizeof(s->first_err));
	if (err)
		append(s->err, sizeof(s->err), "; ", host, err);
}

static int summary_read(struct store *store, const char *uuid, struct summary *s)
{
	static const char sql[] =
		"SELECT h.host_id, a.generation, a.mechanisms, a.error, a.at FROM vm_hosts h"
		" LEFT JOIN acks a ON a.uuid = h.uuid AND a.host_id = h.host_id"
		" WHERE h.uuid = ? ORDER BY h.host_id";
	struct db_stmt *st = store_cached(store, sql);
	int rc;

	memset(s, 0, sizeof(*s));
	s->same_mech = true;
	if (!st)
		return -1;
	db_bind_text(st, 1, uuid);
	while ((rc = store_step(store, st)) == 1)
		summary_add(s, st);
	db_reset(st);
	return rc;
}

int acks_summarize(struct store *store, const char *uuid)
{
	static const char sql[] =
		"UPDATE desired SET acked_generation = ?1, acked_at = ?2, acked_host = ?3,"
		" mechanisms = ?4, error = ?5 WHERE vm_uuid = ?6";
	struct summary s;
	struct db_stmt *st;

	if (summary_read(store, uuid, &s) < 0)
		return -1;
	if (s.n == 0)
		return 0; /* on no host: the last acks stay, as history */
	st = store_cached(store, sql);
	if (!st)
		return -1;
	db_bind_int64(st, 1, (int64_t)s.gen);
	db_bind_int64(st, 2, s.at);
	db_bind_text(st, 3, s.acked_by);
	if (s.acked_by[0])
		db_bind_text(st, 4, s.n == 1 || s.same_mech ? s.first_mech : s.mech);
	else
		db_bind_null(st, 4);
	/* One host: its error as it said it; several: each prefixed. */
	if (s.err[0])
		db_bind_text(st, 5, s.n == 1 ? s.first_err : s.err);
	else
		db_bind_null(st, 5);
	db_bind_text(st, 6, uuid);
	return store_run(store, st);
}

static json_t *host_json(struct db_stmt *st)
{
	bool acked = !db_column_is_null(st, 2);

	return json_pack("{s:s, s:s?, s:I, s:s?, s:s?, s:o}",
		"host", (const char *)db_column_text(st, 0),
		"vm_state", (const char *)db_column_text(st, 1),
		"acked_generation", (json_int_t)(acked ? db_column_int64(st, 2) : 0),
		"mechanisms", acked ? (const char *)db_column_text(st, 3) : NULL,
		"error", (const char *)db_column_text(st, 4),
		"acked_at", acked ? json_integer(db_column_int64(st, 5)) : json_null());
}

json_t *vm_hosts_json(struct store *store, const char *uuid)
{
	static const char sql[] =
		"SELECT h.host_id, h.state, a.generation, a.mechanisms, a.error, a.at"
		" FROM vm_hosts h LEFT JOIN acks a ON a.uuid = h.uuid AND a.host_id = h.host_id"
		" WHERE h.uuid = ? ORDER BY h.host_id";
	struct db_stmt *st = store_cached(store, sql);
	json_t *arr = json_array();
	int rc;

	if (!st || !arr) {
		json_decref(arr);
		return NULL;
	}
	db_bind_text(st, 1, uuid);
	while ((rc = store_step(store, st)) == 1)
		json_array_append_new(arr, host_json(st));
	db_reset(st);
	if (rc < 0) {
		json_decref(arr);
		return NULL;
	}
	return arr;
}

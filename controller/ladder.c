#include "ladder.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cordond.h"
#include "log.h"
#include "policy.h"
#include "util.h"

/* Parsed ladders by id. A region has a handful (one per policy text ever
 * loaded that a case still follows), so a linear search is enough even
 * when the scheduler asks once per step it fires. */
struct ladder_entry {
	int64_t id;
	struct policy *p;
};

struct ladders {
	struct ladder_entry *v;
	size_t n, cap;
};

void ladder_hash(const char *text, char out[17])
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (const unsigned char *s = (const unsigned char *)text; *s; s++) {
		h ^= *s;
		h *= 0x100000001b3ull;
	}
	snprintf(out, 17, "%016llx", (unsigned long long)h);
}

/* The canonical ladder text of p (the caller frees it); NULL when out of
 * memory. */
static char *ladder_text(const struct policy *p)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	int rc;

	if (!f)
		return NULL;
	rc = policy_format_ladder(p, f);
	if (fclose(f) != 0 || rc < 0) {
		free(text);
		return NULL;
	}
	return text;
}

/* One id from a statement that yields at most one row: the id, 0 when
 * there is none, -1 on a store error. Resets st. */
static int64_t one_id(struct cordond *d, struct db_stmt *st)
{
	int rc = store_step(d->store, st); /* logs an error */
	int64_t id = rc == 1 ? db_column_int64(st, 0) : rc;

	db_reset(st);
	return id;
}

/* The row holding this ladder (the text decides; the hash only narrows
 * the search), inserted if it is new. 0 with *id, or -1. */
static int ladder_record(struct cordond *d, const struct policy *p, int64_t *id)
{
	static const char find[] = "SELECT id FROM ladders WHERE category = ? AND hash = ? AND text = ?";
	static const char add[] = "INSERT INTO ladders (category, hash, text, created) VALUES (?,?,?,?)";
	char *text = ladder_text(p), hash[17];
	struct db_stmt *st = store_cached(d->store, find);

	*id = -1;
	if (!text || !st) {
		free(text);
		return -1;
	}
	ladder_hash(text, hash);
	db_bind_text(st, 1, policy_category(p));
	db_bind_text(st, 2, hash);
	db_bind_text(st, 3, text);
	*id = one_id(d, st);
	if (*id == 0 && (st = store_cached(d->store, add))) {
		db_bind_text(st, 1, policy_category(p));
		db_bind_text(st, 2, hash);
		db_bind_text(st, 3, text);
		db_bind_int64(st, 4, store_now());
		*id = store_run(d->store, st) < 0 ? -1 : store_last_insert_id(d->store);
	}
	free(text);
	return *id > 0 ? 0 : -1;
}

/* Runs sql with ?1 = a, ?2 = b and ?3 = c (text, as far as sql has
 * them): the few statements of a load. -1 on error. */
static int run3(struct cordond *d, const char *sql, int64_t a, const char *b, const char *c)
{
	struct db_stmt *st = store_prepare(d->store, sql);
	int n = st ? db_bind_parameter_count(st) : 0;

	if (!st)
		return -1;
	if (db_bind_int64(st, 1, a) != 0 ||
	    (n >= 2 && db_bind_text(st, 2, b) != 0) ||
	    (n >= 3 && db_bind_text(st, 3, c) != 0)) {
		db_finalize(st);
		return -1;
	}
	return store_exec_stmt(d->store, st);
}

/* Open cases without a ladder come from a store older than ladders: they
 * adopt the policy loaded now for their category, which is the best there
 * is (the one their steps were planned from, unless it changed before the
 * upgrade). Each adoption is in the case's audit trail. */
static int ladder_adopt(struct cordond *d, const struct policy *p, int64_t id)
{
	static const char audit[] =
		"INSERT INTO audit (at, uid, action, vm_uuid, detail, case_id)"
		" SELECT ?1, NULL, 'ladder', vm_uuid, ?2, id FROM cases"
		" WHERE ladder_id IS NULL AND resolved IS NULL AND category = ?3";
	static const char bind[] =
		"UPDATE cases SET ladder_id = ?1 WHERE ladder_id IS NULL AND resolved IS NULL"
		" AND category = ?3";
	char detail[256];
	int n;

	snprintf(detail, sizeof(detail), "ladder #%lld adopted: the case is older than the ladders "
		 "cordond keeps; it follows the %s policy loaded now", (long long)id, policy_category(p));
	if (run3(d, audit, store_now(), detail, policy_category(p)) < 0 ||
	    run3(d, bind, id, NULL, policy_category(p)) < 0)
		return -1;
	n = store_changes(d->store);
	if (n > 0)
		log_info("%d open %s case(s) from before ladders were kept adopt ladder #%lld "
			 "(the policy loaded now)", n, policy_category(p), (long long)id);
	return 0;
}

static int load_all(struct cordond *d, const struct policy_set *set)
{
	int64_t id;

	if (store_exec(d->store, "UPDATE ladders SET current = 0 WHERE current <> 0") < 0)
		return -1;
	for (size_t i = 0; set && i < policy_set_count(set); i++) {
		const struct policy *p = policy_set_at(set, i);
		if (ladder_record(d, p, &id) < 0 ||
		    run3(d, "UPDATE ladders SET current = 1 WHERE id = ?1", id, NULL, NULL) < 0 ||
		    ladder_adopt(d, p, id) < 0)
			return -1;
	}
	return 0;
}

int ladders_load(struct cordond *d, const struct policy_set *set, char *err, size_t errlen)
{
	int64_t old;

	if (store_begin(d->store) < 0 || load_all(d, set) < 0 || store_commit(d->store) < 0) {
		store_rollback(d->store);
		snprintf(err, errlen, "cannot record the policies' ladders in the store");
		return -1;
	}
	old = ladders_old_count(d);
	if (old > 0)
		log_info("%lld open case(s) follow an older ladder than their category's policy and keep "
			 "it (cordonctl case show ID; cordonctl case replan ID applies the current one)",
			 (long long)old);
	return 0;
}

int64_t ladder_current(struct cordond *d, const char *category)
{
	static const char sql[] = "SELECT id FROM ladders WHERE category = ? AND current <> 0";
	struct db_stmt *st = store_cached(d->store, sql);

	if (!st)
		return -1;
	db_bind_text(st, 1, category);
	return one_id(d, st);
}

int64_t ladders_old_count(struct cordond *d)
{
	/* Two counts on the partial index of open cases by ladder: only the
	 * ladders that are not current are probed, never every open case
	 * (left to itself the planner walks the 1M open cases of cases_open:
	 * 0.1 s a `cordonctl status`). */
	static const char sql[] =
		"SELECT (SELECT count(*) FROM cases INDEXED BY cases_ladder WHERE resolved IS NULL"
		" AND ladder_id IN"
		" (SELECT id FROM ladders WHERE current = 0))"
		" + (SELECT count(*) FROM cases WHERE resolved IS NULL AND ladder_id IS NULL)";
	struct db_stmt *st = store_cached(d->store, sql);

	return st ? one_id(d, st) : -1;
}

static struct policy *ladder_parse(struct cordond *d, int64_t id, char *err, size_t errlen)
{
	static const char sql[] = "SELECT text FROM ladders WHERE id = ?";
	struct db_stmt *st = store_cached(d->store, sql);
	struct policy *p = NULL;
	char name[40];
	int rc;

	snprintf(name, sizeof(name), "ladder #%lld", (long long)id);
	if (!st) {
		snprintf(err, errlen, "store error reading %s", name);
		return NULL;
	}
	db_bind_int64(st, 1, id);
	rc = db_step(st);
	if (rc == DB_ROW)
		p = policy_parse(name, (const char *)db_column_text(st, 0), err, errlen);
	else if (rc == DB_DONE)
		snprintf(err, errlen, "%s is not in the store", name);
	else
		snprintf(err, errlen, "store error reading %s: %s", name,
			 store_errmsg(d->store));
	db_reset(st);
	return p;
}

static int cache_add(struct cordond *d, int64_t id, struct policy *p)
{
	struct ladders *c = d->ladders;

	if (!c && !(c = d->ladders = calloc(1, sizeof(*c))))
		return -1;
	if (c->n == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 8;
		struct ladder_entry *v = realloc(c->v, cap * sizeof(*v));
		if (!v)
			return -1;
		c->v = v;
		c->cap = cap;
	}
	c->v[c->n++] = (struct ladder_entry){ id, p };
	return 0;
}

const struct policy *ladder_get(struct cordond *d, int64_t id, char *err, size_t errlen)
{
	struct ladders *c = d->ladders;
	struct policy *p;

	if (id <= 0) {
		snprintf(err, errlen, "the case follows no ladder yet (it is older than the ladders "
			 "cordond keeps, and no policy of its category was loaded since)");
		return NULL;
	}
	for (size_t i = 0; c && i < c->n; i++)
		if (c->v[i].id == id)
			return c->v[i].p;
	p = ladder_parse(d, id, err, errlen);
	if (p && cache_add(d, id, p) < 0) {
		snprintf(err, errlen, "out of memory");
		policy_free(p);
		return NULL;
	}
	return p;
}

void ladder_step_text(struct cordond *d, int64_t id, int64_t step, char *buf, size_t len)
{
	char err[256];
	const struct policy *p = ladder_get(d, id, err, sizeof(err));
	const struct policy_step *s = p && step >= 0 ? policy_step(p, (size_t)step) : NULL;

	if (s)
		policy_step_describe(s, buf, len);
	else
		snprintf(buf, len, "step %lld", (long long)step + 1);
}

void ladders_free(struct cordond *d)
{
	struct ladders *c = d->ladders;

	if (!c)
		return;
	for (size_t i = 0; i < c->n; i++)
		policy_free(c->v[i].p);
	free(c->v);
	free(c);
	d->ladders = NULL;
}

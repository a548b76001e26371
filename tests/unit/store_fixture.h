/* A store on a fresh SQLite file in its own temporary directory, for the
 * cmocka tests of the controller's store: store_fixture_setup and
 * store_fixture_teardown as a test's setup and teardown (*state is the
 * struct fixture). Include after cmocka.h.
 *
 * CORDON_TEST_PG=CONNINFO: the same tests on PostgreSQL instead, each on
 * that database emptied first (its public schema dropped and made again:
 * give it a database of its own). store_fixture_pg() says which. */
#ifndef CORDON_TEST_STORE_FIXTURE_H
#define CORDON_TEST_STORE_FIXTURE_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store.h"

struct fixture {
	char dir[64];
	char db[128];
	struct store *store;
};

static inline const char *store_fixture_pg(void)
{
	const char *pg = getenv("CORDON_TEST_PG");
	return pg && *pg ? pg : NULL;
}

/* The store's URL: a new SQLite file, or the emptied PostgreSQL database. */
static inline void store_fixture_url(struct fixture *f, char *url, size_t len)
{
	const char *pg = store_fixture_pg();
	char err[256] = "";
	struct db *db;

	if (!pg) {
		snprintf(url, len, "%s", f->db);
		return;
	}
	db = db_open(DB_POSTGRESQL, pg, err, sizeof(err));
	if (!db)
		fail_msg("CORDON_TEST_PG: %s", err);
	assert_int_equal(db_exec(db, "DROP SCHEMA public CASCADE; CREATE SCHEMA public"), 0);
	db_close(db);
	snprintf(url, len, "postgresql:%s", pg);
}

static inline int store_fixture_setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	char err[256] = "", url[1200];

	assert_non_null(f);
	strcpy(f->dir, "/tmp/cordon-test-store.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->db, sizeof(f->db), "%s/cordon.db", f->dir);
	store_fixture_url(f, url, sizeof(url));
	f->store = store_open(url, err, sizeof(err));
	if (!f->store)
		fail_msg("store_open %s: %s", url, err);
	*state = f;
	return 0;
}

static inline int store_fixture_teardown(void **state)
{
	struct fixture *f = *state;
	char cmd[128];

	store_close(f->store);
	snprintf(cmd, sizeof(cmd), "rm -rf -- '%s'", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

#endif

/* A store on a fresh SQLite file in its own temporary directory, for the
 * cmocka tests of the controller's store: store_fixture_setup and
 * store_fixture_teardown as a test's setup and teardown (*state is the
 * struct fixture). Include after cmocka.h. */
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

static inline int store_fixture_setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	char err[256] = "";

	assert_non_null(f);
	strcpy(f->dir, "/tmp/cordon-test-store.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->db, sizeof(f->db), "%s/cordon.db", f->dir);
	f->store = store_open(f->db, err, sizeof(err));
	assert_non_null(f->store);
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

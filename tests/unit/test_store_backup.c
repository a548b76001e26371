/* Backups of the controller's store: a checked copy under the name asked
 * for, never over an existing file unless forced, nothing left behind on
 * failure; the copy written before a schema migration. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store.h"
#include "store_backup.h"

#include "store_fixture.h"

/* A store with one audit row. */
static int setup(void **state)
{
	struct fixture *f;

	store_fixture_setup(state);
	f = *state;
	assert_int_equal(store_audit(f->store, 0, "test", NULL, "before the backup"), 0);
	return 0;
}

#define teardown store_fixture_teardown

static int count_audit(const char *path)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	int n = -1;

	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT count(*) FROM audit", -1, &st, NULL),
			 SQLITE_OK);
	if (sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return n;
}

static int files_in(const char *dir, const char *prefix)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	assert_non_null(d);
	while ((e = readdir(d)))
		n += strncmp(e->d_name, prefix, strlen(prefix)) == 0;
	closedir(d);
	return n;
}

static void test_backup_copies_and_refuses_overwrite(void **state)
{
	struct fixture *f = *state;
	struct backup_result r = { 0 };
	char dest[160], err[512] = "";

	snprintf(dest, sizeof(dest), "%s/copy.db", f->dir);
	assert_int_equal(store_backup_to(store_sqlite(f->store), dest, 0, &r, err, sizeof(err)), 0);
	assert_true(r.bytes > 0);
	assert_true(r.schema_version > 0);
	assert_int_equal(count_audit(dest), count_audit(f->db));
	/* a second one is refused, the first copy untouched */
	assert_int_equal(store_audit(f->store, 0, "test", NULL, "after"), 0);
	assert_int_equal(store_backup_to(store_sqlite(f->store), dest, 0, &r, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "exists"));
	assert_int_equal(count_audit(dest) + 1, count_audit(f->db));
	/* --force replaces it */
	assert_int_equal(store_backup_to(store_sqlite(f->store), dest, 1, &r, err, sizeof(err)), 0);
	assert_int_equal(count_audit(dest), count_audit(f->db));
	assert_int_equal(files_in(f->dir, "copy.db.tmp"), 0);
}

static void test_backup_unwritable_leaves_nothing(void **state)
{
	struct fixture *f = *state;
	struct backup_result r = { 0 };
	char dest[160], err[512] = "";

	snprintf(dest, sizeof(dest), "%s/no-such-dir/copy.db", f->dir);
	assert_int_equal(store_backup_to(store_sqlite(f->store), dest, 0, &r, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "no-such-dir"));
}

static void test_backup_before_migrate(void **state)
{
	struct fixture *f = *state;
	char err[512] = "";

	assert_int_equal(store_backup_before_migrate(store_sqlite(f->store), 3, 4, err, sizeof(err)),
			 0);
	assert_int_equal(files_in(f->dir, "cordon.db.pre-v4-"), 1);
}

static void test_new_store_needs_no_backup(void **state)
{
	struct fixture *f = *state;
	char path[160], err[512] = "";
	sqlite3 *db = NULL;

	(void)f;
	snprintf(path, sizeof(path), "%s/empty.db", f->dir);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(store_backup_before_migrate(db, 0, 4, err, sizeof(err)), 0);
	sqlite3_close(db);
	assert_int_equal(files_in(f->dir, "empty.db.pre-"), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_backup_copies_and_refuses_overwrite, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_backup_unwritable_leaves_nothing, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_backup_before_migrate, setup, teardown),
		cmocka_unit_test_setup_teardown(test_new_store_needs_no_backup, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

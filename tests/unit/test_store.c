/* The controller's store on a real SQLite file: which hosts get a VM's
 * desired state, what counts as its ack, and that a read that fails part
 * way fails the whole operation. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "desired.h"
#include "../../controller/inventory.h" /* not the agent's: -Iagent comes first */
#include "vm_hosts.h"

#define U1 "c0d0c0d0-0000-4000-8000-000001000001"

#include "store_fixture.h"

#define setup store_fixture_setup
#define teardown store_fixture_teardown

/* host lists the VMs uuids[0..n) (complete or not). */
static void host_lists(struct store *s, const char *host, const char *const *uuids, size_t n,
		       bool complete)
{
	Cordon__Vm vms[8], *pv[8];

	assert_true(n <= 8);
	for (size_t i = 0; i < n; i++) {
		cordon__vm__init(&vms[i]);
		vms[i].uuid = (char *)uuids[i];
		vms[i].name = (char *)"vm";
		vms[i].state = (char *)"running";
		pv[i] = &vms[i];
	}
	assert_int_equal(store_begin(s), 0);
	assert_int_equal(inventory_host_seen(s, host, "test"), 0);
	assert_int_equal(inventory_replace_host(s, host, pv, n, complete), 0);
	assert_int_equal(store_commit(s), 0);
}

static uint64_t cut(struct store *s, const char *uuid, uint32_t scopes)
{
	struct desired_row row;

	assert_int_equal(store_begin(s), 0);
	assert_int_equal(desired_set_hold(s, uuid, HOLD_SCOPES, scopes, "test", 0), 0);
	assert_int_equal(desired_recompute(s, uuid, &row), 0);
	assert_int_equal(store_commit(s), 0);
	return row.generation;
}

static void ack(struct store *s, const char *host, const char *uuid, uint64_t gen,
		uint32_t scopes, const char *error)
{
	Cordon__VmState st = CORDON__VM_STATE__INIT;

	st.uuid = (char *)uuid;
	st.generation = gen;
	st.scopes = scopes;
	st.mechanisms = (char *)"nft";
	st.error = (char *)(error ? error : "");
	assert_int_equal(store_begin(s), 0);
	assert_int_equal(acks_record(s, host, &st), 0);
	assert_int_equal(store_commit(s), 0);
}

static const char *state_of(struct store *s, const char *uuid)
{
	static char buf[32];
	json_t *o = json_object();

	assert_int_equal(desired_add_json(s, uuid, o), 0);
	snprintf(buf, sizeof(buf), "%s", json_string_value(json_object_get(o, "state")));
	json_decref(o);
	return buf;
}

static const char *shown_host(struct store *s, const char *uuid, char out[65])
{
	json_t *vm = inventory_vm_json(s, uuid, 0);

	assert_non_null(vm);
	snprintf(out, 65, "%s", json_string_value(json_object_get(vm, "host")) ?: "");
	json_decref(vm);
	return out;
}

/* How many times host lists uuid in the store (0 or 1). */
static int listings(struct store *s, const char *uuid, const char *host)
{
	struct db_stmt *st = store_prepare(s, "SELECT count(*) FROM vm_hosts WHERE uuid = ? AND host_id = ?");
	int n;

	assert_non_null(st);
	db_bind_text(st, 1, uuid);
	db_bind_text(st, 2, host);
	assert_int_equal(db_step(st), DB_ROW);
	n = db_column_int(st, 0);
	db_finalize(st);
	return n;
}

struct count {
	size_t n;
	struct store *interrupt_at_store;
	size_t interrupt_at;
};

static void count_row(const struct desired_row *row, void *arg)
{
	struct count *c = arg;

	(void)row;
	if (++c->n == c->interrupt_at)
		sqlite3_interrupt(store_sqlite(c->interrupt_at_store));
}

static size_t rows_for(struct store *s, const char *host, enum desired_select sel)
{
	struct count c = { 0 };

	assert_int_equal(desired_foreach_host(s, host, sel, 0, count_row, &c), 0);
	return c.n;
}

/* An ack of the current generation that says other scopes than desired
 * is not counted: the VM stays pending (and is resent). */
static void test_ack_content_checked(void **state)
{
	struct fixture *f = *state;
	const char *u[] = { U1 };
	uint64_t g;

	host_lists(f->store, "hv1", u, 1, true);
	g = cut(f->store, U1, 3);
	ack(f->store, "hv1", U1, g, 0, NULL);
	assert_string_equal(state_of(f->store, U1), "pending");
	assert_int_equal(rows_for(f->store, "hv1", DESIRED_UNACKED), 1);
	ack(f->store, "hv1", U1, g + 5, 3, NULL); /* never sent */
	assert_string_equal(state_of(f->store, U1), "pending");
	ack(f->store, "hv1", U1, g, 3, NULL);
	assert_string_equal(state_of(f->store, U1), "enforced");
	assert_int_equal(rows_for(f->store, "hv1", DESIRED_UNACKED), 0);
}

static void test_ack_error_not_enforced(void **state)
{
	struct fixture *f = *state;
	const char *u[] = { U1 };
	uint64_t g;

	host_lists(f->store, "hv1", u, 1, true);
	g = cut(f->store, U1, 1);
	ack(f->store, "hv1", U1, g, 1, "nftables batch failed");
	assert_string_equal(state_of(f->store, U1), "error");
	ack(f->store, "hv1", U1, g, 1, NULL);
	assert_string_equal(state_of(f->store, U1), "enforced");
}

/* hv2 starts listing a VM cut and acked on hv1: hv2 gets it too, and it is
 * pending until hv2 acks; hv1 keeps it until its own list drops it. */
static void test_second_host_gets_it_and_resets_ack(void **state)
{
	struct fixture *f = *state;
	const char *u[] = { U1 };
	char shown[65];
	uint64_t g;

	host_lists(f->store, "hv1", u, 1, true);
	g = cut(f->store, U1, 3);
	ack(f->store, "hv1", U1, g, 3, NULL);
	host_lists(f->store, "hv2", u, 1, true);
	assert_string_equal(state_of(f->store, U1), "pending");
	assert_int_equal(rows_for(f->store, "hv1", DESIRED_ALL), 1);
	assert_int_equal(rows_for(f->store, "hv2", DESIRED_ALL), 1);
	assert_int_equal(rows_for(f->store, "hv1", DESIRED_UNACKED), 0);
	assert_int_equal(rows_for(f->store, "hv2", DESIRED_UNACKED), 1);
	assert_string_equal(shown_host(f->store, U1, shown), "hv1"); /* not taken over */
	ack(f->store, "hv2", U1, g, 3, NULL);
	assert_string_equal(state_of(f->store, U1), "enforced");
	host_lists(f->store, "hv1", NULL, 0, true);
	assert_int_equal(rows_for(f->store, "hv1", DESIRED_ALL), 0);
	assert_int_equal(rows_for(f->store, "hv2", DESIRED_ALL), 1);
	assert_string_equal(state_of(f->store, U1), "enforced");
	assert_string_equal(shown_host(f->store, U1, shown), "hv2");
	/* Back on hv1 (moved back): its old ack is gone, pending again. */
	host_lists(f->store, "hv1", u, 1, true);
	assert_string_equal(state_of(f->store, U1), "pending");
}

static void test_incomplete_inventory_unlists_nothing(void **state)
{
	struct fixture *f = *state;
	const char *u[] = { U1 };

	host_lists(f->store, "hv1", u, 1, true);
	cut(f->store, U1, 3);
	host_lists(f->store, "hv1", NULL, 0, false);
	assert_int_equal(rows_for(f->store, "hv1", DESIRED_ALL), 1);
	assert_int_equal(listings(f->store, U1, "hv1"), 1);
	host_lists(f->store, "hv1", NULL, 0, true);
	assert_int_equal(rows_for(f->store, "hv1", DESIRED_ALL), 0);
}

/* A read interrupted half way (as a busy or failing disk would end it) is
 * an error, not a shorter set: nothing must be sent from it. */
static void test_read_error_fails_whole_set(void **state)
{
	struct fixture *f = *state;
	char uuids[8][65];
	const char *u[8];
	struct count c = { .interrupt_at_store = f->store, .interrupt_at = 3 };

	if (store_fixture_pg())
		skip(); /* sqlite3_interrupt: 833 stops a PostgreSQL mid-transaction */

	for (int i = 0; i < 8; i++) {
		snprintf(uuids[i], sizeof(uuids[i]), "c0d0c0d0-0000-4000-8000-0000010000%02d", i);
		u[i] = uuids[i];
	}
	host_lists(f->store, "hv1", u, 8, true);
	for (int i = 0; i < 8; i++)
		cut(f->store, u[i], 1);
	assert_int_equal(rows_for(f->store, "hv1", DESIRED_ALL), 8);
	assert_int_equal(desired_foreach_host(f->store, "hv1", DESIRED_ALL, 0, count_row, &c), -1);
	assert_int_equal(c.n, 3);
	assert_int_equal(rows_for(f->store, "hv1", DESIRED_ALL), 8); /* and it recovers */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_ack_content_checked, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ack_error_not_enforced, setup, teardown),
		cmocka_unit_test_setup_teardown(test_second_host_gets_it_and_resets_ack, setup, teardown),
		cmocka_unit_test_setup_teardown(test_incomplete_inventory_unlists_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_read_error_fails_whole_set, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* Unit tests for agent/state.c: the agent's persisted enforcement state
 * round-trips, a bad file is refused with a reason and no half-loaded
 * state, and a failed save leaves neither a temporary file nor a damaged
 * previous file behind. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "state.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define ERRLEN 256

struct tdir {
	char dir[64];
	char path[128]; /* dir/state.json */
	char tmp[128];  /* dir/state.json.tmp */
};

static int setup(void **state)
{
	struct tdir *t = calloc(1, sizeof(*t));

	if (!t)
		return -1;
	snprintf(t->dir, sizeof(t->dir), "/tmp/test_state.XXXXXX");
	if (!mkdtemp(t->dir)) {
		free(t);
		return -1;
	}
	snprintf(t->path, sizeof(t->path), "%s/state.json", t->dir);
	snprintf(t->tmp, sizeof(t->tmp), "%s/state.json.tmp", t->dir);
	*state = t;
	return 0;
}

static int teardown(void **state)
{
	struct tdir *t = *state;

	/* Whatever a test left; rmdir fails loudly if something else is. */
	chmod(t->dir, 0700);
	unlink(t->path);
	rmdir(t->path);
	unlink(t->tmp);
	rmdir(t->tmp);
	if (rmdir(t->dir) < 0) {
		fprintf(stderr, "teardown: %s not empty\n", t->dir);
		return -1;
	}
	free(t);
	return 0;
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
}

static char *read_file(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf;
	long len;

	assert_non_null(f);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	len = ftell(f);
	assert_true(len >= 0);
	rewind(f);
	buf = malloc((size_t)len + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)len, f), (size_t)len);
	buf[len] = '\0';
	fclose(f);
	return buf;
}

static void add_mac(struct vm_enforced *vm, int scope, const char *text)
{
	struct mac m;

	assert_int_equal(mac_parse(text, &m), 0);
	assert_int_equal(mac_list_add(&vm->macs[scope], &m), 0);
}

/* Three VMs: every scope, an empty one, extreme generations. MACs are
 * given sorted, as the agent keeps them. */
static void build_sample(struct agent_state *st)
{
	struct vm_enforced *vm;

	*st = (struct agent_state){ 0 };
	vm = state_upsert(st, "0b0e4c1a-0000-4000-8000-000000000001");
	assert_non_null(vm);
	vm->generation = 12;
	vm->scopes = SCOPE_PUBLIC | SCOPE_SMTP;
	add_mac(vm, 0, "52:54:00:01:01:01");
	add_mac(vm, 0, "52:54:00:01:01:02");
	add_mac(vm, 2, "52:54:00:01:01:01");
	vm = state_upsert(st, "vm-2");
	assert_non_null(vm);
	vm->generation = INT64_MAX;
	vm->scopes = SCOPE_ALL;
	vm->power_off = true;
	add_mac(vm, 1, "02:00:00:00:00:07");
	vm = state_upsert(st, "VM3");
	assert_non_null(vm);
}

static void assert_state_eq(const struct agent_state *a,
			    const struct agent_state *b)
{
	assert_int_equal(a->n, b->n);
	for (size_t i = 0; i < a->n; i++) {
		const struct vm_enforced *x = &a->vms[i], *y = &b->vms[i];

		assert_string_equal(x->uuid, y->uuid);
		assert_true(x->generation == y->generation);
		assert_int_equal(x->scopes, y->scopes);
		assert_int_equal(x->power_off, y->power_off);
		for (int s = 0; s < SCOPE_COUNT; s++) {
			assert_int_equal(x->macs[s].n, y->macs[s].n);
			for (size_t k = 0; k < x->macs[s].n; k++)
				assert_int_equal(mac_cmp(&x->macs[s].v[k],
							 &y->macs[s].v[k]), 0);
		}
	}
}

static void assert_empty(const struct agent_state *st)
{
	assert_int_equal(st->n, 0);
	assert_null(st->vms);
}

static void test_roundtrip(void **state)
{
	struct tdir *t = *state;
	struct agent_state st, back;
	char err[ERRLEN] = "";
	struct stat sb;

	build_sample(&st);
	assert_int_equal(state_save(t->path, &st), 0);
	assert_int_equal(access(t->tmp, F_OK), -1);
	assert_int_equal(stat(t->path, &sb), 0);
	assert_int_equal(sb.st_mode & 07777, 0600);
	memset(&back, 0xa5, sizeof(back)); /* *out may be uninitialised */
	if (state_load(t->path, &back, err, sizeof(err)) != 0)
		fail_msg("load: %s", err);
	assert_state_eq(&st, &back);
	/* Saving again over an existing file replaces it. */
	state_remove(&st, "vm-2");
	assert_int_equal(state_save(t->path, &st), 0);
	state_clear(&back);
	assert_int_equal(state_load(t->path, &back, err, sizeof(err)), 0);
	assert_state_eq(&st, &back);
	state_clear(&back);
	state_clear(&st);
}

/* A tmp left by a crash, with a wider mode, is overwritten and the
 * result is still 0600. */
static void test_stale_tmp(void **state)
{
	struct tdir *t = *state;
	struct agent_state st;
	struct stat sb;
	int fd;

	fd = open(t->tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(fchmod(fd, 0644), 0);
	assert_int_equal(write(fd, "{\"torn", 6), 6);
	assert_int_equal(close(fd), 0);
	build_sample(&st);
	assert_int_equal(state_save(t->path, &st), 0);
	assert_int_equal(access(t->tmp, F_OK), -1);
	assert_int_equal(stat(t->path, &sb), 0);
	assert_int_equal(sb.st_mode & 07777, 0600);
	state_clear(&st);
}

static void test_format(void **state)
{
	struct tdir *t = *state;
	struct agent_state st = { 0 };
	struct vm_enforced *vm;
	char *text;

	vm = state_upsert(&st, "a1");
	assert_non_null(vm);
	vm->generation = 3;
	vm->scopes = SCOPE_PRIVATE;
	add_mac(vm, 1, "52:54:00:aa:bb:cc");
	assert_int_equal(state_save(t->path, &st), 0);
	text = read_file(t->path);
	/* The documented shape, readable by a host admin and by jq. */
	assert_non_null(strstr(text, "\"version\": 1"));
	assert_non_null(strstr(text, "\"uuid\": \"a1\""));
	assert_non_null(strstr(text, "\"generation\": 3"));
	assert_non_null(strstr(text, "\"power_off\": false"));
	/* One VM per line: grep finds a VM's whole entry. */
	assert_non_null(strstr(text, "\"private\": [\"52:54:00:aa:bb:cc\"]"));
	assert_non_null(strstr(text, "\n {\"uuid\": \"a1\""));
	assert_true(text[strlen(text) - 1] == '\n');
	free(text);
	state_clear(&st);
}

static void test_missing_file(void **state)
{
	struct tdir *t = *state;
	struct agent_state st;
	char err[ERRLEN] = "";
	char path[200];

	assert_int_equal(state_load(t->path, &st, err, sizeof(err)), 0);
	assert_empty(&st);
	snprintf(path, sizeof(path), "%s/no/such/dir/state.json", t->dir);
	assert_int_equal(state_load(path, &st, err, sizeof(err)), 0);
	assert_empty(&st);
}

/* Accepted, and normalised: upper case, duplicates, any order. */
static void test_load_normalises(void **state)
{
	struct tdir *t = *state;
	struct agent_state st;
	char err[ERRLEN] = "";
	char buf[MAC_STRLEN];

	write_file(t->path,
		   "{\"vms\":[{\"macs\":{\"smtp\":[\"52:54:00:00:00:0B\","
		   "\"02:00:00:00:00:01\",\"52:54:00:00:00:0b\"]},"
		   "\"power_off\":true,\"scopes\":[],\"generation\":0,"
		   "\"uuid\":\"x\"}],\"version\":1}");
	if (state_load(t->path, &st, err, sizeof(err)) != 0)
		fail_msg("load: %s", err);
	assert_int_equal(st.n, 1);
	assert_true(st.vms[0].power_off);
	assert_int_equal(st.vms[0].scopes, 0);
	assert_int_equal(st.vms[0].macs[0].n, 0);
	assert_int_equal(st.vms[0].macs[2].n, 2);
	mac_format(&st.vms[0].macs[2].v[0], buf);
	assert_string_equal(buf, "02:00:00:00:00:01");
	mac_format(&st.vms[0].macs[2].v[1], buf);
	assert_string_equal(buf, "52:54:00:00:00:0b");
	state_clear(&st);
}

#define VM_OK "\"uuid\":\"a\",\"generation\":1,\"power_off\":false"
#define VM_MACS "\"macs\":{}"
#define VM_SCOPES "\"scopes\":[]"
#define FILE1(vm) "{\"version\":1,\"vms\":[" vm "]}"

static const struct bad_file {
	const char *name;
	const char *text;
	const char *reason; /* substring expected in err */
} bad_files[] = {
	{ "empty", "", "line" },
	{ "garbage", "\x7f" "ELF\x01\x02garbage", "line 1" },
	{ "not json", "version=1", "line 1" },
	{ "array", "[]", "top level: not an object" },
	{ "no version", "{\"vms\":[]}", "version: missing" },
	{ "version 2", "{\"version\":2,\"vms\":[]}", "version: 2, expected 1" },
	{ "version 0", "{\"version\":0,\"vms\":[]}", "version: 0, expected 1" },
	{ "version string", "{\"version\":\"1\",\"vms\":[]}", "version: " },
	{ "version float", "{\"version\":1.0,\"vms\":[]}", "version: " },
	{ "no vms", "{\"version\":1}", "vms: missing or not an array" },
	{ "vms object", "{\"version\":1,\"vms\":{}}", "vms: missing" },
	{ "unknown top key", "{\"version\":1,\"vms\":[],\"x\":1}",
	  "unknown key \"x\"" },
	{ "duplicate key", "{\"version\":1,\"version\":1,\"vms\":[]}",
	  "duplicate" },
	{ "vm not object", FILE1("[]"), "vms[0]: not an object" },
	{ "no uuid", FILE1("{\"generation\":1,\"power_off\":false,"
			   VM_SCOPES "," VM_MACS "}"),
	  "vms[0].uuid: missing" },
	{ "uuid number", FILE1("{\"uuid\":7,\"generation\":1,\"power_off\":"
			       "false," VM_SCOPES "," VM_MACS "}"),
	  "vms[0].uuid: " },
	{ "uuid slash", FILE1("{\"uuid\":\"a/b\",\"generation\":1,"
			      "\"power_off\":false," VM_SCOPES "," VM_MACS "}"),
	  "vms[0].uuid: missing or not a uuid" },
	{ "uuid empty", FILE1("{\"uuid\":\"\",\"generation\":1,\"power_off\":"
			      "false," VM_SCOPES "," VM_MACS "}"),
	  "vms[0].uuid: " },
	{ "uuid 65", FILE1("{\"uuid\":\"0123456789012345678901234567890123456"
			   "7890123456789012345678901234\",\"generation\":1,"
			   "\"power_off\":false," VM_SCOPES "," VM_MACS "}"),
	  "vms[0].uuid: " },
	{ "generation negative",
	  FILE1("{\"uuid\":\"a\",\"generation\":-1,\"power_off\":false,"
		VM_SCOPES "," VM_MACS "}"),
	  "vms[0].generation: " },
	{ "generation string",
	  FILE1("{\"uuid\":\"a\",\"generation\":\"1\",\"power_off\":false,"
		VM_SCOPES "," VM_MACS "}"),
	  "vms[0].generation: " },
	{ "generation float",
	  FILE1("{\"uuid\":\"a\",\"generation\":1.5,\"power_off\":false,"
		VM_SCOPES "," VM_MACS "}"),
	  "vms[0].generation: " },
	{ "generation too big",
	  FILE1("{\"uuid\":\"a\",\"generation\":18446744073709551615,"
		"\"power_off\":false," VM_SCOPES "," VM_MACS "}"),
	  "too big" },
	{ "no power_off",
	  FILE1("{\"uuid\":\"a\",\"generation\":1," VM_SCOPES "," VM_MACS "}"),
	  "vms[0].power_off: missing" },
	{ "power_off string",
	  FILE1("{\"uuid\":\"a\",\"generation\":1,\"power_off\":\"false\","
		VM_SCOPES "," VM_MACS "}"),
	  "vms[0].power_off: " },
	{ "power_off int",
	  FILE1("{\"uuid\":\"a\",\"generation\":1,\"power_off\":0,"
		VM_SCOPES "," VM_MACS "}"),
	  "vms[0].power_off: " },
	{ "no scopes", FILE1("{" VM_OK "," VM_MACS "}"),
	  "vms[0].scopes: not an array" },
	{ "scopes string",
	  FILE1("{" VM_OK ",\"scopes\":\"public\"," VM_MACS "}"),
	  "vms[0].scopes: not an array" },
	{ "unknown scope",
	  FILE1("{" VM_OK ",\"scopes\":[\"dmz\"]," VM_MACS "}"),
	  "vms[0].scopes[0]: not a scope name" },
	{ "scope all", FILE1("{" VM_OK ",\"scopes\":[\"all\"]," VM_MACS "}"),
	  "vms[0].scopes[0]: " },
	{ "scope number", FILE1("{" VM_OK ",\"scopes\":[1]," VM_MACS "}"),
	  "vms[0].scopes[0]: " },
	{ "scope twice",
	  FILE1("{" VM_OK ",\"scopes\":[\"smtp\",\"smtp\"]," VM_MACS "}"),
	  "vms[0].scopes[1]: duplicate" },
	{ "no macs", FILE1("{" VM_OK "," VM_SCOPES "}"),
	  "vms[0].macs: not an object" },
	{ "macs array", FILE1("{" VM_OK "," VM_SCOPES ",\"macs\":[]}"),
	  "vms[0].macs: not an object" },
	{ "macs unknown scope",
	  FILE1("{" VM_OK "," VM_SCOPES ",\"macs\":{\"dmz\":[]}}"),
	  "vms[0].macs: unknown scope \"dmz\"" },
	{ "macs list string",
	  FILE1("{" VM_OK "," VM_SCOPES ",\"macs\":{\"public\":\"x\"}}"),
	  "vms[0].macs.public: not an array" },
	{ "bad mac",
	  FILE1("{" VM_OK "," VM_SCOPES ",\"macs\":{\"public\":"
		"[\"52:54:00:00:00:01\",\"52:54:00:00:00\"]}}"),
	  "vms[0].macs.public[1]: not a unicast MAC address" },
	{ "multicast mac",
	  FILE1("{" VM_OK "," VM_SCOPES ",\"macs\":{\"private\":"
		"[\"01:00:5e:00:00:01\"]}}"),
	  "vms[0].macs.private[0]: not a unicast MAC address" },
	{ "zero mac",
	  FILE1("{" VM_OK "," VM_SCOPES ",\"macs\":{\"smtp\":"
		"[\"00:00:00:00:00:00\"]}}"),
	  "vms[0].macs.smtp[0]: " },
	{ "mac number",
	  FILE1("{" VM_OK "," VM_SCOPES ",\"macs\":{\"smtp\":[5]}}"),
	  "vms[0].macs.smtp[0]: " },
	{ "unknown vm key",
	  FILE1("{" VM_OK "," VM_SCOPES "," VM_MACS ",\"xml\":\"\"}"),
	  "vms[0]: unknown key \"xml\"" },
	{ "duplicate uuid",
	  FILE1("{" VM_OK "," VM_SCOPES "," VM_MACS "},"
		"{\"uuid\":\"b\",\"generation\":1,\"power_off\":false,"
		VM_SCOPES "," VM_MACS "},"
		"{" VM_OK "," VM_SCOPES "," VM_MACS "}"),
	  "vms[2].uuid: duplicate of vms[0]" },
	{ "trailing garbage", "{\"version\":1,\"vms\":[]} x", "line 1" },
};

static void test_bad_files(void **state)
{
	struct tdir *t = *state;

	for (size_t i = 0; i < ARRAY_LEN(bad_files); i++) {
		const struct bad_file *c = &bad_files[i];
		struct agent_state st;
		char err[ERRLEN] = "";

		write_file(t->path, c->text);
		if (state_load(t->path, &st, err, sizeof(err)) != -1)
			fail_msg("%s: accepted", c->name);
		assert_empty(&st);
		if (!strstr(err, c->reason))
			fail_msg("%s: reason \"%s\", expected \"%s\"", c->name,
				 err, c->reason);
		assert_null(strchr(err, '\n'));
	}
}

/* Every prefix of a good file (short of dropping only the final newline)
 * is refused: a torn write can never load as a smaller state. */
static void test_truncated(void **state)
{
	struct tdir *t = *state;
	struct agent_state st, back;
	char err[ERRLEN];
	char *text;
	size_t len;

	build_sample(&st);
	assert_int_equal(state_save(t->path, &st), 0);
	text = read_file(t->path);
	len = strlen(text);
	for (size_t cut = 0; cut + 1 < len; cut++) {
		char c = text[cut];

		text[cut] = '\0';
		write_file(t->path, text);
		text[cut] = c;
		if (state_load(t->path, &back, err, sizeof(err)) != -1)
			fail_msg("prefix %zu/%zu accepted", cut, len);
		assert_empty(&back);
	}
	free(text);
	state_clear(&st);
}

static void test_load_errors(void **state)
{
	struct tdir *t = *state;
	struct agent_state st;
	char err[ERRLEN] = "";

	/* A directory where the file should be. */
	assert_int_equal(mkdir(t->path, 0700), 0);
	assert_int_equal(state_load(t->path, &st, err, sizeof(err)), -1);
	assert_empty(&st);
	assert_true(err[0] != '\0');
	assert_int_equal(rmdir(t->path), 0);
	/* No err buffer: still refused, nothing written. */
	write_file(t->path, "{");
	assert_int_equal(state_load(t->path, &st, NULL, 0), -1);
}

/* ---- save failures: the old file stays, no tmp is left ---- */

static void assert_untouched(const struct tdir *t, const char *before)
{
	char *now = read_file(t->path);

	assert_string_equal(now, before);
	free(now);
	assert_int_equal(access(t->tmp, F_OK), -1);
}

static void test_save_nonexistent_dir(void **state)
{
	struct tdir *t = *state;
	struct agent_state st;
	char path[200];

	build_sample(&st);
	snprintf(path, sizeof(path), "%s/missing/state.json", t->dir);
	errno = 0;
	assert_int_equal(state_save(path, &st), -1);
	assert_int_equal(errno, ENOENT);
	state_clear(&st);
}

static void test_save_readonly_dir(void **state)
{
	struct tdir *t = *state;
	struct agent_state st;
	char *before;

	build_sample(&st);
	assert_int_equal(state_save(t->path, &st), 0);
	before = read_file(t->path);
	state_remove(&st, "VM3");
	if (geteuid() == 0) {
		/* Root ignores directory modes: a path in /proc is a place
		 * no one can create files. */
		errno = 0;
		assert_int_equal(state_save("/proc/cordon-test.json", &st),
				 -1);
		assert_true(errno != 0);
	} else {
		assert_int_equal(chmod(t->dir, 0500), 0);
		errno = 0;
		assert_int_equal(state_save(t->path, &st), -1);
		assert_int_equal(errno, EACCES);
		assert_int_equal(chmod(t->dir, 0700), 0);
	}
	assert_untouched(t, before);
	free(before);
	state_clear(&st);
}

/* tmp cannot be created (a directory is in the way): old file kept. */
static void test_save_tmp_blocked(void **state)
{
	struct tdir *t = *state;
	struct agent_state st;
	char *before;

	build_sample(&st);
	assert_int_equal(state_save(t->path, &st), 0);
	before = read_file(t->path);
	assert_int_equal(mkdir(t->tmp, 0700), 0);
	state_remove(&st, "vm-2");
	errno = 0;
	assert_int_equal(state_save(t->path, &st), -1);
	assert_int_equal(errno, EISDIR);
	assert_int_equal(rmdir(t->tmp), 0);
	assert_untouched(t, before);
	free(before);
	state_clear(&st);
}

/* A symlink planted at the tmp name is not followed. */
static void test_save_tmp_symlink(void **state)
{
	struct tdir *t = *state;
	struct agent_state st;
	char target[200];
	struct stat sb;

	build_sample(&st);
	snprintf(target, sizeof(target), "%s/victim", t->dir);
	assert_int_equal(symlink(target, t->tmp), 0);
	errno = 0;
	assert_int_equal(state_save(t->path, &st), -1);
	assert_int_equal(errno, ELOOP);
	assert_int_equal(lstat(target, &sb), -1);
	assert_int_equal(unlink(t->tmp), 0);
	state_clear(&st);
}

/* rename fails (a directory where the file should be): tmp removed. */
static void test_save_rename_fails(void **state)
{
	struct tdir *t = *state;
	struct agent_state st;

	build_sample(&st);
	assert_int_equal(mkdir(t->path, 0700), 0);
	errno = 0;
	assert_int_equal(state_save(t->path, &st), -1);
	assert_int_equal(errno, EISDIR);
	assert_int_equal(access(t->tmp, F_OK), -1);
	assert_int_equal(rmdir(t->path), 0);
	state_clear(&st);
}

/* What could not be loaded back is never written. */
static void test_save_invalid(void **state)
{
	struct tdir *t = *state;
	struct agent_state st;
	struct mac multicast = { { 0x01, 0, 0x5e, 0, 0, 1 } };
	char *before;

	build_sample(&st);
	assert_int_equal(state_save(t->path, &st), 0);
	before = read_file(t->path);
	for (int k = 0; k < 5; k++) {
		struct agent_state bad;
		struct mac m = { { 0x52, 0x54, 0, 0x0b, 0, 1 } };

		build_sample(&bad);
		if (k == 0)
			bad.vms[1].generation = (uint64_t)INT64_MAX + 1;
		else if (k == 1)
			bad.vms[0].scopes = 8;
		else if (k == 2)
			assert_int_equal(mac_list_add(&bad.vms[2].macs[1],
						      &multicast), 0);
		else if (k == 3)
			strcpy(bad.vms[2].uuid, "a b");
		else /* not UTF-8: the load would refuse the whole file */
			assert_non_null(state_held_add(&bad.vms[0], &m, 0, "<interface>\xff</interface>"));
		errno = 0;
		assert_int_equal(state_save(t->path, &bad), -1);
		assert_int_equal(errno, EINVAL);
		assert_untouched(t, before);
		state_clear(&bad);
	}
	free(before);
	state_clear(&st);
}

/* ---- in-memory API ---- */

static void test_upsert_find_remove(void **state)
{
	struct agent_state st = { 0 };
	struct vm_enforced *a, *b;
	char long_uuid[STATE_UUID_MAX + 2];
	(void)state;

	a = state_upsert(&st, "a");
	assert_non_null(a);
	a->generation = 5;
	assert_true(state_upsert(&st, "a") == a);
	assert_true(state_upsert(&st, "a")->generation == 5);
	for (int i = 0; i < 20; i++) { /* forces the array to grow */
		char u[8];

		snprintf(u, sizeof(u), "v%d", i);
		assert_non_null(state_upsert(&st, u));
	}
	assert_int_equal(st.n, 21);
	b = state_find(&st, "v7");
	assert_non_null(b);
	assert_string_equal(b->uuid, "v7");
	assert_int_equal(b->generation, 0);
	assert_int_equal(b->macs[0].n, 0);
	assert_null(state_find(&st, "v20"));
	state_remove(&st, "v7");
	state_remove(&st, "v7"); /* absent: no-op */
	assert_int_equal(st.n, 20);
	assert_null(state_find(&st, "v7"));
	assert_string_equal(st.vms[7].uuid, "v6"); /* order kept */
	assert_string_equal(st.vms[8].uuid, "v8");
	state_remove(&st, "v19"); /* last */
	state_remove(&st, "a");   /* first */
	assert_string_equal(st.vms[0].uuid, "v0");
	assert_int_equal(st.n, 18);

	memset(long_uuid, 'x', sizeof(long_uuid) - 1);
	long_uuid[sizeof(long_uuid) - 1] = '\0';
	errno = 0;
	assert_null(state_upsert(&st, long_uuid));
	assert_int_equal(errno, EINVAL);
	long_uuid[STATE_UUID_MAX] = '\0'; /* exactly the maximum: fine */
	assert_non_null(state_upsert(&st, long_uuid));
	assert_null(state_upsert(&st, ""));
	assert_null(state_upsert(&st, "a/b"));
	state_clear(&st);
	assert_empty(&st);
	state_clear(&st); /* twice is fine */
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A big host: 100k MACs over 2000 VMs must load fast, so nothing may be
 * quadratic in either. Sanitizers are given a wider margin. */
static void test_load_large(void **state)
{
	struct tdir *t = *state;
	struct agent_state st = { 0 }, back;
	char err[ERRLEN] = "";
	double t0, elapsed, limit = 0.5;
	unsigned n = 0;

#if defined(__SANITIZE_ADDRESS__)
	limit = 2.0;
#endif
	for (unsigned v = 0; v < 2000; v++) {
		char u[16];
		struct vm_enforced *vm;

		snprintf(u, sizeof(u), "vm-%05u", v);
		vm = state_upsert(&st, u);
		assert_non_null(vm);
		vm->scopes = SCOPE_PUBLIC;
		for (int k = 0; k < 50; k++, n++) {
			struct mac m = { { 0x52, 0x54, 0, (uint8_t)(n >> 16),
					   (uint8_t)(n >> 8), (uint8_t)n } };
			assert_int_equal(mac_list_add(&vm->macs[k % 3], &m), 0);
		}
	}
	assert_int_equal(state_save(t->path, &st), 0);
	t0 = now_s();
	if (state_load(t->path, &back, err, sizeof(err)) != 0)
		fail_msg("load: %s", err);
	elapsed = now_s() - t0;
	print_message("loaded %u MACs in %.3f s\n", n, elapsed);
	assert_true(elapsed < limit);
	assert_state_eq(&st, &back);
	state_clear(&back);
	state_clear(&st);
}

/* ---- libvirt mechanisms: held interfaces, power record (optional keys) */

#define IFXML "<interface type='bridge'><mac address='52:54:00:0a:00:01'/>" \
	"<source bridge='cbr0'/><model type='virtio'/></interface>"

static void build_libvirt_sample(struct agent_state *st)
{
	struct vm_enforced *vm;
	struct held_iface *h;
	struct mac m;

	*st = (struct agent_state){ 0 };
	vm = state_upsert(st, "0b0e4c1a-0000-4000-8000-00000000000a");
	assert_non_null(vm);
	vm->generation = 4;
	vm->scopes = SCOPE_PUBLIC | SCOPE_PRIVATE;
	vm->power_off = true;
	add_mac(vm, 0, "52:54:00:0a:00:01");
	add_mac(vm, 1, "52:54:00:0a:00:02");
	assert_int_equal(mac_parse("52:54:00:0a:00:01", &m), 0);
	h = state_held_add(vm, &m, 0, IFXML);
	assert_non_null(h);
	h->mech = HELD_DETACH;
	assert_int_equal(mac_parse("52:54:00:0a:00:02", &m), 0);
	h = state_held_add(vm, &m, 1, "<interface type=\"bridge\"/>");
	assert_non_null(h);
	h->mech = HELD_LINK_DOWN;
	h->unplug_pending = true;
	assert_int_equal(mac_parse("52:54:00:0a:00:03", &m), 0);
	/* detaching; what JSON must escape, and UTF-8, survive the file */
	assert_non_null(state_held_add(vm, &m, 0, "<interface a=\"q\\b\">\n\t\x01\x1f"
					   "<description>caf\xc3\xa9</description></interface>"));
	assert_int_equal(mac_parse("52:54:00:0a:00:04", &m), 0);
	h = state_held_add(vm, &m, 0, "<interface type=\"network\"/>");
	assert_non_null(h);
	h->mech = HELD_UNPLUG_PENDING;
	h->unplug_pending = true;
	h->domain_id = 17;
	vm->power = (struct power_hold){ .saved = true, .held = true, .was_running = true,
					 .autostart = false };
	vm->restarted = 2;
	/* A VM without libvirt mechanisms: written as before. */
	vm = state_upsert(st, "plain");
	assert_non_null(vm);
	vm->generation = 1;
}

static void test_libvirt_roundtrip(void **state)
{
	struct tdir *t = *state;
	struct agent_state st, back;
	char err[ERRLEN] = "";
	struct vm_enforced *x, *y;
	char *text;

	build_libvirt_sample(&st);
	assert_int_equal(state_save(t->path, &st), 0);
	text = read_file(t->path);
	assert_non_null(strstr(text, "\"mechanism\": \"link-down\""));
	assert_non_null(strstr(text, "\"mechanism\": \"detaching\""));
	assert_non_null(strstr(text, "\"mechanism\": \"unplug-pending\""));
	assert_non_null(strstr(text, "\"restarted_by_someone\": 2"));
	/* Only the first VM has the new keys. */
	assert_null(strstr(strstr(text, "\"plain\""), "\"held\""));
	assert_null(strstr(strstr(text, "\"plain\""), "\"power\""));
	free(text);
	if (state_load(t->path, &back, err, sizeof(err)) != 0)
		fail_msg("load: %s", err);
	assert_state_eq(&st, &back);
	x = &st.vms[0];
	y = &back.vms[0];
	assert_int_equal(y->n_held, 4);
	for (size_t i = 0; i < x->n_held; i++) {
		assert_int_equal(mac_cmp(&x->held[i].mac, &y->held[i].mac), 0);
		assert_int_equal(x->held[i].scope, y->held[i].scope);
		assert_int_equal(x->held[i].mech, y->held[i].mech);
		assert_string_equal(x->held[i].xml, y->held[i].xml);
		assert_int_equal(x->held[i].unplug_pending, y->held[i].unplug_pending);
		assert_int_equal(x->held[i].domain_id, y->held[i].domain_id);
	}
	assert_int_equal(y->held[2].domain_id, -1); /* never set: none */
	assert_true(y->power.saved && y->power.held && y->power.was_running);
	assert_false(y->power.autostart);
	assert_int_equal(y->restarted, 2);
	assert_int_equal(back.vms[1].n_held, 0);
	assert_false(back.vms[1].power.saved);
	assert_int_equal(back.vms[1].restarted, 0);
	state_clear(&back);
	state_clear(&st);
}

/* A file written before the libvirt mechanisms loads with none held. */
static void test_libvirt_old_file(void **state)
{
	struct tdir *t = *state;
	struct agent_state st;
	char err[ERRLEN] = "";

	write_file(t->path, "{\"version\": 1, \"vms\": [{\"uuid\": \"a1\", \"generation\": 2,"
		   " \"scopes\": [\"public\"], \"power_off\": true,"
		   " \"macs\": {\"public\": [\"52:54:00:aa:bb:cc\"]}}]}");
	if (state_load(t->path, &st, err, sizeof(err)) != 0)
		fail_msg("load: %s", err);
	assert_int_equal(st.n, 1);
	assert_int_equal(st.vms[0].n_held, 0);
	assert_null(st.vms[0].held);
	assert_false(st.vms[0].power.saved);
	assert_int_equal(st.vms[0].restarted, 0);
	state_clear(&st);
}

static void test_libvirt_bad(void **state)
{
	static const struct { const char *vm_tail, *reason; } bad[] = {
		{ "\"held\": {}", "held: not an array" },
		{ "\"held\": [{\"mac\": \"xx\", \"scope\": \"public\", \"mechanism\": \"detach\","
		  " \"xml\": \"<i/>\"}]", "mac" },
		{ "\"held\": [{\"mac\": \"52:54:00:00:00:01\", \"scope\": \"moon\","
		  " \"mechanism\": \"detach\", \"xml\": \"<i/>\"}]", "scope" },
		{ "\"held\": [{\"mac\": \"52:54:00:00:00:01\", \"scope\": \"public\","
		  " \"mechanism\": \"unplugged\", \"xml\": \"<i/>\"}]", "mechanism" },
		{ "\"held\": [{\"mac\": \"52:54:00:00:00:01\", \"scope\": \"public\","
		  " \"mechanism\": \"detach\"}]", "xml" },
		{ "\"held\": [{\"mac\": \"52:54:00:00:00:01\", \"scope\": \"public\","
		  " \"mechanism\": \"detach\", \"xml\": \"<i/>\"}, {\"mac\": \"52:54:00:00:00:01\","
		  " \"scope\": \"public\", \"mechanism\": \"detach\", \"xml\": \"<i/>\"}]", "duplicate" },
		{ "\"held\": [{\"mac\": \"52:54:00:00:00:01\", \"scope\": \"public\","
		  " \"mechanism\": \"link-down\", \"xml\": \"<i/>\", \"unplug_pending\": 1}]",
		  "unplug_pending" },
		{ "\"power\": true", "power: not an object" },
		{ "\"power\": {\"held\": true, \"was_running\": 1, \"autostart\": false}",
		  "power.was_running" },
		{ "\"restarted_by_someone\": -1", "restarted_by_someone" },
	};
	struct tdir *t = *state;
	struct agent_state st;
	char err[ERRLEN], text[1024];

	for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
		snprintf(text, sizeof(text), "{\"version\": 1, \"vms\": [{\"uuid\": \"a1\","
			 " \"generation\": 2, \"scopes\": [], \"power_off\": false, \"macs\": {},"
			 " %s}]}", bad[i].vm_tail);
		write_file(t->path, text);
		err[0] = '\0';
		if (state_load(t->path, &st, err, sizeof(err)) != -1)
			fail_msg("accepted: %s", bad[i].vm_tail);
		if (!strstr(err, bad[i].reason))
			fail_msg("%s: reason \"%s\" lacks \"%s\"", bad[i].vm_tail, err, bad[i].reason);
		assert_empty(&st);
	}
}

static void test_held_add_find_del(void **state)
{
	struct vm_enforced vm = { 0 };
	struct mac a, b;

	(void)state;
	assert_int_equal(mac_parse("52:54:00:00:00:0a", &a), 0);
	assert_int_equal(mac_parse("52:54:00:00:00:0b", &b), 0);
	assert_null(state_held_find(&vm, &a));
	assert_non_null(state_held_add(&vm, &a, 0, "<a/>"));
	assert_non_null(state_held_add(&vm, &b, 1, "<b/>"));
	/* Adding again returns the entry, keeping its saved XML. */
	assert_string_equal(state_held_add(&vm, &a, 0, "<other/>")->xml, "<a/>");
	assert_int_equal(vm.n_held, 2);
	assert_int_equal(state_held_find(&vm, &b)->mech, HELD_DETACHING);
	state_held_del(&vm, &a);
	assert_int_equal(vm.n_held, 1);
	assert_null(state_held_find(&vm, &a));
	assert_string_equal(state_held_find(&vm, &b)->xml, "<b/>");
	state_held_del(&vm, &b);
	state_held_del(&vm, &b);
	assert_int_equal(vm.n_held, 0);
	free(vm.held);
	assert_string_equal(state_held_mech_name(HELD_LINK_DOWN), "link-down");
}

/* Ports of cut MACs: saved and loaded back; a file without them (the
 * previous release) has none; bad ones are refused with a reason. */
static void test_ports(void **state)
{
	static const struct { const char *tail, *reason; } bad[] = {
		{ "\"ports\": []", "ports: not an object" },
		{ "\"ports\": {\"zz\": \"vnet0\"}", "not a unicast MAC" },
		{ "\"ports\": {\"01:00:5e:00:00:01\": \"vnet0\"}", "not a unicast MAC" },
		{ "\"ports\": {\"52:54:00:00:00:01\": \"a/b\"}", "not a device name" },
		{ "\"ports\": {\"52:54:00:00:00:01\": \"sixteen-chars-xx\"}", "not a device name" },
		{ "\"ports\": {\"52:54:00:00:00:01\": 3}", "not a device name" },
	};
	struct tdir *t = *state;
	struct agent_state st = { 0 }, back;
	char err[ERRLEN] = "", text[1024];
	struct vm_enforced *v;
	struct mac a, b;

	assert_int_equal(mac_parse("52:54:00:00:00:0a", &a), 0);
	assert_int_equal(mac_parse("52:54:00:00:00:0b", &b), 0);
	v = state_upsert(&st, "c0d0c0d0-0000-4000-8000-000001000001");
	assert_non_null(v);
	v->scopes = 1;
	assert_int_equal(mac_list_add(&v->macs[0], &a), 0);
	assert_int_equal(mac_list_add(&v->macs[0], &b), 0);
	assert_int_equal(state_port_set(v, &a, "vnet3"), 0);
	assert_int_equal(state_port_set(v, &b, "vnet4"), 0);
	assert_int_equal(state_port_set(v, &b, "vnet7"), 0); /* replaces */
	assert_int_equal(state_port_set(v, &a, "bad name"), -1);
	assert_string_equal(state_port_of(v, &a), "vnet3");
	assert_int_equal(state_save(t->path, &st), 0);
	if (state_load(t->path, &back, err, sizeof(err)) != 0)
		fail_msg("load: %s", err);
	assert_int_equal(back.vms[0].n_ports, 2);
	assert_string_equal(state_port_of(&back.vms[0], &a), "vnet3");
	assert_string_equal(state_port_of(&back.vms[0], &b), "vnet7");
	assert_int_equal(state_port_set(&back.vms[0], &a, NULL), 0); /* forgets */
	assert_null(state_port_of(&back.vms[0], &a));
	assert_int_equal(back.vms[0].n_ports, 1);
	state_clear(&back);
	state_clear(&st);

	write_file(t->path, "{\"version\": 1, \"vms\": [{\"uuid\": \"a1\", \"generation\": 2,"
		   " \"scopes\": [\"public\"], \"power_off\": false,"
		   " \"macs\": {\"public\": [\"52:54:00:00:00:0a\"]}}]}");
	if (state_load(t->path, &back, err, sizeof(err)) != 0)
		fail_msg("load: %s", err);
	assert_int_equal(back.vms[0].n_ports, 0);
	assert_null(state_port_of(&back.vms[0], &a));
	state_clear(&back);

	for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
		snprintf(text, sizeof(text), "{\"version\": 1, \"vms\": [{\"uuid\": \"a1\","
			 " \"generation\": 2, \"scopes\": [], \"power_off\": false, \"macs\": {},"
			 " %s}]}", bad[i].tail);
		write_file(t->path, text);
		err[0] = '\0';
		if (state_load(t->path, &back, err, sizeof(err)) != -1)
			fail_msg("accepted: %s", bad[i].tail);
		if (!strstr(err, bad[i].reason))
			fail_msg("%s: reason \"%s\" lacks \"%s\"", bad[i].tail, err, bad[i].reason);
		assert_empty(&back);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
		T(test_roundtrip),
		T(test_stale_tmp),
		T(test_format),
		T(test_missing_file),
		T(test_load_normalises),
		T(test_bad_files),
		T(test_truncated),
		T(test_load_errors),
		T(test_save_nonexistent_dir),
		T(test_save_readonly_dir),
		T(test_save_tmp_blocked),
		T(test_save_tmp_symlink),
		T(test_save_rename_fails),
		T(test_save_invalid),
		T(test_upsert_find_remove),
		T(test_load_large),
		T(test_libvirt_roundtrip),
		T(test_libvirt_old_file),
		T(test_libvirt_bad),
		T(test_held_add_find_del),
		T(test_ports),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* Unit tests for the decoder's memory budget (proto/codec.c): a message of
 * empty items, the cheapest thing to send and the dearest to decode, is
 * refused within its budget; the largest legitimate messages fit both the
 * size limit and the budget. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "codec.h"

#define LEGIT_VMS 20000
#define LEGIT_DESIRED 100000

/* Envelope { version: 1, ack { vms {} vms {} ... } } of at most *len bytes
 * (set to the exact length). */
static uint8_t *hostile_ack(size_t *len)
{
	size_t items = (*len - 2 - 1 - 4) / 2;
	uint8_t *buf = malloc(*len), *p = buf;

	assert_non_null(buf);
	*p++ = 0x08; /* field 1, varint */
	*p++ = 0x01;
	*p++ = 0x62; /* field 12 (ack), length-delimited */
	for (int i = 0; i < 4; i++) /* 4-byte varint length: body < 2^28 */
		*p++ = (uint8_t)(((items * 2) >> (7 * i)) & 0x7f) | (i < 3 ? 0x80 : 0);
	for (size_t i = 0; i < items; i++) {
		*p++ = 0x0a; /* Ack.vms, length 0 */
		*p++ = 0x00;
	}
	*len = (size_t)(p - buf);
	return buf;
}

static long rss_kib(void)
{
	long pages = 0, resident = 0;
	FILE *f = fopen("/proc/self/statm", "r");

	if (!f)
		return -1;
	if (fscanf(f, "%ld %ld", &pages, &resident) != 2)
		resident = -1;
	fclose(f);
	return resident < 0 ? -1 : resident * (sysconf(_SC_PAGESIZE) / 1024);
}

/* In a child, so that its peak RSS is the decoder's alone: exit 0 when the
 * message was refused for its memory and the peak stayed in the budget. */
static int decode_hostile_in_child(const uint8_t *buf, size_t len)
{
	char err[256] = "";
	long before = rss_kib(), peak_kib;
	struct rusage ru;
	Cordon__Envelope *env = codec_decode(buf, len, err, sizeof(err));

	if (getrusage(RUSAGE_SELF, &ru) < 0 || before < 0)
		return 1;
	peak_kib = ru.ru_maxrss - before;
	fprintf(stderr, "hostile ack of %zu bytes: %s, decoder peak %ld KiB, budget %zu KiB\n",
		len, env ? "decoded" : err, peak_kib, codec_decode_budget(len) / 1024);
	if (env || !strstr(err, "needs more than"))
		return 1;
#if defined(__SANITIZE_ADDRESS__)
	return 0; /* ASan's redzones and quarantine are not the decoder's */
#else
	/* + 1 MiB: library code and stack pages first touched on the way */
	return (size_t)peak_kib * 1024 <= codec_decode_budget(len) + (1u << 20) ? 0 : 1;
#endif
}

static void test_hostile_ack_refused_within_budget(void **state)
{
	size_t len = CORDON_MAX_MSG;
	uint8_t *buf = hostile_ack(&len);
	int status = 0;
	pid_t pid;
	(void)state;

	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(decode_hostile_in_child(buf, len));
	assert_int_equal(waitpid(pid, &status, 0), pid);
	free(buf);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

struct legit_hello {
	Cordon__Envelope env;
	Cordon__Hello hello;
	Cordon__Vm *vms, **vmp;
	Cordon__Interface *ifc, **ifcp;
	Cordon__VmState *st, **stp;
	char (*uuid)[40], (*name)[32], (*mac)[2][20], (*ip)[2][2][48];
	char *(*ips)[2][2];
};

static void legit_iface(struct legit_hello *h, size_t i, int k)
{
	Cordon__Interface *c = &h->ifc[2 * i + (size_t)k];

	cordon__interface__init(c);
	snprintf(h->mac[i][k], 20, "52:54:%02x:%02x:%02x:%02x", k, (unsigned)(i >> 16) & 0xff,
		 (unsigned)(i >> 8) & 0xff, (unsigned)i & 0xff);
	snprintf(h->ip[i][k][0], 48, "198.%u.%u.%u", 18 + k, (unsigned)(i >> 8) & 0xff,
		 (unsigned)i & 0xff);
	snprintf(h->ip[i][k][1], 48, "2001:db8:%x::%zx", k, i);
	h->ips[i][k][0] = h->ip[i][k][0];
	h->ips[i][k][1] = h->ip[i][k][1];
	c->mac = h->mac[i][k];
	c->bridge = k ? "br-private" : "br-public";
	c->scope = k ? "private" : "public";
	c->n_ips = 2;
	c->ips = h->ips[i][k];
	c->target = "vnet12345";
	c->model = "virtio";
	h->ifcp[2 * i + (size_t)k] = c;
}

static void legit_vm(struct legit_hello *h, size_t i)
{
	Cordon__Vm *v = &h->vms[i];
	Cordon__VmState *s = &h->st[i];

	cordon__vm__init(v);
	cordon__vm_state__init(s);
	snprintf(h->uuid[i], 40, "0b0e4c1a-0000-4000-8000-%012zx", i);
	snprintf(h->name[i], 32, "customer-web-%08zu", i);
	v->uuid = s->uuid = h->uuid[i];
	v->name = h->name[i];
	v->state = "running";
	legit_iface(h, i, 0);
	legit_iface(h, i, 1);
	v->n_interfaces = 2;
	v->interfaces = &h->ifcp[2 * i];
	s->generation = 1000000 + i;
	s->scopes = 3;
	s->power_off = 1;
	s->mechanisms = "nft,detach";
	h->vmp[i] = v;
	h->stp[i] = s;
}

#define ALLOC(p, n) assert_non_null((p) = calloc((n), sizeof(*(p))))

static void legit_hello_build(struct legit_hello *h, size_t n)
{
	cordon__envelope__init(&h->env);
	cordon__hello__init(&h->hello);
	ALLOC(h->vms, n); ALLOC(h->vmp, n); ALLOC(h->st, n); ALLOC(h->stp, n);
	ALLOC(h->ifc, 2 * n); ALLOC(h->ifcp, 2 * n); ALLOC(h->uuid, n);
	ALLOC(h->name, n); ALLOC(h->mac, n); ALLOC(h->ip, n); ALLOC(h->ips, n);
	for (size_t i = 0; i < n; i++)
		legit_vm(h, i);
	h->hello.host_id = "hv-rack12-slot07";
	h->hello.version = "0.1";
	h->hello.n_vms = h->hello.n_enforced = n;
	h->hello.vms = h->vmp;
	h->hello.enforced = h->stp;
	h->env.body_case = CORDON__ENVELOPE__BODY_HELLO;
	h->env.hello = &h->hello;
}

static void legit_hello_free(struct legit_hello *h)
{
	free(h->vms); free(h->vmp); free(h->st); free(h->stp); free(h->ifc);
	free(h->ifcp); free(h->uuid); free(h->name); free(h->mac); free(h->ip); free(h->ips);
}

static void assert_decodes(Cordon__Envelope *env, const char *what)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	char err[256] = "";
	Cordon__Envelope *back;

	assert_int_equal(codec_encode(env, &buf, &len), 0);
	print_message("%s: %zu bytes (limit %d)\n", what, len, CORDON_MAX_MSG);
	back = codec_decode(buf, len, err, sizeof(err));
	if (!back)
		fail_msg("%s refused: %s", what, err);
	codec_free(back);
	free(buf);
}

static void test_largest_hello_fits(void **state)
{
	struct legit_hello h;
	(void)state;

	legit_hello_build(&h, LEGIT_VMS);
	assert_decodes(&h.env, "hello of 20000 VMs, 2 interfaces each, with states");
	legit_hello_free(&h);
}

/* A full desired set far beyond any host (the agent caps unlisted ones). */
static void test_largest_desired_fits(void **state)
{
	struct legit_hello h;
	Cordon__DesiredSet set = CORDON__DESIRED_SET__INIT;
	Cordon__Envelope env = CORDON__ENVELOPE__INIT;
	(void)state;

	legit_hello_build(&h, LEGIT_DESIRED);
	set.full = 1;
	set.n_vms = LEGIT_DESIRED;
	set.vms = h.stp;
	for (size_t i = 0; i < LEGIT_DESIRED; i++)
		h.st[i].mechanisms = "";
	env.body_case = CORDON__ENVELOPE__BODY_DESIRED;
	env.desired = &set;
	assert_decodes(&env, "full desired set of 100000 VMs");
	legit_hello_free(&h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hostile_ack_refused_within_budget),
		cmocka_unit_test(test_largest_hello_fits),
		cmocka_unit_test(test_largest_desired_fits),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

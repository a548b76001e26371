/* nfttool: drives agent/nft.c from tests and benchmarks, in whatever
 * network namespace it is started in.
 *
 *   nfttool [-t TABLE] [-d] STEP [-- STEP ...]
 *
 * Steps, run in order with one nft handle until one fails:
 *
 *   assert SCOPE=MAC,MAC,... [port=NAME[:smtp],...] ...
 *   verify SCOPE=MAC,... [port=...] ...
 *   add|del SCOPE MAC...
 *   bulk N [verify]
 *   bulkports N PREFIX [verify]
 *   monitor SECONDS [SCOPE=MAC,... ...]
 *   sh COMMAND           (system(3): e.g. tamper between two steps)
 *
 * add/del change what this process asserted last (an update batch from
 * nft.c's mirror), so they follow an assert step: alone they print
 * "ENOENT". Scopes not named in assert/verify are empty. Exit: 0 ok
 * (verify: table as expected), 1 failure (verify: different; add/del:
 * prints "ENOENT" on -ENOENT), 2 usage. */
#include "log.h"
#include "mac.h"
#include "nft.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void usage(void)
{
	fprintf(stderr,
		"usage: nfttool [-t TABLE] [-d] STEP [-- STEP ...]\n"
		"steps: assert|verify SCOPE=MAC,... [port=NAME[:smtp],...] ...\n"
		"       add|del SCOPE MAC...\n"
		"       bulk N [verify]\n"
		"       bulkports N PREFIX [verify]\n"
		"       monitor SECONDS [SCOPE=MAC,... ...]\n"
		"       sh COMMAND\n");
	exit(2);
}

/* The view this process asserted last: add/del change it. */
static struct nft_view cur;

/* "port=vnet1,vnet2:smtp": ports cut (drop unless ":smtp"). */
static int parse_port_arg(const char *list, struct port_list *ports)
{
	char name[64];

	for (const char *p = list; *p;) {
		size_t len = strcspn(p, ",");
		int kind = PORT_DROP;
		if (len == 0 || len >= sizeof(name))
			return -1;
		memcpy(name, p, len);
		name[len] = '\0';
		char *colon = strchr(name, ':');
		if (colon && strcmp(colon, ":smtp") == 0) {
			*colon = '\0';
			kind = PORT_SMTP;
		} else if (colon) {
			return -1;
		}
		if (port_list_add(ports, name, kind) < 0)
			return -1;
		p += len + (p[len] == ',');
	}
	return 0;
}

/* "public=52:54:00:00:00:01,52:54:00:00:00:02" (empty after '=' is fine) */
static int parse_scope_arg(const char *arg, struct nft_view *v)
{
	char name[16], mac_text[MAC_STRLEN];
	const char *eq = strchr(arg, '='), *p;
	struct mac mac;
	int scope;

	if (!eq || (size_t)(eq - arg) >= sizeof(name))
		return -1;
	memcpy(name, arg, (size_t)(eq - arg));
	name[eq - arg] = '\0';
	if (strcmp(name, "port") == 0)
		return parse_port_arg(eq + 1, &v->ports);
	if ((scope = scope_index(name)) < 0)
		return -1;
	for (p = eq + 1; *p;) {
		size_t len = strcspn(p, ",");
		if (len != MAC_STRLEN - 1)
			return -1;
		memcpy(mac_text, p, len);
		mac_text[len] = '\0';
		if (mac_parse(mac_text, &mac) < 0 ||
		    mac_list_add(&v->macs[scope], &mac) < 0)
			return -1;
		p += len + (p[len] == ',');
	}
	return 0;
}

static int parse_scope_args(int argc, char **argv, struct nft_view *v)
{
	memset(v, 0, sizeof(*v));
	for (int i = 0; i < argc; i++)
		if (parse_scope_arg(argv[i], v) < 0) {
			fprintf(stderr, "nfttool: bad argument: %s\n", argv[i]);
			nft_view_clear(v);
			return -1;
		}
	for (int s = 0; s < SCOPE_COUNT; s++)
		mac_list_sort_unique(&v->macs[s]);
	port_list_finish(&v->ports);
	return 0;
}

static void take_view(struct nft_view *v)
{
	nft_view_clear(&cur);
	cur = *v;
	memset(v, 0, sizeof(*v));
}

static int cmd_assert_verify(struct nft *nft, bool verify, int argc,
			     char **argv)
{
	struct nft_view v;
	int ret;

	if (parse_scope_args(argc, argv, &v) < 0)
		return 2;
	ret = verify ? nft_verify(nft, &v) : nft_assert(nft, &v);
	if (!verify && ret == 0)
		take_view(&v);
	nft_view_clear(&v);
	if (verify && ret == 1)
		printf("differs\n");
	return ret == 0 ? 0 : 1;
}

/* add|del SCOPE MAC...: changes the asserted view, one update batch. A
 * MAC the scope does not hold is ENOENT, as a lost element is. */
static int cmd_add_del(struct nft *nft, bool del, int argc, char **argv)
{
	struct mac_list next = { 0 }, chg = { 0 };
	struct mac mac;
	int scope, ret = 1;

	if (argc < 1 || (scope = scope_index(argv[0])) < 0)
		return 2;
	for (int i = 1; i < argc; i++)
		if (mac_parse(argv[i], &mac) < 0 || mac_list_add(&chg, &mac) < 0) {
			fprintf(stderr, "nfttool: bad MAC: %s\n", argv[i]);
			mac_list_clear(&chg);
			return 2;
		}
	mac_list_sort_unique(&chg);
	for (size_t i = 0; del && i < chg.n; i++)
		if (!mac_list_has_sorted(&cur.macs[scope], &chg.v[i])) {
			char text[MAC_STRLEN];
			mac_format(&chg.v[i], text);
			fprintf(stderr, "nfttool: %s is not cut in scope %s\n", text,
				scope_name(scope));
			printf("ENOENT\n");
			mac_list_clear(&chg);
			return 1;
		}
	if ((del ? mac_list_diff(&cur.macs[scope], &chg, &next)
		 : mac_list_union(&cur.macs[scope], &chg, &next)) == 0) {
		struct mac_list old = cur.macs[scope];
		cur.macs[scope] = next;
		ret = nft_update(nft, &cur);
		if (ret == 0) {
			mac_list_clear(&old);
		} else {
			cur.macs[scope] = old;
			mac_list_clear(&next);
		}
	}
	mac_list_clear(&chg);
	if (ret == -ENOENT)
		printf("ENOENT\n");
	return ret == 0 ? 0 : 1;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* N locally administered MACs 02:00:xx:xx:xx:xx, cut in scope public. */
static int bulk_view(long n, struct nft_view *v)
{
	memset(v, 0, sizeof(*v));
	for (long i = 0; i < n; i++) {
		struct mac mac = { { 0x02, 0, (uint8_t)(i >> 24), (uint8_t)(i >> 16),
				     (uint8_t)(i >> 8), (uint8_t)i } };
		if (mac_list_add(&v->macs[0], &mac) < 0) {
			fprintf(stderr, "nfttool: out of memory\n");
			return -1;
		}
	}
	return 0;
}

/* Times an assert of v (and a verify); prints seconds. */
static int timed_assert(struct nft *nft, struct nft_view *v, bool verify)
{
	double t0 = now();
	int ret = nft_assert(nft, v) == 0 ? 0 : 1;
	double t1 = now();

	if (ret == 0)
		printf("%.4f\n", t1 - t0);
	if (ret == 0 && verify) {
		ret = nft_verify(nft, v) == 0 ? 0 : 1;
		printf("verify %.4f\n", now() - t1);
	}
	return ret;
}

/* bulk N [verify]: time nft_assert() of N MACs (and nft_verify()). */
static int cmd_bulk(struct nft *nft, int argc, char **argv)
{
	struct nft_view v;
	bool verify = argc == 2 && strcmp(argv[1], "verify") == 0;
	char *end;
	long n;
	int ret = 1;

	if ((argc != 1 && !verify) || (n = strtol(argv[0], &end, 10)) < 0 ||
	    *end || n > 0xffffffffL)
		return 2;
	if (bulk_view(n, &v) == 0)
		ret = timed_assert(nft, &v, verify);
	nft_view_clear(&v);
	return ret;
}

/* bulkports N PREFIX [verify]: time an assert of ports PREFIX0..PREFIXN-1
 * cut (drop), then of none (the lift): two lines of seconds. */
static int cmd_bulkports(struct nft *nft, int argc, char **argv)
{
	struct nft_view v = { 0 }, none = { 0 };
	bool verify = argc == 3 && strcmp(argv[2], "verify") == 0;
	char name[32], *end;
	long n;
	int ret = 1;

	if ((argc != 2 && !verify) || (n = strtol(argv[0], &end, 10)) < 0 ||
	    *end || n > 100000 || strlen(argv[1]) > 9)
		return 2;
	for (long i = 0; i < n; i++) {
		snprintf(name, sizeof(name), "%s%ld", argv[1], i);
		if (port_list_add(&v.ports, name, PORT_DROP) < 0)
			goto out;
	}
	port_list_finish(&v.ports);
	ret = timed_assert(nft, &v, verify);
	if (ret == 0)
		ret = timed_assert(nft, &none, false);
out:
	nft_view_clear(&v);
	return ret;
}

/* Prints "tamper" for each report. With SCOPE=MACS arguments it also
 * asserts those sets first and again after each report, like the agent,
 * and prints "reasserted": our own batches must not report again. */
static int monitor_loop(struct nft *nft, double secs, const struct nft_view *v)
{
	struct pollfd pfd = { .fd = nft_monitor_fd(nft), .events = POLLIN };
	double deadline = now() + secs;

	for (double left; (left = deadline - now()) > 0;) {
		int ret = poll(&pfd, 1, (int)(left * 1000) + 1);
		if (ret < 0 && errno != EINTR) {
			perror("nfttool: poll");
			return 1;
		}
		if (ret <= 0)
			continue;
		ret = nft_monitor_read(nft);
		if (ret < 0)
			return 1;
		if (ret == 0)
			continue;
		printf("tamper\n");
		if (v && nft_assert(nft, v) == 0)
			printf("reasserted\n");
		fflush(stdout);
	}
	return 0;
}

static int cmd_monitor(struct nft *nft, int argc, char **argv)
{
	struct nft_view v;
	char *end;
	double secs;
	int ret = 1;

	if (argc < 1 || (secs = strtod(argv[0], &end)) < 0 || *end)
		return 2;
	if (parse_scope_args(argc - 1, argv + 1, &v) < 0)
		return 2;
	if (argc == 1 || nft_assert(nft, &v) == 0)
		ret = monitor_loop(nft, secs, argc > 1 ? &v : NULL);
	nft_view_clear(&v);
	return ret;
}

/* sh COMMAND: 0 if it exited 0, else 1 */
static int cmd_sh(int argc, char **argv)
{
	int status;

	if (argc != 1)
		return 2;
	fflush(stdout);
	status = system(argv[0]);
	if (status == -1) {
		perror("nfttool: system");
		return 1;
	}
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : 1;
}

static int run_step(struct nft *nft, int argc, char **argv)
{
	const char *cmd = argc > 0 ? argv[0] : "";

	if (strcmp(cmd, "assert") == 0 || strcmp(cmd, "verify") == 0)
		return cmd_assert_verify(nft, cmd[0] == 'v', argc - 1, argv + 1);
	if (strcmp(cmd, "add") == 0 || strcmp(cmd, "del") == 0)
		return cmd_add_del(nft, cmd[0] == 'd', argc - 1, argv + 1);
	if (strcmp(cmd, "bulk") == 0)
		return cmd_bulk(nft, argc - 1, argv + 1);
	if (strcmp(cmd, "bulkports") == 0)
		return cmd_bulkports(nft, argc - 1, argv + 1);
	if (strcmp(cmd, "monitor") == 0)
		return cmd_monitor(nft, argc - 1, argv + 1);
	if (strcmp(cmd, "sh") == 0)
		return cmd_sh(argc - 1, argv + 1);
	return 2;
}

/* The steps between "--" separators, until one does not return 0. */
static int run(struct nft *nft, int argc, char **argv)
{
	int start = 0, ret = 0;

	for (int i = 0; ret == 0 && i <= argc; i++) {
		if (i < argc && strcmp(argv[i], "--") != 0)
			continue;
		ret = run_step(nft, i - start, argv + start);
		start = i + 1;
	}
	return ret;
}

int main(int argc, char **argv)
{
	const char *table = "cordon";
	enum log_level level = LOG_LVL_INFO;
	struct nft *nft;
	int opt, ret;

	while ((opt = getopt(argc, argv, "+t:d")) != -1) {
		if (opt == 't')
			table = optarg;
		else if (opt == 'd')
			level = LOG_LVL_DEBUG;
		else
			usage();
	}
	argc -= optind;
	argv += optind;
	if (argc < 1)
		usage();
	log_init("nfttool", level);
	nft = nft_new(table);
	if (!nft)
		return 1;
	ret = run(nft, argc, argv);
	nft_view_clear(&cur);
	nft_free(nft);
	if (ret == 2)
		usage();
	return ret;
}

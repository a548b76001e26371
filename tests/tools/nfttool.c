/* nfttool: drives agent/nft.c from tests and benchmarks, in whatever
 * network namespace it is started in.
 *
 *   nfttool [-t TABLE] [-d] STEP [-- STEP ...]
 *
 * Steps, run in order with one nft handle until one fails:
 *
 *   assert SCOPE=MAC,MAC,... ...
 *   verify SCOPE=MAC,... ...
 *   add|del SCOPE MAC...
 *   bulk N [verify]
 *   monitor SECONDS [SCOPE=MAC,... ...]
 *   sh COMMAND           (system(3): e.g. tamper between two steps)
 *
 * add/del change what this process asserted (nft.c keeps the scopes of
 * each MAC in the handle), so they follow an assert step: alone they print
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
		"steps: assert|verify SCOPE=MAC,... ...\n"
		"       add|del SCOPE MAC...\n"
		"       bulk N [verify]\n"
		"       monitor SECONDS [SCOPE=MAC,... ...]\n"
		"       sh COMMAND\n");
	exit(2);
}

static void lists_clear(struct mac_list *lists)
{
	for (int i = 0; i < SCOPE_COUNT; i++)
		mac_list_clear(&lists[i]);
}

/* "public=52:54:00:00:00:01,52:54:00:00:00:02" (empty after '=' is fine) */
static int parse_scope_arg(const char *arg, struct mac_list *lists)
{
	char name[16], mac_text[MAC_STRLEN];
	const char *eq = strchr(arg, '='), *p;
	struct mac mac;
	int scope;

	if (!eq || (size_t)(eq - arg) >= sizeof(name))
		return -1;
	memcpy(name, arg, (size_t)(eq - arg));
	name[eq - arg] = '\0';
	if ((scope = scope_index(name)) < 0)
		return -1;
	for (p = eq + 1; *p;) {
		size_t len = strcspn(p, ",");
		if (len != MAC_STRLEN - 1)
			return -1;
		memcpy(mac_text, p, len);
		mac_text[len] = '\0';
		if (mac_parse(mac_text, &mac) < 0 ||
		    mac_list_add(&lists[scope], &mac) < 0)
			return -1;
		p += len + (p[len] == ',');
	}
	return 0;
}

static int parse_scope_args(int argc, char **argv, struct mac_list *lists)
{
	for (int i = 0; i < argc; i++)
		if (parse_scope_arg(argv[i], lists) < 0) {
			fprintf(stderr, "nfttool: bad argument: %s\n", argv[i]);
			return -1;
		}
	return 0;
}

static int cmd_assert_verify(struct nft *nft, bool verify, int argc,
			     char **argv)
{
	struct mac_list lists[SCOPE_COUNT] = { 0 };
	int ret;

	if (parse_scope_args(argc, argv, lists) < 0) {
		lists_clear(lists);
		return 2;
	}
	ret = verify ? nft_verify_table(nft, lists) : nft_assert_table(nft, lists);
	lists_clear(lists);
	if (verify && ret == 1)
		printf("differs\n");
	return ret == 0 ? 0 : 1;
}

static int cmd_add_del(struct nft *nft, bool del, int argc, char **argv)
{
	struct mac_list list = { 0 };
	struct mac mac;
	int scope, ret;

	if (argc < 1 || (scope = scope_index(argv[0])) < 0)
		return 2;
	for (int i = 1; i < argc; i++)
		if (mac_parse(argv[i], &mac) < 0 || mac_list_add(&list, &mac) < 0) {
			fprintf(stderr, "nfttool: bad MAC: %s\n", argv[i]);
			mac_list_clear(&list);
			return 2;
		}
	ret = del ? nft_set_del_macs(nft, scope, list.v, list.n)
		  : nft_set_add_macs(nft, scope, list.v, list.n);
	mac_list_clear(&list);
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
static int bulk_lists(long n, struct mac_list *lists)
{
	for (long i = 0; i < n; i++) {
		struct mac mac = { { 0x02, 0, (uint8_t)(i >> 24), (uint8_t)(i >> 16),
				     (uint8_t)(i >> 8), (uint8_t)i } };
		if (mac_list_add(&lists[0], &mac) < 0) {
			fprintf(stderr, "nfttool: out of memory\n");
			return -1;
		}
	}
	return 0;
}

/* bulk N [verify]: time nft_assert_table() (and nft_verify_table()). */
static int cmd_bulk(struct nft *nft, int argc, char **argv)
{
	struct mac_list lists[SCOPE_COUNT] = { 0 };
	bool verify = argc == 2 && strcmp(argv[1], "verify") == 0;
	char *end;
	long n;
	int ret = 1;

	if ((argc != 1 && !verify) || (n = strtol(argv[0], &end, 10)) < 0 ||
	    *end || n > 0xffffffffL)
		return 2;
	if (bulk_lists(n, lists) == 0) {
		double t0 = now();
		ret = nft_assert_table(nft, lists) == 0 ? 0 : 1;
		double t1 = now();
		if (ret == 0)
			printf("%.4f\n", t1 - t0);
		if (ret == 0 && verify) {
			ret = nft_verify_table(nft, lists) == 0 ? 0 : 1;
			printf("verify %.4f\n", now() - t1);
		}
	}
	lists_clear(lists);
	return ret;
}

/* Prints "tamper" for each report. With SCOPE=MACS arguments it also
 * asserts those sets first and again after each report, like the agent,
 * and prints "reasserted": our own batches must not report again. */
static int monitor_loop(struct nft *nft, double secs,
			const struct mac_list *lists)
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
		if (lists && nft_assert_table(nft, lists) == 0)
			printf("reasserted\n");
		fflush(stdout);
	}
	return 0;
}

static int cmd_monitor(struct nft *nft, int argc, char **argv)
{
	struct mac_list lists[SCOPE_COUNT] = { 0 };
	char *end;
	double secs;
	int ret = 1;

	if (argc < 1 || (secs = strtod(argv[0], &end)) < 0 || *end)
		return 2;
	if (parse_scope_args(argc - 1, argv + 1, lists) < 0) {
		lists_clear(lists);
		return 2;
	}
	if (argc == 1 || nft_assert_table(nft, lists) == 0)
		ret = monitor_loop(nft, secs, argc > 1 ? lists : NULL);
	lists_clear(lists);
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
	nft_free(nft);
	if (ret == 2)
		usage();
	return ret;
}

/* cordonctl report ingest: one mail from an MTA pipe (or a file) into
 * cordond. The mail is parsed here, in a short-lived process, so that a
 * parser bug on hostile input never takes the controller down; cordond
 * gets the message (its first size_cap bytes) and the parse, and checks
 * both. The exit status is what an MTA acts on: 0 stored, 65 stored but
 * not a mail, 75 not stored (the MTA keeps it and retries). */
#include <glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control_roles.h"
#include "cordonctl.h"
#include "report_parse.h"
#include "termsafe.h"

static void ingest_usage(FILE *f)
{
	fprintf(f,
		"usage: cordonctl report ingest [--types FILE] [--rules FILE] [--json] [FILE|-]\n"
		"\n"
		"Stores one abuse report mail (RFC 5322; FILE, or standard input) in cordond and\n"
		"matches each address it names to the VM that held the address at the reported\n"
		"time; a matched report opens a case of its category or joins the open one.\n"
		"The same mail twice (Message-ID, X-ARF report id, ARF original) counts once.\n"
		"Meant as an MTA pipe (docs/reports.md): it talks to cordond's report socket\n"
		"(beside the control socket: control.sock -> control-report.sock), falling back\n"
		"to the control socket.\n"
		"\n"
		"Exit status: 0 stored, 65 stored but not a mail (listed by report list\n"
		"--unmatched), 75 not stored: controller unreachable, its store refused, or a\n"
		"configuration that cannot be read (the MTA keeps the mail and retries),\n"
		"64 usage error.\n");
}

/* The request: the kept bytes in base64, the size read, the parse. */
static json_t *ingest_request(const char *msg, size_t len, size_t total,
			      const struct report_config *cfg, char *err, size_t errlen,
			      int *not_mail)
{
	struct report_parsed r;
	size_t kept = len > cfg->size_cap ? cfg->size_cap : len;
	int rc = report_parse(msg, len, cfg, &r, err, errlen);
	json_t *parsed = report_parsed_json(&r);
	gchar *b64 = g_base64_encode((const guchar *)msg, kept);
	json_t *req = NULL;

	*not_mail = rc < 0;
	if (parsed && b64)
		req = json_pack("{s:s, s:s, s:I, s:o, s:s?}", "cmd", "report_ingest", "raw", b64,
				"size", (json_int_t)total, "parsed", parsed, "error",
				rc < 0 ? err : NULL);
	else
		json_decref(parsed);
	g_free(b64);
	report_parsed_free(&r);
	return req;
}

/* The report socket first (all an MTA user may reach), then the control
 * socket (root, the cordon group). */
static json_t *ingest_send(const struct ctl_opts *o, json_t *req)
{
	char report_sock[108];
	int unreachable = 0;
	json_t *result;

	if (control_socket_sibling(o->socket, "report", report_sock, sizeof(report_sock)) == 0) {
		result = ctl_call_socket(report_sock, json_incref(req), &unreachable);
		if (result || !unreachable) {
			json_decref(req);
			return result;
		}
	}
	return ctl_call_socket(o->socket, req, &unreachable);
}

static int ingest_file(const struct ctl_opts *o, const char *path, struct report_config *cfg)
{
	char err[512] = "";
	size_t len, total;
	int not_mail, rc;
	char *msg = report_read_message(path, cfg->size_cap, &len, &total);
	json_t *req, *result;

	if (!msg)
		return EXIT_TEMPFAIL;
	req = ingest_request(msg, len, total, cfg, err, sizeof(err), &not_mail);
	free(msg);
	if (!req) {
		fprintf(stderr, "cordonctl: out of memory\n");
		return EXIT_TEMPFAIL;
	}
	result = ingest_send(o, req);
	if (!result) {
		fprintf(stderr, "cordonctl: report not stored (exit 75: the MTA will retry)\n");
		return EXIT_TEMPFAIL;
	}
	if (o->json)
		print_json(result);
	else if (print_safe(print_report_ingested, result) != 0)
		fprintf(stderr, "cordonctl: stored, but out of memory printing it\n");
	json_decref(result);
	rc = not_mail ? EXIT_NOT_MAIL : 0;
	if (not_mail) {
		fprintf(stderr, "cordonctl: %s: ", path);
		termsafe_fputs(err, 0, stderr);
		fputs(" (stored for review)\n", stderr);
	}
	return rc;
}

int report_ingest_cmd(const struct ctl_opts *o, int argc, char **argv)
{
	const char *types, *rules;
	struct report_config *cfg;
	int rc = report_conf_args(argc, argv, ingest_usage, &types, &rules);

	if (rc != 0)
		return rc > 0 ? 0 : 64; /* EX_USAGE */
	if (optind < argc - 1) {
		fprintf(stderr, "cordonctl: usage: cordonctl report ingest [--types FILE] "
			"[--rules FILE] [--json] [FILE|-]\n");
		return 64; /* EX_USAGE */
	}
	cfg = report_load_config(types, rules);
	if (!cfg)
		return EXIT_TEMPFAIL; /* the mail is kept until the file is fixed */
	rc = ingest_file(o, optind < argc ? argv[optind] : "-", cfg);
	report_config_free(cfg);
	return rc;
}

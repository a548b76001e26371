/* cordonctl_print.c: human tables and JSON output of cordonctl. */
#ifndef CORDON_CORDONCTL_H
#define CORDON_CORDONCTL_H

#include <jansson.h>
#include <stddef.h>
#include <stdio.h>

struct ctl_opts {
	const char *socket;
	int json;
};

#define EXIT_REFUSED 1
#define EXIT_USAGE 2
#define EXIT_UNREACHABLE 3

/* cordonctl.c: sends req (stolen), prints the result with print or as
 * JSON; returns the exit status. */
int run_simple(const struct ctl_opts *o, json_t *req, void (*print)(const json_t *result));

/* Reports the option getopt just refused, in one line. */
int bad_option(char **argv);

/* cordonctl_case.c */
int cmd_case(const struct ctl_opts *o, int argc, char **argv);
int cmd_audit(const struct ctl_opts *o, int argc, char **argv);
int cmd_clock(const struct ctl_opts *o, int argc, char **argv);
int cmd_policy(const struct ctl_opts *o, int argc, char **argv);

/* cordonctl_report.c: report parse (offline, no controller) and the
 * subcommands below. */
int cmd_report(const struct ctl_opts *o, int argc, char **argv);

#define EXIT_NOT_MAIL 65 /* EX_DATAERR: what an MTA understands */
#define EXIT_TEMPFAIL 75 /* EX_TEMPFAIL: the MTA keeps the mail and retries */
#define DEFAULT_TYPES "/etc/cordon/report-types.conf"
#define DEFAULT_RULES "/etc/cordon/report-rules.conf"

struct report_config;
/* The first cap + 1 bytes of path (or stdin), the rest read and counted
 * into *total. NULL (said on stderr) when it cannot be read. */
char *report_read_message(const char *path, size_t cap, size_t *len, size_t *total);
struct report_config *report_load_config(const char *types, const char *rules);
/* --types FILE, --rules FILE (defaults DEFAULT_TYPES, DEFAULT_RULES) and
 * --help (usage printed) of report parse and ingest; optind is left at
 * the first operand. 0, 1 after --help, -1 a bad option (said). */
int report_conf_args(int argc, char **argv, void (*usage)(FILE *f), const char **types,
		     const char **rules);
/* cordonctl_report_ingest.c: report ingest (the MTA pipe) */
int report_ingest_cmd(const struct ctl_opts *o, int argc, char **argv);
/* cordonctl_report_views.c: report list, show, attach */
int report_list_cmd(const struct ctl_opts *o, int argc, char **argv);
int report_show_cmd(const struct ctl_opts *o, int argc, char **argv);
int report_attach_cmd(const struct ctl_opts *o, int argc, char **argv);
/* Sends req (stolen) to the control socket (reads: or the read-only one);
 * the reply's "result", or NULL with the error printed and *status set. */
json_t *ctl_call(const struct ctl_opts *o, json_t *req, int *status);
/* Sends req (stolen) to socket; the reply's "result", or NULL with the
 * reason printed, *unreachable set when nothing was sent. */
json_t *ctl_call_socket(const char *socket, json_t *req, int *unreachable);
/* cordonctl_prune.c: prune [--dry-run] (a retention pass now). */
int cmd_prune(const struct ctl_opts *o, int argc, char **argv);
/* cordonctl_backup.c: backup FILE (offline read of the store). */
int cmd_backup(const struct ctl_opts *o, int argc, char **argv);

/* cordonctl_print*.c */
void print_case_opened(const json_t *result);
void print_case_list(const json_t *result);
void print_case_show(const json_t *result);
void print_done(const json_t *result);
void print_replan(const json_t *result);
void print_audit(const json_t *result);
void print_clock(const json_t *result);
void print_policy_list(const json_t *result);
void print_policy_show(const json_t *result);
void print_json(const json_t *result);
/* Runs print on a terminal-safe copy of result: every text printer goes
 * through it. 0, or EXIT_REFUSED when out of memory. */
int print_safe(void (*print)(const json_t *result), const json_t *result);
void print_status(const json_t *result);
void print_agents(const json_t *result);
void print_vms(const json_t *result);
void print_vm_show(const json_t *result);
void print_change(const json_t *result);
void print_report_ingested(const json_t *result);
void print_report_list(const json_t *result);
void print_report_show(const json_t *result);
void print_report_attached(const json_t *result);

#endif

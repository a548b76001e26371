/* cordonctl_print.c: human tables and JSON output of cordonctl. */
#ifndef CORDON_CORDONCTL_H
#define CORDON_CORDONCTL_H

#include <jansson.h>

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

/* cordonctl_report.c: report parse (offline, no controller). */
int cmd_report(const struct ctl_opts *o, int argc, char **argv);

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

#endif

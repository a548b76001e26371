/* cordonctl_print.c: human tables and JSON output of cordonctl. */
#ifndef CORDON_CORDONCTL_H
#define CORDON_CORDONCTL_H

#include <jansson.h>

struct ctl_opts {
	const char *socket;
	int json;
};

void print_json(const json_t *result);
void print_status(const json_t *result);
void print_agents(const json_t *result);
void print_vms(const json_t *result);
void print_vm_show(const json_t *result);
void print_change(const json_t *result);

#endif

/* Helpers shared by the case command files (cases.c, case_actions.c,
 * case_views.c). */
#ifndef CORDON_CASES_H
#define CORDON_CASES_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

struct cordond;

#define SCHEDULER_BATCH 2000

/* A non-empty string member of req, or NULL. */
const char *req_str(const json_t *req, const char *key);
/* req's "id" as a case id; else *error is the reply. */
int req_case_id(const json_t *req, int64_t *id, json_t **error);
/* Fires everything due now (after a change that may make steps due). */
void cases_run_scheduler(struct cordond *d);
/* case_ladder.c: the ladder a case follows, for case show: {id, hash,
 * text, clock, steps, current, current_id}; NULL on a store error. */
json_t *case_ladder_json(struct cordond *d, int64_t ladder, const char *category);

/* A report on a VM: what `case open` and a matched report mail bring. */
struct case_report_in {
	const char *category, *uuid, *ip, *contact, *source, *evidence;
	int64_t report; /* the mail's id (reports table); 0: typed by an operator */
};
/* Inside a transaction: adds the report to the open case of its category
 * on the VM (*joined) or opens one, replans its steps, audits. The case
 * id, or -1 on a store error. Run cases_run_scheduler after commit. */
int64_t case_take_report(struct cordond *d, const struct case_report_in *in, uid_t uid,
			 bool *joined);
/* Inside a transaction: adds the report to case id (open, on in->uuid),
 * replans, audits action with detail. 0 or -1 on a store error. */
int case_add_report(struct cordond *d, int64_t id, const struct case_report_in *in, uid_t uid,
		    const char *action, const char *detail);

#endif

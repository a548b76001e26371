/* Helpers shared by the case command files (cases.c, case_actions.c,
 * case_views.c). */
#ifndef CORDON_CASES_H
#define CORDON_CASES_H

#include <jansson.h>
#include <stdint.h>

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

#endif

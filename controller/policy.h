/* policy.c: escalation ladders, one file per abuse category, and the pure
 * computation of when each step of a case falls due.
 *
 * File format (line oriented; '#' starts a comment anywhere on a line):
 *
 *   category = phishing            required, [a-z0-9-], unique in a dir
 *   clock = wall                   wall (default) or business
 *   description = free text        optional, one line
 *   step OFFSET ACTION [CONDITION...]
 *   step after call OFFSET ACTION [CONDITION...]
 *
 *   OFFSET    = 0 | duration ("90m", "2h", "1h30m", "7d"), from the case
 *               opening (or from each report, see each-report); counted in
 *               working time when clock = business
 *   after call  the offset counts from the call step before this one: from
 *               the later of its due time and the moment `case called`
 *               recorded the call. A call nobody confirms holds nothing
 *               back (its due time counts); one made late moves this step
 *               later, if it has not fired yet.
 *   ACTION    = notify TEMPLATE | call | suspend SCOPES | poweroff
 *   TEMPLATE  = [A-Za-z0-9_-]+ (names a notification template)
 *   SCOPES    = public|private|smtp|all, comma separated, no spaces
 *   CONDITION = unless-responded   the default: skipped once the customer
 *                                  has responded before the step is due
 *             | always             runs even after a response
 *             | each-report        one run per report, OFFSET after it
 *             | when reports >= N within DURATION
 *                                  due once N reports fall inside a window
 *                                  of DURATION (never with each-report)
 */
#ifndef CORDON_POLICY_H
#define CORDON_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <time.h>

struct calendar;

enum policy_clock { POLICY_CLOCK_WALL, POLICY_CLOCK_BUSINESS };

enum policy_action {
	POLICY_NOTIFY,
	POLICY_CALL,
	POLICY_SUSPEND,
	POLICY_POWEROFF,
};

#define POLICY_SCOPE_PUBLIC  0x1u
#define POLICY_SCOPE_PRIVATE 0x2u
#define POLICY_SCOPE_SMTP    0x4u
#define POLICY_SCOPE_ALL     0x7u

#define POLICY_CATEGORY_MAX 64
#define POLICY_TEMPLATE_MAX 64

struct policy_step {
	long offset;                    /* seconds (working seconds if business) */
	enum policy_action action;
	char tmpl[POLICY_TEMPLATE_MAX]; /* notify only */
	unsigned scopes;                /* suspend only: POLICY_SCOPE_* */
	bool always;                    /* runs even after a response */
	bool each_report;
	unsigned min_reports;           /* 0: no report threshold */
	long window;                    /* seconds, with min_reports */
	bool after_call;                /* offset from the call step below */
	size_t anchor;                  /* with after_call: that step's index */
	unsigned line;                  /* where it was written */
};

struct policy;
struct policy_set;

/* NULL with "path:line: reason" (or "path: reason") in err. */
struct policy *policy_load(const char *path, char *err, size_t errlen);
/* Same from memory; name stands for the file in messages. */
struct policy *policy_parse(const char *name, const char *text, char *err,
			    size_t errlen);
void policy_free(struct policy *p);

const char *policy_path(const struct policy *p);
const char *policy_category(const struct policy *p);
const char *policy_description(const struct policy *p); /* "" if none */
enum policy_clock policy_clock(const struct policy *p);
size_t policy_n_steps(const struct policy *p);
const struct policy_step *policy_step(const struct policy *p, size_t i);

const char *policy_action_name(enum policy_action a);
/* "public,private", "all"; buf of at least 32 bytes. */
void policy_scopes_format(unsigned scopes, char *buf, size_t len);

/* Canonical text of the policy (loadable again), for `cordonctl policy
 * show`. -1 when writing fails. */
int policy_format(const struct policy *p, FILE *out);
/* The ladder alone: category, clock and steps in canonical form, without
 * the file's name, comments or description, so that two files that run
 * the same steps give the same text (loadable again). What a case keeps
 * (ladder.c). -1 when writing fails. */
int policy_format_ladder(const struct policy *p, FILE *out);
/* "notify warning", "call", "suspend public,private", "poweroff": the
 * action and its argument, what identifies a step across ladders. */
void policy_step_describe(const struct policy_step *st, char *buf, size_t len);

/* Every *.policy file in dir (sorted by name; other files ignored). An
 * empty directory or a category defined twice is an error. */
struct policy_set *policy_set_load_dir(const char *dir, char *err,
				       size_t errlen);
void policy_set_free(struct policy_set *set);
size_t policy_set_count(const struct policy_set *set);
const struct policy *policy_set_at(const struct policy_set *set, size_t i);
const struct policy *policy_set_find(const struct policy_set *set,
				     const char *category);

/* What the scheduler knows of a case. */
struct policy_case {
	time_t opened;
	bool responded;
	time_t responded_at;
	const time_t *reports; /* every report, the opening one included,
				* ascending; none counts as one at opened */
	size_t n_reports;
	time_t called_at;      /* when `case called` recorded the call; 0 none */
};

enum policy_due_state {
	POLICY_DUE_PENDING,     /* fires at due (now, if due has passed) */
	POLICY_DUE_SKIPPED,     /* the customer responded before due */
	POLICY_DUE_WAITING,     /* report threshold not reached: no due time */
};

struct policy_due {
	size_t step;            /* index in the policy */
	size_t report;          /* each-report steps: which report; else 0 */
	time_t due;             /* meaningless when WAITING */
	enum policy_due_state state;
};

/* Due time of every step of a case, sorted by due time (file order within
 * one instant, WAITING last). */
struct policy_plan {
	size_t n;
	struct policy_due *items;
};

/* cal is required for business-clock policies. NULL with errno EINVAL
 * (no calendar, unsorted reports), ERANGE or ENOMEM. */
struct policy_plan *policy_plan_new(const struct policy *p,
				    const struct calendar *cal,
				    const struct policy_case *c);
void policy_plan_free(struct policy_plan *plan);

#endif

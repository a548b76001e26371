/* cordonctl output for cases, audit, clock and policies. */
#include <stdio.h>
#include <string.h>

#include "cordonctl.h"
#include "cordonctl_fields.h"
#include "util.h"

/* case show: the start of the evidence (--json has all of it). */
#define EVIDENCE_SHOWN 300

void print_case_opened(const json_t *r)
{
	if (json_is_true(json_object_get(r, "joined")))
		printf("report %lld added to open case %lld\n", i_(r, "reports"), i_(r, "id"));
	else
		printf("case %lld opened\n", i_(r, "id"));
}

void print_done(const json_t *r)
{
	printf("case %lld: %s\n", i_(r, "id"), s_(r, "done"));
}

void print_replan(const json_t *r)
{
	if (!json_is_true(json_object_get(r, "changed"))) {
		printf("case %lld: %s (ladder #%lld)\n", i_(r, "id"), s_(r, "done"), i_(r, "to"));
		return;
	}
	printf("case %lld: %s: ladder #%lld -> #%lld, %lld fired step(s) kept, %lld only in the "
	       "history, %lld planned\n", i_(r, "id"), s_(r, "done"), i_(r, "from"), i_(r, "to"),
	       i_(r, "kept"), i_(r, "history"), i_(r, "planned"));
}

/* The next step's action, marked when it is failing (retried). */
static const char *next_action(const json_t *next, char *buf, size_t len)
{
	if (!json_is_object(next))
		return "-";
	snprintf(buf, len, "%s%s", s_(next, "action"),
		 strcmp(s_(next, "state"), "failing") == 0 ? " (failing)" : "");
	return buf;
}

void print_case_list(const json_t *r)
{
	size_t i;
	json_t *c, *next;
	char opened[32], due[32], what[128];

	if (json_array_size(r) == 0) {
		printf("no cases\n");
		return;
	}
	printf("%-6s %-9s %-15s %-14s %-15s %-20s %-24s %-20s %s\n", "ID", "STATE", "CATEGORY",
	       "VM", "IP", "OPENED", "NEXT", "DUE", "CALL");
	json_array_foreach(r, i, c) {
		next = json_object_get(c, "next");
		printf("%-6lld %-9s %-15s %-14s %-15s %-20s %-24s %-20s %s\n", i_(c, "id"),
		       s_(c, "state"), s_(c, "category"), s_(c, "vm_name"), s_(c, "ip"),
		       t_(c, "opened", opened, sizeof(opened)),
		       next_action(next, what, sizeof(what)),
		       json_is_object(next) ? t_(next, "due", due, sizeof(due)) : "-",
		       i_(c, "calls_open") ? s_(c, "contact") : "");
	}
}

static void print_step_retry(const json_t *s)
{
	char next[32];

	if (strcmp(s_(s, "state"), "failing") == 0)
		printf("      failed %lld time(s), next try %s: %s\n", i_(s, "attempts"),
		       t_(s, "next_try", next, sizeof(next)), s_(s, "last_error"));
	else if (i_(s, "attempts") > 0)
		printf("      fired after %lld failed attempt(s); the last: %s\n", i_(s, "attempts"),
		       s_(s, "last_error"));
}

static void print_steps(const json_t *steps)
{
	size_t i;
	json_t *s;
	char due[32], fired[32];

	printf("steps:\n");
	json_array_foreach(steps, i, s) {
		printf("  %2lld. %-24s %-9s due %-20s", i_(s, "step"), s_(s, "action"), s_(s, "state"),
		       t_(s, "due", due, sizeof(due)));
		if (json_is_integer(json_object_get(s, "fired_at")))
			printf(" fired %s", t_(s, "fired_at", fired, sizeof(fired)));
		if (i_(s, "late") >= 2)
			printf(" (%llds late)", i_(s, "late"));
		printf("\n");
		if (json_string_value(json_object_get(s, "why")))
			printf("      %s\n", s_(s, "why"));
		print_step_retry(s);
	}
}

static void print_replaced(const json_t *steps)
{
	size_t i;
	json_t *s;
	char fired[32];

	if (json_array_size(steps) == 0)
		return;
	printf("fired under an earlier ladder, not in the one followed now:\n");
	json_array_foreach(steps, i, s)
		printf("  ladder #%lld step %lld: %s, fired %s\n", i_(s, "ladder"), i_(s, "step"),
		       s_(s, "action"), t_(s, "fired_at", fired, sizeof(fired)));
}

/* The ladder the case follows, and how it stands to the current policy. */
static void print_ladder(const json_t *c)
{
	const json_t *l = json_object_get(c, "ladder");
	const char *text = json_string_value(json_object_get(l, "text"));

	if (!json_is_integer(json_object_get(l, "id"))) {
		printf("ladder     none recorded (the case is older than the ladders cordond keeps)\n");
		return;
	}
	printf("ladder     #%lld (%s)", i_(l, "id"), s_(l, "hash"));
	if (json_is_true(json_object_get(l, "current")))
		printf(": the current %s policy\n", s_(c, "category"));
	else if (json_is_integer(json_object_get(l, "current_id")))
		printf(": differs from the current %s policy (#%lld); cordonctl case replan %lld "
		       "applies it\n", s_(c, "category"), i_(l, "current_id"), i_(c, "id"));
	else
		printf(": no %s policy is loaded now\n", s_(c, "category"));
	if (json_string_value(json_object_get(l, "error")))
		printf("           cannot be read: %s\n", s_(l, "error"));
	for (const char *p = text; p && *p;) {
		size_t n = strcspn(p, "\n");
		if (strncmp(p, "step ", 5) == 0)
			printf("  %.*s\n", (int)n, p);
		p += n + (p[n] == '\n');
	}
}

static void print_events(const json_t *events)
{
	size_t i;
	json_t *e;
	char at[32], by[32], inst[80];

	printf("history:\n");
	json_array_foreach(events, i, e)
		printf("  %s  %-9s %-10s %s%s\n", t_(e, "at", at, sizeof(at)), s_(e, "action"),
		       who(e, by, sizeof(by)), s_(e, "detail"), by_instance(e, inst, sizeof(inst)));
}

static void print_outbox(const json_t *c)
{
	size_t i;
	json_t *n;
	char at[32];

	json_array_foreach(json_object_get(c, "notifications"), i, n)
		printf("notification %lld: %s to %s: %s%s%s\n", i_(n, "id"), s_(n, "template"),
		       s_(n, "recipient"), s_(n, "state"),
		       json_string_value(json_object_get(n, "last_error")) ? ", last error: " : "",
		       json_string_value(json_object_get(n, "last_error")) ? s_(n, "last_error") : "");
	json_array_foreach(json_object_get(c, "calls"), i, n)
		printf("call task %lld: call %s (since %s): %s%s%s\n", i_(n, "id"), s_(n, "contact"),
		       t_(n, "created", at, sizeof(at)), s_(n, "state"),
		       json_string_value(json_object_get(n, "hook_state")) ? ", hook " : "",
		       json_string_value(json_object_get(n, "hook_state")) ? s_(n, "hook_state") : "");
}

/* Text of several lines under a label, the following lines indented to
 * it, cut after about max bytes. */
static void print_block(const char *label, const char *text, size_t max)
{
	size_t shown = 0;

	printf("%s", label);
	for (const char *p = text; *p && shown < max;) {
		size_t n = strcspn(p, "\n");
		if (n > max - shown) /* never inside a UTF-8 sequence */
			for (n = max - shown; n && ((unsigned char)p[n] & 0xc0) == 0x80;)
				n--;
		printf("%*s%.*s\n", shown ? (int)strlen(label) : 0, "", (int)n, p);
		shown += n + 1;
		p += n;
		p += *p == '\n';
	}
	if (strlen(text) > max)
		printf("%*s...\n", (int)strlen(label), "");
}

void print_case_show(const json_t *c)
{
	char t1[32], t2[32], t3[32];

	printf("case %lld: %s (%s clock), %s\n", i_(c, "id"), s_(c, "category"), s_(c, "clock"),
	       s_(c, "state"));
	printf("vm         %s (%s), ip %s\n", s_(c, "vm_name"), s_(c, "vm_uuid"), s_(c, "ip"));
	printf("contact    %s\nsource     %s\n", s_(c, "contact"), s_(c, "source"));
	printf("opened     %s, responded %s, resolved %s\n", t_(c, "opened", t1, sizeof(t1)),
	       t_(c, "responded", t2, sizeof(t2)), t_(c, "resolved", t3, sizeof(t3)));
	printf("imposes    cut %s%s\n", s_(c, "cut"),
	       json_is_true(json_object_get(c, "power_off")) ? ", power off" : "");
	if (json_string_value(json_object_get(c, "evidence")))
		print_block("evidence   ", s_(c, "evidence"), EVIDENCE_SHOWN);
	if (json_string_value(json_object_get(c, "resolution")))
		printf("resolution %s\n", s_(c, "resolution"));
	printf("reports    %zu\n", json_array_size(json_object_get(c, "reports")));
	print_ladder(c);
	print_steps(json_object_get(c, "steps"));
	print_replaced(json_object_get(c, "replaced_steps"));
	print_outbox(c);
	print_events(json_object_get(c, "events"));
}

void print_audit(const json_t *r)
{
	size_t i;
	json_t *e, *cs;
	char at[32], by[32], inst[80], cs_text[24];

	if (json_array_size(r) == 0) {
		printf("no audit events\n");
		return;
	}
	printf("%-20s  %-10s %-9s %-14s %-6s %s\n", "TIME", "WHO", "ACTION", "VM", "CASE", "DETAIL");
	json_array_foreach(r, i, e) {
		cs = json_object_get(e, "case");
		snprintf(cs_text, sizeof(cs_text), "%lld", (long long)json_integer_value(cs));
		printf("%-20s  %-10s %-9s %-14s %-6s %s%s\n", t_(e, "at", at, sizeof(at)),
		       who(e, by, sizeof(by)), s_(e, "action"), s_(e, "vm_name"),
		       json_is_integer(cs) ? cs_text : "-", s_(e, "detail"),
		       by_instance(e, inst, sizeof(inst)));
	}
}

void print_clock(const json_t *r)
{
	printf("controller clock %s (test offset %+lld s)\n", s_(r, "now_text"), i_(r, "offset"));
}

void print_policy_list(const json_t *r)
{
	size_t i;
	json_t *p;

	printf("%-16s %-9s %5s  %s\n", "CATEGORY", "CLOCK", "STEPS", "DESCRIPTION");
	json_array_foreach(r, i, p)
		printf("%-16s %-9s %5lld  %s\n", s_(p, "category"), s_(p, "clock"), i_(p, "steps"),
		       s_(p, "description"));
}

void print_policy_show(const json_t *r)
{
	/* The text names its file already (policy_format). */
	printf("%s", s_(r, "text"));
}

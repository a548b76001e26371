/* libFuzzer target for the policy parser (controller/policy.c): any text
 * is refused with a reason or gives a policy whose canonical form loads
 * again to the same ladder; planning a case on it never crashes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "calendar.h"
#include "fuzz_input.h"
#include "policy.h"

static char *ladder_text(const struct policy *p)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	fuzz_assert(f);
	fuzz_assert(policy_format_ladder(p, f) == 0);
	fuzz_assert(fclose(f) == 0);
	return text;
}

/* Both clocks: a business ladder is counted on a calendar. */
static void plan(const struct policy *p, const struct calendar *cal)
{
	static const time_t reports[] = { 1767225600, 1767229200, 1767808800 };
	struct policy_case c = { .opened = reports[0], .responded = true,
				 .responded_at = 1767232800, .reports = reports,
				 .n_reports = 3 };
	struct policy_plan *pl = policy_plan_new(p, cal, &c);

	policy_plan_free(pl);
	c.responded = false;
	c.n_reports = 0;
	policy_plan_free(policy_plan_new(p, cal, &c));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct calendar *cal;
	char err[512] = "", *text = fuzz_text(data, size), *canon, *again;
	struct policy *p = policy_parse("fuzz.policy", text, err, sizeof(err));
	struct policy *q;

	free(text);
	if (!p) {
		fuzz_assert(err[0] && !strchr(err, '\n'));
		return 0;
	}
	if (!cal)
		fuzz_assert((cal = calendar_new()));
	canon = ladder_text(p);
	q = policy_parse("canonical", canon, err, sizeof(err));
	fuzz_assert(q);
	again = ladder_text(q);
	fuzz_assert(strcmp(canon, again) == 0);
	plan(p, cal);
	free(again);
	free(canon);
	policy_free(q);
	policy_free(p);
	return 0;
}

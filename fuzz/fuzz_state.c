/* libFuzzer target for the agent state file (agent/state.c): any file is
 * refused with a reason, or gives a state whose written form loads again
 * to the same text (what the agent reads at start is what it wrote). */
#include <stdlib.h>
#include <string.h>

#include "fuzz_input.h"
#include "state.h"
#include "state_dump.h"

/* state.c's STATE_VERSION: a dump of another version would not load
 * again, which the round trip below catches. */
#define STATE_VERSION_WRITTEN 1

static char *load_dump(const char *text, size_t len, struct agent_state *st)
{
	char err[512] = "", *out;

	if (state_load(fuzz_file((const uint8_t *)text, len), st, err, sizeof(err)) < 0) {
		fuzz_assert(err[0] && st->n == 0);
		return NULL;
	}
	out = state_dump(st, STATE_VERSION_WRITTEN);
	fuzz_assert(out);
	return out;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct agent_state st, again;
	char *text, *text2;

	text = load_dump((const char *)data, size, &st);
	if (!text)
		return 0;
	for (size_t i = 0; i < st.n; i++)
		fuzz_assert(state_find(&st, st.vms[i].uuid) == &st.vms[i]);
	text2 = load_dump(text, strlen(text), &again);
	fuzz_assert(text2 && strcmp(text, text2) == 0);
	free(text2);
	free(text);
	state_clear(&again);
	state_clear(&st);
	return 0;
}

/* libFuzzer target for the notification template renderer
 * (controller/notify.c): a template, then after a NUL byte (optional) a
 * JSON object of variables (else values that try to add headers). Any
 * template is refused with a reason or renders; no value ever adds or
 * ends a header line (a Bcc: smuggled in a case's contact or evidence). */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_input.h"
#include "notify.h"

/* Lines before the first empty one ("" or "\r"): the header part. */
static size_t header_lines(const char *s)
{
	size_t n = 0;

	for (;;) {
		const char *nl = strchr(s, '\n');
		size_t len = nl ? (size_t)(nl - s) : strlen(s);

		if (len == 0 || (len == 1 && s[0] == '\r') || !nl)
			return n;
		n++;
		s = nl + 1;
	}
}

static json_t *hostile_vars(void)
{
	json_t *v = json_object();

	fuzz_assert(v);
	for (size_t i = 0; notify_vars[i]; i++)
		json_object_set_new(v, notify_vars[i],
				    json_string("x\r\nBcc: victim@example.net\n\nbody"));
	json_object_set_new(v, "case_id", json_integer(-9223372036854775807LL - 1));
	json_object_set_new(v, "next_due", json_null());
	json_object_set_new(v, "evidence", json_stringn("a\0b\n\r\n", 6));
	return v;
}

static void render(const char *text, const json_t *vars)
{
	char err[512] = "", *out = NULL;

	if (notify_render_text("fuzz.txt", text, strlen(text), vars, &out, err,
			       sizeof(err)) < 0) {
		fuzz_assert(err[0] && !out);
		return;
	}
	fuzz_assert(out && header_lines(out) == header_lines(text));
	free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static json_t *hostile;
	char err[512] = "", *text, *vars_text, *excerpt;
	json_t *vars = NULL;

	if (!hostile)
		hostile = hostile_vars();
	fuzz_split(data, size, &text, &vars_text);
	if (vars_text)
		vars = json_loads(vars_text, JSON_ALLOW_NUL, NULL);
	render(text, json_is_object(vars) ? vars : hostile);
	notify_render_text("fuzz.txt", text, strlen(text), NULL, NULL, err, sizeof(err));
	excerpt = notify_excerpt(text, 64, 3);
	fuzz_assert(excerpt && strlen(excerpt) <= 64 + strlen("\n[... truncated]"));
	free(excerpt);
	json_decref(vars);
	free(vars_text);
	free(text);
	return 0;
}

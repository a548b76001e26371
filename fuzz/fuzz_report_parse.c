/* libFuzzer target for the abuse report parser (controller/report_*.c):
 * any bytes, as a mail arriving at the abuse desk, must give a result or
 * a reason, within the bounds, without a crash, leak or undefined
 * behaviour. The shipped mapping and rules are used when run from the
 * top of the tree (plain mails then go through every rule).
 * Built and run by make fuzz (fuzz/fuzz.mk, fuzz/run). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "report_parse.h"

static struct report_config *cfg;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char err[512];

	(void)argc;
	(void)argv;
	cfg = report_config_load("conf/report-types.conf", "conf/report-rules.conf", err, sizeof(err));
	if (!cfg)
		cfg = report_config_new();
	if (!cfg)
		abort();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct report_parsed r;
	char err[512];
	json_t *j;

	report_parse((const char *)data, size, cfg, &r, err, sizeof(err));
	/* Every result must be expressible as JSON (strings kept UTF-8). */
	j = report_parsed_json(&r);
	if (!j)
		abort();
	json_decref(j);
	report_parsed_free(&r);
	return 0;
}

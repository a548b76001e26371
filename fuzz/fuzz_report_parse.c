/* libFuzzer target for the abuse report parser (controller/report_*.c):
 * any bytes, as a mail arriving at the abuse desk, must give a result or
 * a reason, within the bounds, without a crash, leak or undefined
 * behaviour. The shipped mapping and rules are used when run from the
 * top of the tree (plain mails then go through every rule).
 *
 * Build and run (from the top of the tree):
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE -std=gnu11 \
 *       -Icommon -Icontroller $(pkg-config --cflags gmime-3.0 jansson inih yaml-0.1) \
 *       fuzz/fuzz_report_parse.c controller/report_*.c common/util.c \
 *       $(pkg-config --libs gmime-3.0 jansson inih yaml-0.1) -o build/fuzz_report_parse
 *   mkdir -p build/fuzz-report && \
 *       build/fuzz_report_parse -max_len=65536 -timeout=10 build/fuzz-report fuzz/corpus/report_parse
 * (new inputs go to build/fuzz-report; the seed directory stays as committed). */
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

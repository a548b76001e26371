/* libFuzzer target for cordond.conf (controller/config.c): any file is
 * read over the defaults or refused with "file:line: reason", and then
 * changes nothing. */
#include <string.h>

#include "controller/config.h"
#include "fuzz_input.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct ctl_config cfg, defaults;
	char err[512] = "";

	ctl_config_defaults(&defaults);
	cfg = defaults;
	if (ctl_config_load(fuzz_file(data, size), 1, &cfg, err, sizeof(err)) < 0)
		fuzz_assert(err[0] && memcmp(&cfg, &defaults, sizeof(cfg)) == 0);
	/* Every string is still terminated within its field. */
	fuzz_assert(memchr(cfg.control_socket, '\0', sizeof(cfg.control_socket)));
	fuzz_assert(memchr(cfg.log_level, '\0', sizeof(cfg.log_level)));
	return 0;
}

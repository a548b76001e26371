/* libFuzzer target for agent.conf (agent/config.c): any file is refused
 * with "file:line: reason" (and changes nothing) or gives a configuration
 * that passed the required-key checks. */
#include <string.h>

#include "agent/config.h"
#include "fuzz_input.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct agent_config cfg, defaults;
	char err[512] = "";

	agent_config_defaults(&defaults);
	cfg = defaults;
	if (agent_config_load(fuzz_file(data, size), &cfg, err, sizeof(err)) < 0) {
		fuzz_assert(err[0] && memcmp(&cfg, &defaults, sizeof(cfg)) == 0);
		return 0;
	}
	fuzz_assert(cfg.host_id[0]);
	fuzz_assert(cfg.n_controllers >= 1 && cfg.n_controllers <= AGENT_MAX_CONTROLLERS);
	fuzz_assert(cfg.n_controller_keys == 1 || cfg.n_controller_keys == cfg.n_controllers);
	for (size_t i = 0; i < cfg.n_controllers; i++)
		fuzz_assert(endpoint_check(cfg.controllers[i], NULL, 0) == 0 &&
			    agent_config_controller_key(&cfg, i)[0]);
	fuzz_assert(cfg.n_scopes <= AGENT_MAX_SCOPE_MAP);
	for (size_t i = 0; i < cfg.n_scopes; i++)
		fuzz_assert(agent_config_scope_find(&cfg, cfg.scopes[i].bridge));
	return 0;
}

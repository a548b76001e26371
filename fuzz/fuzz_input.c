#include "fuzz_input.h"

#include "agent/config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

char *fuzz_text(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);

	fuzz_assert(s);
	memcpy(s, data, size);
	s[size] = '\0';
	return s;
}

const char *fuzz_file(const uint8_t *data, size_t size)
{
	static int fd = -1;
	static char path[64];

	if (fd < 0) {
		fd = memfd_create("cordon-fuzz", MFD_CLOEXEC);
		fuzz_assert(fd >= 0);
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	}
	/* Each open of the /proc path starts at offset 0 of the new
	 * contents. */
	fuzz_assert(ftruncate(fd, 0) == 0);
	fuzz_assert(size == 0 || pwrite(fd, data, size, 0) == (ssize_t)size);
	return path;
}

void fuzz_split(const uint8_t *data, size_t size, char **first, char **second)
{
	const uint8_t *nul = memchr(data, '\0', size);
	size_t n = nul ? (size_t)(nul - data) : size;

	*first = fuzz_text(data, n);
	*second = nul ? fuzz_text(nul + 1, size - n - 1) : NULL;
}

void fuzz_agent_config(struct agent_config *cfg)
{
	static const char *const map[][2] = {
		{ "br-pub", "public" }, { "br-priv", "private" }, { "default", "private" },
	};

	agent_config_defaults(cfg);
	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
		strcpy(cfg->scopes[i].bridge, map[i][0]);
		strcpy(cfg->scopes[i].scope, map[i][1]);
	}
	cfg->n_scopes = sizeof(map) / sizeof(map[0]);
}

/* fuzz_input.c: hands a fuzz input to parsers in the form they read: a
 * NUL-terminated string, or a file path (a memfd, so no disk is touched
 * and nothing is left behind). Shared by every fuzz/fuzz_NAME.c target. */
#ifndef CORDON_FUZZ_INPUT_H
#define CORDON_FUZZ_INPUT_H

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Copy of data with a NUL appended; the caller frees. Traps when out of
 * memory. */
char *fuzz_text(const uint8_t *data, size_t size);

/* A path whose file holds exactly data, until the next call. Traps on
 * failure. */
const char *fuzz_file(const uint8_t *data, size_t size);

/* Splits data at the first NUL byte: the part before it into *first,
 * the rest (NULL when there is no NUL) into *second, both malloc'ed
 * strings the caller frees. For targets that read two texts. */
void fuzz_split(const uint8_t *data, size_t size, char **first, char **second);

struct agent_config;
/* The agent's defaults and a [scopes] map: br-pub public, br-priv and the
 * libvirt network "default" private, others public. */
void fuzz_agent_config(struct agent_config *cfg);

/* A property the target checks: its violation traps, which libFuzzer
 * reports as a finding like any crash. */
#define fuzz_assert(cond) do { if (!(cond)) __builtin_trap(); } while (0)

#endif

/* libFuzzer target for the wire decoder: whatever a peer sends, decoding
 * must return NULL or a valid envelope, never crash, leak or read out of
 * bounds. Built by fuzz/fuzz.mk (make fuzz). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "fuzz_input.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[256];
	Cordon__Envelope *env;
	uint8_t *out;
	size_t len;

	env = codec_decode(data, size, err, sizeof(err));
	if (!env) {
		/* A rejection always says why, on one line. */
		if (err[0] == '\0' || strchr(err, '\n'))
			__builtin_trap();
		return 0;
	}
	/* What we accepted we can send on: re-encoding must work and decode
	 * to something valid again. */
	if (strcmp(codec_body_name(env), "unknown") == 0 ||
	    codec_encode(env, &out, &len) < 0)
		__builtin_trap();
	codec_free(env);
	env = codec_decode(out, len, err, sizeof(err));
	free(out);
	if (!env)
		__builtin_trap();
	codec_free(env);
	return 0;
}

/* agent_keys.c: the authorized-agents directory. One public certificate per
 * host, named after it up to the first dot (hv1.cert -> hv1). A key's
 * host-id metadata, when it has one, must say the same host: a key that
 * names two hosts, two files that name one host, and one key under two
 * names are all refused, each with a log line, since any of them would let
 * one host speak for another. */
#ifndef CORDON_AGENT_KEYS_H
#define CORDON_AGENT_KEYS_H

#include <stddef.h>
#include <sys/types.h>

#include "keys.h"

struct authorized_key {
	char public_z85[KEY_Z85_LEN + 1];
	char host_id[65];
	char file[256];
};

/* Every acceptable key of dir into *keys (malloc'ed, the caller's), their
 * number returned; -1 with a reason in err if dir cannot be read. */
ssize_t agent_keys_load(const char *dir, struct authorized_key **keys, char *err,
			size_t errlen);

#endif

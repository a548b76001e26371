/* keys.c: CURVE key pairs in CZMQ certificate files.
 * FILE holds the public key, FILE_secret the secret one (mode 0600). */
#ifndef CORDON_KEYS_H
#define CORDON_KEYS_H

#include <stddef.h>

#define KEY_Z85_LEN 40

struct keypair {
	char public_z85[KEY_Z85_LEN + 1];
	char secret_z85[KEY_Z85_LEN + 1];   /* "" when only the public part */
	char host_id[65];                   /* metadata "host-id", or "" */
};

/* Writes a new pair to path and path_secret; refuses to overwrite.
 * host_id may be NULL. 0 or -1 with a reason in err. */
int keys_generate(const char *path, const char *host_id, char *err,
		  size_t errlen);
/* Loads a certificate file (public, or the _secret file for both keys). */
int keys_load(const char *path, struct keypair *out, char *err, size_t errlen);
/* Shared by `cordonctl keygen` and `cordon-agent keygen`. Returns the
 * process exit status. */
int keys_keygen_main(const char *prog, int argc, char **argv);

#endif

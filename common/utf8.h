/* utf8.c: strict UTF-8 decoding (RFC 3629), shared by the wire codec and
 * the terminal escaper. */
#ifndef CORDON_UTF8_H
#define CORDON_UTF8_H

#include <stdbool.h>
#include <stdint.h>

/* Length (1..4) of the well-formed UTF-8 sequence at s (NUL terminated),
 * its code point in *cp; 0 when s[0] starts none: a stray continuation
 * byte, an overlong form, a surrogate, beyond U+10FFFF, or cut short. */
int utf8_sequence(const unsigned char *s, uint32_t *cp);

/* Whether all of s is well-formed UTF-8. */
bool utf8_valid(const char *s);

#endif

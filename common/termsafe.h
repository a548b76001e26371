/* termsafe.c: foreign text made safe for an operator's terminal or a log. */
#ifndef CORDON_TERMSAFE_H
#define CORDON_TERMSAFE_H

#include <stdio.h>

#include <jansson.h>

/* Line breaks ("\n", and "\r\n" as one) stay line breaks: for free text
 * printed as a block of lines. Everything else is escaped still. */
#define TERMSAFE_KEEP_LINES 1

/* The terminal-safe form of s: C0 controls and DEL as \t \n \r or \xNN,
 * a backslash as \\, C1 controls and Unicode line and bidi controls as
 * \uNNNN, each byte of invalid UTF-8 (overlong, surrogate, beyond
 * U+10FFFF, truncated) as \xNN; printable UTF-8 unchanged. The caller
 * frees it; NULL when out of memory. */
char *termsafe_dup(const char *s, int flags);

/* Writes the terminal-safe form of s to f; EOF on error. */
int termsafe_fputs(const char *s, int flags, FILE *f);

/* A deep copy of v with every string value terminal-safe, for the text
 * printers; the values of the object keys listed in keep_lines (NULL
 * terminated, or NULL) keep their line breaks. NULL when out of memory. */
json_t *termsafe_json(const json_t *v, const char *const *keep_lines);

#endif

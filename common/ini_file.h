/* ini_file.c: reads an INI file through inih, stopping at the first bad
 * line and saying what is wrong with that line. inih alone goes on after
 * an error (later lines still applied, a later handler's reason reported
 * with the first bad line's number) and cuts lines longer than its buffer
 * into pieces it parses as lines of their own. */
#ifndef CORDON_INI_FILE_H
#define CORDON_INI_FILE_H

#include <stddef.h>

/* One "key = value" of section: 1 taken, 0 refused with the reason in
 * why ("" for "invalid value for 'KEY'"). */
typedef int (*ini_entry_fn)(void *user, const char *section, const char *key,
			    const char *value, char *why, size_t whylen);

/* 0, or -1 with "path:line: reason" (or "path: reason") in err. A missing
 * file is 1 (nothing read) when !must_exist. */
int ini_file_read(const char *path, int must_exist, ini_entry_fn entry, void *user,
		  char *err, size_t errlen);

#endif

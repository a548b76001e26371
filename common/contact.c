#include "contact.h"

#include <string.h>

const char *contact_problem(const char *c)
{
	const char *at = strchr(c, '@');

	if (strlen(c) > CONTACT_MAX)
		return "is longer than 254 characters";
	for (const unsigned char *p = (const unsigned char *)c; *p; p++) {
		if (*p == ' ')
			return "has a space";
		if (*p < ' ' || *p == 0x7f)
			return "has a control character";
		if (*p > 0x7f)
			return "has a non-ASCII character (give the address in ASCII)";
	}
	if (strpbrk(c, "<>,;\"()[]\\"))
		return "has one of <>,;\"()[]\\ (give one address, nothing around it)";
	if (!at || at == c || !at[1] || strchr(at + 1, '@'))
		return "needs exactly one @ with text on both sides";
	return NULL;
}

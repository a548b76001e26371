/* Ours rather than mbrtowc(): that one depends on the caller's locale
 * (cordonctl may run under C), and the project links no Unicode library. */
#include "utf8.h"

int utf8_sequence(const unsigned char *s, uint32_t *cp)
{
	uint32_t c, min;
	int n;

	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	}
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2, c = s[0] & 0x1f, min = 0x80;
	else if ((s[0] & 0xf0) == 0xe0)
		n = 3, c = s[0] & 0x0f, min = 0x800;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		n = 4, c = s[0] & 0x07, min = 0x10000;
	else
		return 0;
	/* The NUL terminator is no continuation byte: no over-read. */
	for (int i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = c << 6 | (s[i] & 0x3f);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return n;
}

bool utf8_valid(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	uint32_t cp;
	int n;

	for (; *p; p += n)
		if ((n = utf8_sequence(p, &cp)) == 0)
			return false;
	return true;
}

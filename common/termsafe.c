/* Terminal-safe text. Names, evidence and errors come from tenants, report
 * authors and agents: printed raw, an escape sequence in them moves the
 * cursor, clears the screen, sets the window title or plants a hyperlink
 * in the operator's terminal, or forges lines in the journal. */
#include "termsafe.h"
#include "utf8.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* C1 controls act on terminals (U+009B is a CSI on some); line separators
 * and bidi controls reorder or split what the operator reads. */
static bool codepoint_unsafe(uint32_t c)
{
	return (c >= 0x80 && c <= 0x9f) || c == 0x061c || c == 0x200e || c == 0x200f ||
	       (c >= 0x2028 && c <= 0x202e) || (c >= 0x2066 && c <= 0x2069);
}

/* Escapes or copies the ASCII byte at **sp into o; returns the end. */
static char *ascii_next(const unsigned char **sp, char *o, int flags)
{
	const unsigned char *s = *sp;
	static const char named[] = { '\t', 't', '\n', 'n', '\r', 'r', '\\', '\\' };

	(*sp)++;
	if (flags & TERMSAFE_KEEP_LINES) {
		if (s[0] == '\r' && s[1] == '\n')
			(*sp)++;
		if (s[0] == '\n' || (s[0] == '\r' && s[1] == '\n')) {
			*o++ = '\n';
			return o;
		}
	}
	for (size_t i = 0; i < sizeof(named); i += 2)
		if (s[0] == named[i]) {
			*o++ = '\\';
			*o++ = named[i + 1];
			return o;
		}
	if (s[0] < 0x20 || s[0] == 0x7f)
		return o + sprintf(o, "\\x%02x", s[0]);
	*o++ = (char)s[0];
	return o;
}

/* The safe form of the character at **sp into o (at most 6 bytes, and no
 * more than 4 per input byte); advances *sp past it, returns the end. */
static char *escape_next(const unsigned char **sp, char *o, int flags)
{
	uint32_t cp;
	int n;

	if (**sp < 0x80)
		return ascii_next(sp, o, flags);
	n = utf8_sequence(*sp, &cp);
	if (n == 0)
		return o + sprintf(o, "\\x%02x", *(*sp)++);
	if (codepoint_unsafe(cp)) {
		*sp += n;
		return o + sprintf(o, "\\u%04x", (unsigned)cp);
	}
	memcpy(o, *sp, (size_t)n);
	*sp += n;
	return o + n;
}

char *termsafe_dup(const char *s, int flags)
{
	size_t len = strlen(s);
	const unsigned char *p = (const unsigned char *)s;
	char *out, *o;

	if (len > (SIZE_MAX - 1) / 4)
		return NULL;
	out = malloc(4 * len + 1);
	if (!out)
		return NULL;
	for (o = out; *p;)
		o = escape_next(&p, o, flags);
	*o = '\0';
	return out;
}

int termsafe_fputs(const char *s, int flags, FILE *f)
{
	char *safe = termsafe_dup(s, flags);
	int rc;

	if (!safe)
		return fputs("(text not shown: out of memory)", f);
	rc = fputs(safe, f);
	free(safe);
	return rc;
}

static bool listed(const char *key, const char *const *keys)
{
	for (; keys && *keys; keys++)
		if (strcmp(key, *keys) == 0)
			return true;
	return false;
}

static json_t *safe_value(const json_t *v, const char *const *keep_lines, int flags);

static json_t *safe_string(const json_t *v, int flags)
{
	char *s = termsafe_dup(json_string_value(v), flags);
	json_t *out = s ? json_string(s) : NULL;

	free(s);
	return out;
}

static json_t *safe_array(const json_t *v, const char *const *keep_lines, int flags)
{
	json_t *out = json_array(), *item;
	size_t i;

	json_array_foreach(v, i, item) {
		if (!out || json_array_append_new(out, safe_value(item, keep_lines, flags)) < 0) {
			json_decref(out);
			return NULL;
		}
	}
	return out;
}

static json_t *safe_object(const json_t *v, const char *const *keep_lines)
{
	json_t *out = json_object(), *item;
	const char *key;

	/* json_object_foreach takes no const object; nothing is changed. */
	json_object_foreach((json_t *)v, key, item) {
		int flags = listed(key, keep_lines) ? TERMSAFE_KEEP_LINES : 0;
		if (!out || json_object_set_new(out, key, safe_value(item, keep_lines, flags)) < 0) {
			json_decref(out);
			return NULL;
		}
	}
	return out;
}

static json_t *safe_value(const json_t *v, const char *const *keep_lines, int flags)
{
	switch (json_typeof(v)) {
	case JSON_STRING:
		return safe_string(v, flags);
	case JSON_ARRAY:
		return safe_array(v, keep_lines, flags);
	case JSON_OBJECT:
		return safe_object(v, keep_lines);
	default:
		return json_deep_copy(v);
	}
}

json_t *termsafe_json(const json_t *v, const char *const *keep_lines)
{
	return v ? safe_value(v, keep_lines, 0) : NULL;
}

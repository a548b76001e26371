/* Fields of a controller reply as the text printers show them: a string
 * ("-" when absent or empty), a time (RFC 3339 UTC, "-" when absent or 0),
 * an integer. Shared by cordonctl_print_case.c and cordonctl_print_report.c. */
#ifndef CORDON_CORDONCTL_FIELDS_H
#define CORDON_CORDONCTL_FIELDS_H

#include <jansson.h>
#include <stddef.h>
#include <stdio.h>

#include "util.h"

static inline const char *s_(const json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));
	return s && *s ? s : "-";
}

static inline const char *t_(const json_t *o, const char *k, char *buf, size_t len)
{
	json_t *v = json_object_get(o, k);
	return json_is_integer(v) && json_integer_value(v) > 0 ?
		format_time_utc(json_integer_value(v), buf, len) : "-";
}

static inline long long i_(const json_t *o, const char *k)
{
	return (long long)json_integer_value(json_object_get(o, k));
}

/* Who did what row e records: "uid 1000", or "cordond" for the
 * controller's own actions (uid null). buf is reused by the caller only
 * after printing. */
static inline const char *who(const json_t *e, char *buf, size_t len)
{
	const json_t *uid = json_object_get(e, "uid");

	if (!json_is_integer(uid))
		return "cordond";
	snprintf(buf, len, "uid %lld", (long long)json_integer_value(uid));
	return buf;
}

/* " (instance b)" when several cordond share the store and row e names
 * the one that wrote it, else "". */
static inline const char *by_instance(const json_t *e, char *buf, size_t len)
{
	const char *instance = json_string_value(json_object_get(e, "instance"));

	if (!instance || !*instance)
		return "";
	snprintf(buf, len, " (instance %s)", instance);
	return buf;
}

#endif

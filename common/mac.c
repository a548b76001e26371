#include "mac.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const scope_names[SCOPE_COUNT] = { "public", "private",
						      "smtp",
#ifdef CORDON_SCOPE_NEXT
						      "next",
#endif
};

const char *scope_name(int index)
{
	if (index < 0 || index >= SCOPE_COUNT)
		return "?";
	return scope_names[index];
}

json_t *scope_mask_json(uint32_t mask)
{
	json_t *arr = json_array();

	for (int i = 0; arr && i < SCOPE_COUNT; i++)
		if (mask & (1u << i))
			json_array_append_new(arr, json_string(scope_names[i]));
	return arr;
}

int scope_index(const char *name)
{
	for (int i = 0; i < SCOPE_COUNT; i++)
		if (strcmp(name, scope_names[i]) == 0)
			return i;
	return -1;
}

int scope_mask_parse(const char *text, uint32_t *out)
{
	char word[32];
	uint32_t mask = 0;
	const char *p = text;

	if (strcmp(text, "all") == 0) {
		/* "all" means the VM's whole network; smtp is a subset of it. */
		*out = SCOPE_PUBLIC | SCOPE_PRIVATE;
		return 0;
	}
	if (strcmp(text, "none") == 0) {
		*out = 0;
		return 0;
	}
	while (*p) {
		size_t len = strcspn(p, ",");
		if (len == 0 || len >= sizeof(word))
			return -1;
		memcpy(word, p, len);
		word[len] = '\0';
		int idx = scope_index(word);
		if (idx < 0)
			return -1;
		mask |= 1u << idx;
		p += len;
		/* "public," is a typo, not a list: ",public" is refused too. */
		if (*p == ',' && *++p == '\0')
			return -1;
	}
	if (mask == 0)
		return -1;
	*out = mask;
	return 0;
}

const char *scope_mask_format(uint32_t mask, char *buf, size_t len)
{
	size_t used = 0;

	buf[0] = '\0';
	for (int i = 0; i < SCOPE_COUNT; i++) {
		if (!(mask & (1u << i)))
			continue;
		int n = snprintf(buf + used, len - used, "%s%s",
				 used ? "," : "", scope_names[i]);
		if (n < 0 || (size_t)n >= len - used)
			break;
		used += (size_t)n;
	}
	if (used == 0)
		snprintf(buf, len, "none");
	return buf;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int mac_parse(const char *text, struct mac *out)
{
	if (strlen(text) != MAC_STRLEN - 1)
		return -1;
	for (int i = 0; i < 6; i++) {
		const char *p = text + i * 3;
		int hi = hexval(p[0]), lo = hexval(p[1]);
		if (hi < 0 || lo < 0)
			return -1;
		if (i < 5 && p[2] != ':')
			return -1;
		out->b[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

/* Without snprintf: the agent formats every cut MAC each time it writes
 * its state file (200k at 100k VMs). */
void mac_format(const struct mac *mac, char out[MAC_STRLEN])
{
	static const char hex[] = "0123456789abcdef";
	char *p = out;

	for (int i = 0; i < 6; i++) {
		*p++ = hex[mac->b[i] >> 4];
		*p++ = hex[mac->b[i] & 15];
		*p++ = i < 5 ? ':' : '\0';
	}
}

int mac_cmp(const struct mac *a, const struct mac *b)
{
	return memcmp(a->b, b->b, sizeof(a->b));
}

bool mac_is_unicast(const struct mac *mac)
{
	static const struct mac zero;
	return !(mac->b[0] & 1) && mac_cmp(mac, &zero) != 0;
}

int mac_list_add(struct mac_list *list, const struct mac *mac)
{
	if (list->n == list->cap) {
		size_t cap = list->cap ? list->cap * 2 : 8;
		struct mac *v = realloc(list->v, cap * sizeof(*v));
		if (!v)
			return -1;
		list->v = v;
		list->cap = cap;
	}
	list->v[list->n++] = *mac;
	return 0;
}

bool mac_list_contains(const struct mac_list *list, const struct mac *mac)
{
	for (size_t i = 0; i < list->n; i++)
		if (mac_cmp(&list->v[i], mac) == 0)
			return true;
	return false;
}

static int mac_qsort_cmp(const void *a, const void *b)
{
	return mac_cmp(a, b);
}

void mac_list_sort_unique(struct mac_list *list)
{
	size_t out = 0;

	if (list->n == 0)
		return;
	qsort(list->v, list->n, sizeof(list->v[0]), mac_qsort_cmp);
	for (size_t i = 1; i < list->n; i++)
		if (mac_cmp(&list->v[i], &list->v[out]) != 0)
			list->v[++out] = list->v[i];
	list->n = out + 1;
}

void mac_list_clear(struct mac_list *list)
{
	free(list->v);
	list->v = NULL;
	list->n = list->cap = 0;
}

int mac_list_diff(const struct mac_list *a, const struct mac_list *b,
		  struct mac_list *out)
{
	size_t j = 0;

	for (size_t i = 0; i < a->n; i++) {
		while (j < b->n && mac_cmp(&b->v[j], &a->v[i]) < 0)
			j++;
		if (j < b->n && mac_cmp(&b->v[j], &a->v[i]) == 0)
			continue;
		if (mac_list_add(out, &a->v[i]) < 0)
			return -1;
	}
	return 0;
}

int mac_list_union(const struct mac_list *a, const struct mac_list *b,
		   struct mac_list *out)
{
	size_t i = 0, j = 0;

	memset(out, 0, sizeof(*out));
	while (i < a->n || j < b->n) {
		int c = i == a->n ? 1 : j == b->n ? -1 : mac_cmp(&a->v[i], &b->v[j]);
		const struct mac *m = c <= 0 ? &a->v[i] : &b->v[j];
		if (mac_list_add(out, m) < 0) {
			mac_list_clear(out);
			return -1;
		}
		i += c <= 0;
		j += c >= 0;
	}
	return 0;
}

bool mac_list_has_sorted(const struct mac_list *list, const struct mac *mac)
{
	return list->n && bsearch(mac, list->v, list->n, sizeof(*mac), mac_qsort_cmp);
}

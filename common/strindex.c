#include "strindex.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static size_t hash_str(const char *s)
{
	uint64_t h = 1469598103934665603ull; /* FNV-1a */

	while (*s)
		h = (h ^ (uint8_t)*s++) * 1099511628211ull;
	return (size_t)h;
}

void strindex_clear(struct strindex *ix)
{
	free(ix->slots);
	memset(ix, 0, sizeof(*ix));
}

void strindex_mark_stale(struct strindex *ix)
{
	ix->stale = true;
}

static void slot_put(struct strindex *ix, const char *key, size_t pos)
{
	size_t mask = ix->cap - 1, i = hash_str(key) & mask;

	while (ix->slots[i])
		i = (i + 1) & mask;
	ix->slots[i] = pos + 1;
	ix->n++;
}

static int rebuild(struct strindex *ix, const void *array, size_t n, strindex_key_fn key_of)
{
	size_t cap = 16;

	while (cap < n * 2 + 2)
		cap *= 2;
	strindex_clear(ix);
	ix->slots = calloc(cap, sizeof(*ix->slots));
	if (!ix->slots)
		return -1;
	ix->cap = cap;
	for (size_t i = 0; i < n; i++)
		slot_put(ix, key_of(array, i), i);
	return 0;
}

static bool usable(struct strindex *ix, const void *array, size_t n, strindex_key_fn key_of)
{
	if (ix->slots && !ix->stale && ix->n == n && ix->cap >= n * 2 + 2)
		return true;
	return rebuild(ix, array, n, key_of) == 0;
}

size_t strindex_find(struct strindex *ix, const void *array, size_t n,
		     strindex_key_fn key_of, const char *key)
{
	size_t mask, i;

	if (!usable(ix, array, n, key_of)) {
		for (i = 0; i < n; i++)
			if (strcmp(key_of(array, i), key) == 0)
				return i;
		return STRINDEX_NONE;
	}
	mask = ix->cap - 1;
	for (i = hash_str(key) & mask; ix->slots[i]; i = (i + 1) & mask)
		if (strcmp(key_of(array, ix->slots[i] - 1), key) == 0)
			return ix->slots[i] - 1;
	return STRINDEX_NONE;
}

void strindex_added(struct strindex *ix, const void *array, size_t n,
		    strindex_key_fn key_of, size_t pos)
{
	/* Grow (rebuild) when half full; else insert in place. */
	if (!ix->slots || ix->stale || ix->n != n - 1 || ix->cap < n * 2 + 2) {
		rebuild(ix, array, n, key_of);
		return;
	}
	slot_put(ix, key_of(array, pos), pos);
}

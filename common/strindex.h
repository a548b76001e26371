/* strindex.c: a hash index from string keys to positions in an array the
 * caller owns (uuids of VMs), so lookups stay O(1) with 100k VMs. The
 * index stores positions only; it rebuilds itself when the array changed
 * size behind its back or was marked stale (after a removal). */
#ifndef CORDON_STRINDEX_H
#define CORDON_STRINDEX_H

#include <stdbool.h>
#include <stddef.h>

#define STRINDEX_NONE ((size_t)-1)

/* The key of element i of the caller's array. */
typedef const char *(*strindex_key_fn)(const void *array, size_t i);

struct strindex {
	size_t *slots;      /* position + 1; 0 = empty */
	size_t cap;         /* power of two */
	size_t n;           /* positions indexed */
	bool stale;
};

void strindex_clear(struct strindex *ix);
void strindex_mark_stale(struct strindex *ix);
/* Position of key among the n elements of array, or STRINDEX_NONE. Falls
 * back to a linear scan if the index cannot be (re)built. */
size_t strindex_find(struct strindex *ix, const void *array, size_t n,
		     strindex_key_fn key_of, const char *key);
/* Records that element pos (== n - 1, just appended) has key. */
void strindex_added(struct strindex *ix, const void *array, size_t n,
		    strindex_key_fn key_of, size_t pos);

#endif

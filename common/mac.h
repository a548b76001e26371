/* mac.c: Ethernet addresses, growable lists of them, and cut scopes. */
#ifndef CORDON_MAC_H
#define CORDON_MAC_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Scope bits as on the wire (proto/cordon.proto). */
enum scope_bit { SCOPE_PUBLIC = 1, SCOPE_PRIVATE = 2, SCOPE_SMTP = 4, SCOPE_NEXT = 8 };
#ifdef CORDON_SCOPE_NEXT
/* A test build (make CORDON_SCOPE_NEXT=1) plays a newer controller with a
 * fourth scope, "next", that released agents do not know (test 127). */
#define SCOPE_COUNT 4
#define SCOPE_ALL (SCOPE_PUBLIC | SCOPE_PRIVATE | SCOPE_SMTP | SCOPE_NEXT)
#else
#define SCOPE_COUNT 3
#define SCOPE_ALL (SCOPE_PUBLIC | SCOPE_PRIVATE | SCOPE_SMTP)
#endif

/* Index 0..SCOPE_COUNT-1 <-> name: "public", "private", "smtp". */
const char *scope_name(int index);
int scope_index(const char *name);          /* -1 if unknown */
/* "public,private" / "all" / "none" -> bits; -1 on an unknown word. */
int scope_mask_parse(const char *text, uint32_t *out);
/* bits -> "public,private" or "none" into buf. */
const char *scope_mask_format(uint32_t mask, char *buf, size_t len);
/* bits -> ["public", "private"] (what --json prints); new reference. */
json_t *scope_mask_json(uint32_t mask);

struct mac {
	uint8_t b[6];
};

#define MAC_STRLEN 18 /* "52:54:00:12:34:56" + NUL */

int mac_parse(const char *text, struct mac *out); /* 0 or -1 */
void mac_format(const struct mac *mac, char out[MAC_STRLEN]);
int mac_cmp(const struct mac *a, const struct mac *b);
bool mac_is_unicast(const struct mac *mac);

struct mac_list {
	struct mac *v;
	size_t n, cap;
};

int mac_list_add(struct mac_list *list, const struct mac *mac); /* 0 / -1 */
bool mac_list_contains(const struct mac_list *list, const struct mac *mac);
void mac_list_sort_unique(struct mac_list *list);
void mac_list_clear(struct mac_list *list);
/* Elements of a not in b, appended to out (both sorted and unique). */
int mac_list_diff(const struct mac_list *a, const struct mac_list *b,
		  struct mac_list *out);
/* Union of a and b (both sorted and unique) into *out, replaced; on -1
 * *out is empty. */
int mac_list_union(const struct mac_list *a, const struct mac_list *b,
		   struct mac_list *out);
/* mac in a sorted list (binary search). */
bool mac_list_has_sorted(const struct mac_list *list, const struct mac *mac);

#endif

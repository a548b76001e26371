/* ip_history.c: which VM held each address, from when to when, as the
 * agents' inventories said; an abuse report names an address at a moment
 * and matches the VM that held it then. */
#ifndef CORDON_IP_HISTORY_H
#define CORDON_IP_HISTORY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "codec.h"
#include "store.h"

#define IP_TEXT_MAX 46 /* INET6_ADDRSTRLEN */

/* inet_ntop's form of an IPv4 or IPv6 address (so "2001:DB8::0:1" and
 * "2001:db8::1" are one address). -1 if s is no address. */
int ip_canonical(const char *s, char out[IP_TEXT_MAX]);
/* Whether s is an IPv4 or IPv6 address (what an operator may give for --ip). */
bool ip_is_address(const char *s);

/* vm now holds the addresses of its interfaces: intervals of addresses
 * it no longer lists end now, new ones start now. In a transaction. */
int ip_history_vm(struct store *store, const Cordon__Vm *vm);
/* No host lists uuid any more: what it held ends now. */
int ip_history_vm_gone(struct store *store, const char *uuid);

enum ip_holder {
	IP_HOLDER_ONE,     /* uuid is the VM */
	IP_HOLDER_NONE,    /* never ours at that moment (or before our history) */
	IP_HOLDER_SEVERAL, /* two VMs listed it at once: nobody is guessed */
	IP_HOLDER_GONE,    /* the VM that held it is no longer known */
};

/* Who held ip at instant at. -1 on a store error (never "none"). */
int ip_history_holder(struct store *store, const char *ip, int64_t at, char uuid[65],
		      enum ip_holder *out);
const char *ip_holder_reason(enum ip_holder h);

#endif

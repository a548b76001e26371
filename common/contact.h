/* contact.c: a customer contact address (one mailbox). It reaches mails,
 * call hooks and the operator's screen, from an operator's request or a
 * host's inventory: printable ASCII only, nothing around the address. */
#ifndef CORDON_CONTACT_H
#define CORDON_CONTACT_H

#define CONTACT_MAX 254 /* RFC 5321: a forward-path */

/* Why c is no contact address ("is longer than ...", "has a space"), or
 * NULL when it is one. */
const char *contact_problem(const char *c);

#endif

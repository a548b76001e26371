/* mail_rcpt.c: the envelope of a message handed to cordon-sendmail -t:
 * its recipients from To: and Cc: and its sender from From:, read
 * with GMime's address parser (RFC 5322 groups, comments, quoting). */
#ifndef CORDON_MAIL_RCPT_H
#define CORDON_MAIL_RCPT_H

#include <stddef.h>

struct mail_envelope {
	char **rcpt;       /* the addresses, each once */
	size_t n_rcpt;
	char *from;        /* the first From: mailbox, NULL if none */
};

/* Reads the header of msg[0..len). 0, or -1 with why in err (no header,
 * a recipient that is no mailbox, out of memory). */
int mail_envelope_read(const char *msg, size_t len, struct mail_envelope *env,
		       char *err, size_t errlen);
/* Adds one recipient given on the command line (checked the same way). */
int mail_envelope_add(struct mail_envelope *env, const char *addr, char *err, size_t errlen);
void mail_envelope_clear(struct mail_envelope *env);

#endif

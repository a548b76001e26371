/* smtp_submit.c: one message to an SMTP relay with libcurl, and what the
 * relay answered, sorted the way a mail queue (and cordond's notifier)
 * needs it: delivered, try again later, or refused for good. */
#ifndef CORDON_SMTP_SUBMIT_H
#define CORDON_SMTP_SUBMIT_H

#include <stdbool.h>
#include <stddef.h>

#include "mail_rcpt.h"

enum smtp_result {
	SMTP_SENT,
	SMTP_TEMPORARY,   /* unreachable, timed out, 4xx: retry */
	SMTP_PERMANENT,   /* 5xx: the relay refused it */
};

struct smtp_relay {
	const char *url;          /* smtp://host[:port] or smtps://host[:port] */
	bool starttls;            /* smtp:// must switch to TLS (else it may not) */
	long timeout_s;           /* the whole transaction */
};

/* Sends msg[0..len) from env->from to env's recipients. why: the relay's
 * reply or the transport's error, for the caller's error line. */
enum smtp_result smtp_submit(const struct smtp_relay *relay, const struct mail_envelope *env,
			     const char *msg, size_t len, char *why, size_t whylen);

/* NULL when url is a relay address smtp_submit takes, else why not. */
const char *smtp_relay_problem(const char *url);

#endif

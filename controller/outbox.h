/* outbox.c: delivers what the ladders decided: notifications rendered from
 * templates and piped to the configured sendmail-compatible command, and
 * the optional hook for call tasks. Failures are recorded and retried with
 * backoff; nothing here ever waits, so enforcement is never held up. */
#ifndef CORDON_OUTBOX_H
#define CORDON_OUTBOX_H

struct cordond;

/* At start: jobs left "sending" by a previous process are pending again. */
int outbox_start(struct cordond *d);
/* Reaps finished jobs and starts due ones. */
void outbox_tick(struct cordond *d);

#endif

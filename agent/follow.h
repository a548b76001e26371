/* follow.c: which of its controller endpoints the agent talks to.
 *
 * Several cordond may serve one region, one of them the acting leader.
 * The agent talks to one endpoint at a time and moves on, round robin,
 * when the one in use does not answer (no session, or no answer to its
 * Hello in either protocol), when it sends a full set of a term older
 * than the newest accepted (a former leader), and when it says it is not
 * the leader: then to the leader it names if that endpoint is one the
 * host admin configured (a controller may only point to those), else to
 * the next. Each move after the first waits longer (100 ms doubling up
 * to the reconnect interval, once a heartbeat, 2 s at most) until the
 * link is in sync again, so two followers naming each other cannot make
 * it spin. One endpoint configured: it stays, trying it again with the
 * same backoff. */
#ifndef CORDON_AGENT_FOLLOW_H
#define CORDON_AGENT_FOLLOW_H

#include <stdbool.h>
#include <stdint.h>

#include "transport.h"

#define FOLLOW_FIRST_DELAY_MS 100

/* Where to go when endpoint current of n says the leader is at leader:
 * its position if listed (and not current itself), else the next one.
 * *listed: leader is one of the n. */
size_t follow_target(const char (*endpoints)[ENDPOINT_MAX + 1], size_t n, size_t current,
		     const char *leader, bool *listed);
/* The wait before move number hops+1 since the last sync: 0 for the first,
 * then 100 ms doubling, at most max_ms. */
uint64_t follow_delay_ms(unsigned hops, uint64_t max_ms);

/* Plans a move to endpoint to (-1: the next one) with its backoff; one
 * planned already stands. why is logged with the move. */
void follow_move_on(struct agent_link *l, int to, const char *why);
/* NotLeader from the endpoint in use. */
void follow_not_leader(struct agent_link *l, const Cordon__NotLeader *nl);
/* In sync with an acting leader: the next move is immediate again. */
void follow_in_sync(struct agent_link *l);
/* Silence timeouts and moves that are due. */
void follow_tick(struct agent_link *l, uint64_t now);

#endif

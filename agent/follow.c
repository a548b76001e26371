#include "follow.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "util.h"

size_t follow_target(const char (*endpoints)[ENDPOINT_MAX + 1], size_t n, size_t current,
		     const char *leader, bool *listed)
{
	*listed = false;
	for (size_t i = 0; leader[0] && i < n; i++) {
		if (!endpoint_same(endpoints[i], leader))
			continue;
		*listed = true;
		/* "Not the leader, the leader is me": not an answer. */
		if (i != current)
			return i;
	}
	return n ? (current + 1) % n : 0;
}

uint64_t follow_delay_ms(unsigned hops, uint64_t max_ms)
{
	uint64_t d = FOLLOW_FIRST_DELAY_MS;

	if (hops == 0)
		return 0;
	for (unsigned i = 1; i < hops && d < max_ms; i++)
		d *= 2;
	return d < max_ms ? d : max_ms;
}

void follow_move_on(struct agent_link *l, int to, const char *why)
{
	struct link_follow *f = &l->follow;
	uint64_t delay;

	if (f->pending)
		return;
	delay = follow_delay_ms(f->hops, (uint64_t)link_retry_ms(l->heartbeat_ms));
	f->pending = true;
	f->to = to >= 0 ? (size_t)to : (l->current + 1) % l->n_endpoints;
	f->at_mono = now_mono_ms() + delay;
	snprintf(f->why, sizeof(f->why), "%s", why);
	f->hops++;
	log_debug("controller %s: %s; %s in %" PRIu64 " ms", link_endpoint(l), why,
		  f->to == l->current ? "trying it again" : l->endpoints[f->to], delay);
}

void follow_not_leader(struct agent_link *l, const Cordon__NotLeader *nl)
{
	bool listed;
	size_t to = follow_target((const char (*)[ENDPOINT_MAX + 1])l->endpoints, l->n_endpoints,
				  l->current, nl->leader, &listed);
	char why[sizeof(l->follow.why)];

	if (nl->leader[0] && !listed)
		log_warnx("controller %s is not the leader and names %s, which is not in this "
			  "host's controller list: not followed", link_endpoint(l), nl->leader);
	snprintf(why, sizeof(why), "not the acting leader (term %" PRIu64 "; leader %s)",
		 nl->term, nl->leader[0] ? nl->leader : "unknown");
	l->state = LINK_NOT_LEADER;
	/* A long endpoint may cut the reason: it is only shown. */
	if (snprintf(l->detail, sizeof(l->detail), "%s: %s", link_endpoint(l), why) < 0)
		l->detail[0] = '\0';
	follow_move_on(l, (int)to, why);
}

void follow_in_sync(struct agent_link *l)
{
	l->follow.hops = 0;
}

/* No session, or no answer to a Hello in our protocol and then in the one
 * before (link_hello_unanswered): 3 heartbeats each, as today. */
static const char *silent_reason(const struct agent_link *l, uint64_t now)
{
	uint64_t quiet = now > l->last_rx_mono ? now - l->last_rx_mono : 0;

	if (quiet <= 3 * (uint64_t)l->heartbeat_ms)
		return NULL;
	if (l->state == LINK_CONNECTING)
		return "no connection";
	if (l->state == LINK_HELLO_SENT && (l->stamp != CORDON_PROTO_VERSION || CORDON_PROTO_MIN < 1))
		return "no answer to its hello";
	return NULL;
}

void follow_tick(struct agent_link *l, uint64_t now)
{
	struct link_follow *f = &l->follow;
	const char *why;

	if (!f->pending && l->n_endpoints > 1 && (why = silent_reason(l, now)))
		follow_move_on(l, -1, why);
	if (!f->pending || now < f->at_mono)
		return;
	f->pending = false;
	if (f->to != l->current)
		log_info("controller %s: %s; moving to %s", link_endpoint(l), f->why,
			 l->endpoints[f->to]);
	else
		log_info("controller %s: %s; trying it again", link_endpoint(l), f->why);
	if (link_switch(l, f->to) < 0)
		follow_move_on(l, (int)f->to, "the last move failed");
}

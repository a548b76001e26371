/* What leader.c knows, for the other modules and for operators. */
#include <stdio.h>
#include <string.h>

#include "cordond.h"
#include "leader.h"
#include "util.h"

/* The lease runs from the last sign of our session: the last confirmation
 * or any statement answered since (a long hello keeps the main loop from
 * confirming, not the session from living: its lock is held as long). */
static uint64_t lease_from(const struct cordond *d)
{
	uint64_t alive = db_alive_ms(store_conn(d->store));

	return alive > d->leader.confirmed_ms ? alive : d->leader.confirmed_ms;
}

bool leader_acting(const struct cordond *d)
{
	if (!d->leader.acting)
		return false;
	if (!d->store || store_kind(d->store) == DB_SQLITE)
		return true;
	return now_mono_ms() - lease_from(d) <= (uint64_t)d->cfg.lease_ms;
}

uint64_t leader_term(const struct cordond *d)
{
	return d->leader.term;
}

const char *leader_endpoint(const struct cordond *d)
{
	/* Our own lease ran out before leader.c noticed: we are not it. */
	if (!leader_acting(d) && strcmp(d->leader.holder, d->cfg.instance) == 0)
		return "";
	return d->leader.holder[0] ? d->leader.endpoint : "";
}

const char *leader_describe(const struct cordond *d, char *buf, size_t len)
{
	if (!d->leader.holder[0])
		snprintf(buf, len, "unknown (no instance has led this store)");
	else
		snprintf(buf, len, "%s (%s, term %llu)", d->leader.holder,
			 d->leader.endpoint[0] ? d->leader.endpoint : "no endpoint advertised",
			 (unsigned long long)d->leader.term);
	return buf;
}

int64_t leader_lease_left_ms(const struct cordond *d)
{
	int64_t left;

	if (!leader_acting(d))
		return 0;
	if (store_kind(d->store) == DB_SQLITE)
		return d->cfg.lease_ms;
	left = d->cfg.lease_ms - (int64_t)(now_mono_ms() - lease_from(d));
	return left > 0 ? left : 0;
}

json_t *leader_status_json(const struct cordond *d)
{
	bool acting = leader_acting(d);

	return json_pack("{s:s, s:s, s:s, s:I, s:s, s:s, s:I, s:I, s:I, s:s, s:s?}",
		"role", acting ? "leader" : "follower",
		"instance", d->cfg.instance,
		"store", store_kind(d->store) == DB_SQLITE ? "sqlite" : "postgresql",
		"term", (json_int_t)d->leader.term,
		"leader", d->leader.holder,
		"leader_endpoint", d->leader.endpoint,
		"leader_since", (json_int_t)d->leader.since,
		"lease_ms", (json_int_t)d->cfg.lease_ms,
		"lease_left_ms", (json_int_t)leader_lease_left_ms(d),
		"database", d->leader.db_up ? "reachable" : "unreachable",
		"not_acting", acting ? NULL : d->leader.why);
}

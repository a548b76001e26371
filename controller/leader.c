#include "leader.h"

#include "cordond.h"

/* Until the PostgreSQL store lands, every store is SQLite's: one cordond,
 * always acting. */
bool leader_acting(const struct cordond *d)
{
	(void)d;
	return true;
}

uint64_t leader_term(const struct cordond *d)
{
	(void)d;
	return 1;
}

const char *leader_endpoint(const struct cordond *d)
{
	(void)d;
	return "";
}

int leader_term_at_least(struct cordond *d, uint64_t t)
{
	(void)d;
	(void)t;
	return 0;
}

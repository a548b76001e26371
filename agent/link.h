/* link.c: the host's network links (libnl-3 route/link cache + events), so
 * that a cut VM's port that is deleted and re-created gets its chains back
 * at once, and a port that is gone is reported. */
#ifndef CORDON_AGENT_LINK_H
#define CORDON_AGENT_LINK_H

#include <stdbool.h>

struct link_watch;

/* Opens the cache manager in the caller's network namespace and fills the
 * cache. NULL on error (logged). */
struct link_watch *link_watch_new(void);
void link_watch_free(struct link_watch *lw); /* accepts NULL */
int link_watch_fd(const struct link_watch *lw); /* for poll() */

/* Called once per link that appeared (present=true, with its ifindex),
 * disappeared (present=false) or was renamed (old name present=false, then
 * new name present=true). name NULL: events were lost (ENOBUFS) and the
 * cache was refilled: the caller must recheck every port. fn is called from
 * inside link_watch_read: it may call link_watch_ifindex, not
 * link_watch_read or link_watch_free. */
typedef void link_event_fn(void *arg, const char *name, int ifindex, bool present);

/* Drains pending events without blocking, calling fn for each. 0, or -1
 * (logged; if the cache could not be refilled after lost events, the next
 * call tries again). */
int link_watch_read(struct link_watch *lw, link_event_fn *fn, void *arg);

/* From the cache: the ifindex of the link called name, 0 if there is none. */
int link_watch_ifindex(struct link_watch *lw, const char *name);

#endif

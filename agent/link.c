/* link.c: the host's links through libnl-3's cache manager: a route/link
 * cache kept current by RTM_NEWLINK/RTM_DELLINK notifications, reduced to
 * what the agent needs (a link exists, under this name, with this ifindex).
 *
 * Three things about libnl 3.7 shape this file:
 * - The cache holds more than one object per device. Besides the device
 *   itself it files the bridge's view of each bridge port (RTM_NEWLINK with
 *   family AF_BRIDGE, sent on enslave and port state changes, RTM_DELLINK
 *   AF_BRIDGE on release) and IPv6's view (AF_INET6) as objects of their
 *   own, keyed (ifindex, family). Taken at face value, enslaving a port
 *   would "add" it a second time and releasing it would "delete" it while
 *   it still exists. Only the device's own object counts (is_device).
 * - A rename, like any other change, comes as NL_ACT_CHANGE: only the v2
 *   callback hands over the old object, so only it can tell a rename from
 *   a MAC or flag change.
 * - ENOBUFS (the socket overran) comes back from nl_cache_mngr_data_ready
 *   as -NLE_NOMEM, indistinguishable from a failed malloc; either way the
 *   events are gone and the cache is refilled (resync). */
#include "link.h"

#include <errno.h>
#include <net/if.h>
#include <netlink/cache.h>
#include <netlink/errno.h>
#include <netlink/netlink.h>
#include <netlink/route/link.h>
#include <netlink/socket.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "util.h"
#include <sys/time.h>
#include <unistd.h>

#include "log.h"

/* Room for a burst (a few hundred VMs starting) before the kernel drops
 * notifications; SO_RCVBUFFORCE needs CAP_NET_ADMIN, which the agent has. */
#define EVENT_RCVBUF (4 * 1024 * 1024)
/* Bounds the discarding of stale notifications before a refill. */
#define DRAIN_MAX 4096
/* A refill's dump that does not come (libnl 3.7 ignores a failed send of
 * the request) must not hold the agent's loop for ever. */
#define REFILL_TIMEOUT_S 2

struct link_watch {
	struct nl_cache_mngr *mngr;
	struct nl_cache *cache; /* owned by mngr */
	struct nl_sock *sync;   /* refills (mngr's own is private in 3.7); NULL
				 * after a failed one, whose reply may still come */
	bool stale;             /* lost events, refill still to do */
	link_event_fn *fn;      /* set during link_watch_read */
	void *arg;
	/* Devices by name, sorted: the agent asks for every cut port on each
	 * change, and a cache walk per question is O(links). Rebuilt on the
	 * first question after the cache changed. */
	struct link_name *names;
	size_t n_names;
	bool names_dirty;
};

struct link_name {
	/* A copy: libnl frees an object it replaces by an identical one
	 * (a NEW message for a known link, diff 0) without a callback, so a
	 * pointer into the cache could dangle with names_dirty unset. */
	char name[IFNAMSIZ];
	int ifindex;
};

/* The device's own object, as opposed to a bridge's or IPv6's view of it.
 * libnl moves a device of kind "bridge" (or "can") to that family, so the
 * family alone does not tell; views carry no kind. A bridge's view of
 * itself (after e.g. "bridge vlan add ... self") replaces the bridge's
 * object under the same key and names the bridge as its own master. */
static bool is_device(struct rtnl_link *link)
{
	int family = rtnl_link_get_family(link);

	if (family == AF_UNSPEC || rtnl_link_get_type(link))
		return true;
	return family == AF_BRIDGE &&
	       rtnl_link_get_master(link) == rtnl_link_get_ifindex(link);
}

static void report(struct link_watch *lw, struct rtnl_link *link, bool present)
{
	const char *name = rtnl_link_get_name(link);

	if (name && is_device(link))
		lw->fn(lw->arg, name, rtnl_link_get_ifindex(link), present);
}

/* A device gone leaves its views behind when no RTM_DELLINK comes for
 * them (IPv6 sends none): without this they would pile up until a refill. */
static void drop_views(struct link_watch *lw, int ifindex)
{
	struct nl_object *obj = nl_cache_get_first(lw->cache), *next;
	struct rtnl_link *link;

	for (; obj; obj = next) {
		next = nl_cache_get_next(obj);
		link = (struct rtnl_link *)obj;
		if (rtnl_link_get_ifindex(link) == ifindex && !is_device(link)) {
			log_debug("link: dropping family %d view of ifindex %d",
				  rtnl_link_get_family(link), ifindex);
			nl_cache_remove(obj);
		}
	}
}

/* Only existence and the name matter: a change that keeps the name (flags,
 * MAC, master) is no event. */
static void on_change(struct link_watch *lw, struct rtnl_link *old,
		      struct rtnl_link *new)
{
	const char *was = rtnl_link_get_name(old), *is = rtnl_link_get_name(new);

	if (!is_device(old) || !is_device(new))
		return;
	if (was && is && strcmp(was, is) == 0)
		return;
	report(lw, old, false);
	report(lw, new, true);
}

static void log_object(const char *what, struct nl_object *obj)
{
	struct rtnl_link *link = (struct rtnl_link *)obj;
	const char *name, *type;

	if (!obj)
		return;
	name = rtnl_link_get_name(link);
	type = rtnl_link_get_type(link);
	log_debug("link: %s %s ifindex %d family %d type %s master %d", what,
		  name ? name : "?", rtnl_link_get_ifindex(link),
		  rtnl_link_get_family(link), type ? type : "-",
		  rtnl_link_get_master(link));
}

static void on_cache_event(struct nl_cache *cache, struct nl_object *old,
			   struct nl_object *new, uint64_t diff, int action,
			   void *arg)
{
	struct link_watch *lw = arg;

	(void)cache;
	(void)diff;
	lw->names_dirty = true; /* libnl updated the cache before calling */
	log_object(action == NL_ACT_DEL ? "del" : "change from", old);
	log_object(action == NL_ACT_NEW ? "new" : "change to", new);
	switch (action) {
	case NL_ACT_NEW:
		report(lw, (struct rtnl_link *)new, true);
		break;
	case NL_ACT_DEL:
		report(lw, (struct rtnl_link *)old, false);
		if (is_device((struct rtnl_link *)old))
			drop_views(lw, rtnl_link_get_ifindex((struct rtnl_link *)old));
		break;
	case NL_ACT_CHANGE:
		on_change(lw, (struct rtnl_link *)old, (struct rtnl_link *)new);
		break;
	}
}

/* Not fatal: the kernel's default only means an earlier resync. */
static void grow_rcvbuf(int fd)
{
	int size = EVENT_RCVBUF;

	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)) == 0)
		return;
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size)) < 0)
		log_debug("link: SO_RCVBUF %d: %s", size, strerror(errno));
}

/* libnl 3.7's nl_cache_mngr_alloc frees its refill socket twice (an
 * assertion, or heap corruption) when it cannot connect it, e.g. out of
 * file descriptors; fixed in 3.10. So see first that the two sockets it
 * opens can be had. */
static int room_for_two_sockets(void)
{
	int fds[2], n, ret = 0;

	for (n = 0; n < 2; n++) {
		fds[n] = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
		if (fds[n] < 0) {
			log_warn("link: netlink socket");
			ret = -1;
			break;
		}
	}
	while (n-- > 0)
		close(fds[n]);
	return ret;
}

static int open_manager(struct link_watch *lw)
{
	struct nl_cache *cache;
	int err;

	if (room_for_two_sockets() < 0)
		return -1;
	err = nl_cache_mngr_alloc(NULL, NETLINK_ROUTE, 0, &lw->mngr);
	if (err < 0) {
		log_warnx("link: cache manager: %s", nl_geterror(err));
		return -1;
	}
	grow_rcvbuf(nl_cache_mngr_get_fd(lw->mngr));
	err = nl_cache_alloc_name("route/link", &cache);
	if (err < 0) {
		log_warnx("link: route/link cache: %s", nl_geterror(err));
		return -1;
	}
	/* Subscribes, then dumps the links into the cache. On failure the
	 * cache is not the manager's (the only failure after adding it,
	 * finding it again, cannot happen). */
	err = nl_cache_mngr_add_cache_v2(lw->mngr, cache, on_cache_event, lw);
	if (err < 0) {
		log_warnx("link: filling the link cache: %s", nl_geterror(err));
		nl_cache_free(cache);
		return -1;
	}
	lw->cache = cache;
	return 0;
}

static int open_sync_socket(struct link_watch *lw)
{
	struct timeval timeout = { .tv_sec = REFILL_TIMEOUT_S };
	int err;

	lw->sync = nl_socket_alloc();
	if (!lw->sync) {
		log_warnx("link: netlink socket: out of memory");
		return -1;
	}
	err = nl_connect(lw->sync, NETLINK_ROUTE);
	if (err < 0) {
		log_warnx("link: netlink socket: %s", nl_geterror(err));
		return -1;
	}
	if (setsockopt(nl_socket_get_fd(lw->sync), SOL_SOCKET, SO_RCVTIMEO,
		       &timeout, sizeof(timeout)) < 0) {
		log_warn("link: SO_RCVTIMEO");
		return -1;
	}
	return 0;
}

struct link_watch *link_watch_new(void)
{
	struct link_watch *lw = calloc(1, sizeof(*lw));

	if (!lw) {
		log_warn("link: calloc");
		return NULL;
	}
	if (open_sync_socket(lw) < 0 || open_manager(lw) < 0) {
		link_watch_free(lw);
		return NULL;
	}
	lw->names_dirty = true;
	return lw;
}

void link_watch_free(struct link_watch *lw)
{
	if (!lw)
		return;
	nl_cache_mngr_free(lw->mngr); /* and the cache */
	nl_socket_free(lw->sync);
	free(lw->names);
	free(lw);
}

int link_watch_fd(const struct link_watch *lw)
{
	return nl_cache_mngr_get_fd(lw->mngr);
}

/* What is still queued after an overrun is older than the dump that
 * follows. Replayed, a link created and deleted while the socket was full
 * would come back as created, its deletion being among the lost: a ghost
 * in the cache for good. */
static void drain_events(int fd)
{
	char buf[8192];

	for (int i = 0; i < DRAIN_MAX; i++) {
		ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT | MSG_TRUNC);
		if (n < 0 && errno != ENOBUFS && errno != EINTR)
			return; /* EAGAIN: empty */
	}
}

static int resync(struct link_watch *lw)
{
	int err;

	drain_events(link_watch_fd(lw));
	if (!lw->sync && open_sync_socket(lw) < 0) {
		nl_socket_free(lw->sync);
		lw->sync = NULL;
		return -1;
	}
	lw->names_dirty = true; /* a refill frees the objects names[] points into */
	err = nl_cache_refill(lw->sync, lw->cache);
	if (err < 0) {
		log_warnx("link: refilling the link cache: %s", nl_geterror(err));
		nl_socket_free(lw->sync);
		lw->sync = NULL;
		return -1;
	}
	lw->stale = false;
	lw->fn(lw->arg, NULL, 0, false);
	return 0;
}

int link_watch_read(struct link_watch *lw, link_event_fn *fn, void *arg)
{
	int ret = 0, n;

	lw->fn = fn;
	lw->arg = arg;
	if (!lw->stale) {
		n = nl_cache_mngr_data_ready(lw->mngr);
		/* Any error loses events: an overrun, or a message libnl could
		 * not parse, which also ends the datagram it came in. */
		if (n < 0) {
			log_info("link: events lost (%s), refilling the link cache",
				 n == -NLE_NOMEM ? "socket overrun or out of memory"
						 : nl_geterror(n));
			lw->stale = true;
		}
	}
	if (lw->stale)
		ret = resync(lw);
	lw->fn = NULL;
	lw->arg = NULL;
	return ret;
}

static int link_name_cmp(const void *a, const void *b)
{
	return strcmp(((const struct link_name *)a)->name,
		      ((const struct link_name *)b)->name);
}

/* 0, or -1 when memory ran out (lookups then walk the cache). */
static int names_rebuild(struct link_watch *lw)
{
	size_t n = 0, cap = (size_t)nl_cache_nitems(lw->cache) + 1;
	struct link_name *v = realloc(lw->names, cap * sizeof(*v));
	struct nl_object *obj;

	if (!v)
		return -1;
	lw->names = v;
	for (obj = nl_cache_get_first(lw->cache); obj && n < cap;
	     obj = nl_cache_get_next(obj)) {
		struct rtnl_link *link = (struct rtnl_link *)obj;
		const char *name = rtnl_link_get_name(link);
		if (!name || !is_device(link) ||
		    strlcpy_checked(v[n].name, name, sizeof(v[n].name)) < 0)
			continue; /* a name the kernel cannot have: never looked up */
		v[n++].ifindex = rtnl_link_get_ifindex(link);
	}
	qsort(v, n, sizeof(*v), link_name_cmp);
	lw->n_names = n;
	lw->names_dirty = false;
	return 0;
}

static int ifindex_by_walk(const struct link_watch *lw, const char *name)
{
	struct nl_object *obj;

	for (obj = nl_cache_get_first(lw->cache); obj; obj = nl_cache_get_next(obj)) {
		struct rtnl_link *link = (struct rtnl_link *)obj;
		const char *is = rtnl_link_get_name(link);
		if (is && strcmp(is, name) == 0 && is_device(link))
			return rtnl_link_get_ifindex(link);
	}
	return 0;
}

int link_watch_ifindex(struct link_watch *lw, const char *name)
{
	struct link_name key = { .ifindex = 0 };
	const struct link_name *hit;

	if (strlcpy_checked(key.name, name, sizeof(key.name)) < 0)
		return 0; /* longer than any device name */
	if (lw->names_dirty && names_rebuild(lw) < 0)
		return ifindex_by_walk(lw, name);
	hit = lw->n_names ? bsearch(&key, lw->names, lw->n_names, sizeof(key),
				    link_name_cmp) : NULL;
	return hit ? hit->ifindex : 0;
}

/* nft.c: the agent's nftables state, through libnftnl + libmnl: the netdev
 * table of cut ports (nft_port.c) and, only while some cut interface has
 * no known port, the bridge table of cut MACs (nft_bridge.c). Both change
 * together in one netlink batch (nft_batch.c), so moving an interface from
 * its MAC to its port never leaves a moment where it is open. `ports` and
 * `kinds` mirror what our last batch committed; each update computes its
 * messages from them. The monitor listens for anyone else's change to
 * either table. */
#include "nft.h"

#include "log.h"
#include "nft_batch.h"
#include "nft_bridge.h"
#include "nft_obj.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>

#include <libnftnl/common.h>

struct nft {
	struct nfnl nl;
	char *table;
	bool synced;            /* the kernel got the mirror from our last batch */
	bool need_dev;          /* this kernel refuses a chain for an absent
				 * device (and drops a chain with its device) */
	nft_port_probe_fn *probe;
	void *probe_arg;
	struct mac_list kinds[NKINDS]; /* bridge table, as committed */
	struct port_list ports;        /* netdev chains, as committed */
};

void nft_view_clear(struct nft_view *v)
{
	for (int s = 0; s < SCOPE_COUNT; s++)
		mac_list_clear(&v->macs[s]);
	port_list_clear(&v->ports);
}

struct nft *nft_new(const char *table_name)
{
	struct nft *nft;

	if (!table_name || !*table_name)
		table_name = "cordon";
	if (strlen(table_name) >= NFT_TABLE_MAXNAMELEN) {
		log_warnx("nft: table name too long: %s", table_name);
		return NULL;
	}
	nft = calloc(1, sizeof(*nft));
	if (!nft) {
		log_warn("nft: calloc");
		return NULL;
	}
	nft->table = strdup(table_name);
	if (!nft->table || nfnl_open(&nft->nl) < 0) {
		if (!nft->table)
			log_warn("nft: malloc");
		nft_free(nft);
		return NULL;
	}
	return nft;
}

void nft_free(struct nft *nft)
{
	if (!nft)
		return;
	nfnl_close(&nft->nl);
	bridge_kinds_clear(nft->kinds);
	port_list_clear(&nft->ports);
	free(nft->table);
	free(nft);
}

void nft_set_port_probe(struct nft *nft, nft_port_probe_fn *fn, void *arg)
{
	nft->probe = fn;
	nft->probe_arg = arg;
}

bool nft_port_exists(const struct nft *nft, const char *port)
{
	return !nft->probe || nft->probe(nft->probe_arg, port);
}

bool nft_bridge_table_present(const struct nft *nft)
{
	return nft->kinds[K_DROP].n + nft->kinds[K_SMTP].n > 0;
}

bool nft_needs_devices(const struct nft *nft)
{
	return nft->need_dev;
}

int nft_monitor_fd(const struct nft *nft)
{
	return mnl_socket_get_fd(nft->nl.mon);
}

bool nft_gap_seen(const struct nft *nft)
{
	return nft->nl.missed;
}

/* The ports the kernel can hold now: all of them, or on a kernel that
 * wants the device to exist, those whose device does. */
static int kernel_ports(const struct nft *nft, const struct port_list *want,
			struct port_list *out)
{
	memset(out, 0, sizeof(*out));
	for (size_t i = 0; i < want->n; i++)
		if ((!nft->need_dev || nft_port_exists(nft, want->v[i].name)) &&
		    port_list_add(out, want->v[i].name, want->v[i].kind) < 0) {
			port_list_clear(out);
			return -1;
		}
	port_list_finish(out);
	return 0;
}

/* Both tables' content for want: verdict lists and the kernel's ports. */
struct kernel_want {
	struct mac_list kinds[NKINDS];
	struct port_list ports;
};

static void kernel_want_clear(struct kernel_want *k)
{
	bridge_kinds_clear(k->kinds);
	port_list_clear(&k->ports);
}

static int kernel_want_of(const struct nft *nft, const struct nft_view *want,
			  struct kernel_want *k)
{
	memset(k, 0, sizeof(*k));
	if (bridge_kinds_of(want->macs, k->kinds) < 0 ||
	    kernel_ports(nft, &want->ports, &k->ports) < 0) {
		kernel_want_clear(k);
		log_warn("nft: computing the tables");
		return -1;
	}
	return 0;
}

static void mirror_take(struct nft *nft, struct kernel_want *k)
{
	bridge_kinds_clear(nft->kinds);
	port_list_clear(&nft->ports);
	memcpy(nft->kinds, k->kinds, sizeof(nft->kinds));
	nft->ports = k->ports;
	memset(k, 0, sizeof(*k));
	nft->synced = true;
}

/* A refused chain for a port whose device is absent: this kernel wants
 * devices to exist (before 6.16, or a netdev chain is dropped with its
 * device). Learned once; the caller retries without such ports. */
static bool learn_need_dev(struct nft *nft, const struct batch *b)
{
	const struct port_cut *p;

	if (nft->need_dev || b->first_err < 0 || !b->chg[b->first_err].tag)
		return false;
	p = b->chg[b->first_err].tag;
	if (nft_port_exists(nft, p->name))
		return false;
	log_info("nft: this kernel refuses a chain for an absent device (%s): "
		 "such ports get their chains when the device appears", p->name);
	nft->need_dev = true;
	return true;
}

static int assert_once(struct nft *nft, const struct nft_view *want,
		       bool *retry)
{
	struct kernel_want k;
	struct batch b;
	int ret = BATCH_FAILED;

	*retry = false;
	if (kernel_want_of(nft, want, &k) < 0)
		return -1;
	batch_init(&b, &nft->nl, "assert");
	if (port_put_replace(&b, nft->table, &k.ports) == 0 &&
	    bridge_put_replace(&b, nft->table, k.kinds) == 0)
		ret = batch_commit(&nft->nl, &b);
	else
		log_warn("nft assert: building batch");
	if (ret == BATCH_OK)
		mirror_take(nft, &k);
	else
		*retry = learn_need_dev(nft, &b);
	batch_free(&b);
	kernel_want_clear(&k);
	return ret == BATCH_OK ? 0 : -1;
}

int nft_assert(struct nft *nft, const struct nft_view *want)
{
	bool retry;
	int ret = assert_once(nft, want, &retry);

	if (ret < 0 && retry)
		ret = assert_once(nft, want, &retry);
	if (ret < 0)
		nft->synced = false;
	else
		log_debug("nft: tables %s asserted: %zu port(s), bridge table %s",
			  nft->table, nft->ports.n,
			  nft_bridge_table_present(nft) ? "present" : "absent");
	return ret;
}

int nft_update(struct nft *nft, const struct nft_view *want)
{
	struct kernel_want k;
	struct batch b;
	int ret = BATCH_FAILED;

	if (!nft->synced) {
		log_info("nft: no tables of ours to change (not asserted since "
			 "start or since a failed batch)");
		return -ENOENT;
	}
	if (kernel_want_of(nft, want, &k) < 0)
		return -1;
	batch_init(&b, &nft->nl, "update");
	if (port_put_update(&b, nft->table, &nft->ports, &k.ports) == 0 &&
	    bridge_put_update(&b, nft->table, nft->kinds, k.kinds) == 0)
		ret = batch_commit(&nft->nl, &b);
	else
		log_warn("nft update: building batch");
	if (ret == BATCH_OK)
		mirror_take(nft, &k);
	else
		nft->synced = false; /* the kernel may differ: assert first */
	batch_free(&b);
	kernel_want_clear(&k);
	return ret == BATCH_OK ? 0 : ret == BATCH_ENOENT ? -ENOENT : -1;
}

int nft_verify(struct nft *nft, const struct nft_view *want)
{
	struct kernel_want k;
	int ret;

	if (kernel_want_of(nft, want, &k) < 0)
		return -1;
	ret = port_verify(&nft->nl, nft->table, &k.ports);
	if (ret == 0)
		ret = bridge_verify(&nft->nl, nft->table, k.kinds);
	kernel_want_clear(&k);
	return ret;
}

/* ---- monitor ---- */

/* Attribute 1 names the table in every nf_tables object message. */
_Static_assert(NFTA_TABLE_NAME == 1 && NFTA_CHAIN_TABLE == 1 &&
	       NFTA_RULE_TABLE == 1 && NFTA_SET_TABLE == 1 &&
	       NFTA_SET_ELEM_LIST_TABLE == 1 && NFTA_OBJ_TABLE == 1 &&
	       NFTA_FLOWTABLE_TABLE == 1, "table attribute is not 1");

static const char *event_name(uint16_t type)
{
	static const char *const names[] = {
		[NFT_MSG_NEWTABLE] = "new table", [NFT_MSG_DELTABLE] = "delete table",
		[NFT_MSG_NEWCHAIN] = "new chain", [NFT_MSG_DELCHAIN] = "delete chain",
		[NFT_MSG_NEWRULE] = "new rule", [NFT_MSG_DELRULE] = "delete rule",
		[NFT_MSG_NEWSET] = "new set", [NFT_MSG_DELSET] = "delete set",
		[NFT_MSG_NEWSETELEM] = "new element",
		[NFT_MSG_DELSETELEM] = "delete element",
	};

	if (type < sizeof(names) / sizeof(names[0]) && names[type])
		return names[type];
	return "change";
}

/* Object creations and deletions (destroy included, 6.3+). Not the
 * generation, traces, or the device notifications of 6.16+ (a port's
 * device coming and going binds and unbinds its chains: not tampering;
 * link.c reports it). */
static bool changes_ruleset(uint16_t type)
{
	switch (type) {
	case NFT_MSG_NEWTABLE: case NFT_MSG_DELTABLE:
	case NFT_MSG_NEWCHAIN: case NFT_MSG_DELCHAIN:
	case NFT_MSG_NEWRULE: case NFT_MSG_DELRULE:
	case NFT_MSG_NEWSET: case NFT_MSG_DELSET:
	case NFT_MSG_NEWSETELEM: case NFT_MSG_DELSETELEM:
	case NFT_MSG_NEWOBJ: case NFT_MSG_DELOBJ:
	case NFT_MSG_NEWFLOWTABLE: case NFT_MSG_DELFLOWTABLE:
		return true;
	default:
		return type >= 26 && type <= 32; /* NFT_MSG_DESTROY* */
	}
}

/* True if this event is someone else's change to one of our tables. */
static bool mon_event(const struct nft *nft, const struct nlmsghdr *nlh)
{
	struct attr_pick table = { NFTA_TABLE_NAME, MNL_TYPE_NUL_STRING, NULL };
	const struct nfgenmsg *nfg;
	uint16_t type = NFNL_MSG_TYPE(nlh->nlmsg_type);

	if (nlh->nlmsg_pid == nft->nl.portid ||
	    NFNL_SUBSYS_ID(nlh->nlmsg_type) != NFNL_SUBSYS_NFTABLES ||
	    !changes_ruleset(type) ||
	    mnl_nlmsg_get_payload_len(nlh) < sizeof(*nfg))
		return false;
	nfg = mnl_nlmsg_get_payload(nlh);
	if (nfg->nfgen_family != NFPROTO_BRIDGE &&
	    nfg->nfgen_family != NFPROTO_NETDEV)
		return false;
	if (mnl_attr_parse(nlh, sizeof(*nfg), attr_pick_cb, &table) < 0) {
		/* An event of our families we cannot read: re-asserting
		 * is cheap, missing a flush is not. */
		log_info("nft monitor: unreadable event from port %u",
			 nlh->nlmsg_pid);
		return true;
	}
	if (!table.found || strcmp(mnl_attr_get_str(table.found), nft->table))
		return false;
	log_debug("nft monitor: %s in table %s %s by port %u", event_name(type),
		  nfg->nfgen_family == NFPROTO_NETDEV ? "netdev" : "bridge",
		  nft->table, nlh->nlmsg_pid);
	return true;
}

/* Counts someone else's events on our table; the first one is logged. */
static size_t mon_batch(const struct nft *nft, ssize_t n, size_t seen)
{
	const struct nlmsghdr *nlh = (const struct nlmsghdr *)nft->nl.buf;
	int len = (int)n;

	for (; mnl_nlmsg_ok(nlh, len); nlh = mnl_nlmsg_next(nlh, &len)) {
		if (!mon_event(nft, nlh))
			continue;
		if (seen++ == 0)
			log_info("nft monitor: %s in table %s by port %u",
				 event_name(NFNL_MSG_TYPE(nlh->nlmsg_type)),
				 nft->table, nlh->nlmsg_pid);
	}
	return seen;
}

int nft_monitor_read(struct nft *nft)
{
	int found = nft->nl.missed;
	size_t events = 0;

	if (nft->nl.missed)
		log_info("nft monitor: the ruleset changed while we were not "
			 "listening");
	nft->nl.missed = false;
	if (nfnl_subscribe(&nft->nl, true) < 0)
		goto fail;
	for (;;) {
		ssize_t n = nfnl_recv(nft->nl.mon, nft->nl.buf, NFNL_RECV_BUF, MSG_DONTWAIT);
		if (n >= 0) {
			events = mon_batch(nft, n, events);
		} else if (errno == EAGAIN || errno == EWOULDBLOCK) {
			if (events > 1)
				log_info("nft monitor: %zu changes to tables %s",
					 events, nft->table);
			return found || events;
		} else if (errno == ENOBUFS || errno == ENOSPC) {
			log_warnx("nft monitor: events lost (%s), assuming our "
				  "table was touched", strerror(errno));
			found = 1;
		} else if (errno != EINTR) {
			log_warn("nft monitor: receive");
			goto fail;
		}
	}
fail:
	nft->nl.missed = found || events;
	return -1;
}

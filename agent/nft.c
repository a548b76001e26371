/* nft.c: the agent's own nftables table, through libnftnl + libmnl.
 *
 * The table (`nft list table bridge cordon`, docs/bench-nft.md):
 *
 *   map cut { type ether_addr : verdict; }   one element per cut MAC
 *   chain smtp_chk {                         regular chain
 *       oif != 0 return
 *       tcp dport 25 drop                    (and 465, 587)
 *   }
 *   chain pre { type filter hook prerouting priority -300; policy accept;
 *       ether saddr vmap @cut }
 *   chain post { type filter hook postrouting priority -300; policy accept;
 *       ether daddr vmap @cut }
 *
 * A frame from and to MACs that are not cut costs one hash lookup per hook:
 * per-rule cost on every frame is what limits a bridge's throughput. An
 * element's verdict is `drop` if its MAC is cut in public or private scope
 * (drop wins), `jump smtp_chk` if only in smtp scope. The kernel thus holds
 * no per-scope sets: `cur[]` mirrors, per scope, what our last batch
 * committed, and each change computes the verdicts from it. One map for
 * both hooks rather than one per direction: 100k cut MACs stay 100k
 * elements, and a bulk assert's time is per element. An assert replaces
 * the whole table (see build_table()).
 *
 * smtp_chk is also reached from postrouting, where the cut MAC is the
 * destination: mail *to* the VM must pass, so it returns when the frame has
 * an output port (postrouting; prerouting has none yet). Only unicast
 * frames to a cut MAC are dropped: the map only ever holds VM MACs, which
 * are unicast, so broadcast and multicast still reach the VM.
 *
 * Two netlink sockets: `nl` carries batches and queries, `mon` listens to
 * NFNLGRP_NFTABLES for changes made by anyone else.
 *
 * A batch is one contiguous buffer: BEGIN, the messages, END, sent with one
 * sendmsg(). nfnetlink processes it synchronously inside that call, so when
 * sendmsg() returns every ack is already queued on `nl` and we read them
 * without blocking. Message i of a batch has sequence number seq0 + i and
 * NLM_F_ACK; its ack is mapped back to `struct change` i for the log.
 *
 * Our own batches would flood `mon` with one event per map element (a
 * table of 100k MACs replaced = 200k events, ENOBUFS). So `mon` leaves the
 * group while our batch runs, and the batch is fenced by the ruleset
 * generation id: BEGIN carries the id read just before (the kernel refuses
 * the batch with ERESTART if anyone committed in between), and the id read
 * after re-joining must be ours. Any gap means someone else may have
 * committed unseen, and the next nft_monitor_read() reports it. */
#include "nft.h"

#include "log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>

#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter_bridge.h>
#include <linux/netlink.h>

#include <libmnl/libmnl.h>
#include <libnftnl/chain.h>
#include <libnftnl/common.h>
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>
#include <libnftnl/table.h>

#define FAMILY NFPROTO_BRIDGE
#define CHAIN_PRIO (-300)
#define TYPE_ETHERADDR 9 /* nft's datatype id: "type ether_addr" */
#define MAP_NAME "cut"
#define SMTP_CHAIN "smtp_chk"
#define RECV_BUF (64 * 1024)
/* Element attributes per message: the element list nest has a 16-bit
 * length, so the message stays under 64 KiB (1666 `drop` elements). */
#define ELEM_BYTES 60000
#define MSG_ROOM (64 * 1024 + 1024) /* largest message we build */
#define GET_ELEMS_PER_MSG 16 /* see elems_present() */
#define BEGIN_LEN 28 /* nlmsghdr + nfgenmsg + NFNL_BATCH_GENID */
#define END_LEN 20   /* nlmsghdr + nfgenmsg */
#define ACK_TRUESIZE 2048 /* kernel memory one queued ack may take */
#define MAX_LOGGED_ERRORS 5
#define RESTART_TRIES 3

/* The header of an element message (table and map names) fits in what
 * MSG_ROOM leaves beyond the elements. */
_Static_assert(ELEM_BYTES + 1024 < MSG_ROOM && ELEM_BYTES < 65535 - 64,
	       "element messages too large");

#define SCOPE_SMTP_IDX 2 /* scope index of "smtp": only its TCP ports are cut */

/* What the map says for a MAC. K_DROP and K_SMTP index per-verdict MAC
 * lists; K_NONE: not in the map; K_OTHER: a verdict we never set. */
enum kind { K_DROP, K_SMTP, NKINDS, K_NONE = NKINDS, K_OTHER };

static const char *const kind_names[NKINDS] = { "drop", "jump " SMTP_CHAIN };

struct chain_def {
	const char *name;
	bool base;              /* hooked; else only reached by jump */
	uint32_t hook;
};

/* smtp_chk first: the map's elements jump to it, so it must exist before
 * them in a batch. */
static const struct chain_def chains[] = {
	{ SMTP_CHAIN, false, 0 },
	{ "pre", true, NF_BR_PRE_ROUTING },
	{ "post", true, NF_BR_POST_ROUTING },
};
#define NCHAINS (sizeof(chains) / sizeof(chains[0]))

struct nft {
	struct mnl_socket *nl;  /* batches and queries */
	struct mnl_socket *mon; /* NFNLGRP_NFTABLES events */
	uint32_t portid;        /* of nl: events carrying it are ours */
	uint32_t seq;
	int sndbuf, rcvbuf;     /* what we last asked for on nl */
	bool subscribed;        /* mon is in the group */
	bool missed;            /* events may have been lost: report once */
	bool synced;            /* the kernel got cur[] from our last batch */
	char *table;
	char *buf;              /* RECV_BUF bytes */
	struct mac_list cur[SCOPE_COUNT]; /* sorted, as last committed */
};

/* What one message of a batch does, to explain its error. */
struct change {
	char desc[80];
	const struct mac *macs; /* elements carried, or NULL */
	size_t n;
	int kind;               /* their verdict; K_NONE: keys only */
	uint32_t elems_off;     /* offset of the first element attribute */
	uint32_t elem_len;      /* and the length of each */
};

struct batch {
	const char *what;       /* "assert", "add", "delete" */
	char *buf;              /* BEGIN_LEN reserved at the front */
	size_t len, cap;
	struct change *chg;
	size_t n, cap_chg;
	uint32_t seq0;          /* of message 0; BEGIN has seq0 - 1 */
	bool quiet_enoent;      /* ENOENT is expected (delete): log at info */
};

struct ack_state {
	uint8_t *seen;
	size_t nseen, nerr, nenoent;
	int batch_err;          /* errno on BEGIN: the whole batch refused */
	bool lost;              /* ENOBUFS: some acks were dropped */
};

/* Internal outcomes of a batch; public functions map them. REJECTED: the
 * kernel refused a message (not ENOENT) and aborted the batch; RESTART:
 * the generation id changed before it ran. */
enum { BATCH_OK = 0, BATCH_FAILED = -1, BATCH_ENOENT = -ENOENT,
       BATCH_REJECTED = -1000, BATCH_RESTART = -1001 };

/* ---- sockets ---- */

/* Asks for a socket buffer size; the FORCE variant passes the sysctl
 * maximum (we run with CAP_NET_ADMIN), the plain one is the fallback. */
static int sock_buf(struct mnl_socket *s, int force_opt, int opt, int bytes)
{
	int fd = mnl_socket_get_fd(s);

	if (setsockopt(fd, SOL_SOCKET, force_opt, &bytes, sizeof(bytes)) == 0)
		return 0;
	if (setsockopt(fd, SOL_SOCKET, opt, &bytes, sizeof(bytes)) == 0)
		return 0;
	log_warn("nft: setsockopt buffer %d bytes", bytes);
	return -1;
}

/* Receives one datagram; only the kernel (port 0) may talk to us. */
static ssize_t nl_recv(struct mnl_socket *s, void *buf, size_t len, int flags)
{
	struct sockaddr_nl addr;
	struct iovec iov = { buf, len };
	struct msghdr msg = { .msg_name = &addr, .msg_namelen = sizeof(addr),
			      .msg_iov = &iov, .msg_iovlen = 1 };

	for (;;) {
		ssize_t n = recvmsg(mnl_socket_get_fd(s), &msg, flags);
		if (n < 0)
			return -1;
		if (msg.msg_flags & MSG_TRUNC) {
			errno = ENOSPC;
			return -1;
		}
		if (msg.msg_namelen == sizeof(addr) && addr.nl_pid == 0)
			return n;
		log_debug("nft: dropped a message from port %u", addr.nl_pid);
	}
}

/* Throws away whatever an earlier, abandoned exchange left on nl, so that
 * sequence numbers below only ever meet their own replies. */
static void nl_drain(struct nft *nft)
{
	size_t n = 0;

	for (;; n++) {
		if (nl_recv(nft->nl, nft->buf, RECV_BUF, MSG_DONTWAIT) >= 0)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			break;
		if (errno != EINTR && errno != ENOBUFS && errno != ENOSPC) {
			log_warn("nft: draining netlink socket");
			break;
		}
	}
	if (n)
		log_debug("nft: drained %zu stale replies", n);
}

static struct mnl_socket *nl_open(int flags)
{
	struct mnl_socket *s = mnl_socket_open2(NETLINK_NETFILTER,
						flags | SOCK_CLOEXEC);

	if (!s) {
		log_warn("nft: netlink socket");
		return NULL;
	}
	if (mnl_socket_bind(s, 0, MNL_SOCKET_AUTOPID) < 0) {
		log_warn("nft: netlink bind");
		mnl_socket_close(s);
		return NULL;
	}
	return s;
}

/* The batch/query socket: errors carry only the header of the failed
 * message (CAP_ACK: acks stay small however big the message) plus the
 * kernel's extended ack (offset of the bad element, a text). A receive
 * timeout bounds a dump that never ends. */
static int nl_setup(struct nft *nft)
{
	int one = 1;
	struct timeval tv = { .tv_sec = 5 };

	nft->nl = nl_open(0);
	if (!nft->nl)
		return -1;
	nft->portid = mnl_socket_get_portid(nft->nl);
	if (mnl_socket_setsockopt(nft->nl, NETLINK_CAP_ACK, &one, sizeof(one)) < 0 ||
	    mnl_socket_setsockopt(nft->nl, NETLINK_EXT_ACK, &one, sizeof(one)) < 0 ||
	    setsockopt(mnl_socket_get_fd(nft->nl), SOL_SOCKET, SO_RCVTIMEO, &tv,
		       sizeof(tv)) < 0) {
		log_warn("nft: netlink socket options");
		return -1;
	}
	return 0;
}

static int mon_subscribe(struct nft *nft, bool on)
{
	int group = NFNLGRP_NFTABLES;
	int opt = on ? NETLINK_ADD_MEMBERSHIP : NETLINK_DROP_MEMBERSHIP;

	if (nft->subscribed == on)
		return 0;
	if (mnl_socket_setsockopt(nft->mon, opt, &group, sizeof(group)) < 0) {
		log_warn("nft: monitor %s group", on ? "join" : "leave");
		return -1;
	}
	nft->subscribed = on;
	return 0;
}

/* Non-blocking, and a 1 MiB buffer so that someone else's large change
 * (a flush of a big ruleset) rarely overruns it. Without it (logged) the
 * default buffer still works: an overrun is reported as tampering. */
static int mon_setup(struct nft *nft)
{
	nft->mon = nl_open(SOCK_NONBLOCK);
	if (!nft->mon)
		return -1;
	if (sock_buf(nft->mon, SO_RCVBUFFORCE, SO_RCVBUF, 1 << 20) < 0)
		log_warnx("nft: monitor keeps the default receive buffer");
	return mon_subscribe(nft, true);
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
	nft->buf = malloc(RECV_BUF);
	if (!nft->table || !nft->buf) {
		log_warn("nft: malloc");
		nft_free(nft);
		return NULL;
	}
	nft->seq = (uint32_t)time(NULL);
	if (nl_setup(nft) < 0 || mon_setup(nft) < 0) {
		nft_free(nft);
		return NULL;
	}
	return nft;
}

void nft_free(struct nft *nft)
{
	if (!nft)
		return;
	if (nft->nl)
		mnl_socket_close(nft->nl);
	if (nft->mon)
		mnl_socket_close(nft->mon);
	for (int i = 0; i < SCOPE_COUNT; i++)
		mac_list_clear(&nft->cur[i]);
	free(nft->table);
	free(nft->buf);
	free(nft);
}

int nft_monitor_fd(const struct nft *nft)
{
	return mnl_socket_get_fd(nft->mon);
}

size_t nft_set_size(const struct nft *nft, int scope)
{
	if (scope < 0 || scope >= SCOPE_COUNT)
		return 0;
	return nft->cur[scope].n;
}

/* ---- queries (one request, replies until the ack or NLMSG_DONE) ---- */

/* 0 when done, or -errno: the kernel's (ENOENT: no such object) or ours
 * (EPROTO: a reply we could not parse). */
static int nl_query(struct nft *nft, struct nlmsghdr *req, mnl_cb_t cb,
		    void *data)
{
	uint32_t seq = req->nlmsg_seq;

	nl_drain(nft);
	if (mnl_socket_sendto(nft->nl, req, req->nlmsg_len) < 0)
		return -errno;
	for (;;) {
		ssize_t n = nl_recv(nft->nl, nft->buf, RECV_BUF, 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		errno = 0; /* a callback may fail without setting it */
		int ret = mnl_cb_run(nft->buf, (size_t)n, seq, nft->portid,
				     cb, data);
		if (ret == MNL_CB_STOP)
			return 0;
		if (ret < 0)
			return errno ? -errno : -EPROTO;
	}
}

static int gen_attr_cb(const struct nlattr *attr, void *data)
{
	const struct nlattr **tb = data;

	if (mnl_attr_get_type(attr) != NFTA_GEN_ID)
		return MNL_CB_OK;
	if (mnl_attr_validate(attr, MNL_TYPE_U32) < 0)
		return MNL_CB_ERROR;
	tb[NFTA_GEN_ID] = attr;
	return MNL_CB_OK;
}

static int gen_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct nlattr *tb[NFTA_GEN_MAX + 1] = { 0 };

	if (mnl_attr_parse(nlh, sizeof(struct nfgenmsg), gen_attr_cb, tb) < 0 ||
	    !tb[NFTA_GEN_ID]) {
		errno = EPROTO;
		return MNL_CB_ERROR;
	}
	*(uint32_t *)data = ntohl(mnl_attr_get_u32(tb[NFTA_GEN_ID]));
	return MNL_CB_OK;
}

/* nft list ruleset's first step: the ruleset generation id. */
static int get_genid(struct nft *nft, uint32_t *gen)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh;
	int ret;

	nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETGEN, AF_UNSPEC, NLM_F_ACK,
				    ++nft->seq);
	*gen = 0;
	ret = nl_query(nft, nlh, gen_cb, gen);
	if (ret < 0) {
		errno = -ret;
		log_warn("nft: get ruleset generation");
		return -1;
	}
	return 0;
}

/* ---- batch building ---- */

static void batch_init(struct batch *b, struct nft *nft, const char *what)
{
	memset(b, 0, sizeof(*b));
	b->what = what;
	b->len = BEGIN_LEN;
	b->seq0 = nft->seq + 2; /* nft->seq + 1 is BEGIN */
}

static void batch_free(struct batch *b)
{
	free(b->buf);
	free(b->chg);
}

/* Room for one more message of any size we build, plus END. */
static int batch_reserve(struct batch *b)
{
	if (b->cap < b->len + MSG_ROOM + END_LEN) {
		size_t cap = b->cap ? b->cap * 2 : 4 * MSG_ROOM;
		while (cap < b->len + MSG_ROOM + END_LEN)
			cap *= 2;
		char *buf = realloc(b->buf, cap);
		if (!buf)
			return -1;
		b->buf = buf;
		b->cap = cap;
	}
	if (b->n == b->cap_chg) {
		size_t cap = b->cap_chg ? b->cap_chg * 2 : 32;
		struct change *chg = realloc(b->chg, cap * sizeof(*chg));
		if (!chg)
			return -1;
		b->chg = chg;
		b->cap_chg = cap;
	}
	return 0;
}

/* Starts message b->n; batch_push() adds it once its payload is built. */
static struct nlmsghdr *batch_msg(struct batch *b, uint16_t type,
				  uint16_t flags, const char *fmt, ...)
{
	struct change *c;
	va_list ap;

	if (batch_reserve(b) < 0) {
		log_warn("nft: batch buffer");
		return NULL;
	}
	c = &b->chg[b->n];
	memset(c, 0, sizeof(*c));
	va_start(ap, fmt);
	vsnprintf(c->desc, sizeof(c->desc), fmt, ap);
	va_end(ap);
	return nftnl_nlmsg_build_hdr(b->buf + b->len, type, FAMILY,
				     flags | NLM_F_ACK, b->seq0 + (uint32_t)b->n);
}

static void batch_push(struct batch *b, const struct nlmsghdr *nlh)
{
	b->len += NLMSG_ALIGN(nlh->nlmsg_len);
	b->n++;
}

/* NFNL_MSG_BATCH_BEGIN / END around the messages, for nfnetlink. */
static void put_batch_hdr(char *buf, uint16_t type, uint32_t seq,
			  const uint32_t *genid)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct nfgenmsg *nfg;

	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST;
	nlh->nlmsg_seq = seq;
	nfg = mnl_nlmsg_put_extra_header(nlh, sizeof(*nfg));
	nfg->nfgen_family = AF_UNSPEC;
	nfg->version = NFNETLINK_V0;
	nfg->res_id = htons(NFNL_SUBSYS_NFTABLES);
	if (genid)
		mnl_attr_put_u32(nlh, NFNL_BATCH_GENID, htonl(*genid));
}

/* nft add table bridge cordon { flags 0; }  (flags 0 wakes a dormant one) */
static int add_table(struct batch *b, const struct nft *nft, uint16_t type)
{
	struct nftnl_table *t = nftnl_table_alloc();
	struct nlmsghdr *nlh;

	if (!t || nftnl_table_set_str(t, NFTNL_TABLE_NAME, nft->table) < 0)
		goto fail;
	if (type == NFT_MSG_NEWTABLE)
		nftnl_table_set_u32(t, NFTNL_TABLE_FLAGS, 0);
	nlh = batch_msg(b, type, type == NFT_MSG_NEWTABLE ? NLM_F_CREATE : 0,
			"%s table bridge %s",
			type == NFT_MSG_NEWTABLE ? "add" : "delete", nft->table);
	if (!nlh)
		goto fail;
	nftnl_table_nlmsg_build_payload(nlh, t);
	batch_push(b, nlh);
	nftnl_table_free(t);
	return 0;
fail:
	nftnl_table_free(t);
	return -1;
}

/* nft add map bridge cordon cut { type ether_addr : verdict; } */
static int add_map(struct batch *b, const struct nft *nft)
{
	struct nftnl_set *s = nftnl_set_alloc();
	struct nlmsghdr *nlh;

	if (!s || nftnl_set_set_str(s, NFTNL_SET_TABLE, nft->table) < 0 ||
	    nftnl_set_set_str(s, NFTNL_SET_NAME, MAP_NAME) < 0)
		goto fail;
	nftnl_set_set_u32(s, NFTNL_SET_FLAGS, NFT_SET_MAP);
	nftnl_set_set_u32(s, NFTNL_SET_KEY_TYPE, TYPE_ETHERADDR);
	nftnl_set_set_u32(s, NFTNL_SET_KEY_LEN, 6);
	nftnl_set_set_u32(s, NFTNL_SET_DATA_TYPE, NFT_DATA_VERDICT);
	nftnl_set_set_u32(s, NFTNL_SET_ID, 1); /* required by the kernel */
	nlh = batch_msg(b, NFT_MSG_NEWSET, NLM_F_CREATE, "add map %s", MAP_NAME);
	if (!nlh)
		goto fail;
	nftnl_set_nlmsg_build_payload(nlh, s);
	batch_push(b, nlh);
	nftnl_set_free(s);
	return 0;
fail:
	nftnl_set_free(s);
	return -1;
}

/* nft add chain bridge cordon pre { type filter hook prerouting
 *     priority -300; policy accept; }  (post: postrouting; smtp_chk: no
 *     hook, a regular chain) */
static int add_chain(struct batch *b, const struct nft *nft,
		     const struct chain_def *def)
{
	struct nftnl_chain *c = nftnl_chain_alloc();
	struct nlmsghdr *nlh;

	if (!c || nftnl_chain_set_str(c, NFTNL_CHAIN_TABLE, nft->table) < 0 ||
	    nftnl_chain_set_str(c, NFTNL_CHAIN_NAME, def->name) < 0 ||
	    (def->base && nftnl_chain_set_str(c, NFTNL_CHAIN_TYPE, "filter") < 0))
		goto fail;
	if (def->base) {
		nftnl_chain_set_u32(c, NFTNL_CHAIN_HOOKNUM, def->hook);
		nftnl_chain_set_s32(c, NFTNL_CHAIN_PRIO, CHAIN_PRIO);
		nftnl_chain_set_u32(c, NFTNL_CHAIN_POLICY, NF_ACCEPT);
	}
	nlh = batch_msg(b, NFT_MSG_NEWCHAIN, NLM_F_CREATE, "add chain %s",
			def->name);
	if (!nlh)
		goto fail;
	nftnl_chain_nlmsg_build_payload(nlh, c);
	batch_push(b, nlh);
	nftnl_chain_free(c);
	return 0;
fail:
	nftnl_chain_free(c);
	return -1;
}

/* Element messages are written with libmnl directly: one libnftnl object
 * per element would cost a malloc each (100k MACs). */
static void put_elem_hdr(struct nlmsghdr *nlh, const struct nft *nft)
{
	mnl_attr_put_strz(nlh, NFTA_SET_ELEM_LIST_TABLE, nft->table);
	mnl_attr_put_strz(nlh, NFTA_SET_ELEM_LIST_SET, MAP_NAME);
}

/* Bytes of one element: NFTA_LIST_ELEM { KEY { VALUE: 6 bytes } } and,
 * with a verdict, DATA { VERDICT { CODE: u32 [, CHAIN: name] } }. */
static size_t elem_size(int kind)
{
	size_t len = 2 * MNL_ATTR_HDRLEN + MNL_ALIGN(MNL_ATTR_HDRLEN + 6);

	if (kind == K_NONE)
		return len;
	len += 2 * MNL_ATTR_HDRLEN + MNL_ALIGN(MNL_ATTR_HDRLEN + 4);
	if (kind == K_SMTP)
		len += MNL_ALIGN(MNL_ATTR_HDRLEN + sizeof(SMTP_CHAIN));
	return len;
}

static void put_verdict(struct nlmsghdr *nlh, int kind)
{
	struct nlattr *data = mnl_attr_nest_start(nlh, NFTA_SET_ELEM_DATA);
	struct nlattr *v = mnl_attr_nest_start(nlh, NFTA_DATA_VERDICT);

	mnl_attr_put_u32(nlh, NFTA_VERDICT_CODE,
			 htonl(kind == K_DROP ? NF_DROP : (uint32_t)NFT_JUMP));
	if (kind == K_SMTP)
		mnl_attr_put_strz(nlh, NFTA_VERDICT_CHAIN, SMTP_CHAIN);
	mnl_attr_nest_end(nlh, v);
	mnl_attr_nest_end(nlh, data);
}

/* The element list of one message; records where the elements start so
 * that the kernel's error offset names the MAC it refused. */
static void put_elems(struct nlmsghdr *nlh, struct change *c)
{
	struct nlattr *list = mnl_attr_nest_start(nlh, NFTA_SET_ELEM_LIST_ELEMENTS);

	c->elems_off = (uint32_t)((char *)mnl_nlmsg_get_payload_tail(nlh) -
				  (char *)nlh);
	for (size_t i = 0; i < c->n; i++) {
		struct nlattr *elem = mnl_attr_nest_start(nlh, NFTA_LIST_ELEM);
		struct nlattr *key = mnl_attr_nest_start(nlh, NFTA_SET_ELEM_KEY);
		mnl_attr_put(nlh, NFTA_DATA_VALUE, sizeof(c->macs[i].b),
			     c->macs[i].b);
		mnl_attr_nest_end(nlh, key);
		if (c->kind != K_NONE)
			put_verdict(nlh, c->kind);
		mnl_attr_nest_end(nlh, elem);
		if (i == 0)
			c->elem_len = elem->nla_len;
	}
	mnl_attr_nest_end(nlh, list);
}

/* nft add element bridge cordon cut { 52:54:00:00:00:01 : drop, ... }
 * (kind: the verdict), or delete element (keys only, kind K_NONE), as
 * many per message as ELEM_BYTES allows. */
static int add_elems(struct batch *b, const struct nft *nft, int kind,
		     const struct mac_list *l)
{
	bool add = kind != K_NONE;
	size_t per_msg = ELEM_BYTES / elem_size(kind);

	for (size_t i = 0; i < l->n; i += per_msg) {
		size_t k = l->n - i < per_msg ? l->n - i : per_msg;
		struct nlmsghdr *nlh = batch_msg(
			b, add ? NFT_MSG_NEWSETELEM : NFT_MSG_DELSETELEM,
			add ? NLM_F_CREATE : 0, "%s %zu elements (#%zu..)%s%s",
			add ? "add" : "delete", k, i, add ? " : " : "",
			add ? kind_names[kind] : "");
		if (!nlh)
			return -1;
		struct change *c = &b->chg[b->n];
		c->macs = l->v + i;
		c->n = k;
		c->kind = kind;
		put_elem_hdr(nlh, nft);
		put_elems(nlh, c);
		batch_push(b, nlh);
	}
	return 0;
}

/* ---- rules ---- */

static int rule_expr(struct nftnl_rule *r, struct nftnl_expr *e)
{
	if (!e)
		return -1;
	nftnl_rule_add_expr(r, e);
	return 0;
}

static int expr_payload(struct nftnl_rule *r, uint32_t base, uint32_t off,
			uint32_t len)
{
	struct nftnl_expr *e = nftnl_expr_alloc("payload");

	if (e) {
		nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_DREG, NFT_REG_1);
		nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_BASE, base);
		nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_OFFSET, off);
		nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_LEN, len);
	}
	return rule_expr(r, e);
}

static int expr_cmp(struct nftnl_rule *r, uint32_t op, const void *data,
		    uint32_t len)
{
	struct nftnl_expr *e = nftnl_expr_alloc("cmp");

	if (!e || nftnl_expr_set(e, NFTNL_EXPR_CMP_DATA, data, len) < 0) {
		nftnl_expr_free(e);
		return -1;
	}
	nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_SREG, NFT_REG_1);
	nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_OP, op);
	return rule_expr(r, e);
}

static int expr_meta(struct nftnl_rule *r, uint32_t key)
{
	struct nftnl_expr *e = nftnl_expr_alloc("meta");

	if (e) {
		nftnl_expr_set_u32(e, NFTNL_EXPR_META_KEY, key);
		nftnl_expr_set_u32(e, NFTNL_EXPR_META_DREG, NFT_REG_1);
	}
	return rule_expr(r, e);
}

static int expr_verdict(struct nftnl_rule *r, int verdict)
{
	struct nftnl_expr *e = nftnl_expr_alloc("immediate");

	if (e) {
		nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_DREG, NFT_REG_VERDICT);
		nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_VERDICT, (uint32_t)verdict);
	}
	return rule_expr(r, e);
}

/* ether saddr vmap @cut (arg 6: source MAC offset) / ether daddr (0) */
static int fill_vmap(struct nftnl_rule *r, uint16_t mac_off)
{
	struct nftnl_expr *e;

	if (expr_payload(r, NFT_PAYLOAD_LL_HEADER, mac_off, 6) < 0)
		return -1;
	e = nftnl_expr_alloc("lookup");
	if (!e || nftnl_expr_set_str(e, NFTNL_EXPR_LOOKUP_SET, MAP_NAME) < 0) {
		nftnl_expr_free(e);
		return -1;
	}
	nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_SREG, NFT_REG_1);
	nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_DREG, NFT_REG_VERDICT);
	return rule_expr(r, e);
}

/* oif != 0 return: postrouting (see the top of the file) */
static int fill_return_if_out(struct nftnl_rule *r, uint16_t unused)
{
	uint32_t none = 0;

	(void)unused;
	if (expr_meta(r, NFT_META_OIF) < 0 ||
	    expr_cmp(r, NFT_CMP_NEQ, &none, sizeof(none)) < 0)
		return -1;
	return expr_verdict(r, NFT_RETURN);
}

/* meta l4proto tcp th dport PORT drop */
static int fill_port_drop(struct nftnl_rule *r, uint16_t port)
{
	uint8_t tcp = IPPROTO_TCP;
	uint16_t be_port = htons(port);

	if (expr_meta(r, NFT_META_L4PROTO) < 0 ||
	    expr_cmp(r, NFT_CMP_EQ, &tcp, 1) < 0 ||
	    expr_payload(r, NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2) < 0 ||
	    expr_cmp(r, NFT_CMP_EQ, &be_port, 2) < 0)
		return -1;
	return expr_verdict(r, NF_DROP);
}

struct rule_def {
	const char *chain;
	const char *text;       /* in nft syntax, for the log */
	int (*fill)(struct nftnl_rule *r, uint16_t arg);
	uint16_t arg;
};

/* Every rule of the table, in chain order (verify counts them per chain). */
static const struct rule_def rules[] = {
	{ SMTP_CHAIN, "oif != 0 return", fill_return_if_out, 0 },
	{ SMTP_CHAIN, "tcp dport 25 drop", fill_port_drop, 25 },
	{ SMTP_CHAIN, "tcp dport 465 drop", fill_port_drop, 465 },
	{ SMTP_CHAIN, "tcp dport 587 drop", fill_port_drop, 587 },
	{ "pre", "ether saddr vmap @" MAP_NAME, fill_vmap, 6 },
	{ "post", "ether daddr vmap @" MAP_NAME, fill_vmap, 0 },
};
#define NRULES (sizeof(rules) / sizeof(rules[0]))

static uint32_t chain_nrules(const char *chain)
{
	uint32_t n = 0;

	for (size_t i = 0; i < NRULES; i++)
		n += strcmp(rules[i].chain, chain) == 0;
	return n;
}

static int add_rule(struct batch *b, const struct nft *nft,
		    const struct rule_def *def)
{
	struct nftnl_rule *r = nftnl_rule_alloc();
	struct nlmsghdr *nlh;

	if (!r || nftnl_rule_set_str(r, NFTNL_RULE_TABLE, nft->table) < 0 ||
	    nftnl_rule_set_str(r, NFTNL_RULE_CHAIN, def->chain) < 0 ||
	    def->fill(r, def->arg) < 0)
		goto fail;
	nlh = batch_msg(b, NFT_MSG_NEWRULE, NLM_F_CREATE | NLM_F_APPEND,
			"add rule to chain %s: %s", def->chain, def->text);
	if (!nlh)
		goto fail;
	nftnl_rule_nlmsg_build_payload(nlh, r);
	batch_push(b, nlh);
	nftnl_rule_free(r);
	return 0;
fail:
	nftnl_rule_free(r);
	return -1;
}

/* ---- sending a batch and reading its acks ---- */

static int extack_cb(const struct nlattr *attr, void *data)
{
	const struct nlattr **tb = data;
	uint16_t type = mnl_attr_get_type(attr);

	if (type == NLMSGERR_ATTR_MSG &&
	    mnl_attr_validate(attr, MNL_TYPE_NUL_STRING) == 0)
		tb[type] = attr;
	else if (type == NLMSGERR_ATTR_OFFS &&
		 mnl_attr_validate(attr, MNL_TYPE_U32) == 0)
		tb[type] = attr;
	return MNL_CB_OK;
}

/* The kernel's extended ack: its text and, for an element message, the
 * MAC at the offset it points to. */
static void ack_detail(const struct nlmsghdr *nlh, const struct change *c,
		       char *out, size_t len)
{
	const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *tb[NLMSGERR_ATTR_MAX + 1] = { 0 };
	size_t off = sizeof(*e);
	char mac[MAC_STRLEN];

	out[0] = '\0';
	if (!(nlh->nlmsg_flags & NLM_F_ACK_TLVS))
		return;
	if (!(nlh->nlmsg_flags & NLM_F_CAPPED))
		off += e->msg.nlmsg_len - sizeof(struct nlmsghdr);
	if (off > mnl_nlmsg_get_payload_len(nlh) ||
	    mnl_attr_parse(nlh, (unsigned)off, extack_cb, tb) < 0)
		return;
	if (tb[NLMSGERR_ATTR_MSG])
		snprintf(out, len, " (%s)", mnl_attr_get_str(tb[NLMSGERR_ATTR_MSG]));
	if (!tb[NLMSGERR_ATTR_OFFS] || !c->macs || !c->elem_len)
		return;
	uint32_t at = mnl_attr_get_u32(tb[NLMSGERR_ATTR_OFFS]);
	if (at < c->elems_off || (at - c->elems_off) / c->elem_len >= c->n)
		return;
	mac_format(&c->macs[(at - c->elems_off) / c->elem_len], mac);
	size_t used = strlen(out);
	snprintf(out + used, len - used, " at element %s", mac);
}

static void ack_error(const struct batch *b, struct ack_state *st, size_t idx,
		      int err, const struct nlmsghdr *nlh)
{
	char detail[160];

	st->nerr++;
	if (err == ENOENT)
		st->nenoent++;
	if (st->nerr > MAX_LOGGED_ERRORS)
		return;
	ack_detail(nlh, &b->chg[idx], detail, sizeof(detail));
	if (err == ENOENT && b->quiet_enoent)
		log_info("nft %s: %s: %s%s", b->what, b->chg[idx].desc,
			 strerror(err), detail);
	else
		log_warnx("nft %s: %s: %s%s", b->what, b->chg[idx].desc,
			  strerror(err), detail);
}

static void ack_one(const struct batch *b, struct ack_state *st,
		    const struct nlmsghdr *nlh)
{
	const struct nlmsgerr *e;

	if (nlh->nlmsg_type != NLMSG_ERROR ||
	    mnl_nlmsg_get_payload_len(nlh) < sizeof(*e)) {
		log_debug("nft: unexpected reply type %u", nlh->nlmsg_type);
		return;
	}
	e = mnl_nlmsg_get_payload(nlh);
	int err = e->error < 0 ? -e->error : e->error;
	uint32_t idx = e->msg.nlmsg_seq - b->seq0;
	if (e->msg.nlmsg_seq == b->seq0 - 1) {
		if (err)
			st->batch_err = err;
		return;
	}
	if (idx >= b->n || st->seen[idx]) {
		log_debug("nft: stray ack seq %u", e->msg.nlmsg_seq);
		return;
	}
	st->seen[idx] = 1;
	st->nseen++;
	if (err)
		ack_error(b, st, idx, err, nlh);
}

/* Everything is queued by the time sendmsg() returned: read until empty. */
static int read_acks(struct nft *nft, const struct batch *b,
		     struct ack_state *st)
{
	for (;;) {
		ssize_t n = nl_recv(nft->nl, nft->buf, RECV_BUF, MSG_DONTWAIT);
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == ENOBUFS) {
			st->lost = true;
			continue;
		}
		if (n < 0) {
			log_warn("nft %s: reading acks", b->what);
			return -1;
		}
		const struct nlmsghdr *nlh = (const struct nlmsghdr *)nft->buf;
		int len = (int)n;
		for (; mnl_nlmsg_ok(nlh, len); nlh = mnl_nlmsg_next(nlh, &len))
			ack_one(b, st, nlh);
	}
}

/* Socket buffers sized for this batch: the whole batch goes in one
 * sendmsg (the kernel wants sndbuf > its length) and every message's ack
 * must fit in rcvbuf at once, or the kernel drops acks. */
static int size_buffers(struct nft *nft, const struct batch *b, size_t total)
{
	size_t rcv = (b->n + 1) * ACK_TRUESIZE;

	if (total > INT32_MAX / 4 || rcv > INT32_MAX / 4) {
		log_warnx("nft %s: batch too large (%zu bytes)", b->what, total);
		return -1;
	}
	if ((int)total + 4096 > nft->sndbuf) {
		if (sock_buf(nft->nl, SO_SNDBUFFORCE, SO_SNDBUF, (int)total + 4096) < 0)
			return -1;
		nft->sndbuf = (int)total + 4096;
	}
	if ((int)rcv > nft->rcvbuf) {
		if (sock_buf(nft->nl, SO_RCVBUFFORCE, SO_RCVBUF, (int)rcv) < 0)
			return -1;
		nft->rcvbuf = (int)rcv;
	}
	return 0;
}

static int batch_result(const struct batch *b, const struct ack_state *st)
{
	if (st->batch_err == ERESTART)
		return BATCH_RESTART;
	if (st->batch_err) {
		log_warnx("nft %s: batch refused: %s", b->what,
			  strerror(st->batch_err));
		return BATCH_FAILED;
	}
	if (st->nerr > MAX_LOGGED_ERRORS)
		log_warnx("nft %s: ... and %zu more errors", b->what,
			  st->nerr - MAX_LOGGED_ERRORS);
	/* ENOENT only if it is the sole reason: the caller may take it for
	 * "element or table gone" and nothing else. */
	if (st->nerr)
		return st->nenoent == st->nerr ? BATCH_ENOENT : BATCH_REJECTED;
	if (st->lost || st->nseen != b->n) {
		log_warnx("nft %s: %zu of %zu acks missing%s: outcome unknown",
			  b->what, b->n - st->nseen, b->n,
			  st->lost ? " (ENOBUFS)" : "");
		return BATCH_FAILED;
	}
	return BATCH_OK;
}

/* One exchange: BEGIN(genid) messages END, then every ack. */
static int batch_talk(struct nft *nft, struct batch *b, uint32_t genid)
{
	struct ack_state st = { 0 };
	size_t total = b->len + END_LEN;
	int ret = BATCH_FAILED;

	put_batch_hdr(b->buf, NFNL_MSG_BATCH_BEGIN, b->seq0 - 1, &genid);
	put_batch_hdr(b->buf + b->len, NFNL_MSG_BATCH_END,
		      b->seq0 + (uint32_t)b->n, NULL);
	st.seen = calloc(b->n ? b->n : 1, 1);
	if (!st.seen) {
		log_warn("nft: calloc");
		return BATCH_FAILED;
	}
	if (size_buffers(nft, b, total) < 0)
		goto out;
	nl_drain(nft);
	if (mnl_socket_sendto(nft->nl, b->buf, total) != (ssize_t)total) {
		log_warn("nft %s: sending %zu-byte batch", b->what, total);
		goto out;
	}
	if (read_acks(nft, b, &st) == 0)
		ret = batch_result(b, &st);
out:
	free(st.seen);
	return ret;
}

/* Leaves the monitor group, talks, re-joins, and checks that the only
 * commit in that window was ours (see the top of the file). */
static int batch_commit(struct nft *nft, struct batch *b)
{
	int ret = BATCH_FAILED;

	nft->seq = b->seq0 + (uint32_t)b->n;
	if (b->len - BEGIN_LEN == 0)
		return BATCH_OK;
	for (int try = 0; try < RESTART_TRIES; try++) {
		uint32_t gen0, gen1;
		if (get_genid(nft, &gen0) < 0 || mon_subscribe(nft, false) < 0)
			break;
		ret = batch_talk(nft, b, gen0);
		if (mon_subscribe(nft, true) < 0 || get_genid(nft, &gen1) < 0)
			nft->missed = true;
		else if (gen1 - gen0 != (ret == BATCH_OK ? 1u : 0u))
			nft->missed = true;
		if (ret != BATCH_RESTART)
			return ret;
		log_debug("nft %s: ruleset changed meanwhile, retrying", b->what);
	}
	if (ret == BATCH_RESTART)
		log_warnx("nft %s: ruleset kept changing, gave up", b->what);
	return ret == BATCH_RESTART ? BATCH_FAILED : ret;
}

/* ---- MAC lists: the mirror of what we committed, and verdicts ---- */

static bool sorted_unique(const struct mac_list *l)
{
	for (size_t i = 1; i < l->n; i++)
		if (mac_cmp(&l->v[i - 1], &l->v[i]) >= 0)
			return false;
	return true;
}

/* A sorted, unique copy of macs[0..n). */
static int mac_copy_sorted(struct mac_list *out, const struct mac *macs,
			   size_t n)
{
	memset(out, 0, sizeof(*out));
	if (n == 0)
		return 0;
	out->v = malloc(n * sizeof(*macs));
	if (!out->v)
		return -1;
	memcpy(out->v, macs, n * sizeof(*macs));
	out->n = out->cap = n;
	if (!sorted_unique(out))
		mac_list_sort_unique(out);
	return 0;
}

static void lists_clear(struct mac_list *lists, size_t n)
{
	for (size_t i = 0; i < n; i++)
		mac_list_clear(&lists[i]);
}

/* The map's content for per-scope lists (sorted unique): drop for public
 * or private, jump smtp_chk for the MACs only cut in smtp. */
static int split_kinds(const struct mac_list scopes[SCOPE_COUNT],
		       struct mac_list kinds[NKINDS])
{
	memset(&kinds[K_SMTP], 0, sizeof(kinds[K_SMTP]));
	if (mac_list_union(&scopes[0], &scopes[1], &kinds[K_DROP]) < 0)
		return -1;
	if (mac_list_diff(&scopes[SCOPE_SMTP_IDX], &kinds[K_DROP],
			  &kinds[K_SMTP]) < 0) {
		lists_clear(kinds, NKINDS);
		return -1;
	}
	return 0;
}

/* The verdict of m if the scopes held these lists. */
static int kind_of(const struct mac_list *const scopes[SCOPE_COUNT],
		   const struct mac *m)
{
	if (mac_list_has_sorted(scopes[0], m) || mac_list_has_sorted(scopes[1], m))
		return K_DROP;
	return mac_list_has_sorted(scopes[SCOPE_SMTP_IDX], m) ? K_SMTP : K_NONE;
}

/* The map elements a change of one scope's list touches: those to delete
 * (no verdict any more, or another one), those to add per verdict. A MAC
 * whose verdict changes is in both: deletes go first in the batch. */
struct delta {
	struct mac_list del, add[NKINDS];
};

static void delta_clear(struct delta *d)
{
	mac_list_clear(&d->del);
	lists_clear(d->add, NKINDS);
}

/* chg: the MACs added to or removed from cur[scope], which becomes next. */
static int delta_of(const struct nft *nft, int scope,
		    const struct mac_list *chg, const struct mac_list *next,
		    struct delta *d)
{
	const struct mac_list *before[SCOPE_COUNT], *after[SCOPE_COUNT];

	memset(d, 0, sizeof(*d));
	for (int s = 0; s < SCOPE_COUNT; s++)
		before[s] = after[s] = &nft->cur[s];
	after[scope] = next;
	for (size_t i = 0; i < chg->n; i++) {
		int k0 = kind_of(before, &chg->v[i]);
		int k1 = kind_of(after, &chg->v[i]);
		if (k0 == k1)
			continue;
		if ((k0 != K_NONE && mac_list_add(&d->del, &chg->v[i]) < 0) ||
		    (k1 != K_NONE && mac_list_add(&d->add[k1], &chg->v[i]) < 0)) {
			delta_clear(d);
			return -1;
		}
	}
	return 0;
}

/* ---- public changes ---- */

/* The whole table in one batch: create it (so that the delete cannot
 * fail), delete it, build it anew. Atomic like any batch: frames meet the
 * old table or the new one. It repairs whatever was changed (a map
 * re-created with another type, a chain hooked elsewhere, objects of an
 * older layout) and is faster than flushing and refilling a 100k map in
 * place: the kernel walks the whole map to flush it, and once more per
 * rule that looks it up to validate the ruleset, old and new elements
 * alike (docs/bench-nft.md). */
static int build_table(struct batch *b, const struct nft *nft,
		       const struct mac_list kinds[NKINDS])
{
	if (add_table(b, nft, NFT_MSG_NEWTABLE) < 0 ||
	    add_table(b, nft, NFT_MSG_DELTABLE) < 0 ||
	    add_table(b, nft, NFT_MSG_NEWTABLE) < 0 || add_map(b, nft) < 0)
		return -1;
	for (size_t i = 0; i < NCHAINS; i++)
		if (add_chain(b, nft, &chains[i]) < 0)
			return -1;
	for (size_t i = 0; i < NRULES; i++)
		if (add_rule(b, nft, &rules[i]) < 0)
			return -1;
	for (int k = 0; k < NKINDS; k++)
		if (add_elems(b, nft, k, &kinds[k]) < 0)
			return -1;
	return 0;
}

static int assert_once(struct nft *nft, const struct mac_list kinds[NKINDS])
{
	struct batch b;
	int ret = BATCH_FAILED;

	batch_init(&b, nft, "assert");
	if (build_table(&b, nft, kinds) == 0)
		ret = batch_commit(nft, &b);
	else
		log_warn("nft assert: building batch");
	batch_free(&b);
	return ret;
}

/* Sorted unique copies of the caller's per-scope lists. */
static int copy_scopes(const struct mac_list sets[SCOPE_COUNT],
		       struct mac_list lists[SCOPE_COUNT])
{
	for (int i = 0; i < SCOPE_COUNT; i++)
		if (mac_copy_sorted(&lists[i], sets[i].v, sets[i].n) < 0) {
			lists_clear(lists, (size_t)i);
			return -1;
		}
	return 0;
}

int nft_assert_table(struct nft *nft, const struct mac_list sets[SCOPE_COUNT])
{
	struct mac_list lists[SCOPE_COUNT], kinds[NKINDS];
	int ret;

	if (copy_scopes(sets, lists) < 0) {
		log_warn("nft assert: copying MAC lists");
		return -1;
	}
	if (split_kinds(lists, kinds) < 0) {
		log_warn("nft assert: computing verdicts");
		lists_clear(lists, SCOPE_COUNT);
		return -1;
	}
	ret = assert_once(nft, kinds);
	lists_clear(kinds, NKINDS);
	nft->synced = ret == BATCH_OK;
	if (ret != BATCH_OK) {
		lists_clear(lists, SCOPE_COUNT);
		return -1;
	}
	lists_clear(nft->cur, SCOPE_COUNT);
	memcpy(nft->cur, lists, sizeof(lists));
	log_debug("nft: table bridge %s asserted (%zu/%zu/%zu MACs)", nft->table,
		  lists[0].n, lists[1].n, lists[2].n);
	return 0;
}

/* A delete names MACs the scope must hold: else the caller's idea of the
 * table is not ours, and -ENOENT makes it assert the whole table. */
static int check_held(const struct nft *nft, int scope,
		      const struct mac_list *chg)
{
	char mac[MAC_STRLEN];

	for (size_t i = 0; i < chg->n; i++)
		if (!mac_list_has_sorted(&nft->cur[scope], &chg->v[i])) {
			mac_format(&chg->v[i], mac);
			log_info("nft delete: %s is not cut in scope %s",
				 mac, scope_name(scope));
			return -ENOENT;
		}
	return 0;
}

/* The delta as one batch: deletes, then adds per verdict. */
static int commit_delta(struct nft *nft, const struct delta *d, bool del)
{
	struct batch b;
	int ret = BATCH_FAILED;

	batch_init(&b, nft, del ? "delete" : "add");
	/* ENOENT: an element we committed is gone; the caller re-asserts. */
	b.quiet_enoent = true;
	if (add_elems(&b, nft, K_NONE, &d->del) == 0 &&
	    add_elems(&b, nft, K_DROP, &d->add[K_DROP]) == 0 &&
	    add_elems(&b, nft, K_SMTP, &d->add[K_SMTP]) == 0)
		ret = batch_commit(nft, &b);
	else
		log_warn("nft %s: building batch", b.what);
	batch_free(&b);
	return ret;
}

/* chg (sorted unique) joins or leaves cur[scope] in the kernel, then in
 * the mirror. */
static int apply_change(struct nft *nft, int scope, const struct mac_list *chg,
			bool del)
{
	struct mac_list next = { 0 };
	struct delta d;
	int ret;

	ret = del ? mac_list_diff(&nft->cur[scope], chg, &next)
		  : mac_list_union(&nft->cur[scope], chg, &next);
	if (ret < 0 || delta_of(nft, scope, chg, &next, &d) < 0) {
		mac_list_clear(&next);
		log_warn("nft: computing the change");
		return -1;
	}
	ret = commit_delta(nft, &d, del);
	delta_clear(&d);
	if (ret != BATCH_OK) {
		mac_list_clear(&next);
		nft->synced = false; /* the kernel may differ: assert first */
		return ret == BATCH_ENOENT ? -ENOENT : -1;
	}
	mac_list_clear(&nft->cur[scope]);
	nft->cur[scope] = next;
	return 0;
}

static int change_elems(struct nft *nft, bool del, int scope,
			const struct mac *macs, size_t n)
{
	struct mac_list chg;
	int ret;

	if (scope < 0 || scope >= SCOPE_COUNT || (n && !macs)) {
		log_warnx("nft: bad element change (scope %d)", scope);
		return -1;
	}
	if (!nft->synced) {
		log_info("nft: no table of ours to change (not asserted since "
			 "start or since a failed batch)");
		return -ENOENT;
	}
	if (mac_copy_sorted(&chg, macs, n) < 0) {
		log_warn("nft: copying MACs");
		return -1;
	}
	ret = del ? check_held(nft, scope, &chg) : 0;
	if (ret == 0)
		ret = apply_change(nft, scope, &chg, del);
	mac_list_clear(&chg);
	return ret;
}

int nft_set_add_macs(struct nft *nft, int scope, const struct mac *macs,
		     size_t n)
{
	return change_elems(nft, false, scope, macs, n);
}

int nft_set_del_macs(struct nft *nft, int scope, const struct mac *macs,
		     size_t n)
{
	return change_elems(nft, true, scope, macs, n);
}

/* ---- verify ---- */

static int table_cb(const struct nlmsghdr *nlh, void *data)
{
	if (nftnl_table_nlmsg_parse(nlh, data) < 0) {
		errno = EPROTO;
		return MNL_CB_ERROR;
	}
	return MNL_CB_OK;
}

static int chain_cb(const struct nlmsghdr *nlh, void *data)
{
	if (nftnl_chain_nlmsg_parse(nlh, data) < 0) {
		errno = EPROTO;
		return MNL_CB_ERROR;
	}
	return MNL_CB_OK;
}

static int set_cb(const struct nlmsghdr *nlh, void *data)
{
	if (nftnl_set_nlmsg_parse(nlh, data) < 0) {
		errno = EPROTO;
		return MNL_CB_ERROR;
	}
	return MNL_CB_OK;
}

static int rule_count_cb(const struct nlmsghdr *nlh, void *data)
{
	if (NFNL_MSG_TYPE(nlh->nlmsg_type) == NFT_MSG_NEWRULE)
		(*(uint32_t *)data)++;
	return MNL_CB_OK;
}

/* A query's outcome for verify: ENOENT means the object is missing. */
static int query_verdict(int ret, const char *what)
{
	if (ret == 0)
		return 0;
	if (ret == -ENOENT) {
		log_info("nft verify: %s missing", what);
		return 1;
	}
	errno = -ret;
	log_warn("nft verify: reading %s", what);
	return -1;
}

/* nft list table bridge cordon (the table itself: present, not dormant) */
static int verify_table_obj(struct nft *nft)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nftnl_table *t = nftnl_table_alloc();
	int ret;

	if (!t || nftnl_table_set_str(t, NFTNL_TABLE_NAME, nft->table) < 0) {
		nftnl_table_free(t);
		log_warn("nft verify: table");
		return -1;
	}
	struct nlmsghdr *nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETTABLE, FAMILY,
						     NLM_F_ACK, ++nft->seq);
	nftnl_table_nlmsg_build_payload(nlh, t);
	ret = query_verdict(nl_query(nft, nlh, table_cb, t), "table");
	if (ret == 0 && nftnl_table_get_u32(t, NFTNL_TABLE_FLAGS) &
				NFT_TABLE_F_DORMANT) {
		log_info("nft verify: table bridge %s is dormant", nft->table);
		ret = 1;
	}
	nftnl_table_free(t);
	return ret;
}

/* nft list chain bridge cordon pre | wc -l, roughly */
static int count_rules(struct nft *nft, const char *chain, uint32_t *count)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nftnl_rule *r = nftnl_rule_alloc();
	int ret;

	*count = 0;
	if (!r || nftnl_rule_set_str(r, NFTNL_RULE_TABLE, nft->table) < 0 ||
	    nftnl_rule_set_str(r, NFTNL_RULE_CHAIN, chain) < 0) {
		nftnl_rule_free(r);
		log_warn("nft verify: rules");
		return -1;
	}
	struct nlmsghdr *nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETRULE, FAMILY,
						     NLM_F_DUMP, ++nft->seq);
	nftnl_rule_nlmsg_build_payload(nlh, r);
	ret = nl_query(nft, nlh, rule_count_cb, count);
	nftnl_rule_free(r);
	return query_verdict(ret, chain);
}

/* A base chain as add_chain() makes it; a regular one must have no hook. */
static bool chain_as_built(const struct nftnl_chain *c,
			   const struct chain_def *def)
{
	const char *type = nftnl_chain_get_str(c, NFTNL_CHAIN_TYPE);

	if (!def->base)
		return !nftnl_chain_is_set(c, NFTNL_CHAIN_HOOKNUM);
	return nftnl_chain_is_set(c, NFTNL_CHAIN_HOOKNUM) &&
	       nftnl_chain_get_u32(c, NFTNL_CHAIN_HOOKNUM) == def->hook &&
	       nftnl_chain_get_s32(c, NFTNL_CHAIN_PRIO) == CHAIN_PRIO &&
	       nftnl_chain_get_u32(c, NFTNL_CHAIN_POLICY) == NF_ACCEPT &&
	       type && strcmp(type, "filter") == 0;
}

/* nft list chain bridge cordon pre: hook, priority, policy, rule count */
static int verify_chain(struct nft *nft, const struct chain_def *def)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nftnl_chain *c = nftnl_chain_alloc();
	uint32_t nrules;
	int ret;

	if (!c || nftnl_chain_set_str(c, NFTNL_CHAIN_TABLE, nft->table) < 0 ||
	    nftnl_chain_set_str(c, NFTNL_CHAIN_NAME, def->name) < 0) {
		nftnl_chain_free(c);
		log_warn("nft verify: chain");
		return -1;
	}
	struct nlmsghdr *nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETCHAIN, FAMILY,
						     NLM_F_ACK, ++nft->seq);
	nftnl_chain_nlmsg_build_payload(nlh, c);
	ret = query_verdict(nl_query(nft, nlh, chain_cb, c), def->name);
	if (ret == 0 && !chain_as_built(c, def)) {
		log_info("nft verify: chain %s: hook, priority or policy changed",
			 def->name);
		ret = 1;
	}
	nftnl_chain_free(c);
	if (ret == 0)
		ret = count_rules(nft, def->name, &nrules);
	if (ret == 0 && nrules != chain_nrules(def->name)) {
		log_info("nft verify: chain %s has %u rules, expected %u",
			 def->name, nrules, chain_nrules(def->name));
		ret = 1;
	}
	return ret;
}

/* nft list map bridge cordon cut: present, ether_addr : verdict */
static int verify_map_obj(struct nft *nft)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nftnl_set *s = nftnl_set_alloc();
	int ret;

	if (!s || nftnl_set_set_str(s, NFTNL_SET_TABLE, nft->table) < 0 ||
	    nftnl_set_set_str(s, NFTNL_SET_NAME, MAP_NAME) < 0) {
		nftnl_set_free(s);
		log_warn("nft verify: map");
		return -1;
	}
	struct nlmsghdr *nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETSET, FAMILY,
						     NLM_F_ACK, ++nft->seq);
	nftnl_set_nlmsg_build_payload(nlh, s);
	ret = query_verdict(nl_query(nft, nlh, set_cb, s), "map " MAP_NAME);
	if (ret == 0 && (nftnl_set_get_u32(s, NFTNL_SET_KEY_TYPE) != TYPE_ETHERADDR ||
			 nftnl_set_get_u32(s, NFTNL_SET_KEY_LEN) != 6 ||
			 !(nftnl_set_get_u32(s, NFTNL_SET_FLAGS) & NFT_SET_MAP) ||
			 nftnl_set_get_u32(s, NFTNL_SET_DATA_TYPE) != NFT_DATA_VERDICT)) {
		log_info("nft verify: map %s has another type", MAP_NAME);
		ret = 1;
	}
	nftnl_set_free(s);
	return ret;
}

static int elems_attr_cb(const struct nlattr *attr, void *data)
{
	const struct nlattr **tb = data;
	uint16_t type = mnl_attr_get_type(attr);

	switch (type) {
	case NFTA_SET_ELEM_LIST_TABLE:
	case NFTA_SET_ELEM_LIST_SET:
		if (mnl_attr_validate(attr, MNL_TYPE_NUL_STRING) < 0)
			return MNL_CB_ERROR;
		break;
	case NFTA_SET_ELEM_LIST_ELEMENTS:
		if (mnl_attr_validate(attr, MNL_TYPE_NESTED) < 0)
			return MNL_CB_ERROR;
		break;
	default:
		return MNL_CB_OK;
	}
	tb[type] = attr;
	return MNL_CB_OK;
}

/* Keeps the one attribute `want` of a nest, checked as nested/binary. */
struct attr_pick {
	uint16_t want;
	enum mnl_attr_data_type type;
	const struct nlattr *found;
};

static int pick_cb(const struct nlattr *attr, void *data)
{
	struct attr_pick *p = data;

	if (mnl_attr_get_type(attr) != p->want)
		return MNL_CB_OK;
	if (mnl_attr_validate(attr, p->type) < 0)
		return MNL_CB_ERROR;
	p->found = attr;
	return MNL_CB_OK;
}

/* The verdict of NFTA_LIST_ELEM { ..., DATA { VERDICT { CODE, CHAIN } } }:
 * anything but what put_verdict() writes is K_OTHER. */
static int elem_kind(const struct nlattr *elem)
{
	struct attr_pick data = { NFTA_SET_ELEM_DATA, MNL_TYPE_NESTED, NULL };
	struct attr_pick verdict = { NFTA_DATA_VERDICT, MNL_TYPE_NESTED, NULL };
	struct attr_pick code = { NFTA_VERDICT_CODE, MNL_TYPE_U32, NULL };
	struct attr_pick chain = { NFTA_VERDICT_CHAIN, MNL_TYPE_NUL_STRING, NULL };

	if (mnl_attr_parse_nested(elem, pick_cb, &data) < 0 || !data.found ||
	    mnl_attr_parse_nested(data.found, pick_cb, &verdict) < 0 ||
	    !verdict.found ||
	    mnl_attr_parse_nested(verdict.found, pick_cb, &code) < 0 ||
	    !code.found ||
	    mnl_attr_parse_nested(verdict.found, pick_cb, &chain) < 0)
		return K_OTHER;
	switch ((int32_t)ntohl(mnl_attr_get_u32(code.found))) {
	case NF_DROP:
		return chain.found ? K_OTHER : K_DROP;
	case NFT_JUMP:
		return chain.found &&
		       strcmp(mnl_attr_get_str(chain.found), SMTP_CHAIN) == 0
			       ? K_SMTP : K_OTHER;
	default:
		return K_OTHER;
	}
}

/* NFTA_LIST_ELEM { NFTA_SET_ELEM_KEY { NFTA_DATA_VALUE: 6 bytes }, ... } */
static int parse_elem(const struct nlattr *attr, struct mac *mac, int *kind)
{
	struct attr_pick key = { NFTA_SET_ELEM_KEY, MNL_TYPE_NESTED, NULL };
	struct attr_pick val = { NFTA_DATA_VALUE, MNL_TYPE_BINARY, NULL };

	if (mnl_attr_validate(attr, MNL_TYPE_NESTED) < 0 ||
	    mnl_attr_parse_nested(attr, pick_cb, &key) < 0 || !key.found ||
	    mnl_attr_parse_nested(key.found, pick_cb, &val) < 0 || !val.found ||
	    mnl_attr_get_payload_len(val.found) != sizeof(mac->b))
		return -1;
	memcpy(mac->b, mnl_attr_get_payload(val.found), sizeof(mac->b));
	*kind = elem_kind(attr);
	return 0;
}

/* What the kernel's map holds: MACs per verdict we set, and how many have
 * another verdict (the first of them, for the log). */
struct map_view {
	struct mac_list k[NKINDS];
	size_t nother;
	struct mac other;
};

static int view_add(struct map_view *v, const struct mac *mac, int kind)
{
	if (kind == K_OTHER) {
		if (v->nother++ == 0)
			v->other = *mac;
		return 0;
	}
	return mac_list_add(&v->k[kind], mac);
}

static int elems_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct nlattr *tb[NFTA_SET_ELEM_LIST_MAX + 1] = { 0 };
	const struct nlattr *attr;
	struct mac mac;
	int kind;

	if (mnl_attr_parse(nlh, sizeof(struct nfgenmsg), elems_attr_cb, tb) < 0)
		goto proto;
	if (!tb[NFTA_SET_ELEM_LIST_ELEMENTS])
		return MNL_CB_OK;
	mnl_attr_for_each_nested(attr, tb[NFTA_SET_ELEM_LIST_ELEMENTS]) {
		if (parse_elem(attr, &mac, &kind) < 0)
			goto proto;
		if (view_add(data, &mac, kind) < 0) {
			errno = ENOMEM;
			return MNL_CB_ERROR;
		}
	}
	return MNL_CB_OK;
proto:
	errno = EPROTO;
	return MNL_CB_ERROR;
}

/* Logs the first difference of two sorted unique lists. */
static void compare_macs(int kind, const struct mac_list *got,
			 const struct mac_list *want)
{
	char a[MAC_STRLEN], b[MAC_STRLEN];
	size_t i = 0;

	while (i < got->n && i < want->n && mac_cmp(&got->v[i], &want->v[i]) == 0)
		i++;
	strcpy(a, "-");
	strcpy(b, "-");
	if (i < got->n)
		mac_format(&got->v[i], a);
	if (i < want->n)
		mac_format(&want->v[i], b);
	log_info("nft verify: map %s holds %zu MACs with verdict %s, expected "
		 "%zu (first difference: %s instead of %s)", MAP_NAME, got->n,
		 kind_names[kind], want->n, a, b);
}

/* nft get element bridge cordon cut { ... }, a few per request: the
 * kernel answers each element with its own NLMSG_GOODSIZE message, all
 * queued before we read, and they must fit in the receive buffer.
 * 0 all present with verdict `kind`, 1 one is not, -1 error. */
static int elems_present(struct nft *nft, int kind, const struct mac_list *l)
{
	char buf[2048];
	int ret = 0;

	for (size_t i = 0; ret == 0 && i < l->n; i += GET_ELEMS_PER_MSG) {
		struct change c = { .macs = l->v + i, .n = l->n - i,
				    .kind = K_NONE };
		struct map_view got = { 0 };
		if (c.n > GET_ELEMS_PER_MSG)
			c.n = GET_ELEMS_PER_MSG;
		struct nlmsghdr *nlh = nftnl_nlmsg_build_hdr(
			buf, NFT_MSG_GETSETELEM, FAMILY, NLM_F_ACK, ++nft->seq);
		put_elem_hdr(nlh, nft);
		put_elems(nlh, &c);
		ret = query_verdict(nl_query(nft, nlh, elems_cb, &got),
				    "an element");
		if (ret == 0 && got.k[kind].n != c.n)
			ret = 1; /* there, with another verdict */
		lists_clear(got.k, NKINDS);
	}
	return ret;
}

/* Dumped vs expected MACs of one verdict (both sorted unique). A dump of
 * an rhash set that is still resizing after a big commit can skip elements
 * (the kernel resumes each dump part by skipping the count already sent,
 * and a resize reorders the buckets), so elements the dump did not show
 * are asked for by name before they are called missing. Extra elements
 * are never an artefact. */
static int compare_kind(struct nft *nft, int kind, const struct mac_list *got,
			const struct mac_list *exp)
{
	struct mac_list missing = { 0 };
	int ret;

	if (got->n == exp->n && (got->n == 0 ||
	    memcmp(got->v, exp->v, got->n * sizeof(*got->v)) == 0))
		return 0;
	if (mac_list_diff(exp, got, &missing) < 0) {
		log_warn("nft verify: comparing MACs");
		mac_list_clear(&missing);
		return -1;
	}
	ret = 1;
	if (got->n + missing.n == exp->n) { /* nothing extra */
		ret = elems_present(nft, kind, &missing);
		if (ret == 0)
			log_debug("nft verify: map %s: the dump skipped %zu "
				  "present elements", MAP_NAME, missing.n);
	}
	if (ret == 1)
		compare_macs(kind, got, exp);
	mac_list_clear(&missing);
	return ret;
}

static int compare_view(struct nft *nft, struct map_view *got,
			const struct mac_list exp[NKINDS])
{
	char mac[MAC_STRLEN];
	int ret = 0;

	if (got->nother) {
		mac_format(&got->other, mac);
		log_info("nft verify: map %s: %zu elements with a verdict we did "
			 "not set (first: %s)", MAP_NAME, got->nother, mac);
		return 1;
	}
	for (int k = 0; ret == 0 && k < NKINDS; k++) {
		mac_list_sort_unique(&got->k[k]);
		ret = compare_kind(nft, k, &got->k[k], &exp[k]);
	}
	return ret;
}

/* nft list map bridge cordon cut: its elements, compared sorted */
static int verify_elems(struct nft *nft, const struct mac_list exp[NKINDS])
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct map_view got = { 0 };
	int ret;

	struct nlmsghdr *nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETSETELEM,
						     FAMILY, NLM_F_DUMP, ++nft->seq);
	put_elem_hdr(nlh, nft);
	ret = query_verdict(nl_query(nft, nlh, elems_cb, &got), "map " MAP_NAME);
	if (ret == 0)
		ret = compare_view(nft, &got, exp);
	lists_clear(got.k, NKINDS);
	return ret;
}

static int verify_objects(struct nft *nft)
{
	int ret = verify_table_obj(nft);

	for (size_t i = 0; ret == 0 && i < NCHAINS; i++)
		ret = verify_chain(nft, &chains[i]);
	return ret == 0 ? verify_map_obj(nft) : ret;
}

int nft_verify_table(struct nft *nft, const struct mac_list sets[SCOPE_COUNT])
{
	struct mac_list lists[SCOPE_COUNT], kinds[NKINDS];
	int ret = verify_objects(nft);

	if (ret != 0)
		return ret;
	if (copy_scopes(sets, lists) < 0) {
		log_warn("nft verify: copying MACs");
		return -1;
	}
	ret = split_kinds(lists, kinds);
	lists_clear(lists, SCOPE_COUNT);
	if (ret < 0) {
		log_warn("nft verify: computing verdicts");
		return -1;
	}
	ret = verify_elems(nft, kinds);
	lists_clear(kinds, NKINDS);
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

/* True if this event is someone else's change to our table. */
static bool mon_event(const struct nft *nft, const struct nlmsghdr *nlh)
{
	struct attr_pick table = { NFTA_TABLE_NAME, MNL_TYPE_NUL_STRING, NULL };
	const struct nfgenmsg *nfg;
	uint16_t type = NFNL_MSG_TYPE(nlh->nlmsg_type);

	if (nlh->nlmsg_pid == nft->portid ||
	    NFNL_SUBSYS_ID(nlh->nlmsg_type) != NFNL_SUBSYS_NFTABLES ||
	    type == NFT_MSG_NEWGEN || type == NFT_MSG_TRACE ||
	    mnl_nlmsg_get_payload_len(nlh) < sizeof(*nfg))
		return false;
	nfg = mnl_nlmsg_get_payload(nlh);
	if (nfg->nfgen_family != FAMILY)
		return false;
	if (mnl_attr_parse(nlh, sizeof(*nfg), pick_cb, &table) < 0) {
		/* A bridge-family event we cannot read: re-asserting is
		 * cheap, missing a flush is not. */
		log_info("nft monitor: unreadable event from port %u",
			 nlh->nlmsg_pid);
		return true;
	}
	if (!table.found || strcmp(mnl_attr_get_str(table.found), nft->table))
		return false;
	log_debug("nft monitor: %s in table bridge %s by port %u",
		  event_name(type), nft->table, nlh->nlmsg_pid);
	return true;
}

/* Counts someone else's events on our table; the first one is logged. */
static size_t mon_batch(const struct nft *nft, ssize_t n, size_t seen)
{
	const struct nlmsghdr *nlh = (const struct nlmsghdr *)nft->buf;
	int len = (int)n;

	for (; mnl_nlmsg_ok(nlh, len); nlh = mnl_nlmsg_next(nlh, &len)) {
		if (!mon_event(nft, nlh))
			continue;
		if (seen++ == 0)
			log_info("nft monitor: %s in table bridge %s by port %u",
				 event_name(NFNL_MSG_TYPE(nlh->nlmsg_type)),
				 nft->table, nlh->nlmsg_pid);
	}
	return seen;
}

int nft_monitor_read(struct nft *nft)
{
	int found = nft->missed;
	size_t events = 0;

	if (nft->missed)
		log_info("nft monitor: the ruleset changed while we were not "
			 "listening");
	nft->missed = false;
	if (mon_subscribe(nft, true) < 0)
		goto fail;
	for (;;) {
		ssize_t n = nl_recv(nft->mon, nft->buf, RECV_BUF, MSG_DONTWAIT);
		if (n >= 0) {
			events = mon_batch(nft, n, events);
		} else if (errno == EAGAIN || errno == EWOULDBLOCK) {
			if (events > 1)
				log_info("nft monitor: %zu changes to table bridge %s",
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
	nft->missed = found || events;
	return -1;
}

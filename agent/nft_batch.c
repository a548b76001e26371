/* nft_batch.c: see nft_batch.h.
 *
 * A batch is one contiguous buffer: BEGIN, the messages, END, sent with one
 * sendmsg(). nfnetlink processes it synchronously inside that call, so when
 * sendmsg() returns every ack is already queued on the socket and we read
 * them without blocking. Message i of a batch has sequence number seq0 + i
 * and NLM_F_ACK; its ack is mapped back to `struct change` i for the log.
 *
 * Our own batches would flood `mon` with one event per map element (a
 * table of 100k MACs replaced = 200k events, ENOBUFS). So `mon` leaves the
 * group while our batch runs, and the batch is fenced by the ruleset
 * generation id: BEGIN carries the id read just before (the kernel refuses
 * the batch with ERESTART if anyone committed in between), and the id read
 * after re-joining must be ours. Any gap means someone else may have
 * committed unseen, and the next monitor read reports it. */
#include "nft_batch.h"

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
#include <linux/netlink.h>

#include <libnftnl/common.h>

#define RECV_BUF NFNL_RECV_BUF
#define MSG_ROOM NFNL_MSG_ROOM
#define BEGIN_LEN 28 /* nlmsghdr + nfgenmsg + NFNL_BATCH_GENID */
#define END_LEN 20   /* nlmsghdr + nfgenmsg */
#define ACK_TRUESIZE 2048 /* kernel memory one queued ack may take */
#define MAX_LOGGED_ERRORS 5
#define RESTART_TRIES 3
#define BATCH_RESTART (-1001) /* generation id changed before it ran */

struct ack_state {
	uint8_t *seen;
	size_t nseen, nerr, nenoent;
	int batch_err;          /* errno on BEGIN: the whole batch refused */
	bool lost;              /* ENOBUFS: some acks were dropped */
};

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
ssize_t nfnl_recv(struct mnl_socket *s, void *buf, size_t len, int flags)
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
static void nl_drain(struct nfnl *nl)
{
	size_t n = 0;

	for (;; n++) {
		if (nfnl_recv(nl->sock, nl->buf, RECV_BUF, MSG_DONTWAIT) >= 0)
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
static int nl_setup(struct nfnl *nl)
{
	int one = 1;
	struct timeval tv = { .tv_sec = 5 };

	nl->sock = nl_open(0);
	if (!nl->sock)
		return -1;
	nl->portid = mnl_socket_get_portid(nl->sock);
	if (mnl_socket_setsockopt(nl->sock, NETLINK_CAP_ACK, &one, sizeof(one)) < 0 ||
	    mnl_socket_setsockopt(nl->sock, NETLINK_EXT_ACK, &one, sizeof(one)) < 0 ||
	    setsockopt(mnl_socket_get_fd(nl->sock), SOL_SOCKET, SO_RCVTIMEO, &tv,
		       sizeof(tv)) < 0) {
		log_warn("nft: netlink socket options");
		return -1;
	}
	return 0;
}

int nfnl_subscribe(struct nfnl *nl, bool on)
{
	int group = NFNLGRP_NFTABLES;
	int opt = on ? NETLINK_ADD_MEMBERSHIP : NETLINK_DROP_MEMBERSHIP;

	if (nl->subscribed == on)
		return 0;
	if (mnl_socket_setsockopt(nl->mon, opt, &group, sizeof(group)) < 0) {
		log_warn("nft: monitor %s group", on ? "join" : "leave");
		return -1;
	}
	nl->subscribed = on;
	return 0;
}

/* Non-blocking, and a 1 MiB buffer so that someone else's large change
 * (a flush of a big ruleset) rarely overruns it. Without it (logged) the
 * default buffer still works: an overrun is reported as tampering. */
static int mon_setup(struct nfnl *nl)
{
	nl->mon = nl_open(SOCK_NONBLOCK);
	if (!nl->mon)
		return -1;
	if (sock_buf(nl->mon, SO_RCVBUFFORCE, SO_RCVBUF, 1 << 20) < 0)
		log_warnx("nft: monitor keeps the default receive buffer");
	return nfnl_subscribe(nl, true);
}

int nfnl_open(struct nfnl *nl)
{
	memset(nl, 0, sizeof(*nl));
	nl->seq = (uint32_t)time(NULL);
	nl->buf = malloc(RECV_BUF);
	if (!nl->buf) {
		log_warn("nft: malloc");
		return -1;
	}
	return nl_setup(nl) < 0 || mon_setup(nl) < 0 ? -1 : 0;
}

void nfnl_close(struct nfnl *nl)
{
	if (nl->sock)
		mnl_socket_close(nl->sock);
	if (nl->mon)
		mnl_socket_close(nl->mon);
	free(nl->buf);
	memset(nl, 0, sizeof(*nl));
}

/* ---- queries (one request, replies until the ack or NLMSG_DONE) ---- */

/* 0 when done, or -errno: the kernel's (ENOENT: no such object) or ours
 * (EPROTO: a reply we could not parse). */
int nfnl_query(struct nfnl *nl, struct nlmsghdr *req, mnl_cb_t cb,
		    void *data)
{
	uint32_t seq = req->nlmsg_seq;

	nl_drain(nl);
	if (mnl_socket_sendto(nl->sock, req, req->nlmsg_len) < 0)
		return -errno;
	for (;;) {
		ssize_t n = nfnl_recv(nl->sock, nl->buf, RECV_BUF, 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		errno = 0; /* a callback may fail without setting it */
		int ret = mnl_cb_run(nl->buf, (size_t)n, seq, nl->portid,
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
static int get_genid(struct nfnl *nl, uint32_t *gen)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh;
	int ret;

	nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETGEN, AF_UNSPEC, NLM_F_ACK,
				    ++nl->seq);
	*gen = 0;
	ret = nfnl_query(nl, nlh, gen_cb, gen);
	if (ret < 0) {
		errno = -ret;
		log_warn("nft: get ruleset generation");
		return -1;
	}
	return 0;
}

/* ---- batch building ---- */

void batch_init(struct batch *b, struct nfnl *nl, const char *what)
{
	memset(b, 0, sizeof(*b));
	b->what = what;
	b->len = BEGIN_LEN;
	b->seq0 = nl->seq + 2; /* nl->seq + 1 is BEGIN */
	b->first_err = -1;
}

struct change *batch_cur(struct batch *b)
{
	return &b->chg[b->n];
}

void batch_free(struct batch *b)
{
	for (size_t i = 0; i < b->n_kept; i++)
		free(b->kept[i]);
	free(b->kept);
	free(b->buf);
	free(b->chg);
}

int batch_keep(struct batch *b, void *p)
{
	if (!p)
		return 0;
	if (b->n_kept == b->cap_kept) {
		size_t cap = b->cap_kept ? 2 * b->cap_kept : 8;
		void **v = realloc(b->kept, cap * sizeof(*v));
		if (!v) {
			free(p);
			log_warn("nft: batch");
			return -1;
		}
		b->kept = v;
		b->cap_kept = cap;
	}
	b->kept[b->n_kept++] = p;
	return 0;
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
struct nlmsghdr *batch_msg(struct batch *b, uint16_t type, uint16_t family,
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
	return nftnl_nlmsg_build_hdr(b->buf + b->len, type, family,
				     flags | NLM_F_ACK, b->seq0 + (uint32_t)b->n);
}

void batch_push(struct batch *b, const struct nlmsghdr *nlh)
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

static void ack_error(struct batch *b, struct ack_state *st, size_t idx,
		      int err, const struct nlmsghdr *nlh)
{
	char detail[160];

	st->nerr++;
	if (b->first_err < 0)
		b->first_err = (ssize_t)idx;
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

static void ack_one(struct batch *b, struct ack_state *st,
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
static int read_acks(struct nfnl *nl, struct batch *b,
		     struct ack_state *st)
{
	for (;;) {
		ssize_t n = nfnl_recv(nl->sock, nl->buf, RECV_BUF, MSG_DONTWAIT);
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
		const struct nlmsghdr *nlh = (const struct nlmsghdr *)nl->buf;
		int len = (int)n;
		for (; mnl_nlmsg_ok(nlh, len); nlh = mnl_nlmsg_next(nlh, &len))
			ack_one(b, st, nlh);
	}
}

/* Socket buffers sized for this batch: the whole batch goes in one
 * sendmsg (the kernel wants sndbuf > its length) and every message's ack
 * must fit in rcvbuf at once, or the kernel drops acks. */
static int size_buffers(struct nfnl *nl, const struct batch *b, size_t total)
{
	size_t rcv = (b->n + 1) * ACK_TRUESIZE;

	if (total > INT32_MAX / 4 || rcv > INT32_MAX / 4) {
		log_warnx("nft %s: batch too large (%zu bytes)", b->what, total);
		return -1;
	}
	if ((int)total + 4096 > nl->sndbuf) {
		if (sock_buf(nl->sock, SO_SNDBUFFORCE, SO_SNDBUF, (int)total + 4096) < 0)
			return -1;
		nl->sndbuf = (int)total + 4096;
	}
	if ((int)rcv > nl->rcvbuf) {
		if (sock_buf(nl->sock, SO_RCVBUFFORCE, SO_RCVBUF, (int)rcv) < 0)
			return -1;
		nl->rcvbuf = (int)rcv;
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
static int batch_talk(struct nfnl *nl, struct batch *b, uint32_t genid)
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
	if (size_buffers(nl, b, total) < 0)
		goto out;
	nl_drain(nl);
	if (mnl_socket_sendto(nl->sock, b->buf, total) != (ssize_t)total) {
		log_warn("nft %s: sending %zu-byte batch", b->what, total);
		goto out;
	}
	if (read_acks(nl, b, &st) == 0)
		ret = batch_result(b, &st);
out:
	free(st.seen);
	return ret;
}

/* Leaves the monitor group, talks, re-joins, and checks that the only
 * commit in that window was ours (see the top of the file). */
int batch_commit(struct nfnl *nl, struct batch *b)
{
	int ret = BATCH_FAILED;

	b->first_err = -1;
	nl->seq = b->seq0 + (uint32_t)b->n;
	if (b->len - BEGIN_LEN == 0)
		return BATCH_OK;
	for (int try = 0; try < RESTART_TRIES; try++) {
		uint32_t gen0, gen1;
		if (get_genid(nl, &gen0) < 0 || nfnl_subscribe(nl, false) < 0)
			break;
		ret = batch_talk(nl, b, gen0);
		if (nfnl_subscribe(nl, true) < 0 || get_genid(nl, &gen1) < 0)
			nl->missed = true;
		else if (gen1 - gen0 != (ret == BATCH_OK ? 1u : 0u))
			nl->missed = true;
		if (ret != BATCH_RESTART)
			return ret;
		log_debug("nft %s: ruleset changed meanwhile, retrying", b->what);
	}
	if (ret == BATCH_RESTART)
		log_warnx("nft %s: ruleset kept changing, gave up", b->what);
	return ret == BATCH_RESTART ? BATCH_FAILED : ret;
}

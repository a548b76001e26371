/* nft_batch.c: talking nf_tables netlink: the sockets, one-request
 * queries, and batches whose every message is acked and mapped back to the
 * change that caused it (nft's src/mnl.c habit). Used by the agent's two
 * tables (nft_port.c, nft_bridge.c) and the monitor (nft.c). */
#ifndef CORDON_NFT_BATCH_H
#define CORDON_NFT_BATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libmnl/libmnl.h>

#include "mac.h"

#define NFNL_RECV_BUF (64 * 1024)
/* Largest message a table module builds (element lists stay below it). */
#define NFNL_MSG_ROOM (64 * 1024 + 1024)

/* Two netlink sockets: `sock` carries batches and queries, `mon` listens
 * to NFNLGRP_NFTABLES for changes made by anyone else. */
struct nfnl {
	struct mnl_socket *sock;
	struct mnl_socket *mon;
	uint32_t portid;        /* of sock: events carrying it are ours */
	uint32_t seq;
	int sndbuf, rcvbuf;     /* what we last asked for on sock */
	bool subscribed;        /* mon is in the group */
	bool missed;            /* events may have been lost: report once */
	char *buf;              /* NFNL_RECV_BUF bytes */
};

int nfnl_open(struct nfnl *n);   /* 0, or -1 (logged; nfnl_close it) */
void nfnl_close(struct nfnl *n);
int nfnl_subscribe(struct nfnl *n, bool on);
/* Receives one datagram from the kernel (port 0) only; -1 with errno. */
ssize_t nfnl_recv(struct mnl_socket *s, void *buf, size_t len, int flags);

/* One request, replies until its ack or NLMSG_DONE: 0, or -errno (the
 * kernel's, e.g. -ENOENT for no such object, or -EPROTO: a reply cb could
 * not parse). */
int nfnl_query(struct nfnl *n, struct nlmsghdr *req, mnl_cb_t cb, void *data);

/* What one message of a batch does, to explain its error. */
struct change {
	char desc[96];
	const struct mac *macs; /* elements carried, or NULL */
	size_t n;
	uint32_t elems_off;     /* offset of the first element attribute */
	uint32_t elem_len;      /* and the length of each */
	const void *tag;        /* the caller's: which object it was */
};

struct batch {
	const char *what;       /* "assert", "update", ... for the log */
	char *buf;              /* the BEGIN message's room reserved in front */
	size_t len, cap;
	struct change *chg;
	size_t n, cap_chg;
	uint32_t seq0;          /* of message 0; BEGIN has seq0 - 1 */
	bool quiet_enoent;      /* ENOENT is expected: log it at info */
	void **kept;            /* memory the change records point into */
	size_t n_kept, cap_kept;
	ssize_t first_err;      /* after commit: index of the first refused
				 * message, -1 if none */
};

/* Outcomes of batch_commit(). REJECTED: the kernel refused a message (not
 * only ENOENT) and aborted the batch; ENOENT: every refusal was ENOENT. */
enum { BATCH_OK = 0, BATCH_FAILED = -1, BATCH_ENOENT = -2, BATCH_REJECTED = -3 };

void batch_init(struct batch *b, struct nfnl *n, const char *what);
void batch_free(struct batch *b);
/* Starts message b->n (fmt describes it for the log); batch_push() adds it
 * once its payload is built. NULL on allocation failure (logged). */
struct nlmsghdr *batch_msg(struct batch *b, uint16_t type, uint16_t family,
			   uint16_t flags, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
void batch_push(struct batch *b, const struct nlmsghdr *nlh);
/* The batch takes p (malloc'd, may be NULL) and frees it with itself; on
 * failure p is freed at once and -1 returned. */
int batch_keep(struct batch *b, void *p);
/* The change record of the message batch_msg() just started. */
struct change *batch_cur(struct batch *b);
/* Sends BEGIN, the messages, END, reads every ack. The monitor leaves the
 * group meanwhile and the batch is fenced by the ruleset generation id,
 * so that anyone else's commit in that window is reported by the next
 * monitor read (n->missed). An empty batch is BATCH_OK at once. */
int batch_commit(struct nfnl *n, struct batch *b);

#endif

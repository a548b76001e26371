/* nft_port.c: see nft_port.h. */
#include "nft_port.h"

#include "log.h"
#include "nft_obj.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>

#include <libnftnl/chain.h>
#include <libnftnl/common.h>
#include <libnftnl/rule.h>

#define CHAIN_NAME_MAX (PORT_NAME_MAX + 8)

/* ---- lists ---- */

int port_list_add(struct port_list *l, const char *name, int kind)
{
	if (strlen(name) >= PORT_NAME_MAX)
		return -1;
	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 16;
		struct port_cut *v = realloc(l->v, cap * sizeof(*v));
		if (!v)
			return -1;
		l->v = v;
		l->cap = cap;
	}
	strcpy(l->v[l->n].name, name);
	l->v[l->n++].kind = kind;
	return 0;
}

static int port_cmp(const void *a, const void *b)
{
	return strcmp(((const struct port_cut *)a)->name,
		      ((const struct port_cut *)b)->name);
}

void port_list_finish(struct port_list *l)
{
	size_t w = 0;

	if (l->n < 2)
		return;
	qsort(l->v, l->n, sizeof(*l->v), port_cmp);
	for (size_t r = 1; r < l->n; r++) {
		if (strcmp(l->v[r].name, l->v[w].name) == 0) {
			if (l->v[r].kind == PORT_DROP)
				l->v[w].kind = PORT_DROP;
			continue;
		}
		l->v[++w] = l->v[r];
	}
	l->n = w + 1;
}

const struct port_cut *port_list_find(const struct port_list *l,
				      const char *name)
{
	struct port_cut key;

	if (l->n == 0 || strlen(name) >= PORT_NAME_MAX)
		return NULL;
	strcpy(key.name, name);
	return bsearch(&key, l->v, l->n, sizeof(*l->v), port_cmp);
}

void port_list_clear(struct port_list *l)
{
	free(l->v);
	memset(l, 0, sizeof(*l));
}

/* ---- chains and rules of one port ---- */

static void chain_name(char out[CHAIN_NAME_MAX], bool in, const char *port)
{
	snprintf(out, CHAIN_NAME_MAX, "%s_%s", in ? "in" : "out", port);
}

static struct chain_hook port_hook(const struct port_cut *p, bool in)
{
	struct chain_hook h = {
		.hooknum = in ? NF_NETDEV_INGRESS : NF_NETDEV_EGRESS,
		.prio = NFT_CHAIN_PRIO,
		.policy = p->kind == PORT_DROP ? NF_DROP : NF_ACCEPT,
		.dev = p->name,
	};
	return h;
}

/* ether type TYPE drop (the payload expression sees a tag the kernel has
 * already moved into the skb's metadata as if it were still in the frame) */
static int fill_ethertype_drop(struct nftnl_rule *r, uint16_t type)
{
	uint16_t be = htons(type);

	if (expr_payload(r, NFT_PAYLOAD_LL_HEADER, 12, 2) < 0 ||
	    expr_cmp(r, NFT_CMP_EQ, &be, sizeof(be)) < 0)
		return -1;
	return expr_verdict(r, NF_DROP);
}

/* The smtp chain's rules: frames still tagged first, so that no stacked
 * tags carry mail past the port checks (the tenant owns its ethertypes). */
static const struct rule_def smtp_rules[] = {
	{ "ether type 8021q drop", fill_ethertype_drop, 0x8100 },
	{ "ether type 8021ad drop", fill_ethertype_drop, 0x88a8 },
	{ "ether type 0x9100 drop", fill_ethertype_drop, 0x9100 },
	{ "meta l4proto tcp th dport 25 drop", rule_fill_tcp_dport_drop, 25 },
	{ "meta l4proto tcp th dport 465 drop", rule_fill_tcp_dport_drop, 465 },
	{ "meta l4proto tcp th dport 587 drop", rule_fill_tcp_dport_drop, 587 },
};
#define N_SMTP_RULES (sizeof(smtp_rules) / sizeof(smtp_rules[0]))

static uint32_t chain_nrules(const struct port_cut *p, bool in)
{
	return p->kind == PORT_SMTP && in ? N_SMTP_RULES : 0;
}

/* A drop port has both chains; an smtp one only its ingress chain: mail
 * to the VM passes. */
static bool has_chain(const struct port_cut *p, bool in)
{
	return in || p->kind == PORT_DROP;
}

static int put_port_add(struct batch *b, const char *table,
			const struct port_cut *p)
{
	char name[CHAIN_NAME_MAX];

	for (int in = 1; in >= 0; in--) {
		struct chain_hook h = port_hook(p, in);
		if (!has_chain(p, in))
			continue;
		chain_name(name, in, p->name);
		if (obj_add_chain(b, NFPROTO_NETDEV, table, name, &h, p) < 0)
			return -1;
		for (size_t i = 0; i < chain_nrules(p, in); i++)
			if (obj_add_rule(b, NFPROTO_NETDEV, table, name,
					 &smtp_rules[i]) < 0)
				return -1;
	}
	return 0;
}

static int put_port_del(struct batch *b, const char *table,
			const struct port_cut *p)
{
	char name[CHAIN_NAME_MAX];

	for (int in = 1; in >= 0; in--) {
		if (!has_chain(p, in))
			continue;
		chain_name(name, in, p->name);
		if (obj_del_chain(b, NFPROTO_NETDEV, table, name, p) < 0)
			return -1;
	}
	return 0;
}

/* ---- changes ---- */

int port_put_replace(struct batch *b, const char *table,
		     const struct port_list *want)
{
	if (obj_add_table(b, NFPROTO_NETDEV, table, NFT_MSG_NEWTABLE) < 0 ||
	    obj_add_table(b, NFPROTO_NETDEV, table, NFT_MSG_DELTABLE) < 0 ||
	    obj_add_table(b, NFPROTO_NETDEV, table, NFT_MSG_NEWTABLE) < 0)
		return -1;
	for (size_t i = 0; i < want->n; i++)
		if (put_port_add(b, table, &want->v[i]) < 0)
			return -1;
	return 0;
}

/* Deletes first: a port whose kind changes loses its chains and gets the
 * new ones in the same batch (atomic: no frame sees neither). */
int port_put_update(struct batch *b, const char *table,
		    const struct port_list *cur, const struct port_list *want)
{
	for (size_t i = 0; i < cur->n; i++) {
		const struct port_cut *w = port_list_find(want, cur->v[i].name);
		if ((!w || w->kind != cur->v[i].kind) &&
		    put_port_del(b, table, &cur->v[i]) < 0)
			return -1;
	}
	for (size_t i = 0; i < want->n; i++) {
		const struct port_cut *c = port_list_find(cur, want->v[i].name);
		if ((!c || c->kind != want->v[i].kind) &&
		    put_port_add(b, table, &want->v[i]) < 0)
			return -1;
	}
	b->quiet_enoent = true; /* a chain we committed is gone: re-assert */
	return 0;
}

/* ---- verify ---- */

/* What the kernel's table holds: its chains (parsed) and each one's rule
 * count, sorted by name once the chains are read. */
struct view_chain {
	struct nftnl_chain *c;
	const char *name;       /* borrowed from c */
	uint32_t nrules;
	bool seen;              /* expected by want */
};

struct table_view {
	struct view_chain *v;
	size_t n, cap;
	const char *table;
	bool bad;               /* a rule in a chain the dump did not show */
};

static void view_clear(struct table_view *v)
{
	for (size_t i = 0; i < v->n; i++)
		nftnl_chain_free(v->v[i].c);
	free(v->v);
}

static int view_chain_cmp(const void *a, const void *b)
{
	return strcmp(((const struct view_chain *)a)->name,
		      ((const struct view_chain *)b)->name);
}

static struct view_chain *view_find(const struct table_view *v, const char *name)
{
	struct view_chain key = { .name = name };

	return v->n ? bsearch(&key, v->v, v->n, sizeof(*v->v), view_chain_cmp) : NULL;
}

static int chains_cb(const struct nlmsghdr *nlh, void *data)
{
	struct table_view *v = data;
	struct nftnl_chain *c = nftnl_chain_alloc();
	const char *t, *name;

	if (!c || nftnl_chain_nlmsg_parse(nlh, c) < 0) {
		nftnl_chain_free(c);
		errno = c ? EPROTO : ENOMEM;
		return MNL_CB_ERROR;
	}
	t = nftnl_chain_get_str(c, NFTNL_CHAIN_TABLE);
	name = nftnl_chain_get_str(c, NFTNL_CHAIN_NAME);
	if (!t || !name || strcmp(t, v->table) != 0) {
		nftnl_chain_free(c);
		return MNL_CB_OK;
	}
	if (v->n == v->cap) {
		size_t cap = v->cap ? 2 * v->cap : 64;
		struct view_chain *nv = realloc(v->v, cap * sizeof(*nv));
		if (!nv) {
			nftnl_chain_free(c);
			errno = ENOMEM;
			return MNL_CB_ERROR;
		}
		v->v = nv;
		v->cap = cap;
	}
	v->v[v->n++] = (struct view_chain){ .c = c, .name = name };
	return MNL_CB_OK;
}

static int rules_cb(const struct nlmsghdr *nlh, void *data)
{
	struct table_view *v = data;
	struct nftnl_rule *r = nftnl_rule_alloc();
	const char *t, *chain;
	struct view_chain *vc;

	if (!r || nftnl_rule_nlmsg_parse(nlh, r) < 0) {
		nftnl_rule_free(r);
		errno = r ? EPROTO : ENOMEM;
		return MNL_CB_ERROR;
	}
	t = nftnl_rule_get_str(r, NFTNL_RULE_TABLE);
	chain = nftnl_rule_get_str(r, NFTNL_RULE_CHAIN);
	if (t && chain && strcmp(t, v->table) == 0 &&
	    (vc = view_find(v, chain)))
		vc->nrules++;
	else if (t && strcmp(t, v->table) == 0)
		v->bad = true; /* a rule in a chain the dump did not show */
	nftnl_rule_free(r);
	return MNL_CB_OK;
}

/* nft list table netdev cordon: every chain, then every rule. */
static int read_view(struct nfnl *nl, const char *table, struct table_view *v)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh;
	int ret;

	nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETCHAIN, NFPROTO_NETDEV,
				    NLM_F_DUMP, ++nl->seq);
	ret = obj_query_verdict(nfnl_query(nl, nlh, chains_cb, v), "chains");
	if (ret != 0)
		return ret;
	if (v->n)
		qsort(v->v, v->n, sizeof(*v->v), view_chain_cmp);
	nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETRULE, NFPROTO_NETDEV,
				    NLM_F_DUMP, ++nl->seq);
	mnl_attr_put_strz(nlh, NFTA_RULE_TABLE, table);
	return obj_query_verdict(nfnl_query(nl, nlh, rules_cb, v), "rules");
}

/* One expected chain against the view; marks it seen. */
static int check_chain(const struct table_view *v, const struct port_cut *p,
		       bool in)
{
	char name[CHAIN_NAME_MAX];
	struct chain_hook h = port_hook(p, in);
	struct view_chain *vc;

	chain_name(name, in, p->name);
	vc = view_find(v, name);
	if (!vc) {
		log_info("nft verify: chain netdev %s %s missing", v->table, name);
		return 1;
	}
	vc->seen = true;
	if (!obj_chain_as_built(vc->c, &h)) {
		log_info("nft verify: chain %s: hook, device, priority or policy "
			 "changed", name);
		return 1;
	}
	if (vc->nrules != chain_nrules(p, in)) {
		log_info("nft verify: chain %s has %u rules, expected %u", name,
			 vc->nrules, chain_nrules(p, in));
		return 1;
	}
	return 0;
}

static int compare_view(const struct table_view *v, const struct port_list *want)
{
	int ret = 0;

	for (size_t i = 0; ret == 0 && i < want->n; i++)
		for (int in = 1; ret == 0 && in >= 0; in--)
			if (has_chain(&want->v[i], in))
				ret = check_chain(v, &want->v[i], in);
	for (size_t i = 0; ret == 0 && i < v->n; i++)
		if (!v->v[i].seen) {
			log_info("nft verify: chain %s in table netdev %s is not ours",
				 v->v[i].name, v->table);
			ret = 1;
		}
	return ret;
}

int port_verify(struct nfnl *nl, const char *table, const struct port_list *want)
{
	struct table_view v = { .table = table };
	int ret = obj_verify_table(nl, NFPROTO_NETDEV, table);

	if (ret == 0)
		ret = read_view(nl, table, &v);
	if (ret == 0 && v.bad)
		ret = 1;
	if (ret == 0)
		ret = compare_view(&v, want);
	view_clear(&v);
	return ret;
}

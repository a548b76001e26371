/* nft_obj.c: see nft_obj.h. Above each builder, the nft command it
 * stands for. */
#include "nft_obj.h"

#include "log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>

#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>

#include <libnftnl/common.h>
#include <libnftnl/expr.h>
#include <libnftnl/table.h>

static const char *family_name(uint16_t family)
{
	return family == NFPROTO_NETDEV ? "netdev" :
	       family == NFPROTO_BRIDGE ? "bridge" : "?";
}

/* nft add table bridge cordon { flags 0; } / nft delete table ... */
int obj_add_table(struct batch *b, uint16_t family, const char *table,
		  uint16_t type)
{
	struct nftnl_table *t = nftnl_table_alloc();
	struct nlmsghdr *nlh;

	if (!t || nftnl_table_set_str(t, NFTNL_TABLE_NAME, table) < 0)
		goto fail;
	if (type == NFT_MSG_NEWTABLE)
		nftnl_table_set_u32(t, NFTNL_TABLE_FLAGS, 0);
	nlh = batch_msg(b, type, family, type == NFT_MSG_NEWTABLE ? NLM_F_CREATE : 0,
			"%s table %s %s", type == NFT_MSG_NEWTABLE ? "add" : "delete",
			family_name(family), table);
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

static struct nftnl_chain *chain_new(const char *table, const char *name)
{
	struct nftnl_chain *c = nftnl_chain_alloc();

	if (!c || nftnl_chain_set_str(c, NFTNL_CHAIN_TABLE, table) < 0 ||
	    nftnl_chain_set_str(c, NFTNL_CHAIN_NAME, name) < 0) {
		nftnl_chain_free(c);
		return NULL;
	}
	return c;
}

static int chain_set_hook(struct nftnl_chain *c, const struct chain_hook *h)
{
	if (nftnl_chain_set_str(c, NFTNL_CHAIN_TYPE, "filter") < 0 ||
	    (h->dev && nftnl_chain_set_str(c, NFTNL_CHAIN_DEV, h->dev) < 0))
		return -1;
	nftnl_chain_set_u32(c, NFTNL_CHAIN_HOOKNUM, h->hooknum);
	nftnl_chain_set_s32(c, NFTNL_CHAIN_PRIO, h->prio);
	nftnl_chain_set_u32(c, NFTNL_CHAIN_POLICY, h->policy);
	return 0;
}

static int chain_msg(struct batch *b, uint16_t family, uint16_t type,
		     struct nftnl_chain *c, const char *name, const void *tag)
{
	struct nlmsghdr *nlh = batch_msg(b, type, family,
					 type == NFT_MSG_NEWCHAIN ? NLM_F_CREATE : 0,
					 "%s chain %s", type == NFT_MSG_NEWCHAIN ?
					 "add" : "delete", name);

	if (!nlh)
		return -1;
	batch_cur(b)->tag = tag;
	nftnl_chain_nlmsg_build_payload(nlh, c);
	batch_push(b, nlh);
	return 0;
}

static int chain_op(struct batch *b, uint16_t family, uint16_t type,
		    const char *table, const char *name,
		    const struct chain_hook *hook, const void *tag)
{
	struct nftnl_chain *c = chain_new(table, name);
	int ret = -1;

	if (c && (!hook || chain_set_hook(c, hook) == 0))
		ret = chain_msg(b, family, type, c, name, tag);
	nftnl_chain_free(c);
	return ret;
}

/* nft add chain netdev cordon in_vnet3 { type filter hook ingress device
 *     "vnet3" priority -300; policy drop; }  (hook NULL: a regular chain) */
int obj_add_chain(struct batch *b, uint16_t family, const char *table,
		  const char *name, const struct chain_hook *hook,
		  const void *tag)
{
	return chain_op(b, family, NFT_MSG_NEWCHAIN, table, name, hook, tag);
}

/* nft delete chain netdev cordon in_vnet3  (its rules go with it) */
int obj_del_chain(struct batch *b, uint16_t family, const char *table,
		  const char *name, const void *tag)
{
	return chain_op(b, family, NFT_MSG_DELCHAIN, table, name, NULL, tag);
}

int obj_add_rule(struct batch *b, uint16_t family, const char *table,
		 const char *chain, const struct rule_def *def)
{
	struct nftnl_rule *r = nftnl_rule_alloc();
	struct nlmsghdr *nlh;

	if (!r || nftnl_rule_set_str(r, NFTNL_RULE_TABLE, table) < 0 ||
	    nftnl_rule_set_str(r, NFTNL_RULE_CHAIN, chain) < 0 ||
	    def->fill(r, def->arg) < 0)
		goto fail;
	nlh = batch_msg(b, NFT_MSG_NEWRULE, family, NLM_F_CREATE | NLM_F_APPEND,
			"add rule to chain %s: %s", chain, def->text);
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

/* ---- expressions ---- */

static int rule_expr(struct nftnl_rule *r, struct nftnl_expr *e)
{
	if (!e)
		return -1;
	nftnl_rule_add_expr(r, e);
	return 0;
}

int expr_payload(struct nftnl_rule *r, uint32_t base, uint32_t off,
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

int expr_cmp(struct nftnl_rule *r, uint32_t op, const void *data,
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

int expr_meta(struct nftnl_rule *r, uint32_t key)
{
	struct nftnl_expr *e = nftnl_expr_alloc("meta");

	if (e) {
		nftnl_expr_set_u32(e, NFTNL_EXPR_META_KEY, key);
		nftnl_expr_set_u32(e, NFTNL_EXPR_META_DREG, NFT_REG_1);
	}
	return rule_expr(r, e);
}

int expr_verdict(struct nftnl_rule *r, int verdict)
{
	struct nftnl_expr *e = nftnl_expr_alloc("immediate");

	if (e) {
		nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_DREG, NFT_REG_VERDICT);
		nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_VERDICT, (uint32_t)verdict);
	}
	return rule_expr(r, e);
}

/* meta l4proto tcp th dport PORT drop */
int rule_fill_tcp_dport_drop(struct nftnl_rule *r, uint16_t port)
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


/* ---- reading back ---- */

int attr_pick_cb(const struct nlattr *attr, void *data)
{
	struct attr_pick *p = data;

	if (mnl_attr_get_type(attr) != p->want)
		return MNL_CB_OK;
	if (mnl_attr_validate(attr, p->type) < 0)
		return MNL_CB_ERROR;
	p->found = attr;
	return MNL_CB_OK;
}

int obj_query_verdict(int ret, const char *what)
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

static int table_cb(const struct nlmsghdr *nlh, void *data)
{
	if (nftnl_table_nlmsg_parse(nlh, data) < 0) {
		errno = EPROTO;
		return MNL_CB_ERROR;
	}
	return MNL_CB_OK;
}

/* nft list table FAMILY TABLE into t: 0, or -errno (-ENOENT: none). */
static int table_query(struct nfnl *nl, uint16_t family, const char *table,
		       struct nftnl_table *t)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh;

	if (nftnl_table_set_str(t, NFTNL_TABLE_NAME, table) < 0)
		return -ENOMEM;
	nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETTABLE, family, NLM_F_ACK,
				    ++nl->seq);
	nftnl_table_nlmsg_build_payload(nlh, t);
	return nfnl_query(nl, nlh, table_cb, t);
}

/* nft list table netdev cordon (the table itself: present, not dormant) */
int obj_verify_table(struct nfnl *nl, uint16_t family, const char *table)
{
	struct nftnl_table *t = nftnl_table_alloc();
	int ret;

	if (!t) {
		log_warn("nft verify: table");
		return -1;
	}
	ret = obj_query_verdict(table_query(nl, family, table, t), "table");
	if (ret == 0 && nftnl_table_get_u32(t, NFTNL_TABLE_FLAGS) &
				NFT_TABLE_F_DORMANT) {
		log_info("nft verify: table %s %s is dormant", family_name(family),
			 table);
		ret = 1;
	}
	nftnl_table_free(t);
	return ret;
}

int obj_table_exists(struct nfnl *nl, uint16_t family, const char *table)
{
	struct nftnl_table *t = nftnl_table_alloc();
	int ret = t ? table_query(nl, family, table, t) : -ENOMEM;

	nftnl_table_free(t);
	if (ret == 0 || ret == -ENOENT)
		return ret == 0;
	errno = -ret;
	log_warn("nft verify: reading table %s %s", family_name(family), table);
	return -1;
}

/* The device of a netdev base chain: NFTA_HOOK_DEV, or a list of exactly
 * one device (NFTA_HOOK_DEVS). */
static bool chain_dev_is(const struct nftnl_chain *c, const char *dev)
{
	const char *const *devs;
	const char *one;

	if (nftnl_chain_is_set(c, NFTNL_CHAIN_DEVICES)) {
		devs = nftnl_chain_get_array(c, NFTNL_CHAIN_DEVICES);
		return devs && devs[0] && !devs[1] && strcmp(devs[0], dev) == 0;
	}
	one = nftnl_chain_get_str(c, NFTNL_CHAIN_DEV);
	return one && strcmp(one, dev) == 0;
}

bool obj_chain_as_built(const struct nftnl_chain *c, const struct chain_hook *h)
{
	const char *type = nftnl_chain_get_str(c, NFTNL_CHAIN_TYPE);

	if (!h)
		return !nftnl_chain_is_set(c, NFTNL_CHAIN_HOOKNUM);
	return nftnl_chain_is_set(c, NFTNL_CHAIN_HOOKNUM) &&
	       nftnl_chain_get_u32(c, NFTNL_CHAIN_HOOKNUM) == h->hooknum &&
	       nftnl_chain_get_s32(c, NFTNL_CHAIN_PRIO) == h->prio &&
	       nftnl_chain_get_u32(c, NFTNL_CHAIN_POLICY) == h->policy &&
	       type && strcmp(type, "filter") == 0 &&
	       (!h->dev || chain_dev_is(c, h->dev));
}

int obj_chain_cb(const struct nlmsghdr *nlh, void *data)
{
	if (nftnl_chain_nlmsg_parse(nlh, data) < 0) {
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

/* nft list chain bridge cordon pre | wc -l, roughly */
int obj_count_rules(struct nfnl *nl, uint16_t family, const char *table,
		    const char *chain, uint32_t *count)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nftnl_rule *r = nftnl_rule_alloc();
	int ret;

	*count = 0;
	if (!r || nftnl_rule_set_str(r, NFTNL_RULE_TABLE, table) < 0 ||
	    nftnl_rule_set_str(r, NFTNL_RULE_CHAIN, chain) < 0) {
		nftnl_rule_free(r);
		log_warn("nft verify: rules");
		return -1;
	}
	struct nlmsghdr *nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETRULE, family,
						     NLM_F_DUMP, ++nl->seq);
	nftnl_rule_nlmsg_build_payload(nlh, r);
	ret = nfnl_query(nl, nlh, rule_count_cb, count);
	nftnl_rule_free(r);
	return obj_query_verdict(ret, chain);
}

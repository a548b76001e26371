/* nft_bridge.c: the fallback table, for cut interfaces whose port is not
 * known (see nft_bridge.h).
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
 * A frame from and to MACs that are not cut costs one hash lookup per hook,
 * which is why the table exists only while it has elements. An element's
 * verdict is `drop` if its MAC is cut in public or private scope (drop
 * wins), `jump smtp_chk` if only in smtp scope. One map for both hooks
 * rather than one per direction: 100k cut MACs stay 100k elements, and a
 * bulk assert's time is per element. An assert replaces the whole table.
 *
 * smtp_chk is also reached from postrouting, where the cut MAC is the
 * destination: mail *to* the VM must pass, so it returns when the frame has
 * an output port (postrouting; prerouting has none yet). Only unicast
 * frames to a cut MAC are dropped: the map only ever holds VM MACs, which
 * are unicast, so broadcast and multicast still reach the VM. That, and a
 * MAC the tenant can change, is why a port is preferred. */
#include "nft_bridge.h"

#include "log.h"
#include "nft_obj.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter_bridge.h>

#include <libnftnl/common.h>
#include <libnftnl/expr.h>
#include <libnftnl/set.h>

#define TYPE_ETHERADDR 9 /* nft's datatype id: "type ether_addr" */
#define MAP_NAME "cut"
#define SMTP_CHAIN "smtp_chk"
/* Element attributes per message: the element list nest has a 16-bit
 * length, so the message stays under 64 KiB (1666 `drop` elements). */
#define ELEM_BYTES 60000
#define GET_ELEMS_PER_MSG 16 /* see elems_present() */

/* The header of an element message (table and map names) fits in what
 * NFNL_MSG_ROOM leaves beyond the elements. */
_Static_assert(ELEM_BYTES + 1024 < NFNL_MSG_ROOM && ELEM_BYTES < 65535 - 64,
	       "element messages too large");

#define SCOPE_SMTP_IDX 2 /* scope index of "smtp": only its TCP ports are cut */

/* What the map says for a MAC. K_DROP and K_SMTP index per-verdict MAC
 * lists; K_NONE: not in the map; K_OTHER: a verdict we never set. */
enum { K_NONE = NKINDS, K_OTHER };

static const char *const kind_names[NKINDS] = { "drop", "jump " SMTP_CHAIN };

struct chain_def {
	const char *name;
	struct chain_hook hook;
	bool base;              /* hooked; else only reached by jump */
};

/* smtp_chk first: the map's elements jump to it, so it must exist before
 * them in a batch. */
static const struct chain_def chains[] = {
	{ SMTP_CHAIN, { 0 }, false },
	{ "pre", { NF_BR_PRE_ROUTING, NFT_CHAIN_PRIO, NF_ACCEPT, NULL }, true },
	{ "post", { NF_BR_POST_ROUTING, NFT_CHAIN_PRIO, NF_ACCEPT, NULL }, true },
};
#define NCHAINS (sizeof(chains) / sizeof(chains[0]))

/* nft add map bridge cordon cut { type ether_addr : verdict; } */
static int add_map(struct batch *b, const char *table)
{
	struct nftnl_set *s = nftnl_set_alloc();
	struct nlmsghdr *nlh;

	if (!s || nftnl_set_set_str(s, NFTNL_SET_TABLE, table) < 0 ||
	    nftnl_set_set_str(s, NFTNL_SET_NAME, MAP_NAME) < 0)
		goto fail;
	nftnl_set_set_u32(s, NFTNL_SET_FLAGS, NFT_SET_MAP);
	nftnl_set_set_u32(s, NFTNL_SET_KEY_TYPE, TYPE_ETHERADDR);
	nftnl_set_set_u32(s, NFTNL_SET_KEY_LEN, 6);
	nftnl_set_set_u32(s, NFTNL_SET_DATA_TYPE, NFT_DATA_VERDICT);
	nftnl_set_set_u32(s, NFTNL_SET_ID, 1); /* required by the kernel */
	nlh = batch_msg(b, NFT_MSG_NEWSET, NFPROTO_BRIDGE, NLM_F_CREATE, "add map %s", MAP_NAME);
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


/* Element messages are written with libmnl directly: one libnftnl object
 * per element would cost a malloc each (100k MACs). */
static void put_elem_hdr(struct nlmsghdr *nlh, const char *table)
{
	mnl_attr_put_strz(nlh, NFTA_SET_ELEM_LIST_TABLE, table);
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
static void put_elems(struct nlmsghdr *nlh, struct change *c, int kind)
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
		if (kind != K_NONE)
			put_verdict(nlh, kind);
		mnl_attr_nest_end(nlh, elem);
		if (i == 0)
			c->elem_len = elem->nla_len;
	}
	mnl_attr_nest_end(nlh, list);
}

/* nft add element bridge cordon cut { 52:54:00:00:00:01 : drop, ... }
 * (kind: the verdict), or delete element (keys only, kind K_NONE), as
 * many per message as ELEM_BYTES allows. */
static int add_elems(struct batch *b, const char *table, int kind,
		     const struct mac_list *l)
{
	bool add = kind != K_NONE;
	size_t per_msg = ELEM_BYTES / elem_size(kind);

	for (size_t i = 0; i < l->n; i += per_msg) {
		size_t k = l->n - i < per_msg ? l->n - i : per_msg;
		struct nlmsghdr *nlh = batch_msg(
			b, add ? NFT_MSG_NEWSETELEM : NFT_MSG_DELSETELEM,
			NFPROTO_BRIDGE, add ? NLM_F_CREATE : 0, "%s %zu elements (#%zu..)%s%s",
			add ? "add" : "delete", k, i, add ? " : " : "",
			add ? kind_names[kind] : "");
		if (!nlh)
			return -1;
		struct change *c = &b->chg[b->n];
		c->macs = l->v + i;
		c->n = k;
		put_elem_hdr(nlh, table);
		put_elems(nlh, c, kind);
		batch_push(b, nlh);
	}
	return 0;
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
	nftnl_rule_add_expr(r, e);
	return 0;
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


struct bridge_rule {
	const char *chain;
	struct rule_def def;
};

/* Every rule of the table, in chain order (verify counts them per chain). */
static const struct bridge_rule rules[] = {
	{ SMTP_CHAIN, { "oif != 0 return", fill_return_if_out, 0 } },
	{ SMTP_CHAIN, { "tcp dport 25 drop", rule_fill_tcp_dport_drop, 25 } },
	{ SMTP_CHAIN, { "tcp dport 465 drop", rule_fill_tcp_dport_drop, 465 } },
	{ SMTP_CHAIN, { "tcp dport 587 drop", rule_fill_tcp_dport_drop, 587 } },
	{ "pre", { "ether saddr vmap @" MAP_NAME, fill_vmap, 6 } },
	{ "post", { "ether daddr vmap @" MAP_NAME, fill_vmap, 0 } },
};
#define NRULES (sizeof(rules) / sizeof(rules[0]))

static uint32_t chain_nrules(const char *chain)
{
	uint32_t n = 0;

	for (size_t i = 0; i < NRULES; i++)
		n += strcmp(rules[i].chain, chain) == 0;
	return n;
}


/* ---- MAC lists: the mirror of what we committed, and verdicts ---- */

static void lists_clear(struct mac_list *lists, size_t n)
{
	for (size_t i = 0; i < n; i++)
		mac_list_clear(&lists[i]);
}

/* The map's content for per-scope lists (sorted unique): drop for public
 * or private, jump smtp_chk for the MACs only cut in smtp. */
int bridge_kinds_of(const struct mac_list scopes[SCOPE_COUNT],
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

/* ---- public changes ---- */

/* The whole table in one batch: create it (so that the delete cannot
 * fail), delete it, build it anew. Atomic like any batch: frames meet the
 * old table or the new one. It repairs whatever was changed (a map
 * re-created with another type, a chain hooked elsewhere, objects of an
 * older layout) and is faster than flushing and refilling a 100k map in
 * place: the kernel walks the whole map to flush it, and once more per
 * rule that looks it up to validate the ruleset, old and new elements
 * alike (docs/bench-nft.md). */
int bridge_put_assert(struct batch *b, const char *table,
		       const struct mac_list kinds[NKINDS])
{
	if (obj_add_table(b, NFPROTO_BRIDGE, table, NFT_MSG_NEWTABLE) < 0 ||
	    obj_add_table(b, NFPROTO_BRIDGE, table, NFT_MSG_DELTABLE) < 0 ||
	    obj_add_table(b, NFPROTO_BRIDGE, table, NFT_MSG_NEWTABLE) < 0 ||
	    add_map(b, table) < 0)
		return -1;
	for (size_t i = 0; i < NCHAINS; i++)
		if (obj_add_chain(b, NFPROTO_BRIDGE, table, chains[i].name,
				  chains[i].base ? &chains[i].hook : NULL, NULL) < 0)
			return -1;
	for (size_t i = 0; i < NRULES; i++)
		if (obj_add_rule(b, NFPROTO_BRIDGE, table, rules[i].chain,
				 &rules[i].def) < 0)
			return -1;
	for (int k = 0; k < NKINDS; k++)
		if (add_elems(b, table, k, &kinds[k]) < 0)
			return -1;
	return 0;
}


/* ---- verify ---- */

static int set_cb(const struct nlmsghdr *nlh, void *data)
{
	if (nftnl_set_nlmsg_parse(nlh, data) < 0) {
		errno = EPROTO;
		return MNL_CB_ERROR;
	}
	return MNL_CB_OK;
}

/* nft list chain bridge cordon pre: hook, priority, policy, rule count */
static int verify_chain(struct nfnl *nl, const char *table, const struct chain_def *def)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nftnl_chain *c = nftnl_chain_alloc();
	uint32_t nrules;
	int ret;

	if (!c || nftnl_chain_set_str(c, NFTNL_CHAIN_TABLE, table) < 0 ||
	    nftnl_chain_set_str(c, NFTNL_CHAIN_NAME, def->name) < 0) {
		nftnl_chain_free(c);
		log_warn("nft verify: chain");
		return -1;
	}
	struct nlmsghdr *nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETCHAIN, NFPROTO_BRIDGE,
						     NLM_F_ACK, ++nl->seq);
	nftnl_chain_nlmsg_build_payload(nlh, c);
	ret = obj_query_verdict(nfnl_query(nl, nlh, obj_chain_cb, c), def->name);
	if (ret == 0 && !obj_chain_as_built(c, def->base ? &def->hook : NULL)) {
		log_info("nft verify: chain %s: hook, priority or policy changed",
			 def->name);
		ret = 1;
	}
	nftnl_chain_free(c);
	if (ret == 0)
		ret = obj_count_rules(nl, NFPROTO_BRIDGE, table, def->name, &nrules);
	if (ret == 0 && nrules != chain_nrules(def->name)) {
		log_info("nft verify: chain %s has %u rules, expected %u",
			 def->name, nrules, chain_nrules(def->name));
		ret = 1;
	}
	return ret;
}

/* nft list map bridge cordon cut: present, ether_addr : verdict */
static int verify_map_obj(struct nfnl *nl, const char *table)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nftnl_set *s = nftnl_set_alloc();
	int ret;

	if (!s || nftnl_set_set_str(s, NFTNL_SET_TABLE, table) < 0 ||
	    nftnl_set_set_str(s, NFTNL_SET_NAME, MAP_NAME) < 0) {
		nftnl_set_free(s);
		log_warn("nft verify: map");
		return -1;
	}
	struct nlmsghdr *nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETSET, NFPROTO_BRIDGE,
						     NLM_F_ACK, ++nl->seq);
	nftnl_set_nlmsg_build_payload(nlh, s);
	ret = obj_query_verdict(nfnl_query(nl, nlh, set_cb, s), "map " MAP_NAME);
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

/* The verdict of NFTA_LIST_ELEM { ..., DATA { VERDICT { CODE, CHAIN } } }:
 * anything but what put_verdict() writes is K_OTHER. */
static int elem_kind(const struct nlattr *elem)
{
	struct attr_pick data = { NFTA_SET_ELEM_DATA, MNL_TYPE_NESTED, NULL };
	struct attr_pick verdict = { NFTA_DATA_VERDICT, MNL_TYPE_NESTED, NULL };
	struct attr_pick code = { NFTA_VERDICT_CODE, MNL_TYPE_U32, NULL };
	struct attr_pick chain = { NFTA_VERDICT_CHAIN, MNL_TYPE_NUL_STRING, NULL };

	if (mnl_attr_parse_nested(elem, attr_pick_cb, &data) < 0 || !data.found ||
	    mnl_attr_parse_nested(data.found, attr_pick_cb, &verdict) < 0 ||
	    !verdict.found ||
	    mnl_attr_parse_nested(verdict.found, attr_pick_cb, &code) < 0 ||
	    !code.found ||
	    mnl_attr_parse_nested(verdict.found, attr_pick_cb, &chain) < 0)
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
	    mnl_attr_parse_nested(attr, attr_pick_cb, &key) < 0 || !key.found ||
	    mnl_attr_parse_nested(key.found, attr_pick_cb, &val) < 0 || !val.found ||
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
static int elems_present(struct nfnl *nl, const char *table, int kind, const struct mac_list *l)
{
	char buf[2048];
	int ret = 0;

	for (size_t i = 0; ret == 0 && i < l->n; i += GET_ELEMS_PER_MSG) {
		struct change c = { .macs = l->v + i, .n = l->n - i };
		struct map_view got = { 0 };
		if (c.n > GET_ELEMS_PER_MSG)
			c.n = GET_ELEMS_PER_MSG;
		struct nlmsghdr *nlh = nftnl_nlmsg_build_hdr(
			buf, NFT_MSG_GETSETELEM, NFPROTO_BRIDGE, NLM_F_ACK, ++nl->seq);
		put_elem_hdr(nlh, table);
		put_elems(nlh, &c, K_NONE);
		ret = obj_query_verdict(nfnl_query(nl, nlh, elems_cb, &got),
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
static int compare_kind(struct nfnl *nl, const char *table, int kind, const struct mac_list *got,
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
		ret = elems_present(nl, table, kind, &missing);
		if (ret == 0)
			log_debug("nft verify: map %s: the dump skipped %zu "
				  "present elements", MAP_NAME, missing.n);
	}
	if (ret == 1)
		compare_macs(kind, got, exp);
	mac_list_clear(&missing);
	return ret;
}

static int compare_view(struct nfnl *nl, const char *table, struct map_view *got,
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
		ret = compare_kind(nl, table, k, &got->k[k], &exp[k]);
	}
	return ret;
}

/* nft list map bridge cordon cut: its elements, compared sorted */
static int verify_elems(struct nfnl *nl, const char *table, const struct mac_list exp[NKINDS])
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct map_view got = { 0 };
	int ret;

	struct nlmsghdr *nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETSETELEM,
						     NFPROTO_BRIDGE, NLM_F_DUMP, ++nl->seq);
	put_elem_hdr(nlh, table);
	ret = obj_query_verdict(nfnl_query(nl, nlh, elems_cb, &got), "map " MAP_NAME);
	if (ret == 0)
		ret = compare_view(nl, table, &got, exp);
	lists_clear(got.k, NKINDS);
	return ret;
}


static bool kinds_empty(const struct mac_list kinds[NKINDS])
{
	return kinds[K_DROP].n == 0 && kinds[K_SMTP].n == 0;
}

void bridge_kinds_clear(struct mac_list kinds[NKINDS])
{
	lists_clear(kinds, NKINDS);
}

/* nft delete table bridge cordon (created first, so that it cannot fail) */
static int put_delete(struct batch *b, const char *table)
{
	return obj_add_table(b, NFPROTO_BRIDGE, table, NFT_MSG_NEWTABLE) < 0 ||
	       obj_add_table(b, NFPROTO_BRIDGE, table, NFT_MSG_DELTABLE) < 0 ? -1 : 0;
}

/* Elements to delete: those whose verdict goes or changes (kinds are
 * disjoint, so the two differences do not overlap). */
static int elems_leaving(const struct mac_list cur[NKINDS],
			 const struct mac_list want[NKINDS], struct mac_list *del)
{
	memset(del, 0, sizeof(*del));
	if (mac_list_diff(&cur[K_DROP], &want[K_DROP], del) < 0 ||
	    mac_list_diff(&cur[K_SMTP], &want[K_SMTP], del) < 0)
		return -1;
	mac_list_sort_unique(del);
	return 0;
}

static int put_elem_delta(struct batch *b, const char *table,
			  const struct mac_list cur[NKINDS],
			  const struct mac_list want[NKINDS])
{
	struct mac_list del, add[NKINDS] = { { 0 } };
	int ret = -1;

	if (elems_leaving(cur, want, &del) < 0)
		goto out;
	for (int k = 0; k < NKINDS; k++)
		if (mac_list_diff(&want[k], &cur[k], &add[k]) < 0)
			goto out;
	ret = add_elems(b, table, K_NONE, &del) < 0 ||
	      add_elems(b, table, K_DROP, &add[K_DROP]) < 0 ||
	      add_elems(b, table, K_SMTP, &add[K_SMTP]) < 0 ? -1 : 0;
out:
	/* The change records point into the lists (to name a refused MAC):
	 * the batch keeps them until it is freed. */
	if (batch_keep(b, del.v) < 0 || batch_keep(b, add[K_DROP].v) < 0 ||
	    batch_keep(b, add[K_SMTP].v) < 0)
		ret = -1;
	return ret;
}

int bridge_put_update(struct batch *b, const char *table,
		      const struct mac_list cur[NKINDS],
		      const struct mac_list want[NKINDS])
{
	bool had = !kinds_empty(cur), will = !kinds_empty(want);

	if (!will)
		return had ? put_delete(b, table) : 0;
	if (!had)
		return bridge_put_assert(b, table, want);
	b->quiet_enoent = true; /* an element we committed is gone: re-assert */
	return put_elem_delta(b, table, cur, want);
}

int bridge_put_replace(struct batch *b, const char *table,
		       const struct mac_list want[NKINDS])
{
	return kinds_empty(want) ? put_delete(b, table)
				 : bridge_put_assert(b, table, want);
}

static int verify_objects(struct nfnl *nl, const char *table)
{
	int ret = obj_verify_table(nl, NFPROTO_BRIDGE, table);

	for (size_t i = 0; ret == 0 && i < NCHAINS; i++)
		ret = verify_chain(nl, table, &chains[i]);
	return ret == 0 ? verify_map_obj(nl, table) : ret;
}

int bridge_verify(struct nfnl *nl, const char *table,
		  const struct mac_list want[NKINDS])
{
	int ret;

	if (kinds_empty(want)) {
		ret = obj_table_exists(nl, NFPROTO_BRIDGE, table);
		if (ret == 1)
			log_info("nft verify: table bridge %s exists, but no "
				 "interface is cut by MAC", table);
		return ret;
	}
	ret = verify_objects(nl, table);
	return ret != 0 ? ret : verify_elems(nl, table, want);
}

/* nft_obj.c: nf_tables objects both of the agent's tables use: tables,
 * chains (regular, or base chains on a hook, with a device for netdev),
 * rules built from a few expressions, and reading them back for verify. */
#ifndef CORDON_NFT_OBJ_H
#define CORDON_NFT_OBJ_H

#include <stdbool.h>
#include <stdint.h>

#include <libmnl/libmnl.h>
#include <libnftnl/chain.h>
#include <libnftnl/rule.h>

#include "nft_batch.h"

#define NFT_CHAIN_PRIO (-300)

/* NULL for a regular chain (only reached by jump). */
struct chain_hook {
	uint32_t hooknum;
	int32_t prio;
	uint32_t policy;        /* NF_ACCEPT / NF_DROP */
	const char *dev;        /* netdev family: the one device; else NULL */
};

/* A rule: its chain, its text in nft syntax (for the log), and how to
 * build its expressions. */
struct rule_def {
	const char *text;
	int (*fill)(struct nftnl_rule *r, uint16_t arg);
	uint16_t arg;
};

/* nft add table FAMILY TABLE { flags 0; } (type NFT_MSG_NEWTABLE; flags 0
 * wakes a dormant one) / nft delete table (NFT_MSG_DELTABLE). */
int obj_add_table(struct batch *b, uint16_t family, const char *table,
		  uint16_t type);
/* nft add chain FAMILY TABLE NAME [{ type filter hook ... }] (hook NULL:
 * a regular chain); NFT_MSG_DELCHAIN deletes it and its rules. tag goes
 * into the message's change record. */
int obj_add_chain(struct batch *b, uint16_t family, const char *table,
		  const char *name, const struct chain_hook *hook,
		  const void *tag);
int obj_del_chain(struct batch *b, uint16_t family, const char *table,
		  const char *name, const void *tag);
int obj_add_rule(struct batch *b, uint16_t family, const char *table,
		 const char *chain, const struct rule_def *def);

/* Expressions, each into register 1 (or the verdict register). */
int expr_payload(struct nftnl_rule *r, uint32_t base, uint32_t off,
		 uint32_t len);
int expr_cmp(struct nftnl_rule *r, uint32_t op, const void *data,
	     uint32_t len);
int expr_meta(struct nftnl_rule *r, uint32_t key);
int expr_verdict(struct nftnl_rule *r, int verdict);
/* meta l4proto tcp th dport PORT drop */
int rule_fill_tcp_dport_drop(struct nftnl_rule *r, uint16_t port);

/* A query's outcome for verify: 0 present, 1 missing (ENOENT, logged at
 * info), -1 could not tell (logged). */
int obj_query_verdict(int ret, const char *what);
/* nft list table FAMILY TABLE: 0 present and not dormant, 1 missing or
 * dormant, -1 error. */
int obj_verify_table(struct nfnl *nl, uint16_t family, const char *table);
/* Quietly: 1 the table exists, 0 it does not, -1 error (logged). */
int obj_table_exists(struct nfnl *nl, uint16_t family, const char *table);
/* The chain's hook, priority, policy and device are the ones given (hook
 * NULL: it must have none). */
bool obj_chain_as_built(const struct nftnl_chain *c,
			const struct chain_hook *hook);

/* mnl callback parsing one chain into the nftnl_chain data. */
int obj_chain_cb(const struct nlmsghdr *nlh, void *data);
/* Rules in FAMILY TABLE CHAIN: 0 (count set), 1 chain missing, -1 error. */
int obj_count_rules(struct nfnl *nl, uint16_t family, const char *table,
		    const char *chain, uint32_t *count);

/* Keeps the one attribute `want` of a nest, checked as `type`. */
struct attr_pick {
	uint16_t want;
	enum mnl_attr_data_type type;
	const struct nlattr *found;
};
int attr_pick_cb(const struct nlattr *attr, void *data);

#endif

#include "ip_history.h"

#include <arpa/inet.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "util.h"

int ip_canonical(const char *s, char out[IP_TEXT_MAX])
{
	unsigned char bin[16];

	if (inet_pton(AF_INET, s, bin) == 1)
		return inet_ntop(AF_INET, bin, out, IP_TEXT_MAX) ? 0 : -1;
	if (inet_pton(AF_INET6, s, bin) == 1)
		return inet_ntop(AF_INET6, bin, out, IP_TEXT_MAX) ? 0 : -1;
	return -1;
}

bool ip_is_address(const char *s)
{
	char c[IP_TEXT_MAX];

	return ip_canonical(s, c) == 0;
}

static bool vm_lists(const Cordon__Vm *vm, const char *ip)
{
	char c[IP_TEXT_MAX];

	for (size_t i = 0; i < vm->n_interfaces; i++)
		for (size_t j = 0; j < vm->interfaces[i]->n_ips; j++)
			if (ip_canonical(vm->interfaces[i]->ips[j], c) == 0 && strcmp(c, ip) == 0)
				return true;
	return false;
}

/* Runs one of the statements below: ?1 the VM, ?2 the address, ?3 now. */
static int history_run(struct store *store, const char *sql, const char *uuid, const char *ip)
{
	struct db_stmt *st = store_cached(store, sql);

	if (!st)
		return -1;
	db_bind_text(st, 1, uuid);
	db_bind_text_copy(st, 2, ip);
	db_bind_int64(st, 3, store_now());
	return store_run(store, st);
}

/* Ends uuid's open interval of ip, or of every address (ip NULL). */
static int history_end(struct store *store, const char *uuid, const char *ip)
{
	static const char sql[] =
		"UPDATE ip_history SET until = ?3 WHERE vm_uuid = ?1 AND until IS NULL"
		" AND (CAST(?2 AS TEXT) IS NULL OR ip = ?2)";

	return history_run(store, sql, uuid, ip);
}

/* Ends the intervals of addresses vm no longer lists. */
static int history_close_dropped(struct store *store, const Cordon__Vm *vm)
{
	static const char sql[] =
		"SELECT ip FROM ip_history WHERE vm_uuid = ? AND until IS NULL";
	struct db_stmt *st = store_cached(store, sql); /* per changed VM at hello */
	char (*gone)[IP_TEXT_MAX] = NULL;
	size_t n = 0;
	int rc;

	if (!st)
		return -1;
	db_bind_text(st, 1, vm->uuid);
	while ((rc = store_step(store, st)) == 1) {
		const char *ip = (const char *)db_column_text(st, 0);
		void *grown;

		if (vm_lists(vm, ip))
			continue;
		grown = realloc(gone, (n + 1) * sizeof(*gone));
		if (!grown) {
			rc = -1;
			break;
		}
		gone = grown;
		strlcpy_checked(gone[n++], ip, IP_TEXT_MAX);
	}
	db_reset(st);
	for (size_t i = 0; rc == 0 && i < n; i++)
		rc = history_end(store, vm->uuid, gone[i]);
	free(gone);
	return rc;
}

static int history_open(struct store *store, const char *uuid, const char *ip)
{
	static const char sql[] =
		"INSERT INTO ip_history (ip, vm_uuid, since) SELECT ?2, ?1, ?3 WHERE NOT EXISTS"
		" (SELECT 1 FROM ip_history WHERE vm_uuid = ?1 AND ip = ?2 AND until IS NULL)";

	return history_run(store, sql, uuid, ip);
}

int ip_history_vm(struct store *store, const Cordon__Vm *vm)
{
	char c[IP_TEXT_MAX];

	if (history_close_dropped(store, vm) < 0)
		return -1;
	for (size_t i = 0; i < vm->n_interfaces; i++)
		for (size_t j = 0; j < vm->interfaces[i]->n_ips; j++)
			if (ip_canonical(vm->interfaces[i]->ips[j], c) == 0 &&
			    history_open(store, vm->uuid, c) < 0)
				return -1;
	return 0;
}

int ip_history_vm_gone(struct store *store, const char *uuid)
{
	return history_end(store, uuid, NULL);
}

/* An interval [since, until) holds at; one still open holds until now. */
int ip_history_holder(struct store *store, const char *ip, int64_t at, char uuid[65],
		      enum ip_holder *out)
{
	static const char sql[] =
		"SELECT DISTINCT h.vm_uuid, v.uuid IS NOT NULL FROM ip_history h"
		" LEFT JOIN vms v ON v.uuid = h.vm_uuid"
		" WHERE h.ip = ?1 AND h.since <= ?2 AND (h.until IS NULL OR h.until > ?2) LIMIT 2";
	struct db_stmt *st = store_cached(store, sql);
	int rc, n = 0;
	bool known = false;

	*out = IP_HOLDER_NONE;
	if (!st)
		return -1;
	db_bind_text(st, 1, ip);
	db_bind_int64(st, 2, at);
	while ((rc = store_step(store, st)) == 1) {
		if (n++ == 0) {
			strlcpy_checked(uuid, (const char *)db_column_text(st, 0), 65);
			known = db_column_int(st, 1) != 0;
		}
	}
	db_reset(st);
	if (rc < 0)
		return -1;
	if (n > 1)
		*out = IP_HOLDER_SEVERAL;
	else if (n == 1)
		*out = known ? IP_HOLDER_ONE : IP_HOLDER_GONE;
	return 0;
}

const char *ip_holder_reason(enum ip_holder h)
{
	switch (h) {
	case IP_HOLDER_ONE:
		return "matched";
	case IP_HOLDER_NONE:
		return "no VM of ours held the address at that time";
	case IP_HOLDER_SEVERAL:
		return "several VMs listed the address at that time";
	case IP_HOLDER_GONE:
		return "the VM that held the address is no longer known";
	}
	return "?";
}

/* retention.c: pruning what the store no longer has to keep (resolved
 * cases with every row that refers to them, audit rows bound to no case,
 * notifications of resolved cases, report mails no case took), by age.
 * Nothing an open case, a manual hold or the desired state depends on is
 * ever a candidate. */
#ifndef CORDON_RETENTION_H
#define CORDON_RETENTION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "store.h"

/* How long each kind is kept, in seconds; 0 = forever. */
struct retention {
	long resolved_cases; /* from resolution (and the case's last audit row) */
	long audit;          /* audit rows bound to no case (suspend, restore, prune) */
	long notifications;  /* of resolved cases, once sent or failed, from creation */
	long reports;        /* mails no existing case took, from receipt */
};

enum prune_kind {
	PRUNE_CASES,         /* resolved cases */
	PRUNE_CASE_ROWS,     /* the rows that went with them (steps, calls, audit...) */
	PRUNE_NOTIFICATIONS, /* by retain_notifications, cases kept */
	PRUNE_AUDIT,         /* by retain_audit */
	PRUNE_REPORTS,       /* report mails (with their cases or by retain_reports) */
	PRUNE_REPORT_ROWS,   /* their keys and matches */
	PRUNE_KINDS
};

struct prune_counts {
	int64_t n[PRUNE_KINDS];
};

/* Per transaction: at most this many rows of audit or notifications, a
 * tenth as many cases (each takes its rows along), a 25th as many mails
 * (each up to 1 MiB). */
#define RETENTION_BATCH 500

bool retention_keeps_all(const struct retention *r);
/* One transaction removing up to batch rows of what is due at now; adds
 * what it removed to *c. 1 when it removed something (more may be due),
 * 0 when nothing was due, -1 on a store error (rolled back, nothing
 * removed). */
int retention_prune_batch(struct store *s, const struct retention *r, int64_t now, int batch,
			  struct prune_counts *c);
/* What a whole pass at now would remove, changing nothing. */
int retention_count(struct store *s, const struct retention *r, int64_t now,
		    struct prune_counts *c);

/* 1 when no case id exists but a case of that id once did (ids are
 * never reused: AUTOINCREMENT), 0 when it never did, -1 on an error. */
int retention_case_was_pruned(struct store *s, int64_t id);

int64_t prune_counts_total(const struct prune_counts *c);
void prune_counts_add(struct prune_counts *to, const struct prune_counts *c);
/* "2 resolved cases (14 rows with them), 3 audit rows, ..." or "nothing". */
void prune_counts_format(const struct prune_counts *c, char *buf, size_t len);
json_t *prune_counts_json(const struct prune_counts *c);

#endif

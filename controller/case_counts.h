/* case_counts.c: the open cases by category and state (responded or not),
 * for the metrics: counting them at each scrape reads every open case (a
 * second at a million), so this connection keeps the counts in a
 * temporary table, maintained by temporary triggers on cases. Nothing in
 * the schema changes (no migration); every write of this connection, on
 * any code path, keeps the counts, and a rolled-back transaction rolls
 * them back too. */
#ifndef CORDON_CASE_COUNTS_H
#define CORDON_CASE_COUNTS_H

struct store;

/* Creates the table and triggers and counts the open cases once (after
 * store_open, before anything writes). 0 or -1 (logged). */
int case_counts_start(struct store *store);

/* The counts: SELECT category, responded (0/1), n, ordered (a string
 * literal: store_cached's key). */
const char *case_counts_sql(const struct store *store);

#endif

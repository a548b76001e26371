#include "case_counts.h"

#include "store.h"

/* One statement list: the table, the first count (one pass over the open
 * cases, both states at once), then the triggers that keep it. A case
 * counts while resolved IS NULL, in the state "responded IS NOT NULL". */
static const char setup_sql[] =
	"CREATE TEMP TABLE case_counts (category TEXT NOT NULL, responded INTEGER NOT NULL,"
	"  n INTEGER NOT NULL, PRIMARY KEY (category, responded));"
	"CREATE TEMP TABLE case_counts_first AS SELECT category, count(*) AS n,"
	"  count(responded) AS r FROM main.cases WHERE resolved IS NULL GROUP BY category;"
	"INSERT INTO case_counts SELECT category, 0, n - r FROM case_counts_first;"
	"INSERT INTO case_counts SELECT category, 1, r FROM case_counts_first;"
	"DROP TABLE case_counts_first;"
	"CREATE TEMP TRIGGER case_counts_insert AFTER INSERT ON main.cases"
	"  WHEN new.resolved IS NULL BEGIN"
	"  INSERT INTO case_counts VALUES (new.category, new.responded IS NOT NULL, 1)"
	"    ON CONFLICT DO UPDATE SET n = n + 1;"
	"END;"
	"CREATE TEMP TRIGGER case_counts_delete AFTER DELETE ON main.cases"
	"  WHEN old.resolved IS NULL BEGIN"
	"  UPDATE case_counts SET n = n - 1"
	"    WHERE category = old.category AND responded = (old.responded IS NOT NULL);"
	"END;"
	/* The old row out, the new one in (net nothing when neither moved). */
	"CREATE TEMP TRIGGER case_counts_update AFTER UPDATE OF category, responded, resolved"
	"  ON main.cases BEGIN"
	"  UPDATE case_counts SET n = n - 1 WHERE old.resolved IS NULL"
	"    AND category = old.category AND responded = (old.responded IS NOT NULL);"
	"  INSERT INTO case_counts SELECT new.category, new.responded IS NOT NULL, 1"
	"    WHERE new.resolved IS NULL ON CONFLICT DO UPDATE SET n = n + 1;"
	"END;";

static const char sqlite_counts[] =
	"SELECT category, responded, n FROM temp.case_counts ORDER BY category, responded";
/* Several cordond share a PostgreSQL store: counts this connection kept
 * would miss the others' writes. The server counts at each scrape (the
 * cases_open index; docs/metrics.md has its cost). */
static const char pg_counts[] =
	"SELECT category, CASE WHEN responded IS NULL THEN 0 ELSE 1 END, count(*) FROM cases"
	" WHERE resolved IS NULL GROUP BY 1, 2 ORDER BY 1, 2";

const char *case_counts_sql(const struct store *store)
{
	return store_kind(store) == DB_SQLITE ? sqlite_counts : pg_counts;
}

int case_counts_start(struct store *store)
{
	if (store_kind(store) != DB_SQLITE)
		return 0;
	if (store_begin(store) < 0)
		return -1;
	if (store_exec(store, setup_sql) < 0) {
		store_rollback(store);
		return -1;
	}
	return store_commit(store);
}

/* db_pg_sql.c: the store's SQL (written for SQLite, see db.h) as
 * PostgreSQL reads it. */
#ifndef CORDON_DB_PG_SQL_H
#define CORDON_DB_PG_SQL_H

/* A malloc'd translation of sql (one or more statements): parameters ?N
 * and ? become $N, INSERT OR IGNORE becomes ON CONFLICT DO NOTHING, types
 * of table definitions become PostgreSQL's (INTEGER -> BIGINT, BLOB ->
 * BYTEA, TEXT compared bytewise as SQLite does, AUTOINCREMENT keys ->
 * identity columns), schema prefixes temp./main. go. *nparams: the highest
 * parameter number. NULL when out of memory. */
char *pg_sql_translate(const char *sql, int *nparams);
/* Whether parameter n (1-based) appears in sql as given to
 * pg_sql_translate: SQLite lets a statement bind one it does not use,
 * PostgreSQL must then be told its type. */
int pg_sql_param_used(const char *pg_sql, int n);

#endif

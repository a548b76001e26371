/* store_schema.c: the store's tables, as migrations from version 0. */
#ifndef CORDON_STORE_SCHEMA_H
#define CORDON_STORE_SCHEMA_H

/* store_migrations[i] takes the schema from version i to i + 1. */
extern const char *const store_migrations[];
extern const int store_schema_version;

#endif

/* store_backup.c: consistent copies of the controller's store (cordonctl
 * backup, and the copy cordond writes before it migrates a schema). */
#ifndef CORDON_STORE_BACKUP_H
#define CORDON_STORE_BACKUP_H

#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

struct backup_result {
	int64_t bytes;      /* size of the file written */
	int schema_version; /* PRAGMA user_version of the copy */
};

/* Copies src (one read snapshot: SQLite's online backup API, all pages in
 * one step, so a writer on another connection in WAL mode is never
 * blocked) into dest, verifies the copy (integrity_check, same schema
 * version as src) and only then gives it its name. An existing dest is
 * refused unless force. 0, or -1 with the reason in err (nothing left
 * behind). */
int store_backup_to(sqlite3 *src, const char *dest, int force, struct backup_result *res,
		    char *err, size_t errlen);

/* Before migrating a store from schema version from to to: writes
 * DATABASE.pre-vTO-YYYYmmddTHHMMSSZ beside it and logs it. A store without
 * tables (a new one) needs none. 0, or -1 with the reason in err: then the
 * caller must not migrate. */
int store_backup_before_migrate(sqlite3 *db, int from, int to, char *err, size_t errlen);

#endif

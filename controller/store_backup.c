#include "store_backup.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

static int user_version(sqlite3 *db)
{
	sqlite3_stmt *st = NULL;
	int v = -1;

	if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return v;
}

/* 0 when PRAGMA integrity_check says "ok", else -1 with its first line. */
static int integrity_ok(sqlite3 *db, char *err, size_t errlen)
{
	sqlite3_stmt *st = NULL;
	int rc = -1;

	if (sqlite3_prepare_v2(db, "PRAGMA integrity_check(1)", -1, &st, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "integrity check: %s", sqlite3_errmsg(db));
	} else if (sqlite3_step(st) != SQLITE_ROW) {
		snprintf(err, errlen, "integrity check: %s", sqlite3_errmsg(db));
	} else {
		const char *r = (const char *)sqlite3_column_text(st, 0);
		if (r && strcmp(r, "ok") == 0)
			rc = 0;
		else
			snprintf(err, errlen, "integrity check failed: %s", r ? r : "?");
	}
	sqlite3_finalize(st);
	return rc;
}

/* Runs the backup API from src into the new file tmp. */
static int copy_pages(sqlite3 *src, const char *tmp, char *err, size_t errlen)
{
	sqlite3 *dst = NULL;
	sqlite3_backup *b;
	int rc = -1;

	if (sqlite3_open_v2(tmp, &dst, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) !=
	    SQLITE_OK) {
		snprintf(err, errlen, "cannot create %s: %s", tmp,
			 dst ? sqlite3_errmsg(dst) : "out of memory");
		sqlite3_close(dst);
		return -1;
	}
	b = sqlite3_backup_init(dst, "main", src, "main");
	if (!b) {
		snprintf(err, errlen, "backup: %s", sqlite3_errmsg(dst));
	} else {
		int s = sqlite3_backup_step(b, -1);
		int f = sqlite3_backup_finish(b);
		if (s != SQLITE_DONE || f != SQLITE_OK)
			snprintf(err, errlen, "backup: %s", sqlite3_errstr(s != SQLITE_DONE ? s : f));
		else if (sqlite3_exec(dst, "PRAGMA journal_mode=DELETE", NULL, NULL, NULL) !=
			 SQLITE_OK)
			/* one self-contained file, no -wal beside it */
			snprintf(err, errlen, "backup: %s", sqlite3_errmsg(dst));
		else if (integrity_ok(dst, err, errlen) == 0)
			rc = 0;
	}
	if (sqlite3_close(dst) != SQLITE_OK && rc == 0) {
		snprintf(err, errlen, "closing %s failed", tmp);
		rc = -1;
	}
	return rc;
}

/* Reopens the finished copy read-only: its schema version must be src's. */
static int check_copy(const char *tmp, int want, struct backup_result *res, char *err,
		      size_t errlen)
{
	sqlite3 *db = NULL;
	struct stat sb;
	int v = -1;

	if (sqlite3_open_v2(tmp, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK)
		v = user_version(db);
	sqlite3_close(db);
	if (v != want) {
		snprintf(err, errlen, "the copy has schema version %d, the store %d", v, want);
		return -1;
	}
	if (stat(tmp, &sb) < 0) {
		snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
		return -1;
	}
	res->bytes = sb.st_size;
	res->schema_version = v;
	return 0;
}

/* Gives tmp its name: link() refuses an existing dest, rename() replaces. */
static int publish(const char *tmp, const char *dest, int force, char *err, size_t errlen)
{
	if (force ? rename(tmp, dest) : link(tmp, dest)) {
		if (errno == EEXIST)
			snprintf(err, errlen, "%s exists (--force replaces it)", dest);
		else
			snprintf(err, errlen, "cannot write %s: %s", dest, strerror(errno));
		return -1;
	}
	if (!force)
		unlink(tmp);
	return 0;
}

int store_backup_to(sqlite3 *src, const char *dest, int force, struct backup_result *res,
		    char *err, size_t errlen)
{
	char tmp[4200];
	int want = user_version(src);
	struct stat sb;

	if (!force && lstat(dest, &sb) == 0) {
		snprintf(err, errlen, "%s exists (--force replaces it)", dest);
		return -1;
	}
	if (want < 0) {
		snprintf(err, errlen, "not a cordon store: %s", sqlite3_errmsg(src));
		return -1;
	}
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp-%ld", dest, (long)getpid()) >= sizeof(tmp)) {
		snprintf(err, errlen, "file name too long");
		return -1;
	}
	unlink(tmp);
	if (copy_pages(src, tmp, err, errlen) < 0 || check_copy(tmp, want, res, err, errlen) < 0 ||
	    publish(tmp, dest, force, err, errlen) < 0) {
		unlink(tmp);
		return -1;
	}
	return 0;
}

static int has_tables(sqlite3 *db)
{
	sqlite3_stmt *st = NULL;
	int n = -1;

	if (sqlite3_prepare_v2(db, "SELECT count(*) FROM sqlite_master", -1, &st, NULL) ==
		    SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return n;
}

int store_backup_before_migrate(sqlite3 *db, int from, int to, char *err, size_t errlen)
{
	const char *path = sqlite3_db_filename(db, "main");
	struct backup_result res;
	char dest[4200], stamp[32];
	time_t now = time(NULL);
	struct tm tm;
	int n = has_tables(db);

	if (n == 0)
		return 0;
	if (n < 0 || !path || !*path) {
		snprintf(err, errlen, "cannot back up the store before migrating it (%s)",
			 n < 0 ? sqlite3_errmsg(db) : "no file");
		return -1;
	}
	gmtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &tm);
	snprintf(dest, sizeof(dest), "%s.pre-v%d-%s", path, to, stamp);
	if (store_backup_to(db, dest, 0, &res, err, errlen) < 0) {
		char why[300];
		snprintf(why, sizeof(why), "%s", err);
		snprintf(err, errlen, "not migrating schema %d -> %d: backup failed: %s", from, to,
			 why);
		return -1;
	}
	log_info("store backed up before migrating schema %d -> %d: %s (%lld bytes)", from, to,
		 dest, (long long)res.bytes);
	return 0;
}

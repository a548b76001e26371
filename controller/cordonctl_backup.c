/* cordonctl backup: a consistent copy of the controller's store, taken by
 * cordonctl itself (the store opened read-only: in WAL mode cordond keeps
 * writing while the copy reads one snapshot), written as the operator, so
 * the file is theirs and cordond's sandbox needs no writable backup dir. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "cordonctl.h"
#include "store_backup.h"

#define DEFAULT_STORE "/var/lib/cordon/cordon.db"

static void backup_usage(FILE *f)
{
	fprintf(f,
		"usage: cordonctl backup [--store PATH] [--force] [--json] FILE\n"
		"\n"
		"Writes a consistent copy of the controller's store to FILE while cordond runs\n"
		"(SQLite online backup of one read snapshot; cordond is not held up), checks it\n"
		"(integrity_check, schema version) and says where it went and how big it is.\n"
		"FILE is created by cordonctl (mode 0600, owned by the caller), who must be able\n"
		"to read the store. An existing FILE is refused unless --force.\n"
		"\n"
		"  --store PATH  the store (default $CORDON_STORE or " DEFAULT_STORE ")\n"
		"  --force       replace FILE if it exists\n"
		"Restore: cordond(8), RESTORING A BACKUP.\n");
}

static int report(const struct ctl_opts *o, const char *file, const struct backup_result *r,
		  double secs)
{
	if (o->json) {
		json_t *j = json_pack("{s:s, s:I, s:i, s:s, s:f}", "file", file, "bytes",
				      (json_int_t)r->bytes, "schema_version", r->schema_version,
				      "integrity", "ok", "seconds", secs);
		if (!j)
			return EXIT_REFUSED;
		print_json(j);
		json_decref(j);
		return 0;
	}
	printf("backup written: %s (%lld bytes, schema version %d, integrity ok, %.2f s)\n", file,
	       (long long)r->bytes, r->schema_version, secs);
	return 0;
}

static int take_backup(const struct ctl_opts *o, const char *store, const char *file, int force)
{
	struct backup_result r;
	struct timespec t0, t1;
	char err[512] = "";
	sqlite3 *db = NULL;
	int rc;

	if (sqlite3_open_v2(store, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
		fprintf(stderr, "cordonctl: cannot open the store %s: %s\n", store,
			db ? sqlite3_errmsg(db) : "out of memory");
		sqlite3_close(db);
		return EXIT_REFUSED;
	}
	sqlite3_busy_timeout(db, 5000);
	umask(077);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	rc = store_backup_to(db, file, force, &r, err, sizeof(err));
	clock_gettime(CLOCK_MONOTONIC, &t1);
	sqlite3_close(db);
	if (rc < 0) {
		fprintf(stderr, "cordonctl: backup of %s failed: %s\n", store, err);
		return EXIT_REFUSED;
	}
	return report(o, file, &r,
		      (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
}

int cmd_backup(const struct ctl_opts *o, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "store", required_argument, NULL, 's' },
		{ "force", no_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *store = getenv("CORDON_STORE");
	int force = 0, c;

	if (!store || !*store)
		store = DEFAULT_STORE;
	optind = 0; /* full getopt reset: main() parsed with "+" */
	while ((c = getopt_long(argc, argv, "fh", opts, NULL)) != -1) {
		switch (c) {
		case 's': store = optarg; break;
		case 'f': force = 1; break;
		case 'h': backup_usage(stdout); return 0;
		default: return bad_option(argv);
		}
	}
	if (argc - optind != 1) {
		fprintf(stderr, "cordonctl: backup needs one FILE (cordonctl backup --help)\n");
		return EXIT_USAGE;
	}
	if (strncmp(store, "postgresql:", 11) == 0) {
		fprintf(stderr, "cordonctl: backup copies a SQLite store; a PostgreSQL store is backed"
			" up with PostgreSQL's tools (pg_dump, pg_basebackup, WAL archiving), or"
			" copied to a SQLite file with cordond --migrate-store\n");
		return EXIT_REFUSED;
	}
	if (strncmp(store, "sqlite:", 7) == 0)
		store += 7;
	return take_backup(o, store, argv[optind], force);
}

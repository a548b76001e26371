/* migrate_store.c: cordond --migrate-store FROM TO copies one store into
 * another (SQLite or PostgreSQL, either way) in one transaction on TO,
 * verified before it commits. */
#ifndef CORDON_MIGRATE_STORE_H
#define CORDON_MIGRATE_STORE_H

/* FROM and TO as cordond.conf's database =; log_level NULL: warning.
 * The exit status: 0 copied and verified (summary on stdout), 1 an error
 * ("cordond: migrate-store: ..." on stderr, TO unchanged). */
int migrate_store_main(const char *from, const char *to, const char *log_level);

#endif

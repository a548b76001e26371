/* term.c: the newest controller term this host has accepted.
 *
 * Every desired set carries the term of the leader that sent it (a
 * fencing token, proto/cordon.proto): a set older than the newest term
 * accepted is ignored, so a stalled former leader can never undo what a
 * newer one decided. The term is kept in state_dir/term (one decimal line,
 * written like the state: temporary file, fsync, rename, fsync of the
 * directory), saved before anything of a newer term is applied. */
#ifndef CORDON_AGENT_TERM_H
#define CORDON_AGENT_TERM_H

#include <stddef.h>
#include <stdint.h>

#include "log.h"

enum term_verdict {
	TERM_CURRENT,   /* the term accepted already: apply */
	TERM_NEWER,     /* newer: save it, then apply */
	TERM_STALE,     /* older (or 0 after a term above 0): ignore */
};

struct term_state {
	char path[4200];           /* state_dir/term */
	uint64_t seen;             /* newest accepted; 0 = none yet */
	uint64_t stale;            /* desired sets ignored for their term */
	struct log_limit stale_log; /* a former leader resends every second */
};

/* What to do with a message of term t when seen is the newest accepted.
 * Term 0 (a controller that predates terms) is current only while no
 * term above 0 was accepted. */
enum term_verdict term_judge(uint64_t seen, uint64_t t);

/* t->path from state_dir, t->seen from the file (0 when there is none).
 * -1 with a reason in err for a file that cannot be read or parsed: the
 * agent does not start (starting from 0 would take any former leader). */
int term_open(struct term_state *t, const char *state_dir, char *err, size_t errlen);
/* Writes term atomically; 0, or -1 with errno set. */
int term_save(const char *path, uint64_t term);

/* 1: apply the message (its term is current, or newer and now saved);
 * 0: ignore it (stale: logged at warning and counted; or the newer term
 * could not be saved: logged, the controller resends). *verdict says
 * which, when not NULL. */
int term_accept(struct term_state *t, uint64_t term, enum term_verdict *verdict);

#endif

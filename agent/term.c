#include "term.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "state.h"

enum term_verdict term_judge(uint64_t seen, uint64_t t)
{
	if (t == seen)
		return TERM_CURRENT;
	/* 0 is "no term" (an older controller), never a term below 1. */
	return t > seen ? TERM_NEWER : TERM_STALE;
}

/* "7\n": digits only, no sign, no overflow, at most one newline. */
static int term_parse(const char *text, uint64_t *out)
{
	size_t n = strspn(text, "0123456789");
	char *end;

	if (n == 0 || n > 20 || (text[n] != '\0' && strcmp(text + n, "\n") != 0))
		return -1;
	errno = 0;
	*out = strtoull(text, &end, 10);
	return errno ? -1 : 0;
}

int term_open(struct term_state *t, const char *state_dir, char *err, size_t errlen)
{
	char buf[32];
	ssize_t n;
	int fd;

	memset(t, 0, sizeof(*t));
	if ((size_t)snprintf(t->path, sizeof(t->path), "%s/term", state_dir) >= sizeof(t->path)) {
		snprintf(err, errlen, "state_dir too long for %s/term", state_dir);
		return -1;
	}
	fd = open(t->path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT)
		return 0; /* never accepted a term (or an agent from before terms) */
	if (fd < 0) {
		snprintf(err, errlen, "term file %s: %s", t->path, strerror(errno));
		return -1;
	}
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n >= 0)
		buf[n] = '\0';
	if (n < 0 || term_parse(buf, &t->seen) < 0) {
		snprintf(err, errlen, "term file %s is unreadable (%s); fix it, or remove it to "
			 "accept any controller's term again", t->path,
			 n < 0 ? strerror(errno) : "not one decimal number");
		return -1;
	}
	return 0;
}

int term_save(const char *path, uint64_t term)
{
	char text[32];

	snprintf(text, sizeof(text), "%" PRIu64, term);
	return state_write_atomic(path, text);
}

static void log_stale(struct term_state *t, uint64_t term)
{
	t->stale++;
	if (term == 0)
		log_limited(&t->stale_log, LOG_LVL_WARN, 0, "ignoring a desired set with no term "
			    "(a controller from before terms): this host has accepted term %" PRIu64,
			    t->seen);
	else
		log_limited(&t->stale_log, LOG_LVL_WARN, 0, "ignoring a desired set of term %"
			    PRIu64 ", older than term %" PRIu64 " this host has accepted (a former "
			    "leader?)", term, t->seen);
}

int term_accept(struct term_state *t, uint64_t term, enum term_verdict *verdict)
{
	enum term_verdict v = term_judge(t->seen, term);

	if (verdict)
		*verdict = v;
	if (v == TERM_STALE) {
		log_stale(t, term);
		return 0;
	}
	if (v == TERM_CURRENT)
		return 1;
	/* Saved first: after a crash, the older leader must still be fenced. */
	if (term_save(t->path, term) < 0) {
		log_error("cannot save term %" PRIu64 " to %s: its desired set is not applied "
			  "(the controller resends it)", term, t->path);
		return 0;
	}
	log_info("accepted controller term %" PRIu64 " (was %" PRIu64 ")", term, t->seen);
	t->seen = term;
	return 1;
}

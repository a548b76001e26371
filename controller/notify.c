/* notify.c: templates and the notifier runner, see notify.h. */
#include "notify.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "log.h"
#include "util.h"

extern char **environ;

const char *const notify_vars[] = {
	"case_id", "category", "vm_name", "vm_uuid", "ip", "contact", "from",
	"evidence", "source", "opened", "next_step", "next_due", "now", NULL,
};

bool notify_var_known(const char *name)
{
	for (size_t i = 0; notify_vars[i]; i++)
		if (strcmp(notify_vars[i], name) == 0)
			return true;
	return false;
}

static bool word_char(char c, bool dash)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '_' || (dash && c == '-');
}

bool notify_name_ok(const char *name)
{
	size_t len;

	if (!name)
		return false;
	for (len = 0; name[len]; len++)
		if (len >= NOTIFY_NAME_MAX || !word_char(name[len], true))
			return false;
	return len > 0;
}

/* close() of our own descriptors: a failure is a bug worth a log line,
 * never a reason to fail the operation. */
static void fd_close(int fd)
{
	if (fd >= 0 && close(fd) < 0)
		log_warn("notify: close %d", fd);
}

/* ---- growing output buffer ---- */

struct buf {
	char *p;
	size_t len, cap;
};

static int buf_add(struct buf *b, const char *s, size_t n)
{
	if (n >= b->cap - b->len || !b->p) {
		size_t cap = b->cap ? b->cap : 4096;
		char *p;

		while (cap - b->len <= n)
			cap *= 2;
		p = realloc(b->p, cap);
		if (!p)
			return -1;
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
	return 0;
}

/* In headers, CR and LF (and NUL, which a C string cannot carry anyway)
 * become spaces so a value cannot start a new header line. */
static int buf_add_value(struct buf *b, const char *s, size_t n, bool header)
{
	size_t start = b->len;

	if (buf_add(b, s, n) < 0)
		return -1;
	for (size_t i = start; i < b->len; i++) {
		char c = b->p[i];

		if (c == '\0' || (header && (c == '\r' || c == '\n')))
			b->p[i] = ' ';
	}
	return 0;
}

/* ---- template reading ---- */

static int read_template(const char *path, char **text, size_t *len,
			 char *err, size_t errlen)
{
	struct stat st;
	ssize_t r;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) ||
	    st.st_size > NOTIFY_TEMPLATE_MAX) {
		snprintf(err, errlen, "%s: not a regular file of at most %d bytes",
			 path, NOTIFY_TEMPLATE_MAX);
		fd_close(fd);
		return -1;
	}
	*text = malloc((size_t)st.st_size + 1);
	if (!*text) {
		snprintf(err, errlen, "%s: out of memory", path);
		fd_close(fd);
		return -1;
	}
	/* A regular file is read whole; a short read means it changed under
	 * us, which we treat as an error rather than render half a message. */
	r = read(fd, *text, (size_t)st.st_size);
	fd_close(fd);
	if (r != st.st_size || memchr(*text, '\0', (size_t)r)) {
		snprintf(err, errlen, "%s: %s", path,
			 r < 0 ? strerror(errno) : "short read or NUL byte");
		free(*text);
		*text = NULL;
		return -1;
	}
	(*text)[r] = '\0';
	*len = (size_t)r;
	return 0;
}

static int template_path(const char *dir, const char *name, char *path,
			 size_t len, char *err, size_t errlen)
{
	int n;

	if (!notify_name_ok(name)) {
		snprintf(err, errlen, "bad template name \"%.80s\": use 1 to %d "
			 "of A-Z a-z 0-9 _ -", name ? name : "", NOTIFY_NAME_MAX);
		return -1;
	}
	n = snprintf(path, len, "%s/%s.txt", dir, name);
	if (n < 0 || (size_t)n >= len) {
		snprintf(err, errlen, "template directory name too long");
		return -1;
	}
	return 0;
}

/* ---- the template scanner, shared by render and check ---- */

struct tpl {
	const char *path;      /* for messages */
	const json_t *vars;    /* NULL: check names against notify_vars */
	struct buf out;
	unsigned line;
	bool header;           /* still before the first empty line */
	char *err;
	size_t errlen;
};

static int tpl_fail(struct tpl *t, const char *fmt, const char *what)
{
	char msg[160];

	snprintf(msg, sizeof msg, fmt, what);
	snprintf(t->err, t->errlen, "%s:%u: %s", t->path, t->line, msg);
	return -1;
}

static int json_value(struct tpl *t, const json_t *v, const char *name)
{
	char num[32];
	int rc = 0;

	if (json_is_string(v)) {
		rc = buf_add_value(&t->out, json_string_value(v),
				   json_string_length(v), t->header);
	} else if (json_is_integer(v)) {
		snprintf(num, sizeof num, "%" JSON_INTEGER_FORMAT,
			 json_integer_value(v));
		rc = buf_add(&t->out, num, strlen(num));
	} else if (!json_is_null(v)) {
		return tpl_fail(t, "{{%s}} is not a string or an integer",
				name);
	}
	if (rc < 0)
		return tpl_fail(t, "out of memory at {{%s}}", name);
	return 0;
}

static int tpl_var(struct tpl *t, const char *name)
{
	const json_t *v;

	if (!t->vars) {
		if (!notify_var_known(name))
			return tpl_fail(t, "unknown variable {{%s}}", name);
		return 0;
	}
	v = json_object_get(t->vars, name);
	if (!v)
		return tpl_fail(t, "unknown variable {{%s}} (no value)", name);
	return json_value(t, v, name);
}

/* s points after "{{"; returns the length consumed up to and including
 * "}}", or -1. */
static long tpl_placeholder(struct tpl *t, const char *s, const char *end)
{
	char name[NOTIFY_VAR_MAX + 1];
	size_t n = 0;

	while (s + n < end && word_char(s[n], false))
		n++;
	if (n == 0 || n > NOTIFY_VAR_MAX || end - (s + n) < 2 ||
	    s[n] != '}' || s[n + 1] != '}')
		return tpl_fail(t, "%s", "malformed placeholder: expected "
				"{{name}} with name of A-Z a-z 0-9 _");
	memcpy(name, s, n);
	name[n] = '\0';
	if (tpl_var(t, name) < 0)
		return -1;
	return (long)n + 2;
}

/* A header line is "Field-Name: ..." or a continuation (leading blank);
 * anything else would make sendmail take it for the body. */
static bool header_line_ok(const char *s, const char *end, bool first)
{
	const char *p = s;

	if (!first && (*s == ' ' || *s == '\t'))
		return true;
	while (p < end && *p > ' ' && *p < 127 && *p != ':')
		p++;
	return p > s && p < end && *p == ':';
}

/* One line [s, end) without its newline. */
static int tpl_line(struct tpl *t, const char *s, const char *end, bool first)
{
	const char *p = s;

	if (t->header && (end == s || (end - s == 1 && *s == '\r'))) {
		t->header = false;
	} else if (t->header && !header_line_ok(s, end, first)) {
		return tpl_fail(t, "%s", "not a header line (\"Name: value\"); "
				"an empty line must separate headers and body");
	}
	while (p < end) {
		const char *open = memmem(p, (size_t)(end - p), "{{", 2);
		long used;

		if (!open)
			open = end;
		if (buf_add(&t->out, p, (size_t)(open - p)) < 0)
			return tpl_fail(t, "%s", "out of memory");
		if (open == end)
			break;
		used = tpl_placeholder(t, open + 2, end);
		if (used < 0)
			return -1;
		p = open + 2 + used;
	}
	return 0;
}

static int tpl_run(struct tpl *t, const char *text, size_t len)
{
	const char *s = text, *end = text + len;

	t->header = true;
	for (t->line = 1; s < end; t->line++) {
		const char *nl = memchr(s, '\n', (size_t)(end - s));
		const char *eol = nl ? nl : end;

		if (tpl_line(t, s, eol, t->line == 1) < 0)
			return -1;
		if (nl && buf_add(&t->out, "\n", 1) < 0)
			return tpl_fail(t, "%s", "out of memory");
		s = eol + 1;
	}
	if (t->header) {
		snprintf(t->err, t->errlen, "%s: no empty line between the "
			 "headers and the body", t->path);
		return -1;
	}
	return 0;
}

int notify_render_text(const char *path, const char *text, size_t len,
		       const json_t *vars, char **out, char *err, size_t errlen)
{
	struct tpl t = { .path = path, .vars = vars, .err = err,
			 .errlen = errlen };
	int rc = tpl_run(&t, text, len);

	if (rc < 0 || !out) {
		free(t.out.p);
		return rc;
	}
	/* An empty template still yields a string, not NULL. */
	if (!t.out.p && buf_add(&t.out, "", 0) < 0) {
		snprintf(err, errlen, "%s: out of memory", path);
		return -1;
	}
	*out = t.out.p;
	return 0;
}

static int tpl_file(const char *dir, const char *name, const json_t *vars,
		    char **out, char *err, size_t errlen)
{
	char path[4096], *text;
	size_t len;
	int rc;

	if (errlen)
		err[0] = '\0';
	if (template_path(dir, name, path, sizeof path, err, errlen) < 0 ||
	    read_template(path, &text, &len, err, errlen) < 0)
		return -1;
	rc = notify_render_text(path, text, len, vars, out, err, errlen);
	free(text);
	return rc;
}

int notify_render(const char *dir, const char *template_name,
		  const json_t *vars, char **out, char *err, size_t errlen)
{
	*out = NULL;
	if (!json_is_object(vars)) {
		snprintf(err, errlen, "template variables are not an object");
		return -1;
	}
	return tpl_file(dir, template_name, vars, out, err, errlen);
}

int notify_check_template(const char *dir, const char *name, char *err,
			  size_t errlen)
{
	return tpl_file(dir, name, NULL, NULL, err, errlen);
}

/* Start of the UTF-8 character containing s[i]. */
static size_t utf8_start(const char *s, size_t i)
{
	while (i > 0 && ((unsigned char)s[i] & 0xc0) == 0x80)
		i--;
	return i;
}

char *notify_excerpt(const char *text, size_t max_bytes, size_t max_lines)
{
	static const char more[] = "\n[... truncated]";
	size_t len = strlen(text), cut = 0, lines = 0;
	char *out;

	while (cut < len && cut < max_bytes && lines < max_lines)
		if (text[cut++] == '\n')
			lines++;
	if (cut < len)
		cut = utf8_start(text, cut);
	/* A newline that ended the last kept line is replaced by ours. */
	while (cut < len && cut > 0 && text[cut - 1] == '\n')
		cut--;
	out = malloc(cut + sizeof more);
	if (!out)
		return NULL;
	memcpy(out, text, cut);
	if (cut < len)
		memcpy(out + cut, more, sizeof more);
	else
		out[cut] = '\0';
	return out;
}

/* ---- the runner ---- */

struct job {
	uint64_t id;
	uint64_t seq;          /* order of spawning, see notifier_poll() */
	uint64_t deadline;     /* CLOCK_MONOTONIC ms */
	pid_t pid;             /* -1: never started, spawn_errno says why */
	int spawn_errno;
	int out_fd;            /* memfd with the child's stdout and stderr */
	int timeout_ms;
	bool killed;
};

struct notifier {
	struct job *jobs;      /* jobs[0..njobs), at most max */
	size_t njobs, max;
	uint64_t seq;
};

struct notifier *notifier_new(int max_concurrent)
{
	struct notifier *n;

	if (max_concurrent <= 0) {
		errno = EINVAL;
		return NULL;
	}
	n = calloc(1, sizeof *n);
	if (!n)
		return NULL;
	n->jobs = calloc((size_t)max_concurrent, sizeof *n->jobs);
	if (!n->jobs) {
		free(n);
		return NULL;
	}
	n->max = (size_t)max_concurrent;
	return n;
}

static void job_close(struct job *j)
{
	fd_close(j->out_fd);
	j->out_fd = -1;
}

void notifier_free(struct notifier *n)
{
	if (!n)
		return;
	for (size_t i = 0; i < n->njobs; i++) {
		struct job *j = &n->jobs[i];

		/* The leader is not reaped yet, so its pid (= the group id)
		 * cannot have been reused: the kill hits only our job. After
		 * SIGKILL the blocking wait is short. */
		if (j->pid > 0) {
			if (kill(-j->pid, SIGKILL) < 0 && errno != ESRCH)
				log_warn("notifier: kill %d", (int)j->pid);
			while (waitpid(j->pid, NULL, 0) < 0 && errno == EINTR)
				;
		}
		job_close(j);
	}
	free(n->jobs);
	free(n);
}

size_t notifier_running(const struct notifier *n)
{
	return n->njobs;
}

/* The child's stdio must be 0..2 and our memfds must not be: if the
 * controller runs with a closed stdin, a memfd could get number 0 and the
 * dup2 sequence would clobber it. */
static int fd_above_stdio(int fd)
{
	int nfd;

	if (fd < 0 || fd > 2)
		return fd;
	nfd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	fd_close(fd);
	return nfd;
}

/* The message goes into an in-memory file, not a pipe: the write cannot
 * block however large the message and the child reads it at its pace. */
static int stdin_memfd(const char *text)
{
	size_t len = text ? strlen(text) : 0;
	int fd = fd_above_stdio(memfd_create("cordon-notify-in", MFD_CLOEXEC));

	if (fd < 0)
		return -1;
	if (write_all(fd, text, len) < 0) {
		int e = errno;

		fd_close(fd);
		errno = e;
		return -1;
	}
	if (lseek(fd, 0, SEEK_SET) < 0) {
		int e = errno;

		fd_close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

/* Output goes into a memfd rather than a pipe: nobody has to drain it, and
 * a background process left by the command (sendmail's queue runner keeps
 * stdout open) cannot make us wait for EOF. Its size is fixed and sealed
 * so a runaway command cannot fill memory: writes past NOTIFY_OUTPUT_MAX
 * fail in the child. The shared file offset tells how much was written. */
static int output_memfd(void)
{
	int fd = fd_above_stdio(memfd_create("cordon-notify-out",
					     MFD_CLOEXEC | MFD_ALLOW_SEALING));

	if (fd < 0)
		return -1;
	if (ftruncate(fd, NOTIFY_OUTPUT_MAX) < 0 ||
	    fcntl(fd, F_ADD_SEALS, F_SEAL_GROW | F_SEAL_SEAL) < 0) {
		int e = errno;

		fd_close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

static size_t env_name_len(const char *s)
{
	return strcspn(s, "=");
}

static bool env_valid(char *const extra[])
{
	for (size_t i = 0; extra && extra[i]; i++) {
		size_t k = env_name_len(extra[i]);

		if (k == 0 || extra[i][k] != '=')
			return false;
	}
	return true;
}

static bool env_overridden(const char *e, char *const extra[])
{
	size_t k = env_name_len(e);

	for (size_t i = 0; extra && extra[i]; i++)
		if (env_name_len(extra[i]) == k &&
		    memcmp(extra[i], e, k) == 0)
			return true;
	return false;
}

/* environ plus extra, an extra replacing a variable of the same name. The
 * array borrows the strings: it only has to outlive posix_spawn(). */
static char **env_build(char *const extra[])
{
	size_t ne = 0, nx = 0, k = 0;
	char **env;

	while (environ && environ[ne])
		ne++;
	while (extra && extra[nx])
		nx++;
	env = calloc(ne + nx + 1, sizeof *env);
	if (!env)
		return NULL;
	for (size_t i = 0; i < ne; i++)
		if (!env_overridden(environ[i], extra))
			env[k++] = environ[i];
	for (size_t i = 0; i < nx; i++)
		env[k++] = extra[i];
	env[k] = NULL;
	return env;
}

#if !__GLIBC_PREREQ(2, 34)
/* Without posix_spawn_file_actions_addclosefrom_np: close every fd above
 * 2 open now (close errors for fds already gone are ignored by glibc). */
static int spawn_closefrom(posix_spawn_file_actions_t *fa)
{
	long max = sysconf(_SC_OPEN_MAX);
	int rc = 0;

	if (max < 0 || max > 65536)
		max = 65536;
	for (int fd = 3; fd < max && rc == 0; fd++)
		if (fcntl(fd, F_GETFD) >= 0)
			rc = posix_spawn_file_actions_addclose(fa, fd);
	return rc;
}
#else
static int spawn_closefrom(posix_spawn_file_actions_t *fa)
{
	return posix_spawn_file_actions_addclosefrom_np(fa, 3);
}
#endif

/* stdin, stdout+stderr, nothing else inherited (the controller's sockets
 * and database must not leak into a mail command); own process group so a
 * timeout kills the whole pipeline; a clean signal state, since the
 * controller may block or ignore signals (SIGPIPE, signalfd). */
static int spawn_setup(posix_spawn_file_actions_t *fa, posix_spawnattr_t *at,
		       int in_fd, int out_fd)
{
	sigset_t none, all;
	int rc;

	if ((rc = posix_spawn_file_actions_adddup2(fa, in_fd, 0)) != 0 ||
	    (rc = posix_spawn_file_actions_adddup2(fa, out_fd, 1)) != 0 ||
	    (rc = posix_spawn_file_actions_adddup2(fa, out_fd, 2)) != 0 ||
	    (rc = spawn_closefrom(fa)) != 0)
		return rc;
	if (sigemptyset(&none) < 0 || sigfillset(&all) < 0)
		return errno;
	if ((rc = posix_spawnattr_setpgroup(at, 0)) != 0 ||
	    (rc = posix_spawnattr_setsigmask(at, &none)) != 0 ||
	    (rc = posix_spawnattr_setsigdefault(at, &all)) != 0)
		return rc;
	return posix_spawnattr_setflags(at, POSIX_SPAWN_SETPGROUP |
					POSIX_SPAWN_SETSIGMASK |
					POSIX_SPAWN_SETSIGDEF);
}

/* posix_spawn (vfork-like in glibc) rather than fork: the controller may
 * hold a large heap and fork would copy its page tables for every mail.
 * Returns 0 or an errno value (posix_spawn reports exec failures). */
static int spawn_child(const char *command, int in_fd, int out_fd,
		       char **env, pid_t *pid)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	char *argv[] = { "sh", "-c", (char *)command, NULL };
	int rc;

	if ((rc = posix_spawn_file_actions_init(&fa)) != 0)
		return rc;
	if ((rc = posix_spawnattr_init(&at)) != 0) {
		posix_spawn_file_actions_destroy(&fa);
		return rc;
	}
	rc = spawn_setup(&fa, &at, in_fd, out_fd);
	if (rc == 0)
		rc = posix_spawn(pid, "/bin/sh", &fa, &at, argv, env);
	posix_spawnattr_destroy(&at);
	posix_spawn_file_actions_destroy(&fa);
	return rc;
}

static int spawn_fail(char *err, size_t errlen, int e, const char *what)
{
	snprintf(err, errlen, "notifier: %s: %s", what, strerror(e));
	errno = e;
	return -1;
}

static int spawn_check(const struct notifier *n, const char *command,
		       char *const envp_extra[], int timeout_ms, char *err,
		       size_t errlen)
{
	if (!command || !*command || timeout_ms <= 0 || !env_valid(envp_extra))
		return spawn_fail(err, errlen, EINVAL, "bad command, "
				  "environment or timeout");
	if (n->njobs >= n->max) {
		snprintf(err, errlen, "notifier: %zu jobs already running",
			 n->njobs);
		errno = EAGAIN;
		return -1;
	}
	return 0;
}

int notifier_spawn(struct notifier *n, uint64_t job_id, const char *command,
		   const char *stdin_text, char *const envp_extra[],
		   int timeout_ms, char *err, size_t errlen)
{
	struct job *j;
	int in_fd, rc;
	char **env;

	if (spawn_check(n, command, envp_extra, timeout_ms, err, errlen) < 0)
		return -1;
	j = &n->jobs[n->njobs];
	if ((in_fd = stdin_memfd(stdin_text)) < 0)
		return spawn_fail(err, errlen, errno, "message memfd");
	if ((j->out_fd = output_memfd()) < 0) {
		rc = errno;
		fd_close(in_fd);
		return spawn_fail(err, errlen, rc, "output memfd");
	}
	if (!(env = env_build(envp_extra))) {
		fd_close(in_fd);
		job_close(j);
		return spawn_fail(err, errlen, ENOMEM, "environment");
	}
	rc = spawn_child(command, in_fd, j->out_fd, env, &j->pid);
	free(env);
	fd_close(in_fd);
	j->id = job_id;
	j->seq = ++n->seq;
	j->timeout_ms = timeout_ms;
	j->deadline = now_mono_ms() + (uint64_t)timeout_ms;
	j->killed = false;
	j->spawn_errno = rc;
	/* A job that could not start is still taken: its failure reaches the
	 * caller through done(), like any other failed notification. */
	if (rc != 0) {
		j->pid = -1;
		job_close(j);
	}
	n->njobs++;
	return 0;
}

/* The last NOTIFY_TAIL_MAX bytes the job wrote, on one line: control
 * characters become spaces, a cut UTF-8 character at the start is
 * dropped, surrounding blanks trimmed. "" when it wrote nothing. */
static void output_tail(int fd, char *buf, size_t len)
{
	off_t end = fd >= 0 ? lseek(fd, 0, SEEK_CUR) : -1;
	size_t want = len - 1, start = 0;
	ssize_t r;

	buf[0] = '\0';
	if (end <= 0)
		return;
	if ((off_t)want > end)
		want = (size_t)end;
	r = pread(fd, buf, want, end - (off_t)want);
	if (r <= 0)
		return;
	buf[r] = '\0';
	for (ssize_t i = 0; i < r; i++)
		if ((unsigned char)buf[i] < ' ' || buf[i] == 127)
			buf[i] = ' ';
	while (start < (size_t)r &&
	       (((unsigned char)buf[start] & 0xc0) == 0x80 || buf[start] == ' '))
		start++;
	while (r > (ssize_t)start && buf[r - 1] == ' ')
		buf[--r] = '\0';
	memmove(buf, buf + start, (size_t)r - start + 1);
}

static void describe_status(const struct job *j, int status, int *ok,
			    char *detail, size_t len)
{
	char tail[NOTIFY_TAIL_MAX + 1];
	const char *sep;

	output_tail(j->out_fd, tail, sizeof tail);
	sep = tail[0] ? ": " : "";
	*ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
	if (WIFEXITED(status))
		snprintf(detail, len, "exit status %d%s%s",
			 WEXITSTATUS(status), sep, tail);
	else if (j->killed)
		snprintf(detail, len, "killed after timeout %d ms%s%s",
			 j->timeout_ms, sep, tail);
	else
		snprintf(detail, len, "killed by signal %d (%s)%s%s",
			 WTERMSIG(status), strsignal(WTERMSIG(status)), sep,
			 tail);
}

/* The whole group: sendmail or a hook may have children of its own. */
static void job_timeout(struct job *j, uint64_t now)
{
	if (j->killed || now < j->deadline)
		return;
	if (kill(-j->pid, SIGKILL) < 0 && errno != ESRCH)
		log_warn("notifier: kill process group %d", (int)j->pid);
	j->killed = true;
}

/* True when the job is finished, with its result in ok and detail. */
static bool job_done(struct job *j, uint64_t now, int *ok, char *detail,
		     size_t len)
{
	int status;
	pid_t r;

	*ok = 0;
	if (j->pid < 0) {
		snprintf(detail, len, "cannot execute /bin/sh: %s",
			 strerror(j->spawn_errno));
		return true;
	}
	do
		r = waitpid(j->pid, &status, WNOHANG);
	while (r < 0 && errno == EINTR);
	if (r == 0) {
		job_timeout(j, now);
		return false;
	}
	if (r < 0) {
		/* ECHILD: reaped elsewhere (SIGCHLD set to SIG_IGN?). */
		snprintf(detail, len, "cannot wait for process %d: %s",
			 (int)j->pid, strerror(errno));
		return true;
	}
	describe_status(j, status, ok, detail, len);
	return true;
}

int notifier_poll(struct notifier *n,
		  void (*done)(uint64_t job_id, int ok, const char *detail,
			       void *arg),
		  void *arg)
{
	uint64_t now = now_mono_ms(), last = n->seq;
	char detail[NOTIFY_DETAIL_MAX];
	int reported = 0, ok;
	size_t i = 0;

	while (i < n->njobs) {
		struct job *j = &n->jobs[i];
		uint64_t id = j->id;

		/* Jobs that done() starts wait for the next poll: a callback
		 * that retries at once a job that cannot start would
		 * otherwise loop here for ever. */
		if (j->seq > last || !job_done(j, now, &ok, detail,
					       sizeof detail)) {
			i++;
			continue;
		}
		job_close(j);
		*j = n->jobs[--n->njobs];
		reported++;
		if (done)
			done(id, ok, detail, arg);
	}
	return reported;
}

int notifier_timeout_ms(const struct notifier *n)
{
	uint64_t now = now_mono_ms();
	int best = -1;

	for (size_t i = 0; i < n->njobs; i++) {
		const struct job *j = &n->jobs[i];
		uint64_t left = j->deadline > now ? j->deadline - now : 0;
		int t = left < NOTIFY_POLL_MS ? (int)left : NOTIFY_POLL_MS;

		if (j->pid < 0)
			t = 0;
		if (best < 0 || t < best)
			best = t;
	}
	return best;
}

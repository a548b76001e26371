/* notify.c: customer notifications. Renders a mail template for a case and
 * runs notifier commands (sendmail, call hooks) as child processes without
 * ever blocking the controller's event loop.
 *
 * Templates: DIR/NAME.txt, a plain-text RFC 5322 message (headers, an empty
 * line, the body) with {{variable}} placeholders. Values come from a JSON
 * object (string, integer, or null for empty). In the header part any CR,
 * LF or NUL in a value becomes a space, so a value can never add a header
 * (e.g. a Bcc:); in the body values are inserted verbatim. "{{" always
 * starts a placeholder: a template cannot contain a literal "{{".
 *
 * Runner: each job is "/bin/sh -c COMMAND" in its own process group, stdin
 * from an in-memory file holding the message, stdout and stderr into
 * another (the tail goes into the report), the controller's environment
 * plus a few variables, all other descriptors closed, signal mask and
 * dispositions reset. Results are collected by notifier_poll() with
 * waitpid(WNOHANG) on each job's pid only (never waitpid(-1)), so the
 * caller needs no SIGCHLD handler; SIGCHLD must not be SIG_IGN. */
#ifndef CORDON_NOTIFY_H
#define CORDON_NOTIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#define NOTIFY_NAME_MAX 64           /* template name: [A-Za-z0-9_-]{1,64} */
#define NOTIFY_VAR_MAX 64            /* placeholder name: [A-Za-z0-9_]{1,64} */
#define NOTIFY_TEMPLATE_MAX (64 * 1024)
#define NOTIFY_OUTPUT_MAX (64 * 1024) /* a job's output beyond this is lost */
#define NOTIFY_TAIL_MAX 512          /* output bytes kept in the detail */
#define NOTIFY_DETAIL_MAX 640        /* detail string incl. NUL */
#define NOTIFY_POLL_MS 100           /* see notifier_timeout_ms() */

/* The variables the controller provides for every notification: case_id,
 * category, vm_name, vm_uuid, ip, contact, from, evidence, source, opened,
 * next_step, next_due, now. */
bool notify_var_known(const char *name);
/* NULL-terminated list of the same names. */
extern const char *const notify_vars[];

/* True for a valid template name (no paths, no dots). */
bool notify_name_ok(const char *name);

/* Renders DIR/NAME.txt with vars into *out (caller frees). -1 with the
 * reason in err ("DIR/NAME.txt:12: no value for {{next_due}}"), *out NULL.
 * A placeholder without a value in vars is an error, not an empty string. */
int notify_render(const char *dir, const char *template_name,
		  const json_t *vars, char **out, char *err, size_t errlen);

/* What notify_render and notify_check_template do with a template's text
 * (len bytes, no NUL; path stands for its file in messages): renders it
 * with vars into *out, or with vars and out NULL only checks it. For the
 * fuzz target (fuzz/fuzz_notify.c). */
int notify_render_text(const char *path, const char *text, size_t len,
		       const json_t *vars, char **out, char *err, size_t errlen);

/* Checks that DIR/NAME.txt exists, is well formed (header lines, an empty
 * line before the body, placeholders closed) and uses only the variables
 * of notify_var_known(). For policy loading. 0, or -1 with err. */
int notify_check_template(const char *dir, const char *name, char *err,
			  size_t errlen);

/* Copy of text cut to at most max_bytes and max_lines, on a UTF-8
 * character boundary, with "\n[... truncated]" appended when cut: the
 * evidence excerpt for a mail. NULL when out of memory. */
char *notify_excerpt(const char *text, size_t max_bytes, size_t max_lines);

struct notifier;

/* At most max_concurrent (> 0) jobs at a time. NULL with errno. */
struct notifier *notifier_new(int max_concurrent);
/* Kills (SIGKILL to the process group) and reaps every running job without
 * reporting it: results of jobs still running are lost. NULL is fine. */
void notifier_free(struct notifier *n);

/* Starts "/bin/sh -c command" with stdin_text (NULL: empty) on its stdin
 * and envp_extra ("NAME=value" strings, NULL-terminated, may be NULL)
 * added to, or replacing, the controller's environment. Returns at once.
 * 0: the job's result will be reported by notifier_poll(), exactly once,
 * including "cannot execute" when the process could not be created.
 * -1 with errno and err: the job was not taken and will not be reported:
 * EINVAL (bad argument, timeout_ms <= 0), EAGAIN (max_concurrent jobs are
 * running: retry after a poll), ENOMEM/EMFILE/... (resources). */
int notifier_spawn(struct notifier *n, uint64_t job_id, const char *command,
		   const char *stdin_text, char *const envp_extra[],
		   int timeout_ms, char *err, size_t errlen);

/* Reaps finished jobs, SIGKILLs the process group of those past their
 * timeout (reported at a later poll, once reaped) and calls done() for
 * each finished one: ok when the shell exited with status 0; detail is
 * "exit status 75: <output tail>", "killed after timeout 30000 ms",
 * "killed by signal 15 (Terminated): <tail>" or "cannot execute /bin/sh:
 * <reason>". done() may call notifier_spawn() (a job it starts is looked
 * at from the next poll on) but must not free the notifier. Returns the
 * number of jobs reported. */
int notifier_poll(struct notifier *n,
		  void (*done)(uint64_t job_id, int ok, const char *detail,
			       void *arg),
		  void *arg);

/* Jobs taken and not yet reported. */
size_t notifier_running(const struct notifier *n);

/* Longest the caller's poll (zmq_poll) may sleep before it should call
 * notifier_poll() again: -1 with no jobs, else at most NOTIFY_POLL_MS
 * (children are not signalled to us), less when a timeout falls sooner,
 * 0 when a result is already waiting. */
int notifier_timeout_ms(const struct notifier *n);

#endif

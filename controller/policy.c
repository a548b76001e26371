/* Escalation ladders: parsing, formatting, and due times. The grammar is in
 * policy.h. A hand-written tokenizer is enough for a line-oriented format
 * and gives messages that name the file, the line and the offending word. */
#include "policy.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "calendar.h"

#define LINE_MAX_LEN 1024
#define FILE_MAX_LEN (1024 * 1024)
#define MAX_TOKENS 16

struct policy {
	char *path;
	char category[POLICY_CATEGORY_MAX];
	char *description;
	enum policy_clock clock;
	struct policy_step *steps;
	size_t n_steps, cap_steps;
};

struct policy_set {
	struct policy **v;
	size_t n;
};

static const char *const action_names[] = {
	[POLICY_NOTIFY] = "notify",
	[POLICY_CALL] = "call",
	[POLICY_SUSPEND] = "suspend",
	[POLICY_POWEROFF] = "poweroff",
};

static const struct {
	const char *name;
	unsigned bit;
} scope_names[] = {
	{ "public", POLICY_SCOPE_PUBLIC },
	{ "private", POLICY_SCOPE_PRIVATE },
	{ "smtp", POLICY_SCOPE_SMTP },
	{ "all", POLICY_SCOPE_ALL },
};

#define N_SCOPES (sizeof(scope_names) / sizeof(scope_names[0]))

const char *policy_action_name(enum policy_action a)
{
	return (unsigned)a < 4 ? action_names[a] : "?";
}

void policy_scopes_format(unsigned scopes, char *buf, size_t len)
{
	size_t used = 0;

	if (len == 0)
		return;
	buf[0] = '\0';
	if (scopes == POLICY_SCOPE_ALL) {
		snprintf(buf, len, "all");
		return;
	}
	for (size_t i = 0; i + 1 < N_SCOPES; i++) {
		int n;

		if (!(scopes & scope_names[i].bit) || used >= len)
			continue;
		n = snprintf(buf + used, len - used, "%s%s", used ? "," : "",
			     scope_names[i].name);
		used += n > 0 ? (size_t)n : 0;
	}
}

/* ---- parser ---- */

struct parser {
	struct policy *p;
	const char *name;
	unsigned line;
	unsigned seen;          /* keys already given, one bit each */
	char *err;
	size_t errlen;
};

static int perr(struct parser *ps, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Always -1, so that callers can "return perr(...)". */
static int perr(struct parser *ps, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (!ps->err || ps->errlen == 0)
		return -1;
	if (ps->line)
		snprintf(ps->err, ps->errlen, "%s:%u: %s", ps->name, ps->line, msg);
	else
		snprintf(ps->err, ps->errlen, "%s: %s", ps->name, msg);
	return -1;
}

static bool word_ok(const char *s, const char *extra, size_t max)
{
	size_t n = strlen(s);

	if (n == 0 || n >= max)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && !strchr(extra, s[i]))
			return false;
	return true;
}

/* Categories name files, templates and CLI arguments: keep them plain. */
static bool category_ok(const char *s)
{
	if (!word_ok(s, "-", POLICY_CATEGORY_MAX))
		return false;
	for (; *s; s++)
		if (isupper((unsigned char)*s))
			return false;
	return true;
}

static int parse_offset(struct parser *ps, const char *tok, long *out,
			const char *what)
{
	if (calendar_duration_parse(tok, out) == 0)
		return 0;
	if (errno == ERANGE)
		return perr(ps, "%s '%s' too long (at most 3650d)", what, tok);
	return perr(ps, "bad %s '%s' (expected 0 or a duration such as 90m, "
		    "2h, 1h30m, 7d)", what, tok);
}

static int parse_scopes(struct parser *ps, const char *tok, unsigned *out)
{
	char buf[LINE_MAX_LEN], *save = NULL;

	snprintf(buf, sizeof(buf), "%s", tok);
	*out = 0;
	if (tok[0] == ',' || tok[strlen(tok) - 1] == ',' || strstr(tok, ",,"))
		return perr(ps, "bad scopes '%s' (comma-separated, e.g. "
			    "public,private)", tok);
	for (char *s = strtok_r(buf, ",", &save); s;
	     s = strtok_r(NULL, ",", &save)) {
		size_t i;

		for (i = 0; i < N_SCOPES && strcmp(s, scope_names[i].name); i++)
			;
		if (i == N_SCOPES)
			return perr(ps, "unknown scope '%s' (expected public, "
				    "private, smtp, all)", s);
		*out |= scope_names[i].bit;
	}
	return 0;
}

/* Action and its argument: tok[0] is the action; returns words used. */
static int parse_action(struct parser *ps, char **tok, size_t n,
			struct policy_step *st)
{
	size_t a;

	if (n == 0)
		return perr(ps, "step: missing action (expected notify, call, "
			    "suspend, poweroff)");
	for (a = 0; a < 4 && strcmp(tok[0], action_names[a]); a++)
		;
	if (a == 4)
		return perr(ps, "unknown action '%s' (expected notify, call, "
			    "suspend, poweroff)", tok[0]);
	st->action = (enum policy_action)a;
	if (st->action == POLICY_NOTIFY) {
		if (n < 2)
			return perr(ps, "notify: missing template name");
		if (!word_ok(tok[1], "-_", POLICY_TEMPLATE_MAX))
			return perr(ps, "bad template name '%s' (letters, "
				    "digits, '-' and '_')", tok[1]);
		snprintf(st->tmpl, sizeof(st->tmpl), "%s", tok[1]);
		return 2;
	}
	if (st->action == POLICY_SUSPEND) {
		if (n < 2)
			return perr(ps, "suspend: missing scopes (public, "
				    "private, smtp, all)");
		return parse_scopes(ps, tok[1], &st->scopes) < 0 ? -1 : 2;
	}
	return 1;
}

/* "when reports >= N within DURATION": returns words used. */
static int parse_when(struct parser *ps, char **tok, size_t n,
		      struct policy_step *st)
{
	char *end;
	long v;

	if (n < 6 || strcmp(tok[1], "reports") || strcmp(tok[2], ">=") ||
	    strcmp(tok[4], "within"))
		return perr(ps, "bad condition: expected 'when reports >= N "
			    "within DURATION'");
	errno = 0;
	v = strtol(tok[3], &end, 10);
	if (!isdigit((unsigned char)tok[3][0]) || *end || errno || v < 1 ||
	    v > 1000000)
		return perr(ps, "bad report count '%s' (expected a number "
			    "from 1)", tok[3]);
	if (parse_offset(ps, tok[5], &st->window, "window") < 0)
		return -1;
	if (st->window == 0)
		return perr(ps, "window must be longer than 0");
	st->min_reports = (unsigned)v;
	return 6;
}

static int parse_conditions(struct parser *ps, char **tok, size_t n,
			    struct policy_step *st)
{
	bool unless = false;

	for (size_t i = 0; i < n;) {
		int used = 1;

		if (!strcmp(tok[i], "always") || !strcmp(tok[i], "unless-responded")) {
			bool *flag = tok[i][0] == 'a' ? &st->always : &unless;

			if (*flag)
				return perr(ps, "condition '%s' given twice", tok[i]);
			*flag = true;
		} else if (!strcmp(tok[i], "each-report")) {
			if (st->each_report)
				return perr(ps, "condition '%s' given twice", tok[i]);
			st->each_report = true;
		} else if (!strcmp(tok[i], "when")) {
			if (st->min_reports)
				return perr(ps, "condition 'when' given twice");
			used = parse_when(ps, tok + i, n - i, st);
		} else {
			return perr(ps, "unknown condition '%s' (expected "
				    "unless-responded, always, each-report, "
				    "when)", tok[i]);
		}
		if (used < 0)
			return -1;
		i += (size_t)used;
	}
	if (st->always && unless)
		return perr(ps, "'always' and 'unless-responded' contradict");
	if (st->each_report && st->min_reports)
		return perr(ps, "'each-report' cannot be combined with 'when'");
	return 0;
}

static int add_step(struct parser *ps, const struct policy_step *st)
{
	struct policy *p = ps->p;

	if (p->n_steps == p->cap_steps) {
		size_t cap = p->cap_steps ? p->cap_steps * 2 : 8;
		struct policy_step *v = realloc(p->steps, cap * sizeof(*v));

		if (!v)
			return perr(ps, "out of memory");
		p->steps = v;
		p->cap_steps = cap;
	}
	p->steps[p->n_steps++] = *st;
	return 0;
}

/* "after call": the step counts from the last call step before it.
 * Returns the words used (0 without "after"). */
static int parse_after(struct parser *ps, char **tok, size_t n, struct policy_step *st)
{
	const struct policy *p = ps->p;
	size_t i;

	if (strcmp(tok[0], "after") != 0)
		return 0;
	if (n < 2 || strcmp(tok[1], "call") != 0)
		return perr(ps, "after: expected 'after call OFFSET' (a step counts from the"
			    " moment a call was made)");
	for (i = p->n_steps; i > 0; i--) {
		const struct policy_step *c = &p->steps[i - 1];

		if (c->action == POLICY_CALL && !c->each_report && !c->min_reports)
			break;
	}
	if (i == 0)
		return perr(ps, "after call: no call step before this one (each-report and"
			    " 'when' calls do not count)");
	st->after_call = true;
	st->anchor = i - 1;
	return 2;
}

static int parse_step(struct parser *ps, char *rest)
{
	char *tok[MAX_TOKENS + 1], *save = NULL;
	struct policy_step st;
	size_t n = 0, skip;
	int used;

	memset(&st, 0, sizeof(st));
	st.line = ps->line;
	for (char *t = strtok_r(rest, " \t", &save); t;
	     t = strtok_r(NULL, " \t", &save)) {
		if (n == MAX_TOKENS)
			return perr(ps, "step: too many words");
		tok[n++] = t;
	}
	if (n == 0)
		return perr(ps, "step: missing offset");
	used = parse_after(ps, tok, n, &st);
	if (used < 0)
		return -1;
	skip = (size_t)used;
	if (n <= skip)
		return perr(ps, "step: missing offset");
	if (parse_offset(ps, tok[skip], &st.offset, "offset") < 0)
		return -1;
	used = parse_action(ps, tok + skip + 1, n - skip - 1, &st);
	if (used < 0 ||
	    parse_conditions(ps, tok + skip + 1 + used, n - skip - 1 - (size_t)used, &st) < 0)
		return -1;
	if (st.after_call && (st.each_report || st.min_reports))
		return perr(ps, "'after call' cannot be combined with each-report or when");
	return add_step(ps, &st);
}

static int set_key(struct parser *ps, const char *k, const char *v)
{
	static const char *const keys[] = { "category", "clock", "description" };
	struct policy *p = ps->p;
	unsigned i;

	for (i = 0; i < 3 && strcmp(k, keys[i]); i++)
		;
	if (i == 3)
		return perr(ps, "unknown key '%s' (expected category, clock, "
			    "description, step)", k);
	if (ps->seen & (1u << i))
		return perr(ps, "'%s' given twice", k);
	ps->seen |= 1u << i;
	if (i == 0) {
		if (!category_ok(v))
			return perr(ps, "bad category '%s' (lowercase letters, "
				    "digits and '-')", v);
		snprintf(p->category, sizeof(p->category), "%s", v);
	} else if (i == 1) {
		if (strcmp(v, "wall") && strcmp(v, "business"))
			return perr(ps, "unknown clock '%s' (expected wall, "
				    "business)", v);
		p->clock = v[0] == 'w' ? POLICY_CLOCK_WALL : POLICY_CLOCK_BUSINESS;
	} else {
		p->description = strdup(v);
		if (!p->description)
			return perr(ps, "out of memory");
	}
	return 0;
}

static char *trim(char *s)
{
	char *end;

	while (isspace((unsigned char)*s))
		s++;
	for (end = s + strlen(s); end > s && isspace((unsigned char)end[-1]); end--)
		;
	*end = '\0';
	return s;
}

static int parse_line(struct parser *ps, char *line)
{
	char *s, *eq;

	line[strcspn(line, "#")] = '\0';
	s = trim(line);
	if (*s == '\0')
		return 0;
	if (!strncmp(s, "step", 4) && (s[4] == '\0' || isspace((unsigned char)s[4])))
		return parse_step(ps, s + 4);
	eq = strchr(s, '=');
	if (!eq)
		return perr(ps, "expected 'key = value' or 'step OFFSET ACTION'");
	*eq = '\0';
	s = trim(s);
	if (*trim(eq + 1) == '\0')
		return perr(ps, "missing value for '%s'", s);
	return set_key(ps, s, trim(eq + 1));
}

static int parse_text(struct parser *ps, const char *text)
{
	char buf[LINE_MAX_LEN];

	for (const char *p = text; *p;) {
		size_t n = strcspn(p, "\n");

		ps->line++;
		if (n >= sizeof(buf))
			return perr(ps, "line too long (over %d bytes)",
				    LINE_MAX_LEN - 1);
		memcpy(buf, p, n);
		buf[n] = '\0';
		if (parse_line(ps, buf) < 0)
			return -1;
		p += n + (p[n] == '\n');
	}
	ps->line = 0;
	if (ps->p->category[0] == '\0')
		return perr(ps, "missing 'category = NAME'");
	if (ps->p->n_steps == 0)
		return perr(ps, "no steps (expected 'step OFFSET ACTION')");
	return 0;
}

struct policy *policy_parse(const char *name, const char *text, char *err,
			    size_t errlen)
{
	struct parser ps = { NULL, name, 0, 0, err, errlen };

	ps.p = calloc(1, sizeof(*ps.p));
	if (!ps.p || !(ps.p->path = strdup(name))) {
		free(ps.p);
		perr(&ps, "out of memory");
		return NULL;
	}
	if (parse_text(&ps, text) < 0) {
		policy_free(ps.p);
		return NULL;
	}
	return ps.p;
}

static char *read_text(const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	char *buf;
	size_t n;

	if (!f) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	buf = malloc(FILE_MAX_LEN + 1);
	if (!buf) {
		snprintf(err, errlen, "%s: out of memory", path);
		fclose(f);
		return NULL;
	}
	n = fread(buf, 1, FILE_MAX_LEN + 1, f);
	if (ferror(f) || n > FILE_MAX_LEN || memchr(buf, '\0', n)) {
		snprintf(err, errlen, "%s: %s", path, ferror(f) ? strerror(errno)
			 : n > FILE_MAX_LEN ? "file too large" : "binary data");
		free(buf);
		fclose(f);
		return NULL;
	}
	fclose(f);
	buf[n] = '\0';
	return buf;
}

struct policy *policy_load(const char *path, char *err, size_t errlen)
{
	char *text = read_text(path, err, errlen);
	struct policy *p;

	if (!text)
		return NULL;
	p = policy_parse(path, text, err, errlen);
	free(text);
	return p;
}

void policy_free(struct policy *p)
{
	if (!p)
		return;
	free(p->path);
	free(p->description);
	free(p->steps);
	free(p);
}

const char *policy_path(const struct policy *p)
{
	return p->path;
}

const char *policy_category(const struct policy *p)
{
	return p->category;
}

const char *policy_description(const struct policy *p)
{
	return p->description ? p->description : "";
}

enum policy_clock policy_clock(const struct policy *p)
{
	return p->clock;
}

size_t policy_n_steps(const struct policy *p)
{
	return p->n_steps;
}

const struct policy_step *policy_step(const struct policy *p, size_t i)
{
	return i < p->n_steps ? &p->steps[i] : NULL;
}

/* ---- formatting ---- */

void policy_step_describe(const struct policy_step *st, char *buf, size_t len)
{
	char sc[64];

	if (st->action == POLICY_NOTIFY) {
		snprintf(buf, len, "notify %s", st->tmpl);
	} else if (st->action == POLICY_SUSPEND) {
		policy_scopes_format(st->scopes, sc, sizeof(sc));
		snprintf(buf, len, "suspend %s", sc);
	} else {
		snprintf(buf, len, "%s", policy_action_name(st->action));
	}
}

static void format_step(const struct policy_step *st, FILE *out)
{
	char off[CAL_DURATION_STRLEN], win[CAL_DURATION_STRLEN], what[128];

	calendar_duration_format(st->offset, off, sizeof(off));
	policy_step_describe(st, what, sizeof(what));
	fprintf(out, "step %s%-6s %s", st->after_call ? "after call " : "", off, what);
	if (st->each_report)
		fprintf(out, " each-report");
	if (st->min_reports) {
		calendar_duration_format(st->window, win, sizeof(win));
		fprintf(out, " when reports >= %u within %s", st->min_reports, win);
	}
	if (st->always)
		fprintf(out, " always");
	fputc('\n', out);
}

static void format_head(const struct policy *p, FILE *out)
{
	fprintf(out, "category = %s\n", p->category);
	fprintf(out, "clock = %s\n",
		p->clock == POLICY_CLOCK_WALL ? "wall" : "business");
}

static int format_end(const struct policy *p, FILE *out)
{
	for (size_t i = 0; i < p->n_steps; i++)
		format_step(&p->steps[i], out);
	return ferror(out) || fflush(out) != 0 ? -1 : 0;
}

int policy_format(const struct policy *p, FILE *out)
{
	fprintf(out, "# %s\n", p->path);
	format_head(p, out);
	if (p->description)
		fprintf(out, "description = %s\n", p->description);
	return format_end(p, out);
}

int policy_format_ladder(const struct policy *p, FILE *out)
{
	format_head(p, out);
	return format_end(p, out);
}

/* ---- policy sets ---- */

static int is_policy_file(const struct dirent *d)
{
	size_t n = strlen(d->d_name);

	/* Hidden files and editor leftovers (x.policy~, .x.policy.swp) are
	 * not policies. */
	return d->d_name[0] != '.' && n > 7 &&
	       strcmp(d->d_name + n - 7, ".policy") == 0;
}

void policy_set_free(struct policy_set *set)
{
	if (!set)
		return;
	for (size_t i = 0; i < set->n; i++)
		policy_free(set->v[i]);
	free(set->v);
	free(set);
}

static int set_add(struct policy_set *set, const char *dir, const char *file,
		   char *err, size_t errlen)
{
	char path[4096];
	struct policy *p;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	p = policy_load(path, err, errlen);
	if (!p)
		return -1;
	for (size_t i = 0; i < set->n; i++) {
		if (strcmp(set->v[i]->category, p->category) == 0) {
			snprintf(err, errlen, "%s: category '%s' already "
				 "defined in %s", path, p->category,
				 set->v[i]->path);
			policy_free(p);
			return -1;
		}
	}
	set->v[set->n++] = p;
	return 0;
}

struct policy_set *policy_set_load_dir(const char *dir, char *err,
				       size_t errlen)
{
	struct dirent **names = NULL;
	struct policy_set *set;
	int n = scandir(dir, &names, is_policy_file, alphasort), rc = 0;

	if (n < 0) {
		snprintf(err, errlen, "%s: %s", dir, strerror(errno));
		return NULL;
	}
	set = calloc(1, sizeof(*set));
	if (set)
		set->v = calloc(n ? (size_t)n : 1, sizeof(*set->v));
	if (!set || !set->v) {
		snprintf(err, errlen, "%s: out of memory", dir);
		rc = -1;
	} else if (n == 0) {
		snprintf(err, errlen, "%s: no *.policy files", dir);
		rc = -1;
	}
	for (int i = 0; i < n; i++) {
		if (rc == 0)
			rc = set_add(set, dir, names[i]->d_name, err, errlen);
		free(names[i]);
	}
	free(names);
	if (rc < 0) {
		policy_set_free(set);
		return NULL;
	}
	return set;
}

size_t policy_set_count(const struct policy_set *set)
{
	return set->n;
}

const struct policy *policy_set_at(const struct policy_set *set, size_t i)
{
	return i < set->n ? set->v[i] : NULL;
}

const struct policy *policy_set_find(const struct policy_set *set,
				     const char *category)
{
	for (size_t i = 0; i < set->n; i++)
		if (strcmp(set->v[i]->category, category) == 0)
			return set->v[i];
	return NULL;
}

/* ---- due times ---- */

static int step_base(const struct policy *p, const struct calendar *cal,
		     time_t from, long offset, time_t *out)
{
	if (p->clock == POLICY_CLOCK_BUSINESS)
		return calendar_add_working(cal, from, offset, out);
	*out = from + offset;
	return 0;
}

/* Reports r with t - window <= r <= t (r ascending). */
static size_t reports_within(const time_t *r, size_t n, time_t t, long window)
{
	size_t lo = 0, hi = n, k = 0;

	while (lo < hi) { /* first r >= t - window */
		size_t mid = lo + (hi - lo) / 2;

		if (r[mid] < t - window)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (size_t i = lo; i < n && r[i] <= t; i++)
		k++;
	return k;
}

/* The first instant >= base with min_reports inside the window: base
 * itself, or the arrival of some later report. false if none yet. */
static bool threshold_due(const struct policy_step *st, const time_t *r,
			  size_t n, time_t base, time_t *due)
{
	if (reports_within(r, n, base, st->window) >= st->min_reports) {
		*due = base;
		return true;
	}
	for (size_t i = 0; i < n; i++) {
		if (r[i] > base &&
		    reports_within(r, n, r[i], st->window) >= st->min_reports) {
			*due = r[i];
			return true;
		}
	}
	return false;
}

static void settle(const struct policy_step *st, const struct policy_case *c,
		   struct policy_due *d)
{
	if (st->always || !c->responded)
		return;
	if (d->state == POLICY_DUE_WAITING || d->due >= c->responded_at)
		d->state = POLICY_DUE_SKIPPED;
}

/* An "after call" step: offset from the later of the call step's due
 * time and the moment the call was recorded; waits while the call does. */
static int plan_after_call(const struct policy *p, const struct calendar *cal,
			   const struct policy_case *c, const struct policy_due *call,
			   struct policy_due *d)
{
	const struct policy_step *st = &p->steps[d->step];
	time_t from = call->due;

	if (call->state == POLICY_DUE_WAITING) {
		d->state = POLICY_DUE_WAITING;
		d->due = 0;
		return 0;
	}
	if (c->called_at > from)
		from = c->called_at;
	if (step_base(p, cal, from, st->offset, &d->due) < 0)
		return -1;
	settle(st, c, d);
	return 0;
}

static int plan_step(const struct policy *p, const struct calendar *cal,
		     const struct policy_case *c, const time_t *r, size_t nr,
		     size_t i, struct policy_due *out, size_t *n, const size_t *first)
{
	const struct policy_step *st = &p->steps[i];
	time_t base;

	if (st->after_call) {
		struct policy_due *d = &out[(*n)++];

		*d = (struct policy_due){ .step = i, .state = POLICY_DUE_PENDING };
		return plan_after_call(p, cal, c, &out[first[st->anchor]], d);
	}
	for (size_t k = 0; k < (st->each_report ? nr : 1); k++) {
		struct policy_due *d = &out[(*n)++];

		d->step = i;
		d->report = k;
		d->state = POLICY_DUE_PENDING;
		if (step_base(p, cal, st->each_report ? r[k] : c->opened,
			      st->offset, &base) < 0)
			return -1;
		d->due = base;
		if (st->min_reports && !threshold_due(st, r, nr, base, &d->due)) {
			d->due = 0;
			d->state = POLICY_DUE_WAITING;
		}
		settle(st, c, d);
	}
	return 0;
}

static int due_cmp(const void *a, const void *b)
{
	const struct policy_due *x = a, *y = b;
	bool xw = x->state == POLICY_DUE_WAITING, yw = y->state == POLICY_DUE_WAITING;

	if (xw != yw)
		return xw ? 1 : -1;
	if (!xw && x->due != y->due)
		return x->due < y->due ? -1 : 1;
	if (x->step != y->step)
		return x->step < y->step ? -1 : 1;
	return x->report < y->report ? -1 : x->report > y->report;
}

static bool plan_args_ok(const struct policy *p, const struct calendar *cal,
			 const struct policy_case *c)
{
	/* Before 1970 or after 9999 is a caller's bug, and would let
	 * offsets overflow time_t. */
	const time_t max = 253402300799LL;

	if ((p->clock == POLICY_CLOCK_BUSINESS && !cal) || c->opened < 0 ||
	    c->opened > max || c->called_at < 0 || c->called_at > max)
		return false;
	for (size_t i = 0; i < c->n_reports; i++)
		if (c->reports[i] < 0 || c->reports[i] > max ||
		    (i > 0 && c->reports[i] < c->reports[i - 1]))
			return false;
	return true;
}

struct policy_plan *policy_plan_new(const struct policy *p,
				    const struct calendar *cal,
				    const struct policy_case *c)
{
	const time_t *r = c->n_reports ? c->reports : &c->opened;
	size_t nr = c->n_reports ? c->n_reports : 1, total = 0, *first;
	struct policy_plan *plan;

	if (!plan_args_ok(p, cal, c)) {
		errno = EINVAL;
		return NULL;
	}
	for (size_t i = 0; i < p->n_steps; i++)
		total += p->steps[i].each_report ? nr : 1;
	plan = calloc(1, sizeof(*plan));
	first = calloc(p->n_steps ? p->n_steps : 1, sizeof(*first));
	if (!plan || !first || !(plan->items = calloc(total, sizeof(*plan->items)))) {
		free(plan);
		free(first);
		errno = ENOMEM;
		return NULL;
	}
	/* Steps in file order, so an "after call" step finds its call's due
	 * time (first[i]: where step i's items start) before the sort. */
	for (size_t i = 0; i < p->n_steps; i++) {
		first[i] = plan->n;
		if (plan_step(p, cal, c, r, nr, i, plan->items, &plan->n, first) < 0) {
			policy_plan_free(plan);
			free(first);
			return NULL;
		}
	}
	free(first);
	qsort(plan->items, plan->n, sizeof(*plan->items), due_cmp);
	return plan;
}

void policy_plan_free(struct policy_plan *plan)
{
	if (!plan)
		return;
	free(plan->items);
	free(plan);
}

#include "metrics_text.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void mtext_init(struct mtext *m)
{
	memset(m, 0, sizeof(*m));
}

void mtext_free(struct mtext *m)
{
	free(m->buf);
	mtext_init(m);
}

char *mtext_take(struct mtext *m, size_t *len)
{
	char *out = m->failed ? NULL : m->buf;

	if (!out) {
		mtext_free(m);
		return NULL;
	}
	if (len)
		*len = m->len;
	mtext_init(m);
	return out;
}

void mtext_rewind(struct mtext *m, size_t mark)
{
	if (mark < m->len) {
		m->len = mark;
		m->buf[mark] = '\0';
	}
}

static bool reserve(struct mtext *m, size_t more)
{
	size_t cap = m->cap ? m->cap : 4096;
	char *b;

	if (m->failed)
		return false;
	while (cap - m->len <= more) /* room for the NUL too */
		cap *= 2;
	if (cap == m->cap)
		return true;
	b = realloc(m->buf, cap);
	if (!b) {
		m->failed = true;
		return false;
	}
	m->buf = b;
	m->cap = cap;
	return true;
}

static void put(struct mtext *m, const char *s, size_t n)
{
	if (!reserve(m, n))
		return;
	memcpy(m->buf + m->len, s, n);
	m->len += n;
	m->buf[m->len] = '\0';
}

static void __attribute__((format(printf, 2, 3))) putf(struct mtext *m, const char *fmt, ...)
{
	char small[128];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < 0) {
		m->failed = true;
		return;
	}
	if ((size_t)n < sizeof(small)) {
		put(m, small, (size_t)n);
		return;
	}
	if (!reserve(m, (size_t)n))
		return;
	va_start(ap, fmt);
	vsnprintf(m->buf + m->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	m->len += (size_t)n;
}

/* The format's escapes: backslash and newline everywhere, the double
 * quote too in label values (quoted). */
static void put_escaped(struct mtext *m, const char *s, bool quote)
{
	for (const char *p = s; *p; p++) {
		if (*p == '\\')
			put(m, "\\\\", 2);
		else if (*p == '\n')
			put(m, "\\n", 2);
		else if (*p == '"' && quote)
			put(m, "\\\"", 2);
		else
			put(m, p, 1);
	}
}

void mtext_family(struct mtext *m, const char *name, const char *type, const char *help)
{
	putf(m, "# HELP %s ", name);
	put_escaped(m, help, false);
	putf(m, "\n# TYPE %s %s\n", name, type);
}

/* The shortest form that reads back as the same double: "0.1", not
 * "0.10000000000000001"; whole numbers exact up to 2^53. */
static void put_shortest(struct mtext *m, double v)
{
	char b[40];

	snprintf(b, sizeof(b), "%.15g", v);
	if (strtod(b, NULL) != v)
		snprintf(b, sizeof(b), "%.17g", v);
	put(m, b, strlen(b));
}

static void put_value(struct mtext *m, double v)
{
	if (isnan(v))
		put(m, "NaN", 3);
	else if (isinf(v))
		put(m, v > 0 ? "+Inf" : "-Inf", 4);
	else
		put_shortest(m, v);
}

void mtext_sample(struct mtext *m, const char *name, const struct mlabel *labels,
		  size_t n_labels, double value)
{
	put(m, name, strlen(name));
	for (size_t i = 0; i < n_labels; i++) {
		putf(m, "%c%s=\"", i ? ',' : '{', labels[i].name);
		put_escaped(m, labels[i].value, true);
		put(m, "\"", 1);
	}
	put(m, n_labels ? "} " : " ", n_labels ? 2 : 1);
	put_value(m, value);
	put(m, "\n", 1);
}

void mtext_single(struct mtext *m, const char *name, const char *type, const char *help,
		  double value)
{
	mtext_family(m, name, type, help);
	mtext_sample(m, name, NULL, 0, value);
}

void mhist_init(struct mhist *h, const double *bounds, size_t n_bounds)
{
	memset(h, 0, sizeof(*h));
	h->bounds = bounds;
	h->n_bounds = n_bounds < MHIST_MAX ? n_bounds : MHIST_MAX;
}

void mhist_observe(struct mhist *h, double value)
{
	size_t i = 0;

	while (i < h->n_bounds && value > h->bounds[i])
		i++;
	h->counts[i]++;
	h->count++;
	h->sum += value;
}

void mhist_merge(struct mhist *to, const struct mhist *from)
{
	for (size_t i = 0; i <= to->n_bounds; i++)
		to->counts[i] += from->counts[i];
	to->count += from->count;
	to->sum += from->sum;
}

void mhist_reset(struct mhist *h)
{
	mhist_init(h, h->bounds, h->n_bounds);
}

void mtext_histogram(struct mtext *m, const char *name, const char *help,
		     const struct mhist *h)
{
	char le[32], series[128];
	uint64_t cumulative = 0;

	mtext_family(m, name, "histogram", help);
	snprintf(series, sizeof(series), "%s_bucket", name);
	for (size_t i = 0; i <= h->n_bounds; i++) {
		struct mlabel l = { "le", le };
		cumulative += h->counts[i];
		if (i < h->n_bounds)
			snprintf(le, sizeof(le), "%g", h->bounds[i]);
		else
			strcpy(le, "+Inf");
		mtext_sample(m, series, &l, 1, (double)cumulative);
	}
	putf(m, "%s_sum ", name);
	put_value(m, h->sum);
	putf(m, "\n%s_count %llu\n", name, (unsigned long long)h->count);
}

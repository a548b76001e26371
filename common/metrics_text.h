/* metrics_text.c: Prometheus text exposition (format 0.0.4) into a growing
 * buffer: "# HELP"/"# TYPE" lines, samples with escaped label values, and
 * fixed-bucket histograms. */
#ifndef CORDON_METRICS_TEXT_H
#define CORDON_METRICS_TEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct mtext {
	char *buf;
	size_t len, cap;
	bool failed;  /* out of memory: the whole text is void */
};

/* A label: name=value; the value is escaped (\\, \", \n). */
struct mlabel {
	const char *name, *value;
};

void mtext_init(struct mtext *m);
void mtext_free(struct mtext *m);
/* The text (NUL-terminated), now the caller's to free(); NULL when a
 * write failed. The mtext is empty after. */
char *mtext_take(struct mtext *m, size_t *len);

/* Drops what was written after mark (an earlier m->len). */
void mtext_rewind(struct mtext *m, size_t mark);
/* type: "counter", "gauge" or "histogram". */
void mtext_family(struct mtext *m, const char *name, const char *type, const char *help);
void mtext_sample(struct mtext *m, const char *name, const struct mlabel *labels,
		  size_t n_labels, double value);
/* A family with one unlabelled sample. */
void mtext_single(struct mtext *m, const char *name, const char *type, const char *help,
		  double value);

/* A histogram with fixed upper bounds (ascending, at most MHIST_MAX; +Inf
 * is implied). Counts per bucket, not cumulative: cumulated when written. */
#define MHIST_MAX 16

struct mhist {
	const double *bounds;
	size_t n_bounds;
	uint64_t counts[MHIST_MAX + 1]; /* the last: above every bound */
	uint64_t count;
	double sum;
};

void mhist_init(struct mhist *h, const double *bounds, size_t n_bounds);
void mhist_observe(struct mhist *h, double value);
/* Adds every observation of from into to (same bounds). */
void mhist_merge(struct mhist *to, const struct mhist *from);
void mhist_reset(struct mhist *h);
void mtext_histogram(struct mtext *m, const char *name, const char *help,
		     const struct mhist *h);

#endif

/* Unit tests for the abuse report parser (controller/report_*.c): every
 * message of tests/reports/ with the fields a later ingest relies on, the
 * bounds (size cap, nesting, evidence), and configuration files with
 * mistakes (each refused naming file:line). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <glib.h>

#include "report_parse.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define ORIGINAL_SHA "d44de551960cb817d4e736bad7886e7c881a26545ca8cf655afda53f10f0e2be"

static const char *srcdir(void)
{
	const char *d = getenv("CORDON_SRCDIR");

	return d ? d : ".";
}

static struct report_config *shipped_config(void)
{
	char types[4096], rules[4096], err[512];
	struct report_config *cfg;

	snprintf(types, sizeof(types), "%s/conf/report-types.conf", srcdir());
	snprintf(rules, sizeof(rules), "%s/conf/report-rules.conf", srcdir());
	cfg = report_config_load(types, rules, err, sizeof(err));
	if (!cfg)
		fail_msg("%s", err);
	return cfg;
}

static char *read_corpus(const char *name, size_t *len)
{
	char path[4200];
	FILE *f;
	char *buf = malloc(1 << 20);

	snprintf(path, sizeof(path), "%s/tests/reports/%s", srcdir(), name);
	f = fopen(path, "rb");
	if (!f || !buf)
		fail_msg("cannot read %s", path);
	*len = fread(buf, 1, 1 << 20, f);
	fclose(f);
	return buf;
}

/* ---- the corpus ---- */

struct want {
	const char *file;
	int rc;
	const char *format, *type, *category;
	const char *sources; /* "ip@unix ip@unix" */
	size_t n_urls;
	const char *message_id, *report_id, *sha256, *domain, *subject;
	const char *note;    /* a substring of the note */
	int has_evidence;
};

static const struct want corpus[] = {
	{ "arf-abuse.eml", 0, "arf", "abuse", "spam", "192.0.2.1@1110304800", 2,
	  "arf-abuse@example.com", NULL, ORIGINAL_SHA, "example.net", "FW: Earn money",
	  "ARF feedback report", 1 },
	/* the same original, CRLF line ends, RFC 2047 Q subject */
	{ "arf-abuse-crlf.eml", 0, "arf", "abuse", "spam", "192.0.2.1@1110304800", 2,
	  "arf-abuse-2@example.org", NULL, ORIGINAL_SHA, "example.net",
	  "Abuse report \u2013 Earn money", "ARF feedback report", 1 },
	{ "arf-headers-only.eml", 0, "arf", "fraud", "phishing", "198.51.100.23@1110304800", 2,
	  "arf-fraud@example.com", NULL, NULL, "bank-login.example", "Fraud report", "ARF", 1 },
	/* base64 feedback part, IPv6 source normalised, ISO-8859-1 B subject */
	{ "arf-base64-ipv6.eml", 0, "arf", "virus", "virus", "2001:db8::17@1736846100", 2,
	  "arf-virus@example.com", NULL, ORIGINAL_SHA, "example.net", "Viru\u00ed report", "ARF", 1 },
	{ "arf-forwarded.eml", 0, "arf", "abuse", "spam", "192.0.2.77@1110304800", 2,
	  "fwd-1@cloud.example", NULL, ORIGINAL_SHA, "example.net",
	  "Fwd: r\u00e9clamation spam", "ARF", 1 },
	{ "arf-missing-original.eml", 0, "arf", "abuse", "spam", "192.0.2.1@1110318036", 2,
	  "arf-noorig@example.com", NULL, "", "example.net", "Abuse report",
	  "ARF without the original message", 0 },
	{ "arf-missing-fields.eml", 0, "arf", NULL, "other", "", 0, "arf-nofields@example.com",
	  NULL, ORIGINAL_SHA, NULL, "Abuse report", "without its message/feedback-report part", 1 },
	/* found by fuzz_report_parse: an empty part reached GMime as NULL */
	{ "arf-empty-fields.eml", 0, "arf", NULL, "other", "", 0, "arf-emptyfields@example.com",
	  NULL, ORIGINAL_SHA, NULL, "Abuse report", "message/feedback-report part unreadable", 1 },
	{ "arf-unmapped-type.eml", 0, "arf", "brand-new-type", "other", "192.0.2.1@1110304800", 2,
	  "arf-unmapped@example.com", NULL, ORIGINAL_SHA, "example.net", "Report",
	  "'brand-new-type' not in the mapping: default category other", 1 },
	{ "xarf4-attachment.eml", 0, "xarf-v4", "content/phishing", "phishing",
	  "203.0.113.5@1705329025", 1, "xarf4-att@cert.example",
	  "5f5b1d1a-8c8b-4b0c-9d4e-2b6a1c9f7e01", "", NULL, NULL, "X-ARF v4 JSON report", 1 },
	{ "xarf4-body.eml", 0, "xarf-v4", "connection/login_attack", "outbound-attack",
	  "2001:db8:abcd:12::1@1706753045", 0, "xarf4-body@sensors.example",
	  "b0d7a5c2-0000-4000-8000-000000000002", "", NULL, NULL, "X-ARF v4", 1 },
	{ "xarf4-two-reports.eml", 0, "xarf-v4", "messaging/spam", "spam",
	  "192.0.2.10@1709287200 192.0.2.11@1709290800", 0, "xarf4-two@trap.example", "r-1", "",
	  NULL, NULL, "several in one mail", 0 },
	{ "xarf3.eml", 0, "xarf-v3", "activity/loginattack", "outbound-attack",
	  "198.51.100.200@1597140764", 0, "xarf3@isp.example", "v3-0001", "", NULL, NULL,
	  "X-ARF v3 JSON report", 1 },
	{ "xarf02.eml", 0, "xarf-0.2", "abuse/login-attack", "outbound-attack",
	  "192.0.2.44@1251971901", 0, "xarf02-1@reporter.example", "20090903-0042@reporter.example",
	  "", NULL, NULL, "X-ARF 0.2 YAML report", 1 },
	/* the Received header's relay (203.0.113.250) is not a source */
	{ "plain-spamcop.eml", 0, "plain", "spamcop", "spam", "198.51.100.61@1712763000", 3,
	  "rid_7455123456@msgid.spamcop.net", NULL, "", NULL, NULL, "rule [spamcop] matched", 1 },
	/* latin-1 quoted-printable, defanged address and URL, IPv6; not the
	 * version number 1.2.3.4.5 */
	{ "plain-cert.eml", 0, "plain", "compromise", "compromise",
	  "198.51.100.7@1714629600 198.51.100.8@1714629600 2001:db8:1::5@1714629600", 1,
	  "cert-2024-0502-17@cert-ex.example", NULL, "", NULL, NULL, "rule [compromise]", 1 },
	{ "plain-phishing.eml", 0, "plain", "phishing", "phishing", "203.0.113.80@1717225200", 1,
	  "takedown-881@brandprotect.example", NULL, "", NULL,
	  "Urgent: phishing site impersonating \u00dcberbank", "rule [phishing]", 1 },
	{ "plain-wrong-charset.eml", 0, "plain", "spam", "spam",
	  "192.0.2.150@1719828000 192.0.2.151@1719828000", 0, "charset-1@isp.example", NULL, "",
	  NULL, NULL, "charset 'x-no-such-charset' unknown", 1 },
	{ "broken-mime.eml", 0, "plain", "attack", "outbound-attack", "192.0.2.160@1719914400", 0,
	  "broken-1@isp.example", NULL, "", NULL, NULL, "rule [attack]", 1 },
	/* found by fuzz_report_parse: a part with no content at all */
	{ "empty-body.eml", 0, "plain", "default", "other", "", 0, "empty-1@isp.example", NULL, "",
	  NULL, "report", "no source address found", 0 },
	{ "nested-deep.eml", -1, "not-mail", NULL, "", "", 0, NULL, NULL, "", NULL, "nested",
	  "nested deeper than 16 levels", 0 },
	{ "garbage.bin", -1, "not-mail", NULL, "", "", 0, NULL, NULL, "", NULL, NULL, "not a mail", 0 },
	{ "not-mail.txt", -1, "not-mail", NULL, "", "", 0, NULL, NULL, "", NULL, NULL, "not a mail", 0 },
};

static void sources_text(const struct report_parsed *r, char *buf, size_t len)
{
	size_t off = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < r->n_sources && off < len; i++)
		off += (size_t)snprintf(buf + off, len - off, "%s%s@%lld", i ? " " : "",
					r->sources[i].addr, (long long)r->sources[i].at);
}

static void assert_str_or_null(const char *field, const char *want, const char *got)
{
	if (!want && !got)
		return;
	if (!want || !got || strcmp(want, got) != 0)
		fail_msg("%s: want '%s', got '%s'", field, want ? want : "(null)", got ? got : "(null)");
}

static void check_one(const struct report_config *cfg, const struct want *w)
{
	struct report_parsed r;
	char err[512], sources[1024];
	size_t len;
	char *msg = read_corpus(w->file, &len);
	int rc = report_parse(msg, len, cfg, &r, err, sizeof(err));

	print_message("%s: %s\n", w->file, r.note ? r.note : "(no note)");
	assert_int_equal(rc, w->rc);
	assert_string_equal(report_format_name(r.format), w->format);
	assert_str_or_null("type", w->type, r.type);
	assert_string_equal(r.category, w->category);
	sources_text(&r, sources, sizeof(sources));
	assert_string_equal(sources, w->sources);
	assert_int_equal(r.n_urls, w->n_urls);
	assert_str_or_null("message_id", w->message_id, r.message_id);
	assert_str_or_null("report_id", w->report_id, r.report_id);
	if (w->sha256)
		assert_string_equal(r.original_sha256, w->sha256);
	else
		assert_int_equal(strlen(r.original_sha256), 64);
	assert_str_or_null("reported_domain", w->domain, r.reported_domain);
	if (w->subject)
		assert_str_or_null("subject", w->subject, r.subject);
	if (!r.note || !strstr(r.note, w->note))
		fail_msg("%s: note '%s' lacks '%s'", w->file, r.note ? r.note : "", w->note);
	assert_int_equal(r.evidence != NULL && r.evidence[0] != '\0', w->has_evidence);
	report_parsed_free(&r);
	free(msg);
}

static void test_corpus(void **state)
{
	struct report_config *cfg = shipped_config();

	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(corpus); i++)
		check_one(cfg, &corpus[i]);
	report_config_free(cfg);
}

/* Every corpus file is in the table: a new sample gets its expectations. */
static void test_corpus_complete(void **state)
{
	char cmd[4200], name[256];
	size_t n = 0;
	FILE *p;

	(void)state;
	snprintf(cmd, sizeof(cmd), "ls %s/tests/reports", srcdir());
	p = popen(cmd, "r");
	assert_non_null(p);
	while (fgets(name, sizeof(name), p)) {
		int listed = 0;

		name[strcspn(name, "\n")] = '\0';
		for (size_t i = 0; i < ARRAY_LEN(corpus); i++)
			listed |= strcmp(corpus[i].file, name) == 0;
		if (!listed)
			fail_msg("tests/reports/%s has no row in the corpus table", name);
		n++;
	}
	pclose(p);
	assert_int_equal(n, ARRAY_LEN(corpus));
}

/* ---- bounds ---- */

/* A plain mail of about size bytes: an address at the start, another at
 * the end. */
static char *big_mail(size_t size, size_t *len)
{
	static const char head[] = "From: a@isp.example\nDate: Mon, 01 Jul 2024 10:00:00 +0000\n"
				   "Subject: spam\n\nspam from 192.0.2.1\n";
	static const char tail[] = "\nand from 192.0.2.2\n";
	char *m = malloc(size + 1);

	assert_non_null(m);
	memcpy(m, head, sizeof(head) - 1);
	for (size_t i = sizeof(head) - 1; i < size; i++)
		m[i] = (i % 64 == 63) ? '\n' : 'x';
	memcpy(m + size - (sizeof(tail) - 1), tail, sizeof(tail) - 1);
	*len = size;
	return m;
}

static void test_size_cap(void **state)
{
	struct report_config *cfg = shipped_config();
	struct report_parsed r;
	char err[256];
	size_t len;
	char *m = big_mail(3 * 1024 * 1024, &len);

	(void)state;
	assert_int_equal(report_parse(m, len, cfg, &r, err, sizeof(err)), 0);
	assert_string_equal(report_format_name(r.format), "plain");
	assert_non_null(strstr(r.note, "message larger than 1048576 bytes: parsed on its first 1048576"));
	/* the address beyond the cap is not seen */
	assert_int_equal(r.n_sources, 1);
	assert_string_equal(r.sources[0].addr, "192.0.2.1");
	/* the evidence is bounded too */
	assert_true(strlen(r.evidence) <= REPORT_EVIDENCE_MAX_DEFAULT);
	assert_non_null(strstr(r.note, "evidence cut to"));
	report_parsed_free(&r);
	free(m);
	report_config_free(cfg);
}

/* Nesting exactly at the limit parses; one level more is refused. */
static void test_depth_limit(void **state)
{
	struct report_config *cfg = report_config_new();
	struct report_parsed r;
	char err[256], msg[8192];
	size_t off;

	(void)state;
	for (unsigned depth = cfg->max_depth - 1; depth <= cfg->max_depth; depth++) {
		off = (size_t)snprintf(msg, sizeof(msg), "From: a@b.example\nSubject: x\nMIME-Version: 1.0\n");
		for (unsigned i = 0; i < depth; i++)
			off += (size_t)snprintf(msg + off, sizeof(msg) - off,
						"Content-Type: multipart/mixed; boundary=\"b%u\"\n\n--b%u\n", i, i);
		off += (size_t)snprintf(msg + off, sizeof(msg) - off, "Content-Type: text/plain\n\nfrom 192.0.2.9\n");
		assert_int_equal(report_parse(msg, off, cfg, &r, err, sizeof(err)),
				 depth < cfg->max_depth ? 0 : -1);
		if (depth == cfg->max_depth)
			assert_non_null(strstr(err, "nested deeper than 16 levels"));
		else
			assert_int_equal(r.n_sources, 1);
		report_parsed_free(&r);
	}
	report_config_free(cfg);
}

static void test_empty_and_nul(void **state)
{
	struct report_config *cfg = report_config_new();
	struct report_parsed r;
	char err[256];
	static const char nul_header[] = "From: a@b\0\x01\x02 binary\nSubject: x\n\nbody\n";

	(void)state;
	assert_int_equal(report_parse("", 0, cfg, &r, err, sizeof(err)), -1);
	assert_int_equal(r.format, REPORT_NOT_MAIL);
	report_parsed_free(&r);
	assert_int_equal(report_parse(nul_header, sizeof(nul_header) - 1, cfg, &r, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "not a mail"));
	report_parsed_free(&r);
	report_config_free(cfg);
}

/* Found by fuzz_report_parse: input quoted in the note (a charset name
 * cut at 32 bytes) split a UTF-8 character, and the result had no JSON. */
static void test_note_stays_utf8(void **state)
{
	static const char mail[] =
		"From: a@b.example\nSubject: x\nMIME-Version: 1.0\n"
		"Content-Type: text/plain; charset=\"utf impersona\xc3\xb1\xc3\xb1\xc3\xb1\xc3\xb1"
		"\xc3\xb1\xc3\xb1\xc3\xb1\xc3\xb1\xc3\xb1\xc3\xb1\xc3\xb1\"\n\nspam from 192.0.2.3\n";
	struct report_config *cfg = report_config_new();
	struct report_parsed r;
	char err[256];
	json_t *j;

	(void)state;
	assert_int_equal(report_parse(mail, sizeof(mail) - 1, cfg, &r, err, sizeof(err)), 0);
	assert_non_null(strstr(r.note, "unknown or wrong for the text"));
	j = report_parsed_json(&r);
	assert_non_null(j);
	json_decref(j);
	report_parsed_free(&r);
	report_config_free(cfg);
}

/* ---- configuration ---- */

static char *write_temp(const char *text)
{
	char *path = strdup("/tmp/test_report_parse.XXXXXX");
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	return path;
}

struct bad_conf {
	int is_rules;
	const char *text;
	const char *want; /* substring of the error, after "file:" */
};

static const struct bad_conf bad_confs[] = {
	{ 0, "[arf]\nabuse = Spam!\n", ":2: category 'Spam!' is not a policy name" },
	{ 0, "[arf]\nabuse = spam\nABUSE = virus\n", ":3: type 'ABUSE' mapped twice in [arf]" },
	{ 0, "[dmarc]\nx = spam\n", ":2: unknown key 'x' in [dmarc]" },
	{ 0, "[arf\nabuse = spam\n", ":1: syntax error" },
	{ 1, "[r1]\nsubject = (unclosed\ncategory = spam\n", ":2: rule [r1] subject: bad regular expression" },
	{ 1, "[r1]\nsubject = spam\ncolour = red\n", ":3: unknown key 'colour' in rule [r1]" },
	{ 1, "[r1]\nsubject = spam\n", ": rule [r1] needs a category" },
	{ 1, "[r1]\ncategory = spam\n", ": rule [r1] needs a category and at least one of" },
	{ 1, "[r1]\nfrom = a\ncategory = spam\n[r2]\nfrom = b\ncategory = spam\n[r1]\nbody = c\n",
	  ":8: rule [r1] appears twice" },
	{ 1, "subject = x\n", ":1: 'subject' outside a [rule] section" },
};

static void test_bad_config(void **state)
{
	char err[512];

	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(bad_confs); i++) {
		char *path = write_temp(bad_confs[i].text);
		struct report_config *cfg = bad_confs[i].is_rules
						    ? report_config_load(NULL, path, err, sizeof(err))
						    : report_config_load(path, NULL, err, sizeof(err));

		if (cfg)
			fail_msg("case %zu accepted: %s", i, bad_confs[i].text);
		if (strncmp(err, path, strlen(path)) != 0 || !strstr(err, bad_confs[i].want))
			fail_msg("case %zu: error '%s' lacks '%s%s'", i, err, path, bad_confs[i].want);
		unlink(path);
		free(path);
	}
	assert_null(report_config_load("/nonexistent/report-types.conf", NULL, err, sizeof(err)));
	assert_string_equal(err, "/nonexistent/report-types.conf: No such file or directory");
}

/* The first matching rule wins; every pattern of a rule must match. */
static void test_rules_order(void **state)
{
	static const char rules[] =
		"[both]\nfrom = @cert\\.example\nsubject = botnet\ncategory = compromise\n"
		"[any-cert]\nfrom = @cert\\.example\ncategory = phishing\n"
		"[default]\ncategory = spam\n";
	static const char mail[] = "From: x@cert.example\nSubject: %s\n\nhost 192.0.2.5\n";
	static const char *const subjects[] = { "Botnet member", "Something else" };
	static const char *const want[] = { "compromise", "phishing" };
	char *path = write_temp(rules), err[256], msg[256];
	struct report_config *cfg = report_config_load(NULL, path, err, sizeof(err));
	struct report_parsed r;

	(void)state;
	assert_non_null(cfg);
	for (size_t i = 0; i < ARRAY_LEN(subjects); i++) {
		int n = snprintf(msg, sizeof(msg), mail, subjects[i]);

		assert_int_equal(report_parse(msg, (size_t)n, cfg, &r, err, sizeof(err)), 0);
		assert_string_equal(r.category, want[i]);
		report_parsed_free(&r);
	}
	assert_int_equal(report_parse("From: y@else.example\nSubject: hi\n\n.\n", 35, cfg, &r, err,
				      sizeof(err)), 0);
	assert_string_equal(r.category, "spam");
	assert_string_equal(r.type, "default");
	report_parsed_free(&r);
	report_config_free(cfg);
	unlink(path);
	free(path);
}

static void test_json(void **state)
{
	struct report_config *cfg = shipped_config();
	struct report_parsed r;
	char err[256];
	size_t len;
	char *msg = read_corpus("arf-base64-ipv6.eml", &len);
	json_t *j;

	(void)state;
	assert_int_equal(report_parse(msg, len, cfg, &r, err, sizeof(err)), 0);
	j = report_parsed_json(&r);
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(j, "format")), "arf");
	assert_string_equal(json_string_value(json_object_get(json_array_get(json_object_get(j, "sources"), 0), "at")),
			    "2025-01-14T09:15:00Z");
	assert_string_equal(json_string_value(json_object_get(j, "original_sha256")), ORIGINAL_SHA);
	json_decref(j);
	report_parsed_free(&r);
	free(msg);
	report_config_free(cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_corpus),
		cmocka_unit_test(test_corpus_complete),
		cmocka_unit_test(test_size_cap),
		cmocka_unit_test(test_depth_limit),
		cmocka_unit_test(test_empty_and_nul),
		cmocka_unit_test(test_note_stays_utf8),
		cmocka_unit_test(test_bad_config),
		cmocka_unit_test(test_rules_order),
		cmocka_unit_test(test_json),
	};

	/* A GLib or GMime critical is a call with an argument it refuses:
	 * a bug of ours, so it fails the test. */
	g_log_set_always_fatal(G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_WARNING);
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* cordonctl output for report mails: ingest, list, show, attach. Every
 * string here came from a mail anyone could send: print_safe has made
 * them terminal-safe before these run. */
#include <stdio.h>
#include <string.h>

#include "cordonctl.h"
#include "cordonctl_fields.h"
#include "util.h"

/* report show: the start of the evidence (--json has all of it). */
#define EVIDENCE_SHOWN 400

static void print_matches(const json_t *matches)
{
	size_t i;
	json_t *m;
	char at[32];

	json_array_foreach(matches, i, m) {
		const char *vm = json_string_value(json_object_get(m, "vm_name"));

		printf("  %-39s at %-20s ", s_(m, "ip"), t_(m, "at", at, sizeof(at)));
		if (json_is_integer(json_object_get(m, "case")) && i_(m, "case") > 0)
			printf("%s case %lld: %s\n", vm ? vm : s_(m, "vm"), i_(m, "case"),
			       s_(m, "outcome"));
		else
			printf("%s\n", s_(m, "outcome"));
	}
}

void print_report_ingested(const json_t *r)
{
	printf("report %lld stored: %s", i_(r, "id"), s_(r, "state"));
	if (i_(r, "duplicate_of") > 0)
		printf(" (same mail as report %lld, counted once)", i_(r, "duplicate_of"));
	printf("\n");
	print_matches(json_object_get(r, "matches"));
	if (json_is_string(json_object_get(r, "note")))
		printf("  note: %s\n", s_(r, "note"));
}

static void cases_text(const json_t *cases, char *buf, size_t len)
{
	size_t i, off = 0;
	json_t *c;

	buf[0] = '\0';
	json_array_foreach(cases, i, c) {
		int w = snprintf(buf + off, len - off, "%s%lld", i ? "," : "",
				 (long long)json_integer_value(c));
		if (w < 0 || (size_t)w >= len - off)
			break;
		off += (size_t)w;
	}
	if (!buf[0])
		snprintf(buf, len, "-");
}

void print_report_list(const json_t *r)
{
	size_t i;
	json_t *rep;
	char received[32], cases[64];

	if (json_array_size(r) == 0) {
		printf("no reports\n");
		return;
	}
	printf("%-7s %-20s %-9s %-15s %-11s %-10s %s\n", "ID", "RECEIVED", "FORMAT", "CATEGORY",
	       "STATE", "CASES", "SUBJECT");
	json_array_foreach(r, i, rep) {
		cases_text(json_object_get(rep, "cases"), cases, sizeof(cases));
		printf("%-7lld %-20s %-9s %-15s %-11s %-10s %.60s\n", i_(rep, "id"),
		       t_(rep, "received", received, sizeof(received)), s_(rep, "format"),
		       s_(rep, "category"), s_(rep, "state"), cases, s_(rep, "subject"));
	}
}

static void print_parsed(const json_t *p)
{
	const char *ev = json_string_value(json_object_get(p, "evidence"));
	char date[32];

	printf("type        %s\n", s_(p, "type"));
	printf("message-id  %s\n", s_(p, "message_id"));
	if (json_is_string(json_object_get(p, "report_id")))
		printf("report-id   %s\n", s_(p, "report_id"));
	if (json_is_string(json_object_get(p, "original_sha256")))
		printf("original    sha256 %s\n", s_(p, "original_sha256"));
	printf("date        %s\n", t_(p, "date_unix", date, sizeof(date)));
	if (json_is_string(json_object_get(p, "note")))
		printf("parsed      %s\n", s_(p, "note"));
	if (ev)
		printf("evidence    %.*s%s\n", EVIDENCE_SHOWN, ev,
		       strlen(ev) > EVIDENCE_SHOWN ? " ... (--json has all of it)" : "");
}

void print_report_show(const json_t *r)
{
	char received[32], cases[64];

	cases_text(json_object_get(r, "cases"), cases, sizeof(cases));
	printf("report      %lld\n", i_(r, "id"));
	printf("received    %s\n", t_(r, "received", received, sizeof(received)));
	printf("state       %s\n", s_(r, "state"));
	if (i_(r, "duplicate_of") > 0)
		printf("same as     report %lld (counted once)\n", i_(r, "duplicate_of"));
	printf("format      %s\n", s_(r, "format"));
	printf("category    %s\n", s_(r, "category"));
	printf("from        %s\n", s_(r, "from"));
	printf("subject     %s\n", s_(r, "subject"));
	printf("size        %lld bytes", i_(r, "size"));
	if (i_(r, "stored_size") < i_(r, "size"))
		printf(", truncated: the first %lld stored", i_(r, "stored_size"));
	printf(" (report show %lld --raw prints it)\n", i_(r, "id"));
	printf("cases       %s\n", cases);
	if (json_is_string(json_object_get(r, "note")))
		printf("note        %s\n", s_(r, "note"));
	if (json_is_object(json_object_get(r, "parsed")))
		print_parsed(json_object_get(r, "parsed"));
	if (json_array_size(json_object_get(r, "matches"))) {
		printf("addresses\n");
		print_matches(json_object_get(r, "matches"));
	}
}

void print_report_attached(const json_t *r)
{
	printf("report %lld attached to case %lld\n", i_(r, "report"), i_(r, "case"));
}

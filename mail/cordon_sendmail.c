/* cordon-sendmail: a sendmail-compatible submitter that needs no
 * privilege. cordond's notify_command pipes each message to a program;
 * Debian's sendmail implementations queue through a setuid (exim4) or
 * setgid (postfix's postdrop) helper, which the shipped unit's
 * NoNewPrivileges=yes forbids. This one hands the message to an SMTP
 * relay (the host's MTA on 127.0.0.1:25 by default) and exits the way a
 * mail queue expects: 0 sent, 75 try again, 69 refused. */
#include <curl/curl.h>
#include <errno.h>
#include <getopt.h>
#include <gmime/gmime.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "mail_rcpt.h"
#include "smtp_submit.h"
#include "util.h"

#define MESSAGE_MAX (10u << 20)
#define DEFAULT_RELAY "smtp://127.0.0.1:25"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: cordon-sendmail [--relay URL] [--starttls] [--timeout SECONDS]\n"
		"                       [-t] [-i] [-f SENDER] [RECIPIENT...] < MESSAGE\n"
		"\n"
		"Submit one RFC 5322 message, read from standard input, to an SMTP relay.\n"
		"Needs no privilege: for cordond's notify_command under its sandboxed unit.\n"
		"\n"
		"  --relay URL       smtp://HOST[:PORT] or smtps://HOST[:PORT]; default\n"
		"                    $CORDON_SMTP_RELAY, else " DEFAULT_RELAY "\n"
		"  --starttls        require STARTTLS on smtp:// (default: plain, for a\n"
		"                    relay on this host)\n"
		"  --timeout SECONDS the whole transaction (default 25: cordond stops a\n"
		"                    notifier after 30 s)\n"
		"  -t                recipients from the message's To: and Cc: (Bcc: is not\n"
		"                    read: the message goes out as given)\n"
		"  -f SENDER         envelope sender (default: the From: address)\n"
		"  -i, -oi           accepted, as sendmail's (a lone dot ends nothing here)\n"
		"  -V, --version     print the version and exit\n"
		"\n"
		"Exit status: 0 sent; 75 (EX_TEMPFAIL) not now: relay unreachable, timed\n"
		"out or a 4xx reply; 69 (EX_UNAVAILABLE) the relay refused it (5xx); 65\n"
		"(EX_DATAERR) no recipient or a bad address; 64 usage; 74 reading failed.\n");
}

struct args {
	struct smtp_relay relay;
	bool from_header;
	const char *sender;
};

/* 0, or an exit status. */
static int parse_args(int argc, char **argv, struct args *a)
{
	static const struct option opts[] = {
		{ "relay", required_argument, NULL, 'r' }, { "starttls", no_argument, NULL, 's' },
		{ "timeout", required_argument, NULL, 'T' }, { "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' }, { NULL, 0, NULL, 0 },
	};
	const char *env = getenv("CORDON_SMTP_RELAY"), *why;
	int c;

	a->relay.url = env && *env ? env : DEFAULT_RELAY;
	a->relay.timeout_s = 25;
	while ((c = getopt_long(argc, argv, "tif:o:hV", opts, NULL)) != -1) {
		switch (c) {
		case 'r': a->relay.url = optarg; break;
		case 's': a->relay.starttls = true; break;
		case 'T':
			a->relay.timeout_s = strtol(optarg, NULL, 10);
			if (a->relay.timeout_s < 1 || a->relay.timeout_s > 3600) {
				fprintf(stderr, "cordon-sendmail: --timeout '%s': 1 to 3600 seconds\n", optarg);
				return EX_USAGE;
			}
			break;
		case 't': a->from_header = true; break;
		case 'i': break;
		case 'o': if (strcmp(optarg, "i") == 0) break; /* -oi */
			/* fall through */
		default: usage(stderr); return EX_USAGE;
		case 'f': a->sender = optarg; break;
		case 'h': usage(stdout); exit(0);
		case 'V': printf("cordon-sendmail %s\n", CORDON_VERSION); exit(0);
		}
	}
	if ((why = smtp_relay_problem(a->relay.url))) {
		fprintf(stderr, "cordon-sendmail: relay '%s' %s\n", a->relay.url, why);
		return EX_USAGE;
	}
	return 0;
}

/* The whole of standard input, up to MESSAGE_MAX. NULL on error (said). */
static char *read_message(size_t *len)
{
	size_t cap = 65536;
	char *buf = malloc(cap), *grown;
	size_t n;

	*len = 0;
	while (buf && (n = fread(buf + *len, 1, cap - *len, stdin)) > 0) {
		*len += n;
		if (*len < cap)
			continue;
		if (cap >= MESSAGE_MAX) {
			fprintf(stderr, "cordon-sendmail: message larger than %u bytes\n", MESSAGE_MAX);
			free(buf);
			return NULL;
		}
		cap *= 2;
		if (!(grown = realloc(buf, cap)))
			free(buf);
		buf = grown;
	}
	if (!buf || ferror(stdin)) {
		fprintf(stderr, "cordon-sendmail: reading the message: %s\n",
			buf ? strerror(errno) : "out of memory");
		free(buf);
		return NULL;
	}
	return buf;
}

/* SMTP lines end in CRLF (RFC 5321 2.3.8); a pipe's message has bare LFs,
 * which a relay takes for one endless line. A CR already there stays. */
static char *to_crlf(const char *msg, size_t len, size_t *out_len)
{
	size_t lf = 0, k = 0;
	char *out;

	for (size_t i = 0; i < len; i++)
		lf += msg[i] == '\n' && (i == 0 || msg[i - 1] != '\r');
	if (!(out = malloc(len + lf + 1)))
		return NULL;
	for (size_t i = 0; i < len; i++) {
		if (msg[i] == '\n' && (i == 0 || msg[i - 1] != '\r'))
			out[k++] = '\r';
		out[k++] = msg[i];
	}
	*out_len = k;
	return out;
}

static int envelope_of(const struct args *a, char **rcpt, int n, const char *msg, size_t len,
		       struct mail_envelope *env)
{
	char err[300];

	if (a->from_header && mail_envelope_read(msg, len, env, err, sizeof(err)) < 0)
		goto bad;
	for (int i = 0; i < n; i++)
		if (mail_envelope_add(env, rcpt[i], err, sizeof(err)) < 0)
			goto bad;
	if (a->sender) {
		free(env->from);
		if (!(env->from = strdup(a->sender)))
			return EX_OSERR;
	}
	if (env->n_rcpt == 0) {
		snprintf(err, sizeof(err), "no recipient (give some, or -t with a To: header)");
		goto bad;
	}
	return 0;
bad:
	fprintf(stderr, "cordon-sendmail: %s\n", err);
	return EX_DATAERR;
}

int main(int argc, char **argv)
{
	struct args a = { 0 };
	struct mail_envelope env = { 0 };
	enum smtp_result r;
	char why[512], *msg;
	size_t len;
	int rc;

	if ((rc = parse_args(argc, argv, &a)))
		return rc;
	if (!(msg = read_message(&len)))
		return EX_IOERR;
	g_mime_init();
	if ((rc = envelope_of(&a, argv + optind, argc - optind, msg, len, &env)) == 0) {
		size_t wire_len;
		char *wire = to_crlf(msg, len, &wire_len);

		curl_global_init(CURL_GLOBAL_DEFAULT);
		r = wire ? smtp_submit(&a.relay, &env, wire, wire_len, why, sizeof(why)) :
		    SMTP_TEMPORARY;
		if (!wire)
			snprintf(why, sizeof(why), "out of memory");
		free(wire);
		if (r != SMTP_SENT)
			fprintf(stderr, "cordon-sendmail: %s: %s\n", a.relay.url, why);
		rc = r == SMTP_SENT ? 0 : r == SMTP_TEMPORARY ? EX_TEMPFAIL : EX_UNAVAILABLE;
		curl_global_cleanup();
	}
	mail_envelope_clear(&env);
	g_mime_shutdown();
	free(msg);
	return rc;
}

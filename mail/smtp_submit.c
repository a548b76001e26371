#include "smtp_submit.h"

#include <curl/curl.h>
#include <stdio.h>
#include <string.h>

#define REPLY_MAX 256

struct upload {
	const char *p;
	size_t left;
};

static size_t upload_read(char *buf, size_t size, size_t n, void *arg)
{
	struct upload *u = arg;
	size_t len = size * n < u->left ? size * n : u->left;

	memcpy(buf, u->p, len);
	u->p += len;
	u->left -= len;
	return len;
}

const char *smtp_relay_problem(const char *url)
{
	const char *host;

	if (strncmp(url, "smtp://", 7) == 0)
		host = url + 7;
	else if (strncmp(url, "smtps://", 8) == 0)
		host = url + 8;
	else
		return "is not smtp://HOST[:PORT] or smtps://HOST[:PORT]";
	if (!*host || *host == '/' || *host == ':')
		return "names no host";
	if (strpbrk(host, "@ \t\r\n"))
		return "has a user part or blanks (give HOST[:PORT] only)";
	return NULL;
}

static struct curl_slist *rcpt_list(const struct mail_envelope *env)
{
	struct curl_slist *list = NULL;

	for (size_t i = 0; i < env->n_rcpt; i++) {
		struct curl_slist *next = curl_slist_append(list, env->rcpt[i]);
		if (!next) {
			curl_slist_free_all(list);
			return NULL;
		}
		list = next;
	}
	return list;
}

/* The relay's last refusal (4xx, 5xx): curl's error says only "RCPT
 * failed: 550", the operator needs the relay's reason. */
static int keep_reply(CURL *c, curl_infotype type, char *data, size_t size, void *arg)
{
	char *last = arg;
	size_t n = size < REPLY_MAX - 1 ? size : REPLY_MAX - 1;

	(void)c;
	if (type != CURLINFO_HEADER_IN || size == 0 || (data[0] != '4' && data[0] != '5'))
		return 0;
	while (n && (data[n - 1] == '\n' || data[n - 1] == '\r'))
		n--;
	memcpy(last, data, n);
	last[n] = '\0';
	return 0;
}

/* A reply code says whether to retry; no code (no connection) is temporary. */
static enum smtp_result sort_failure(CURL *c, CURLcode rc, const char *errbuf,
				     const char *reply, char *why, size_t whylen)
{
	long code = 0;

	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
	if (code)
		snprintf(why, whylen, "relay replied \"%s\" (%s)", reply,
			 errbuf[0] ? errbuf : curl_easy_strerror(rc));
	else
		snprintf(why, whylen, "%s", errbuf[0] ? errbuf : curl_easy_strerror(rc));
	return code >= 500 && code < 600 ? SMTP_PERMANENT : SMTP_TEMPORARY;
}

enum smtp_result smtp_submit(const struct smtp_relay *relay, const struct mail_envelope *env,
			     const char *msg, size_t len, char *why, size_t whylen)
{
	char errbuf[CURL_ERROR_SIZE] = "", reply[REPLY_MAX] = "";
	struct upload up = { msg, len };
	struct curl_slist *rcpt = rcpt_list(env);
	CURL *c = curl_easy_init();
	enum smtp_result result = SMTP_TEMPORARY;
	CURLcode rc;

	if (!c || !rcpt) {
		snprintf(why, whylen, "out of memory");
		goto out;
	}
	curl_easy_setopt(c, CURLOPT_URL, relay->url);
	curl_easy_setopt(c, CURLOPT_MAIL_FROM, env->from ? env->from : "");
	curl_easy_setopt(c, CURLOPT_MAIL_RCPT, rcpt);
	curl_easy_setopt(c, CURLOPT_READFUNCTION, upload_read);
	curl_easy_setopt(c, CURLOPT_READDATA, &up);
	curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(c, CURLOPT_DEBUGFUNCTION, keep_reply);
	curl_easy_setopt(c, CURLOPT_DEBUGDATA, reply);
	curl_easy_setopt(c, CURLOPT_VERBOSE, 1L); /* for keep_reply only: it prints nothing */
	curl_easy_setopt(c, CURLOPT_TIMEOUT, relay->timeout_s);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
	if (relay->starttls)
		curl_easy_setopt(c, CURLOPT_USE_SSL, (long)CURLUSESSL_ALL);
	rc = curl_easy_perform(c);
	if (rc == CURLE_OK) {
		result = SMTP_SENT;
		snprintf(why, whylen, "sent");
	} else {
		result = sort_failure(c, rc, errbuf, reply, why, whylen);
	}
out:
	curl_slist_free_all(rcpt);
	if (c)
		curl_easy_cleanup(c);
	return result;
}

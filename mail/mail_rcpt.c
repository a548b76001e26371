#include "mail_rcpt.h"

#include <gmime/gmime.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "contact.h"

#define RCPT_MAX 100 /* a notification has one or a few */

static int rcpt_add(struct mail_envelope *env, const char *addr, char *err, size_t errlen)
{
	const char *why = contact_problem(addr);
	char **grown;

	if (why) {
		snprintf(err, errlen, "recipient '%.100s' is no mail address: it %s", addr, why);
		return -1;
	}
	for (size_t i = 0; i < env->n_rcpt; i++)
		if (strcmp(env->rcpt[i], addr) == 0)
			return 0;
	if (env->n_rcpt >= RCPT_MAX) {
		snprintf(err, errlen, "more than %d recipients", RCPT_MAX);
		return -1;
	}
	grown = realloc(env->rcpt, (env->n_rcpt + 1) * sizeof(*env->rcpt));
	if (!grown || !(grown[env->n_rcpt] = strdup(addr))) {
		if (grown)
			env->rcpt = grown;
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	env->rcpt = grown;
	env->n_rcpt++;
	return 0;
}

int mail_envelope_add(struct mail_envelope *env, const char *addr, char *err, size_t errlen)
{
	return rcpt_add(env, addr, err, errlen);
}

/* Every mailbox of list, groups included. */
static int list_add(struct mail_envelope *env, InternetAddressList *list, char *err,
		    size_t errlen)
{
	int n = list ? internet_address_list_length(list) : 0;

	for (int i = 0; i < n; i++) {
		InternetAddress *a = internet_address_list_get_address(list, i);
		if (INTERNET_ADDRESS_IS_GROUP(a)) {
			if (list_add(env, internet_address_group_get_members(
					 INTERNET_ADDRESS_GROUP(a)), err, errlen) < 0)
				return -1;
		} else if (rcpt_add(env, internet_address_mailbox_get_addr(
					    INTERNET_ADDRESS_MAILBOX(a)), err, errlen) < 0) {
			return -1;
		}
	}
	return 0;
}

static int from_read(struct mail_envelope *env, GMimeMessage *m)
{
	InternetAddressList *from = g_mime_message_get_from(m);
	InternetAddress *a;

	if (!from || internet_address_list_length(from) == 0)
		return 0;
	a = internet_address_list_get_address(from, 0);
	if (!INTERNET_ADDRESS_IS_MAILBOX(a))
		return 0;
	env->from = strdup(internet_address_mailbox_get_addr(INTERNET_ADDRESS_MAILBOX(a)));
	return env->from ? 0 : -1;
}

int mail_envelope_read(const char *msg, size_t len, struct mail_envelope *env,
		       char *err, size_t errlen)
{
	/* No Bcc: the message goes out as given, and would show it. */
	static const GMimeAddressType kinds[] = { GMIME_ADDRESS_TYPE_TO, GMIME_ADDRESS_TYPE_CC };
	GMimeStream *stream = g_mime_stream_mem_new_with_buffer(msg, len);
	GMimeParser *parser = g_mime_parser_new_with_stream(stream);
	GMimeMessage *m = g_mime_parser_construct_message(parser, NULL);
	int rc = 0;

	g_object_unref(parser);
	g_object_unref(stream);
	if (!m) {
		snprintf(err, errlen, "the message has no header to read recipients from");
		return -1;
	}
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]) && rc == 0; i++)
		rc = list_add(env, g_mime_message_get_addresses(m, kinds[i]), err, errlen);
	if (rc == 0 && from_read(env, m) < 0) {
		snprintf(err, errlen, "out of memory");
		rc = -1;
	}
	g_object_unref(m);
	return rc;
}

void mail_envelope_clear(struct mail_envelope *env)
{
	for (size_t i = 0; i < env->n_rcpt; i++)
		free(env->rcpt[i]);
	free(env->rcpt);
	free(env->from);
	memset(env, 0, sizeof(*env));
}

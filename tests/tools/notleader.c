/* notleader: a controller that is not the acting leader, for tests.
 *
 *   notleader SECRET_CERT ENDPOINT LEADER [TERM [UUID GENERATION]]
 *
 * Binds a CURVE ROUTER at ENDPOINT with the key pair of SECRET_CERT (no
 * ZAP handler: any agent key gets in) and answers every message with
 * NotLeader { leader = LEADER, term = TERM (default 1) }, as a follower
 * cordond does. Prints one line per Hello ("hello HOST_ID term_seen N"),
 * flushed, so a test can count how often agents come by. Runs until
 * SIGTERM.
 *
 * With UUID and GENERATION it plays a former leader instead, whose
 * message arrives late: a Hello is answered with the desired set of term
 * TERM (a full one, as a hello is answered) that lifts every cut of that
 * VM at that generation. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "codec.h"
#include "keys.h"

static volatile sig_atomic_t stop;

static void on_term(int sig)
{
	(void)sig;
	stop = 1;
}

static void *router(void *ctx, const char *cert, const char *endpoint)
{
	struct keypair kp;
	char err[256];
	int one = 1, zero = 0;
	void *s;

	if (keys_load(cert, &kp, err, sizeof(err)) < 0 || !kp.secret_z85[0]) {
		fprintf(stderr, "notleader: %s: %s\n", cert, err[0] ? err : "no secret key");
		return NULL;
	}
	s = zmq_socket(ctx, ZMQ_ROUTER);
	if (!s || zmq_setsockopt(s, ZMQ_CURVE_SERVER, &one, sizeof(one)) < 0 ||
	    zmq_setsockopt(s, ZMQ_CURVE_SECRETKEY, kp.secret_z85, KEY_Z85_LEN) < 0 ||
	    zmq_setsockopt(s, ZMQ_LINGER, &zero, sizeof(zero)) < 0 || zmq_bind(s, endpoint) < 0) {
		fprintf(stderr, "notleader: %s: %s\n", endpoint, zmq_strerror(zmq_errno()));
		return NULL;
	}
	return s;
}

static void answer(void *s, zmq_msg_t *rid, const char *leader, uint64_t term)
{
	Cordon__Envelope env = CORDON__ENVELOPE__INIT;
	Cordon__NotLeader nl = CORDON__NOT_LEADER__INIT;
	uint8_t *buf;
	size_t len;

	nl.leader = (char *)leader;
	nl.term = term;
	env.body_case = CORDON__ENVELOPE__BODY_NOT_LEADER;
	env.not_leader = &nl;
	if (codec_encode(&env, &buf, &len) < 0)
		return;
	zmq_send(s, zmq_msg_data(rid), zmq_msg_size(rid), ZMQ_SNDMORE | ZMQ_DONTWAIT);
	zmq_send(s, buf, len, ZMQ_DONTWAIT);
	free(buf);
}

/* The former leader's restore of one VM, under its (old) term. */
static void answer_desired(void *s, zmq_msg_t *rid, uint64_t term, const char *uuid,
			   uint64_t gen)
{
	Cordon__Envelope env = CORDON__ENVELOPE__INIT;
	Cordon__DesiredSet set = CORDON__DESIRED_SET__INIT;
	Cordon__VmState vm = CORDON__VM_STATE__INIT, *vms[1] = { &vm };
	uint8_t *buf;
	size_t len;

	vm.uuid = (char *)uuid;
	vm.generation = gen;
	set.full = true; /* a hello is answered with the whole state */
	set.term = term;
	set.vms = vms;
	set.n_vms = 1;
	env.body_case = CORDON__ENVELOPE__BODY_DESIRED;
	env.desired = &set;
	if (codec_encode(&env, &buf, &len) < 0)
		return;
	zmq_send(s, zmq_msg_data(rid), zmq_msg_size(rid), ZMQ_SNDMORE | ZMQ_DONTWAIT);
	zmq_send(s, buf, len, ZMQ_DONTWAIT);
	printf("sent desired term %llu %s generation %llu\n", (unsigned long long)term, uuid,
	       (unsigned long long)gen);
	fflush(stdout);
	free(buf);
}

static const char *late_uuid;
static uint64_t late_gen;

static void serve_one(void *s, const char *leader, uint64_t term)
{
	zmq_msg_t rid, body;
	Cordon__Envelope *env;
	char err[256];

	zmq_msg_init(&rid);
	zmq_msg_init(&body);
	if (zmq_msg_recv(&rid, s, 0) >= 0 && zmq_msg_more(&rid) && zmq_msg_recv(&body, s, 0) >= 0) {
		env = codec_decode(zmq_msg_data(&body), zmq_msg_size(&body), err, sizeof(err));
		if (env && env->body_case == CORDON__ENVELOPE__BODY_HELLO) {
			printf("hello %s term_seen %llu\n", env->hello->host_id,
			       (unsigned long long)env->hello->term_seen);
			fflush(stdout);
		}
		if (env && late_uuid && env->body_case == CORDON__ENVELOPE__BODY_HELLO)
			answer_desired(s, &rid, term, late_uuid, late_gen);
		else if (env && !late_uuid)
			answer(s, &rid, leader, term);
		codec_free(env);
	}
	zmq_msg_close(&rid);
	zmq_msg_close(&body);
}

int main(int argc, char **argv)
{
	void *ctx, *s;

	if (argc != 4 && argc != 5 && argc != 7) {
		fprintf(stderr, "usage: notleader SECRET_CERT ENDPOINT LEADER [TERM [UUID GENERATION]]\n");
		return 2;
	}
	if (argc == 7) {
		late_uuid = argv[5];
		late_gen = strtoull(argv[6], NULL, 10);
	}
	signal(SIGTERM, on_term);
	signal(SIGINT, on_term);
	ctx = zmq_ctx_new();
	s = router(ctx, argv[1], argv[2]);
	if (!s)
		return 1;
	while (!stop) {
		zmq_pollitem_t it = { s, 0, ZMQ_POLLIN, 0 };
		if (zmq_poll(&it, 1, 200) > 0)
			serve_one(s, argv[3], argc == 5 ? strtoull(argv[4], NULL, 10) : 1);
	}
	zmq_close(s);
	zmq_ctx_term(ctx);
	return 0;
}

/* SPDX-License-Identifier: BSD-3-Clause */
/* A client of a cuco-dataplane's provisioning agent (see dpclient.h). */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <zmq.h>

#include "common/proto/dpproto.h"
#include "common/zcurve.h"
#include "controlplane/provision/dpclient.h"

struct dpclient {
	char *endpoint;
	bool curve;
	char server_key[ZCURVE_KEY_LEN];
	char client_pub[ZCURVE_KEY_LEN];
	char client_sec[ZCURVE_KEY_LEN];
	void *zctx;
	bool own_ctx;
	void *sock;
	uint64_t seq;
};

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
close_socket(struct dpclient *c)
{
	if (c->sock != NULL)
		zmq_close(c->sock);
	c->sock = NULL;
}

static int
open_socket(struct dpclient *c, char *err, size_t errlen)
{
	int linger = 0, immediate = 1, hwm = 16;
	int64_t maxmsg = (int64_t)DPP_MAX_MESSAGE;

	c->sock = zmq_socket(c->zctx, ZMQ_DEALER);
	if (c->sock == NULL) {
		snprintf(err, errlen, "%s: %s", c->endpoint, zmq_strerror(zmq_errno()));
		return -ENOMEM;
	}
	zmq_setsockopt(c->sock, ZMQ_LINGER, &linger, sizeof(linger));
	/* Queue nothing for a peer that is not connected: a stale batch must never arrive late. */
	zmq_setsockopt(c->sock, ZMQ_IMMEDIATE, &immediate, sizeof(immediate));
	zmq_setsockopt(c->sock, ZMQ_SNDHWM, &hwm, sizeof(hwm));
	zmq_setsockopt(c->sock, ZMQ_MAXMSGSIZE, &maxmsg, sizeof(maxmsg));
	if (c->curve) {
		zmq_setsockopt(c->sock, ZMQ_CURVE_SERVERKEY, c->server_key, ZCURVE_KEY_LEN - 1);
		zmq_setsockopt(c->sock, ZMQ_CURVE_PUBLICKEY, c->client_pub, ZCURVE_KEY_LEN - 1);
		zmq_setsockopt(c->sock, ZMQ_CURVE_SECRETKEY, c->client_sec, ZCURVE_KEY_LEN - 1);
	}
	if (zmq_connect(c->sock, c->endpoint) != 0) {
		snprintf(err, errlen, "%s: %s", c->endpoint, zmq_strerror(zmq_errno()));
		close_socket(c);
		return -EINVAL;
	}
	return 0;
}

int
dpclient_new(const struct dpclient_config *cfg, struct dpclient **ret, char *err, size_t errlen)
{
	struct dpclient *c;
	int r;

	if (cfg->endpoint == NULL || cfg->endpoint[0] == '\0') {
		snprintf(err, errlen, "endpoint: missing");
		return -EINVAL;
	}
	c = calloc(1, sizeof(*c));
	if (c == NULL || (c->endpoint = strdup(cfg->endpoint)) == NULL) {
		free(c);
		return -ENOMEM;
	}
	if (cfg->curve_dir != NULL && cfg->curve_dir[0] != '\0') {
		char path[512];

		snprintf(path, sizeof(path), "%s/server.public", cfg->curve_dir);
		if (zcurve_read_key(path, c->server_key, err, errlen) < 0 ||
		    zcurve_keypair(cfg->curve_dir, "client", c->client_pub, c->client_sec, err,
				   errlen) < 0) {
			dpclient_free(c);
			return -EINVAL;
		}
		c->curve = true;
	}
	c->zctx = cfg->zctx;
	if (c->zctx == NULL) {
		c->zctx = zmq_ctx_new();
		c->own_ctx = true;
		if (c->zctx == NULL) {
			dpclient_free(c);
			return -ENOMEM;
		}
	}
	r = open_socket(c, err, errlen);
	if (r < 0) {
		dpclient_free(c);
		return r;
	}
	*ret = c;
	return 0;
}

/* The reply to @seq, or NULL when the message is a late answer to an earlier request. */
static json_t *
match_reply(const zmq_msg_t *msg, uint64_t seq, int *ret_err)
{
	json_t *rep = json_loadb(zmq_msg_data((zmq_msg_t *)msg), zmq_msg_size((zmq_msg_t *)msg), 0,
				 NULL);
	json_t *s = json_object_get(rep, "seq");

	if (rep == NULL || !json_is_integer(s)) {
		json_decref(rep);
		*ret_err = -EPROTO;
		return NULL;
	}
	if ((uint64_t)json_integer_value(s) != seq) {
		json_decref(rep);
		return NULL;
	}
	return rep;
}

/* Wait for the answer to @seq until @deadline. */
static int
receive(struct dpclient *c, uint64_t seq, int64_t deadline, json_t **ret, char *err,
	size_t errlen)
{
	for (;;) {
		int64_t left = deadline - now_ms();
		zmq_pollitem_t pi = {.socket = c->sock, .events = ZMQ_POLLIN};
		zmq_msg_t msg;
		json_t *rep;
		int perr = 0, more = 0;
		size_t more_len = sizeof(more);

		if (left <= 0 || zmq_poll(&pi, 1, (long)left) <= 0) {
			snprintf(err, errlen, "%s: no answer within the timeout", c->endpoint);
			return -ETIMEDOUT;
		}
		zmq_msg_init(&msg);
		if (zmq_msg_recv(&msg, c->sock, ZMQ_DONTWAIT) < 0) {
			zmq_msg_close(&msg);
			continue;
		}
		/* An empty delimiter frame (sent to REQ peers) may come first. */
		zmq_getsockopt(c->sock, ZMQ_RCVMORE, &more, &more_len);
		if (more && zmq_msg_size(&msg) == 0) {
			zmq_msg_close(&msg);
			zmq_msg_init(&msg);
			if (zmq_msg_recv(&msg, c->sock, ZMQ_DONTWAIT) < 0) {
				zmq_msg_close(&msg);
				continue;
			}
		}
		rep = match_reply(&msg, seq, &perr);
		zmq_msg_close(&msg);
		if (perr < 0) {
			snprintf(err, errlen, "%s: the answer is not a reply of the protocol",
				 c->endpoint);
			return perr;
		}
		if (rep != NULL) {
			*ret = rep;
			return 0;
		}
	}
}

int
dpclient_call(struct dpclient *c, json_t *req, int timeout_ms, json_t **ret, char *err,
	      size_t errlen)
{
	int64_t deadline = now_ms() + timeout_ms;
	uint64_t seq = ++c->seq;
	json_t *rep = NULL;
	char *out;
	int r;

	if (c->sock == NULL && (r = open_socket(c, err, errlen)) < 0) {
		json_decref(req);
		return r;
	}
	json_object_set_new(req, "v", json_integer(DPP_VERSION));
	json_object_set_new(req, "seq", json_integer((json_int_t)seq));
	out = json_dumps(req, JSON_COMPACT);
	json_decref(req);
	if (out == NULL)
		return -ENOMEM;
	/* No connection (ZMQ_IMMEDIATE): nothing is queued, the peer is unreachable now. */
	while (zmq_send(c->sock, out, strlen(out), ZMQ_DONTWAIT) < 0) {
		if (zmq_errno() != EAGAIN || now_ms() >= deadline) {
			free(out);
			snprintf(err, errlen, "%s: not connected", c->endpoint);
			close_socket(c);
			return -ENOTCONN;
		}
		nanosleep(&(struct timespec){.tv_nsec = 5 * 1000 * 1000}, NULL);
	}
	free(out);
	r = receive(c, seq, deadline, &rep, err, errlen);
	if (r < 0) {
		close_socket(c);
		return r;
	}
	if (!json_is_true(json_object_get(rep, "ok"))) {
		json_t *e = json_object_get(rep, "error");

		snprintf(err, errlen, "%s: %s", json_string_value(json_object_get(e, "field")) ?: "?",
			 json_string_value(json_object_get(e, "reason")) ?: "refused");
		*ret = rep;
		return -EREMOTEIO;
	}
	*ret = rep;
	return 0;
}

const char *
dpclient_endpoint(const struct dpclient *c)
{
	return c->endpoint;
}

struct dpclient *
dpclient_free(struct dpclient *c)
{
	if (c == NULL)
		return NULL;
	close_socket(c);
	if (c->own_ctx && c->zctx != NULL)
		zmq_ctx_term(c->zctx);
	free(c->endpoint);
	free(c);
	return NULL;
}

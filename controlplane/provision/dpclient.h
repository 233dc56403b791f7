/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef CUCO_PROVISION_DPCLIENT_H
#define CUCO_PROVISION_DPCLIENT_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

/*
 * A client of one cuco-dataplane's provisioning agent (protocol schema 1,
 * docs/ARCHITECTURE.md "Provisioning protocol"): a ZeroMQ DEALER connected to
 * the agent's ROUTER, plain (loopback tcp or ipc) or CURVE. One request at a
 * time, each with a timeout; a reply is matched to its request by seq, so a
 * late answer to a request that timed out is never taken for the next one.
 * After a timeout the socket is made again: requests still queued for a peer
 * that does not read are dropped, never delivered later.
 *
 * Not thread-safe: one thread at a time per client. Does not log.
 */

struct dpclient;

struct dpclient_config {
	const char *endpoint;  /* tcp://..., ipc://... */
	const char *curve_dir; /* NULL: plain; else DIR/server.public and this client's keypair */
	void *zctx;            /* a zmq context to use (borrowed), or NULL for one of its own */
};

/* Returns 0, or -EINVAL (endpoint, keys) / -ENOMEM with @err. */
int dpclient_new(const struct dpclient_config *cfg, struct dpclient **ret, char *err,
		 size_t errlen);

/*
 * Send @req (consumed, also on failure; "v" and "seq" are added) and wait at
 * most @timeout_ms for its answer. Returns 0 with the reply ("ok": true) in
 * @ret (a new reference); -EREMOTEIO when the agent refused it: @ret holds
 * the reply and @err "field: reason"; -ETIMEDOUT (no answer), -ENOTCONN (no
 * connection to send on), -EPROTO (an answer that is not a reply) or
 * -ENOMEM, with @err.
 */
int dpclient_call(struct dpclient *c, json_t *req, int timeout_ms, json_t **ret, char *err,
		  size_t errlen);

const char *dpclient_endpoint(const struct dpclient *c);

/* Accepts NULL, returns NULL. */
struct dpclient *dpclient_free(struct dpclient *c);

#endif

/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef CUCO_DATAPLANE_AGENT_H
#define CUCO_DATAPLANE_AGENT_H

#include <stddef.h>
#include <stdint.h>

#include "dataplane/dp.h"

/*
 * The provisioning agent: a ZeroMQ ROUTER socket speaking the protocol of
 * common/proto/dpproto.h, and a PUB socket publishing cumulative usage
 * counters. Runs on the control thread; the fast path never waits on it, and
 * keeps enforcing the last state when no client is connected.
 */

struct agent;

/*
 * Bind the request socket and the usage socket (none when the config's
 * usage endpoint is empty) as @dp's config says, with CURVE where it asks
 * for it: the server keypair in <state-dir>/curve (made at first use), the
 * clients allowed in <state-dir>/curve/authorized_keys. Returns 0 or a
 * negative errno with @err saying which endpoint or key failed and why.
 */
int agent_open(struct dp *dp, struct agent **ret, char *err, size_t errlen);
struct agent *agent_close(struct agent *a);

/* The ROUTER socket and the ZAP handler (NULL without CURVE), for zmq_poll(). */
void *agent_socket(struct agent *a);
void *agent_zap_socket(struct agent *a);

/* Serve every request waiting on the socket. */
void agent_dispatch(struct agent *a);

/* Answer the CURVE handshakes waiting (ZAP, RFC 27): allowed keys only. */
void agent_zap_dispatch(struct agent *a);

/* Publish usage if its interval has passed; @now_ms from a monotonic clock. */
void agent_tick(struct agent *a, uint64_t now_ms);

/*
 * Publish usage now, and let agent_close() wait up to @linger_ms for the
 * messages to leave: at stop, once the workers stopped, so that what they
 * counted since the last message is not lost.
 */
void agent_flush(struct agent *a, int linger_ms);

/* The boot id: random per start, so readers of usage see a restart. */
const char *agent_boot_id(const struct agent *a);

#endif

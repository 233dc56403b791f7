/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef CUCO_DATAPLANE_FPM_H
#define CUCO_DATAPLANE_FPM_H

#include <poll.h>
#include <stdint.h>

#include "dataplane/dp.h"
#include "drivers/fpm.h"

/*
 * Routes from FRR zebra's FPM feed, applied to the RIB as source
 * RT_SRC_FPM (docs/ARCHITECTURE.md, "Routes from FRR").
 *
 * Only the main table (254) of IPv4 and IPv6 is used. A path's interface
 * (RTA_OIF / NHA_OIF) must be the tap of a port: a gateway becomes the next
 * hop (gateway, port), no gateway the port's connected next hop; paths on
 * other interfaces (lo, ...) are ignored. Blackhole, unreachable and prohibit
 * routes drop. Several usable paths (RTA_MULTIPATH, or a next-hop object
 * that is a group) become a next-hop group: ECMP by flow hash.
 * Routes naming a next-hop object (RTA_NH_ID) follow that object's changes.
 *
 * When a new connection delivers its first good frame, the routes held
 * become stale; those zebra does not announce again before the feed has been
 * quiet for fpm-stale-time seconds, and at least 10 s + fpm-stale-time after
 * it started (zebra's clients reconnect to a restarted zebra up to 10 s
 * later), are removed (zebra sends no end-of-RIB marker). A connection that
 * only sends garbage changes nothing. A lost connection leaves the routes in
 * force: the fast path keeps forwarding while zebra restarts.
 *
 * All functions: control thread only, except the counters (any thread).
 */

struct dp_fpm;

/* Without a listener: for tests that feed messages themselves. */
int dp_fpm_create(struct dp *dp, struct dp_fpm **ret_fpm);

/*
 * dp_fpm_create() and listen where the config says. Returns 0 or a negative
 * errno (-EADDRINUSE...), logging nothing.
 */
int dp_fpm_start(struct dp *dp, struct dp_fpm **ret_fpm);

/* Removes no route (the tables go with the process). Accepts NULL; returns NULL. */
struct dp_fpm *dp_fpm_free(struct dp_fpm *fpm);

/* Descriptors to poll (room for 2); 0 without a listener or for NULL. */
unsigned dp_fpm_pollfds(const struct dp_fpm *fpm, struct pollfd *pfd);

/* Serve the listener: call when a descriptor of dp_fpm_pollfds() is ready. */
void dp_fpm_dispatch(struct dp_fpm *fpm);

/* Timers (the stale sweep): call at least every second. Accepts NULL. */
void dp_fpm_tick(struct dp_fpm *fpm, uint64_t now_ms);

/* A (re)connection: what is held becomes stale until announced again. */
void dp_fpm_resync(struct dp_fpm *fpm, uint64_t now_ms);

/*
 * Apply one decoded message. Inside a batch, its changes reach the workers
 * with the batch's; outside, at once.
 */
void dp_fpm_message(struct dp_fpm *fpm, const struct fpm_msg *msg, uint64_t now_ms);

/*
 * Messages between these two are one batch: the workers see their IPv6
 * changes after one table swap and one grace period (tables/route.h), not
 * one per change. A long batch is published in parts, every FPM_BATCH_MAX
 * IPv6 changes or FPM_BATCH_MS, never inside one message. dp_fpm_dispatch()
 * makes each read round a batch; tests call these to do the same.
 */
void dp_fpm_batch_begin(struct dp_fpm *fpm, uint64_t now_ms);
void dp_fpm_batch_end(struct dp_fpm *fpm);

/* FPM routes in the fast path of @family and rtm_protocol @protocol. */
unsigned dp_fpm_count(const struct dp_fpm *fpm, uint8_t family, uint8_t protocol);

/* Connected to zebra now. */
bool dp_fpm_connected(const struct dp_fpm *fpm);

#endif

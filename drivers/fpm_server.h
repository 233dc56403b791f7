/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef CUCO_DRIVERS_FPM_SERVER_H
#define CUCO_DRIVERS_FPM_SERVER_H

#include <poll.h>
#include <stdint.h>

#include "common/inet.h"
#include "drivers/fpm.h"

/*
 * TCP listener for zebra's FPM connection. One connection at a time (a
 * second one is accepted and closed at once); non-blocking; frames are read
 * into a buffer of one maximum frame and decoded with fpm_decode(). A frame
 * that does not decode closes the connection. Everything happens in
 * fpm_server_dispatch(), called by the control thread when poll() says so;
 * what happens is reported through the callbacks (this module does not log).
 */

struct fpm_server;

struct fpm_server_ops {
	/* A peer connected (@peer: "ADDR port N"). */
	void (*connected)(void *arg, const char *peer);
	/* The connection ended: @why says how (peer closed, bad frame: the reason). */
	void (*closed)(void *arg, const char *why);
	/* A second peer was turned away. */
	void (*refused)(void *arg, const char *peer);
	/* One decoded message, in order. */
	void (*message)(void *arg, const struct fpm_msg *msg);
};

/*
 * Listen on @addr port @port (SO_REUSEADDR). Returns 0, or a negative errno
 * (e.g. -EADDRINUSE). The caller frees with fpm_server_close().
 */
int fpm_server_open(const struct inet_addr *addr, uint16_t port, const struct fpm_server_ops *ops,
		    void *arg, struct fpm_server **ret_srv);

/* Closes the listener and any connection (without calling back). Accepts NULL; returns NULL. */
struct fpm_server *fpm_server_close(struct fpm_server *srv);

/* Fill @pfd (room for 2) with the descriptors to poll; returns how many. */
unsigned fpm_server_pollfds(const struct fpm_server *srv, struct pollfd *pfd);

/*
 * Accept, read and decode whatever is ready, calling back. Reads at most a
 * bounded amount per call, so the caller's other work is not starved.
 */
void fpm_server_dispatch(struct fpm_server *srv);

/* true while a peer is connected. */
bool fpm_server_connected(const struct fpm_server *srv);

#endif

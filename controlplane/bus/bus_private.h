/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef CUCO_CONTROLPLANE_BUS_PRIVATE_H
#define CUCO_CONTROLPLANE_BUS_PRIVATE_H

/* What the files of the bus share; not an API. */

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include <zmq.h>

#include "controlplane/bus/bus.h"

#define BUS_NAME_MAX 64
#define BUS_ENDPOINT_MAX 256
#define BUS_MSG_MAX (16 << 20)   /* the largest frame a peer may send */
#define BUS_SOURCES_MAX 16
#define BUS_TICK_MS 100          /* threads look at the stop flag this often */
#define BUS_HEARTBEAT_TOPIC "!heartbeat" /* after the domain name; '!' is no type character */

struct bus_endpoint {
	char domain[BUS_NAME_MAX];
	char events[BUS_ENDPOINT_MAX]; /* "" = inproc */
	char cmd[BUS_ENDPOINT_MAX];
};

/* A domain served here: relay and server threads. */
struct bus_served {
	struct bus_served *next;
	struct bus *bus;
	struct bus_domain cfg;
	char name[BUS_NAME_MAX];
	struct db *relay_db, *server_db;
	void *pub, *router;
	pthread_t relay_th, server_th;
	bool relay_started, server_started;
	atomic_bool stop; /* this domain's threads end (also when bus->stop) */
	_Atomic int64_t committed, published;
	_Atomic uint64_t commands, replays;
};

struct bus_consumer_state;

struct bus {
	void *ctx;
	atomic_bool stop;
	pthread_mutex_t lock; /* endpoints and the lists */
	struct bus_endpoint *eps;
	size_t n_eps;
	struct bus_served *served;
	struct bus_consumer_state *consumers;
};

/* The events or command endpoint of @domain into @buf (inproc unless configured). */
void bus_endpoint_events(struct bus *bus, const char *domain, char *buf, size_t len);
void bus_endpoint_cmd(struct bus *bus, const char *domain, char *buf, size_t len);

/* The inproc endpoint of @domain's events/cmd socket into @buf. */
void bus_inproc(const char *domain, const char *what, char *buf, size_t len);

/* Common options of every socket: no linger, a maximum message size. */
void bus_socket_options(void *sock);

/*
 * Receive one whole message (all frames) into @frames, at most @max frames
 * (the rest is read and dropped, and the count returned is max + 1).
 * Non-blocking. Returns the number of frames, 0 when nothing was waiting,
 * or -1. Frames are zmq_msg_close()d by the caller (bus_frames_close).
 */
int bus_recv_frames(void *sock, zmq_msg_t *frames, int max);
void bus_frames_close(zmq_msg_t *frames, int n);

/* A frame's bytes as a JSON value, or NULL (not JSON, too deep). */
json_t *bus_frame_json(zmq_msg_t *frame);

/* Send @j (compact) as the last frame. Returns 0 or -1. */
int bus_send_json(void *sock, json_t *j, int flags);

/* The principal as JSON (roles by name) and back, validated. */
json_t *bus_principal_to_json(const struct cuco_principal *p);
int bus_principal_from_json(const json_t *j, struct cuco_principal *p, char *err, size_t errlen);

/*
 * Fill @reply from the reply envelope @j to command @id: 0 (ours: a result
 * object, or a problem's code, 1 to 31 bytes, and detail), 1 (another
 * command's: stale) or -EPROTO (not a reply). @reply is written only when 0
 * is returned.
 */
int bus_reply_parse(const json_t *j, const char *id, struct bus_reply *reply);

/* Thread bodies. */
void *bus_relay_main(void *arg);
void *bus_server_main(void *arg);
void *bus_consumer_main(void *arg);

/* Whether the threads of @s should end. */
static inline bool
bus_served_stopping(struct bus_served *s)
{
	return atomic_load(&s->stop) || atomic_load(&s->bus->stop);
}

/* Consumers: start one, add their figures to @out (bus->lock held), stop and free all. */
int bus_consumer_start(struct bus *bus, const struct bus_consumer *c, char *err, size_t errlen);
void bus_consumers_stats(struct bus *bus, json_t *out);
void bus_consumers_free(struct bus *bus);

#endif

/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef CUCO_DRIVERS_FPM_H
#define CUCO_DRIVERS_FPM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/inet.h"

/*
 * Decoder of FRR zebra's FPM feed (dplane_fpm_nl): frames of a 4-byte header
 * {u8 version = 1, u8 type = 1 (netlink), u16 length including the header,
 * network order} followed by netlink messages (one, or a delete and an add
 * for a route update).
 *
 * Pure functions on bytes: no allocation, no logging, no state. Everything
 * is validated before anything is returned (sizes exact, attribute lengths
 * inside their message, limits below), so a frame either decodes completely
 * or is refused with a reason; the caller closes the connection then.
 */

#define FPM_HDR_LEN 4u
#define FPM_VERSION 1u
#define FPM_TYPE_NETLINK 1u
#define FPM_MAX_FRAME 65535u /* the length field is 16 bits */
#define FPM_MAX_MSGS 4u      /* netlink messages in one frame */
#define FPM_MAX_PATHS 16u    /* next hops of one route (RTA_MULTIPATH) or group */

enum fpm_msg_kind {
	FPM_MSG_OTHER,     /* valid netlink we do not use (neighbours, MPLS...) */
	FPM_MSG_ROUTE_ADD, /* RTM_NEWROUTE */
	FPM_MSG_ROUTE_DEL, /* RTM_DELROUTE */
	FPM_MSG_NH_ADD,    /* RTM_NEWNEXTHOP */
	FPM_MSG_NH_DEL,    /* RTM_DELNEXTHOP */
};

enum fpm_route_type {
	FPM_RT_UNICAST,
	FPM_RT_BLACKHOLE, /* blackhole, unreachable and prohibit */
	FPM_RT_OTHER,     /* local, broadcast, multicast...: not for the FIB */
};

/* One path: a gateway (family 0 when none: a connected route) and an interface (0: none). */
struct fpm_path {
	struct inet_addr gw;
	uint32_t oif;
};

struct fpm_route {
	struct inet_prefix dst;
	uint32_t table;    /* RTA_TABLE, else rtm_table */
	uint8_t protocol;  /* rtm_protocol: RTPROT_* (FRR: 186 bgp, 196 static...) */
	enum fpm_route_type type;
	uint32_t nh_id;    /* RTA_NH_ID (a next-hop object) or 0 */
	unsigned n_paths;  /* 0 with nh_id or a blackhole */
	struct fpm_path paths[FPM_MAX_PATHS];
};

struct fpm_nhobj {
	uint32_t id;        /* NHA_ID, never 0 */
	uint8_t family;     /* nhm_family */
	bool blackhole;     /* NHA_BLACKHOLE */
	struct fpm_path path;        /* NHA_GATEWAY / NHA_OIF */
	unsigned n_group;            /* NHA_GROUP members, 0 for a single next hop */
	uint32_t group[FPM_MAX_PATHS];
};

struct fpm_msg {
	enum fpm_msg_kind kind;
	uint16_t nl_type; /* nlmsg_type as received */
	union {
		struct fpm_route route; /* ROUTE_ADD, ROUTE_DEL */
		struct fpm_nhobj nh;    /* NH_ADD, NH_DEL */
	};
};

/*
 * Look at the start of a stream: with at least FPM_HDR_LEN bytes, check the
 * header and write the frame's full length to @ret_len. Returns 0, -EAGAIN
 * when fewer than FPM_HDR_LEN bytes are there, or -EBADMSG with @why set.
 */
int fpm_frame_len(const uint8_t *buf, size_t len, size_t *ret_len, char *why, size_t whylen);

/*
 * Decode the whole frame @frame of @len bytes (header included) into at
 * most @max messages. Returns the number of messages (>= 1), or -EBADMSG with
 * @why naming what is wrong; @msgs is then undefined. Any context.
 */
int fpm_decode(const uint8_t *frame, size_t len, struct fpm_msg *msgs, unsigned max, char *why,
	       size_t whylen);

/* Name of an rtm_protocol value for telemetry ("bgp", "static", ... or "proto-N"). */
const char *fpm_protocol_name(uint8_t protocol, char *buf, size_t len);

#endif

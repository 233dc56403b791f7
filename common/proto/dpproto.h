/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef CUCO_COMMON_DPPROTO_H
#define CUCO_COMMON_DPPROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/inet.h"

/*
 * The provisioning protocol between the control plane and cuco-dataplane
 * (schema version 1): JSON objects over ZeroMQ (ROUTER on the dataplane,
 * DEALER or REQ on the client). docs/ARCHITECTURE.md documents every
 * field. This module decodes and validates requests into plain structs; it
 * knows nothing of the fast path, so both planes and the fuzzer use it.
 */

#define DPP_VERSION 1
#define DPP_MAX_MESSAGE (64u << 20) /* bytes of one request */
#define DPP_MAX_CHANGES 2000000u
#define DPP_MAX_MATCH 64u           /* prefixes, VLANs or MACs per subscriber */
#define DPP_MAX_WALLED 64u
#define DPP_ID_LEN 64
#define DPP_NAME_LEN 64
#define DPP_PORT_LEN 16

enum dpp_avail { DPP_ACTIVE, DPP_SUSPENDED, DPP_WALLED };
enum dpp_mode { DPP_METER_NONE, DPP_METER_RFC2698, DPP_METER_RFC4115 };
enum dpp_action { DPP_FORWARD, DPP_REMARK, DPP_DROP };

struct dpp_meter {
	uint8_t mode;     /* enum dpp_mode */
	uint64_t cir;     /* bit/s */
	uint64_t pir;     /* bit/s; the excess rate (EIR) for RFC 4115 */
	uint64_t cbs;     /* bytes */
	uint64_t pbs;     /* bytes; EBS for RFC 4115 */
	uint8_t action[3]; /* green, yellow, red: enum dpp_action */
	uint8_t dscp[3];
};

struct dpp_l2 {
	uint8_t kind; /* DPP_L2_VLAN or DPP_L2_MAC */
	char port[DPP_PORT_LEN];
	uint16_t outer, inner;
	uint8_t mac[6];
};

#define DPP_L2_VLAN 1
#define DPP_L2_MAC 2

enum dpp_change_kind {
	DPP_PROFILE_UPSERT,
	DPP_PROFILE_DELETE,
	DPP_SUB_UPSERT,
	DPP_SUB_DELETE,
	DPP_SUB_AVAIL,
	DPP_WALLED_SET,
};

struct dpp_change {
	uint8_t kind;
	char id[DPP_ID_LEN];        /* subscriber id, or profile name */
	char profile[DPP_NAME_LEN]; /* DPP_SUB_UPSERT */
	uint8_t avail;
	struct dpp_meter dir[2];    /* DPP_PROFILE_UPSERT: up, down */
	struct inet_prefix *prefixes; /* DPP_SUB_UPSERT, or the allow-list of DPP_WALLED_SET */
	unsigned n_prefixes;
	struct dpp_l2 *l2;
	unsigned n_l2;
};

enum dpp_op {
	DPP_OP_HELLO,
	DPP_OP_BATCH,    /* changes applied atomically as a new generation */
	DPP_OP_RESYNC,   /* replace the whole state atomically */
	DPP_OP_GET,      /* profiles and subscribers (offset/limit) */
	DPP_OP_COUNTERS, /* one subscriber's counters, or all (offset/limit) */
};

struct dpp_request {
	uint8_t op;
	uint64_t seq;         /* echoed in the reply */
	uint64_t generation;  /* BATCH, RESYNC */
	bool has_expect;
	uint64_t expect;      /* BATCH: the generation the sender believes current */
	char id[DPP_ID_LEN];  /* COUNTERS: one subscriber; empty for all */
	uint64_t offset, limit;
	struct dpp_change *changes;
	size_t n_changes;
};

/* Where a request is wrong: a JSON path and why. */
struct dpp_error {
	char field[128];
	char reason[256];
};

/*
 * Decode and validate one request of @len bytes (need not be NUL-terminated).
 * Returns 0 with a request to free with dpp_request_free(), or -EINVAL with
 * @err naming the field (-ENOMEM on allocation failure).
 */
int dpp_decode(const char *buf, size_t len, struct dpp_request **ret, struct dpp_error *err);

/* Accepts NULL; returns NULL. */
struct dpp_request *dpp_request_free(struct dpp_request *req);

const char *dpp_avail_name(uint8_t avail);
const char *dpp_mode_name(uint8_t mode);
/* "forward", "drop" or "remark:N" into @buf (at least 12 bytes). */
const char *dpp_action_format(uint8_t action, uint8_t dscp, char *buf, size_t len);

#endif

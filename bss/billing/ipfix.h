/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef CUCO_BSS_BILLING_IPFIX_H
#define CUCO_BSS_BILLING_IPFIX_H

#include <stddef.h>
#include <stdint.h>

/*
 * IPFIX (RFC 7011) messages of per-service usage records, for billing
 * collectors (docs/usage.md, "IPFIX"). Pure: the caller sends the bytes.
 *
 * Every message carries the template set (template 256) before its data
 * set, so a collector that starts or restarts late decodes the very next
 * message (over UDP templates must be resent, RFC 7011 §8.4). Fields of a
 * record, in order:
 *
 *   octetDeltaCount (1)          unsigned64  bytes in the interval
 *   packetDeltaCount (2)         unsigned64  packets in the interval
 *   flowStartMilliseconds (152)  ms          start of the interval
 *   flowEndMilliseconds (153)    ms          end of the interval
 *   flowDirection (61)           unsigned8   0 ingress: from the subscriber
 *                                            (upstream), 1 egress: to it
 *   sourceIPv6Address (27)       16 octets   the service id (UUID) bits, so
 *                                            collectors that know no
 *                                            enterprise IE can group by it
 *   flowId (148)                 unsigned64  the usage row's id
 *   serviceId (PEN 32473, IE 1)  16 octets   the service id (UUID): the
 *                                            authoritative one
 *
 * 32473 is the Private Enterprise Number reserved for documentation
 * (RFC 5612); a deployment that registers its own changes IPFIX_PEN.
 */

#define IPFIX_VERSION 10
#define IPFIX_TEMPLATE_ID 256
#define IPFIX_PEN 32473u
#define IPFIX_IE_SERVICE_ID 1

enum { IPFIX_DIR_UP = 0, IPFIX_DIR_DOWN = 1 };

struct ipfix_record {
	uint64_t octets, packets;
	uint64_t start_ms, end_ms;
	uint8_t direction;
	uint8_t service[16];
	uint64_t usage_id;
};

/* Bytes of one data record, and of a message's header, template and set headers. */
#define IPFIX_RECORD_LEN 73u
#define IPFIX_OVERHEAD 64u

/* How many records fit a message of @mtu bytes (at least 1). */
size_t ipfix_records_max(size_t mtu);

/*
 * One message into @buf[@cap]: header (export time @export_s, sequence
 * number @seq = data records sent before this message in this observation
 * domain, modulo 2^32, @domain), the template set, a data set of @r[@n].
 * Returns its length, or -ENOSPC when @cap is too small, -EINVAL when @n is 0.
 */
int ipfix_encode(uint8_t *buf, size_t cap, uint32_t export_s, uint32_t seq, uint32_t domain,
		 const struct ipfix_record *r, size_t n);

/* The 16 bytes of a lowercase UUID text. Returns 0 or -EINVAL. */
int ipfix_uuid_bytes(const char *uuid, uint8_t ret[16]);

#endif

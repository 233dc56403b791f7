/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef CUCO_COMMON_INET_H
#define CUCO_COMMON_INET_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* An IPv4 or IPv6 address; IPv4 is kept in network byte order. */
struct inet_addr {
	uint8_t family; /* AF_INET or AF_INET6 */
	union {
		struct in_addr v4;
		struct in6_addr v6;
	};
};

struct inet_prefix {
	struct inet_addr addr;
	uint8_t len;
};

/* Longest text inet_*_format writes, with its NUL. */
#define INET_PREFIX_STRLEN (INET6_ADDRSTRLEN + 4)

/*
 * Parse "ADDR" (IPv4 dotted quad or IPv6). Returns 0, or -EINVAL.
 */
int inet_addr_parse(const char *s, struct inet_addr *ret_addr);

/*
 * Parse "ADDR/LEN". A missing "/LEN" is refused. Host bits are kept as
 * written (an interface address keeps them). Returns 0, or -EINVAL.
 */
int inet_prefix_parse(const char *s, struct inet_prefix *ret_prefix);

/* Width of the family's addresses in bits: 32 or 128. */
unsigned inet_family_bits(uint8_t family);

/* true if @prefix has bits set beyond its length. */
bool inet_prefix_has_host_bits(const struct inet_prefix *prefix);

/* Clear the bits beyond the prefix length. */
void inet_prefix_mask(struct inet_prefix *prefix);

/* true if @addr is inside @prefix (same family, first len bits equal). */
bool inet_prefix_contains(const struct inet_prefix *prefix, const struct inet_addr *addr);

/* true if the two prefixes share any address. */
bool inet_prefix_overlaps(const struct inet_prefix *a, const struct inet_prefix *b);

bool inet_addr_equal(const struct inet_addr *a, const struct inet_addr *b);

/* Text forms; @buf of at least INET_PREFIX_STRLEN. Return @buf. */
const char *inet_addr_format(const struct inet_addr *addr, char *buf, size_t len);
const char *inet_prefix_format(const struct inet_prefix *prefix, char *buf, size_t len);

#endif

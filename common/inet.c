/* SPDX-License-Identifier: BSD-3-Clause */
#include "common/inet.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int
inet_addr_parse(const char *s, struct inet_addr *ret_addr)
{
	struct inet_addr a;

	memset(&a, 0, sizeof(a));
	if (inet_pton(AF_INET, s, &a.v4) == 1) {
		a.family = AF_INET;
	} else if (inet_pton(AF_INET6, s, &a.v6) == 1) {
		a.family = AF_INET6;
	} else {
		return -EINVAL;
	}
	*ret_addr = a;
	return 0;
}

int
inet_prefix_parse(const char *s, struct inet_prefix *ret_prefix)
{
	char buf[INET6_ADDRSTRLEN + 8];
	struct inet_prefix p;
	const char *slash;
	unsigned long len;
	char *end;
	size_t n;

	slash = strchr(s, '/');
	if (slash == NULL)
		return -EINVAL;
	n = (size_t)(slash - s);
	if (n == 0 || n >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, s, n);
	buf[n] = '\0';
	memset(&p, 0, sizeof(p));
	if (inet_addr_parse(buf, &p.addr) < 0)
		return -EINVAL;
	if (slash[1] < '0' || slash[1] > '9')
		return -EINVAL;
	errno = 0;
	len = strtoul(slash + 1, &end, 10);
	if (errno != 0 || *end != '\0' || len > inet_family_bits(p.addr.family))
		return -EINVAL;
	p.len = (uint8_t)len;
	*ret_prefix = p;
	return 0;
}

unsigned
inet_family_bits(uint8_t family)
{
	return family == AF_INET ? 32 : 128;
}

static const uint8_t *
addr_bytes(const struct inet_addr *a)
{
	return a->family == AF_INET ? (const uint8_t *)&a->v4 : a->v6.s6_addr;
}

/* Compare the first @bits bits of two byte strings. */
static bool
bits_equal(const uint8_t *a, const uint8_t *b, unsigned bits)
{
	unsigned bytes = bits / 8, rem = bits % 8;

	if (memcmp(a, b, bytes) != 0)
		return false;
	if (rem == 0)
		return true;
	return ((a[bytes] ^ b[bytes]) & (uint8_t)(0xff << (8 - rem))) == 0;
}

bool
inet_prefix_has_host_bits(const struct inet_prefix *prefix)
{
	struct inet_prefix masked = *prefix;

	inet_prefix_mask(&masked);
	return !inet_addr_equal(&masked.addr, &prefix->addr);
}

void
inet_prefix_mask(struct inet_prefix *prefix)
{
	unsigned bits = inet_family_bits(prefix->addr.family);
	uint8_t *b = prefix->addr.family == AF_INET ? (uint8_t *)&prefix->addr.v4
						    : prefix->addr.v6.s6_addr;
	unsigned i;

	for (i = prefix->len; i < bits; i++)
		b[i / 8] &= (uint8_t)~(0x80 >> (i % 8));
}

bool
inet_prefix_contains(const struct inet_prefix *prefix, const struct inet_addr *addr)
{
	if (prefix->addr.family != addr->family)
		return false;
	return bits_equal(addr_bytes(&prefix->addr), addr_bytes(addr), prefix->len);
}

bool
inet_prefix_overlaps(const struct inet_prefix *a, const struct inet_prefix *b)
{
	unsigned len = a->len < b->len ? a->len : b->len;

	if (a->addr.family != b->addr.family)
		return false;
	return bits_equal(addr_bytes(&a->addr), addr_bytes(&b->addr), len);
}

bool
inet_addr_equal(const struct inet_addr *a, const struct inet_addr *b)
{
	if (a->family != b->family)
		return false;
	return memcmp(addr_bytes(a), addr_bytes(b), a->family == AF_INET ? 4 : 16) == 0;
}

const char *
inet_addr_format(const struct inet_addr *addr, char *buf, size_t len)
{
	if (inet_ntop(addr->family, addr_bytes(addr), buf, (socklen_t)len) == NULL)
		snprintf(buf, len, "?");
	return buf;
}

const char *
inet_prefix_format(const struct inet_prefix *prefix, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN];

	inet_addr_format(&prefix->addr, a, sizeof(a));
	snprintf(buf, len, "%s/%u", a, prefix->len);
	return buf;
}

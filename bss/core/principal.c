/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "bss/core/principal.h"
#include "common/hex.h"

static const char *const role_names[CUCO_ROLE_COUNT] = {
	[CUCO_ROLE_ADMIN] = "admin",
	[CUCO_ROLE_OPERATOR] = "operator",
	[CUCO_ROLE_SUPPORT] = "support",
	[CUCO_ROLE_BILLING] = "billing",
	[CUCO_ROLE_READONLY] = "read-only",
	[CUCO_ROLE_SELFCARE] = "self-care",
};

const char *
cuco_role_name(enum cuco_role r)
{
	return (unsigned)r < CUCO_ROLE_COUNT ? role_names[r] : "?";
}

int
cuco_role_parse(const char *name, enum cuco_role *ret)
{
	for (unsigned i = 0; i < CUCO_ROLE_COUNT; i++) {
		if (strcmp(name, role_names[i]) == 0) {
			*ret = (enum cuco_role)i;
			return 0;
		}
	}
	return -EINVAL;
}

static bool
all_zero(const unsigned char *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (b[i])
			return false;
	return true;
}

char *
cuco_traceparent_new(char *buf, unsigned len)
{
	unsigned char trace[16], parent[8];
	char t[33], p[17];

	/* W3C Trace Context §3.2.2.3: all-zero ids are invalid. */
	do
		randombytes_buf(trace, sizeof(trace));
	while (all_zero(trace, sizeof(trace)));
	do
		randombytes_buf(parent, sizeof(parent));
	while (all_zero(parent, sizeof(parent)));
	hex_encode(t, trace, sizeof(trace));
	hex_encode(p, parent, sizeof(parent));
	snprintf(buf, len, "00-%s-%s-01", t, p);
	return buf;
}

static bool
lower_hex(const char *s, size_t n)
{
	bool zero = true;

	for (size_t i = 0; i < n; i++) {
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
		if (s[i] != '0')
			zero = false;
	}
	return !zero;
}

bool
cuco_traceparent_valid(const char *s)
{
	/* W3C Trace Context §3.2: 00-<32 hex>-<16 hex>-<2 hex>, ids not all zero. */
	if (s == NULL || strlen(s) != 55)
		return false;
	if (s[0] != '0' || s[1] != '0' || s[2] != '-' || s[35] != '-' || s[52] != '-')
		return false;
	if (!lower_hex(s + 3, 32) || !lower_hex(s + 36, 16))
		return false;
	for (int i = 53; i < 55; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

void
cuco_trace_id(const char *traceparent, char buf[33])
{
	if (!cuco_traceparent_valid(traceparent)) {
		buf[0] = '\0';
		return;
	}
	memcpy(buf, traceparent + 3, 32);
	buf[32] = '\0';
}

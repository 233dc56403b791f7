/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef CUCO_COMMON_HEX_H
#define CUCO_COMMON_HEX_H

#include <stddef.h>
#include <stdint.h>

/* The value of hex digit @c (either case), or -1. */
static inline int
hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* @n bytes of @in as 2n lowercase hex digits and a NUL in @out (2n + 1 bytes). */
static inline void
hex_encode(char *out, const uint8_t *in, size_t n)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[2 * n] = '\0';
}

#endif

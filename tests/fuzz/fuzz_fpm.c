/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libFuzzer target: the FPM decoder (drivers/fpm.c) on arbitrary frames, as
 * a zebra, or anyone who reaches the listener, may send them. Whatever it
 * accepts must stay inside its limits.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "drivers/fpm.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_msg(const struct fpm_msg *m)
{
	if (m->kind == FPM_MSG_ROUTE_ADD || m->kind == FPM_MSG_ROUTE_DEL) {
		if (m->route.dst.len > inet_family_bits(m->route.dst.addr.family) ||
		    m->route.n_paths > FPM_MAX_PATHS)
			abort();
	} else if (m->kind == FPM_MSG_NH_ADD || m->kind == FPM_MSG_NH_DEL) {
		if (m->nh.id == 0 || m->nh.n_group > FPM_MAX_PATHS)
			abort();
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fpm_msg msgs[FPM_MAX_MSGS];
	char why[256];
	uint8_t *frame;
	int n, i;

	if (size > FPM_MAX_FRAME)
		return 0;
	/* A copy of exactly @size bytes, so ASan sees any read past the frame. */
	frame = malloc(size ? size : 1);
	if (frame == NULL)
		return 0;
	memcpy(frame, data, size);
	n = fpm_decode(frame, size, msgs, FPM_MAX_MSGS, why, sizeof(why));
	if (n > (int)FPM_MAX_MSGS || n == 0)
		abort();
	if (n < 0 && why[0] == '\0')
		abort(); /* every refusal names its reason */
	for (i = 0; i < n; i++)
		check_msg(&msgs[i]);
	free(frame);
	return 0;
}

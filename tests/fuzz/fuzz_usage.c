/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libFuzzer target: the decoder of the dataplane's usage messages on
 * arbitrary bytes, as the billing collector receives them from the network.
 * A refusal must name a reason; an accepted message must respect the
 * limits, and its counters must go through the delta rule.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bss/billing/usage.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct usage_msg *m = NULL;
	char err[256] = "";
	size_t i;

	if (usage_msg_decode((const char *)data, size, &m, err, sizeof(err)) < 0) {
		if (m != NULL || err[0] == '\0')
			abort();
		return 0;
	}
	if (m->n_subs + m->n_other > USAGE_MSG_SUBSCRIBERS_MAX || m->seq < 0 || m->time_ms < 0 ||
	    m->boot_id[0] == '\0')
		abort();
	for (i = 0; i < m->n_subs; i++) {
		struct usage_pos p = {.known = true, .seq = m->seq - 1,
				      .c = {m->subs[i].c.bytes_up / 2, m->subs[i].c.bytes_down,
					    m->subs[i].c.packets_up, m->subs[i].c.packets_down / 2}};
		struct usage_counters d;

		if (strlen(m->subs[i].id) != 36)
			abort();
		/* Never more than the cumulative value, whatever the position. */
		usage_delta(&p, m->seq, &m->subs[i].c, &d);
		if (d.bytes_up > m->subs[i].c.bytes_up || d.bytes_down > m->subs[i].c.bytes_down)
			abort();
	}
	usage_msg_free(m);
	return 0;
}

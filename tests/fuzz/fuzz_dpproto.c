/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libFuzzer target: the provisioning protocol's decoder on arbitrary bytes,
 * as the agent receives them from the network. A refusal must name a
 * reason; an accepted request must respect the schema's limits.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "common/proto/dpproto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dpp_request *r = NULL;
	struct dpp_error e;
	size_t i;

	if (dpp_decode((const char *)data, size, &r, &e) < 0) {
		if (r != NULL || e.reason[0] == '\0')
			abort();
		return 0;
	}
	for (i = 0; i < r->n_changes; i++)
		if (r->changes[i].n_prefixes > DPP_MAX_MATCH || r->changes[i].n_l2 > 2 * DPP_MAX_MATCH)
			abort();
	dpp_request_free(r);
	return 0;
}

/* SPDX-License-Identifier: BSD-3-Clause */
/* libFuzzer target: the dataplane's config parser on arbitrary bytes. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dataplane/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dp_config *cfg = NULL;
	char err[1024];
	char *buf;

	/* The file reader hands the parser a NUL-terminated buffer: do the same. */
	buf = malloc(size + 1);
	if (buf == NULL)
		return 0;
	memcpy(buf, data, size);
	buf[size] = '\0';
	if (dp_config_parse("fuzz.conf", buf, size, &cfg, err, sizeof(err)) == 0) {
		if (cfg->n_ports == 0 || cfg->n_ports > DP_MAX_PORTS)
			abort();
		dp_config_free(cfg);
	} else if (cfg != NULL || strncmp(err, "fuzz.conf", 9) != 0) {
		abort(); /* an error must name the file and leave nothing behind */
	}
	free(buf);
	return 0;
}

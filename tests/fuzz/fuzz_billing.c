/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libFuzzer target: what billing parses from outside (bss/billing/model.h:
 * dates of requests and price snapshots, tax rates) and controld's config
 * file with its billing-* keywords, on arbitrary bytes.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bss/billing/model.h"
#include "controlplane/controld/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ctl_config *cfg;
	char err[1024], out[11];
	unsigned bp;
	int32_t d, d2;
	char *buf;

	buf = malloc(size + 1);
	if (buf == NULL)
		return 0;
	memcpy(buf, data, size);
	buf[size] = '\0';
	/* A date that parses formats back to itself. */
	if (billing_date_parse(buf, &d) == 0) {
		billing_date_format(d, out);
		if (strncmp(out, buf, 10) != 0 || billing_date_parse(out, &d2) != 0 || d2 != d)
			abort();
	}
	if (billing_rate_parse(buf, &bp) == 0 && bp > 10000)
		abort();
	cfg = malloc(sizeof(*cfg));
	if (cfg != NULL) {
		ctl_config_defaults(cfg);
		if (ctl_config_parse("fuzz.conf", buf, size, cfg, err, sizeof(err)) == 0) {
			if (cfg->billing.tax_bp > 10000 ||
			    cfg->billing.n_dunning > BILLING_DUNNING_STEPS_MAX)
				abort();
			for (size_t i = 1; i < cfg->billing.n_dunning; i++)
				if (cfg->billing.dunning[i].days <= cfg->billing.dunning[i - 1].days)
					abort();
		} else if (strncmp(err, "fuzz.conf", 9) != 0) {
			abort(); /* an error names the file */
		}
		free(cfg);
	}
	free(buf);
	return 0;
}

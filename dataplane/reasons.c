/* SPDX-License-Identifier: BSD-3-Clause */
#include "dataplane/reasons.h"

#define DP_REASON_NAME(e, s) [DP_DROP_##e] = s,
const char *const dp_drop_names[DP_DROP_MAX] = {
	[DP_DROP_NONE] = "none",
	DP_DROP_REASONS(DP_REASON_NAME)
};
#undef DP_REASON_NAME

#define DP_REASON_NAME(e, s) [DP_PUNT_##e] = s,
const char *const dp_punt_names[DP_PUNT_MAX] = {
	DP_PUNT_REASONS(DP_REASON_NAME)
};
#undef DP_REASON_NAME

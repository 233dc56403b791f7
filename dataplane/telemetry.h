/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef CUCO_DATAPLANE_TELEMETRY_H
#define CUCO_DATAPLANE_TELEMETRY_H

#include "dataplane/dp.h"

/*
 * rte_telemetry commands (dpdk-telemetry.py): /cuco/ports, /cuco/stats
 * and /cuco/stats,<port>. Registered once @dp runs; callbacks run on the
 * telemetry thread and only read immutable port data and counters.
 */
int dp_telemetry_init(struct dp *dp);

#endif

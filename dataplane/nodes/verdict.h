/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef CUCO_DATAPLANE_VERDICT_H
#define CUCO_DATAPLANE_VERDICT_H

#include <stdint.h>

/*
 * What a stage decides for a packet, in one integer: forward out of a port,
 * punt to the kernel for a reason, or drop for a reason.
 */
typedef uint32_t verdict_t;

#define VERDICT_FWD 0x000u
#define VERDICT_PUNT 0x100u
#define VERDICT_DROP 0x200u
#define VERDICT_KIND_MASK 0xf00u

#define verdict_fwd(port) ((verdict_t)(VERDICT_FWD | (port)))
#define verdict_punt(reason) ((verdict_t)(VERDICT_PUNT | (reason)))
#define verdict_drop(reason) ((verdict_t)(VERDICT_DROP | (reason)))
#define verdict_kind(v) ((v) & VERDICT_KIND_MASK)
#define verdict_arg(v) ((v) & 0xffu)

#endif

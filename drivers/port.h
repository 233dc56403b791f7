/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef CUCO_DRIVERS_PORT_H
#define CUCO_DRIVERS_PORT_H

#include <stddef.h>
#include <stdint.h>

#include <rte_mempool.h>

/*
 * Ethernet device set-up for any PMD (a NIC, or af_packet, tap, pcap, ring,
 * null vdevs): queues, descriptors, start and stop.
 */

/*
 * Configure @port_id with @nb_rxq RX and @nb_txq TX queues fed from @mp and
 * start it. On failure returns a negative errno with @err saying what the
 * device refused.
 */
int port_start(uint16_t port_id, uint16_t nb_rxq, uint16_t nb_txq, struct rte_mempool *mp,
	       char *err, size_t errlen);

/* Stop and close; accepts a port that never started. */
void port_close(uint16_t port_id);

/* Queues the device offers: @ret_rx, @ret_tx. Returns 0 or -errno. */
int port_max_queues(uint16_t port_id, uint16_t *ret_rx, uint16_t *ret_tx);

#endif

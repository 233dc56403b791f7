/* SPDX-License-Identifier: BSD-3-Clause */
#include "drivers/port.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <rte_ethdev.h>

#define PORT_RX_DESC 1024
#define PORT_TX_DESC 1024

int
port_max_queues(uint16_t port_id, uint16_t *ret_rx, uint16_t *ret_tx)
{
	struct rte_eth_dev_info info;
	int ret;

	ret = rte_eth_dev_info_get(port_id, &info);
	if (ret < 0)
		return ret;
	*ret_rx = info.max_rx_queues;
	*ret_tx = info.max_tx_queues;
	return 0;
}

int
port_start(uint16_t port_id, uint16_t nb_rxq, uint16_t nb_txq, struct rte_mempool *mp,
	   char *err, size_t errlen)
{
	struct rte_eth_dev_info info;
	struct rte_eth_conf conf;
	uint16_t nb_rxd = PORT_RX_DESC, nb_txd = PORT_TX_DESC, q;
	int socket = rte_eth_dev_socket_id(port_id);
	int ret;

	if (socket < 0)
		socket = SOCKET_ID_ANY;
	memset(&conf, 0, sizeof(conf));
	/* Where the NIC checks IPv4 header checksums, the fast path need not. */
	if (rte_eth_dev_info_get(port_id, &info) == 0 &&
	    (info.rx_offload_capa & RTE_ETH_RX_OFFLOAD_IPV4_CKSUM))
		conf.rxmode.offloads |= RTE_ETH_RX_OFFLOAD_IPV4_CKSUM;
	ret = rte_eth_dev_configure(port_id, nb_rxq, nb_txq, &conf);
	if (ret < 0) {
		snprintf(err, errlen, "configure with %u RX / %u TX queues: %s", nb_rxq, nb_txq,
			 strerror(-ret));
		return ret;
	}
	ret = rte_eth_dev_adjust_nb_rx_tx_desc(port_id, &nb_rxd, &nb_txd);
	if (ret < 0) {
		snprintf(err, errlen, "descriptor counts: %s", strerror(-ret));
		return ret;
	}
	for (q = 0; q < nb_rxq; q++) {
		ret = rte_eth_rx_queue_setup(port_id, q, nb_rxd, (unsigned)socket, NULL, mp);
		if (ret < 0) {
			snprintf(err, errlen, "RX queue %u: %s", q, strerror(-ret));
			return ret;
		}
	}
	for (q = 0; q < nb_txq; q++) {
		ret = rte_eth_tx_queue_setup(port_id, q, nb_txd, (unsigned)socket, NULL);
		if (ret < 0) {
			snprintf(err, errlen, "TX queue %u: %s", q, strerror(-ret));
			return ret;
		}
	}
	ret = rte_eth_dev_start(port_id);
	if (ret < 0) {
		snprintf(err, errlen, "start: %s", strerror(-ret));
		return ret;
	}
	/* IPv6 neighbour discovery needs multicast; not every PMD can filter it. */
	rte_eth_allmulticast_enable(port_id);
	return 0;
}

void
port_close(uint16_t port_id)
{
	if (!rte_eth_dev_is_valid_port(port_id))
		return;
	rte_eth_dev_stop(port_id);
	rte_eth_dev_close(port_id);
}

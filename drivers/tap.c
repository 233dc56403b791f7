/* SPDX-License-Identifier: BSD-3-Clause */
#include "drivers/tap.h"

#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <rte_dev.h>
#include <rte_ethdev.h>

int
tap_create(unsigned index, const char *ifname, const struct rte_ether_addr *mac,
	   uint16_t *ret_port_id, char *err, size_t errlen)
{
	char name[64], devargs[192], macs[RTE_ETHER_ADDR_FMT_SIZE];
	uint16_t port_id;
	int ret;

	snprintf(name, sizeof(name), "net_tap_cuco%u", index);
	rte_ether_format_addr(macs, sizeof(macs), mac);
	snprintf(devargs, sizeof(devargs), "%s,iface=%s,mac=%s", name, ifname, macs);
	ret = rte_dev_probe(devargs);
	if (ret < 0) {
		snprintf(err, errlen, "create tap %s (%s): %s", ifname, name, strerror(-ret));
		return ret;
	}
	ret = rte_eth_dev_get_port_by_name(name, &port_id);
	if (ret < 0) {
		snprintf(err, errlen, "tap %s created but has no port", ifname);
		return ret;
	}
	*ret_port_id = port_id;
	return 0;
}

static int
write_sysctl(const char *path, const char *value, char *err, size_t errlen)
{
	ssize_t n;
	int fd;

	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -errno;
	}
	n = write(fd, value, strlen(value));
	close(fd);
	if (n < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -errno;
	}
	return 0;
}

struct sysctl_setting {
	const char *dir;
	bool per_if;
	const char *key;
	const char *value;
};

static int
apply_settings(const struct sysctl_setting *settings, size_t n, const char *ifname, char *err,
	       size_t errlen)
{
	char path[256];
	size_t i;
	int ret;

	for (i = 0; i < n; i++) {
		if (settings[i].per_if)
			snprintf(path, sizeof(path), "/proc/sys/net/%s/%s/%s", settings[i].dir,
				 ifname, settings[i].key);
		else
			snprintf(path, sizeof(path), "/proc/sys/net/%s/%s", settings[i].dir,
				 settings[i].key);
		ret = write_sysctl(path, settings[i].value, err, errlen);
		if (ret < 0)
			return ret;
	}
	return 0;
}

int
tap_kernel_quiet(const char *ifname, char *err, size_t errlen)
{
	static const struct sysctl_setting settings[] = {
		{"ipv4/conf", true, "forwarding", "0"},
		{"ipv4/conf", true, "rp_filter", "1"},
		{"ipv4/conf", true, "arp_ignore", "8"},
		{"ipv6/conf", true, "disable_ipv6", "1"},
	};

	return apply_settings(settings, RTE_DIM(settings), ifname, err, errlen);
}

int
tap_kernel_global(char *err, size_t errlen)
{
	/* /proc/sys/net/<dir>[/<ifname>]/<key> = <value> */
	static const struct sysctl_setting settings[] = {
		{"ipv4", false, "ip_forward", "1"},
		{"ipv6/conf/all", false, "forwarding", "1"},
		{"ipv4/conf/all", false, "rp_filter", "0"},
		{"ipv4/conf/all", false, "send_redirects", "0"},
		/*
		 * Taps are created after this: without DAD their link-local
		 * address is usable at once, and the kernel solicits neighbours
		 * for what the fast path punts from the first packet on.
		 */
		{"ipv6/conf/default", false, "accept_dad", "0"},
	};

	return apply_settings(settings, RTE_DIM(settings), NULL, err, errlen);
}

int
tap_kernel_setup(const char *ifname, char *err, size_t errlen)
{
	static const struct sysctl_setting settings[] = {
		{"ipv6/conf", true, "accept_dad", "0"},
		{"ipv4/conf", true, "rp_filter", "0"},
		{"ipv4/conf", true, "send_redirects", "0"},
		{"ipv6/conf", true, "accept_ra", "0"},
		{"ipv6/conf", true, "accept_redirects", "0"},
	};

	return apply_settings(settings, RTE_DIM(settings), ifname, err, errlen);
}

/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef CUCO_CONTROLD_ORDER_NETSTUB_H
#define CUCO_CONTROLD_ORDER_NETSTUB_H

#include <stddef.h>

#include "controlplane/bus/bus.h"

/* Tests only (see order_netstub.c): the network domain's saga commands, without a dataplane. */
#define ORDER_NETSTUB_DOMAIN "netstub"

/* Migrate its schema and serve it on @bus; @d (borrowed by the bus) is filled here. */
int order_netstub_serve(struct bus *bus, const char *url, struct bus_domain *d, char *err,
			size_t errlen);

#endif

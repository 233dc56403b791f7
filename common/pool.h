/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef CUCO_COMMON_POOL_H
#define CUCO_COMMON_POOL_H

#include <stddef.h>

/*
 * A fixed set of handles (database connections, domain handles) that threads
 * borrow one at a time: pool_get() waits while all are out. Thread-safe.
 */

struct pool;

/* A pool of the @n handles of @items (copied; the handles stay the caller's). NULL on ENOMEM. */
struct pool *pool_new(void *const *items, size_t n);

/* Free the pool, not the handles; accepts NULL, returns NULL. */
struct pool *pool_free(struct pool *p);

/* Borrow a handle, waiting while all are out. */
void *pool_get(struct pool *p);

/* Give a borrowed handle back. */
void pool_put(struct pool *p, void *item);

/* How many handles there are. */
size_t pool_size(const struct pool *p);

/* Handle @i, for closing them at the end. */
void *pool_item(const struct pool *p, size_t i);

#endif

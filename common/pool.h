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

/* Opens one handle into @ret, or returns -errno with the reason in @err. */
typedef int (*pool_open_fn)(void *arg, void **ret, char *err, size_t errlen);
typedef void (*pool_close_fn)(void *item);

/*
 * A pool of @n handles opened with @open(@arg); pool_free() closes them with
 * @close. On failure the handles opened so far are closed. Returns 0, the
 * failing @open's -errno (reason in @err), or -ENOMEM.
 */
int pool_open(size_t n, pool_open_fn open, pool_close_fn close, void *arg, struct pool **ret,
	      char *err, size_t errlen);

/*
 * Free the pool, and close its handles when it was made by pool_open() (not
 * those of pool_new(), which stay the caller's). Accepts NULL, returns NULL.
 */
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

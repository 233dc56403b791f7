/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "common/pool.h"

struct pool {
	pthread_mutex_t lock;
	pthread_cond_t freed;
	size_t n;
	size_t nfree;
	void **items;
	void **free_items; /* a stack of the handles not lent */
	pool_close_fn close; /* pool_open()'s: pool_free() closes the handles */
};

struct pool *
pool_new(void *const *items, size_t n)
{
	struct pool *p = calloc(1, sizeof(*p));

	if (p == NULL)
		return NULL;
	p->items = calloc(n ? n : 1, sizeof(void *));
	p->free_items = calloc(n ? n : 1, sizeof(void *));
	if (p->items == NULL || p->free_items == NULL) {
		free(p->items);
		free(p->free_items);
		free(p);
		return NULL;
	}
	memcpy(p->items, items, n * sizeof(void *));
	memcpy(p->free_items, items, n * sizeof(void *));
	p->n = p->nfree = n;
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->freed, NULL);
	return p;
}

int
pool_open(size_t n, pool_open_fn open, pool_close_fn close, void *arg, struct pool **ret,
	  char *err, size_t errlen)
{
	void **items = calloc(n ? n : 1, sizeof(void *));
	struct pool *p;
	size_t i;
	int r;

	if (items == NULL) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	for (i = 0; i < n; i++) {
		r = open(arg, &items[i], err, errlen);
		if (r < 0)
			goto out_close;
	}
	p = pool_new(items, n);
	if (p == NULL) {
		snprintf(err, errlen, "out of memory");
		r = -ENOMEM;
		goto out_close;
	}
	p->close = close;
	free(items);
	*ret = p;
	return 0;
out_close:
	while (i-- > 0)
		close(items[i]);
	free(items);
	return r;
}

struct pool *
pool_free(struct pool *p)
{
	if (p == NULL)
		return NULL;
	if (p->close != NULL)
		for (size_t i = 0; i < p->n; i++)
			p->close(p->items[i]);
	pthread_mutex_destroy(&p->lock);
	pthread_cond_destroy(&p->freed);
	free(p->items);
	free(p->free_items);
	free(p);
	return NULL;
}

void *
pool_get(struct pool *p)
{
	void *item;

	pthread_mutex_lock(&p->lock);
	while (p->nfree == 0)
		pthread_cond_wait(&p->freed, &p->lock);
	item = p->free_items[--p->nfree];
	pthread_mutex_unlock(&p->lock);
	return item;
}

void
pool_put(struct pool *p, void *item)
{
	pthread_mutex_lock(&p->lock);
	p->free_items[p->nfree++] = item;
	pthread_cond_signal(&p->freed);
	pthread_mutex_unlock(&p->lock);
}

size_t
pool_size(const struct pool *p)
{
	return p->n;
}

void *
pool_item(const struct pool *p, size_t i)
{
	return i < p->n ? p->items[i] : NULL;
}

/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Idempotency-Key (draft-ietf-httpapi-idempotency-key-header): the gateway's
 * side (claim or replay, waiting for a request that holds the key) and an
 * in-memory store for tests and single-process use.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/clock.h"
#include "controlplane/rest/rest_internal.h"

void
rest_idem_record_clear(struct rest_idem_record *rec)
{
	free(rec->headers);
	free(rec->body);
	memset(rec, 0, sizeof(*rec));
}

static int
record_copy(struct rest_idem_record *dst, const struct rest_idem_record *src)
{
	*dst = *src;
	dst->headers = strdup(src->headers ? src->headers : "");
	dst->body = malloc(src->body_len + 1);
	if (dst->headers == NULL || dst->body == NULL) {
		free(dst->headers);
		free(dst->body);
		memset(dst, 0, sizeof(*dst));
		return -ENOMEM;
	}
	if (src->body_len)
		memcpy(dst->body, src->body, src->body_len);
	dst->body[src->body_len] = '\0';
	return 0;
}

int
rest_idem_acquire(const struct rest_hooks *h, const char *subject, const char *key,
		  const char *hash, unsigned wait_ms, struct rest_idem_record *ret)
{
	uint64_t deadline = cuco_monotonic_ms() + wait_ms;

	for (;;) {
		int rc = h->idem->get(h->idem_arg, subject, key, ret);

		if (rc == 0) {
			if (strcmp(ret->request_hash, hash) != 0) {
				rest_idem_record_clear(ret);
				return -EILSEQ;
			}
			return 1;
		}
		if (rc == -ENOENT) {
			rc = h->idem->begin(h->idem_arg, subject, key, hash);
			if (rc == 0)
				return 0;
			if (rc != -EEXIST)
				return rc;
			/* Claimed between get and begin: look again. */
			continue;
		}
		if (rc != -EBUSY)
			return rc;
		/* Another request holds the key: wait for its answer. */
		if (cuco_monotonic_ms() >= deadline)
			return -EBUSY;
		nanosleep(&(struct timespec){.tv_nsec = 10 * 1000 * 1000}, NULL);
	}
}

/* ---- in-memory store ------------------------------------------------------ */

struct idem_entry {
	char subject[64];
	char key[256];
	char hash[65];
	bool done;
	uint64_t expires_ms;
	struct rest_idem_record rec;
};

struct rest_idem_mem {
	pthread_mutex_t lock;
	size_t max, n;
	unsigned ttl_ms;
	struct idem_entry *v;
};

struct rest_idem_mem *
rest_idem_mem_new(size_t max_entries, unsigned ttl_s)
{
	struct rest_idem_mem *m = calloc(1, sizeof(*m));

	if (m == NULL)
		return NULL;
	m->v = calloc(max_entries ? max_entries : 1, sizeof(*m->v));
	if (m->v == NULL) {
		free(m);
		return NULL;
	}
	pthread_mutex_init(&m->lock, NULL);
	m->max = max_entries ? max_entries : 1;
	m->ttl_ms = ttl_s * 1000u;
	return m;
}

struct rest_idem_mem *
rest_idem_mem_free(struct rest_idem_mem *m)
{
	if (m == NULL)
		return NULL;
	for (size_t i = 0; i < m->n; i++)
		rest_idem_record_clear(&m->v[i].rec);
	pthread_mutex_destroy(&m->lock);
	free(m->v);
	free(m);
	return NULL;
}

static struct idem_entry *
mem_find(struct rest_idem_mem *m, const char *subject, const char *key)
{
	uint64_t now = cuco_monotonic_ms();

	for (size_t i = 0; i < m->n; i++) {
		struct idem_entry *e = &m->v[i];

		if (e->done && e->expires_ms <= now) {
			/* Expired: drop it, the last entry takes its place. */
			rest_idem_record_clear(&e->rec);
			*e = m->v[--m->n];
			memset(&m->v[m->n], 0, sizeof(m->v[m->n]));
			i--;
			continue;
		}
		if (strcmp(e->subject, subject) == 0 && strcmp(e->key, key) == 0)
			return e;
	}
	return NULL;
}

static int
mem_get(void *arg, const char *subject, const char *key, struct rest_idem_record *ret)
{
	struct rest_idem_mem *m = arg;
	struct idem_entry *e;
	int rc;

	pthread_mutex_lock(&m->lock);
	e = mem_find(m, subject, key);
	if (e == NULL)
		rc = -ENOENT;
	else if (!e->done)
		rc = -EBUSY;
	else
		rc = record_copy(ret, &e->rec);
	pthread_mutex_unlock(&m->lock);
	return rc;
}

static int
mem_begin(void *arg, const char *subject, const char *key, const char *hash)
{
	struct rest_idem_mem *m = arg;
	struct idem_entry *e;
	int rc = 0;

	if (strlen(subject) >= sizeof(e->subject) || strlen(key) >= sizeof(e->key))
		return -EINVAL;
	pthread_mutex_lock(&m->lock);
	if (mem_find(m, subject, key) != NULL) {
		rc = -EEXIST;
	} else if (m->n == m->max) {
		rc = -ENOSPC;
	} else {
		e = &m->v[m->n++];
		memset(e, 0, sizeof(*e));
		/* Lengths checked above. */
		memcpy(e->subject, subject, strlen(subject) + 1);
		memcpy(e->key, key, strlen(key) + 1);
		snprintf(e->hash, sizeof(e->hash), "%s", hash);
	}
	pthread_mutex_unlock(&m->lock);
	return rc;
}

static int
mem_put(void *arg, const char *subject, const char *key, const struct rest_idem_record *rec)
{
	struct rest_idem_mem *m = arg;
	struct idem_entry *e;
	int rc = -ENOENT;

	pthread_mutex_lock(&m->lock);
	e = mem_find(m, subject, key);
	if (e != NULL && !e->done) {
		rc = record_copy(&e->rec, rec);
		if (rc == 0) {
			e->done = true;
			e->expires_ms = cuco_monotonic_ms() + m->ttl_ms;
		}
	}
	pthread_mutex_unlock(&m->lock);
	return rc;
}

static void
mem_release(void *arg, const char *subject, const char *key)
{
	struct rest_idem_mem *m = arg;
	struct idem_entry *e;

	pthread_mutex_lock(&m->lock);
	e = mem_find(m, subject, key);
	if (e != NULL && !e->done) {
		*e = m->v[--m->n];
		memset(&m->v[m->n], 0, sizeof(m->v[m->n]));
	}
	pthread_mutex_unlock(&m->lock);
}

const struct rest_idem_ops rest_idem_mem_ops = {
	.get = mem_get,
	.begin = mem_begin,
	.put = mem_put,
	.release = mem_release,
};

/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Token buckets by key (principal subject, peer address) in a fixed table:
 * memory does not grow with the number of peers. A key probes a few slots
 * from its hash; a slot whose bucket has refilled is as good as free. When
 * all are busy the key shares its home slot: under a flood of distinct keys
 * some keys are limited together, never unlimited.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "controlplane/rest/rest_internal.h"

#define PROBES 8

struct bucket {
	char key[64];
	double tokens;
	uint64_t last_ms;
};

struct rest_ratelimit {
	pthread_mutex_t lock;
	double rate; /* tokens per millisecond */
	double burst;
	unsigned nslots; /* a power of two */
	struct bucket slots[];
};

struct rest_ratelimit *
rest_ratelimit_new(double rate, double burst, unsigned slots)
{
	struct rest_ratelimit *rl;
	unsigned n = 1;

	if (!(rate > 0))
		return NULL;
	while (n < slots && n < (1u << 20))
		n <<= 1;
	rl = calloc(1, sizeof(*rl) + n * sizeof(struct bucket));
	if (rl == NULL)
		return NULL;
	pthread_mutex_init(&rl->lock, NULL);
	rl->rate = rate / 1000.0;
	rl->burst = burst >= 1 ? burst : 1;
	rl->nslots = n;
	return rl;
}

struct rest_ratelimit *
rest_ratelimit_free(struct rest_ratelimit *rl)
{
	if (rl == NULL)
		return NULL;
	pthread_mutex_destroy(&rl->lock);
	free(rl);
	return NULL;
}

static uint32_t
fnv1a(const char *s)
{
	uint32_t h = 2166136261u;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

static double
refilled(const struct rest_ratelimit *rl, const struct bucket *b, uint64_t now_ms)
{
	double t = b->tokens + (double)(now_ms - b->last_ms) * rl->rate;

	return t > rl->burst ? rl->burst : t;
}

static struct bucket *
find(struct rest_ratelimit *rl, const char *key, uint64_t now_ms)
{
	uint32_t home = fnv1a(key) & (rl->nslots - 1);
	struct bucket *spare = NULL;

	for (unsigned i = 0; i < PROBES; i++) {
		struct bucket *b = &rl->slots[(home + i) & (rl->nslots - 1)];

		if (strncmp(b->key, key, sizeof(b->key) - 1) == 0 && b->key[0] != '\0')
			return b;
		if (spare == NULL && (b->key[0] == '\0' || refilled(rl, b, now_ms) >= rl->burst))
			spare = b;
	}
	if (spare == NULL)
		return &rl->slots[home];
	strncpy(spare->key, key, sizeof(spare->key) - 1);
	spare->key[sizeof(spare->key) - 1] = '\0';
	spare->tokens = rl->burst;
	spare->last_ms = now_ms;
	return spare;
}

bool
rest_ratelimit_take(struct rest_ratelimit *rl, const char *key, uint64_t now_ms,
		    unsigned *ret_retry_s)
{
	struct bucket *b;
	bool ok;

	if (rl == NULL)
		return true;
	pthread_mutex_lock(&rl->lock);
	b = find(rl, key, now_ms);
	b->tokens = refilled(rl, b, now_ms);
	b->last_ms = now_ms;
	ok = b->tokens >= 1;
	if (ok) {
		b->tokens -= 1;
	} else {
		/* RFC 9110 §10.2.3: whole seconds, rounded up, at least 1. */
		double wait_s = (1 - b->tokens) / rl->rate / 1000.0;
		unsigned s = (unsigned)wait_s;

		*ret_retry_s = s < wait_s ? s + 1 : s;
		if (*ret_retry_s == 0)
			*ret_retry_s = 1;
	}
	pthread_mutex_unlock(&rl->lock);
	return ok;
}

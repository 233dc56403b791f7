/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * What checking a token needs of its user (state, session epoch, roles,
 * name, customer), kept per process for at most SEC_AUTHCACHE_TTL_MS so
 * that a request's authentication does not read the user row each time.
 *
 * Correctness rests on two rules:
 *  - every change to a user made through this process forgets its entry
 *    after COMMIT (sec_commit), before the change is answered: a request
 *    that starts after the answer reads the row again;
 *  - a fill that read the row before such a forget is dropped: the reader
 *    takes the generation before its SELECT and stores only if no forget
 *    happened meanwhile (else it could put back what the change replaced).
 * Changes made elsewhere (another process on the same database, SQL by
 * hand) take effect within the TTL.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <pthread.h>

#include "bss/security/service.h"

#define SLOTS 1024 /* direct-mapped: a collision only costs a query */

struct slot {
	struct sec_auth_user u;
	uint64_t at_ms;
	bool used;
};

/* Shared by every handle of the process; one short critical section per call. */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct slot slots[SLOTS];
static uint64_t generation;

static uint64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* FNV-1a of the id text. */
static struct slot *
slot_of(const char *id)
{
	uint32_t h = 2166136261u;

	for (; *id; id++)
		h = (h ^ (uint8_t)*id) * 16777619u;
	return &slots[h % SLOTS];
}

uint64_t
sec_authcache_generation(void)
{
	uint64_t g;

	pthread_mutex_lock(&lock);
	g = generation;
	pthread_mutex_unlock(&lock);
	return g;
}

bool
sec_authcache_get(const char *id, struct sec_auth_user *ret)
{
	struct slot *s = slot_of(id);
	bool hit;

	pthread_mutex_lock(&lock);
	hit = s->used && strcmp(s->u.id, id) == 0 && now_ms() - s->at_ms < SEC_AUTHCACHE_TTL_MS;
	if (hit)
		*ret = s->u;
	pthread_mutex_unlock(&lock);
	return hit;
}

void
sec_authcache_put(const struct sec_auth_user *u, uint64_t read_generation)
{
	struct slot *s = slot_of(u->id);

	pthread_mutex_lock(&lock);
	/* A change committed since the row was read: what we hold may be older. */
	if (read_generation == generation) {
		s->u = *u;
		s->at_ms = now_ms();
		s->used = true;
	}
	pthread_mutex_unlock(&lock);
}

void
sec_authcache_forget(const char *id)
{
	struct slot *s = slot_of(id);

	pthread_mutex_lock(&lock);
	if (s->used && strcmp(s->u.id, id) == 0)
		s->used = false;
	generation++;
	pthread_mutex_unlock(&lock);
}

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
 *
 * Beside it, by the same id, the last row of each user this process read
 * or wrote, for optimistic writes (sec_userhint_get): only a guess, which
 * the write checks against the row's version in its own transaction.
 */
#include <stdio.h>
#include <string.h>

#include <pthread.h>

#include "bss/security/service.h"
#include "common/clock.h"

#define SLOTS 1024 /* direct-mapped: a collision only costs a query */

struct slot {
	struct sec_auth_user u;
	uint64_t at_ms;
	bool used;
};

/* Rows for optimistic writes (sec_userhint_get): no TTL, the version decides. */
struct hint {
	struct user_row u;
	bool used;
};

/* Shared by every handle of the process; one short critical section per call. */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct slot slots[SLOTS];
static struct hint hints[SLOTS];
static uint64_t generation;

/* FNV-1a of the id text. */
static uint32_t
index_of(const char *id)
{
	uint32_t h = 2166136261u;

	for (; *id; id++)
		h = (h ^ (uint8_t)*id) * 16777619u;
	return h % SLOTS;
}

static struct slot *
slot_of(const char *id)
{
	return &slots[index_of(id)];
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
	hit = s->used && strcmp(s->u.id, id) == 0 &&
	      cuco_monotonic_ms() - s->at_ms < SEC_AUTHCACHE_TTL_MS;
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
		s->at_ms = cuco_monotonic_ms();
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

bool
sec_userhint_get(const char *id, struct user_row *ret)
{
	struct hint *h = &hints[index_of(id)];
	bool hit;

	pthread_mutex_lock(&lock);
	hit = h->used && strcmp(h->u.id, id) == 0;
	if (hit)
		*ret = h->u;
	pthread_mutex_unlock(&lock);
	return hit;
}

void
sec_userhint_put(const struct user_row *u)
{
	struct hint *h = &hints[index_of(u->id)];

	pthread_mutex_lock(&lock);
	/* Threads that committed one after the other may put in the other order. */
	if (!h->used || strcmp(h->u.id, u->id) != 0 || h->u.version < u->version) {
		h->u = *u;
		memset(h->u.password_hash, 0, sizeof(h->u.password_hash));
		h->used = true;
	}
	pthread_mutex_unlock(&lock);
}

void
sec_userhint_forget(const char *id)
{
	struct hint *h = &hints[index_of(id)];

	pthread_mutex_lock(&lock);
	if (h->used && strcmp(h->u.id, id) == 0)
		h->used = false;
	pthread_mutex_unlock(&lock);
}

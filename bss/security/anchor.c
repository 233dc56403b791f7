/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The audit chainer and anchor writer, off the request path. Writers insert
 * their audit records into audit_pending, each with its own MAC, and note it
 * here; one thread per state directory then links them into audit_log
 * (store_audit_chain: under the chain's lock, in one short transaction) and
 * writes the anchor of the newest record at most every
 * SEC_ANCHOR_INTERVAL_MS (security_anchor_advance: a lock file, write
 * beside, fsync, rename, fsync of the directory). No request waits for the
 * chain's lock, another writer's turn or the anchor.
 *
 * The anchor may lag the table by the interval, also after a crash;
 * verification accepts a lagging anchor (the records after it are still
 * chained) and flushes this process's chainer first. Records a crash left
 * pending are chained by the next chainer to start. Shared by the handles
 * of one directory, counted by sec_anchor_open/close; the last close chains
 * and writes what is left.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <pthread.h>
#include <sodium.h>

#include "bss/security/service.h"
#include "bss/security/store.h"
#include "common/log.h"

#define WRITERS_MAX 16
#define URL_MAX 1024

struct anchor_writer {
	char dir[PATH_MAX];
	char url[URL_MAX];
	uint8_t key[SECURITY_KEY_LEN];
	unsigned refs;
	bool running; /* the thread, started at the first note */
	bool stop;
	pthread_t thread;
	pthread_cond_t wake; /* a note, a flush or stop */
	pthread_cond_t done; /* a round ended */
	uint64_t notes;	     /* notes so far */
	uint64_t handled;    /* notes the last finished round covered */
	unsigned flushes;    /* flushes waiting: no pause */
	/* The thread's own. */
	struct db *db;
	int64_t seq, anchored;
	uint8_t hash[SECURITY_HASH_LEN];
};

/* The writers and their shared fields. */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct anchor_writer *writers[WRITERS_MAX];

static struct anchor_writer *
find(const char *dir)
{
	for (unsigned i = 0; i < WRITERS_MAX; i++)
		if (writers[i] && strcmp(writers[i]->dir, dir) == 0)
			return writers[i];
	return NULL;
}

static void
deadline_in(struct timespec *ts, unsigned ms)
{
	clock_gettime(CLOCK_REALTIME, ts);
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (long)(ms % 1000) * 1000000;
	if (ts->tv_nsec >= 1000000000) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000;
	}
}

/* Chain what is pending, then anchor the newest record. Without the lock. */
static void
chain_and_anchor(struct anchor_writer *w)
{
	char err[512];
	unsigned n;
	int rc;

	if (w->db == NULL && db_open_domain(w->url, "security", &w->db, err, sizeof(err)) < 0) {
		log_err("audit: chainer: %s", err);
		w->db = NULL;
		return;
	}
	do {
		rc = store_audit_chain(w->db, w->key, 0, &n, &w->seq, w->hash, err, sizeof(err));
		if (rc == -EIO && db_reset(w->db) == 0)
			rc = store_audit_chain(w->db, w->key, 0, &n, &w->seq, w->hash, err,
					       sizeof(err));
		if (rc < 0)
			log_err("audit: chainer: %s", err);
		/*
		 * A short batch was all that was pending when it was read: what
		 * committed since waits for the next round, so that a steady
		 * stream of writes shares rounds instead of being chased.
		 */
	} while (rc == 0 && n == STORE_CHAIN_MAX);
	/* Best effort, as before: a failed write leaves the anchor lagging. */
	if (w->seq > w->anchored) {
		security_anchor_advance(w->dir, w->seq, w->hash, NULL);
		w->anchored = w->seq;
	}
}

static void *
writer_main(void *arg)
{
	struct anchor_writer *w = arg;
	struct timespec until;
	uint64_t notes;

	pthread_mutex_lock(&lock);
	for (;;) {
		while (!w->stop && w->notes == w->handled)
			pthread_cond_wait(&w->wake, &lock);
		notes = w->notes;
		pthread_mutex_unlock(&lock);
		chain_and_anchor(w);
		pthread_mutex_lock(&lock);
		w->handled = notes;
		pthread_cond_broadcast(&w->done);
		if (w->stop && w->notes == w->handled)
			break;
		/* Coalesce: the commits of the next interval share one round. */
		deadline_in(&until, SEC_ANCHOR_INTERVAL_MS);
		while (!w->stop && w->flushes == 0)
			if (pthread_cond_timedwait(&w->wake, &lock, &until) == ETIMEDOUT)
				break;
	}
	pthread_mutex_unlock(&lock);
	db_close(w->db);
	w->db = NULL;
	return NULL;
}

int
sec_anchor_open(const char *dir, const char *url, const uint8_t key[SECURITY_KEY_LEN])
{
	struct anchor_writer *w;
	int rc = 0;

	if (strlen(url) >= URL_MAX)
		return -ENAMETOOLONG;
	pthread_mutex_lock(&lock);
	w = find(dir);
	if (w == NULL) {
		unsigned i = 0;

		while (i < WRITERS_MAX && writers[i])
			i++;
		w = i < WRITERS_MAX ? calloc(1, sizeof(*w)) : NULL;
		if (w == NULL) {
			rc = -ENOMEM;
			goto out_unlock;
		}
		snprintf(w->dir, sizeof(w->dir), "%s", dir);
		snprintf(w->url, sizeof(w->url), "%s", url);
		memcpy(w->key, key, SECURITY_KEY_LEN);
		pthread_cond_init(&w->wake, NULL);
		pthread_cond_init(&w->done, NULL);
		writers[i] = w;
		/* Records a crash left pending are chained without waiting for a write. */
		w->notes = 1;
		if (pthread_create(&w->thread, NULL, writer_main, w) == 0)
			w->running = true;
	}
	w->refs++;
out_unlock:
	pthread_mutex_unlock(&lock);
	return rc;
}

void
sec_anchor_note(const char *dir)
{
	struct anchor_writer *w;

	pthread_mutex_lock(&lock);
	w = find(dir);
	if (w != NULL) {
		w->notes++;
		pthread_cond_signal(&w->wake);
	}
	pthread_mutex_unlock(&lock);
}

void
sec_anchor_flush(const char *dir)
{
	struct anchor_writer *w;
	uint64_t target;

	pthread_mutex_lock(&lock);
	w = find(dir);
	if (w != NULL && w->running) {
		/* A round that starts after this call: it sees every commit before it. */
		target = ++w->notes;
		w->flushes++;
		pthread_cond_signal(&w->wake);
		while (w->handled < target)
			pthread_cond_wait(&w->done, &lock);
		w->flushes--;
	}
	pthread_mutex_unlock(&lock);
}

void
sec_anchor_close(const char *dir)
{
	struct anchor_writer *w;
	bool join = false;

	pthread_mutex_lock(&lock);
	w = find(dir);
	if (w == NULL || --w->refs > 0) {
		pthread_mutex_unlock(&lock);
		return;
	}
	for (unsigned i = 0; i < WRITERS_MAX; i++)
		if (writers[i] == w)
			writers[i] = NULL;
	w->stop = true;
	w->notes++; /* one last round */
	join = w->running;
	pthread_cond_signal(&w->wake);
	pthread_mutex_unlock(&lock);
	if (join)
		pthread_join(w->thread, NULL);
	pthread_cond_destroy(&w->wake);
	pthread_cond_destroy(&w->done);
	sodium_memzero(w->key, sizeof(w->key));
	free(w);
}

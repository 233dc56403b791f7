/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The audit anchor, written off the request path: commits note their last
 * record here, and one thread per state directory writes the newest noted
 * (seq, hash) at most every SEC_ANCHOR_INTERVAL_MS (security_anchor_advance:
 * a lock file, write beside, fsync, rename, fsync of the directory). A
 * request no longer waits for that nor for the other writers' turns.
 *
 * The anchor may lag the table by the interval, also after a crash;
 * verification accepts a lagging anchor (the records after it are still
 * chained) and flushes this process's writer first, so that it checks what
 * the process has committed. Shared by the handles of one directory,
 * counted by sec_anchor_open/close; the last close writes what is left.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <pthread.h>

#include "bss/security/service.h"

#define WRITERS_MAX 16

struct anchor_writer {
	char dir[PATH_MAX];
	unsigned refs;
	bool running; /* the thread, started at the first note */
	bool stop;
	pthread_t thread;
	pthread_cond_t wake; /* a note, a flush or stop */
	pthread_cond_t done; /* a write ended */
	int64_t noted;	     /* newest seq noted */
	uint8_t hash[SECURITY_HASH_LEN];
	int64_t written;     /* newest seq written (or tried) */
	unsigned flushes;    /* flushes waiting: no pause */
};

/* The writers and all their fields. */
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

static void *
writer_main(void *arg)
{
	struct anchor_writer *w = arg;
	uint8_t hash[SECURITY_HASH_LEN];
	struct timespec until;
	int64_t seq;

	pthread_mutex_lock(&lock);
	for (;;) {
		while (!w->stop && w->noted <= w->written)
			pthread_cond_wait(&w->wake, &lock);
		if (w->noted <= w->written)
			break; /* stopping, nothing left */
		seq = w->noted;
		memcpy(hash, w->hash, sizeof(hash));
		pthread_mutex_unlock(&lock);
		/* Best effort, as before: a failed write leaves the anchor lagging. */
		security_anchor_advance(w->dir, seq, hash, NULL);
		pthread_mutex_lock(&lock);
		w->written = seq;
		pthread_cond_broadcast(&w->done);
		/* Coalesce: the commits of the next interval share one write. */
		deadline_in(&until, SEC_ANCHOR_INTERVAL_MS);
		while (!w->stop && w->flushes == 0)
			if (pthread_cond_timedwait(&w->wake, &lock, &until) == ETIMEDOUT)
				break;
	}
	pthread_mutex_unlock(&lock);
	return NULL;
}

int
sec_anchor_open(const char *dir)
{
	struct anchor_writer *w;
	int rc = 0;

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
		pthread_cond_init(&w->wake, NULL);
		pthread_cond_init(&w->done, NULL);
		writers[i] = w;
	}
	w->refs++;
out_unlock:
	pthread_mutex_unlock(&lock);
	return rc;
}

void
sec_anchor_note(const char *dir, int64_t seq, const uint8_t hash[SECURITY_HASH_LEN])
{
	struct anchor_writer *w;
	bool inline_write = false;

	pthread_mutex_lock(&lock);
	w = find(dir);
	if (w != NULL && seq > w->noted) {
		w->noted = seq;
		memcpy(w->hash, hash, SECURITY_HASH_LEN);
		if (!w->running && pthread_create(&w->thread, NULL, writer_main, w) == 0)
			w->running = true;
		inline_write = !w->running;
		pthread_cond_signal(&w->wake);
	}
	pthread_mutex_unlock(&lock);
	/* No thread (none could start, or no writer for @dir): write now, as before. */
	if (w == NULL || inline_write)
		security_anchor_advance(dir, seq, hash, NULL);
}

void
sec_anchor_flush(const char *dir)
{
	struct anchor_writer *w;
	int64_t target;

	pthread_mutex_lock(&lock);
	w = find(dir);
	if (w != NULL && w->running) {
		target = w->noted;
		w->flushes++;
		pthread_cond_signal(&w->wake);
		while (w->written < target)
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
	join = w->running;
	pthread_cond_signal(&w->wake);
	pthread_mutex_unlock(&lock);
	/* The thread writes what is left, then ends. */
	if (join)
		pthread_join(w->thread, NULL);
	pthread_cond_destroy(&w->wake);
	pthread_cond_destroy(&w->done);
	free(w);
}

/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <zmq.h>

#include "common/clock.h"
#include "controlplane/bus/bus_private.h"

#define RELAY_RETRY_MS 1000 /* after a database failure */
/*
 * A round that found events holds the next one back this long: under a
 * steady write load one numbering transaction (and its WAL flush), one
 * publish and one batch of each consumer cover the commits of the
 * interval, not one each. An event after a quiet spell goes at once.
 * 20 ms, not 5: at about 1 600 writes a second, 5 ms still meant a
 * hundred rounds a second, each with fixed costs (the numbering's and the
 * consumers' transactions); 20 ms halves them (docs/PERFORMANCE.md).
 */
#define RELAY_COALESCE_MS 20
/* inbox_seen records (event ids, command replies) are kept a week. */
#define BUS_SEEN_RETENTION_S (7u * 86400u)
#define BUS_PRUNE_FIRST_MS 60000u	 /* after the start */
#define BUS_PRUNE_MS (3600u * 1000u) /* then hourly, sooner while a bite was full */
#define BUS_PRUNE_MAX 10000u

/* One event: [topic "<domain>.<type>"][envelope]. */
static int
publish_event(struct bus_served *s, const struct es_event *ev)
{
	char topic[BUS_NAME_MAX + OUTBOX_NAME_MAX + 1];
	json_t *env = es_event_to_json(ev, s->name);
	int rc;

	if (env == NULL)
		return -ENOMEM;
	snprintf(topic, sizeof(topic), "%s.%s", s->name, ev->type);
	/* PUB never blocks: past the high-water mark a subscriber loses it and replays. */
	rc = zmq_send(s->pub, topic, strlen(topic), ZMQ_SNDMORE) < 0 ||
			     bus_send_json(s->pub, env, 0) < 0
		     ? -EIO
		     : 0;
	json_decref(env);
	return rc;
}

static void
publish_heartbeat(struct bus_served *s)
{
	char topic[BUS_NAME_MAX + sizeof(BUS_HEARTBEAT_TOPIC)], now[40];
	json_t *hb;

	cuco_rfc3339_now_us(now, sizeof(now));
	hb = json_pack("{s:s, s:I, s:s}", "domain", s->name, "last_seq",
		       (json_int_t)atomic_load(&s->published), "time", now);
	if (hb == NULL)
		return;
	snprintf(topic, sizeof(topic), "%s%s", s->name, BUS_HEARTBEAT_TOPIC);
	if (zmq_send(s->pub, topic, strlen(topic), ZMQ_SNDMORE) >= 0)
		bus_send_json(s->pub, hb, 0);
	json_decref(hb);
}

/* Publish every committed event after the last published one, in pages. */
static int
publish_pending(struct bus_served *s)
{
	struct es_event *ev;
	char err[512];
	int64_t last;
	size_t n;
	int rc;

	/* Number what was committed since (the writers leave seq to the relay). */
	do {
		rc = outbox_number(s->relay_db, s->cfg.page, &n, err, sizeof(err));
		if (rc < 0)
			return rc;
	} while (n == s->cfg.page && !bus_served_stopping(s));
	do {
		rc = es_read_range(s->relay_db, s->cfg.upcasters, atomic_load(&s->published),
				   s->cfg.page, &ev, &n, err, sizeof(err));
		if (rc < 0)
			return rc;
		for (size_t i = 0; i < n; i++) {
			/* gapless seq: each row is the next one */
			rc = publish_event(s, &ev[i]);
			if (rc < 0)
				break;
			atomic_store(&s->published, ev[i].seq);
		}
		es_events_free(ev, n);
		if (rc < 0)
			return rc;
	} while (n == s->cfg.page && !bus_served_stopping(s));
	rc = es_last_seq(s->relay_db, &last, err, sizeof(err));
	if (rc == 0)
		atomic_store(&s->committed, last);
	return rc;
}

/* Clear the wakeup: true when a commit in this process appended events. */
static bool
drain_wake(int fd)
{
	uint64_t v;

	return read(fd, &v, sizeof(v)) == (ssize_t)sizeof(v);
}

/*
 * The relay starts at the last committed seq: what was committed before and
 * never published (a crash between commit and publish) reaches consumers by
 * replay, which the heartbeat's last_seq makes them ask for.
 */
void *
bus_relay_main(void *arg)
{
	struct bus_served *s = arg;
	bool healthy = true, started = false, wake = true;
	int fd = s->cfg.no_notify ? -1 : outbox_wake_fd(s->name);
	uint64_t next_poll = 0, next_hb = 0, retry_at = 0, hold_until = 0, now;
	uint64_t next_prune = cuco_monotonic_ms() + BUS_PRUNE_FIRST_MS;
	char err[256];
	int64_t last;

	while (!bus_served_stopping(s)) {
		now = cuco_monotonic_ms();
		if (!healthy && now >= retry_at) {
			healthy = db_reset(s->relay_db) == 0;
			wake = true;
			retry_at = now + RELAY_RETRY_MS;
		}
		if (healthy && !started) {
			healthy = es_last_seq(s->relay_db, &last, err, sizeof(err)) == 0;
			if (healthy) {
				atomic_store(&s->published, last);
				atomic_store(&s->committed, last);
				started = true;
			}
		}
		zmq_pollitem_t item = {.fd = fd, .events = ZMQ_POLLIN};
		long timeout = BUS_TICK_MS;

		/* A wakeup inside the hold: sleep to its end, the wakeup kept. */
		if (wake && now < hold_until)
			timeout = (long)(hold_until - now);
		if (fd >= 0) {
			if (zmq_poll(&item, 1, timeout) > 0 && drain_wake(fd))
				wake = true;
		} else {
			zmq_poll(NULL, 0, timeout);
		}
		now = cuco_monotonic_ms();
		if (healthy && started && ((wake && now >= hold_until) || now >= next_poll)) {
			int64_t before = atomic_load(&s->published);

			wake = false;
			next_poll = now + s->cfg.poll_ms;
			if (publish_pending(s) < 0) {
				healthy = false;
				retry_at = now + RELAY_RETRY_MS;
			} else if (atomic_load(&s->published) != before) {
				hold_until = now + RELAY_COALESCE_MS;
			}
		}
		if (started && now >= next_hb) {
			publish_heartbeat(s);
			next_hb = now + s->cfg.heartbeat_ms;
		}
		/* The domain's dedupe records, in bounded bites, off the hot path. */
		if (healthy && started && now >= next_prune) {
			size_t n = 0;

			if (inbox_prune(s->relay_db, BUS_SEEN_RETENTION_S, BUS_PRUNE_MAX, &n, err,
					sizeof(err)) < 0) {
				healthy = false;
				retry_at = now + RELAY_RETRY_MS;
			}
			next_prune = now + (n == BUS_PRUNE_MAX ? 1000 : BUS_PRUNE_MS);
		}
	}
	return NULL;
}

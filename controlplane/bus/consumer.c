/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zmq.h>

#include "bss/core/outbox.h"
#include "common/clock.h"
#include "controlplane/bus/bus_private.h"

#define CONSUMER_RECV_BURST 256   /* messages taken from the sockets per round */
#define CONSUMER_APPLY_BURST 32   /* batches applied per round */
/* Events in one transaction; each is a subtransaction: stay below the 64 a backend caches. */
#define CONSUMER_BATCH 32
#define CONSUMER_RETRY_MAX_MS 5000
#define CONSUMER_PAGE 256         /* events asked for per replay request */
#define CONSUMER_DB_RETRY_MS 1000
#define CONSUMER_REFRESH_MS 1000  /* dead-letter count for the stats */

struct source {
	char name[BUS_NAME_MAX];
	void *dealer;             /* to the source's ROUTER, for replays */
	int64_t next;             /* the seq that may enter the queue next */
	bool want_replay;         /* a gap, a start, a page that said "more" */
	bool replaying;           /* a request is out */
	uint64_t replay_at;       /* when it was sent, or when to send again */
	_Atomic int64_t position; /* applied; for the stats */
	_Atomic int64_t head;     /* highest seq heard of */
};

struct item {
	unsigned src;
	struct es_event ev;
};

struct bus_consumer_state {
	struct bus_consumer_state *next;
	struct bus *bus;
	struct bus_consumer cfg;
	char name[OUTBOX_NAME_MAX];
	char domain[BUS_NAME_MAX];
	struct inbox inbox;
	struct db *db;
	bool db_ok;
	void *sub;
	struct source src[BUS_SOURCES_MAX];
	unsigned n_src;
	struct item *q; /* ring */
	unsigned q_head, q_len, q_cap;
	uint64_t retry_at;
	unsigned backoff_ms;
	uint64_t refresh_at;
	pthread_t th;
	bool started;
	_Atomic uint64_t applied, skipped, failed, parked;
	_Atomic int64_t dead_letters;
	_Atomic unsigned depth;
};

static bool
stopping(struct bus_consumer_state *cs)
{
	return atomic_load(&cs->bus->stop);
}

/* ---------------------------------------------------------------- queue */

static unsigned
q_free(const struct bus_consumer_state *cs)
{
	return cs->q_cap - cs->q_len;
}

/* Takes ownership of @ev's payload. */
static void
q_push(struct bus_consumer_state *cs, unsigned src, struct es_event *ev)
{
	struct item *it = &cs->q[(cs->q_head + cs->q_len) % cs->q_cap];

	it->src = src;
	it->ev = *ev;
	cs->q_len++;
	cs->src[src].next = ev->seq + 1;
	atomic_store(&cs->depth, cs->q_len);
}

static void
q_pop(struct bus_consumer_state *cs)
{
	json_decref(cs->q[cs->q_head].ev.payload);
	cs->q_head = (cs->q_head + 1) % cs->q_cap;
	cs->q_len--;
	atomic_store(&cs->depth, cs->q_len);
}

/* Drop the queued events of @src (a resync); keeps the others in order. */
static void
q_drop_source(struct bus_consumer_state *cs, unsigned src)
{
	unsigned kept = 0;

	for (unsigned i = 0; i < cs->q_len; i++) {
		struct item *it = &cs->q[(cs->q_head + i) % cs->q_cap];

		if (it->src == src)
			json_decref(it->ev.payload);
		else
			cs->q[(cs->q_head + kept++) % cs->q_cap] = *it;
	}
	cs->q_len = kept;
	atomic_store(&cs->depth, cs->q_len);
}

/* ---------------------------------------------------------- receiving */

static void
heard_of(struct source *s, int64_t seq)
{
	if (seq > atomic_load(&s->head))
		atomic_store(&s->head, seq);
}

/* An event from the live stream or a replay page; takes @ev's payload. */
static void
offer(struct bus_consumer_state *cs, unsigned src, struct es_event *ev)
{
	struct source *s = &cs->src[src];

	heard_of(s, ev->seq);
	if (ev->seq == s->next && q_free(cs) > 0) {
		q_push(cs, src, ev);
		return;
	}
	/* Ahead of what we have (lost on the way, or no room): fetch from the outbox. */
	if (ev->seq >= s->next)
		s->want_replay = true;
	json_decref(ev->payload);
}

static int
source_by_topic(struct bus_consumer_state *cs, const char *topic, size_t len, bool *heartbeat)
{
	for (unsigned i = 0; i < cs->n_src; i++) {
		size_t n = strlen(cs->src[i].name);

		if (len <= n || memcmp(topic, cs->src[i].name, n) != 0)
			continue;
		*heartbeat = len == n + strlen(BUS_HEARTBEAT_TOPIC) &&
			     memcmp(topic + n, BUS_HEARTBEAT_TOPIC, len - n) == 0;
		if (*heartbeat || topic[n] == '.')
			return (int)i;
	}
	return -1;
}

/* [topic][envelope]: validated before anything is used. */
static void
on_live(struct bus_consumer_state *cs, zmq_msg_t *f, int n)
{
	char err[256], topic[BUS_NAME_MAX + OUTBOX_NAME_MAX + 1];
	const json_t *last;
	struct es_event ev;
	bool heartbeat;
	json_t *j;
	int src;

	if (n != 2)
		return;
	src = source_by_topic(cs, zmq_msg_data(&f[0]), zmq_msg_size(&f[0]), &heartbeat);
	if (src < 0 || (j = bus_frame_json(&f[1])) == NULL)
		return;
	if (heartbeat) {
		last = json_object_get(j, "last_seq");
		if (json_is_integer(last) && json_integer_value(last) >= 0) {
			heard_of(&cs->src[src], json_integer_value(last));
			if (json_integer_value(last) >= cs->src[src].next)
				cs->src[src].want_replay = true;
		}
	} else if (es_event_from_json(j, &ev, err, sizeof(err)) == 0) {
		snprintf(topic, sizeof(topic), "%s.%s", cs->src[src].name, ev.type);
		if (zmq_msg_size(&f[0]) == strlen(topic))
			offer(cs, (unsigned)src, &ev);
		else
			json_decref(ev.payload);
	}
	json_decref(j);
}

/* [""][{"kind": "events", ...}] from source @src's ROUTER. */
static void
on_replay(struct bus_consumer_state *cs, unsigned src, zmq_msg_t *f, int n)
{
	struct source *s = &cs->src[src];
	const json_t *events, *e, *last;
	const char *kind, *domain;
	struct es_event ev;
	bool bad = false;
	char err[256];
	json_t *j;
	size_t i;

	if (n != 2 || zmq_msg_size(&f[0]) != 0 || (j = bus_frame_json(&f[1])) == NULL)
		return;
	kind = json_string_value(json_object_get(j, "kind"));
	domain = json_string_value(json_object_get(j, "domain"));
	events = json_object_get(j, "events");
	if (kind == NULL || strcmp(kind, "events") != 0 || domain == NULL ||
	    strcmp(domain, s->name) != 0 || !json_is_array(events)) {
		/* The source could not answer (its database): ask again later. */
		s->replaying = false;
		s->want_replay = true;
		s->replay_at = cuco_monotonic_ms() + cs->cfg.replay_timeout_ms / 4;
		json_decref(j);
		return;
	}
	json_array_foreach(events, i, e) {
		if (es_event_from_json(e, &ev, err, sizeof(err)) < 0) {
			/* A source that sends what it should not: do not hammer it. */
			bad = true;
			break;
		}
		if (ev.seq < s->next) {
			json_decref(ev.payload); /* already queued from the live stream */
			continue;
		}
		offer(cs, src, &ev);
	}
	last = json_object_get(j, "last_seq");
	if (json_is_integer(last))
		heard_of(s, json_integer_value(last));
	s->replaying = false;
	s->replay_at = bad ? cuco_monotonic_ms() + cs->cfg.replay_timeout_ms : 0;
	s->want_replay = json_is_true(json_object_get(j, "more")) ||
			 (json_is_integer(last) && json_integer_value(last) >= s->next);
	json_decref(j);
}

static void
request_replays(struct bus_consumer_state *cs, uint64_t now)
{
	for (unsigned i = 0; i < cs->n_src; i++) {
		struct source *s = &cs->src[i];
		unsigned room = q_free(cs);
		json_t *req;

		/* Unanswered (the source is down or restarting): ask again. */
		if (s->replaying && now >= s->replay_at + cs->cfg.replay_timeout_ms) {
			s->replaying = false;
			s->want_replay = true;
			s->replay_at = 0;
		}
		if (s->replaying || !s->want_replay || room == 0 || now < s->replay_at)
			continue;
		req = json_pack("{s:s, s:s, s:I, s:i}", "kind", "replay", "domain", s->name,
				"from_seq", (json_int_t)s->next, "max",
				room < CONSUMER_PAGE ? (int)room : CONSUMER_PAGE);
		if (req != NULL && zmq_send(s->dealer, "", 0, ZMQ_SNDMORE | ZMQ_DONTWAIT) == 0 &&
		    bus_send_json(s->dealer, req, ZMQ_DONTWAIT) == 0) {
			s->replaying = true;
			s->want_replay = false;
			s->replay_at = now;
		}
		json_decref(req);
	}
}

/* ------------------------------------------------------------- applying */

static void
resync(struct bus_consumer_state *cs, unsigned src)
{
	char err[256];
	int64_t pos;

	if (inbox_position(cs->db, cs->name, cs->src[src].name, &pos, err, sizeof(err)) < 0) {
		cs->db_ok = false;
		return;
	}
	q_drop_source(cs, src);
	cs->src[src].next = pos + 1;
	atomic_store(&cs->src[src].position, pos);
	cs->src[src].want_replay = true;
}

/*
 * Apply the head of the queue: up to CONSUMER_BATCH consecutive events of
 * the head's source in one transaction (one commit for all). Returns false
 * when the consumer must wait.
 */
static bool
apply_head(struct bus_consumer_state *cs, uint64_t now)
{
	struct es_event ev[CONSUMER_BATCH];
	enum inbox_outcome out[CONSUMER_BATCH];
	unsigned src = cs->q[cs->q_head].src;
	size_t n = 0, done = 0;
	char err[512];
	int rc;

	while (n < CONSUMER_BATCH && n < cs->q_len) {
		const struct item *it = &cs->q[(cs->q_head + n) % cs->q_cap];

		if (it->src != src)
			break;
		ev[n++] = it->ev;
	}
	rc = inbox_apply_batch(cs->db, &cs->inbox, cs->src[src].name, ev, n, out, &done, err,
			       sizeof(err));
	if (rc < 0) {
		if (rc == -EIO)
			cs->db_ok = false;
		cs->retry_at = now + CONSUMER_DB_RETRY_MS;
		return false;
	}
	for (size_t i = 0; i < done; i++) {
		switch (out[i]) {
		case INBOX_FAILED:
			atomic_fetch_add(&cs->failed, 1);
			cs->retry_at = now + cs->backoff_ms;
			cs->backoff_ms = cs->backoff_ms * 2 > CONSUMER_RETRY_MAX_MS
						 ? CONSUMER_RETRY_MAX_MS
						 : cs->backoff_ms * 2;
			return false;
		case INBOX_GAP:
			resync(cs, src);
			return false;
		case INBOX_APPLIED:
			atomic_fetch_add(&cs->applied, 1);
			break;
		case INBOX_SKIPPED:
			atomic_fetch_add(&cs->skipped, 1);
			break;
		case INBOX_PARKED:
			atomic_fetch_add(&cs->parked, 1);
			atomic_fetch_add(&cs->dead_letters, 1);
			break;
		}
		if (ev[i].seq > atomic_load(&cs->src[src].position))
			atomic_store(&cs->src[src].position, ev[i].seq);
		cs->backoff_ms = cs->cfg.retry_ms;
		q_pop(cs);
	}
	return true;
}

static void
refresh(struct bus_consumer_state *cs, uint64_t now)
{
	char err[256];
	int64_t n;

	if (!cs->db_ok && now >= cs->retry_at) {
		cs->db_ok = db_reset(cs->db) == 0;
		cs->retry_at = now + (cs->db_ok ? 0 : CONSUMER_DB_RETRY_MS);
	}
	if (cs->db_ok && now >= cs->refresh_at) {
		if (inbox_dead_letters_parked(cs->db, cs->name, &n, err, sizeof(err)) == 0)
			atomic_store(&cs->dead_letters, n);
		cs->refresh_at = now + CONSUMER_REFRESH_MS;
	}
}

static void
receive(struct bus_consumer_state *cs, long timeout)
{
	zmq_pollitem_t items[1 + BUS_SOURCES_MAX];
	zmq_msg_t f[3];
	int n;

	items[0] = (zmq_pollitem_t){.socket = cs->sub, .events = ZMQ_POLLIN};
	for (unsigned i = 0; i < cs->n_src; i++)
		items[1 + i] = (zmq_pollitem_t){.socket = cs->src[i].dealer, .events = ZMQ_POLLIN};
	if (zmq_poll(items, (int)(1 + cs->n_src), timeout) <= 0)
		return;
	for (int k = 0; k < CONSUMER_RECV_BURST && (items[0].revents & ZMQ_POLLIN); k++) {
		n = bus_recv_frames(cs->sub, f, 2);
		if (n <= 0)
			break;
		on_live(cs, f, n);
		bus_frames_close(f, n > 2 ? 2 : n);
	}
	for (unsigned i = 0; i < cs->n_src; i++) {
		while (items[1 + i].revents & ZMQ_POLLIN) {
			n = bus_recv_frames(cs->src[i].dealer, f, 2);
			if (n <= 0)
				break;
			on_replay(cs, i, f, n);
			bus_frames_close(f, n > 2 ? 2 : n);
		}
	}
}

void *
bus_consumer_main(void *arg)
{
	struct bus_consumer_state *cs = arg;
	uint64_t now;
	long timeout;

	while (!stopping(cs)) {
		now = cuco_monotonic_ms();
		refresh(cs, now);
		request_replays(cs, now);
		timeout = BUS_TICK_MS;
		if (cs->q_len > 0 && cs->db_ok)
			timeout = now >= cs->retry_at ? 0
			    : (long)(cs->retry_at - now) < timeout ? (long)(cs->retry_at - now)
								   : timeout;
		receive(cs, timeout);
		now = cuco_monotonic_ms();
		for (int k = 0; k < CONSUMER_APPLY_BURST && cs->q_len > 0 && cs->db_ok &&
				now >= cs->retry_at && !stopping(cs);
		     k++)
			if (!apply_head(cs, now))
				break;
	}
	return NULL;
}

/* --------------------------------------------------------- life cycle */

static struct bus_consumer_state *
state_free(struct bus_consumer_state *cs)
{
	if (cs == NULL)
		return NULL;
	if (cs->started)
		pthread_join(cs->th, NULL);
	while (cs->q_len > 0)
		q_pop(cs);
	free(cs->q);
	for (unsigned i = 0; i < cs->n_src; i++)
		if (cs->src[i].dealer)
			zmq_close(cs->src[i].dealer);
	if (cs->sub)
		zmq_close(cs->sub);
	db_close(cs->db);
	free(cs);
	return NULL;
}

static int
check_config(struct bus *bus, const struct bus_consumer *c, char *err, size_t errlen)
{
	if (c == NULL || c->name == NULL || !(c->name[0] >= 'a' && c->name[0] <= 'z') ||
	    !outbox_type_valid(c->name) || !db_name_valid(c->domain) || c->db_url == NULL ||
	    c->handler == NULL || c->n_sources < 1 || c->n_sources > BUS_SOURCES_MAX ||
	    c->sources == NULL) {
		snprintf(err, errlen, "bus: consumer: a name, a domain, a database URL, a handler "
			 "and 1..%d sources are required", BUS_SOURCES_MAX);
		return -EINVAL;
	}
	for (size_t i = 0; i < c->n_sources; i++) {
		if (!db_name_valid(c->sources[i])) {
			snprintf(err, errlen, "bus: consumer %s: source '%s' is no domain name",
				 c->name, c->sources[i] ? c->sources[i] : "");
			return -EINVAL;
		}
		for (size_t k = 0; k < i; k++)
			if (strcmp(c->sources[i], c->sources[k]) == 0) {
				snprintf(err, errlen, "bus: consumer %s: source %s twice", c->name,
					 c->sources[i]);
				return -EINVAL;
			}
	}
	pthread_mutex_lock(&bus->lock);
	for (struct bus_consumer_state *cs = bus->consumers; cs; cs = cs->next)
		if (strcmp(cs->name, c->name) == 0) {
			pthread_mutex_unlock(&bus->lock);
			snprintf(err, errlen, "bus: consumer %s runs already", c->name);
			return -EEXIST;
		}
	pthread_mutex_unlock(&bus->lock);
	return 0;
}

/* Sockets and positions, before the thread starts. */
static int
connect_sources(struct bus_consumer_state *cs, char *err, size_t errlen)
{
	char ep[BUS_ENDPOINT_MAX], prefix[BUS_NAME_MAX + sizeof(BUS_HEARTBEAT_TOPIC)];
	int hwm = (int)cs->q_cap;
	int64_t pos;

	cs->sub = zmq_socket(cs->bus->ctx, ZMQ_SUB);
	if (cs->sub == NULL)
		goto out_zmq;
	bus_socket_options(cs->sub);
	/* Bounded: what does not fit is lost here and fetched again by replay. */
	zmq_setsockopt(cs->sub, ZMQ_RCVHWM, &hwm, sizeof(hwm));
	for (unsigned i = 0; i < cs->n_src; i++) {
		struct source *s = &cs->src[i];

		if (inbox_position(cs->db, cs->name, s->name, &pos, err, errlen) < 0)
			return -EIO;
		s->next = pos + 1;
		atomic_store(&s->position, pos);
		atomic_store(&s->head, pos);
		s->want_replay = true; /* catch up from where we stand */

		snprintf(prefix, sizeof(prefix), "%s.", s->name);
		zmq_setsockopt(cs->sub, ZMQ_SUBSCRIBE, prefix, strlen(prefix));
		snprintf(prefix, sizeof(prefix), "%s%s", s->name, BUS_HEARTBEAT_TOPIC);
		zmq_setsockopt(cs->sub, ZMQ_SUBSCRIBE, prefix, strlen(prefix));
		bus_endpoint_events(cs->bus, s->name, ep, sizeof(ep));
		if (zmq_connect(cs->sub, ep) != 0)
			goto out_zmq;
		s->dealer = zmq_socket(cs->bus->ctx, ZMQ_DEALER);
		if (s->dealer == NULL)
			goto out_zmq;
		bus_socket_options(s->dealer);
		bus_endpoint_cmd(cs->bus, s->name, ep, sizeof(ep));
		if (zmq_connect(s->dealer, ep) != 0)
			goto out_zmq;
	}
	return 0;
out_zmq:
	snprintf(err, errlen, "bus: consumer %s: %s", cs->name, zmq_strerror(zmq_errno()));
	return -zmq_errno();
}

int
bus_consumer_start(struct bus *bus, const struct bus_consumer *c, char *err, size_t errlen)
{
	struct bus_consumer_state *cs;
	int rc;

	rc = check_config(bus, c, err, errlen);
	if (rc < 0)
		return rc;
	cs = calloc(1, sizeof(*cs));
	if (cs == NULL)
		goto out_nomem;
	cs->bus = bus;
	cs->cfg = *c;
	snprintf(cs->name, sizeof(cs->name), "%s", c->name);
	snprintf(cs->domain, sizeof(cs->domain), "%s", c->domain);
	if (cs->cfg.max_attempts == 0)
		cs->cfg.max_attempts = 5;
	if (cs->cfg.queue_len == 0)
		cs->cfg.queue_len = 1024;
	if (cs->cfg.retry_ms == 0)
		cs->cfg.retry_ms = 100;
	if (cs->cfg.replay_timeout_ms == 0)
		cs->cfg.replay_timeout_ms = 2000;
	cs->backoff_ms = cs->cfg.retry_ms;
	cs->inbox = (struct inbox){.consumer = cs->name, .max_attempts = cs->cfg.max_attempts,
				   .handler = c->handler, .arg = c->arg,
				   .handler_dedupes = c->handler_dedupes,
				   .batch_handler = c->batch_handler};
	cs->q_cap = cs->cfg.queue_len;
	cs->q = calloc(cs->q_cap, sizeof(*cs->q));
	if (cs->q == NULL)
		goto out_nomem;
	cs->n_src = (unsigned)c->n_sources;
	for (unsigned i = 0; i < cs->n_src; i++)
		snprintf(cs->src[i].name, sizeof(cs->src[i].name), "%s", c->sources[i]);

	rc = db_open_domain(c->db_url, c->domain, &cs->db, err, errlen);
	if (rc < 0)
		goto out_free;
	cs->db_ok = true;
	rc = connect_sources(cs, err, errlen);
	if (rc < 0)
		goto out_free;
	if (pthread_create(&cs->th, NULL, bus_consumer_main, cs) != 0) {
		snprintf(err, errlen, "bus: consumer %s: no thread", cs->name);
		rc = -EAGAIN;
		goto out_free;
	}
	cs->started = true;
	pthread_mutex_lock(&bus->lock);
	cs->next = bus->consumers;
	bus->consumers = cs;
	pthread_mutex_unlock(&bus->lock);
	return 0;

out_nomem:
	snprintf(err, errlen, "bus: out of memory");
	rc = -ENOMEM;
out_free:
	state_free(cs);
	return rc;
}

void
bus_consumers_stats(struct bus *bus, json_t *out)
{
	for (struct bus_consumer_state *cs = bus->consumers; cs; cs = cs->next) {
		json_t *sources = json_object();

		for (unsigned i = 0; i < cs->n_src; i++) {
			int64_t pos = atomic_load(&cs->src[i].position);
			int64_t head = atomic_load(&cs->src[i].head);

			json_object_set_new(sources, cs->src[i].name,
					    json_pack("{s:I, s:I, s:I}", "position", (json_int_t)pos,
						      "head", (json_int_t)head, "lag",
						      (json_int_t)(head > pos ? head - pos : 0)));
		}
		json_object_set_new(
			out, cs->name,
			json_pack("{s:s, s:i, s:i, s:I, s:I, s:I, s:I, s:I, s:o}", "domain", cs->domain,
				  "queue_depth", (int)atomic_load(&cs->depth), "queue_len",
				  (int)cs->q_cap, "applied", (json_int_t)atomic_load(&cs->applied),
				  "skipped", (json_int_t)atomic_load(&cs->skipped), "failed",
				  (json_int_t)atomic_load(&cs->failed), "parked",
				  (json_int_t)atomic_load(&cs->parked), "dead_letters",
				  (json_int_t)atomic_load(&cs->dead_letters), "sources", sources));
	}
}

void
bus_consumers_free(struct bus *bus)
{
	struct bus_consumer_state *cs, *next;

	for (cs = bus->consumers; cs; cs = next) {
		next = cs->next;
		state_free(cs);
	}
	bus->consumers = NULL;
}

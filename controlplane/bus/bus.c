/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zmq.h>

#include "bss/core/outbox.h"
#include "common/clock.h"
#include "controlplane/bus/bus_private.h"

#define JSON_DEPTH_MAX 64

int
bus_new(struct bus **ret, char *err, size_t errlen)
{
	struct bus *bus = calloc(1, sizeof(*bus));

	if (bus == NULL) {
		snprintf(err, errlen, "bus: out of memory");
		return -ENOMEM;
	}
	bus->ctx = zmq_ctx_new();
	if (bus->ctx == NULL) {
		snprintf(err, errlen, "bus: zeromq context: %s", zmq_strerror(zmq_errno()));
		free(bus);
		return -ENOMEM;
	}
	pthread_mutex_init(&bus->lock, NULL);
	atomic_init(&bus->stop, false);
	*ret = bus;
	return 0;
}

void *
bus_zmq_context(struct bus *bus)
{
	return bus->ctx;
}

static bool
endpoint_valid(const char *ep)
{
	return ep == NULL ||
	       (strlen(ep) < BUS_ENDPOINT_MAX && strstr(ep, "://") != NULL && ep[0] != ':');
}

int
bus_set_endpoints(struct bus *bus, const char *domain, const char *events, const char *cmd,
		  char *err, size_t errlen)
{
	struct bus_endpoint *e = NULL, *v;

	if (!db_name_valid(domain) || !endpoint_valid(events) || !endpoint_valid(cmd)) {
		snprintf(err, errlen, "bus: endpoints of '%s': a domain name and transport://address "
			 "of at most %d bytes are required", domain ? domain : "",
			 BUS_ENDPOINT_MAX - 1);
		return -EINVAL;
	}
	pthread_mutex_lock(&bus->lock);
	for (size_t i = 0; i < bus->n_eps; i++)
		if (strcmp(bus->eps[i].domain, domain) == 0)
			e = &bus->eps[i];
	if (e == NULL) {
		v = reallocarray(bus->eps, bus->n_eps + 1, sizeof(*v));
		if (v == NULL) {
			pthread_mutex_unlock(&bus->lock);
			snprintf(err, errlen, "bus: out of memory");
			return -ENOMEM;
		}
		bus->eps = v;
		e = &v[bus->n_eps++];
		memset(e, 0, sizeof(*e));
		snprintf(e->domain, sizeof(e->domain), "%s", domain);
	}
	snprintf(e->events, sizeof(e->events), "%s", events ? events : "");
	snprintf(e->cmd, sizeof(e->cmd), "%s", cmd ? cmd : "");
	pthread_mutex_unlock(&bus->lock);
	return 0;
}

void
bus_inproc(const char *domain, const char *what, char *buf, size_t len)
{
	snprintf(buf, len, "inproc://cuco.%s.%s", domain, what);
}

static void
endpoint(struct bus *bus, const char *domain, bool events, char *buf, size_t len)
{
	const char *found = NULL;

	pthread_mutex_lock(&bus->lock);
	for (size_t i = 0; i < bus->n_eps && found == NULL; i++)
		if (strcmp(bus->eps[i].domain, domain) == 0)
			found = events ? bus->eps[i].events : bus->eps[i].cmd;
	if (found != NULL && found[0] != '\0')
		snprintf(buf, len, "%s", found);
	else
		bus_inproc(domain, events ? "events" : "cmd", buf, len);
	pthread_mutex_unlock(&bus->lock);
}

void
bus_endpoint_events(struct bus *bus, const char *domain, char *buf, size_t len)
{
	endpoint(bus, domain, true, buf, len);
}

void
bus_endpoint_cmd(struct bus *bus, const char *domain, char *buf, size_t len)
{
	endpoint(bus, domain, false, buf, len);
}

void
bus_socket_options(void *sock)
{
	int linger = 0;
	int64_t maxmsg = BUS_MSG_MAX;

	zmq_setsockopt(sock, ZMQ_LINGER, &linger, sizeof(linger));
	zmq_setsockopt(sock, ZMQ_MAXMSGSIZE, &maxmsg, sizeof(maxmsg));
}

int
bus_recv_frames(void *sock, zmq_msg_t *frames, int max)
{
	int n = 0, more;
	size_t ml = sizeof(more);

	do {
		zmq_msg_t *f, spare;

		f = n < max ? &frames[n] : &spare;
		zmq_msg_init(f);
		if (zmq_msg_recv(f, sock, n == 0 ? ZMQ_DONTWAIT : 0) < 0) {
			zmq_msg_close(f);
			if (n == 0 && zmq_errno() == EAGAIN)
				return 0;
			bus_frames_close(frames, n < max ? n : max);
			return -1;
		}
		zmq_getsockopt(sock, ZMQ_RCVMORE, &more, &ml);
		if (n >= max)
			zmq_msg_close(f);
		n++;
	} while (more);
	return n > max ? max + 1 : n;
}

void
bus_frames_close(zmq_msg_t *frames, int n)
{
	for (int i = 0; i < n; i++)
		zmq_msg_close(&frames[i]);
}

json_t *
bus_frame_json(zmq_msg_t *frame)
{
	json_error_t jerr;

	/* jansson limits nesting itself (JSON_PARSER_MAX_DEPTH); no NUL in the text. */
	return json_loadb(zmq_msg_data(frame), zmq_msg_size(frame), JSON_REJECT_DUPLICATES,
			  &jerr);
}

int
bus_send_json(void *sock, json_t *j, int flags)
{
	char *s = json_dumps(j, JSON_COMPACT);
	int rc;

	if (s == NULL)
		return -1;
	rc = zmq_send(sock, s, strlen(s), flags);
	free(s);
	return rc < 0 ? -1 : 0;
}

json_t *
bus_principal_to_json(const struct cuco_principal *p)
{
	json_t *roles = json_array();

	for (unsigned r = 0; r < CUCO_ROLE_COUNT && roles; r++)
		if (cuco_principal_has(p, (enum cuco_role)r))
			json_array_append_new(roles, json_string(cuco_role_name((enum cuco_role)r)));
	return json_pack("{s:s, s:s, s:o*, s:s, s:s, s:s}", "subject", p->subject, "name",
			 p->name, "roles", roles, "customer_id", p->customer_id, "remote",
			 p->remote, "traceparent", p->traceparent);
}

static int
principal_string(const json_t *j, const char *field, char *dst, size_t size, char *err,
		 size_t errlen)
{
	const json_t *v = json_object_get(j, field);

	if (v == NULL) {
		dst[0] = '\0';
		return 0;
	}
	if (!json_is_string(v) || json_string_length(v) >= size ||
	    strlen(json_string_value(v)) != json_string_length(v)) {
		snprintf(err, errlen, "principal: %s: a string of at most %zu bytes is required",
			 field, size - 1);
		return -EINVAL;
	}
	memcpy(dst, json_string_value(v), json_string_length(v) + 1);
	return 0;
}

int
bus_principal_from_json(const json_t *j, struct cuco_principal *p, char *err, size_t errlen)
{
	const json_t *roles, *r;
	enum cuco_role role;
	size_t i;
	int rc;

	memset(p, 0, sizeof(*p));
	if (!json_is_object(j)) {
		snprintf(err, errlen, "principal: an object is required");
		return -EINVAL;
	}
	if ((rc = principal_string(j, "subject", p->subject, sizeof(p->subject), err, errlen)) ||
	    (rc = principal_string(j, "name", p->name, sizeof(p->name), err, errlen)) ||
	    (rc = principal_string(j, "customer_id", p->customer_id, sizeof(p->customer_id), err,
				   errlen)) ||
	    (rc = principal_string(j, "remote", p->remote, sizeof(p->remote), err, errlen)) ||
	    (rc = principal_string(j, "traceparent", p->traceparent, sizeof(p->traceparent), err,
				   errlen)))
		return rc;
	if (p->subject[0] == '\0') {
		snprintf(err, errlen, "principal: subject: a non-empty string is required");
		return -EINVAL;
	}
	if (p->traceparent[0] != '\0' && !cuco_traceparent_valid(p->traceparent)) {
		snprintf(err, errlen, "principal: traceparent: a W3C traceparent is required");
		return -EINVAL;
	}
	roles = json_object_get(j, "roles");
	if (roles != NULL && !json_is_array(roles)) {
		snprintf(err, errlen, "principal: roles: an array of role names is required");
		return -EINVAL;
	}
	json_array_foreach(roles, i, r) {
		if (!json_is_string(r) || cuco_role_parse(json_string_value(r), &role) < 0) {
			snprintf(err, errlen, "principal: roles[%zu]: not a role name", i);
			return -EINVAL;
		}
		p->roles |= CUCO_ROLE_BIT(role);
	}
	return 0;
}

/* ------------------------------------------------------------ serving */

static bool
served_exists(struct bus *bus, const char *name)
{
	for (struct bus_served *s = bus->served; s; s = s->next)
		if (strcmp(s->name, name) == 0)
			return true;
	return false;
}

/* Bind @sock to the domain's inproc endpoint and, when configured, its other one. */
static int
bind_both(struct bus *bus, void *sock, const char *domain, bool events, char *err, size_t errlen)
{
	char inproc[BUS_ENDPOINT_MAX], other[BUS_ENDPOINT_MAX];

	bus_inproc(domain, events ? "events" : "cmd", inproc, sizeof(inproc));
	endpoint(bus, domain, events, other, sizeof(other));
	if (zmq_bind(sock, inproc) != 0) {
		snprintf(err, errlen, "bus: %s: %s", inproc, zmq_strerror(zmq_errno()));
		return -zmq_errno();
	}
	if (strcmp(inproc, other) != 0 && zmq_bind(sock, other) != 0) {
		snprintf(err, errlen, "bus: %s: %s", other, zmq_strerror(zmq_errno()));
		return -zmq_errno();
	}
	return 0;
}

static struct bus_served *
served_free(struct bus_served *s)
{
	if (s == NULL)
		return NULL;
	if (s->relay_started)
		pthread_join(s->relay_th, NULL);
	if (s->server_started)
		pthread_join(s->server_th, NULL);
	if (s->pub)
		zmq_close(s->pub);
	if (s->router)
		zmq_close(s->router);
	db_close(s->relay_db);
	db_close(s->server_db);
	free(s);
	return NULL;
}

int
bus_serve(struct bus *bus, const struct bus_domain *d, char *err, size_t errlen)
{
	struct bus_served *s;
	int rc, hwm = 100000;

	if (d == NULL || !db_name_valid(d->name) || d->db_url == NULL || d->page > 1000) {
		snprintf(err, errlen, "bus: serve: a domain name, a database URL and a page of "
			 "1..1000 are required");
		return -EINVAL;
	}
	pthread_mutex_lock(&bus->lock);
	rc = served_exists(bus, d->name);
	pthread_mutex_unlock(&bus->lock);
	if (rc) {
		snprintf(err, errlen, "bus: domain %s is served already", d->name);
		return -EEXIST;
	}
	s = calloc(1, sizeof(*s));
	if (s == NULL) {
		snprintf(err, errlen, "bus: out of memory");
		return -ENOMEM;
	}
	s->bus = bus;
	s->cfg = *d;
	snprintf(s->name, sizeof(s->name), "%s", d->name);
	s->cfg.name = s->name;
	if (s->cfg.poll_ms == 0)
		s->cfg.poll_ms = 1000;
	if (s->cfg.heartbeat_ms == 0)
		s->cfg.heartbeat_ms = 1000;
	if (s->cfg.page == 0)
		s->cfg.page = 256;

	rc = db_open_domain(d->db_url, d->name, &s->relay_db, err, errlen);
	if (rc == 0)
		rc = db_open_domain(d->db_url, d->name, &s->server_db, err, errlen);
	if (rc < 0)
		goto out_free;
	s->pub = zmq_socket(bus->ctx, ZMQ_PUB);
	s->router = zmq_socket(bus->ctx, ZMQ_ROUTER);
	if (s->pub == NULL || s->router == NULL) {
		snprintf(err, errlen, "bus: sockets: %s", zmq_strerror(zmq_errno()));
		rc = -ENOMEM;
		goto out_free;
	}
	bus_socket_options(s->pub);
	bus_socket_options(s->router);
	/* A slow subscriber loses messages past this; it finds the gap and replays. */
	zmq_setsockopt(s->pub, ZMQ_SNDHWM, &hwm, sizeof(hwm));
	rc = bind_both(bus, s->pub, d->name, true, err, errlen);
	if (rc == 0)
		rc = bind_both(bus, s->router, d->name, false, err, errlen);
	if (rc < 0)
		goto out_free;

	if (pthread_create(&s->relay_th, NULL, bus_relay_main, s) != 0) {
		snprintf(err, errlen, "bus: relay thread of %s", d->name);
		rc = -EAGAIN;
		goto out_free;
	}
	s->relay_started = true;
	if (pthread_create(&s->server_th, NULL, bus_server_main, s) != 0) {
		snprintf(err, errlen, "bus: server thread of %s", d->name);
		rc = -EAGAIN;
		atomic_store(&s->stop, true); /* served_free() joins the relay */
		goto out_free;
	}
	s->server_started = true;
	pthread_mutex_lock(&bus->lock);
	s->next = bus->served;
	bus->served = s;
	pthread_mutex_unlock(&bus->lock);
	return 0;

out_free:
	served_free(s);
	return rc;
}

int
bus_consume(struct bus *bus, const struct bus_consumer *c, char *err, size_t errlen)
{
	return bus_consumer_start(bus, c, err, errlen);
}

/* ------------------------------------------------------------ commands */

void
bus_reply_clear(struct bus_reply *reply)
{
	if (reply == NULL)
		return;
	json_decref(reply->result);
	memset(reply, 0, sizeof(*reply));
}

static void
reply_problem(struct bus_reply *reply, const char *code, const char *detail)
{
	reply->ok = false;
	snprintf(reply->code, sizeof(reply->code), "%s", code);
	snprintf(reply->detail, sizeof(reply->detail), "%s", detail);
}

int
bus_reply_parse(const json_t *j, const char *id, struct bus_reply *reply)
{
	const char *kind = json_string_value(json_object_get(j, "kind"));
	const char *rid = json_string_value(json_object_get(j, "id"));
	const char *status = json_string_value(json_object_get(j, "status"));
	const json_t *result = json_object_get(j, "result"), *problem, *code;

	if (kind == NULL || strcmp(kind, "reply") != 0 || rid == NULL || status == NULL)
		return -EPROTO;
	if (strcmp(rid, id) != 0)
		return 1;
	if (strcmp(status, "ok") == 0) {
		if (!json_is_object(result))
			return -EPROTO;
		reply->ok = true;
		reply->result = json_incref((json_t *)result);
		return 0;
	}
	problem = json_object_get(j, "problem");
	code = json_object_get(problem, "code");
	/* Callers branch on the code: an empty one, or one cut to fit, would mislead them. */
	if (strcmp(status, "error") != 0 || !json_is_string(code) || json_string_length(code) == 0 ||
	    json_string_length(code) >= sizeof(reply->code) ||
	    strlen(json_string_value(code)) != json_string_length(code) ||
	    !json_is_string(json_object_get(problem, "detail")))
		return -EPROTO;
	reply_problem(reply, json_string_value(code),
		      json_string_value(json_object_get(problem, "detail")));
	return 0;
}

/* Wait for the reply to @id on @sock until @deadline (monotonic ms). */
static int
await_reply(void *sock, const char *id, uint64_t deadline, struct bus_reply *reply)
{
	zmq_msg_t f[2];
	json_t *j;
	int n, rc;

	for (;;) {
		uint64_t now = cuco_monotonic_ms();
		zmq_pollitem_t item = {.socket = sock, .events = ZMQ_POLLIN};

		if (now >= deadline)
			return -ETIMEDOUT;
		if (zmq_poll(&item, 1, (long)(deadline - now)) < 0 && zmq_errno() != EINTR)
			return -EIO;
		if (!(item.revents & ZMQ_POLLIN))
			continue;
		n = bus_recv_frames(sock, f, 2);
		if (n <= 0)
			continue;
		/* [empty delimiter][reply JSON] */
		j = n == 2 && zmq_msg_size(&f[0]) == 0 ? bus_frame_json(&f[1]) : NULL;
		bus_frames_close(f, n > 2 ? 2 : n);
		if (j == NULL)
			return -EPROTO;
		rc = bus_reply_parse(j, id, reply);
		json_decref(j);
		if (rc <= 0)
			return rc;
	}
}

int
bus_command_id(struct bus *bus, const char *id, const char *domain, const char *type,
	       const struct cuco_principal *who, json_t *payload, int timeout_ms,
	       struct bus_reply *reply)
{
	char ep[BUS_ENDPOINT_MAX];
	json_t *msg, *empty = NULL;
	void *sock;
	int rc;

	memset(reply, 0, sizeof(*reply));
	if (!outbox_uuid_valid(id) || !db_name_valid(domain) || !outbox_type_valid(type) ||
	    who == NULL || timeout_ms <= 0 || (payload != NULL && !json_is_object(payload))) {
		reply_problem(reply, "invalid",
			      "command: id (UUID), domain, type, principal, a payload object and a "
			      "positive timeout are required");
		return -EINVAL;
	}
	if (payload == NULL)
		payload = empty = json_object();
	msg = json_pack("{s:s, s:s, s:s, s:s, s:o, s:O}", "kind", "command", "id", id, "domain",
			domain, "type", type, "principal", bus_principal_to_json(who), "payload",
			payload);
	json_decref(empty);
	if (msg == NULL) {
		reply_problem(reply, "internal", "command: out of memory");
		return -ENOMEM;
	}
	/*
	 * A socket per call: callers are many threads, and a late reply to a
	 * call that timed out dies with its socket instead of confusing the next.
	 */
	sock = zmq_socket(bus->ctx, ZMQ_DEALER);
	if (sock == NULL) {
		json_decref(msg);
		reply_problem(reply, "internal", "command: no socket");
		return -ENOMEM;
	}
	bus_socket_options(sock);
	bus_endpoint_cmd(bus, domain, ep, sizeof(ep));
	rc = zmq_connect(sock, ep) == 0 && zmq_send(sock, "", 0, ZMQ_SNDMORE | ZMQ_DONTWAIT) == 0 &&
			     bus_send_json(sock, msg, ZMQ_DONTWAIT) == 0
		     ? 0
		     : -EIO;
	json_decref(msg);
	if (rc == 0)
		rc = await_reply(sock, id, cuco_monotonic_ms() + (uint64_t)timeout_ms, reply);
	zmq_close(sock);
	if (rc == -ETIMEDOUT)
		reply_problem(reply, "timeout", "no reply from the domain in time");
	else if (rc == -EIO)
		reply_problem(reply, "unreachable", "the domain's endpoint cannot be reached");
	else if (rc == -EPROTO)
		reply_problem(reply, "internal", "malformed reply");
	return rc;
}

int
bus_command(struct bus *bus, const char *domain, const char *type,
	    const struct cuco_principal *who, json_t *payload, int timeout_ms,
	    struct bus_reply *reply)
{
	char id[37];

	outbox_uuid4(id);
	return bus_command_id(bus, id, domain, type, who, payload, timeout_ms, reply);
}

/* --------------------------------------------------------------- stats */

json_t *
bus_stats(struct bus *bus)
{
	json_t *out = json_pack("{s:{}, s:{}}", "domains", "consumers");
	json_t *domains = json_object_get(out, "domains");

	if (out == NULL)
		return NULL;
	pthread_mutex_lock(&bus->lock);
	for (struct bus_served *s = bus->served; s; s = s->next) {
		int64_t c = atomic_load(&s->committed), p = atomic_load(&s->published);

		json_object_set_new(domains, s->name,
				    json_pack("{s:I, s:I, s:I, s:I, s:I}", "last_committed",
					      (json_int_t)c, "last_published", (json_int_t)p,
					      "outbox_lag", (json_int_t)(c > p ? c - p : 0),
					      "commands", (json_int_t)atomic_load(&s->commands),
					      "replays", (json_int_t)atomic_load(&s->replays)));
	}
	bus_consumers_stats(bus, json_object_get(out, "consumers"));
	pthread_mutex_unlock(&bus->lock);
	return out;
}

struct bus *
bus_free(struct bus *bus)
{
	struct bus_served *s, *next;

	if (bus == NULL)
		return NULL;
	atomic_store(&bus->stop, true);
	bus_consumers_free(bus);
	for (s = bus->served; s; s = next) {
		next = s->next;
		atomic_store(&s->stop, true);
		served_free(s);
	}
	zmq_ctx_term(bus->ctx);
	pthread_mutex_destroy(&bus->lock);
	free(bus->eps);
	free(bus);
	return NULL;
}

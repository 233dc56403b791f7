/* SPDX-License-Identifier: BSD-3-Clause */
#include "dataplane/agent.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <zmq.h>

#include "common/log.h"
#include "common/proto/dpproto.h"
#include "common/zcurve.h"
#include "dataplane/control.h"

/* The wire enums are the table enums: keep them in step. */
#define SAME(a, b) ((int)(a) == (int)(b))
_Static_assert(SAME(DPP_ACTIVE, SUB_ACTIVE) && SAME(DPP_SUSPENDED, SUB_SUSPENDED) &&
		       SAME(DPP_WALLED, SUB_WALLED), "availability values differ");
_Static_assert(SAME(DPP_METER_NONE, SUB_METER_NONE) && SAME(DPP_METER_RFC2698, SUB_METER_RFC2698) &&
		       SAME(DPP_METER_RFC4115, SUB_METER_RFC4115), "meter modes differ");
_Static_assert(SAME(DPP_FORWARD, SUB_ACT_FORWARD) && SAME(DPP_REMARK, SUB_ACT_REMARK) &&
		       SAME(DPP_DROP, SUB_ACT_DROP), "colour actions differ");
#undef SAME

#define AGENT_MAX_FRAMES 8

static void on_release(void *arg, const char *id, uint32_t slot);
#define USAGE_CHUNK 1000

struct agent {
	struct dp *dp;
	void *ctx;
	void *router;
	void *pub;
	void *zap;              /* ZAP handler, with CURVE only */
	char curve_dir[256];
	char server_pub[ZCURVE_KEY_LEN];
	char server_sec[ZCURVE_KEY_LEN];
	unsigned interval_ms;
	uint64_t next_usage_ms;
	uint64_t usage_seq;
	uint64_t generation;
	char boot_id[33];
	json_t *final;          /* counters of subscribers deleted by the current batch */
};

const char *
agent_boot_id(const struct agent *a)
{
	return a->boot_id;
}

void *
agent_socket(struct agent *a)
{
	return a->router;
}

void *
agent_zap_socket(struct agent *a)
{
	return a->zap;
}

/* Make @sock a CURVE server with our keys, authenticated by our ZAP handler. */
static void
curve_server(struct agent *a, void *sock)
{
	int one = 1;

	zmq_setsockopt(sock, ZMQ_CURVE_SERVER, &one, sizeof(one));
	zmq_setsockopt(sock, ZMQ_CURVE_SECRETKEY, a->server_sec, ZCURVE_KEY_LEN - 1);
	zmq_setsockopt(sock, ZMQ_ZAP_DOMAIN, "cuco", 4);
}

static int
curve_setup(struct agent *a, const char *state_dir, char *err, size_t errlen)
{
	char why[512];
	int ret;

	if (mkdir(state_dir, 0755) < 0 && errno != EEXIST) {
		snprintf(err, errlen, "state-dir %s: %s", state_dir, strerror(errno));
		return -errno;
	}
	snprintf(a->curve_dir, sizeof(a->curve_dir), "%s/curve", state_dir);
	ret = zcurve_keypair(a->curve_dir, "server", a->server_pub, a->server_sec, why,
			     sizeof(why));
	if (ret < 0) {
		snprintf(err, errlen, "CURVE keys: %s", why);
		return ret;
	}
	/* The ZAP handler must exist before any CURVE socket binds (RFC 27). */
	a->zap = zmq_socket(a->ctx, ZMQ_REP);
	if (a->zap == NULL || zmq_bind(a->zap, "inproc://zeromq.zap.01") != 0) {
		snprintf(err, errlen, "ZAP handler: %s", zmq_strerror(zmq_errno()));
		return -EIO;
	}
	log_info("CURVE: server key %s in %s; clients allowed in %s/authorized_keys",
		 a->server_pub, a->curve_dir, a->curve_dir);
	return 0;
}

void
agent_zap_dispatch(struct agent *a)
{
	for (;;) {
		zmq_msg_t f[8];
		unsigned n = 0, i;
		int more = 1;
		size_t ml = sizeof(more);
		bool ok;
		char key[ZCURVE_KEY_LEN] = "";

		while (more && n < 8) {
			zmq_msg_init(&f[n]);
			if (zmq_msg_recv(&f[n], a->zap, ZMQ_DONTWAIT) < 0) {
				zmq_msg_close(&f[n]);
				if (n == 0)
					return;
				break;
			}
			n++;
			zmq_getsockopt(a->zap, ZMQ_RCVMORE, &more, &ml);
		}
		/* version, request id, domain, address, identity, mechanism, key */
		ok = n == 7 && zmq_msg_size(&f[5]) == 5 && memcmp(zmq_msg_data(&f[5]), "CURVE", 5) == 0 &&
		     zmq_msg_size(&f[6]) == 32 && zcurve_authorized(a->curve_dir, zmq_msg_data(&f[6]));
		if (n == 7 && zmq_msg_size(&f[6]) == 32)
			zmq_z85_encode(key, zmq_msg_data(&f[6]), 32);
		if (!ok)
			log_warn("agent: refused a client with key %s (not in %s/authorized_keys)",
				 key[0] ? key : "(none)", a->curve_dir);
		zmq_send(a->zap, "1.0", 3, ZMQ_SNDMORE);
		if (n >= 2)
			zmq_send(a->zap, zmq_msg_data(&f[1]), zmq_msg_size(&f[1]), ZMQ_SNDMORE);
		else
			zmq_send(a->zap, "", 0, ZMQ_SNDMORE);
		zmq_send(a->zap, ok ? "200" : "400", 3, ZMQ_SNDMORE);
		zmq_send(a->zap, ok ? "OK" : "not authorized", ok ? 2 : 14, ZMQ_SNDMORE);
		zmq_send(a->zap, key, strlen(key), ZMQ_SNDMORE);
		zmq_send(a->zap, "", 0, 0);
		for (i = 0; i < n; i++)
			zmq_msg_close(&f[i]);
	}
}

static void
make_boot_id(char out[33])
{
	uint8_t r[16];
	unsigned i;

	if (getrandom(r, sizeof(r), 0) != sizeof(r)) {
		/* Not secret, only unique per start: time and pid will do. */
		uint64_t t = (uint64_t)time(NULL);

		memcpy(r, &t, 8);
		t = (uint64_t)getpid();
		memcpy(r + 8, &t, 8);
	}
	for (i = 0; i < 16; i++)
		snprintf(out + 2 * i, 3, "%02x", r[i]);
}

int
agent_open(struct dp *dp, struct agent **ret, char *err, size_t errlen)
{
	const struct dp_config *cfg = dp->cfg;
	const char *endpoint = cfg->agent, *usage = cfg->usage[0] ? cfg->usage : NULL;
	unsigned interval_ms = cfg->usage_interval_ms;
	int64_t maxmsg = DPP_MAX_MESSAGE;
	int mandatory = 1, linger = 0;
	struct agent *a;

	a = calloc(1, sizeof(*a));
	if (a == NULL)
		return -ENOMEM;
	a->dp = dp;
	a->interval_ms = interval_ms;
	sub_ctl_on_release(dp->subs, on_release, a);
	make_boot_id(a->boot_id);
	a->ctx = zmq_ctx_new();
	if (a->ctx == NULL)
		goto out_errno;
	if (cfg->agent_curve || (usage != NULL && cfg->usage_curve)) {
		int rc = curve_setup(a, cfg->state_dir, err, errlen);

		if (rc < 0) {
			agent_close(a);
			return rc;
		}
	}
	a->router = zmq_socket(a->ctx, ZMQ_ROUTER);
	if (a->router == NULL)
		goto out_errno;
	if (cfg->agent_curve)
		curve_server(a, a->router);
	/* Every resource a peer controls has a limit: the size of a request. */
	zmq_setsockopt(a->router, ZMQ_MAXMSGSIZE, &maxmsg, sizeof(maxmsg));
	zmq_setsockopt(a->router, ZMQ_ROUTER_MANDATORY, &mandatory, sizeof(mandatory));
	zmq_setsockopt(a->router, ZMQ_LINGER, &linger, sizeof(linger));
	if (zmq_bind(a->router, endpoint) != 0) {
		snprintf(err, errlen, "agent %s: %s", endpoint, zmq_strerror(zmq_errno()));
		agent_close(a);
		return -EINVAL;
	}
	if (usage != NULL) {
		a->pub = zmq_socket(a->ctx, ZMQ_PUB);
		if (a->pub == NULL)
			goto out_errno;
		zmq_setsockopt(a->pub, ZMQ_LINGER, &linger, sizeof(linger));
		if (cfg->usage_curve)
			curve_server(a, a->pub);
		if (zmq_bind(a->pub, usage) != 0) {
			snprintf(err, errlen, "usage %s: %s", usage, zmq_strerror(zmq_errno()));
			agent_close(a);
			return -EINVAL;
		}
	}
	*ret = a;
	return 0;

out_errno:
	snprintf(err, errlen, "zeromq: %s", zmq_strerror(zmq_errno()));
	agent_close(a);
	return -ENOMEM;
}

struct agent *
agent_close(struct agent *a)
{
	if (a == NULL)
		return NULL;
	if (a->router != NULL)
		zmq_close(a->router);
	if (a->pub != NULL)
		zmq_close(a->pub);
	if (a->zap != NULL)
		zmq_close(a->zap);
	if (a->ctx != NULL)
		zmq_ctx_term(a->ctx);
	free(a);
	return NULL;
}

static json_t *
reply_new(uint64_t seq, bool ok)
{
	return json_pack("{s:i, s:I, s:b}", "v", DPP_VERSION, "seq", (json_int_t)seq, "ok", ok);
}

static json_t *
reply_error(uint64_t seq, const char *field, const char *reason)
{
	json_t *r = reply_new(seq, false);

	json_object_set_new(r, "error", json_pack("{s:s, s:s}", "field", field, "reason", reason));
	return r;
}

static void
to_params(const struct dpp_meter *m, struct sub_meter_params *p)
{
	unsigned c;

	memset(p, 0, sizeof(*p));
	p->mode = m->mode;
	p->cir = m->cir;
	p->pir = m->pir;
	p->cbs = m->cbs;
	p->pbs = m->pbs;
	for (c = 0; c < SUB_COLOURS; c++) {
		p->action[c] = m->action[c];
		p->dscp[c] = m->dscp[c];
	}
	p->shape = m->shape;
}

/* Apply one change to the open batch; on failure @field/@reason say why. */
static int
apply_change(struct agent *a, const struct dpp_change *c, char *field, size_t flen, char *reason,
	     size_t rlen)
{
	struct sub_ctl *ctl = a->dp->subs;
	struct sub_l2_key l2[DPP_MAX_MATCH * 2];
	struct sub_meter_params p[SUB_DIRS];
	struct sub_match m;
	unsigned i;

	switch (c->kind) {
	case DPP_PROFILE_UPSERT:
		to_params(&c->dir[0], &p[0]);
		to_params(&c->dir[1], &p[1]);
		snprintf(field, flen, "name");
		return sub_ctl_profile_upsert(ctl, c->id, p, reason, rlen);
	case DPP_PROFILE_DELETE:
		snprintf(field, flen, "name");
		return sub_ctl_profile_delete(ctl, c->id, reason, rlen);
	case DPP_SUB_UPSERT:
		memset(l2, 0, sizeof(l2));
		for (i = 0; i < c->n_l2; i++) {
			const struct dpp_l2 *e = &c->l2[i];

			l2[i].kind = e->kind;
			if (e->kind == DPP_L2_MAC) {
				memcpy(l2[i].mac, e->mac, 6);
				continue;
			}
			int pidx = dp_port_index(a->dp, e->port);

			if (pidx < 0 || a->dp->ports[pidx].role != DP_ROLE_ACCESS) {
				snprintf(field, flen, "match.vlans");
				snprintf(reason, rlen, "'%s' is not an access port", e->port);
				return -EINVAL;
			}
			l2[i].port = (uint8_t)pidx;
			l2[i].outer = e->outer;
			l2[i].inner = e->inner;
		}
		m = (struct sub_match){.prefixes = c->prefixes, .n_prefixes = c->n_prefixes,
				       .l2 = l2, .n_l2 = c->n_l2};
		snprintf(field, flen, "id");
		return sub_ctl_sub_upsert(ctl, c->id, c->profile, c->avail, &m, reason, rlen);
	case DPP_SUB_DELETE:
		snprintf(field, flen, "id");
		return sub_ctl_sub_delete(ctl, c->id, reason, rlen);
	case DPP_SUB_AVAIL:
		snprintf(field, flen, "id");
		return sub_ctl_sub_avail(ctl, c->id, c->avail, reason, rlen);
	case DPP_WALLED_SET:
		snprintf(field, flen, "allow");
		return sub_ctl_walled_set(ctl, c->prefixes, c->n_prefixes, reason, rlen);
	}
	snprintf(reason, rlen, "unknown change");
	return -EINVAL;
}

static json_t *counters_json(const struct agent *a, const char *id, uint32_t slot);
static void usage_publish(struct agent *a, json_t *subs, bool final);

/* A deleted subscriber's last counters, read before its slot is reused. */
static void
on_release(void *arg, const char *id, uint32_t slot)
{
	struct agent *a = arg;

	if (a->final != NULL)
		json_array_append_new(a->final, counters_json(a, id, slot));
}

/* BATCH and RESYNC: all changes or none, then the new generation. */
static json_t *
handle_changes(struct agent *a, const struct dpp_request *r)
{
	struct sub_ctl *ctl = a->dp->subs;
	char field[160], sub[64], reason[256];
	size_t i;

	if (r->op == DPP_OP_BATCH) {
		if (r->has_expect && r->expect != a->generation) {
			snprintf(reason, sizeof(reason), "generation mismatch: the dataplane has %llu; "
				 "send a resync", (unsigned long long)a->generation);
			return reply_error(r->seq, "expect", reason);
		}
		if (r->generation <= a->generation) {
			snprintf(reason, sizeof(reason), "%llu is not newer than the dataplane's %llu",
				 (unsigned long long)r->generation,
				 (unsigned long long)a->generation);
			return reply_error(r->seq, "generation", reason);
		}
	}
	sub_ctl_begin(ctl);
	if (r->op == DPP_OP_RESYNC && sub_ctl_clear(ctl, reason, sizeof(reason)) < 0) {
		sub_ctl_abort(ctl);
		return reply_error(r->seq, "changes", reason);
	}
	for (i = 0; i < r->n_changes; i++) {
		sub[0] = '\0';
		if (apply_change(a, &r->changes[i], sub, sizeof(sub), reason, sizeof(reason)) < 0) {
			const char *why = reason;
			size_t n = strspn(reason, "abcdefghijklmnopqrstuvwxyz_.[]0123456789");

			sub_ctl_abort(ctl);
			/* The tables name the member at fault as "member: reason": use it. */
			if (n > 0 && n < sizeof(sub) && reason[n] == ':' && reason[n + 1] == ' ') {
				snprintf(sub, sizeof(sub), "%.*s", (int)n, reason);
				why = reason + n + 2;
			}
			snprintf(field, sizeof(field), "changes[%zu].%s", i, sub);
			return reply_error(r->seq, field, why);
		}
	}
	a->final = a->pub != NULL ? json_array() : NULL;
	if (sub_ctl_commit(ctl, reason, sizeof(reason)) < 0) {
		json_decref(a->final);
		a->final = NULL;
		return reply_error(r->seq, "changes", reason);
	}
	a->generation = r->generation;
	if (a->final != NULL) {
		/* Usage since the last report of deleted subscribers is not lost. */
		if (json_array_size(a->final) > 0)
			usage_publish(a, a->final, true);
		else
			json_decref(a->final);
		a->final = NULL;
	}
	log_info("%s of %zu changes applied: generation %llu, %u subscribers",
		 r->op == DPP_OP_RESYNC ? "resync" : "batch", r->n_changes,
		 (unsigned long long)a->generation, sub_ctl_count(ctl));
	json_t *rep = reply_new(r->seq, true);

	json_object_set_new(rep, "generation", json_integer((json_int_t)a->generation));
	json_object_set_new(rep, "applied", json_integer((json_int_t)r->n_changes));
	return rep;
}

static json_t *
meter_json(const struct sub_meter_params *p)
{
	static const char *const colours[] = {"green", "yellow", "red"};
	char buf[16];
	json_t *m = json_pack("{s:s}", "mode", dpp_mode_name(p->mode));
	unsigned c;

	if (p->mode != SUB_METER_NONE) {
		bool x = p->mode == SUB_METER_RFC4115;

		json_object_set_new(m, "cir", json_integer((json_int_t)p->cir));
		json_object_set_new(m, x ? "eir" : "pir", json_integer((json_int_t)p->pir));
		json_object_set_new(m, "cbs", json_integer((json_int_t)p->cbs));
		json_object_set_new(m, x ? "ebs" : "pbs", json_integer((json_int_t)p->pbs));
	}
	for (c = 0; c < SUB_COLOURS; c++)
		json_object_set_new(m, colours[c],
				    json_string(dpp_action_format(p->action[c], p->dscp[c], buf,
								  sizeof(buf))));
	if (p->shape)
		json_object_set_new(m, "shape", json_true());
	return m;
}

static int
add_profile(const char *name, const struct sub_meter_params *p, void *arg)
{
	json_array_append_new(arg, json_pack("{s:s, s:o, s:o}", "name", name, "up",
					     meter_json(&p[0]), "down", meter_json(&p[1])));
	return 0;
}

struct page {
	struct agent *a;
	json_t *arr;
	uint64_t skip, left;
	uint64_t total;
	bool counters;
};

static json_t *
sub_json(const struct agent *a, const struct sub_info *s)
{
	json_t *pf = json_array(), *vl = json_array(), *mc = json_array();
	char buf[INET_PREFIX_STRLEN];
	unsigned i;

	for (i = 0; i < s->match->n_prefixes; i++)
		json_array_append_new(pf, json_string(inet_prefix_format(&s->match->prefixes[i], buf,
									    sizeof(buf))));
	for (i = 0; i < s->match->n_l2; i++) {
		const struct sub_l2_key *k = &s->match->l2[i];

		if (k->kind == SUB_L2_MAC) {
			snprintf(buf, sizeof(buf), "%02x:%02x:%02x:%02x:%02x:%02x", k->mac[0],
				 k->mac[1], k->mac[2], k->mac[3], k->mac[4], k->mac[5]);
			json_array_append_new(mc, json_string(buf));
		} else {
			json_t *v = json_pack("{s:s, s:i}", "port", a->dp->ports[k->port].cfg->name,
					      "outer", k->outer);

			if (k->inner != 0)
				json_object_set_new(v, "inner", json_integer(k->inner));
			json_array_append_new(vl, v);
		}
	}
	return json_pack("{s:s, s:s, s:s, s:{s:o, s:o, s:o}}", "id", s->id, "profile", s->profile,
			 "availability", dpp_avail_name(s->avail), "match", "prefixes", pf, "vlans",
			 vl, "macs", mc);
}

static json_t *
dir_counters_json(const struct sub_counters *c)
{
	json_t *o = json_pack("{s:I, s:I}", "packets", (json_int_t)c->fwd_packets, "bytes",
			      (json_int_t)c->fwd_bytes);
	json_t *col = json_object(), *drops = json_object();
	unsigned i;

	for (i = 0; i < SUB_COLOURS; i++)
		json_object_set_new(col, sub_colour_names[i],
				    json_pack("{s:I, s:I}", "packets", (json_int_t)c->colour_packets[i],
					      "bytes", (json_int_t)c->colour_bytes[i]));
	for (i = 0; i < SUB_DROP_MAX; i++)
		json_object_set_new(drops, sub_drop_names[i],
				    json_pack("{s:I, s:I}", "packets", (json_int_t)c->drop_packets[i],
					      "bytes", (json_int_t)c->drop_bytes[i]));
	json_object_set_new(o, "colours", col);
	json_object_set_new(o, "drops", drops);
	return o;
}

static json_t *
counters_json(const struct agent *a, const char *id, uint32_t slot)
{
	struct sub_counters c[SUB_DIRS];

	sub_counters_read(a->dp->subt, slot, c);
	return json_pack("{s:s, s:o, s:o}", "id", id, "up", dir_counters_json(&c[SUB_UP]), "down",
			 dir_counters_json(&c[SUB_DOWN]));
}

static int
add_page_entry(const struct sub_info *s, void *arg)
{
	struct page *p = arg;

	p->total++;
	if (p->skip > 0) {
		p->skip--;
		return 0;
	}
	if (p->left == 0)
		return 0;
	p->left--;
	json_array_append_new(p->arr, p->counters ? counters_json(p->a, s->id, s->slot)
						  : sub_json(p->a, s));
	return 0;
}

static json_t *
handle_read(struct agent *a, const struct dpp_request *r)
{
	struct sub_ctl *ctl = a->dp->subs;
	struct page p = {.a = a, .skip = r->offset, .left = r->limit,
			 .counters = r->op == DPP_OP_COUNTERS};
	json_t *rep;

	if (r->op == DPP_OP_COUNTERS && r->id[0] != '\0') {
		struct sub_info info;

		if (sub_ctl_find(ctl, r->id, &info) < 0)
			return reply_error(r->seq, "id", "no such subscriber");
		rep = reply_new(r->seq, true);
		json_object_set_new(rep, "counters", counters_json(a, info.id, info.slot));
		return rep;
	}
	p.arr = json_array();
	sub_ctl_foreach(ctl, add_page_entry, &p);
	rep = reply_new(r->seq, true);
	json_object_set_new(rep, "generation", json_integer((json_int_t)a->generation));
	json_object_set_new(rep, "total", json_integer((json_int_t)p.total));
	if (r->op == DPP_OP_COUNTERS) {
		json_object_set_new(rep, "counters", p.arr);
		json_object_set_new(rep, "unknown", counters_json(a, "", SUB_SLOT_UNKNOWN));
	} else {
		json_t *profiles = json_array();

		sub_ctl_profile_foreach(ctl, add_profile, profiles);
		json_object_set_new(rep, "profiles", profiles);
		json_object_set_new(rep, "subscribers", p.arr);
	}
	return rep;
}

static json_t *
handle(struct agent *a, const char *buf, size_t len)
{
	struct dpp_request *r = NULL;
	struct dpp_error e;
	json_t *rep;

	if (dpp_decode(buf, len, &r, &e) < 0) {
		log_warn("agent: bad request: %s: %s", e.field[0] ? e.field : "(request)", e.reason);
		return reply_error(0, e.field[0] ? e.field : "request", e.reason);
	}
	switch (r->op) {
	case DPP_OP_HELLO:
		rep = reply_new(r->seq, true);
		json_object_set_new(rep, "boot_id", json_string(a->boot_id));
		json_object_set_new(rep, "generation", json_integer((json_int_t)a->generation));
		json_object_set_new(rep, "schema", json_integer(DPP_VERSION));
		json_object_set_new(rep, "subscribers", json_integer(sub_ctl_count(a->dp->subs)));
		json_object_set_new(rep, "profiles",
				    json_integer(sub_ctl_profile_count(a->dp->subs)));
		break;
	case DPP_OP_BATCH:
	case DPP_OP_RESYNC:
		rep = handle_changes(a, r);
		break;
	default:
		rep = handle_read(a, r);
		break;
	}
	dpp_request_free(r);
	return rep;
}

void
agent_dispatch(struct agent *a)
{
	for (;;) {
		zmq_msg_t frames[AGENT_MAX_FRAMES];
		unsigned n = 0, i;
		int more = 1;
		size_t more_len = sizeof(more);
		char *out;
		json_t *rep;

		/* One request: identity, optional empty delimiter (REQ), payload. */
		while (more) {
			zmq_msg_t msg;

			zmq_msg_init(&msg);
			if (zmq_msg_recv(&msg, a->router, ZMQ_DONTWAIT) < 0) {
				zmq_msg_close(&msg);
				if (n == 0)
					return; /* nothing waiting */
				break;
			}
			zmq_getsockopt(a->router, ZMQ_RCVMORE, &more, &more_len);
			if (n < AGENT_MAX_FRAMES)
				frames[n++] = msg;
			else
				zmq_msg_close(&msg); /* too many frames: the request is refused below */
		}
		if (n < 2 || n > 3 || (n == 3 && zmq_msg_size(&frames[1]) != 0)) {
			log_warn("agent: dropped a message of %u frames", n);
			for (i = 0; i < n; i++)
				zmq_msg_close(&frames[i]);
			continue;
		}
		/* Telemetry reads the subscriber tables' control side from its own thread. */
		pthread_mutex_lock(&a->dp->ctl_lock);
		rep = handle(a, zmq_msg_data(&frames[n - 1]), zmq_msg_size(&frames[n - 1]));
		pthread_mutex_unlock(&a->dp->ctl_lock);
		out = json_dumps(rep, JSON_COMPACT);
		json_decref(rep);
		/* Envelope back as it came; a peer gone meanwhile is no error of ours. */
		for (i = 0; i + 1 < n; i++)
			zmq_send(a->router, zmq_msg_data(&frames[i]), zmq_msg_size(&frames[i]),
				 ZMQ_SNDMORE | ZMQ_DONTWAIT);
		if (out != NULL)
			zmq_send(a->router, out, strlen(out), ZMQ_DONTWAIT);
		free(out);
		for (i = 0; i < n; i++)
			zmq_msg_close(&frames[i]);
	}
}

struct usage_ctx {
	struct agent *a;
	json_t *subs;
	unsigned part;
	uint64_t time_ms;
	bool final; /* the subscribers were deleted: these are their last counters */
};

static void
usage_send(struct usage_ctx *u, bool last)
{
	json_t *msg = json_pack("{s:i, s:s, s:s, s:I, s:I, s:I, s:i, s:b, s:o}", "v", DPP_VERSION,
				"type", "usage", "boot_id", u->a->boot_id, "seq",
				(json_int_t)++u->a->usage_seq, "generation",
				(json_int_t)u->a->generation, "time_ms", (json_int_t)u->time_ms,
				"part", u->part++, "last", last, "subscribers", u->subs);
	char *out;

	if (u->final)
		json_object_set_new(msg, "final", json_true());
	out = json_dumps(msg, JSON_COMPACT);
	if (out != NULL)
		zmq_send(u->a->pub, out, strlen(out), ZMQ_DONTWAIT);
	free(out);
	json_decref(msg);
	u->subs = json_array();
}

static int
usage_add(const struct sub_info *s, void *arg)
{
	struct usage_ctx *u = arg;

	json_array_append_new(u->subs, counters_json(u->a, s->id, s->slot));
	if (json_array_size(u->subs) == USAGE_CHUNK)
		usage_send(u, false);
	return 0;
}

static uint64_t
wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* One message of deleted subscribers' final counters (@subs consumed). */
static void
usage_publish(struct agent *a, json_t *subs, bool final)
{
	struct usage_ctx u = {.a = a, .subs = subs, .time_ms = wall_ms(), .final = final};

	usage_send(&u, true);
	json_decref(u.subs);
}

void
agent_tick(struct agent *a, uint64_t now_ms)
{
	struct usage_ctx u = {.a = a};

	if (a->pub == NULL || now_ms < a->next_usage_ms)
		return;
	a->next_usage_ms = now_ms + a->interval_ms;
	u.time_ms = wall_ms();
	u.subs = json_array();
	/* Cumulative counters, chunked; each message numbered, the last one marked. */
	pthread_mutex_lock(&a->dp->ctl_lock);
	sub_ctl_foreach(a->dp->subs, usage_add, &u);
	pthread_mutex_unlock(&a->dp->ctl_lock);
	json_array_append_new(u.subs, counters_json(a, "", SUB_SLOT_UNKNOWN));
	usage_send(&u, true);
	json_decref(u.subs);
}

void
agent_flush(struct agent *a, int linger_ms)
{
	if (a == NULL || a->pub == NULL)
		return;
	a->next_usage_ms = 0;
	agent_tick(a, 0);
	zmq_setsockopt(a->pub, ZMQ_LINGER, &linger_ms, sizeof(linger_ms));
}

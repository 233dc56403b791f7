/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * cuco-dpctl: talk to a cuco-dataplane's provisioning agent. For network
 * engineers and tests: list, show, set, delete, counters, batches and
 * resyncs, usage watching; --json for scripts.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <zmq.h>

#include "common/inet.h"
#include "common/proto/dpproto.h"
#include "common/zcurve.h"
#include "controlplane/provision/dpclient.h"

#define EXIT_USAGE 2
#define EXIT_REFUSED 3
#define EXIT_UNREACHABLE 4

static const char usage_text[] =
"Usage: cuco-dpctl [-e ENDPOINT] [--json] [--timeout SECONDS] COMMAND [ARGS]\n"
"\n"
"Provision a cuco-dataplane over its ZeroMQ agent (protocol schema 1), read\n"
"its state and counters. Every change is sent as one batch with the next\n"
"generation number and applied whole or not at all.\n"
"\n"
"Commands:\n"
"  hello                        boot id, generation, counts\n"
"  list                         subscribers (id, profile, availability, match)\n"
"  show ID                      one subscriber with its counters\n"
"  profiles                     bandwidth profiles\n"
"  counters [ID]                usage counters of one or all subscribers\n"
"  set profile NAME up RATE down RATE [OPTIONS]\n"
"      RATE is bits/s with an optional k, M or G suffix: 20M. Options:\n"
"        up-peak RATE, down-peak RATE   peak rate (default: the rate)\n"
"        burst BYTES                    committed and peak bursts (default:\n"
"                                       200 ms of the rate, at least 16000)\n"
"        mode rfc2698|rfc4115|none      meter (default rfc2698)\n"
"        yellow ACTION, red ACTION      forward, drop or remark:DSCP\n"
"                                       (defaults: forward, drop)\n"
"        shape yes                      shape the downstream at its rate\n"
"                                       (queue, then send) instead of policing,\n"
"                                       on access ports configured to shape\n"
"  set subscriber ID profile NAME [prefix P]... [vlan PORT:OUTER[.INNER]]...\n"
"                 [mac MAC]... [availability active|suspended|walled-garden]\n"
"  set availability ID active|suspended|walled-garden\n"
"  set walled-garden [PREFIX]...  the allow-list (the operator's portal)\n"
"  delete subscriber ID | delete profile NAME\n"
"  batch FILE|-                 send {\"changes\": [...]} (or a bare array) as\n"
"                               one batch with the next generation\n"
"  resync FILE|-                replace the whole state with those changes\n"
"  watch-usage [COUNT]          print usage messages from the PUB socket\n"
"  routes                       the route table: routes per family, per source\n"
"                               (config, kernel, FPM) and per FRR protocol, next\n"
"                               hops and groups, whether zebra's FPM feed is up\n"
"                               (read from the dataplane's DPDK telemetry socket,\n"
"                               see --file-prefix)\n"
"\n"
"Options:\n"
"  -e, --endpoint EP   agent endpoint (default tcp://127.0.0.1:9700)\n"
"  -u, --usage EP      usage endpoint for watch-usage (default tcp://127.0.0.1:9701)\n"
"  -j, --json          print the agent's JSON replies as they are\n"
"  -t, --timeout S     seconds to wait for an answer (default 5)\n"
"  -k, --curve DIR     CURVE: DIR holds server.public (the dataplane's\n"
"                      STATE/curve/server.public) and this client's keypair\n"
"                      client.public / client.secret, made on first use; add\n"
"                      client.public to the dataplane's authorized_keys\n"
"  -f, --file-prefix P the dataplane's DPDK --file-prefix, for routes\n"
"                      (default cuco; the lab's is cuco-dp)\n"
"  -h, --help          this text\n"
"\n"
"Exit status: 0 done, 2 bad command line, 3 the dataplane refused the request\n"
"(its error names the field and the reason), 4 no answer.\n";

struct ctl {
	const char *curve_dir;
	char server_key[ZCURVE_KEY_LEN];
	char client_pub[ZCURVE_KEY_LEN];
	char client_sec[ZCURVE_KEY_LEN];
	const char *endpoint;
	const char *usage;
	const char *file_prefix;
	bool json;
	int timeout_ms;
	struct dpclient *client;
};

static int __attribute__((format(printf, 1, 2)))
die_usage(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "cuco-dpctl: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, " (see cuco-dpctl --help)\n");
	return EXIT_USAGE;
}

/* Make @sock a CURVE client when --curve was given. */
static void
curve_client(const struct ctl *c, void *sock)
{
	if (c->curve_dir == NULL)
		return;
	zmq_setsockopt(sock, ZMQ_CURVE_SERVERKEY, c->server_key, ZCURVE_KEY_LEN - 1);
	zmq_setsockopt(sock, ZMQ_CURVE_PUBLICKEY, c->client_pub, ZCURVE_KEY_LEN - 1);
	zmq_setsockopt(sock, ZMQ_CURVE_SECRETKEY, c->client_sec, ZCURVE_KEY_LEN - 1);
}

/* Send @req (consumed) and wait for the reply; NULL after printing why. */
static json_t *
call(struct ctl *c, json_t *req, int *ret_status)
{
	struct dpclient_config cfg = {.endpoint = c->endpoint, .curve_dir = c->curve_dir};
	json_t *rep = NULL;
	char err[600];
	int r;

	if (c->client == NULL && dpclient_new(&cfg, &c->client, err, sizeof(err)) < 0) {
		fprintf(stderr, "cuco-dpctl: %s\n", err);
		*ret_status = EXIT_USAGE;
		json_decref(req);
		return NULL;
	}
	r = dpclient_call(c->client, req, c->timeout_ms, &rep, err, sizeof(err));
	if (r == -EREMOTEIO) {
		if (c->json)
			json_dumpf(rep, stdout, JSON_INDENT(2)), putchar('\n');
		else
			fprintf(stderr, "cuco-dpctl: refused: %s\n", err);
		json_decref(rep);
		*ret_status = EXIT_REFUSED;
		return NULL;
	}
	if (r == -ETIMEDOUT || r == -ENOTCONN) {
		fprintf(stderr, "cuco-dpctl: no answer from %s within %d ms%s\n", c->endpoint,
			c->timeout_ms,
			c->curve_dir ? " (is this client's key in the dataplane's authorized_keys?)"
				     : "");
		*ret_status = EXIT_UNREACHABLE;
		return NULL;
	}
	if (r < 0) {
		fprintf(stderr, "cuco-dpctl: %s\n", err);
		*ret_status = EXIT_FAILURE;
		return NULL;
	}
	*ret_status = 0;
	return rep;
}

static void
print_json(json_t *j)
{
	json_dumpf(j, stdout, JSON_INDENT(2));
	putchar('\n');
}

/* Send @changes (consumed) as a batch on top of the current generation, or a resync. */
static int
send_changes(struct ctl *c, json_t *changes, bool resync)
{
	json_t *rep;
	uint64_t gen;
	int st;

	rep = call(c, json_pack("{s:s}", "op", "hello"), &st);
	if (rep == NULL) {
		json_decref(changes);
		return st;
	}
	gen = (uint64_t)json_integer_value(json_object_get(rep, "generation"));
	json_decref(rep);
	if (resync)
		rep = call(c, json_pack("{s:s, s:I, s:o}", "op", "resync", "generation",
					(json_int_t)(gen + 1), "changes", changes), &st);
	else
		rep = call(c, json_pack("{s:s, s:I, s:I, s:o}", "op", "batch", "generation",
					(json_int_t)(gen + 1), "expect", (json_int_t)gen, "changes",
					changes), &st);
	if (rep == NULL)
		return st;
	if (c->json)
		print_json(rep);
	else
		printf("applied %" JSON_INTEGER_FORMAT " changes: generation %" JSON_INTEGER_FORMAT "\n",
		       json_integer_value(json_object_get(rep, "applied")),
		       json_integer_value(json_object_get(rep, "generation")));
	json_decref(rep);
	return 0;
}

static int
parse_rate(const char *s, uint64_t *ret)
{
	char *end;
	double v = strtod(s, &end);
	uint64_t mult = 1;

	if (end == s || v < 0)
		return -EINVAL;
	if (*end == 'k' || *end == 'K')
		mult = 1000, end++;
	else if (*end == 'M')
		mult = 1000000, end++;
	else if (*end == 'G')
		mult = 1000000000, end++;
	if (*end != '\0' || v * (double)mult > 1e12)
		return -EINVAL;
	*ret = (uint64_t)(v * (double)mult);
	return 0;
}

static json_t *
meter_obj(const char *mode, uint64_t rate, uint64_t peak, uint64_t burst, const char *yellow,
	  const char *red)
{
	bool x = strcmp(mode, "rfc4115") == 0;
	json_t *m = json_pack("{s:s, s:s, s:s}", "mode", mode, "yellow", yellow, "red", red);

	if (strcmp(mode, "none") == 0)
		return m;
	json_object_set_new(m, "cir", json_integer((json_int_t)rate));
	json_object_set_new(m, x ? "eir" : "pir", json_integer((json_int_t)(x ? peak - rate : peak)));
	json_object_set_new(m, "cbs", json_integer((json_int_t)burst));
	json_object_set_new(m, x ? "ebs" : "pbs", json_integer((json_int_t)burst));
	return m;
}

static int
cmd_set_profile(struct ctl *c, int argc, char **argv)
{
	const char *mode = "rfc2698", *yellow = "forward", *red = "drop", *name, *shape = "no";
	uint64_t up = 0, down = 0, up_peak = 0, down_peak = 0, burst = 0, bu, bd;
	json_t *down_meter;
	int i;

	if (argc < 1)
		return die_usage("set profile: NAME missing%s", "");
	name = argv[0];
	for (i = 1; i < argc; i += 2) {
		const char *k = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		uint64_t *rate = NULL;

		if (v == NULL)
			return die_usage("set profile: '%s' needs a value", k);
		if (strcmp(k, "up") == 0)
			rate = &up;
		else if (strcmp(k, "down") == 0)
			rate = &down;
		else if (strcmp(k, "up-peak") == 0)
			rate = &up_peak;
		else if (strcmp(k, "down-peak") == 0)
			rate = &down_peak;
		else if (strcmp(k, "burst") == 0)
			rate = &burst;
		else if (strcmp(k, "mode") == 0)
			mode = v;
		else if (strcmp(k, "yellow") == 0)
			yellow = v;
		else if (strcmp(k, "red") == 0)
			red = v;
		else if (strcmp(k, "shape") == 0)
			shape = v;
		else
			return die_usage("set profile: unknown option '%s'", k);
		if (rate != NULL && parse_rate(v, rate) < 0)
			return die_usage("set profile: '%s' is not a rate such as 20M", v);
	}
	if (strcmp(mode, "none") != 0 && (up == 0 || down == 0))
		return die_usage("set profile: 'up RATE' and 'down RATE' are required%s", "");
	up_peak = up_peak ? up_peak : up;
	down_peak = down_peak ? down_peak : down;
	/* 200 ms of the rate: TCP then gets within a few % of it through a policer. */
	bu = burst ? burst : (up / 40 > 16000 ? up / 40 : 16000);
	bd = burst ? burst : (down / 40 > 16000 ? down / 40 : 16000);
	if (strcmp(shape, "yes") != 0 && strcmp(shape, "no") != 0)
		return die_usage("set profile: shape takes yes or no, not '%s'", shape);
	down_meter = meter_obj(mode, down, down_peak, bd, yellow, red);
	if (strcmp(shape, "yes") == 0)
		json_object_set_new(down_meter, "shape", json_true());
	return send_changes(c, json_pack("[{s:s, s:s, s:o, s:o}]", "op", "profile.upsert", "name",
					 name, "up", meter_obj(mode, up, up_peak, bu, yellow, red),
					 "down", down_meter),
			    false);
}

static int
cmd_set_subscriber(struct ctl *c, int argc, char **argv)
{
	json_t *pf = json_array(), *vl = json_array(), *mc = json_array(), *ch;
	const char *profile = NULL, *avail = "active";
	int i;

	if (argc < 1) {
		json_decref(pf), json_decref(vl), json_decref(mc);
		return die_usage("set subscriber: ID missing%s", "");
	}
	for (i = 1; i < argc; i += 2) {
		const char *k = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (v == NULL)
			goto bad;
		if (strcmp(k, "profile") == 0) {
			profile = v;
		} else if (strcmp(k, "prefix") == 0) {
			json_array_append_new(pf, json_string(v));
		} else if (strcmp(k, "mac") == 0) {
			json_array_append_new(mc, json_string(v));
		} else if (strcmp(k, "availability") == 0) {
			avail = v;
		} else if (strcmp(k, "vlan") == 0) {
			char port[32];
			unsigned outer = 0, inner = 0;
			const char *colon = strchr(v, ':');

			if (colon == NULL || (size_t)(colon - v) >= sizeof(port) ||
			    sscanf(colon + 1, "%u.%u", &outer, &inner) < 1)
				goto bad;
			memcpy(port, v, (size_t)(colon - v));
			port[colon - v] = '\0';
			json_array_append_new(vl, inner ? json_pack("{s:s, s:i, s:i}", "port", port,
								    "outer", outer, "inner", inner)
							: json_pack("{s:s, s:i}", "port", port, "outer",
								    outer));
		} else {
			goto bad;
		}
	}
	if (profile == NULL) {
		json_decref(pf), json_decref(vl), json_decref(mc);
		return die_usage("set subscriber: 'profile NAME' is required%s", "");
	}
	ch = json_pack("[{s:s, s:s, s:s, s:s, s:{s:o, s:o, s:o}}]", "op", "subscriber.upsert", "id",
		       argv[0], "profile", profile, "availability", avail, "match", "prefixes", pf,
		       "vlans", vl, "macs", mc);
	return send_changes(c, ch, false);
bad:
	json_decref(pf), json_decref(vl), json_decref(mc);
	return die_usage("set subscriber: bad option near '%s'", argv[i]);
}

static json_t *
load_changes(const char *path)
{
	json_error_t e;
	json_t *j = strcmp(path, "-") == 0 ? json_loadf(stdin, 0, &e) : json_load_file(path, 0, &e);
	json_t *ch;

	if (j == NULL) {
		fprintf(stderr, "cuco-dpctl: %s:%d: %s\n", path, e.line, e.text);
		return NULL;
	}
	if (json_is_array(j))
		return j;
	ch = json_object_get(j, "changes");
	if (!json_is_array(ch)) {
		fprintf(stderr, "cuco-dpctl: %s: expected an array of changes or {\"changes\": [...]}\n",
			path);
		json_decref(j);
		return NULL;
	}
	json_incref(ch);
	json_decref(j);
	return ch;
}

static void
print_dir(const char *name, json_t *d)
{
	json_t *drops = json_object_get(d, "drops"), *v;
	const char *k;

	printf("  %-4s %12" JSON_INTEGER_FORMAT " packets %14" JSON_INTEGER_FORMAT " bytes", name,
	       json_integer_value(json_object_get(d, "packets")),
	       json_integer_value(json_object_get(d, "bytes")));
	json_object_foreach(drops, k, v) {
		json_int_t n = json_integer_value(json_object_get(v, "packets"));

		if (n != 0)
			printf("  dropped %s %" JSON_INTEGER_FORMAT, k, n);
	}
	putchar('\n');
}

static void
print_counters(json_t *cnt)
{
	const char *id = json_string_value(json_object_get(cnt, "id"));

	printf("%s\n", id[0] ? id : "(unknown subscribers)");
	print_dir("up", json_object_get(cnt, "up"));
	print_dir("down", json_object_get(cnt, "down"));
}

static void
print_sub(json_t *s)
{
	json_t *m = json_object_get(s, "match"), *v;
	size_t i;

	printf("%-20s %-12s %-14s", json_string_value(json_object_get(s, "id")),
	       json_string_value(json_object_get(s, "profile")),
	       json_string_value(json_object_get(s, "availability")));
	json_array_foreach(json_object_get(m, "prefixes"), i, v)
		printf(" %s", json_string_value(v));
	json_array_foreach(json_object_get(m, "vlans"), i, v) {
		json_int_t inner = json_integer_value(json_object_get(v, "inner"));

		printf(" vlan %s:%" JSON_INTEGER_FORMAT, json_string_value(json_object_get(v, "port")),
		       json_integer_value(json_object_get(v, "outer")));
		if (inner)
			printf(".%" JSON_INTEGER_FORMAT, inner);
	}
	json_array_foreach(json_object_get(m, "macs"), i, v)
		printf(" mac %s", json_string_value(v));
	putchar('\n');
}

static int
cmd_read(struct ctl *c, const char *what, const char *id)
{
	json_t *req, *rep, *v;
	size_t i;
	int st;

	if (strcmp(what, "counters") == 0 || strcmp(what, "show") == 0) {
		req = json_pack("{s:s}", "op", "counters");
		if (id != NULL)
			json_object_set_new(req, "id", json_string(id));
	} else {
		req = json_pack("{s:s, s:i}", "op", strcmp(what, "hello") == 0 ? "hello" : "get",
				"limit", 100000);
	}
	rep = call(c, req, &st);
	if (rep == NULL)
		return st;
	if (c->json) {
		print_json(rep);
	} else if (strcmp(what, "hello") == 0) {
		printf("boot id %s, generation %" JSON_INTEGER_FORMAT ", schema %" JSON_INTEGER_FORMAT
		       ", %" JSON_INTEGER_FORMAT " subscribers, %" JSON_INTEGER_FORMAT " profiles\n",
		       json_string_value(json_object_get(rep, "boot_id")),
		       json_integer_value(json_object_get(rep, "generation")),
		       json_integer_value(json_object_get(rep, "schema")),
		       json_integer_value(json_object_get(rep, "subscribers")),
		       json_integer_value(json_object_get(rep, "profiles")));
	} else if (strcmp(what, "list") == 0) {
		json_array_foreach(json_object_get(rep, "subscribers"), i, v)
			print_sub(v);
	} else if (strcmp(what, "profiles") == 0) {
		json_array_foreach(json_object_get(rep, "profiles"), i, v) {
			printf("%s\n", json_string_value(json_object_get(v, "name")));
			printf("  up   ");
			json_dumpf(json_object_get(v, "up"), stdout, JSON_COMPACT);
			printf("\n  down ");
			json_dumpf(json_object_get(v, "down"), stdout, JSON_COMPACT);
			putchar('\n');
		}
	} else if (id != NULL) {
		print_counters(json_object_get(rep, "counters"));
	} else {
		json_array_foreach(json_object_get(rep, "counters"), i, v)
			print_counters(v);
		print_counters(json_object_get(rep, "unknown"));
	}
	json_decref(rep);
	return 0;
}

static int
cmd_watch(struct ctl *c, long count)
{
	void *zctx = zmq_ctx_new(), *sub = zmq_socket(zctx, ZMQ_SUB);
	long seen = 0;
	int linger = 0;

	zmq_setsockopt(sub, ZMQ_LINGER, &linger, sizeof(linger));
	zmq_setsockopt(sub, ZMQ_SUBSCRIBE, "", 0);
	zmq_setsockopt(sub, ZMQ_RCVTIMEO, &c->timeout_ms, sizeof(c->timeout_ms));
	curve_client(c, sub);
	if (zmq_connect(sub, c->usage) != 0) {
		fprintf(stderr, "cuco-dpctl: %s: %s\n", c->usage, zmq_strerror(zmq_errno()));
		return EXIT_USAGE;
	}
	while (count == 0 || seen < count) {
		zmq_msg_t msg;

		zmq_msg_init(&msg);
		if (zmq_msg_recv(&msg, sub, 0) < 0) {
			zmq_msg_close(&msg);
			fprintf(stderr, "cuco-dpctl: no usage from %s within %d ms\n", c->usage,
				c->timeout_ms);
			zmq_close(sub);
			zmq_ctx_term(zctx);
			return EXIT_UNREACHABLE;
		}
		fwrite(zmq_msg_data(&msg), 1, zmq_msg_size(&msg), stdout);
		putchar('\n');
		fflush(stdout);
		zmq_msg_close(&msg);
		seen++;
	}
	zmq_close(sub);
	zmq_ctx_term(zctx);
	return 0;
}

/*
 * Ask the dataplane's DPDK telemetry socket (v2: SOCK_SEQPACKET, a JSON
 * greeting, then one JSON answer per command) for @cmd. Returns the answer's
 * value for @cmd (new reference) or NULL after printing why.
 */
static json_t *
telemetry(const struct ctl *c, const char *cmd)
{
	const char *rundir = getuid() == 0 ? "/var/run" : getenv("XDG_RUNTIME_DIR");
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	struct timeval tv = {.tv_sec = c->timeout_ms / 1000};
	json_t *reply, *value;
	char *buf;
	ssize_t n;
	int fd;

	if (rundir == NULL)
		rundir = "/tmp";
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s/dpdk/%s/dpdk_telemetry.v2", rundir,
		 c->file_prefix);
	buf = malloc(1 << 20);
	fd = socket(AF_UNIX, SOCK_SEQPACKET, 0);
	if (buf == NULL || fd < 0) {
		fprintf(stderr, "cuco-dpctl: %s\n", strerror(errno));
		goto out_fail;
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		fprintf(stderr, "cuco-dpctl: telemetry socket %s: %s (is the dataplane running "
				"with --file-prefix %s?)\n", sun.sun_path, strerror(errno), c->file_prefix);
		goto out_fail;
	}
	/* The greeting first ({"version": ..., "max_output_len": ...}), then ours. */
	if (recv(fd, buf, (1 << 20) - 1, 0) <= 0 || send(fd, cmd, strlen(cmd), 0) < 0 ||
	    (n = recv(fd, buf, (1 << 20) - 1, 0)) <= 0) {
		fprintf(stderr, "cuco-dpctl: telemetry socket %s: no answer\n", sun.sun_path);
		goto out_fail;
	}
	reply = json_loadb(buf, (size_t)n, 0, NULL);
	value = json_incref(json_object_get(reply, cmd));
	json_decref(reply);
	if (value == NULL || json_is_null(value)) {
		fprintf(stderr, "cuco-dpctl: the dataplane does not answer %s\n", cmd);
		json_decref(value);
		goto out_fail;
	}
	close(fd);
	free(buf);
	return value;
out_fail:
	if (fd >= 0)
		close(fd);
	free(buf);
	return NULL;
}

static void
print_counts(const char *title, const json_t *obj)
{
	const char *k;
	json_t *v;

	printf("  %-16s", title);
	json_object_foreach((json_t *)obj, k, v)
		printf(" %s %" JSON_INTEGER_FORMAT, k, json_integer_value(v));
	putchar('\n');
}

static int
cmd_routes(const struct ctl *c)
{
	json_t *r = telemetry(c, "/cuco/routes");

	if (r == NULL)
		return EXIT_UNREACHABLE;
	if (c->json) {
		json_dumpf(r, stdout, JSON_INDENT(2) | JSON_SORT_KEYS);
		putchar('\n');
	} else {
		printf("routes: %" JSON_INTEGER_FORMAT " IPv4, %" JSON_INTEGER_FORMAT " IPv6; "
		       "%" JSON_INTEGER_FORMAT " next hops, %" JSON_INTEGER_FORMAT " groups; "
		       "FPM feed %s\n",
		       json_integer_value(json_object_get(r, "ipv4")),
		       json_integer_value(json_object_get(r, "ipv6")),
		       json_integer_value(json_object_get(r, "nexthops")),
		       json_integer_value(json_object_get(r, "nexthop_groups")),
		       json_integer_value(json_object_get(r, "fpm_connected")) ? "connected"
									   : "not connected");
		print_counts("IPv4 by source:", json_object_get(r, "sources_ipv4"));
		print_counts("IPv6 by source:", json_object_get(r, "sources_ipv6"));
		print_counts("IPv4 by proto:", json_object_get(r, "protocols_ipv4"));
		print_counts("IPv6 by proto:", json_object_get(r, "protocols_ipv6"));
	}
	json_decref(r);
	return 0;
}

static int
run(struct ctl *c, int argc, char **argv)
{
	const char *cmd = argv[0];

	if (strcmp(cmd, "hello") == 0 || strcmp(cmd, "list") == 0 || strcmp(cmd, "profiles") == 0)
		return cmd_read(c, cmd, NULL);
	if (strcmp(cmd, "counters") == 0)
		return cmd_read(c, cmd, argc > 1 ? argv[1] : NULL);
	if (strcmp(cmd, "show") == 0) {
		if (argc != 2)
			return die_usage("show: ID missing%s", "");
		return cmd_read(c, cmd, argv[1]);
	}
	if (strcmp(cmd, "set") == 0 && argc >= 2) {
		if (strcmp(argv[1], "profile") == 0)
			return cmd_set_profile(c, argc - 2, argv + 2);
		if (strcmp(argv[1], "subscriber") == 0)
			return cmd_set_subscriber(c, argc - 2, argv + 2);
		if (strcmp(argv[1], "availability") == 0 && argc == 4)
			return send_changes(c, json_pack("[{s:s, s:s, s:s}]", "op",
							 "subscriber.availability", "id", argv[2],
							 "availability", argv[3]), false);
		if (strcmp(argv[1], "walled-garden") == 0) {
			json_t *allow = json_array();
			int i;

			for (i = 2; i < argc; i++)
				json_array_append_new(allow, json_string(argv[i]));
			return send_changes(c, json_pack("[{s:s, s:o}]", "op", "walled_garden.set",
							 "allow", allow), false);
		}
		return die_usage("set: unknown object '%s'", argv[1]);
	}
	if (strcmp(cmd, "delete") == 0 && argc == 3) {
		if (strcmp(argv[1], "subscriber") == 0)
			return send_changes(c, json_pack("[{s:s, s:s}]", "op", "subscriber.delete",
							 "id", argv[2]), false);
		if (strcmp(argv[1], "profile") == 0)
			return send_changes(c, json_pack("[{s:s, s:s}]", "op", "profile.delete",
							 "name", argv[2]), false);
		return die_usage("delete: unknown object '%s'", argv[1]);
	}
	if ((strcmp(cmd, "batch") == 0 || strcmp(cmd, "resync") == 0) && argc == 2) {
		json_t *ch = load_changes(argv[1]);

		return ch == NULL ? EXIT_USAGE : send_changes(c, ch, cmd[0] == 'r');
	}
	if (strcmp(cmd, "routes") == 0 && argc == 1)
		return cmd_routes(c);
	if (strcmp(cmd, "watch-usage") == 0)
		return cmd_watch(c, argc > 1 ? strtol(argv[1], NULL, 10) : 0);
	return die_usage("unknown or incomplete command '%s'", cmd);
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"endpoint", required_argument, NULL, 'e'},
		{"usage", required_argument, NULL, 'u'},
		{"json", no_argument, NULL, 'j'},
		{"timeout", required_argument, NULL, 't'},
		{"curve", required_argument, NULL, 'k'},
		{"file-prefix", required_argument, NULL, 'f'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct ctl c = {
		.endpoint = "tcp://127.0.0.1:9700",
		.usage = "tcp://127.0.0.1:9701",
		.timeout_ms = 5000,
		.file_prefix = "cuco",
	};
	int opt, status;

	while ((opt = getopt_long(argc, argv, "+e:u:jt:k:f:h", longopts, NULL)) != -1) {
		switch (opt) {
		case 'e':
			c.endpoint = optarg;
			break;
		case 'u':
			c.usage = optarg;
			break;
		case 'j':
			c.json = true;
			break;
		case 't':
			c.timeout_ms = atoi(optarg) * 1000;
			if (c.timeout_ms <= 0)
				return die_usage("--timeout: '%s' is not a number of seconds", optarg);
			break;
		case 'k':
			c.curve_dir = optarg;
			break;
		case 'f':
			c.file_prefix = optarg;
			break;
		case 'h':
			fputs(usage_text, stdout);
			return 0;
		default:
			return die_usage("unknown option%s", "");
		}
	}
	if (optind >= argc)
		return die_usage("no command given%s", "");
	if (c.curve_dir != NULL) {
		char path[512], err[600];

		snprintf(path, sizeof(path), "%s/server.public", c.curve_dir);
		if (zcurve_read_key(path, c.server_key, err, sizeof(err)) < 0 ||
		    zcurve_keypair(c.curve_dir, "client", c.client_pub, c.client_sec, err,
				   sizeof(err)) < 0) {
			fprintf(stderr, "cuco-dpctl: --curve: %s\n", err);
			return EXIT_USAGE;
		}
	}
	status = run(&c, argc - optind, argv + optind);
	dpclient_free(c.client);
	return status;
}

/* SPDX-License-Identifier: BSD-3-Clause */
/* The gateway's own routes: /healthz, /readyz, /metrics, /api/v1/openapi.json. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "controlplane/rest/rest_internal.h"

static int
healthz(struct rest_ctx *ctx, void *data)
{
	return rest_reply_json(ctx, 200, json_pack("{s:s}", "status", "alive"));
}

static int
readyz(struct rest_ctx *ctx, void *data)
{
	const struct rest_hooks *h = &ctx->s->cfg.hooks;
	json_t *checks = json_object();
	char parts[512] = "";
	size_t pos = 0;
	const char *key;
	json_t *val;
	int rc = 0;

	if (checks == NULL)
		return -ENOMEM;
	if (h->readiness)
		rc = h->readiness(h->arg, checks);
	if (rc == 0)
		return rest_reply_json(ctx, 200,
				       json_pack("{s:s, s:o}", "status", "ready", "checks", checks));
	json_object_foreach(checks, key, val)
	{
		const char *v = json_string_value(val);

		if (v != NULL && strcmp(v, "ok") == 0)
			continue;
		pos += (size_t)snprintf(parts + pos, sizeof(parts) - pos, "%s%s: %s",
					pos ? "; " : "", key, v ? v : "not ready");
		if (pos >= sizeof(parts))
			break;
	}
	return rest_reply_problem_ext(ctx, 503, "not-ready", json_pack("{s:o}", "checks", checks),
				      "not ready: %s", parts[0] ? parts : "readiness check failed");
}

static int
metrics(struct rest_ctx *ctx, void *data)
{
	struct rest_server *s = ctx->s;
	unsigned in_flight;
	size_t len = 0;
	char *text;

	pthread_mutex_lock(&s->lock);
	in_flight = s->in_flight;
	pthread_mutex_unlock(&s->lock);
	text = rest_metrics_render(s->metrics, in_flight, s->cfg.hooks.metrics, s->cfg.hooks.arg,
				   &len);
	if (text == NULL)
		return -ENOMEM;
	rest_ctx_reset_reply(ctx);
	ctx->status = 200;
	free(ctx->raw_body);
	ctx->raw_body = text;
	ctx->raw_len = len;
	snprintf(ctx->raw_type, sizeof(ctx->raw_type), "text/plain; version=0.0.4; charset=utf-8");
	return 0;
}

static int
openapi(struct rest_ctx *ctx, void *data)
{
	/* A copy: fields= would otherwise edit the shared document. */
	json_t *doc = json_deep_copy(ctx->s->openapi);

	if (doc == NULL)
		return -ENOMEM;
	return rest_reply_json(ctx, 200, doc);
}

static const struct rest_route builtin_routes[] = {
	{
		.method = REST_GET,
		.path = "/healthz",
		.handler = healthz,
		.summary = "Liveness: the process answers",
		.tag = "operations",
		.flags = REST_ROUTE_NO_RATELIMIT,
	},
	{
		.method = REST_GET,
		.path = "/readyz",
		.handler = readyz,
		.summary = "Readiness: the database and the bus are reachable",
		.tag = "operations",
		.flags = REST_ROUTE_NO_RATELIMIT,
	},
	{
		.method = REST_GET,
		.path = "/metrics",
		.handler = metrics,
		.summary = "Prometheus metrics (text exposition format)",
		.tag = "operations",
		.flags = REST_ROUTE_NO_RATELIMIT,
	},
	{
		.method = REST_GET,
		.path = "/api/v1/openapi.json",
		.handler = openapi,
		.summary = "This OpenAPI 3.1 document",
		.tag = "operations",
	},
};

int
rest_builtin_register(struct rest_server *s, char *err, size_t errlen)
{
	return rest_register(s, builtin_routes, sizeof(builtin_routes) / sizeof(builtin_routes[0]),
			     s, err, errlen);
}

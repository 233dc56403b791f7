/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The OpenAPI 3.1 document of the registered routes. Schemas come from the
 * registry, under components/schemas, with the schemas they refer to; local
 * references inside a schema ("#/$defs/x") are rewritten to point into its
 * component, because in OpenAPI they resolve against the whole document.
 */
#include <stdio.h>
#include <string.h>

#include "controlplane/rest/rest_internal.h"

#define REF_PREFIX "#/components/schemas/"

static json_t *
schema_ref(const char *name)
{
	char ref[256];

	snprintf(ref, sizeof(ref), REF_PREFIX "%s", name);
	return json_pack("{s:s}", "$ref", ref);
}

/* Deep copy of @schema named @name with local references rewritten; names it refers to into @todo. */
static json_t *
copy_schema(const json_t *v, const char *name, json_t *todo)
{
	json_t *out;

	if (json_is_object(v)) {
		const char *key;
		json_t *val;

		out = json_object();
		json_object_foreach((json_t *)v, key, val)
		{
			const char *ref = json_string_value(val);

			if (strcmp(key, "$ref") == 0 && ref != NULL) {
				char buf[512];

				if (strncmp(ref, REF_PREFIX, strlen(REF_PREFIX)) == 0) {
					json_array_append_new(todo,
							      json_string(ref + strlen(REF_PREFIX)));
					json_object_set_new(out, key, json_string(ref));
				} else if (ref[0] == '#') {
					/* RFC 6901: '~' and '/' in the name are escaped. */
					size_t pos = snprintf(buf, sizeof(buf), REF_PREFIX);

					for (const char *c = name; *c && pos + 3 < sizeof(buf); c++) {
						if (*c == '~' || *c == '/') {
							buf[pos++] = '~';
							buf[pos++] = *c == '~' ? '0' : '1';
						} else {
							buf[pos++] = *c;
						}
					}
					snprintf(buf + pos, sizeof(buf) - pos, "%s", ref + 1);
					json_object_set_new(out, key, json_string(buf));
				} else {
					json_object_set_new(out, key, json_string(ref));
				}
				continue;
			}
			json_object_set_new(out, key, copy_schema(val, name, todo));
		}
		return out;
	}
	if (json_is_array(v)) {
		size_t i;
		json_t *val;

		out = json_array();
		json_array_foreach(v, i, val)
			json_array_append_new(out, copy_schema(val, name, todo));
		return out;
	}
	return json_deep_copy(v);
}

static json_t *
problem_schema(void)
{
	return json_pack(
		"{s:s, s:s, s:[s,s,s,s], s:{s:{s:s, s:s}, s:{s:s}, s:{s:s}, s:{s:s}, s:{s:s}, "
		"s:{s:s}, s:{s:s}, s:{s:s}, s:{s:s}}}",
		"type", "object", "description", "RFC 9457 problem details", "required", "type",
		"title", "status", "code", "properties", "type", "type", "string", "format",
		"uri-reference", "title", "type", "string", "status", "type", "integer", "detail",
		"type", "string", "instance", "type", "string", "code", "type", "string", "traceId",
		"type", "string", "field", "type", "string", "reason", "type", "string");
}

static json_t *
problem_response(const char *description)
{
	return json_pack("{s:s, s:{s:{s:o}}}", "description", description, "content",
			 "application/problem+json", "schema", schema_ref("Problem"));
}

static json_t *
parameters(const struct rest_entry *e, unsigned page_max)
{
	const struct rest_route *r = e->r;
	json_t *params = json_array();

	for (unsigned i = 0; i < e->nseg; i++) {
		size_t n = strlen(e->seg[i]);

		if (e->seg[i][0] != '{')
			continue;
		json_array_append_new(params, json_pack("{s:s%, s:s, s:b, s:{s:s}}", "name",
							e->seg[i] + 1, n - 2, "in", "path",
							"required", 1, "schema", "type", "string"));
	}
	if (r->flags & REST_ROUTE_LIST) {
		json_array_append_new(params, json_pack("{s:s, s:s, s:s, s:{s:s, s:i, s:i}}",
							"name", "limit", "in", "query",
							"description", "page size", "schema", "type",
							"integer", "minimum", 1, "maximum",
							(int)page_max));
		json_array_append_new(params, json_pack("{s:s, s:s, s:s, s:{s:s, s:i}}", "name",
							"offset", "in", "query", "description",
							"items to skip", "schema", "type",
							"integer", "minimum", 0));
		for (const char *const *f = r->filters; f && *f; f++)
			json_array_append_new(params,
					      json_pack("{s:s, s:s, s:s, s:{s:s}}", "name", *f,
							"in", "query", "description",
							"attribute filter", "schema", "type",
							"string"));
	}
	if (r->method == REST_GET && r->response_schema)
		json_array_append_new(params,
				      json_pack("{s:s, s:s, s:s, s:{s:s}}", "name", "fields", "in",
						"query", "description",
						"attributes to return, comma-separated", "schema",
						"type", "string"));
	if (r->method == REST_POST)
		json_array_append_new(params, json_pack("{s:s, s:s, s:b, s:{s:s, s:i}}", "name",
							"Idempotency-Key", "in", "header",
							"required", 0, "schema", "type",
							"string", "maxLength", 255));
	if (r->method == REST_PUT || r->method == REST_PATCH || r->method == REST_DELETE)
		json_array_append_new(params,
				      json_pack("{s:s, s:s, s:b, s:{s:s}}", "name", "If-Match",
						"in", "header", "required",
						(r->flags & REST_ROUTE_IF_MATCH_REQUIRED) != 0,
						"schema", "type", "string"));
	return params;
}

static unsigned
success_status(enum rest_method m)
{
	return m == REST_POST ? 201 : m == REST_DELETE ? 204 : 200;
}

static json_t *
success_response(const struct rest_entry *e)
{
	const struct rest_route *r = e->r;
	json_t *resp = json_pack("{s:s}", "description", rest_status_title(success_status(r->method)));
	json_t *schema;

	if (r->response_schema == NULL)
		return resp;
	schema = schema_ref(r->response_schema);
	if (r->flags & REST_ROUTE_LIST) {
		schema = json_pack("{s:s, s:o}", "type", "array", "items", schema);
		json_object_set_new(
			resp, "headers",
			json_pack("{s:{s:s, s:{s:s}}, s:{s:s, s:{s:s}}, s:{s:s, s:{s:s}}}",
				  "X-Total-Count", "description", "items in the collection",
				  "schema", "type", "integer", "X-Result-Count", "description",
				  "items in this page", "schema", "type", "integer", "Link",
				  "description", "RFC 8288 first, prev, next, last", "schema",
				  "type", "string"));
	}
	json_object_set_new(resp, "content",
			    json_pack("{s:{s:o}}", "application/json", "schema", schema));
	return resp;
}

static json_t *
operation(const struct rest_entry *e, unsigned page_max)
{
	const struct rest_route *r = e->r;
	json_t *op = json_object(), *responses = json_object();
	char id[256], code[8];
	size_t pos;

	pos = (size_t)snprintf(id, sizeof(id), "%s", rest_method_name(r->method));
	for (const char *c = r->path; *c && pos + 1 < sizeof(id); c++)
		id[pos++] = (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
					    (*c >= '0' && *c <= '9') ?
				    *c :
				    '_';
	id[pos] = '\0';
	json_object_set_new(op, "operationId", json_string(id));
	if (r->summary)
		json_object_set_new(op, "summary", json_string(r->summary));
	if (r->tag)
		json_object_set_new(op, "tags", json_pack("[s]", r->tag));
	json_object_set_new(op, "parameters", parameters(e, page_max));
	if (r->request_schema) {
		json_t *content = json_pack("{s:{s:o}}", "application/json", "schema",
					    schema_ref(r->request_schema));

		if (r->method == REST_PATCH)
			json_object_set_new(content, "application/merge-patch+json",
					    json_pack("{s:o}", "schema",
						      schema_ref(r->request_schema)));
		json_object_set_new(op, "requestBody",
				    json_pack("{s:b, s:o}", "required", 1, "content", content));
	}
	snprintf(code, sizeof(code), "%u", success_status(r->method));
	json_object_set_new(responses, code, success_response(e));
	if (r->roles || (r->flags & REST_ROUTE_AUTHENTICATED)) {
		json_t *roles = json_array();

		for (unsigned i = 0; i < CUCO_ROLE_COUNT; i++)
			if (r->roles & CUCO_ROLE_BIT(i))
				json_array_append_new(roles,
						      json_string(cuco_role_name((enum cuco_role)i)));
		json_object_set_new(op, "security", json_pack("[{s:[]}]", "bearerAuth"));
		json_object_set_new(op, "x-roles", roles);
		json_object_set_new(responses, "401", problem_response("no valid credentials"));
		json_object_set_new(responses, "403", problem_response("a role is missing"));
	} else {
		json_object_set_new(op, "security", json_array());
	}
	if (r->request_schema)
		json_object_set_new(responses, "422", problem_response("invalid body"));
	json_object_set_new(responses, "default", problem_response("problem"));
	json_object_set_new(op, "responses", responses);
	return op;
}

static void
add_components(json_t *components, const struct rest_routes *t,
	       const struct jschema_registry *schemas)
{
	json_t *out = json_object_get(components, "schemas");
	json_t *todo = json_array();

	for (size_t i = 0; i < t->n; i++) {
		if (t->v[i].r->request_schema)
			json_array_append_new(todo, json_string(t->v[i].r->request_schema));
		if (t->v[i].r->response_schema)
			json_array_append_new(todo, json_string(t->v[i].r->response_schema));
	}
	/* Breadth first through references; each schema once. */
	for (size_t i = 0; i < json_array_size(todo); i++) {
		const char *name = json_string_value(json_array_get(todo, i));
		json_t *schema = schemas ? jschema_get(schemas, name) : NULL;

		if (json_object_get(out, name) != NULL || schema == NULL)
			continue;
		schema = copy_schema(schema, name, todo);
		/* Its references now point into the document: no base URI of its own. */
		json_object_del(schema, "$id");
		json_object_set_new(out, name, schema);
	}
	if (json_object_get(out, "Problem") == NULL)
		json_object_set_new(out, "Problem", problem_schema());
	json_decref(todo);
}

json_t *
rest_openapi_build(const struct rest_routes *t, const struct jschema_registry *schemas,
		   const char *title, const char *version, const char *server_url, unsigned page_max)
{
	json_t *doc, *paths, *tags = json_array(), *components;

	doc = json_pack("{s:s, s:{s:s, s:s}, s:[{s:s}], s:{}, s:{s:{}, s:{s:{s:s, s:s, s:s}}}}",
			"openapi", "3.1.0", "info", "title", title, "version", version, "servers",
			"url", server_url, "paths", "components", "schemas", "securitySchemes",
			"bearerAuth", "type", "http", "scheme", "bearer", "bearerFormat", "JWT");
	if (doc == NULL) {
		json_decref(tags);
		return NULL;
	}
	paths = json_object_get(doc, "paths");
	components = json_object_get(doc, "components");
	for (size_t i = 0; i < t->n; i++) {
		const struct rest_entry *e = &t->v[i];
		json_t *item;
		char method[8];
		size_t j;
		json_t *tag;
		bool seen = false;

		if (e->r->flags & REST_ROUTE_HIDDEN)
			continue;
		item = json_object_get(paths, e->r->path);
		if (item == NULL) {
			item = json_object();
			json_object_set_new(paths, e->r->path, item);
		}
		snprintf(method, sizeof(method), "%s", rest_method_name(e->r->method));
		for (char *c = method; *c; c++)
			*c = (char)(*c - 'A' + 'a');
		json_object_set_new(item, method, operation(e, page_max));
		json_array_foreach(tags, j, tag)
			seen = seen || (e->r->tag && strcmp(json_string_value(tag), e->r->tag) == 0);
		if (e->r->tag && !seen)
			json_array_append_new(tags, json_string(e->r->tag));
	}
	add_components(components, t, schemas);
	json_object_set_new(doc, "tags", tags);
	/* Tags as objects, as OpenAPI wants them. */
	for (size_t i = 0; i < json_array_size(tags); i++)
		json_array_set_new(tags, i,
				   json_pack("{s:s}", "name",
					     json_string_value(json_array_get(tags, i))));
	return doc;
}

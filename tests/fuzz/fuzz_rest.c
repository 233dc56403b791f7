/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libFuzzer target: the REST gateway's parsers of outside input on arbitrary
 * bytes: the request target (path and query), Accept, fields=, integers,
 * If-Match / If-None-Match lists, and the Link header built from what parsed.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "controlplane/rest/rest_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_uri(const char *s)
{
	struct rest_uri u;
	char err[256], link[16384];
	uint64_t limit, offset, total;

	if (rest_uri_parse(s, &u, err, sizeof(err)) < 0) {
		if (err[0] == '\0')
			abort(); /* a refusal says why */
		return;
	}
	if (u.nseg > REST_MAX_SEGMENTS || u.nquery > REST_MAX_QUERY)
		abort();
	for (unsigned i = 0; i < u.nquery; i++) {
		if (u.query[i].key[0] == '\0')
			abort();
		if (rest_uri_query(&u, u.query[i].key) != u.query[i].value)
			abort(); /* keys are unique */
	}
	/* Paging numbers from the target itself, as a client would send them. */
	if (rest_parse_uint(rest_uri_query(&u, "limit"), 1000, &limit) < 0 || limit == 0)
		limit = 100;
	if (rest_parse_uint(rest_uri_query(&u, "offset"), UINT32_MAX, &offset) < 0)
		offset = 0;
	total = (uint64_t)strlen(s) * 37;
	if (rest_link_build(&u, limit, offset, total, link, sizeof(link)) == 0) {
		if (strlen(link) >= sizeof(link) || link[0] != '<')
			abort();
		/* Every character a header may carry: no CR, LF or NUL inside. */
		if (strpbrk(link, "\r\n") != NULL)
			abort();
	}
	rest_uri_clear(&u);
}

static void
check_headers(const char *s)
{
	struct rest_accept a;
	const char *names[REST_MAX_FIELDS];
	char *copy = strdup(s);
	int n;

	if (copy == NULL)
		return;
	if (rest_accept_parse(s, &a) < 0)
		abort();
	if (a.versions & 1u)
		abort(); /* there is no version 0 */
	n = rest_fields_parse(copy, names, REST_MAX_FIELDS);
	if (n > REST_MAX_FIELDS)
		abort();
	for (int i = 0; i < n; i++)
		if (names[i][0] == '\0' || strchr(names[i], ',') != NULL)
			abort();
	free(copy);
	(void)rest_etag_match(s, "\"abc\"", true);
	(void)rest_etag_match(s, "\"abc\"", false);
	if (rest_etag_match(s, "\"abc\"", false) && !rest_etag_match(s, "\"abc\"", true))
		abort(); /* strong match implies weak match */
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf;

	/* Headers and targets reach the gateway NUL-terminated: do the same. */
	buf = malloc(size + 1);
	if (buf == NULL)
		return 0;
	memcpy(buf, data, size);
	buf[size] = '\0';
	check_uri(buf);
	check_headers(buf);
	free(buf);
	return 0;
}

/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef CUCO_BSS_PRINCIPAL_H
#define CUCO_BSS_PRINCIPAL_H

#include <stdbool.h>
#include <stdint.h>

/*
 * Who asks: carried by every command, from the REST gateway (or NETCONF, or
 * the CLI) over the bus to the domain that executes it, so that the domain
 * authorizes and audits the command itself.
 */

/* The appliance's roles; a principal holds a set of them (a bit mask). */
enum cuco_role {
	CUCO_ROLE_ADMIN = 0,
	CUCO_ROLE_OPERATOR,
	CUCO_ROLE_SUPPORT,
	CUCO_ROLE_BILLING,
	CUCO_ROLE_READONLY,
	CUCO_ROLE_SELFCARE,
	CUCO_ROLE_COUNT,
};

#define CUCO_ROLE_BIT(r) (1u << (r))

struct cuco_principal {
	char subject[64];     /* user id, "apikey:<id>", or "system:<domain>" */
	char name[64];        /* user name, for the audit log; may be empty */
	uint32_t roles;       /* CUCO_ROLE_BIT() set */
	char customer_id[40]; /* for self-care: the only customer it may see; else empty */
	char remote[64];      /* peer address as text, "" when internal */
	char traceparent[56]; /* W3C traceparent of the request, "" when none */
};

/* Role name ("admin", "operator", "support", "billing", "read-only", "self-care"). */
const char *cuco_role_name(enum cuco_role r);

/* Role by name; returns 0 and writes @ret, or -EINVAL. */
int cuco_role_parse(const char *name, enum cuco_role *ret);

static inline bool
cuco_principal_has(const struct cuco_principal *p, enum cuco_role r)
{
	return (p->roles & CUCO_ROLE_BIT(r)) != 0;
}

/*
 * A new W3C trace context (version 00, random trace id and parent id,
 * sampled flag) written to @buf (at least 56 bytes). Returns @buf.
 */
char *cuco_traceparent_new(char *buf, unsigned len);

/* True when @s is a well-formed W3C traceparent (version 00). */
bool cuco_traceparent_valid(const char *s);

/* The 32 hex digits of the trace id of a valid @traceparent into @buf (33 bytes). */
void cuco_trace_id(const char *traceparent, char buf[33]);

#endif

/* SPDX-License-Identifier: BSD-3-Clause */
/* Errors, validation, the role table: the domain's rules that need no state. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <sodium.h>

#include "bss/security/model.h"
#include "common/hex.h"

int
security_fail(struct security_error *err, int errnum, const char *code, const char *field,
	      const char *fmt, ...)
{
	va_list ap;

	if (err == NULL)
		return errnum;
	snprintf(err->code, sizeof(err->code), "%s", code);
	snprintf(err->field, sizeof(err->field), "%s", field ? field : "");
	va_start(ap, fmt);
	vsnprintf(err->message, sizeof(err->message), fmt, ap);
	va_end(ap);
	return errnum;
}

/* ---- Roles ---------------------------------------------------------------- */

/*
 * What each role may do, across the domains. "x.read.own": only what belongs
 * to the principal's own customer (the owning domain checks which that is).
 * "apikeys.own": create, list, rotate and revoke one's own API keys.
 */
static const struct role_def {
	const char *description;
	const char *const *permissions;
} roles[CUCO_ROLE_COUNT] = {
	[CUCO_ROLE_ADMIN] = {
		"Everything, including users, API keys of anyone and the audit log.",
		(const char *const[]){"users.read", "users.manage", "roles.read",
			"apikeys.own", "apikeys.manage-any", "audit.read", "audit.verify",
			"customers.read", "customers.write", "catalog.read", "catalog.write",
			"orders.read", "orders.write", "billing.read", "billing.write",
			"tickets.read", "tickets.write", "network.read", "network.write",
			NULL},
	},
	[CUCO_ROLE_OPERATOR] = {
		"Runs the network and the service: customers, catalog, orders, network.",
		(const char *const[]){"roles.read", "apikeys.own", "customers.read",
			"customers.write", "catalog.read", "catalog.write", "orders.read",
			"orders.write", "tickets.read", "network.read", "network.write", NULL},
	},
	[CUCO_ROLE_SUPPORT] = {
		"Helps customers: reads their data, handles tickets.",
		(const char *const[]){"roles.read", "apikeys.own", "customers.read",
			"customers.write", "catalog.read", "orders.read", "billing.read",
			"tickets.read", "tickets.write", "network.read", NULL},
	},
	[CUCO_ROLE_BILLING] = {
		"Billing: plans, charges, invoices, usage.",
		(const char *const[]){"roles.read", "apikeys.own", "customers.read",
			"customers.loyalty", "catalog.read", "orders.read", "billing.read",
			"billing.write", NULL},
	},
	[CUCO_ROLE_READONLY] = {
		"Reads the business and network state; changes nothing.",
		(const char *const[]){"roles.read", "apikeys.own", "customers.read",
			"catalog.read", "orders.read", "billing.read", "tickets.read",
			"network.read", NULL},
	},
	[CUCO_ROLE_SELFCARE] = {
		"A customer's own account: its data, orders, invoices and tickets only.",
		(const char *const[]){"apikeys.own", "catalog.read", "customers.read.own",
			"orders.read.own", "orders.write.own", "billing.read.own",
			"tickets.read.own", "tickets.write.own", NULL},
	},
};

json_t *
security_roles(void)
{
	json_t *a = json_array();

	for (unsigned r = 0; r < CUCO_ROLE_COUNT; r++) {
		json_t *perms = json_array();

		for (const char *const *q = roles[r].permissions; *q; q++)
			json_array_append_new(perms, json_string(*q));
		json_array_append_new(a, json_pack("{s:s, s:s, s:o}", "name",
						   cuco_role_name((enum cuco_role)r), "description",
						   roles[r].description, "permissions", perms));
	}
	return a;
}

bool
security_roles_may(uint32_t mask, const char *permission)
{
	for (unsigned r = 0; r < CUCO_ROLE_COUNT; r++) {
		if (!(mask & CUCO_ROLE_BIT(r)))
			continue;
		for (const char *const *q = roles[r].permissions; *q; q++)
			if (strcmp(*q, permission) == 0)
				return true;
	}
	return false;
}

json_t *
security_roles_to_json(uint32_t mask)
{
	json_t *a = json_array();

	for (unsigned r = 0; r < CUCO_ROLE_COUNT; r++)
		if (mask & CUCO_ROLE_BIT(r))
			json_array_append_new(a, json_string(cuco_role_name((enum cuco_role)r)));
	return a;
}

int
security_roles_from_json(const json_t *a, uint32_t *ret)
{
	uint32_t mask = 0;
	enum cuco_role r;
	size_t i;
	json_t *v;

	if (!json_is_array(a))
		return -EINVAL;
	json_array_foreach (a, i, v) {
		if (!json_is_string(v) || cuco_role_parse(json_string_value(v), &r) < 0)
			return -EINVAL;
		mask |= CUCO_ROLE_BIT(r);
	}
	*ret = mask;
	return 0;
}

void
security_roles_to_pg(uint32_t mask, char *buf, size_t len)
{
	size_t off = 0;
	int n;

	n = snprintf(buf, len, "{");
	off = n > 0 ? (size_t)n : 0;
	for (unsigned r = 0; r < CUCO_ROLE_COUNT && off < len; r++) {
		if (!(mask & CUCO_ROLE_BIT(r)))
			continue;
		n = snprintf(buf + off, len - off, "%s%s", off > 1 ? "," : "",
			     cuco_role_name((enum cuco_role)r));
		off += n > 0 ? (size_t)n : 0;
	}
	if (off < len)
		snprintf(buf + off, len - off, "}");
}

int
security_roles_from_pg(const char *lit, uint32_t *ret)
{
	char word[32];
	uint32_t mask = 0;
	enum cuco_role r;
	size_t n = strlen(lit), i, w = 0;

	/* Role names need no quoting, so PostgreSQL writes them bare: {a,b}. */
	if (n < 2 || lit[0] != '{' || lit[n - 1] != '}')
		return -EINVAL;
	for (i = 1; i < n; i++) {
		if (lit[i] == ',' || i == n - 1) {
			word[w] = '\0';
			if (w == 0 && i == n - 1 && n == 2)
				break;
			if (cuco_role_parse(word, &r) < 0)
				return -EINVAL;
			mask |= CUCO_ROLE_BIT(r);
			w = 0;
			continue;
		}
		if (w + 1 >= sizeof(word))
			return -EINVAL;
		word[w++] = lit[i];
	}
	*ret = mask;
	return 0;
}

/* ---- Validation ------------------------------------------------------------ */

int
security_check_name(const char *name, struct security_error *err)
{
	size_t n = name ? strlen(name) : 0;

	if (n == 0 || n > 63)
		return security_fail(err, -EINVAL, "invalid-argument", "name",
				     "name: must be 1 to 63 characters, got %zu", n);
	for (size_t i = 0; i < n; i++) {
		char c = name[i];
		bool alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');

		if (!alnum && (i == 0 || !strchr("._@-", c)))
			return security_fail(err, -EINVAL, "invalid-argument", "name",
					     "name: '%.63s' is not allowed: lower-case letters, "
					     "digits and . _ @ - (not first)",
					     name);
	}
	return 0;
}

/*
 * Length in code points of valid UTF-8 without control characters, or -1.
 * sodium has no UTF-8 decoder; this one refuses overlongs and surrogates.
 */
static long
utf8_len(const char *s, bool allow_control)
{
	const unsigned char *p = (const unsigned char *)s;
	long n = 0;

	while (*p) {
		unsigned c = *p, need, cp;

		if (c < 0x80) {
			if (!allow_control && (c < 0x20 || c == 0x7f))
				return -1;
			p++;
			n++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf)
			need = 1, cp = c & 0x1f;
		else if (c >= 0xe0 && c <= 0xef)
			need = 2, cp = c & 0x0f;
		else if (c >= 0xf0 && c <= 0xf4)
			need = 3, cp = c & 0x07;
		else
			return -1;
		for (unsigned i = 1; i <= need; i++) {
			if ((p[i] & 0xc0) != 0x80)
				return -1;
			cp = (cp << 6) | (p[i] & 0x3f);
		}
		if ((need == 2 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
		    (need == 3 && (cp < 0x10000 || cp > 0x10ffff)))
			return -1;
		if (!allow_control && cp >= 0x80 && cp < 0xa0)
			return -1;
		p += need + 1;
		n++;
	}
	return n;
}

int
security_check_display_name(const char *dn, struct security_error *err)
{
	if (dn == NULL)
		return 0;
	if (strlen(dn) > 128)
		return security_fail(err, -EINVAL, "invalid-argument", "display_name",
				     "display_name: at most 128 bytes, got %zu", strlen(dn));
	if (utf8_len(dn, false) < 0)
		return security_fail(err, -EINVAL, "invalid-argument", "display_name",
				     "display_name: must be UTF-8 without control characters");
	return 0;
}

static bool
customer_id_valid(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 39)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == '-'))
			return false;
	}
	return true;
}

int
security_check_roles(uint32_t mask, const char *customer_id, struct security_error *err)
{
	bool selfcare = mask & CUCO_ROLE_BIT(CUCO_ROLE_SELFCARE);

	if (mask == 0)
		return security_fail(err, -EINVAL, "invalid-argument", "roles",
				     "roles: at least one role is required");
	if (mask & ~((1u << CUCO_ROLE_COUNT) - 1))
		return security_fail(err, -EINVAL, "invalid-argument", "roles",
				     "roles: unknown role bit in 0x%x", mask);
	if (selfcare && mask != CUCO_ROLE_BIT(CUCO_ROLE_SELFCARE))
		return security_fail(err, -EINVAL, "invalid-argument", "roles",
				     "roles: self-care cannot be combined with another role");
	if (selfcare && (customer_id == NULL || !customer_id_valid(customer_id)))
		return security_fail(err, -EINVAL, "invalid-argument", "customer_id",
				     "customer_id: a self-care user needs its customer id "
				     "(1 to 39 of A-Z a-z 0-9 . _ -), got '%.39s'",
				     customer_id ? customer_id : "");
	if (!selfcare && customer_id != NULL && customer_id[0] != '\0')
		return security_fail(err, -EINVAL, "invalid-argument", "customer_id",
				     "customer_id: only a self-care user is bound to a customer");
	return 0;
}

int
security_check_password(const char *name, const char *password, struct security_error *err)
{
	long n;

	if (password == NULL)
		return security_fail(err, -EINVAL, "weak-password", "password",
				     "password: required (rule min-length: at least %d characters)",
				     SECURITY_PASSWORD_MIN);
	if (strlen(password) > SECURITY_PASSWORD_MAX)
		return security_fail(err, -EINVAL, "weak-password", "password",
				     "password: at most %d bytes (rule max-length)",
				     SECURITY_PASSWORD_MAX);
	n = utf8_len(password, true);
	if (n < 0)
		return security_fail(err, -EINVAL, "weak-password", "password",
				     "password: must be valid UTF-8 (rule utf-8)");
	if (n < SECURITY_PASSWORD_MIN)
		return security_fail(err, -EINVAL, "weak-password", "password",
				     "password: must be at least %d characters, got %ld "
				     "(rule min-length)",
				     SECURITY_PASSWORD_MIN, n);
	if (name != NULL && strcasecmp(name, password) == 0)
		return security_fail(err, -EINVAL, "weak-password", "password",
				     "password: must not be the user name (rule not-name)");
	return 0;
}

/* ---- Identifiers ------------------------------------------------------------ */

void
security_hex(char *out, const uint8_t *in, size_t n)
{
	hex_encode(out, in, n);
}

int
security_unhex(uint8_t *out, size_t n, const char *in)
{
	if (strlen(in) != 2 * n)
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		int hi = hex_digit(in[2 * i]), lo = hex_digit(in[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return -EINVAL;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

void
security_uuid_new(char ret[SECURITY_UUID_LEN + 1])
{
	uint8_t b[16];
	char h[33];

	randombytes_buf(b, sizeof(b));
	b[6] = (b[6] & 0x0f) | 0x40; /* RFC 4122 §4.4: version 4 */
	b[8] = (b[8] & 0x3f) | 0x80; /* variant 10 */
	security_hex(h, b, sizeof(b));
	snprintf(ret, SECURITY_UUID_LEN + 1, "%.8s-%.4s-%.4s-%.4s-%.12s", h, h + 8, h + 12,
		 h + 16, h + 20);
}

bool
security_uuid_valid(const char *s)
{
	if (s == NULL || strlen(s) != SECURITY_UUID_LEN)
		return false;
	for (int i = 0; i < SECURITY_UUID_LEN; i++) {
		bool dash = i == 8 || i == 13 || i == 18 || i == 23;

		if (dash ? s[i] != '-' : !((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	}
	return true;
}

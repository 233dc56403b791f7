/* SPDX-License-Identifier: BSD-3-Clause */
/* The order domain's pure rules: states, the create body, the backoff. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bss/core/outbox.h"
#include "bss/order/model.h"
#include "bss/order/order.h"

#define ITEMS_MAX 20
#define INVENTORY_MAX 20

int
order_fail(struct order_error *err, int rc, const char *code, const char *field, const char *fmt,
	   ...)
{
	va_list ap;

	if (err == NULL)
		return rc;
	snprintf(err->code, sizeof(err->code), "%s", code);
	snprintf(err->field, sizeof(err->field), "%s", field ? field : "");
	va_start(ap, fmt);
	vsnprintf(err->message, sizeof(err->message), fmt, ap);
	va_end(ap);
	return rc;
}

bool
order_state_final(const char *s)
{
	return s != NULL && (strcmp(s, "completed") == 0 || strcmp(s, "failed") == 0 ||
			     strcmp(s, "partial") == 0 || strcmp(s, "cancelled") == 0);
}

static bool
one_of(const char *s, const char *const *set)
{
	for (; s != NULL && *set != NULL; set++)
		if (strcmp(s, *set) == 0)
			return true;
	return false;
}

bool
order_transition_allowed(const char *from, const char *to)
{
	static const char *const from_ack[] = {"inProgress", "failed", "cancelled", NULL};
	static const char *const from_prog[] = {"completed", "failed", "partial", "cancelled",
						NULL};

	if (from == NULL || to == NULL)
		return false;
	if (strcmp(from, "acknowledged") == 0)
		return one_of(to, from_ack);
	if (strcmp(from, "inProgress") == 0)
		return one_of(to, from_prog);
	return false;
}

bool
order_item_transition_allowed(const char *from, const char *to)
{
	static const char *const from_ack[] = {"inProgress", "failed", "cancelled", NULL};
	static const char *const from_prog[] = {"completed", "failed", "cancelled", NULL};

	if (from == NULL || to == NULL)
		return false;
	if (strcmp(from, "acknowledged") == 0)
		return one_of(to, from_ack);
	if (strcmp(from, "inProgress") == 0)
		return one_of(to, from_prog);
	return false;
}

unsigned
order_backoff_ms(unsigned attempts, unsigned cap_ms, double r)
{
	unsigned d = ORDER_BACKOFF_BASE_MS;

	for (unsigned i = 1; i < attempts && d < cap_ms; i++)
		d *= 2;
	if (d > cap_ms)
		d = cap_ms;
	if (r < 0 || r >= 1)
		r = 0;
	/* "Equal jitter": half the wait fixed, half random, so retries spread out. */
	return d / 2 + (unsigned)(r * (d / 2));
}

bool
order_code_retryable(const char *code)
{
	static const char *const retry[] = {"timeout", "unreachable", "unavailable", "conflict",
					    "internal", NULL};

	return one_of(code, retry);
}

static bool
token_valid(const char *s, size_t max, const char *extra)
{
	size_t n = s ? strlen(s) : 0;

	if (n == 0 || n > max)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
		      (s[i] >= '0' && s[i] <= '9') || strchr(extra, s[i])))
			return false;
	return true;
}

bool
order_date_valid(const char *s)
{
	size_t n = s ? strlen(s) : 0;

	if (n != 10 && (n < 20 || n > 35))
		return false;
	for (size_t i = 0; i < 10; i++)
		if ((i == 4 || i == 7) ? s[i] != '-' : (s[i] < '0' || s[i] > '9'))
			return false;
	return n == 10 || s[10] == 'T';
}

static bool
mac_valid(const char *s)
{
	if (s == NULL || strlen(s) != 17)
		return false;
	for (int i = 0; i < 17; i++)
		if (i % 3 == 2 ? s[i] != ':'
			       : !((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f') ||
				   (s[i] >= 'A' && s[i] <= 'F')))
			return false;
	return true;
}

/* productCharacteristic -> access {"vlan", "mac", "prefix_pool"} (null when absent). */
static int
access_of(const json_t *chars, const char *ptr, json_t *access, struct order_error *err)
{
	const json_t *c;
	size_t i;

	json_object_set_new(access, "vlan", json_null());
	json_object_set_new(access, "mac", json_null());
	json_object_set_new(access, "prefix_pool", json_null());
	if (chars == NULL)
		return 0;
	if (!json_is_array(chars) || json_array_size(chars) > 16)
		return order_fail(err, -EINVAL, "invalid-argument", ptr,
				  "%s: an array of at most 16 characteristics", ptr);
	json_array_foreach(chars, i, c) {
		const char *name = json_string_value(json_object_get(c, "name"));
		json_t *v = json_object_get(c, "value");
		char f[160];

		snprintf(f, sizeof(f), "%s/%zu/value", ptr, i);
		if (name != NULL && strcmp(name, "vlan") == 0) {
			if (!json_is_integer(v) || json_integer_value(v) < 1 ||
			    json_integer_value(v) > 4094)
				return order_fail(err, -EINVAL, "invalid-argument", f,
						  "%s: vlan must be an integer from 1 to 4094", f);
			json_object_set(access, "vlan", v);
		} else if (name != NULL && strcmp(name, "mac") == 0) {
			if (!mac_valid(json_string_value(v)))
				return order_fail(err, -EINVAL, "invalid-argument", f,
						  "%s: mac must be aa:bb:cc:dd:ee:ff", f);
			json_object_set(access, "mac", v);
		} else if (name != NULL && strcmp(name, "prefixPool") == 0) {
			if (!token_valid(json_string_value(v), 64, "._-"))
				return order_fail(err, -EINVAL, "invalid-argument", f,
						  "%s: a pool name of 1 to 64 of A-Z a-z 0-9 . _ -",
						  f);
			json_object_set(access, "prefix_pool", v);
		} else {
			snprintf(f, sizeof(f), "%s/%zu/name", ptr, i);
			return order_fail(err, -EINVAL, "invalid-argument", f,
					  "%s: one of vlan, mac, prefixPool", f);
		}
	}
	return 0;
}

static int
inventory_of(const json_t *inv, const char *ptr, json_t **ret, struct order_error *err)
{
	const json_t *e;
	json_t *out;
	size_t i;

	*ret = json_array();
	if (inv == NULL)
		return 0;
	if (!json_is_array(inv) || json_array_size(inv) > INVENTORY_MAX)
		return order_fail(err, -EINVAL, "invalid-argument", ptr,
				  "%s: an array of at most %d entries", ptr, INVENTORY_MAX);
	out = *ret;
	json_array_foreach(inv, i, e) {
		const char *sku = json_string_value(json_object_get(e, "sku"));
		const char *item = json_string_value(json_object_get(e, "itemId"));
		json_t *q = json_object_get(e, "quantity");
		char f[160];

		snprintf(f, sizeof(f), "%s/%zu", ptr, i);
		if ((sku == NULL) == (item == NULL) || (sku && !token_valid(sku, 64, "._:-")) ||
		    (item && !outbox_uuid_valid(item)))
			return order_fail(err, -EINVAL, "invalid-argument", f,
					  "%s: either sku or itemId (a UUID)", f);
		if (q != NULL && (!json_is_integer(q) || json_integer_value(q) < 1 ||
				  json_integer_value(q) > 1000))
			return order_fail(err, -EINVAL, "invalid-argument", f,
					  "%s/quantity: from 1 to 1000", f);
		json_array_append_new(out, json_pack("{s:s, s:I}", sku ? "sku" : "item_id",
						     sku ? sku : item, "quantity",
						     q ? json_integer_value(q) : 1));
	}
	return 0;
}

static int
item_of(const json_t *it, size_t pos, json_t *ids, json_t **ret, struct order_error *err)
{
	const char *action = json_string_value(json_object_get(it, "action"));
	const json_t *product = json_object_get(it, "product");
	const char *id = json_string_value(json_object_get(it, "id"));
	const char *off = json_string_value(
		json_object_get(json_object_get(it, "productOffering"), "id"));
	const char *service = json_string_value(json_object_get(product, "id"));
	json_t *q = json_object_get(it, "quantity"), *access, *inv = NULL;
	char f[128], pid[24];
	int rc;

	snprintf(pid, sizeof(pid), "%zu", pos + 1);
	if (!json_is_object(it))
		return order_fail(err, -EINVAL, "invalid-argument", "/productOrderItem",
				  "/productOrderItem/%zu: must be an object", pos);
	if (id == NULL)
		id = pid;
	snprintf(f, sizeof(f), "/productOrderItem/%zu/id", pos);
	if (!token_valid(id, 32, "._-") || json_object_get(ids, id) != NULL)
		return order_fail(err, -EINVAL, "invalid-argument", f,
				  "%s: 1 to 32 of A-Z a-z 0-9 . _ -, unique in the order", f);
	json_object_set_new(ids, id, json_true());
	snprintf(f, sizeof(f), "/productOrderItem/%zu/action", pos);
	if (action == NULL || (strcmp(action, "add") && strcmp(action, "modify") &&
			       strcmp(action, "delete")))
		return order_fail(err, -EINVAL, "invalid-argument", f,
				  "%s: must be add, modify or delete", f);
	snprintf(f, sizeof(f), "/productOrderItem/%zu/productOffering/id", pos);
	if (!outbox_uuid_valid(off))
		return order_fail(err, -EINVAL, "invalid-argument", f,
				  "%s: the offering's id (a UUID) is required", f);
	snprintf(f, sizeof(f), "/productOrderItem/%zu/product/id", pos);
	if (strcmp(action, "add") == 0 && service != NULL)
		return order_fail(err, -EINVAL, "invalid-argument", f,
				  "%s: an added product gets its id when it is provisioned", f);
	if (strcmp(action, "add") != 0 && !token_valid(service, 64, "._:-"))
		return order_fail(err, -EINVAL, "invalid-argument", f,
				  "%s: %s needs the id of the service (1 to 64 of A-Z a-z 0-9 "
				  ". _ : -)",
				  f, action);
	snprintf(f, sizeof(f), "/productOrderItem/%zu/quantity", pos);
	if (q != NULL && (!json_is_integer(q) || json_integer_value(q) != 1))
		return order_fail(err, -EINVAL, "invalid-argument", f,
				  "%s: one service per item (quantity 1)", f);
	access = json_object();
	snprintf(f, sizeof(f), "/productOrderItem/%zu/product/productCharacteristic", pos);
	rc = access_of(json_object_get(product, "productCharacteristic"), f, access, err);
	snprintf(f, sizeof(f), "/productOrderItem/%zu/x-inventory", pos);
	rc = rc ?: inventory_of(json_object_get(it, "x-inventory"), f, &inv, err);
	if (rc < 0) {
		json_decref(access);
		json_decref(inv);
		return rc;
	}
	/* "o": the characteristics given (a new reference) or a new empty array. */
	*ret = json_pack("{s:s, s:s, s:s, s:s?, s:i, s:o, s:o, s:o}", "id", id, "action", action,
			 "offering_id", off, "service_id", service, "quantity", 1, "inventory", inv,
			 "access", access, "characteristic",
			 json_object_get(product, "productCharacteristic")
				 ? json_incref(json_object_get(product, "productCharacteristic"))
				 : json_array());
	return 0;
}

static int
customer_of(const json_t *parties, const char **ret, struct order_error *err)
{
	const json_t *p;
	size_t i;

	*ret = NULL;
	if (!json_is_array(parties) || json_array_size(parties) == 0 ||
	    json_array_size(parties) > 10)
		return order_fail(err, -EINVAL, "invalid-argument", "/relatedParty",
				  "/relatedParty: the customer (role customer) is required");
	json_array_foreach(parties, i, p) {
		const char *role = json_string_value(json_object_get(p, "role"));
		const char *type = json_string_value(json_object_get(p, "@referredType"));

		if ((role && strcmp(role, "customer") == 0) || (type && strcmp(type, "Customer") == 0)) {
			if (*ret != NULL)
				return order_fail(err, -EINVAL, "invalid-argument",
						  "/relatedParty",
						  "/relatedParty: one customer per order");
			*ret = json_string_value(json_object_get(p, "id"));
			if (!outbox_uuid_valid(*ret))
				return order_fail(err, -EINVAL, "invalid-argument",
						  "/relatedParty/id",
						  "/relatedParty/%zu/id: the customer's id (a UUID)",
						  i);
		}
	}
	if (*ret == NULL)
		return order_fail(err, -EINVAL, "invalid-argument", "/relatedParty",
				  "/relatedParty: the customer (role customer) is required");
	return 0;
}

int
order_normalize(const json_t *body, json_t **ret, struct order_error *err)
{
	const json_t *items = json_object_get(body, "productOrderItem"), *it;
	const char *cust, *start = json_string_value(json_object_get(body, "requestedStartDate"));
	const char *desc = json_string_value(json_object_get(body, "description"));
	const char *ext = json_string_value(json_object_get(body, "externalId"));
	json_t *note = json_object_get(body, "note"), *out, *list, *ids;
	size_t i;
	int rc;

	if (!json_is_object(body))
		return order_fail(err, -EINVAL, "invalid-argument", "", "the body must be an object");
	rc = customer_of(json_object_get(body, "relatedParty"), &cust, err);
	if (rc < 0)
		return rc;
	if (json_object_get(body, "requestedStartDate") && !order_date_valid(start))
		return order_fail(err, -EINVAL, "invalid-argument", "/requestedStartDate",
				  "/requestedStartDate: a date (2027-01-15) or an RFC 3339 "
				  "date-time");
	if (desc && strlen(desc) > 1000)
		return order_fail(err, -EINVAL, "invalid-argument", "/description",
				  "/description: at most 1000 bytes");
	if (ext && !token_valid(ext, 100, "._:-/"))
		return order_fail(err, -EINVAL, "invalid-argument", "/externalId",
				  "/externalId: 1 to 100 of A-Z a-z 0-9 . _ : - /");
	if (note != NULL && !order_note_valid(note))
		return order_fail(err, -EINVAL, "invalid-argument", "/note",
				  "/note: at most 20 notes {\"text\" (1 to 1000 bytes), "
				  "\"author\"}");
	if (!json_is_array(items) || json_array_size(items) == 0 ||
	    json_array_size(items) > ITEMS_MAX)
		return order_fail(err, -EINVAL, "invalid-argument", "/productOrderItem",
				  "/productOrderItem: 1 to %d items", ITEMS_MAX);
	list = json_array();
	ids = json_object();
	json_array_foreach(items, i, it) {
		json_t *one = NULL;

		rc = item_of(it, i, ids, &one, err);
		if (rc < 0)
			break;
		json_array_append_new(list, one);
	}
	json_decref(ids);
	if (rc < 0) {
		json_decref(list);
		return rc;
	}
	out = json_pack("{s:s, s:s?, s:s?, s:s?, s:o, s:O, s:o}", "customer_id", cust,
			"description", desc, "externalId", ext, "requestedStartDate", start,
			"note", note ? json_incref((json_t *)note) : json_array(), "relatedParty",
			json_object_get(body, "relatedParty"), "items", list);
	if (out == NULL)
		return order_fail(err, -ENOMEM, "internal", "", "out of memory");
	*ret = out;
	return 0;
}

bool
order_note_valid(const json_t *note)
{
	const json_t *n;
	size_t i;

	if (!json_is_array(note) || json_array_size(note) > 20)
		return false;
	json_array_foreach(note, i, n) {
		const char *t = json_string_value(json_object_get(n, "text"));

		if (!json_is_object(n) || t == NULL || t[0] == '\0' || strlen(t) > 1000)
			return false;
	}
	return true;
}

/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The order domain's pure rules: the order's and the items' state machines,
 * the validation of a ProductOrder (each refusal names its field), which
 * problems are retried, and the backoff with jitter.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "bss/order/model.h"
#include "bss/order/order.h"

#define CUST "0b6f1c7e-8d0a-4c55-9a43-3f1f5d0f7a11"
#define OFF "1c6f1c7e-8d0a-4c55-9a43-3f1f5d0f7a12"

static json_t *
js(const char *text)
{
	json_error_t e;
	json_t *v = json_loads(text, 0, &e);

	if (v == NULL)
		fail_msg("bad JSON in the test: %s: %s", text, e.text);
	return v;
}

/* Normalize @text; the errno, and the field of a refusal in @field. */
static int
norm(const char *text, json_t **ret, char field[96])
{
	struct order_error e = {0};
	json_t *body = js(text), *out = NULL;
	int rc = order_normalize(body, &out, &e);

	json_decref(body);
	if (field)
		snprintf(field, 96, "%s", e.field);
	if (ret)
		*ret = out;
	else
		json_decref(out);
	return rc;
}

#define PARTY "\"relatedParty\": [{\"id\": \"" CUST "\", \"role\": \"customer\"}]"
#define ITEM(extra) "{\"action\": \"add\", \"productOffering\": {\"id\": \"" OFF "\"}" extra "}"

static void
test_order_states(void **state)
{
	(void)state;
	assert_true(order_transition_allowed("acknowledged", "inProgress"));
	assert_true(order_transition_allowed("acknowledged", "cancelled"));
	assert_true(order_transition_allowed("inProgress", "completed"));
	assert_true(order_transition_allowed("inProgress", "failed"));
	assert_true(order_transition_allowed("inProgress", "partial"));
	assert_true(order_transition_allowed("inProgress", "cancelled"));
	assert_false(order_transition_allowed("acknowledged", "completed"));
	assert_false(order_transition_allowed("completed", "cancelled"));
	assert_false(order_transition_allowed("cancelled", "inProgress"));
	assert_false(order_transition_allowed("failed", "completed"));
	assert_false(order_transition_allowed("inProgress", "acknowledged"));
	assert_false(order_transition_allowed(NULL, "failed"));
	assert_true(order_state_final("partial"));
	assert_false(order_state_final("inProgress"));
}

static void
test_item_states(void **state)
{
	(void)state;
	assert_true(order_item_transition_allowed("acknowledged", "inProgress"));
	assert_true(order_item_transition_allowed("inProgress", "completed"));
	assert_true(order_item_transition_allowed("inProgress", "failed"));
	assert_true(order_item_transition_allowed("acknowledged", "cancelled"));
	/* "partial" is the order's, never an item's */
	assert_false(order_item_transition_allowed("inProgress", "partial"));
	assert_false(order_item_transition_allowed("completed", "failed"));
}

static void
test_normalize_valid(void **state)
{
	json_t *n = NULL;

	(void)state;
	assert_int_equal(norm("{" PARTY ", \"requestedStartDate\": \"2027-01-15\", "
			      "\"productOrderItem\": [" ITEM(
				      ", \"product\": {\"productCharacteristic\": [{\"name\": "
				      "\"vlan\", \"value\": 100}, {\"name\": \"mac\", \"value\": "
				      "\"02:00:00:00:00:01\"}]}, \"x-inventory\": [{\"sku\": \"ONT\"}]") "]}",
			      &n, NULL),
			 0);
	assert_string_equal(json_string_value(json_object_get(n, "customer_id")), CUST);
	json_t *it = json_array_get(json_object_get(n, "items"), 0);
	assert_string_equal(json_string_value(json_object_get(it, "id")), "1");
	assert_int_equal(json_integer_value(json_object_get(json_object_get(it, "access"), "vlan")),
			 100);
	assert_true(json_is_null(json_object_get(json_object_get(it, "access"), "prefix_pool")));
	assert_int_equal(json_integer_value(json_object_get(
				 json_array_get(json_object_get(it, "inventory"), 0), "quantity")),
			 1);
	json_decref(n);
}

static void
test_normalize_refusals_name_the_field(void **state)
{
	char f[96];

	(void)state;
	assert_int_equal(norm("{\"productOrderItem\": [" ITEM("") "]}", NULL, f), -EINVAL);
	assert_string_equal(f, "/relatedParty");
	assert_int_equal(norm("{" PARTY "}", NULL, f), -EINVAL);
	assert_string_equal(f, "/productOrderItem");
	assert_int_equal(norm("{" PARTY ", \"productOrderItem\": [{\"action\": \"move\", "
			      "\"productOffering\": {\"id\": \"" OFF "\"}}]}",
			      NULL, f),
			 -EINVAL);
	assert_string_equal(f, "/productOrderItem/0/action");
	assert_int_equal(norm("{" PARTY ", \"productOrderItem\": [{\"action\": \"add\"}]}", NULL, f),
			 -EINVAL);
	assert_string_equal(f, "/productOrderItem/0/productOffering/id");
	/* modify and delete name the service; add may not */
	assert_int_equal(norm("{" PARTY ", \"productOrderItem\": [{\"action\": \"modify\", "
			      "\"productOffering\": {\"id\": \"" OFF "\"}}]}",
			      NULL, f),
			 -EINVAL);
	assert_string_equal(f, "/productOrderItem/0/product/id");
	assert_int_equal(norm("{" PARTY ", \"productOrderItem\": [" ITEM(
			      ", \"product\": {\"id\": \"s-1\"}") "]}",
			      NULL, f),
			 -EINVAL);
	assert_string_equal(f, "/productOrderItem/0/product/id");
	assert_int_equal(norm("{" PARTY ", \"productOrderItem\": [" ITEM(
			      ", \"product\": {\"productCharacteristic\": [{\"name\": \"vlan\", "
			      "\"value\": 4095}]}") "]}",
			      NULL, f),
			 -EINVAL);
	assert_string_equal(f, "/productOrderItem/0/product/productCharacteristic/0/value");
	assert_int_equal(norm("{" PARTY ", \"productOrderItem\": [" ITEM(", \"id\": \"a\"") ", " ITEM(
			      ", \"id\": \"a\"") "]}",
			      NULL, f),
			 -EINVAL);
	assert_string_equal(f, "/productOrderItem/1/id");
	assert_int_equal(norm("{" PARTY ", \"requestedStartDate\": \"soon\", \"productOrderItem\": "
			      "[" ITEM("") "]}",
			      NULL, f),
			 -EINVAL);
	assert_string_equal(f, "/requestedStartDate");
	assert_int_equal(norm("{" PARTY ", \"productOrderItem\": [" ITEM(
			      ", \"x-inventory\": [{\"sku\": \"A\", \"itemId\": \"" OFF "\"}]") "]}",
			      NULL, f),
			 -EINVAL);
	assert_string_equal(f, "/productOrderItem/0/x-inventory/0");
}

static void
test_retryable_codes(void **state)
{
	(void)state;
	assert_true(order_code_retryable("timeout"));
	assert_true(order_code_retryable("unreachable"));
	assert_true(order_code_retryable("unavailable"));
	assert_false(order_code_retryable("invalid"));
	assert_false(order_code_retryable("refused"));
	assert_false(order_code_retryable("not_found"));
}

static void
test_backoff(void **state)
{
	(void)state;
	/* half fixed, half jitter; doubling; capped */
	assert_int_equal(order_backoff_ms(1, 5000, 0.0), ORDER_BACKOFF_BASE_MS / 2);
	assert_int_equal(order_backoff_ms(2, 5000, 0.0), ORDER_BACKOFF_BASE_MS);
	/* attempt 3: 4 x 250 ms, 500 fixed + 499 of jitter */
	assert_int_equal(order_backoff_ms(3, 5000, 0.999), 999);
	assert_true(order_backoff_ms(30, 5000, 0.999) < 5000);
	assert_true(order_backoff_ms(30, 5000, 0.0) == 2500);
	for (unsigned a = 1; a < 40; a++)
		assert_true(order_backoff_ms(a, 5000, 0.5) <= 5000);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_order_states),
		cmocka_unit_test(test_item_states),
		cmocka_unit_test(test_normalize_valid),
		cmocka_unit_test(test_normalize_refusals_name_the_field),
		cmocka_unit_test(test_retryable_codes),
		cmocka_unit_test(test_backoff),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

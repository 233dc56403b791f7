/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The customer domain's pure rules: the lifecycle, validation, documents and
 * merge patches, authorization, field visibility, loyalty arithmetic,
 * pseudonymisation.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "bss/customer/model.h"

#define ROLE(r) CUCO_ROLE_BIT(CUCO_ROLE_##r)

static json_t *
js(const char *text)
{
	json_error_t e;
	json_t *v = json_loads(text, 0, &e);

	if (v == NULL)
		fail_msg("bad JSON in the test: %s: %s", text, e.text);
	return v;
}

/* Whether @v equals the JSON @text. */
static bool
same(const json_t *v, const char *text)
{
	json_t *w = js(text);
	bool eq = json_equal(v, w);

	json_decref(w);
	return eq;
}

/* ---- Lifecycle ------------------------------------------------------------------------------ */

static void
test_lifecycle(void **state)
{
	/* allowed[from][to] */
	static const bool allowed[4][4] = {
		/* prospect  active  suspended  closed */
		{false, true, false, true},  /* prospect */
		{false, false, true, true},  /* active */
		{false, true, false, true},  /* suspended */
		{false, false, false, false} /* closed */
	};
	struct customer_error err = {0};
	enum customer_state s;
	json_t *a;

	for (int f = 0; f < 4; f++)
		for (int t = 0; t < 4; t++)
			assert_int_equal(customer_transition_allowed(f, t), allowed[f][t]);
	assert_false(customer_transition_allowed(CUSTOMER_STATE_COUNT, CUSTOMER_ACTIVE));
	assert_int_equal(customer_check_transition(CUSTOMER_ACTIVE, CUSTOMER_CLOSED, &err), 0);
	assert_int_equal(customer_check_transition(CUSTOMER_CLOSED, CUSTOMER_ACTIVE, &err), -EBUSY);
	assert_string_equal(err.code, "illegal-transition");
	assert_string_equal(err.current_state, "closed");
	assert_string_equal(err.field, "/status");
	assert_non_null(strstr(err.message, "closed is final"));
	memset(&err, 0, sizeof(err));
	assert_int_equal(customer_check_transition(CUSTOMER_PROSPECT, CUSTOMER_SUSPENDED, &err),
			 -EBUSY);
	assert_string_equal(err.current_state, "prospect");
	assert_non_null(strstr(err.message, "allowed: active, closed"));
	a = customer_transitions_from(CUSTOMER_SUSPENDED);
	assert_int_equal(json_array_size(a), 2);
	assert_string_equal(json_string_value(json_array_get(a, 0)), "active");
	json_decref(a);
	assert_int_equal(customer_state_parse("suspended", &s), 0);
	assert_int_equal(s, CUSTOMER_SUSPENDED);
	assert_int_equal(customer_state_parse("Active", &s), -EINVAL);
	assert_int_equal(customer_state_parse(NULL, &s), -EINVAL);
}

/* ---- Values --------------------------------------------------------------------------------- */

static void
test_email(void **state)
{
	static const char *const good[] = {"ada@example.com", "a.b+tag@sub.example.co.uk",
					   "x_y-z@a-b.ch", "o'neil@example.ie", NULL};
	static const char *const bad[] = {"", "ada", "@example.com", "ada@", "ada@example",
					  "a..b@example.com", ".ada@example.com",
					  "ada.@example.com", "ada@-example.com",
					  "ada@example-.com", "ada@exa mple.com",
					  "ada@@example.com", "ada@example.123", "a\"b@example.com",
					  NULL};
	char longlocal[80];

	for (const char *const *g = good; *g; g++)
		assert_true(customer_email_valid(*g));
	for (const char *const *b = bad; *b; b++)
		if (customer_email_valid(*b))
			fail_msg("accepted %s", *b);
	memset(longlocal, 'a', 65);
	snprintf(longlocal + 65, sizeof(longlocal) - 65, "@example.com");
	assert_false(customer_email_valid(longlocal));
	assert_false(customer_email_valid(NULL));
}

static void
test_e164_country_dates(void **state)
{
	int64_t t;

	assert_true(customer_e164_valid("+41446681800"));
	assert_true(customer_e164_valid("+1234567"));
	assert_true(customer_e164_valid("+123456789012345"));
	assert_false(customer_e164_valid("+1234567890123456")); /* 16 digits */
	assert_false(customer_e164_valid("+123456"));
	assert_false(customer_e164_valid("+0446681800"));
	assert_false(customer_e164_valid("0446681800"));
	assert_false(customer_e164_valid("+41 44 668 18 00"));
	assert_false(customer_e164_valid(NULL));

	assert_true(customer_country_valid("CH"));
	assert_false(customer_country_valid("ch"));
	assert_false(customer_country_valid("CHE"));

	assert_true(customer_date_valid("2024-02-29"));
	assert_false(customer_date_valid("2023-02-29"));
	assert_false(customer_date_valid("1900-02-29"));
	assert_false(customer_date_valid("1899-12-31"));
	assert_false(customer_date_valid("2024-13-01"));
	assert_false(customer_date_valid("2024-1-01"));

	assert_int_equal(customer_datetime_parse("1970-01-01T00:00:00Z", &t), 0);
	assert_int_equal(t, 0);
	assert_int_equal(customer_datetime_parse("1970-01-01T02:00:00.123+02:00", &t), 0);
	assert_int_equal(t, 0);
	assert_int_equal(customer_datetime_parse("2024-06-01T10:00:00-01:30", &t), 0);
	assert_int_equal(t, 1717241400);
	assert_int_equal(customer_datetime_parse("2024-06-01 10:00:00Z", &t), -EINVAL);
	assert_int_equal(customer_datetime_parse("2024-06-01T10:00:00", &t), -EINVAL);
	assert_int_equal(customer_datetime_parse("2024-06-01T24:00:00Z", &t), -EINVAL);
	assert_int_equal(customer_datetime_parse("2024-06-01T10:00:00.Z", &t), -EINVAL);

	assert_true(customer_language_valid("en"));
	assert_true(customer_language_valid("de-CH"));
	assert_true(customer_language_valid("zh-Hant-TW"));
	assert_true(customer_language_valid("es-419"));
	assert_false(customer_language_valid("english"));
	assert_false(customer_language_valid("EN"));
	assert_false(customer_language_valid("de-ch"));
	assert_false(customer_language_valid(""));

	assert_true(customer_text_valid("Zoë", 10));
	assert_false(customer_text_valid("", 10));
	assert_false(customer_text_valid("tab\there", 10));
	assert_false(customer_text_valid("\xc3\x28", 10));  /* bad UTF-8 */
	assert_false(customer_text_valid("\xc2\x85", 10));  /* C1 control */
	assert_false(customer_text_valid("0123456789a", 10));

	assert_true(customer_uuid_valid("0b6f1c7e-8d0a-4c55-9a43-3f1f5d0f7a11"));
	assert_false(customer_uuid_valid("0B6F1C7E-8D0A-4C55-9A43-3F1F5D0F7A11"));
	assert_false(customer_uuid_valid("cust-1"));
}

static void
test_contact_media(void **state)
{
	struct customer_error err = {0};
	json_t *in, *out = NULL;

	in = js("[{\"mediumType\": \"email\", \"preferred\": true,"
		" \"characteristic\": {\"emailAddress\": \"a@b.ch\","
		" \"contactType\": \"billing\"}},"
		" {\"mediumType\": \"postalAddress\", \"characteristic\": {\"street1\": \"Main 1\","
		" \"city\": \"Bern\", \"country\": \"CH\", \"postCode\": \"3011\"}}]");
	assert_int_equal(customer_contact_media_check(in, "/contactMedium", &out, &err), 0);
	assert_int_equal(json_array_size(out), 2);
	/* normalized: preferred always there, nothing else added */
	assert_true(json_is_false(json_object_get(json_array_get(out, 1), "preferred")));
	assert_true(json_equal(json_object_get(json_array_get(in, 0), "characteristic"),
			       json_object_get(json_array_get(out, 0), "characteristic")));
	json_decref(in);
	json_decref(out);

	static const struct {
		const char *json, *field;
	} bad[] = {
		{"[{\"mediumType\": \"pigeon\", \"characteristic\": {}}]", "/cm/0/mediumType"},
		{"[{\"mediumType\": \"email\"}]", "/cm/0/characteristic"},
		{"[{\"mediumType\": \"email\", \"characteristic\": {}}]",
		 "/cm/0/characteristic/emailAddress"},
		{"[{\"mediumType\": \"phone\", \"characteristic\": {\"phoneNumber\": \"044\"}}]",
		 "/cm/0/characteristic/phoneNumber"},
		{"[{\"mediumType\": \"phone\", \"characteristic\":"
		 " {\"phoneNumber\": \"+41446681800\", \"emailAddress\": \"a@b.ch\"}}]",
		 "/cm/0/characteristic/emailAddress"},
		{"[{\"mediumType\": \"postalAddress\", \"characteristic\": {\"street1\": \"x\","
		 " \"city\": \"y\", \"country\": \"Switzerland\"}}]",
		 "/cm/0/characteristic/country"},
		{"[{\"mediumType\": \"postalAddress\", \"characteristic\": {\"street1\": \"x\","
		 " \"city\": \"y\", \"country\": \"CH\", \"postCode\": \"30/11\"}}]",
		 "/cm/0/characteristic/postCode"},
		{"[{\"mediumType\": \"email\", \"characteristic\": {\"emailAddress\": \"a@b.ch\","
		 " \"contactType\": \"lover\"}}]",
		 "/cm/0/characteristic/contactType"},
		{"[{\"mediumType\": \"fax\", \"characteristic\": {\"faxNumber\": \"+41446681800\"},"
		 " \"colour\": 1}]",
		 "/cm/0/colour"},
		{"[{\"mediumType\": \"email\", \"characteristic\": {\"emailAddress\": \"a@b.ch\"},"
		 " \"validFor\": {\"startDateTime\": \"2025-01-02T00:00:00Z\","
		 " \"endDateTime\": \"2025-01-01T00:00:00Z\"}}]",
		 "/cm/0/validFor/endDateTime"},
		{"{}", "/cm"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(&err, 0, sizeof(err));
		in = js(bad[i].json);
		out = NULL;
		assert_int_equal(customer_contact_media_check(in, "/cm", &out, &err), -EINVAL);
		assert_null(out);
		assert_string_equal(err.code, "invalid-argument");
		if (strcmp(err.field, bad[i].field) != 0)
			fail_msg("%s: field %s, expected %s", bad[i].json, err.field, bad[i].field);
		json_decref(in);
	}
}

/* ---- Documents ------------------------------------------------------------------------------ */

static void
test_customer_create_and_patch(void **state)
{
	struct customer_error err = {0};
	json_t *doc = NULL, *changed, *body, *p;

	body = js("{\"engagedParty\": {\"id\": \"x\"}, \"account\": [{\"id\": \"BA-1\"}]}");
	assert_int_equal(customer_doc_create(body, "Ada Lovelace", &doc, &err), 0);
	assert_string_equal(json_string_value(json_object_get(doc, "name")), "Ada Lovelace");
	assert_string_equal(json_string_value(json_object_get(doc, "status")), "prospect");
	assert_int_equal(json_array_size(json_object_get(doc, "account")), 1);
	json_decref(body);

	/* a patch notes what changed; a status change follows the lifecycle */
	changed = json_array();
	p = js("{\"name\": \"Ada King\", \"status\": \"active\", \"contactMedium\": null,"
	       " \"statusReason\": \"signed\"}");
	assert_int_equal(customer_doc_patch(doc, p, false, changed, &err), 0);
	assert_int_equal(json_array_size(changed), 3); /* contactMedium was [] already */
	assert_string_equal(json_string_value(json_object_get(doc, "status")), "active");
	json_decref(p);
	json_decref(changed);

	changed = json_array();
	p = js("{\"status\": \"prospect\"}");
	memset(&err, 0, sizeof(err));
	assert_int_equal(customer_doc_patch(doc, p, false, changed, &err), -EBUSY);
	assert_string_equal(err.current_state, "active");
	json_decref(p);

	/* self-care: contact media only */
	p = js("{\"name\": \"Someone\"}");
	assert_int_equal(customer_doc_patch(doc, p, true, changed, &err), -EPERM);
	assert_string_equal(err.field, "/name");
	json_decref(p);
	p = js("{\"contactMedium\": [{\"mediumType\": \"email\","
	       " \"characteristic\": {\"emailAddress\": \"me@x.ch\"}}]}");
	assert_int_equal(customer_doc_patch(doc, p, true, changed, &err), 0);
	json_decref(p);

	/* unknown and read-only attributes */
	p = js("{\"customerNumber\": \"C000000001\"}");
	assert_int_equal(customer_doc_patch(doc, p, false, changed, &err), -EINVAL);
	assert_string_equal(err.field, "/customerNumber");
	json_decref(p);
	p = js("{\"@type\": \"GoldCustomer\"}");
	assert_int_equal(customer_doc_patch(doc, p, false, changed, &err), -EINVAL);
	json_decref(p);
	p = js("{}");
	assert_int_equal(customer_doc_patch(doc, p, false, changed, &err), -EINVAL);
	json_decref(p);
	json_decref(changed);
	json_decref(doc);

	/* a new customer is prospect or active */
	body = js("{\"status\": \"suspended\"}");
	assert_int_equal(customer_doc_create(body, "X", &doc, &err), -EINVAL);
	assert_string_equal(err.field, "/status");
	json_decref(body);
}

/* Patch the individual @doc with the JSON @text. */
static int
individual_patch(json_t *doc, const char *text, json_t *changed, struct customer_error *err)
{
	json_t *p = js(text);
	int rc = customer_party_doc_patch(CUSTOMER_INDIVIDUAL, doc, p, false, changed, err);

	json_decref(p);
	return rc;
}

static void
test_party_documents(void **state)
{
	struct customer_error err = {0};
	json_t *doc = NULL, *body, *changed;
	char name[64];

	body = js("{\"givenName\": \"Ada\", \"middleName\": \"Augusta\", \"familyName\": \"King\","
		  " \"birthDate\": \"1915-12-10\"}");
	assert_int_equal(customer_party_doc_create(CUSTOMER_INDIVIDUAL, body, &doc, &err), 0);
	assert_string_equal(json_string_value(json_object_get(doc, "fullName")),
			    "Ada Augusta King");
	assert_string_equal(json_string_value(json_object_get(doc, "status")), "initialized");
	customer_party_display_name(doc, name, sizeof(name));
	assert_string_equal(name, "Ada Augusta King");
	json_decref(body);

	changed = json_array();
	assert_int_equal(individual_patch(doc, "{\"middleName\": null, \"status\": \"validated\"}",
					  changed, &err),
			 0);
	assert_string_equal(json_string_value(json_object_get(doc, "fullName")), "Ada King");
	assert_int_equal(json_array_size(changed), 2);
	assert_int_equal(individual_patch(doc, "{\"birthDate\": \"2999-01-01\"}", changed, &err),
			 -EINVAL);
	assert_string_equal(err.field, "/birthDate");
	/* an organization's state, an organization's attribute */
	assert_int_equal(individual_patch(doc, "{\"status\": \"closed\"}", changed, &err), -EINVAL);
	assert_int_equal(individual_patch(doc, "{\"tradingName\": \"A\"}", changed, &err), -EINVAL);
	json_decref(changed);
	json_decref(doc);

	body = js("{\"familyName\": \"King\"}");
	assert_int_equal(customer_party_doc_create(CUSTOMER_INDIVIDUAL, body, &doc, &err), -EINVAL);
	assert_string_equal(err.field, "/givenName");
	json_decref(body);
	body = js("{\"name\": \"Acme AG\", \"isLegalEntity\": true}");
	assert_int_equal(customer_party_doc_create(CUSTOMER_ORGANIZATION, body, &doc, &err), 0);
	assert_null(json_object_get(doc, "fullName"));
	customer_party_display_name(doc, name, sizeof(name));
	assert_string_equal(name, "Acme AG");
	json_decref(body);
	json_decref(doc);
}

/* ---- Authorization and visibility ----------------------------------------------------------- */

static void
test_authorization(void **state)
{
	/* any[action]: the roles that may act on any customer */
	static const uint32_t any[CUSTOMER_ACTION_COUNT] = {
		[CUSTOMER_READ] = ROLE(ADMIN) | ROLE(OPERATOR) | ROLE(SUPPORT) | ROLE(BILLING) |
				  ROLE(READONLY),
		[CUSTOMER_REGISTER] = ROLE(ADMIN) | ROLE(OPERATOR) | ROLE(SUPPORT),
		[CUSTOMER_UPDATE] = ROLE(ADMIN) | ROLE(OPERATOR) | ROLE(SUPPORT),
		[CUSTOMER_STATUS] = ROLE(ADMIN) | ROLE(OPERATOR) | ROLE(SUPPORT),
		[CUSTOMER_DELETE] = ROLE(ADMIN) | ROLE(OPERATOR),
		[CUSTOMER_CARE] = ROLE(ADMIN) | ROLE(OPERATOR) | ROLE(SUPPORT),
		[CUSTOMER_EARN] = ROLE(ADMIN) | ROLE(OPERATOR) | ROLE(BILLING),
		[CUSTOMER_REDEEM] = ROLE(ADMIN) | ROLE(OPERATOR) | ROLE(SUPPORT) | ROLE(BILLING),
		[CUSTOMER_EXPORT] = ROLE(ADMIN) | ROLE(OPERATOR) | ROLE(SUPPORT),
		[CUSTOMER_ERASE] = ROLE(ADMIN),
	};
	static const bool own[CUSTOMER_ACTION_COUNT] = {
		[CUSTOMER_READ] = true,	  [CUSTOMER_UPDATE] = true, [CUSTOMER_CARE] = true,
		[CUSTOMER_REDEEM] = true, [CUSTOMER_EXPORT] = true,
	};
	struct cuco_principal sc = {.subject = "u", .roles = ROLE(SELFCARE), .customer_id = "c-1"};
	struct cuco_principal staff = {.subject = "s"};

	for (unsigned a = 0; a < CUSTOMER_ACTION_COUNT; a++) {
		for (unsigned r = 0; r < CUCO_ROLE_COUNT; r++) {
			staff.roles = CUCO_ROLE_BIT(r);
			assert_int_equal(customer_may(&staff, a, "c-9"),
					 (any[a] & CUCO_ROLE_BIT(r)) != 0);
		}
		assert_int_equal(customer_may(&sc, a, "c-1"), own[a]);
		assert_false(customer_may(&sc, a, "c-2"));
		assert_false(customer_may(&sc, a, ""));
	}
	/* lists: self-care reads (its own), registers nothing */
	assert_true(customer_may(&sc, CUSTOMER_READ, NULL));
	assert_false(customer_may(&sc, CUSTOMER_REGISTER, NULL));
	assert_true(customer_is_own_only(&sc));
	staff.roles = ROLE(READONLY);
	assert_false(customer_is_own_only(&staff));
	/* a self-care principal without its customer id may do nothing */
	sc.customer_id[0] = '\0';
	assert_false(customer_may(&sc, CUSTOMER_READ, ""));
	assert_false(customer_may(&sc, CUSTOMER_READ, NULL));
	assert_string_equal(customer_action_name(CUSTOMER_ERASE), "customer.erase");
}

static const char customer_doc[] =
	"{\"id\": \"1\", \"@type\": \"Customer\", \"name\": \"Ada\", \"status\": \"active\","
	" \"customerNumber\": \"C000000001\","
	" \"engagedParty\": {\"id\": \"2\", \"name\": \"Ada\", \"@referredType\": \"Individual\"},"
	" \"contactMedium\": ["
	"  {\"mediumType\": \"email\", \"characteristic\": {\"emailAddress\": \"a@home.ch\"}},"
	"  {\"mediumType\": \"email\", \"characteristic\": {\"emailAddress\": \"a@bill.ch\","
	"   \"contactType\": \"billing\"}}],"
	" \"account\": [{\"id\": \"BA-1\"}]}";

static const char individual_doc[] =
	"{\"id\": \"2\", \"@type\": \"Individual\", \"givenName\": \"Ada\","
	" \"familyName\": \"King\","
	" \"fullName\": \"Ada King\", \"birthDate\": \"1815-12-10\", \"gender\": \"female\","
	" \"nationality\": \"GB\", \"status\": \"validated\", \"contactMedium\": []}";

static void
test_visibility(void **state)
{
	json_t *c, *p;

	assert_int_equal(customer_visibility(ROLE(ADMIN)), CUSTOMER_SEE_ALL);
	assert_int_equal(customer_visibility(ROLE(SUPPORT)), CUSTOMER_SEE_ALL);
	assert_int_equal(customer_visibility(ROLE(SELFCARE)), CUSTOMER_SEE_ALL);
	assert_int_equal(customer_visibility(ROLE(BILLING)),
			 CUSTOMER_SEE_NAME | CUSTOMER_SEE_BILLING_CONTACT);
	assert_int_equal(customer_visibility(ROLE(READONLY)), 0);
	assert_int_equal(customer_visibility(ROLE(READONLY) | ROLE(BILLING)),
			 customer_visibility(ROLE(BILLING)));
	assert_int_equal(customer_visibility(0), 0);

	/* all */
	c = js(customer_doc);
	customer_redact(c, customer_visibility(ROLE(OPERATOR)));
	assert_true(same(c, customer_doc));
	assert_int_equal(json_array_size(json_object_get(c, "contactMedium")), 2);
	json_decref(c);

	/* billing: names and the billing contact */
	c = js(customer_doc);
	customer_redact(c, customer_visibility(ROLE(BILLING)));
	assert_string_equal(json_string_value(json_object_get(c, "name")), "Ada");
	assert_int_equal(json_array_size(json_object_get(c, "contactMedium")), 1);
	assert_string_equal(json_string_value(json_object_get(json_object_get(
				    json_array_get(json_object_get(c, "contactMedium"), 0),
				    "characteristic"),
							  "emailAddress")),
			    "a@bill.ch");
	json_decref(c);
	p = js(individual_doc);
	customer_party_redact(p, customer_visibility(ROLE(BILLING)));
	assert_non_null(json_object_get(p, "givenName"));
	assert_null(json_object_get(p, "birthDate"));
	assert_null(json_object_get(p, "gender"));
	assert_null(json_object_get(p, "nationality"));
	json_decref(p);

	/* read-only: nothing personal, ids and states stay */
	c = js(customer_doc);
	customer_redact(c, customer_visibility(ROLE(READONLY)));
	assert_null(json_object_get(c, "name"));
	assert_null(json_object_get(c, "contactMedium"));
	assert_null(json_object_get(json_object_get(c, "engagedParty"), "name"));
	assert_non_null(json_object_get(json_object_get(c, "engagedParty"), "id"));
	assert_string_equal(json_string_value(json_object_get(c, "customerNumber")), "C000000001");
	assert_non_null(json_object_get(c, "account"));
	json_decref(c);
	p = js(individual_doc);
	customer_party_redact(p, 0);
	assert_null(json_object_get(p, "givenName"));
	assert_null(json_object_get(p, "familyName"));
	assert_null(json_object_get(p, "fullName"));
	assert_null(json_object_get(p, "birthDate"));
	assert_non_null(json_object_get(p, "status"));
	json_decref(p);
	p = js("{\"@type\": \"Organization\", \"name\": \"Acme\", \"tradingName\": \"A\","
	       " \"organizationType\": \"company\"}");
	customer_party_redact(p, 0);
	assert_null(json_object_get(p, "name"));
	assert_null(json_object_get(p, "tradingName"));
	assert_non_null(json_object_get(p, "organizationType"));
	json_decref(p);
}

/* ---- Consents, preferences, loyalty --------------------------------------------------------- */

static void
test_consent_and_preferences(void **state)
{
	struct customer_error err = {0};
	json_t *b, *c, *prefs = NULL;
	int64_t now = 1700000000;

	b = js("{\"channel\": \"email\", \"purpose\": \"marketing\", \"state\": \"given\","
	       " \"at\": \"2023-11-14T22:13:20Z\", \"source\": \"web\"}");
	assert_int_equal(customer_consent_check(b, now, &err), 0);
	json_decref(b);
	/* a little ahead of our clock is fine, the future is not */
	b = js("{\"channel\": \"sms\", \"purpose\": \"service\", \"state\": \"withdrawn\","
	       " \"at\": \"2023-11-14T22:17:00Z\"}");
	assert_int_equal(customer_consent_check(b, now, &err), 0);
	json_decref(b);
	b = js("{\"channel\": \"sms\", \"purpose\": \"service\", \"state\": \"withdrawn\","
	       " \"at\": \"2023-11-14T23:00:00Z\"}");
	assert_int_equal(customer_consent_check(b, now, &err), -EINVAL);
	assert_string_equal(err.field, "/at");
	json_decref(b);
	b = js("{\"channel\": \"email\", \"purpose\": \"spam\", \"state\": \"given\"}");
	assert_int_equal(customer_consent_check(b, now, &err), -EINVAL);
	assert_string_equal(err.field, "/purpose");
	json_decref(b);
	b = js("{\"channel\": \"email\", \"purpose\": \"service\", \"state\": \"given\","
	       " \"x\": 1}");
	assert_int_equal(customer_consent_check(b, now, &err), -EINVAL);
	assert_string_equal(err.field, "/x");
	json_decref(b);

	b = js("{\"channels\": {\"sms\": false}, \"preferred_channel\": \"post\","
	       " \"language\": \"fr-CH\"}");
	assert_int_equal(customer_preferences_check(b, &prefs, &err), 0);
	assert_true(same(prefs, "{\"preferred_channel\": \"post\", \"language\": \"fr-CH\","
			 " \"channels\": {\"email\": true, \"sms\": false,"
			 " \"phone\": true, \"post\": true}}"));
	json_decref(prefs);
	json_decref(b);
	b = js("{\"channels\": {\"sms\": false}, \"preferred_channel\": \"sms\"}");
	assert_int_equal(customer_preferences_check(b, &prefs, &err), -EINVAL);
	assert_string_equal(err.field, "/preferred_channel");
	json_decref(b);
	b = js("{}");
	assert_int_equal(customer_preferences_check(b, &prefs, &err), 0);
	c = customer_preferences_default();
	assert_true(json_equal(prefs, c));
	json_decref(c);
	json_decref(prefs);
	json_decref(b);
}

static void
test_loyalty(void **state)
{
	struct customer_error err = {0};
	int64_t b;
	json_t *body;

	assert_int_equal(customer_loyalty_apply(0, false, 100, &b), 0);
	assert_int_equal(b, 100);
	assert_int_equal(customer_loyalty_apply(100, true, 100, &b), 0);
	assert_int_equal(b, 0);
	assert_int_equal(customer_loyalty_apply(99, true, 100, &b), -ENOSPC);
	assert_int_equal(customer_loyalty_apply(100, true, 0, &b), -EINVAL);
	assert_int_equal(customer_loyalty_apply(100, false, -5, &b), -EINVAL);
	assert_int_equal(customer_loyalty_apply(100, false, CUSTOMER_POINTS_MAX + 1, &b), -EINVAL);
	assert_int_equal(customer_loyalty_apply(CUSTOMER_BALANCE_MAX, false, 1, &b), -ERANGE);
	assert_int_equal(customer_loyalty_apply(-1, false, 1, &b), -EINVAL);

	body = js("{\"kind\": \"redeem\", \"points\": 5, \"reference\": \"o-1\"}");
	assert_int_equal(customer_loyalty_check(body, &err), 0);
	json_decref(body);
	body = js("{\"kind\": \"redeem\", \"points\": 5.5, \"reference\": \"o-1\"}");
	assert_int_equal(customer_loyalty_check(body, &err), -EINVAL);
	assert_string_equal(err.field, "/points");
	json_decref(body);
	body = js("{\"kind\": \"earn\", \"points\": 5, \"reference\": \"\"}");
	assert_int_equal(customer_loyalty_check(body, &err), -EINVAL);
	assert_string_equal(err.field, "/reference");
	json_decref(body);
}

/* ---- Pseudonymisation ----------------------------------------------------------------------- */

static void
test_pseudonymisation(void **state)
{
	const char *id = "0b6f1c7e-8d0a-4c55-9a43-3f1f5d0f7a11";
	char a[24], b[24];
	json_t *c, *p;

	customer_pseudonym(id, a);
	customer_pseudonym(id, b);
	assert_string_equal(a, "Erased 0b6f1c7e");
	assert_string_equal(a, b);

	c = js(customer_doc);
	json_object_set_new(c, "statusReason", json_string("moved to Ada's mum"));
	json_object_set_new(c, "characteristic", js("[{\"name\": \"nick\", \"value\": \"Ada\"}]"));
	customer_doc_erase(c, a);
	assert_string_equal(json_string_value(json_object_get(c, "name")), a);
	assert_int_equal(json_array_size(json_object_get(c, "contactMedium")), 0);
	assert_int_equal(json_array_size(json_object_get(c, "characteristic")), 0);
	assert_null(json_object_get(c, "statusReason"));
	assert_string_equal(json_string_value(json_object_get(json_object_get(c, "engagedParty"),
							      "name")),
			    a);
	/* what billing needs stays */
	assert_string_equal(json_string_value(json_object_get(c, "customerNumber")), "C000000001");
	assert_int_equal(json_array_size(json_object_get(c, "account")), 1);
	assert_string_equal(json_string_value(json_object_get(c, "id")), "1");
	json_decref(c);

	p = js(individual_doc);
	customer_party_doc_erase(CUSTOMER_INDIVIDUAL, p, a);
	assert_string_equal(json_string_value(json_object_get(p, "givenName")), "Erased");
	assert_string_equal(json_string_value(json_object_get(p, "familyName")), "0b6f1c7e");
	assert_string_equal(json_string_value(json_object_get(p, "fullName")), a);
	assert_null(json_object_get(p, "birthDate"));
	assert_null(json_object_get(p, "gender"));
	assert_null(json_object_get(p, "nationality"));
	assert_string_equal(json_string_value(json_object_get(p, "id")), "2");
	json_decref(p);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lifecycle),
		cmocka_unit_test(test_email),
		cmocka_unit_test(test_e164_country_dates),
		cmocka_unit_test(test_contact_media),
		cmocka_unit_test(test_customer_create_and_patch),
		cmocka_unit_test(test_party_documents),
		cmocka_unit_test(test_authorization),
		cmocka_unit_test(test_visibility),
		cmocka_unit_test(test_consent_and_preferences),
		cmocka_unit_test(test_loyalty),
		cmocka_unit_test(test_pseudonymisation),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

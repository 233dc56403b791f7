/* SPDX-License-Identifier: BSD-3-Clause */
/* The security domain's pure rules: passwords, policy, JWT, API keys, the audit chain. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jwt.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>

#include "bss/security/model.h"

/* ---- Passwords ---------------------------------------------------------------- */

static void
test_password_hash_verify(void **state)
{
	struct security_config cfg = {0};
	struct security_pwcost cost, cheap = {crypto_pwhash_OPSLIMIT_MIN, crypto_pwhash_MEMLIMIT_MIN};
	char hash[crypto_pwhash_STRBYTES], other[crypto_pwhash_STRBYTES];

	/* The default cost is libsodium's INTERACTIVE: 2 passes over 64 MiB. */
	assert_int_equal(security_pwcost_from(&cfg, &cost, NULL), 0);
	assert_int_equal(cost.opslimit, crypto_pwhash_OPSLIMIT_INTERACTIVE);
	assert_int_equal(cost.memlimit, crypto_pwhash_MEMLIMIT_INTERACTIVE);
	assert_int_equal(security_password_hash("correct horse battery", &cost, hash), 0);
	assert_true(strncmp(hash, "$argon2id$v=19$m=65536,t=2,p=1$", 31) == 0);
	assert_true(security_password_verify(hash, "correct horse battery"));
	assert_false(security_password_verify(hash, "correct horse batterY"));
	assert_false(security_password_verify(hash, ""));
	assert_false(security_password_needs_rehash(hash, &cost));

	/* The same password hashes differently (salt), and a changed cost asks for a rehash. */
	assert_int_equal(security_password_hash("correct horse battery", &cheap, other), 0);
	assert_string_not_equal(hash, other);
	assert_true(security_password_verify(other, "correct horse battery"));
	assert_true(security_password_needs_rehash(other, &cost));
	assert_true(security_password_needs_rehash("$argon2i$v=19$m=65536,t=2,p=1$xx$yy", &cost));
	assert_false(security_password_verify("not a hash", "correct horse battery"));

	cfg.pwhash_opslimit = 0;
	cfg.pwhash_memlimit = 1024; /* below argon2's minimum */
	assert_int_equal(security_pwcost_from(&cfg, &cost, NULL), -EINVAL);
}

static void
test_password_policy(void **state)
{
	struct security_error err = {0};
	char random[32];

	assert_int_equal(security_check_password("alice", "elevenchars", &err), -EINVAL);
	assert_string_equal(err.code, "weak-password");
	assert_string_equal(err.field, "password");
	assert_non_null(strstr(err.message, "min-length"));
	assert_non_null(strstr(err.message, "12"));
	assert_int_equal(security_check_password("alice", "twelve chars", &err), 0);
	/* Characters, not bytes: 12 two-byte letters pass, 11 do not. */
	assert_int_equal(security_check_password("alice", "ééééééééééé", &err), -EINVAL);
	assert_int_equal(security_check_password("alice", "éééééééééééé", &err), 0);

	assert_int_equal(security_check_password("administrator", "Administrator", &err), -EINVAL);
	assert_non_null(strstr(err.message, "not-name"));
	assert_int_equal(security_check_password("alice", "\xff\xfe invalid utf8", &err), -EINVAL);
	assert_non_null(strstr(err.message, "utf-8"));
	assert_int_equal(security_check_password("alice", NULL, &err), -EINVAL);

	char *big = malloc(SECURITY_PASSWORD_MAX + 2);
	memset(big, 'x', SECURITY_PASSWORD_MAX + 1);
	big[SECURITY_PASSWORD_MAX + 1] = '\0';
	assert_int_equal(security_check_password("alice", big, &err), -EINVAL);
	assert_non_null(strstr(err.message, "max-length"));
	free(big);

	/* The one-time passwords of bootstrap and reset pass the policy. */
	security_password_random(random);
	assert_int_equal(strlen(random), 20);
	assert_int_equal(security_check_password("admin", random, &err), 0);
}

/* ---- Names, roles ------------------------------------------------------------- */

static void
test_names_and_roles(void **state)
{
	struct security_error err = {0};
	uint32_t sc = CUCO_ROLE_BIT(CUCO_ROLE_SELFCARE), mask;
	char lit[96];
	json_t *a;

	assert_int_equal(security_check_name("alice.b-c@x", &err), 0);
	assert_int_equal(security_check_name("Alice", &err), -EINVAL);
	assert_string_equal(err.field, "name");
	assert_int_equal(security_check_name("-alice", &err), -EINVAL);
	assert_int_equal(security_check_name("", &err), -EINVAL);
	assert_int_equal(security_check_display_name("Zoë Dupont", &err), 0);
	assert_int_equal(security_check_display_name("bad\nname", &err), -EINVAL);
	assert_string_equal(err.field, "display_name");

	assert_int_equal(security_check_roles(0, NULL, &err), -EINVAL);
	assert_string_equal(err.field, "roles");
	assert_int_equal(security_check_roles(sc, "cust-42", &err), 0);
	assert_int_equal(security_check_roles(sc, NULL, &err), -EINVAL);
	assert_string_equal(err.field, "customer_id");
	assert_int_equal(security_check_roles(sc | CUCO_ROLE_BIT(CUCO_ROLE_SUPPORT), "c1", &err),
			 -EINVAL);
	assert_int_equal(security_check_roles(CUCO_ROLE_BIT(CUCO_ROLE_ADMIN), "c1", &err), -EINVAL);
	assert_int_equal(security_check_roles(CUCO_ROLE_BIT(CUCO_ROLE_ADMIN), NULL, &err), 0);
	assert_int_equal(security_check_roles(1u << 20, NULL, &err), -EINVAL);

	/* Round trips through JSON and PostgreSQL's text[] literal. */
	mask = CUCO_ROLE_BIT(CUCO_ROLE_OPERATOR) | CUCO_ROLE_BIT(CUCO_ROLE_READONLY);
	security_roles_to_pg(mask, lit, sizeof(lit));
	assert_string_equal(lit, "{operator,read-only}");
	assert_int_equal(security_roles_from_pg(lit, &mask), 0);
	assert_int_equal(mask, CUCO_ROLE_BIT(CUCO_ROLE_OPERATOR) | CUCO_ROLE_BIT(CUCO_ROLE_READONLY));
	assert_int_equal(security_roles_from_pg("{}", &mask), 0);
	assert_int_equal(mask, 0);
	assert_int_equal(security_roles_from_pg("{root}", &mask), -EINVAL);
	assert_int_equal(security_roles_from_pg("{admin,}", &mask), -EINVAL);
	a = security_roles_to_json(CUCO_ROLE_BIT(CUCO_ROLE_ADMIN) | sc);
	assert_int_equal(json_array_size(a), 2);
	assert_int_equal(security_roles_from_json(a, &mask), 0);
	assert_int_equal(mask, CUCO_ROLE_BIT(CUCO_ROLE_ADMIN) | sc);
	json_decref(a);
}

static void
test_role_table(void **state)
{
	json_t *t = security_roles(), *r;
	size_t i;

	assert_int_equal(json_array_size(t), CUCO_ROLE_COUNT);
	json_array_foreach (t, i, r) {
		assert_string_equal(json_string_value(json_object_get(r, "name")),
				    cuco_role_name((enum cuco_role)i));
		assert_true(json_array_size(json_object_get(r, "permissions")) > 0);
		assert_true(json_string_length(json_object_get(r, "description")) > 0);
	}
	json_decref(t);
	assert_true(security_roles_may(CUCO_ROLE_BIT(CUCO_ROLE_ADMIN), "users.manage"));
	assert_false(security_roles_may(CUCO_ROLE_BIT(CUCO_ROLE_OPERATOR), "users.manage"));
	assert_false(security_roles_may(CUCO_ROLE_BIT(CUCO_ROLE_READONLY), "customers.write"));
	assert_true(security_roles_may(CUCO_ROLE_BIT(CUCO_ROLE_READONLY), "customers.read"));
	assert_false(security_roles_may(CUCO_ROLE_BIT(CUCO_ROLE_SELFCARE), "customers.read"));
	assert_true(security_roles_may(CUCO_ROLE_BIT(CUCO_ROLE_SELFCARE), "customers.read.own"));
	assert_false(security_roles_may(0, "roles.read"));
}

static void
test_uuid(void **state)
{
	char a[SECURITY_UUID_LEN + 1], b[SECURITY_UUID_LEN + 1];

	security_uuid_new(a);
	security_uuid_new(b);
	assert_true(security_uuid_valid(a));
	assert_string_not_equal(a, b);
	assert_int_equal(a[14], '4');
	assert_false(security_uuid_valid("0000"));
	assert_false(security_uuid_valid("6F9619FF-8B86-D011-B42D-00C04FC964FF"));
}

/* ---- JWT ---------------------------------------------------------------------- */

static const uint8_t key[SECURITY_KEY_LEN] = "0123456789abcdef0123456789abcdef";
static const uint8_t other_key[SECURITY_KEY_LEN] = "fedcba9876543210fedcba9876543210";
#define NOW 1700000000

static struct security_claims
claims(void)
{
	struct security_claims c = {
		.sub = "6f9619ff-8b86-4011-b42d-00c04fc964ff",
		.name = "alice",
		.roles = CUCO_ROLE_BIT(CUCO_ROLE_OPERATOR) | CUCO_ROLE_BIT(CUCO_ROLE_SUPPORT),
		.iat = NOW,
		.exp = NOW + 900,
		.jti = "0a0b0c0d-0000-4000-8000-000000000001",
		.epoch = 3,
	};
	return c;
}

static void
b64(char *out, size_t len, const void *in, size_t n)
{
	sodium_bin2base64(out, len, in, n, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

/* A token built by hand: header and payload as given, signed with @alg ("HS256", "HS512", "none"). */
static char *
forge(const char *alg, const uint8_t *k, const char *header, const char *payload)
{
	static char tok[4096];
	char h[1024], p[2048], s[200] = "";
	uint8_t mac[64];
	size_t n;

	b64(h, sizeof(h), header, strlen(header));
	b64(p, sizeof(p), payload, strlen(payload));
	n = (size_t)snprintf(tok, sizeof(tok), "%s.%s", h, p);
	if (strcmp(alg, "HS256") == 0) {
		crypto_auth_hmacsha256_state st;

		crypto_auth_hmacsha256_init(&st, k, SECURITY_KEY_LEN);
		crypto_auth_hmacsha256_update(&st, (uint8_t *)tok, n);
		crypto_auth_hmacsha256_final(&st, mac);
		b64(s, sizeof(s), mac, 32);
	} else if (strcmp(alg, "HS512") == 0) {
		crypto_auth_hmacsha512_state st;

		crypto_auth_hmacsha512_init(&st, k, SECURITY_KEY_LEN);
		crypto_auth_hmacsha512_update(&st, (uint8_t *)tok, n);
		crypto_auth_hmacsha512_final(&st, mac);
		b64(s, sizeof(s), mac, 64);
	}
	snprintf(tok + n, sizeof(tok) - n, ".%s", s);
	return tok;
}

static const char good_payload[] =
	"{\"iss\":\"cuco-edge\",\"sub\":\"6f9619ff-8b86-4011-b42d-00c04fc964ff\",\"name\":\"alice\","
	"\"roles\":[\"operator\"],\"iat\":1700000000,\"nbf\":1700000000,\"exp\":1700000900,"
	"\"jti\":\"j1\",\"epoch\":0}";

static void
expect_refused(const char *token, int64_t now, const char *why)
{
	struct security_error err = {0};
	struct security_claims c;

	assert_int_equal(security_jwt_verify(key, token, now, &c, &err), -EACCES);
	assert_string_equal(err.code, "invalid-credentials");
	if (why && strstr(err.message, why) == NULL)
		fail_msg("expected '%s' in '%s'", why, err.message);
}

/* libjwt's verdict on @token's signature and algorithm (it checks no time claim). */
static bool
libjwt_accepts(const uint8_t *k, const char *token)
{
	jwt_t *jwt = NULL;
	bool ok;

	if (jwt_decode(&jwt, token, k, SECURITY_KEY_LEN) != 0)
		return false;
	ok = jwt_get_alg(jwt) == JWT_ALG_HS256;
	jwt_free(jwt);
	return ok;
}

static void
test_jwt_issue_verify(void **state)
{
	struct security_claims c = claims(), got;
	struct security_error err = {0};
	char tok[SECURITY_TOKEN_MAX];

	assert_int_equal(security_jwt_issue(key, &c, tok), 0);
	assert_int_equal(security_jwt_verify(key, tok, NOW + 10, &got, &err), 0);
	/* Our decode is the only one on a request: libjwt, the issuer, agrees with it. */
	assert_true(libjwt_accepts(key, tok));
	assert_false(libjwt_accepts(other_key, tok));
	assert_string_equal(got.sub, c.sub);
	assert_string_equal(got.name, "alice");
	assert_int_equal(got.roles, c.roles);
	assert_int_equal(got.iat, NOW);
	assert_int_equal(got.exp, NOW + 900);
	assert_string_equal(got.jti, c.jti);
	assert_int_equal(got.epoch, 3);
	assert_false(got.password_change_only);
	assert_string_equal(got.customer_id, "");

	/* A hand-built token with the right key and claims is accepted: the forger works. */
	assert_int_equal(security_jwt_verify(key, forge("HS256", key, "{\"alg\":\"HS256\",\"typ\":"
				"\"JWT\"}", good_payload), NOW, &got, &err), 0);
	assert_true(libjwt_accepts(key, forge("HS256", key, "{\"alg\":\"HS256\",\"typ\":\"JWT\"}",
					      good_payload)));
	/* A header other than the bytes we write, same meaning: parsed and accepted too. */
	assert_int_equal(security_jwt_verify(key, forge("HS256", key, "{\"typ\":\"JWT\",\"alg\":"
				"\"HS256\"}", good_payload), NOW, &got, &err), 0);

	/* The restricted token and the self-care binding survive the trip. */
	c.password_change_only = true;
	c.roles = CUCO_ROLE_BIT(CUCO_ROLE_SELFCARE);
	snprintf(c.customer_id, sizeof(c.customer_id), "cust-7");
	assert_int_equal(security_jwt_issue(key, &c, tok), 0);
	assert_int_equal(security_jwt_verify(key, tok, NOW, &got, &err), 0);
	assert_true(libjwt_accepts(key, tok));
	assert_true(got.password_change_only);
	assert_string_equal(got.customer_id, "cust-7");
}

static void
test_jwt_refusals(void **state)
{
	static const char hs256[] = "{\"alg\":\"HS256\",\"typ\":\"JWT\"}";
	struct security_claims c = claims();
	char tok[SECURITY_TOKEN_MAX], bad[SECURITY_TOKEN_MAX], *dot;

	assert_int_equal(security_jwt_issue(key, &c, tok), 0);

	/* Expired, and not yet valid. */
	expect_refused(tok, NOW + 900, "expired");
	expect_refused(tok, NOW + 100000, "expired");
	expect_refused(tok, NOW - 3600, "not yet valid");

	/* Unsigned: alg none, with an empty signature or with our real one appended. */
	expect_refused(forge("none", key, "{\"alg\":\"none\",\"typ\":\"JWT\"}", good_payload), NOW,
		       NULL);
	strcpy(bad, forge("none", key, "{\"alg\":\"none\",\"typ\":\"JWT\"}", good_payload));
	strcat(bad, strrchr(forge("HS256", key, hs256, good_payload), '.') + 1);
	expect_refused(bad, NOW, "alg must be HS256");
	expect_refused(forge("none", key, "{\"alg\":\"None\"}", good_payload), NOW, NULL);
	expect_refused(forge("HS256", key, "{\"typ\":\"JWT\"}", good_payload), NOW, "alg");

	/* Another algorithm, with our key. */
	expect_refused(forge("HS512", key, "{\"alg\":\"HS512\",\"typ\":\"JWT\"}", good_payload),
		       NOW, "alg must be HS256");
	/* HS256 with another key. */
	expect_refused(forge("HS256", other_key, hs256, good_payload), NOW, "bad signature");
	/* A header we do not understand. */
	expect_refused(forge("HS256", key, "{\"alg\":\"HS256\",\"crit\":[\"x\"]}", good_payload),
		       NOW, "crit");

	/* Tampered payload: roles raised to admin, old signature kept. */
	{
		char p[1024];
		const char *evil = "{\"iss\":\"cuco-edge\",\"sub\":\"6f9619ff-8b86-4011-b42d-"
				   "00c04fc964ff\",\"name\":\"alice\",\"roles\":[\"admin\"],"
				   "\"iat\":1700000000,\"nbf\":1700000000,\"exp\":1700000900,"
				   "\"jti\":\"j1\",\"epoch\":0}";
		const char *d1 = strchr(tok, '.');

		b64(p, sizeof(p), evil, strlen(evil));
		snprintf(bad, sizeof(bad), "%.*s.%s%s", (int)(d1 - tok), tok, p, strrchr(tok, '.'));
		expect_refused(bad, NOW, "bad signature");
	}
	/* Tampered header: same alg, an extra field. */
	{
		char h[256];
		const char *hdr = "{\"alg\":\"HS256\",\"typ\":\"JWT\",\"kid\":\"x\"}";

		b64(h, sizeof(h), hdr, strlen(hdr));
		snprintf(bad, sizeof(bad), "%s%s", h, strchr(tok, '.'));
		expect_refused(bad, NOW, "bad signature");
	}
	/* Tampered signature: one character changed, truncated, removed, extended. */
	strcpy(bad, tok);
	dot = strrchr(bad, '.');
	dot[5] = dot[5] == 'A' ? 'B' : 'A';
	expect_refused(bad, NOW, "signature");
	strcpy(bad, tok);
	bad[strlen(bad) - 2] = '\0';
	expect_refused(bad, NOW, "signature");
	strcpy(bad, tok);
	*strrchr(bad, '.') = '\0';
	expect_refused(bad, NOW, "three");
	strcpy(bad, tok);
	strcat(bad, "AAAA");
	expect_refused(bad, NOW, "signature");
	strcpy(bad, tok);
	strcat(bad, ".x");
	expect_refused(bad, NOW, "three");

	/* Missing or wrong claims, properly signed. */
	expect_refused(forge("HS256", key, hs256,
			     "{\"iss\":\"cuco-edge\",\"sub\":\"6f9619ff-8b86-4011-b42d-00c04fc964ff\","
			     "\"name\":\"alice\",\"roles\":[\"operator\"],\"iat\":1700000000,"
			     "\"nbf\":1700000000,\"jti\":\"j1\",\"epoch\":0}"),
		       NOW, "exp");
	expect_refused(forge("HS256", key, hs256,
			     "{\"iss\":\"cuco-edge\",\"name\":\"alice\",\"roles\":[\"operator\"],"
			     "\"iat\":1700000000,\"nbf\":1700000000,\"exp\":1700000900,\"jti\":\"j1\","
			     "\"epoch\":0}"),
		       NOW, "sub");
	expect_refused(forge("HS256", key, hs256,
			     "{\"iss\":\"someone\",\"sub\":\"6f9619ff-8b86-4011-b42d-00c04fc964ff\","
			     "\"name\":\"alice\",\"roles\":[\"operator\"],\"iat\":1700000000,"
			     "\"nbf\":1700000000,\"exp\":1700000900,\"jti\":\"j1\",\"epoch\":0}"),
		       NOW, "iss");
	expect_refused(forge("HS256", key, hs256,
			     "{\"iss\":\"cuco-edge\",\"sub\":\"6f9619ff-8b86-4011-b42d-00c04fc964ff\","
			     "\"name\":\"alice\",\"roles\":[\"root\"],\"iat\":1700000000,"
			     "\"nbf\":1700000000,\"exp\":1700000900,\"jti\":\"j1\",\"epoch\":0}"),
		       NOW, "roles");
	expect_refused(forge("HS256", key, hs256,
			     "{\"iss\":\"cuco-edge\",\"sub\":\"6f9619ff-8b86-4011-b42d-00c04fc964ff\","
			     "\"name\":\"alice\",\"roles\":[\"operator\"],\"iat\":1700000000,"
			     "\"nbf\":1700000000,\"exp\":\"1700000900\",\"jti\":\"j1\",\"epoch\":0}"),
		       NOW, "exp");
	expect_refused(forge("HS256", key, hs256,
			     "{\"iss\":\"cuco-edge\",\"sub\":\"6f9619ff-8b86-4011-b42d-00c04fc964ff\","
			     "\"name\":\"alice\",\"roles\":[\"operator\"],\"iat\":1700000000,"
			     "\"nbf\":1700009000,\"exp\":1700090000,\"jti\":\"j1\",\"epoch\":0}"),
		       NOW, "not yet valid");
	expect_refused(forge("HS256", key, hs256,
			     "{\"iss\":\"cuco-edge\",\"sub\":\"6f9619ff-8b86-4011-b42d-00c04fc964ff\","
			     "\"name\":\"alice\",\"roles\":[\"admin\"],\"iat\":1700000000,"
			     "\"nbf\":1700000000,\"exp\":1700000900,\"jti\":\"j1\",\"epoch\":0,"
			     "\"scope\":\"everything\"}"),
		       NOW, "scope");
	expect_refused(forge("HS256", key, hs256, "[1,2,3]"), NOW, "payload");
	expect_refused(forge("HS256", key, hs256, "not json"), NOW, "payload");

	/* Not a token at all. */
	expect_refused("", NOW, NULL);
	expect_refused("abc", NOW, "three");
	expect_refused("a.b.c", NOW, NULL);
	expect_refused("..", NOW, "three");
	expect_refused(NULL, NOW, NULL);
}

/* ---- Refresh tokens and API keys ------------------------------------------------ */

/* The 32 bytes that @s, 43 base64url characters, encodes. */
static void
decode32(const char *s, uint8_t out[32])
{
	size_t n;

	assert_int_equal(sodium_base642bin(out, 32, s, strlen(s), NULL, &n, NULL,
					   sodium_base64_VARIANT_URLSAFE_NO_PADDING),
			 0);
	assert_int_equal(n, 32);
}

static void
test_refresh_tokens(void **state)
{
	char a[64], b[64], t[64];
	uint8_t ha[32], hb[32], h[32], da[32], dt[32];

	security_refresh_new(a, ha);
	security_refresh_new(b, hb);
	assert_string_not_equal(a, b);
	assert_true(strncmp(a, "cucort_", 7) == 0);
	assert_int_equal(strlen(a), 7 + 43);
	assert_int_equal(security_refresh_hash(a, h), 0);
	assert_true(security_hash_equal(h, ha));
	assert_false(security_hash_equal(h, hb));
	/*
	 * Tampered: one character of the secret replaced by another base64url
	 * character, so the token stays well formed and decodes to other bytes
	 * (flipping a bit could leave the alphabet, and the last character's low
	 * bits are padding). It hashes differently, so it is refused.
	 */
	memcpy(t, a, sizeof(t));
	t[10] = t[10] == 'A' ? 'B' : 'A';
	decode32(a + 7, da);
	decode32(t + 7, dt);
	assert_memory_not_equal(da, dt, sizeof(da));
	assert_int_equal(security_refresh_hash(t, h), 0);
	assert_false(security_hash_equal(h, ha));
	/* A character outside base64url is malformed, not another token. */
	t[10] = ',';
	assert_int_equal(security_refresh_hash(t, h), -EINVAL);
	assert_int_equal(security_refresh_hash("cucort_short", h), -EINVAL);
	assert_int_equal(security_refresh_hash("", h), -EINVAL);
	assert_int_equal(security_refresh_hash(NULL, h), -EINVAL);
}

static void
test_apikey(void **state)
{
	const char *id = "6f9619ff-8b86-4011-b42d-00c04fc964ff";
	char secret[SECURITY_APIKEY_MAX], again[SECURITY_APIKEY_MAX], got_id[SECURITY_UUID_LEN + 1];
	uint8_t stored[32], other[32], h[32];
	size_t n;

	security_apikey_new(id, secret, stored);
	security_apikey_new(id, again, other);
	assert_string_not_equal(secret, again);
	assert_false(security_hash_equal(stored, other));
	/* "cuco_<id>_<43 base64url characters>" */
	assert_int_equal(strlen(secret), 5 + 36 + 1 + 43);
	assert_true(strncmp(secret, "cuco_", 5) == 0);
	assert_true(strncmp(secret + 5, id, 36) == 0);
	assert_int_equal(secret[41], '_');
	n = strspn(secret + 42, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_");
	assert_int_equal(n, 43);
	assert_true(security_apikey_is(secret));
	assert_false(security_apikey_is("eyJhbGciOi.x.y"));

	assert_int_equal(security_apikey_parse(secret, got_id, h), 0);
	assert_string_equal(got_id, id);
	assert_true(security_hash_equal(h, stored));

	/* Another secret under the same id hashes differently; so does the same secret under another id. */
	memcpy(again, secret, sizeof(again));
	again[50] = again[50] == 'A' ? 'B' : 'A';
	assert_int_equal(security_apikey_parse(again, got_id, h), 0);
	assert_false(security_hash_equal(h, stored));
	memcpy(again, secret, sizeof(again));
	again[5] = again[5] == 'a' ? 'b' : 'a';
	assert_int_equal(security_apikey_parse(again, got_id, h), 0);
	assert_false(security_hash_equal(h, stored));

	/* Malformed. */
	assert_int_equal(security_apikey_parse("cuco_x_y", got_id, h), -EINVAL);
	memcpy(again, secret, sizeof(again));
	again[41] = '-';
	assert_int_equal(security_apikey_parse(again, got_id, h), -EINVAL);
	memcpy(again, secret, sizeof(again));
	again[6] = 'Z';
	assert_int_equal(security_apikey_parse(again, got_id, h), -EINVAL);
	memcpy(again, secret, sizeof(again));
	again[60] = '=';
	assert_int_equal(security_apikey_parse(again, got_id, h), -EINVAL);
	memcpy(again, secret, sizeof(again));
	again[3] = 'x';
	assert_int_equal(security_apikey_parse(again, got_id, h), -EINVAL);
	strcat(secret, "A");
	assert_int_equal(security_apikey_parse(secret, got_id, h), -EINVAL);
}

/* ---- The audit chain ------------------------------------------------------------ */

#define CHAIN_N 6

struct chain {
	struct security_audit_entry e[CHAIN_N + 2];
	size_t n;
};

static void
chain_build(struct chain *c, const uint8_t *k)
{
	static const char *const actions[CHAIN_N] = {
		"security.login", "security.user.create", "security.user.update",
		"customer.update", "security.apikey.create", "security.login",
	};
	uint8_t prev[32] = {0};

	memset(c, 0, sizeof(*c));
	for (size_t i = 0; i < CHAIN_N; i++) {
		struct security_audit_entry *e = &c->e[i];

		*e = (struct security_audit_entry){
			.seq = (int64_t)i + 1,
			.at_us = 1700000000000000 + (int64_t)i * 1000,
			.subject = "6f9619ff-8b86-4011-b42d-00c04fc964ff",
			.name = "alice",
			.remote = "192.0.2.7",
			.action = actions[i],
			.target = "user:bob",
			.outcome = "success",
			.details = "{}",
			.traceparent = "",
		};
		memcpy(e->prev, prev, 32);
		security_audit_hash(k, e, e->hash);
		memcpy(prev, e->hash, 32);
	}
	c->n = CHAIN_N;
}

/* Walk @c; returns the report. */
static struct security_audit_report
walk(const struct chain *c, int64_t anchor_seq, const uint8_t *anchor_hash)
{
	struct security_audit_walk w;
	bool stop = false;

	security_audit_walk_init(&w, key, anchor_seq, anchor_hash);
	for (size_t i = 0; i < c->n && !stop; i++)
		stop = security_audit_walk_step(&w, &c->e[i]) < 0;
	if (!stop)
		security_audit_walk_end(&w);
	return w.report;
}

static void
remove_at(struct chain *c, size_t i)
{
	memmove(&c->e[i], &c->e[i + 1], (c->n - i - 1) * sizeof(c->e[0]));
	c->n--;
}

static void
test_audit_chain_ok(void **state)
{
	struct security_audit_report r;
	struct chain c;

	chain_build(&c, key);
	r = walk(&c, 0, NULL);
	assert_true(r.ok);
	assert_int_equal(r.records, CHAIN_N);
	assert_int_equal(r.head_seq, CHAIN_N);
	assert_int_equal(r.bad_seq, 0);
	assert_string_equal(r.problem, "");

	/* Anchored at the head, or behind it (a crash before the anchor moved). */
	r = walk(&c, CHAIN_N, c.e[CHAIN_N - 1].hash);
	assert_true(r.ok);
	r = walk(&c, 3, c.e[2].hash);
	assert_true(r.ok);

	/* An empty log with no anchor is fine. */
	c.n = 0;
	r = walk(&c, 0, NULL);
	assert_true(r.ok);
	assert_int_equal(r.records, 0);
}

static void
test_audit_chain_changed(void **state)
{
	struct security_audit_report r;
	struct chain c;

	/* A field changed, hash left alone. */
	chain_build(&c, key);
	c.e[2].outcome = "failure";
	r = walk(&c, 0, NULL);
	assert_false(r.ok);
	assert_int_equal(r.bad_seq, 3);
	assert_string_equal(r.problem, "hash-mismatch");
	assert_int_equal(r.records, 2);

	/* A field changed and the row's hash recomputed, even the whole tail, without the key. */
	chain_build(&c, key);
	c.e[2].name = "mallory";
	for (size_t i = 2; i < c.n; i++) {
		memcpy(c.e[i].prev, c.e[i - 1].hash, 32);
		security_audit_hash(other_key, &c.e[i], c.e[i].hash);
	}
	r = walk(&c, 0, NULL);
	assert_false(r.ok);
	assert_int_equal(r.bad_seq, 3);
	assert_string_equal(r.problem, "hash-mismatch");

	/* The timestamp is covered too. */
	chain_build(&c, key);
	c.e[4].at_us += 1;
	r = walk(&c, 0, NULL);
	assert_int_equal(r.bad_seq, 5);
	assert_string_equal(r.problem, "hash-mismatch");

	/* Field boundaries are part of the hash: moving a character between fields shows. */
	chain_build(&c, key);
	c.e[1].name = "alic";
	c.e[1].remote = "e192.0.2.7";
	r = walk(&c, 0, NULL);
	assert_int_equal(r.bad_seq, 2);
}

static void
test_audit_chain_removed(void **state)
{
	struct security_audit_report r;
	struct chain c;

	/* A record deleted: a gap in seq. */
	chain_build(&c, key);
	remove_at(&c, 2);
	r = walk(&c, 0, NULL);
	assert_false(r.ok);
	assert_int_equal(r.bad_seq, 3);
	assert_string_equal(r.problem, "seq-gap");

	/* Deleted and the rest renumbered: the link breaks. */
	chain_build(&c, key);
	remove_at(&c, 2);
	for (size_t i = 2; i < c.n; i++)
		c.e[i].seq--;
	r = walk(&c, 0, NULL);
	assert_int_equal(r.bad_seq, 3);
	assert_string_equal(r.problem, "link-broken");

	/* The first record deleted. */
	chain_build(&c, key);
	remove_at(&c, 0);
	r = walk(&c, 0, NULL);
	assert_int_equal(r.bad_seq, 1);
	assert_string_equal(r.problem, "seq-gap");

	/* The last two deleted: only the anchor can tell. */
	chain_build(&c, key);
	uint8_t head[32];
	memcpy(head, c.e[CHAIN_N - 1].hash, 32);
	c.n -= 2;
	r = walk(&c, 0, NULL);
	assert_true(r.ok);
	r = walk(&c, CHAIN_N, head);
	assert_false(r.ok);
	assert_string_equal(r.problem, "truncated");
	assert_int_equal(r.bad_seq, CHAIN_N - 1);

	/* Everything deleted. */
	c.n = 0;
	r = walk(&c, CHAIN_N, head);
	assert_string_equal(r.problem, "truncated");
	assert_int_equal(r.bad_seq, 1);
}

static void
test_audit_chain_inserted(void **state)
{
	struct security_audit_report r;
	struct security_audit_entry forged;
	struct chain c;

	/* A forged record appended, linked to the head, hash made up (no key). */
	chain_build(&c, key);
	forged = c.e[CHAIN_N - 1];
	forged.seq = CHAIN_N + 1;
	forged.action = "security.user.delete";
	memcpy(forged.prev, c.e[CHAIN_N - 1].hash, 32);
	crypto_hash_sha256(forged.hash, (const uint8_t *)"anything", 8);
	c.e[c.n++] = forged;
	r = walk(&c, 0, NULL);
	assert_int_equal(r.bad_seq, CHAIN_N + 1);
	assert_string_equal(r.problem, "hash-mismatch");

	/* A genuine record replayed at the end: its link is to another record. */
	chain_build(&c, key);
	forged = c.e[1];
	forged.seq = CHAIN_N + 1;
	c.e[c.n++] = forged;
	r = walk(&c, 0, NULL);
	assert_int_equal(r.bad_seq, CHAIN_N + 1);
	assert_string_equal(r.problem, "link-broken");

	/* A record inserted in the middle, the rest renumbered. */
	chain_build(&c, key);
	memmove(&c.e[3], &c.e[2], (c.n - 2) * sizeof(c.e[0]));
	c.n++;
	c.e[2].action = "security.user.delete";
	memcpy(c.e[2].prev, c.e[1].hash, 32);
	for (size_t i = 2; i < c.n; i++)
		c.e[i].seq = (int64_t)i + 1;
	r = walk(&c, 0, NULL);
	assert_int_equal(r.bad_seq, 3);
	assert_string_equal(r.problem, "hash-mismatch");

	/* A duplicate seq (no unique key in a copy). */
	chain_build(&c, key);
	c.e[3] = c.e[2];
	r = walk(&c, 0, NULL);
	assert_int_equal(r.bad_seq, 3);
	assert_string_equal(r.problem, "link-broken");
}

static void
test_audit_anchor_mismatch(void **state)
{
	struct security_audit_report r;
	struct chain c, rewritten;

	/* Whoever holds the key can rewrite the whole chain; the anchor still differs. */
	chain_build(&c, key);
	chain_build(&rewritten, key);
	rewritten.e[0].name = "mallory";
	for (size_t i = 0; i < rewritten.n; i++) {
		if (i > 0)
			memcpy(rewritten.e[i].prev, rewritten.e[i - 1].hash, 32);
		security_audit_hash(key, &rewritten.e[i], rewritten.e[i].hash);
	}
	r = walk(&rewritten, CHAIN_N, c.e[CHAIN_N - 1].hash);
	assert_false(r.ok);
	assert_string_equal(r.problem, "anchor-mismatch");
	assert_int_equal(r.bad_seq, CHAIN_N);
}

/* ---- The state directory ----------------------------------------------------------- */

static void
test_keyfiles(void **state)
{
	char dir[] = "/tmp/cuco-security-test-XXXXXX", path[256];
	uint8_t k1[32], k2[32], h[32], got[32];
	struct security_error err = {0};
	struct stat st;
	int64_t seq;
	FILE *f;

	assert_non_null(mkdtemp(dir));
	assert_int_equal(security_key_load(dir, "jwt.key", k1, &err), 0);
	snprintf(path, sizeof(path), "%s/jwt.key", dir);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(st.st_size, 32);
	assert_int_equal(security_key_load(dir, "jwt.key", k2, &err), 0);
	assert_memory_equal(k1, k2, 32);
	assert_int_equal(security_key_load(dir, "audit.key", k2, &err), 0);
	assert_memory_not_equal(k1, k2, 32);

	/* Open to others, or of the wrong size: refused, naming the file. */
	chmod(path, 0644);
	assert_int_equal(security_key_load(dir, "jwt.key", k2, &err), -EINVAL);
	assert_non_null(strstr(err.message, "jwt.key"));
	assert_non_null(strstr(err.message, "0600"));
	chmod(path, 0600);
	assert_int_equal(truncate(path, 16), 0);
	assert_int_equal(security_key_load(dir, "jwt.key", k2, &err), -EINVAL);
	unlink(path);

	/* The anchor only moves forward. */
	assert_int_equal(security_anchor_read(dir, &seq, got, &err), 0);
	assert_int_equal(seq, 0);
	memset(h, 0xab, sizeof(h));
	assert_int_equal(security_anchor_advance(dir, 5, h, &err), 0);
	assert_int_equal(security_anchor_read(dir, &seq, got, &err), 0);
	assert_int_equal(seq, 5);
	assert_memory_equal(got, h, 32);
	memset(k1, 0xcd, sizeof(k1));
	assert_int_equal(security_anchor_advance(dir, 4, k1, &err), 0);
	assert_int_equal(security_anchor_read(dir, &seq, got, &err), 0);
	assert_int_equal(seq, 5);
	assert_memory_equal(got, h, 32);
	assert_int_equal(security_anchor_advance(dir, 6, k1, &err), 0);
	assert_int_equal(security_anchor_read(dir, &seq, got, &err), 0);
	assert_int_equal(seq, 6);
	assert_memory_equal(got, k1, 32);

	snprintf(path, sizeof(path), "%s/audit.head", dir);
	f = fopen(path, "w");
	fputs("cuco-audit-anchor v1 7 zz\n", f);
	fclose(f);
	assert_int_equal(security_anchor_read(dir, &seq, got, &err), -EINVAL);

	unlink(path);
	snprintf(path, sizeof(path), "%s/audit.head.lock", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/audit.key", dir);
	unlink(path);
	assert_int_equal(rmdir(dir), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_password_hash_verify),
		cmocka_unit_test(test_password_policy),
		cmocka_unit_test(test_names_and_roles),
		cmocka_unit_test(test_role_table),
		cmocka_unit_test(test_uuid),
		cmocka_unit_test(test_jwt_issue_verify),
		cmocka_unit_test(test_jwt_refusals),
		cmocka_unit_test(test_refresh_tokens),
		cmocka_unit_test(test_apikey),
		cmocka_unit_test(test_audit_chain_ok),
		cmocka_unit_test(test_audit_chain_changed),
		cmocka_unit_test(test_audit_chain_removed),
		cmocka_unit_test(test_audit_chain_inserted),
		cmocka_unit_test(test_audit_anchor_mismatch),
		cmocka_unit_test(test_keyfiles),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}

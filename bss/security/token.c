/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Access tokens (JWT, RFC 7519, signed HS256, RFC 7515) and refresh tokens.
 *
 * libjwt writes the tokens. To read one we do not trust a general JWT
 * library's choices (libjwt 1.10 checks no time claim, takes the algorithm
 * from the token's own header and compares signatures with strcmp), so the
 * checks that matter are made here first, strictly: the header must say
 * HS256, the signature is recomputed and compared in constant time, the claims
 * are read from the payload with their exact types. This is the one decode a
 * request pays; the unit tests check that libjwt's own decode agrees with it
 * (tests/unit/test_security.c).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jwt.h>
#include <sodium.h>

#include "bss/security/model.h"

static int
refuse(struct security_error *err, const char *why)
{
	return security_fail(err, -EACCES, "invalid-credentials", "token", "token: %s", why);
}

static int
add_claims(jwt_t *jwt, const struct security_claims *c)
{
	json_t *roles = security_roles_to_json(c->roles), *o;
	char *text;
	int ret;

	o = json_pack("{s:o}", "roles", roles);
	text = o ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	if (text == NULL)
		return -ENOMEM;
	ret = jwt_add_grant(jwt, "iss", SECURITY_ISSUER);
	ret = ret ?: jwt_add_grant(jwt, "sub", c->sub);
	ret = ret ?: jwt_add_grant(jwt, "name", c->name);
	ret = ret ?: jwt_add_grants_json(jwt, text);
	ret = ret ?: jwt_add_grant_int(jwt, "iat", (long)c->iat);
	ret = ret ?: jwt_add_grant_int(jwt, "nbf", (long)c->iat);
	ret = ret ?: jwt_add_grant_int(jwt, "exp", (long)c->exp);
	ret = ret ?: jwt_add_grant(jwt, "jti", c->jti);
	ret = ret ?: jwt_add_grant_int(jwt, "epoch", (long)c->epoch);
	if (!ret && c->customer_id[0])
		ret = jwt_add_grant(jwt, "customer_id", c->customer_id);
	if (!ret && c->password_change_only)
		ret = jwt_add_grant(jwt, "scope", "password-change");
	free(text);
	return ret ? -ret : 0;
}

int
security_jwt_issue(const uint8_t key[SECURITY_KEY_LEN], const struct security_claims *c,
		   char ret[SECURITY_TOKEN_MAX])
{
	jwt_t *jwt = NULL;
	char *s = NULL;
	int r;

	r = jwt_new(&jwt);
	if (r)
		return -r;
	r = jwt_set_alg(jwt, JWT_ALG_HS256, key, SECURITY_KEY_LEN);
	if (r) {
		r = -r;
		goto out_free_jwt;
	}
	r = add_claims(jwt, c);
	if (r)
		goto out_free_jwt;
	s = jwt_encode_str(jwt);
	if (s == NULL) {
		r = -ENOMEM;
		goto out_free_jwt;
	}
	if (strlen(s) >= SECURITY_TOKEN_MAX) {
		r = -ENOSPC;
		goto out_free_str;
	}
	memcpy(ret, s, strlen(s) + 1);
	r = 0;
out_free_str:
	free(s);
out_free_jwt:
	jwt_free(jwt);
	return r;
}

/* Decode one base64url part (no padding, canonical) to JSON. */
static json_t *
part_json(const char *b64, size_t len)
{
	unsigned char buf[SECURITY_TOKEN_MAX];
	size_t n;

	if (sodium_base642bin(buf, sizeof(buf) - 1, b64, len, NULL, &n, NULL,
			      sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0)
		return NULL;
	return json_loadb((const char *)buf, n, JSON_REJECT_DUPLICATES, NULL);
}

/* base64url of {"alg":"HS256","typ":"JWT"}, the header libjwt writes on our tokens. */
static const char our_header[] = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9";

static int
check_header(const char *b64, size_t len, struct security_error *err)
{
	json_t *h, *alg, *typ;
	int r = 0;

	/* The same bytes as our own header: nothing to parse (the signature covers them). */
	if (len == sizeof(our_header) - 1 && memcmp(b64, our_header, len) == 0)
		return 0;
	h = part_json(b64, len);

	if (!json_is_object(h)) {
		r = refuse(err, "header is not base64url JSON");
		goto out;
	}
	/* RFC 8725 §3.1: accept exactly the one algorithm we use, never "none". */
	alg = json_object_get(h, "alg");
	if (!json_is_string(alg) || strcmp(json_string_value(alg), "HS256") != 0) {
		r = refuse(err, "alg must be HS256");
		goto out;
	}
	typ = json_object_get(h, "typ");
	if (typ && (!json_is_string(typ) || strcmp(json_string_value(typ), "JWT") != 0)) {
		r = refuse(err, "typ must be JWT");
		goto out;
	}
	/* RFC 7515 §4.1.11: extensions we do not understand must fail the token. */
	if (json_object_get(h, "crit")) {
		r = refuse(err, "crit header not supported");
		goto out;
	}
out:
	json_decref(h);
	return r;
}

static int
check_signature(const uint8_t key[SECURITY_KEY_LEN], const char *token, size_t signed_len,
		const char *sig, struct security_error *err)
{
	uint8_t mac[crypto_auth_hmacsha256_BYTES], got[crypto_auth_hmacsha256_BYTES + 1];
	crypto_auth_hmacsha256_state st;
	size_t n;

	if (sodium_base642bin(got, sizeof(got), sig, strlen(sig), NULL, &n, NULL,
			      sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
	    n != sizeof(mac))
		return refuse(err, "signature is not 32 bytes of base64url");
	crypto_auth_hmacsha256_init(&st, key, SECURITY_KEY_LEN);
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)token, signed_len);
	crypto_auth_hmacsha256_final(&st, mac);
	if (crypto_verify_32(mac, got) != 0)
		return refuse(err, "bad signature");
	return 0;
}

static bool
claim_string(json_t *p, const char *name, char *out, size_t len, bool required)
{
	json_t *v = json_object_get(p, name);

	if (v == NULL) {
		out[0] = '\0';
		return !required;
	}
	if (!json_is_string(v) || json_string_length(v) == 0 || json_string_length(v) >= len)
		return false;
	memcpy(out, json_string_value(v), json_string_length(v) + 1);
	return strlen(out) == json_string_length(v); /* no embedded NUL */
}

static bool
claim_int(json_t *p, const char *name, int64_t *out)
{
	json_t *v = json_object_get(p, name);

	if (!json_is_integer(v) || json_integer_value(v) < 0)
		return false;
	*out = json_integer_value(v);
	return true;
}

static int
read_claims(json_t *p, int64_t now, struct security_claims *c, struct security_error *err)
{
	char iss[16], scope[32];
	int64_t nbf;

	if (!json_is_object(p))
		return refuse(err, "payload is not base64url JSON");
	if (!claim_string(p, "iss", iss, sizeof(iss), true) || strcmp(iss, SECURITY_ISSUER) != 0)
		return refuse(err, "iss must be " SECURITY_ISSUER);
	if (!claim_string(p, "sub", c->sub, sizeof(c->sub), true) || !security_uuid_valid(c->sub))
		return refuse(err, "sub missing or not a user id");
	if (!claim_string(p, "name", c->name, sizeof(c->name), true))
		return refuse(err, "name missing");
	if (security_roles_from_json(json_object_get(p, "roles"), &c->roles) < 0)
		return refuse(err, "roles missing or unknown");
	if (!claim_string(p, "customer_id", c->customer_id, sizeof(c->customer_id), false))
		return refuse(err, "customer_id malformed");
	if (!claim_string(p, "jti", c->jti, sizeof(c->jti), true))
		return refuse(err, "jti missing");
	if (!claim_int(p, "iat", &c->iat) || !claim_int(p, "exp", &c->exp) ||
	    !claim_int(p, "nbf", &nbf) || !claim_int(p, "epoch", &c->epoch))
		return refuse(err, "iat, nbf, exp or epoch missing");
	if (!claim_string(p, "scope", scope, sizeof(scope), false))
		return refuse(err, "scope malformed");
	if (scope[0] && strcmp(scope, "password-change") != 0)
		return refuse(err, "unknown scope");
	c->password_change_only = scope[0] != '\0';
	/* RFC 7519 §4.1.4, §4.1.5. */
	if (c->exp <= now)
		return refuse(err, "expired");
	if (nbf > now + SECURITY_CLOCK_SKEW || c->iat > now + SECURITY_CLOCK_SKEW)
		return refuse(err, "not yet valid");
	if (c->exp <= c->iat)
		return refuse(err, "exp before iat");
	return 0;
}

int
security_jwt_verify(const uint8_t key[SECURITY_KEY_LEN], const char *token, int64_t now,
		    struct security_claims *ret, struct security_error *err)
{
	struct security_claims c = {0};
	const char *dot1, *dot2;
	json_t *payload;
	size_t len;
	int r;

	len = token ? strlen(token) : 0;
	if (len == 0 || len >= SECURITY_TOKEN_MAX)
		return refuse(err, "missing or too long");
	dot1 = strchr(token, '.');
	dot2 = dot1 ? strchr(dot1 + 1, '.') : NULL;
	if (dot1 == NULL || dot2 == NULL || strchr(dot2 + 1, '.') || dot1 == token ||
	    dot2 == dot1 + 1 || dot2[1] == '\0')
		return refuse(err, "not three non-empty parts (header.payload.signature)");
	r = check_header(token, (size_t)(dot1 - token), err);
	if (r)
		return r;
	r = check_signature(key, token, (size_t)(dot2 - token), dot2 + 1, err);
	if (r)
		return r;
	payload = part_json(dot1 + 1, (size_t)(dot2 - dot1 - 1));
	r = read_claims(payload, now, &c, err);
	json_decref(payload);
	if (r)
		return r;
	*ret = c;
	return 0;
}

/* ---- Refresh tokens --------------------------------------------------------- */

#define REFRESH_B64_LEN 43 /* 32 bytes, base64url without padding */

void
security_refresh_new(char ret_token[64], uint8_t ret_hash[SECURITY_HASH_LEN])
{
	uint8_t b[32];
	char b64[REFRESH_B64_LEN + 1];

	if (sodium_init() < 0)
		abort();
	randombytes_buf(b, sizeof(b));
	sodium_bin2base64(b64, sizeof(b64), b, sizeof(b), sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	snprintf(ret_token, 64, SECURITY_REFRESH_PREFIX "%s", b64);
	crypto_hash_sha256(ret_hash, (const unsigned char *)ret_token, strlen(ret_token));
	sodium_memzero(b, sizeof(b));
	sodium_memzero(b64, sizeof(b64));
}

int
security_refresh_hash(const char *token, uint8_t ret_hash[SECURITY_HASH_LEN])
{
	const size_t plen = strlen(SECURITY_REFRESH_PREFIX);
	uint8_t b[33];
	size_t n;

	if (token == NULL || strlen(token) != plen + REFRESH_B64_LEN ||
	    strncmp(token, SECURITY_REFRESH_PREFIX, plen) != 0)
		return -EINVAL;
	if (sodium_base642bin(b, sizeof(b), token + plen, REFRESH_B64_LEN, NULL, &n, NULL,
			      sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
	    n != 32)
		return -EINVAL;
	/* High-entropy secret: one SHA-256 suffices, no salt or stretching. */
	crypto_hash_sha256(ret_hash, (const unsigned char *)token, strlen(token));
	return 0;
}

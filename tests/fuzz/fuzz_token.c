/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libFuzzer target: the security domain's checks of a bearer credential, as
 * the gateway hands them what follows "Authorization: Bearer ", under a fixed
 * key and a fixed clock, without a database:
 *
 * - the input as a token: security_jwt_verify(), security_apikey_is() and
 *   security_apikey_parse(), security_refresh_hash();
 * - the input as "HEADER\nPAYLOAD" (two JSON texts, or anything): encoded as
 *   base64url and signed with the key, so that the fuzzer gets past the
 *   signature to the header and claim checks and to libjwt's decode.
 *
 * What must hold: a refusal is -EACCES "invalid-credentials" with a reason;
 * an accepted token has claims within their bounds (a user id, a name, known
 * roles, exp after the clock and after iat, nbf/iat within the skew); a
 * parsed API key has a valid id, and a key made by security_apikey_new()
 * parses back to its own hash.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "bss/core/principal.h"
#include "bss/security/model.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NOW 1700000000
#define ALL_ROLES ((1u << CUCO_ROLE_COUNT) - 1)

static const uint8_t key[SECURITY_KEY_LEN] = "cuco-fuzz-key-0123456789abcdef!";

static void
check_claims(const struct security_claims *c)
{
	if (!security_uuid_valid(c->sub) || c->name[0] == '\0' || c->jti[0] == '\0')
		abort();
	if (strnlen(c->name, sizeof(c->name)) == sizeof(c->name) ||
	    strnlen(c->customer_id, sizeof(c->customer_id)) == sizeof(c->customer_id) ||
	    strnlen(c->jti, sizeof(c->jti)) == sizeof(c->jti))
		abort();
	if ((c->roles & ~ALL_ROLES) != 0 || c->exp <= NOW || c->exp <= c->iat ||
	    c->iat > NOW + SECURITY_CLOCK_SKEW || c->iat < 0 || c->epoch < 0)
		abort();
}

static void
verify(const char *token)
{
	struct security_error err = {0};
	struct security_claims c;
	int r;

	memset(&c, 0x5a, sizeof(c));
	r = security_jwt_verify(key, token, NOW, &c, &err);
	if (r == 0) {
		check_claims(&c);
		return;
	}
	if (r != -EACCES || strcmp(err.code, "invalid-credentials") != 0 || err.message[0] == '\0')
		abort();
}

static void
credentials(const char *s)
{
	char id[SECURITY_UUID_LEN + 1], secret[SECURITY_APIKEY_MAX];
	uint8_t h[SECURITY_HASH_LEN], h2[SECURITY_HASH_LEN];

	if (security_apikey_parse(s, id, h) == 0) {
		if (!security_apikey_is(s) || !security_uuid_valid(id))
			abort();
		/* The same id gives the same hash only with the same secret. */
		security_apikey_new(id, secret, h2);
		if (security_hash_equal(h, h2) != (strcmp(s, secret) == 0))
			abort();
		if (security_apikey_parse(secret, id, h2) != 0)
			abort();
	}
	if (security_refresh_hash(s, h) == 0 &&
	    strncmp(s, SECURITY_REFRESH_PREFIX, strlen(SECURITY_REFRESH_PREFIX)) != 0)
		abort();
}

/* base64url(header).base64url(payload).base64url(HMAC-SHA256) of the two texts. */
static void
signed_token(const uint8_t *h, size_t hlen, const uint8_t *p, size_t plen)
{
	static char tok[SECURITY_TOKEN_MAX + 128];
	uint8_t mac[crypto_auth_hmacsha256_BYTES];
	size_t n, room = sizeof(tok);

	if (sodium_base64_ENCODED_LEN(hlen, sodium_base64_VARIANT_URLSAFE_NO_PADDING) +
		    sodium_base64_ENCODED_LEN(plen, sodium_base64_VARIANT_URLSAFE_NO_PADDING) +
		    sodium_base64_ENCODED_LEN(sizeof(mac), sodium_base64_VARIANT_URLSAFE_NO_PADDING) >
	    room)
		return;
	sodium_bin2base64(tok, room, h, hlen, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	n = strlen(tok);
	tok[n++] = '.';
	sodium_bin2base64(tok + n, room - n, p, plen, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	n += strlen(tok + n);
	crypto_auth_hmacsha256(mac, (const unsigned char *)tok, n, key);
	tok[n++] = '.';
	sodium_bin2base64(tok + n, room - n, mac, sizeof(mac),
			  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	verify(tok);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nl;
	char *s;

	if (sodium_init() < 0)
		abort();
	s = malloc(size + 1);
	if (s == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0'; /* a header value: NUL ends it */
	verify(s);
	credentials(s);
	free(s);
	nl = memchr(data, '\n', size);
	if (nl != NULL)
		signed_token(data, (size_t)(nl - data), nl + 1, size - (size_t)(nl - data) - 1);
	return 0;
}

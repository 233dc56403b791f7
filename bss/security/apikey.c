/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * API key material: "cuco_<key id>_<secret>", the secret 32 random bytes in
 * base64url (43 characters, which may themselves hold '_': the id, a UUID,
 * holds none, so the first '_' after the prefix ends it).
 *
 * Only BLAKE2b-256(id || ":" || secret) is stored. The secret has 256 bits of
 * entropy, so a fast hash is enough (no salt, no stretching); binding the id
 * means a stored hash cannot be moved to another key's row.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "bss/security/model.h"

#define SECRET_B64_LEN 43

static void
key_hash(const char *id, const char *secret, uint8_t ret[SECURITY_HASH_LEN])
{
	crypto_generichash_state st;

	crypto_generichash_init(&st, NULL, 0, SECURITY_HASH_LEN);
	crypto_generichash_update(&st, (const unsigned char *)id, strlen(id));
	crypto_generichash_update(&st, (const unsigned char *)":", 1);
	crypto_generichash_update(&st, (const unsigned char *)secret, strlen(secret));
	crypto_generichash_final(&st, ret, SECURITY_HASH_LEN);
}

void
security_apikey_new(const char *id, char ret_secret[SECURITY_APIKEY_MAX],
		    uint8_t ret_hash[SECURITY_HASH_LEN])
{
	char b64[SECRET_B64_LEN + 1];
	uint8_t b[32];

	if (sodium_init() < 0)
		abort();
	randombytes_buf(b, sizeof(b));
	sodium_bin2base64(b64, sizeof(b64), b, sizeof(b), sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	snprintf(ret_secret, SECURITY_APIKEY_MAX, SECURITY_APIKEY_PREFIX "%s_%s", id, b64);
	key_hash(id, b64, ret_hash);
	sodium_memzero(b, sizeof(b));
	sodium_memzero(b64, sizeof(b64));
}

bool
security_apikey_is(const char *bearer)
{
	return bearer && strncmp(bearer, SECURITY_APIKEY_PREFIX, strlen(SECURITY_APIKEY_PREFIX)) == 0;
}

int
security_apikey_parse(const char *bearer, char ret_id[SECURITY_UUID_LEN + 1],
		      uint8_t ret_hash[SECURITY_HASH_LEN])
{
	const size_t plen = strlen(SECURITY_APIKEY_PREFIX);
	char id[SECURITY_UUID_LEN + 1];
	const char *secret;
	uint8_t b[33];
	size_t n;

	if (!security_apikey_is(bearer) || strlen(bearer) != plen + SECURITY_UUID_LEN + 1 + SECRET_B64_LEN)
		return -EINVAL;
	memcpy(id, bearer + plen, SECURITY_UUID_LEN);
	id[SECURITY_UUID_LEN] = '\0';
	if (!security_uuid_valid(id) || bearer[plen + SECURITY_UUID_LEN] != '_')
		return -EINVAL;
	secret = bearer + plen + SECURITY_UUID_LEN + 1;
	if (sodium_base642bin(b, sizeof(b), secret, SECRET_B64_LEN, NULL, &n, NULL,
			      sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
	    n != 32)
		return -EINVAL;
	key_hash(id, secret, ret_hash);
	memcpy(ret_id, id, sizeof(id));
	return 0;
}

bool
security_hash_equal(const uint8_t a[SECURITY_HASH_LEN], const uint8_t b[SECURITY_HASH_LEN])
{
	return crypto_verify_32(a, b) == 0;
}

/* SPDX-License-Identifier: BSD-3-Clause */
/* Password hashing: argon2id (RFC 9106) through libsodium. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "bss/security/model.h"

int
security_pwcost_from(const struct security_config *cfg, struct security_pwcost *ret,
		     struct security_error *err)
{
	struct security_pwcost c = {
		.opslimit = cfg->pwhash_opslimit ? cfg->pwhash_opslimit
						 : crypto_pwhash_OPSLIMIT_INTERACTIVE,
		.memlimit = cfg->pwhash_memlimit ? cfg->pwhash_memlimit
						 : crypto_pwhash_MEMLIMIT_INTERACTIVE,
	};

	if (c.opslimit < crypto_pwhash_OPSLIMIT_MIN || c.opslimit > crypto_pwhash_OPSLIMIT_MAX)
		return security_fail(err, -EINVAL, "invalid-argument", "pwhash_opslimit",
				     "pwhash_opslimit: %llu is outside %llu..%llu", c.opslimit,
				     (unsigned long long)crypto_pwhash_OPSLIMIT_MIN,
				     (unsigned long long)crypto_pwhash_OPSLIMIT_MAX);
	if (c.memlimit < crypto_pwhash_MEMLIMIT_MIN || c.memlimit > crypto_pwhash_MEMLIMIT_MAX)
		return security_fail(err, -EINVAL, "invalid-argument", "pwhash_memlimit",
				     "pwhash_memlimit: %zu bytes is outside %zu..%zu", c.memlimit,
				     (size_t)crypto_pwhash_MEMLIMIT_MIN,
				     (size_t)crypto_pwhash_MEMLIMIT_MAX);
	*ret = c;
	return 0;
}

int
security_password_hash(const char *password, const struct security_pwcost *cost,
		       char ret[crypto_pwhash_STRBYTES])
{
	if (sodium_init() < 0)
		return -EIO;
	if (crypto_pwhash_str_alg(ret, password, strlen(password), cost->opslimit, cost->memlimit,
				  crypto_pwhash_ALG_ARGON2ID13) != 0)
		return -ENOMEM; /* libsodium's only failure here: the memory limit */
	return 0;
}

bool
security_password_verify(const char *hash, const char *password)
{
	if (sodium_init() < 0)
		return false;
	return crypto_pwhash_str_verify(hash, password, strlen(password)) == 0;
}

bool
security_password_needs_rehash(const char *hash, const struct security_pwcost *cost)
{
	static const char prefix[] = crypto_pwhash_argon2id_STRPREFIX;

	/* 1: other parameters, -1: not an argon2 hash at all; both mean rehash. */
	return strncmp(hash, prefix, sizeof(prefix) - 1) != 0 ||
	       crypto_pwhash_str_needs_rehash(hash, cost->opslimit, cost->memlimit) != 0;
}

void
security_password_random(char ret[32])
{
	uint8_t b[15];

	if (sodium_init() < 0)
		abort();
	randombytes_buf(b, sizeof(b));
	sodium_bin2base64(ret, 32, b, sizeof(b), sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	sodium_memzero(b, sizeof(b));
}

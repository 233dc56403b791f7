/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef CUCO_COMMON_ZCURVE_H
#define CUCO_COMMON_ZCURVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * CURVE keys for ZeroMQ links, kept as Z85 text files in a directory of the
 * state directory: NAME.public and NAME.secret (mode 0600), and
 * authorized_keys, one client public key a line ('#' comments), read by
 * the server at every handshake so that adding a client needs no restart.
 */

#define ZCURVE_KEY_LEN 41 /* Z85 text with its NUL */

/*
 * Load the keypair NAME from @dir, creating @dir (0700) and the pair if
 * missing. Returns 0, or a negative errno with @err naming the file.
 */
int zcurve_keypair(const char *dir, const char *name, char pub[ZCURVE_KEY_LEN],
		   char sec[ZCURVE_KEY_LEN], char *err, size_t errlen);

/* Read one Z85 key from @path. Returns 0 or a negative errno with @err. */
int zcurve_read_key(const char *path, char key[ZCURVE_KEY_LEN], char *err, size_t errlen);

/* true if the 32-byte public key @client is listed in @dir/authorized_keys. */
bool zcurve_authorized(const char *dir, const uint8_t client[32]);

#endif

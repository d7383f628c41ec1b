/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* CURVE key files, shared by the daemon and the client. A key is 32 bytes written as 40 Z85 characters
 * (ZeroMQ RFC 32). Every key file is "name = value" lines, '#' starting a comment line:
 *   PREFIX.key  (secret, mode 0600)   public-key = Z85 / secret-key = Z85
 *   PREFIX.pub  (public)              public-key = Z85
 *   NAME.client (the daemon's allow list) public-key = Z85 / tenant = USER-OR-UID
 * The value is everything after the first '=' (Z85 itself has '=' and '#'), blanks around it stripped. */

#include <stdbool.h>
#include <stddef.h>

#define CURVE_KEY_Z85_LEN  40
#define CURVE_KEY_Z85_SIZE (CURVE_KEY_Z85_LEN + 1)
#define CURVE_KEY_FILE_MAX 4096

/* True if s is exactly 40 characters of the Z85 alphabet. */
bool curve_key_is_z85(const char *s);

/* The value of the first "name = value" line in text: 0 with a malloc'd *ret, -ENOENT without such a line,
 * -ENOMEM. */
int curve_file_field(const char *text, const char *name, char **ret);

/* The key of the line `name` (public-key or secret-key) of text into ret: 0, -ENOENT (no such line) or
 * -EINVAL (not 40 Z85 characters). */
int curve_file_key(const char *text, const char *name, char ret[CURVE_KEY_Z85_SIZE]);

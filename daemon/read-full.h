/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stddef.h>

/* Read fd to its end, or to limit bytes, whichever comes first, into a new
 * NUL-terminated buffer (*ret, *ret_size bytes before the NUL). A caller that
 * must know whether there was more asks for limit + 1 and checks the size.
 * Returns 0 or a negative errno. */
int read_full_fd(int fd, size_t limit, char **ret, size_t *ret_size);

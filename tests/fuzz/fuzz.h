/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Shared by the libFuzzer targets. */

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

/* Not assert(): it must hold in every build type, and it must name the
 * property that broke so that a crash report reads on its own. */
#define fuzz_check(expr)                                                        \
        do {                                                                    \
                if (!(expr)) {                                                  \
                        fprintf(stderr, "%s:%d: property violated: %s\n",       \
                                __FILE__, __LINE__, #expr);                     \
                        abort();                                                \
                }                                                               \
        } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

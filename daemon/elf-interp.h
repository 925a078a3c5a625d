/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stddef.h>

/* The program interpreter (PT_INTERP, the dynamic loader) named by the ELF
 * file open at fd, into buf. Returns 0, -ENOEXEC when fd is not an ELF file
 * or names none (a static binary), or another negative errno. */
int elf_read_interp(int fd, char *buf, size_t size);

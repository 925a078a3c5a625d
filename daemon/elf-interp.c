/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Just enough ELF to find a program's dynamic loader: the kernel opens that
 * file for exec inside every execve() of the program (see manager.c). Both
 * classes, either byte order the host has; nothing else of the file is read. */

#include <elf.h>
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "elf-interp.h"
#include "util.h"

/* Beyond this many program headers the file is not one the loader runs. */
#define ELF_PHNUM_MAX 512u

static int read_exact(int fd, void *buf, size_t size, uint64_t offset) {
        ssize_t k;

        if (offset > INT64_MAX)
                return -ENOEXEC;
        k = pread(fd, buf, size, (off_t) offset);
        if (k < 0)
                return negative_errno();
        return (size_t) k == size ? 0 : -ENOEXEC;
}

/* The PT_INTERP segment's offset and size, from the program headers. */
static int find_interp(int fd, const unsigned char ident[EI_NIDENT], uint64_t *ret_offset, uint64_t *ret_size) {
        uint64_t phoff;
        unsigned phnum, phentsize;
        int r;

        if (ident[EI_CLASS] == ELFCLASS64) {
                Elf64_Ehdr eh;

                r = read_exact(fd, &eh, sizeof(eh), 0);
                if (r < 0)
                        return r;
                phoff = eh.e_phoff, phnum = eh.e_phnum, phentsize = eh.e_phentsize;
                if (phentsize != sizeof(Elf64_Phdr))
                        return -ENOEXEC;
        } else {
                Elf32_Ehdr eh;

                r = read_exact(fd, &eh, sizeof(eh), 0);
                if (r < 0)
                        return r;
                phoff = eh.e_phoff, phnum = eh.e_phnum, phentsize = eh.e_phentsize;
                if (phentsize != sizeof(Elf32_Phdr))
                        return -ENOEXEC;
        }
        if (phnum > ELF_PHNUM_MAX)
                return -ENOEXEC;

        for (unsigned i = 0; i < phnum; i++) {
                uint64_t at = phoff + (uint64_t) i * phentsize;

                if (ident[EI_CLASS] == ELFCLASS64) {
                        Elf64_Phdr ph;

                        r = read_exact(fd, &ph, sizeof(ph), at);
                        if (r < 0)
                                return r;
                        if (ph.p_type == PT_INTERP) {
                                *ret_offset = ph.p_offset, *ret_size = ph.p_filesz;
                                return 0;
                        }
                } else {
                        Elf32_Phdr ph;

                        r = read_exact(fd, &ph, sizeof(ph), at);
                        if (r < 0)
                                return r;
                        if (ph.p_type == PT_INTERP) {
                                *ret_offset = ph.p_offset, *ret_size = ph.p_filesz;
                                return 0;
                        }
                }
        }
        return -ENOEXEC;
}

int elf_read_interp(int fd, char *buf, size_t size) {
        unsigned char ident[EI_NIDENT];
        uint64_t offset, length;
        int r;

        r = read_exact(fd, ident, sizeof(ident), 0);
        if (r < 0)
                return r;
        if (memcmp(ident, ELFMAG, SELFMAG) != 0 || (ident[EI_CLASS] != ELFCLASS32 && ident[EI_CLASS] != ELFCLASS64))
                return -ENOEXEC;
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
        if (ident[EI_DATA] != ELFDATA2LSB)
                return -ENOEXEC;
#else
        if (ident[EI_DATA] != ELFDATA2MSB)
                return -ENOEXEC;
#endif

        r = find_interp(fd, ident, &offset, &length);
        if (r < 0)
                return r;
        /* A path with its NUL, as the kernel wants it (binfmt_elf). */
        if (length < 2 || length > size)
                return -ENOEXEC;
        r = read_exact(fd, buf, length, offset);
        if (r < 0)
                return r;
        if (buf[length - 1] != '\0' || memchr(buf, '\0', length - 1))
                return -ENOEXEC;
        return 0;
}

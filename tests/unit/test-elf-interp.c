/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "elf-interp.h"
#include "util.h"

/* The test binary itself is a dynamically linked ELF of this host. */
static void test_own_binary_names_its_loader(void **state) {
        _cleanup_close_ int fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
        char interp[PATH_MAX];

        assert_true(fd >= 0);
        assert_int_equal(elf_read_interp(fd, interp, sizeof(interp)), 0);
        assert_true(interp[0] == '/');
        assert_non_null(strstr(interp, "ld"));
        assert_int_equal(access(interp, X_OK), 0);
}

static int tmp_file(const void *data, size_t size) {
        char path[] = "/tmp/test-elf-interp-XXXXXX";
        int fd = mkstemp(path);

        assert_true(fd >= 0);
        (void) unlink(path);
        assert_int_equal(write(fd, data, size), (ssize_t) size);
        return fd;
}

static void test_not_elf(void **state) {
        static const char script[] = "#!/bin/sh\necho hi\n";
        _cleanup_close_ int fd = tmp_file(script, sizeof(script) - 1);
        _cleanup_close_ int empty = tmp_file("", 0);
        char interp[64];

        assert_int_equal(elf_read_interp(fd, interp, sizeof(interp)), -ENOEXEC);
        assert_int_equal(elf_read_interp(empty, interp, sizeof(interp)), -ENOEXEC);
}

/* A minimal 64-bit ELF: header, one program header, the interpreter string. */
typedef struct TinyElf {
        Elf64_Ehdr eh;
        Elf64_Phdr ph;
        char interp[32];
} TinyElf;

static TinyElf tiny_elf(uint32_t p_type, const char *interp) {
        TinyElf t = {};

        memcpy(t.eh.e_ident, ELFMAG, SELFMAG);
        t.eh.e_ident[EI_CLASS] = ELFCLASS64;
        t.eh.e_ident[EI_DATA] = ELFDATA2LSB;
        t.eh.e_phoff = offsetof(TinyElf, ph);
        t.eh.e_phnum = 1;
        t.eh.e_phentsize = sizeof(Elf64_Phdr);
        t.ph.p_type = p_type;
        t.ph.p_offset = offsetof(TinyElf, interp);
        t.ph.p_filesz = strlen(interp) + 1;
        (void) snprintf(t.interp, sizeof(t.interp), "%s", interp);
        return t;
}

static void test_tiny_elf(void **state) {
        TinyElf t = tiny_elf(PT_INTERP, "/lib/ld-tiny.so");
        _cleanup_close_ int fd = tmp_file(&t, sizeof(t));
        char interp[64];

        assert_int_equal(elf_read_interp(fd, interp, sizeof(interp)), 0);
        assert_string_equal(interp, "/lib/ld-tiny.so");
        /* Too small a buffer is an error, never a cut path. */
        assert_int_equal(elf_read_interp(fd, interp, 8), -ENOEXEC);
}

static void test_static_elf(void **state) {
        TinyElf t = tiny_elf(PT_LOAD, "/lib/ld-tiny.so");
        _cleanup_close_ int fd = tmp_file(&t, sizeof(t));
        char interp[64];

        assert_int_equal(elf_read_interp(fd, interp, sizeof(interp)), -ENOEXEC);
}

static void test_malformed_elf(void **state) {
        char interp[64];
        TinyElf t;

        /* The string without its NUL. */
        t = tiny_elf(PT_INTERP, "/lib/ld-tiny.so");
        t.ph.p_filesz = strlen("/lib/ld-tiny.so");
        {
                _cleanup_close_ int fd = tmp_file(&t, sizeof(t));
                assert_int_equal(elf_read_interp(fd, interp, sizeof(interp)), -ENOEXEC);
        }
        /* A NUL inside it. */
        t = tiny_elf(PT_INTERP, "/lib/ld-tiny.so");
        t.interp[4] = '\0';
        {
                _cleanup_close_ int fd = tmp_file(&t, sizeof(t));
                assert_int_equal(elf_read_interp(fd, interp, sizeof(interp)), -ENOEXEC);
        }
        /* Program headers past the end of the file. */
        t = tiny_elf(PT_INTERP, "/lib/ld-tiny.so");
        t.eh.e_phoff = 1u << 20;
        {
                _cleanup_close_ int fd = tmp_file(&t, sizeof(t));
                assert_int_equal(elf_read_interp(fd, interp, sizeof(interp)), -ENOEXEC);
        }
        /* A segment offset beyond any file. */
        t = tiny_elf(PT_INTERP, "/lib/ld-tiny.so");
        t.ph.p_offset = UINT64_MAX - 4;
        {
                _cleanup_close_ int fd = tmp_file(&t, sizeof(t));
                assert_int_equal(elf_read_interp(fd, interp, sizeof(interp)), -ENOEXEC);
        }
        /* A cut header. */
        t = tiny_elf(PT_INTERP, "/lib/ld-tiny.so");
        {
                _cleanup_close_ int fd = tmp_file(&t, sizeof(Elf64_Ehdr) - 8);
                assert_int_equal(elf_read_interp(fd, interp, sizeof(interp)), -ENOEXEC);
        }
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_own_binary_names_its_loader),
                cmocka_unit_test(test_not_elf),
                cmocka_unit_test(test_tiny_elf),
                cmocka_unit_test(test_static_elf),
                cmocka_unit_test(test_malformed_elf),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}

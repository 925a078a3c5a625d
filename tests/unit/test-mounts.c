/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mounts.h"
#include "util.h"

/* Exactly size bytes on the heap, no terminator: ASan catches any read past them. */
static char *exact_copy(const void *data, size_t size) {
        char *p = malloc(size > 0 ? size : 1);

        assert_non_null(p);
        memcpy(p, data, size);
        return p;
}

typedef struct Expected {
        unsigned major, minor;
        const char *path, *fstype;
} Expected;

static void check_parse(const char *text, size_t size, const Expected *expected, size_t n_expected) {
        _cleanup_free_ char *in = exact_copy(text, size);
        MountEntry *entries = NULL;
        size_t n = SIZE_MAX;

        assert_int_equal(mounts_parse(in, size, &entries, &n), 0);
        assert_int_equal(n, n_expected);
        for (size_t i = 0; i < n; i++) {
                assert_int_equal(entries[i].major, expected[i].major);
                assert_int_equal(entries[i].minor, expected[i].minor);
                assert_string_equal(entries[i].path, expected[i].path);
                assert_string_equal(entries[i].fstype, expected[i].fstype);
        }
        mounts_free(entries, n);
}

static void test_parse(void **state) {
        static const char t[] =
                "22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw,errors=remount-ro\n"
                "23 22 0:5 / /dev rw,nosuid - devtmpfs udev rw,size=10g\n"
                "24 22 0:22 / /mnt/with\\040space\\011tab\\012nl\\134bs rw - tmpfs tmpfs rw\n"
                /* A second mount of 8:1: the first mount point is kept. */
                "25 22 8:1 /sub /bind rw shared:1 - ext4 /dev/sda1 rw\n"
                "26 22 0:44 / /overlay rw master:2 propagation_from:1 unbindable - overlay overlay rw\n"
                /* No fstype after the separator, no separator, a short line: skipped. */
                "29 22 1:2 / /no-fstype rw -\n"
                "30 22 1:3 / /short\n"
                "31 22 1:4 / /no-separator rw a b c\n"
                "\n"
                /* Not an escape: kept as it is. */
                "32 22 1:5 / /bad\\9999 rw - a b c\n";
        static const Expected e[] = {
                { 8, 1, "/", "ext4" },
                { 0, 5, "/dev", "devtmpfs" },
                { 0, 22, "/mnt/with space\ttab\nnl\\bs", "tmpfs" },
                { 0, 44, "/overlay", "overlay" },
                { 1, 5, "/bad\\9999", "a" },
        };

        check_parse(t, sizeof(t) - 1, e, ELEMENTSOF(e));
}

/* The kernel ends every line with a newline, but a short read may not: the
 * last line is parsed all the same, and the parse stops at the end of the
 * buffer (mounts.c once stepped its cursor past it). */
static void test_parse_no_trailing_newline(void **state) {
        static const char t[] =
                "22 1 8:1 / / rw - ext4 /dev/sda1 rw\n"
                "23 22 0:5 / /dev\\040x rw - devtmpfs udev rw";
        static const Expected e[] = {
                { 8, 1, "/", "ext4" },
                { 0, 5, "/dev x", "devtmpfs" },
        };

        check_parse(t, sizeof(t) - 1, e, ELEMENTSOF(e));
        /* The same cut in the middle of the last line: that line is now
         * too short and skipped, the first one still there. */
        check_parse(t, strlen("22 1 8:1 / / rw - ext4 /dev/sda1 rw\n23 22 0:5 / /dev"), e, 1);
        /* An escape cut short by the end of its field is not undone. */
        check_parse("1 1 0:1 / /a\\04 rw - t s o", strlen("1 1 0:1 / /a\\04 rw - t s o"),
                    (const Expected[]) { { 0, 1, "/a\\04", "t" } }, 1);
}

static void test_parse_empty(void **state) {
        check_parse("", 0, NULL, 0);
        check_parse("\n\n\n", 3, NULL, 0);
        check_parse("garbage without newline", strlen("garbage without newline"), NULL, 0);
}

/* Every prefix of the real mountinfo: no failure, no over-read, never more
 * entries than the whole file gives. */
static void test_parse_self_prefixes(void **state) {
        _cleanup_close_ int fd = -EBADF;
        _cleanup_free_ char *buf = NULL;
        MountEntry *entries = NULL;
        size_t size = 0, n_full = 0;
        ssize_t k;

        buf = malloc(1u << 20);
        assert_non_null(buf);
        fd = open("/proc/self/mountinfo", O_RDONLY | O_CLOEXEC);
        assert_true(fd >= 0);
        while ((k = read(fd, buf + size, (1u << 20) - size)) > 0)
                size += (size_t) k;
        assert_true(k == 0);
        assert_true(size > 0);

        assert_int_equal(mounts_parse(buf, size, &entries, &n_full), 0);
        assert_true(n_full > 0);
        mounts_free(entries, n_full);

        for (size_t len = 0; len <= size; len += len < 512 ? 1 : 97) {
                _cleanup_free_ char *in = exact_copy(buf, len);
                size_t n = 0;

                entries = NULL;
                assert_int_equal(mounts_parse(in, len, &entries, &n), 0);
                assert_true(n <= n_full);
                mounts_free(entries, n);
        }
}

static void test_read(void **state) {
        MountEntry *entries = NULL;
        size_t n = 0;

        /* Mount points are given relative to our root: all absolute. */
        assert_int_equal(mounts_read(&entries, &n), 0);
        assert_true(n > 0);
        for (size_t i = 0; i < n; i++) {
                assert_true(entries[i].path[0] == '/');
                assert_true(entries[i].fstype[0] != '\0');
        }
        mounts_free(entries, n);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_parse),
                cmocka_unit_test(test_parse_no_trailing_newline),
                cmocka_unit_test(test_parse_empty),
                cmocka_unit_test(test_parse_self_prefixes),
                cmocka_unit_test(test_read),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}

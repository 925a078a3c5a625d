/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "hash.h"
#include "util.h"

#define SHA256_EMPTY "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define SHA256_ABC "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"

/* What hash_cache_sha256_fd() waits for before it caches a file (hash.c). */
#define SETTLE_SECONDS 2

static char tmpdir[] = "/tmp/test-hash-XXXXXX";

static int group_setup(void **state) {
        if (!mkdtemp(tmpdir))
                return -1;
        return hash_init() < 0 ? -1 : 0;
}

static int group_teardown(void **state) {
        char cmd[sizeof(tmpdir) + 16];

        (void) snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
        return system(cmd) == 0 ? 0 : -1;
}

/* Writes a file under tmpdir and returns an O_RDONLY fd to it. */
static int make_file(const char *name, const void *data, size_t size, char *ret_path, size_t path_size) {
        _cleanup_close_ int fd = -EBADF;
        char path[256];
        int rfd;

        (void) snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
        fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        assert_true(fd >= 0);
        assert_int_equal(write(fd, data, size), (ssize_t) size);

        rfd = open(path, O_RDONLY | O_CLOEXEC);
        assert_true(rfd >= 0);
        if (ret_path)
                (void) snprintf(ret_path, path_size, "%s", path);
        return rfd;
}

static void sha256sum_of(const char *path, char ret_hex[SHA256_HEX_SIZE]) {
        char cmd[512], line[256];
        FILE *f;

        (void) snprintf(cmd, sizeof(cmd), "sha256sum '%s'", path);
        f = popen(cmd, "r");
        assert_non_null(f);
        assert_non_null(fgets(line, sizeof(line), f));
        assert_int_equal(pclose(f), 0);

        assert_true(strlen(line) > 64 && line[64] == ' ');
        memcpy(ret_hex, line, 64);
        ret_hex[64] = '\0';
}

static void test_empty(void **state) {
        _cleanup_close_ int fd = make_file("empty", "", 0, NULL, 0);
        char hex[SHA256_HEX_SIZE];

        assert_int_equal(sha256_fd(fd, 0, hex), 0);
        assert_string_equal(hex, SHA256_EMPTY);
}

static void test_abc(void **state) {
        _cleanup_close_ int fd = make_file("abc", "abc", 3, NULL, 0);
        char hex[SHA256_HEX_SIZE];

        assert_int_equal(sha256_fd(fd, 3, hex), 0);
        assert_string_equal(hex, SHA256_ABC);
}

/* Larger than the 1 MiB read chunk, with and without a partial last chunk;
 * compared with coreutils. The fd's offset must not move. */
static void test_large_vs_sha256sum(void **state) {
        static const size_t sizes[] = { 3u << 20, (3u << 20) + 7 };

        for (size_t i = 0; i < ELEMENTSOF(sizes); i++) {
                _cleanup_free_ uint8_t *data = malloc(sizes[i]);
                _cleanup_close_ int fd = -EBADF;
                char path[256], name[32], hex[SHA256_HEX_SIZE], expected[SHA256_HEX_SIZE];
                uint32_t x = 2463534242u;

                assert_non_null(data);
                for (size_t k = 0; k < sizes[i]; k++) {
                        x ^= x << 13;
                        x ^= x >> 17;
                        x ^= x << 5;
                        data[k] = (uint8_t) x;
                }

                (void) snprintf(name, sizeof(name), "large-%zu", i);
                fd = make_file(name, data, sizes[i], path, sizeof(path));
                assert_int_equal(lseek(fd, 5, SEEK_SET), 5);

                assert_int_equal(sha256_fd(fd, UINT64_MAX, hex), 0);
                sha256sum_of(path, expected);
                assert_string_equal(hex, expected);
                assert_int_equal(lseek(fd, 0, SEEK_CUR), 5);
        }
}

static void test_efbig(void **state) {
        _cleanup_close_ int fd = make_file("hundred", "0123456789012345678901234567890123456789"
                                           "0123456789012345678901234567890123456789"
                                           "01234567890123456789", 100, NULL, 0);
        char hex[SHA256_HEX_SIZE] = "untouched";

        assert_int_equal(sha256_fd(fd, 99, hex), -EFBIG);
        assert_string_equal(hex, "untouched");
        assert_int_equal(sha256_fd(fd, 0, hex), -EFBIG);
        assert_int_equal(sha256_fd(fd, 100, hex), 0);
        assert_int_equal(strlen(hex), 64);
}

static void test_read_error(void **state) {
        _cleanup_close_ int fd = -EBADF;
        char path[256], hex[SHA256_HEX_SIZE] = "untouched";

        (void) close(make_file("wronly", "abc", 3, path, sizeof(path)));
        fd = open(path, O_WRONLY | O_CLOEXEC);
        assert_true(fd >= 0);

        assert_int_equal(sha256_fd(fd, UINT64_MAX, hex), -EBADF);
        assert_string_equal(hex, "untouched");
        assert_int_equal(sha256_fd(-1, UINT64_MAX, hex), -EBADF);
}

static void test_cache_new(void **state) {
        HashCache *c = NULL;

        assert_int_equal(hash_cache_new(0, &c), -EINVAL);
        assert_null(c);
        assert_int_equal(hash_cache_new(SIZE_MAX, &c), -EINVAL);
        assert_null(c);
        assert_int_equal(hash_cache_new(3, &c), 0);
        assert_non_null(c);
        assert_int_equal(hash_cache_hits(c), 0);
        assert_int_equal(hash_cache_misses(c), 0);
        assert_null(hash_cache_free(c));
        assert_null(hash_cache_free(NULL));
}

static void test_cache_hit_miss(void **state) {
        _cleanup_close_ int fd = make_file("stamp", "abc", 3, NULL, 0);
        HashCache *c = NULL;
        char hex[SHA256_HEX_SIZE];
        FileStamp stamp;
        struct stat st;

        assert_int_equal(hash_cache_new(64, &c), 0);
        assert_int_equal(fstat(fd, &st), 0);
        file_stamp_from_stat(&st, &stamp);
        assert_int_equal(stamp.dev, (uint64_t) st.st_dev);
        assert_int_equal(stamp.ino, (uint64_t) st.st_ino);
        assert_int_equal(stamp.size, 3);
        assert_true(stamp.mtime_ns == (int64_t) st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec);
        assert_true(stamp.ctime_ns == (int64_t) st.st_ctim.tv_sec * 1000000000 + st.st_ctim.tv_nsec);

        assert_false(hash_cache_lookup(c, &stamp, hex));
        assert_int_equal(hash_cache_misses(c), 1);
        assert_int_equal(hash_cache_hits(c), 0);

        hash_cache_store(c, &stamp, SHA256_ABC);
        assert_true(hash_cache_lookup(c, &stamp, hex));
        assert_string_equal(hex, SHA256_ABC);
        assert_true(hash_cache_lookup(c, &stamp, hex));
        assert_int_equal(hash_cache_hits(c), 2);
        assert_int_equal(hash_cache_misses(c), 1);

        hash_cache_clear(c);
        assert_false(hash_cache_lookup(c, &stamp, hex));
        assert_int_equal(hash_cache_misses(c), 2);

        hash_cache_free(c);
}

static void test_cache_mtime_misses(void **state) {
        _cleanup_close_ int fd = make_file("mtime", "abc", 3, NULL, 0);
        const struct timespec times[2] = {
                { .tv_nsec = UTIME_OMIT },
                { .tv_sec = 1000000000, .tv_nsec = 42 },
        };
        HashCache *c = NULL;
        char hex[SHA256_HEX_SIZE], path[256];
        FileStamp before, after;
        struct stat st;

        assert_int_equal(hash_cache_new(64, &c), 0);
        assert_int_equal(fstat(fd, &st), 0);
        file_stamp_from_stat(&st, &before);
        hash_cache_store(c, &before, SHA256_ABC);

        (void) snprintf(path, sizeof(path), "%s/mtime", tmpdir);
        assert_int_equal(utimensat(AT_FDCWD, path, times, 0), 0);
        assert_int_equal(fstat(fd, &st), 0);
        file_stamp_from_stat(&st, &after);
        assert_true(after.mtime_ns == INT64_C(1000000000) * 1000000000 + 42);

        assert_false(hash_cache_lookup(c, &after, hex));
        assert_int_equal(hash_cache_misses(c), 1);
        assert_true(hash_cache_lookup(c, &before, hex));

        /* Each field on its own is part of the key. */
        for (int field = 0; field < 5; field++) {
                FileStamp s = before;

                switch (field) {
                case 0: s.dev++; break;
                case 1: s.ino++; break;
                case 2: s.size++; break;
                case 3: s.mtime_ns++; break;
                case 4: s.ctime_ns++; break;
                }
                assert_false(hash_cache_lookup(c, &s, hex));
        }

        hash_cache_free(c);
}

static void test_cache_collision_replaces(void **state) {
        const FileStamp a = { .dev = 1, .ino = 10, .size = 3 }, b = { .dev = 1, .ino = 11, .size = 3 };
        HashCache *c = NULL;
        char hex[SHA256_HEX_SIZE];

        /* One slot: every stamp collides with every other. */
        assert_int_equal(hash_cache_new(1, &c), 0);

        hash_cache_store(c, &a, SHA256_ABC);
        assert_true(hash_cache_lookup(c, &a, hex));
        assert_string_equal(hex, SHA256_ABC);

        hash_cache_store(c, &b, SHA256_EMPTY);
        assert_false(hash_cache_lookup(c, &a, hex));
        assert_true(hash_cache_lookup(c, &b, hex));
        assert_string_equal(hex, SHA256_EMPTY);

        assert_int_equal(hash_cache_hits(c), 2);
        assert_int_equal(hash_cache_misses(c), 1);
        hash_cache_free(c);
}

/* A file nobody changed for a while: the cache stores only those. Prefers a
 * system file; else makes one and waits. */
static int open_settled_file(void) {
        static const char *const candidates[] = { "/bin/sh", "/usr/bin/env", "/etc/hostname" };
        struct timespec now;
        struct stat st;
        int fd;

        assert_int_equal(clock_gettime(CLOCK_REALTIME, &now), 0);
        for (size_t i = 0; i < ELEMENTSOF(candidates); i++) {
                fd = open(candidates[i], O_RDONLY | O_CLOEXEC);
                if (fd < 0)
                        continue;
                if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
                    st.st_ctim.tv_sec + SETTLE_SECONDS + 1 < now.tv_sec)
                        return fd;
                (void) close(fd);
        }

        fd = make_file("settled", "abc", 3, NULL, 0);
        (void) sleep(SETTLE_SECONDS + 1);
        return fd;
}

static void test_cache_sha256_fd(void **state) {
        _cleanup_close_ int fd = open_settled_file();
        char hex[SHA256_HEX_SIZE], cached[SHA256_HEX_SIZE], direct[SHA256_HEX_SIZE];
        HashCache *c = NULL;
        struct stat st, st2;

        assert_int_equal(hash_cache_new(16, &c), 0);
        assert_int_equal(sha256_fd(fd, UINT64_MAX, direct), 0);

        assert_int_equal(hash_cache_sha256_fd(c, fd, UINT64_MAX, hex, &st), 0);
        assert_string_equal(hex, direct);
        assert_int_equal(hash_cache_misses(c), 1);
        assert_int_equal(hash_cache_hits(c), 0);
        assert_int_equal(fstat(fd, &st2), 0);
        assert_int_equal(st.st_ino, st2.st_ino);
        assert_int_equal(st.st_dev, st2.st_dev);

        assert_int_equal(hash_cache_sha256_fd(c, fd, UINT64_MAX, cached, NULL), 0);
        assert_string_equal(cached, direct);
        assert_int_equal(hash_cache_misses(c), 1);
        assert_int_equal(hash_cache_hits(c), 1);

        hash_cache_free(c);
}

/* A file changed a moment ago could change again without its stamp changing:
 * it is hashed, but not cached, and a same-size rewrite gives the new hash. */
static void test_cache_fresh_file_not_cached(void **state) {
        _cleanup_close_ int fd = make_file("fresh", "abc", 3, NULL, 0);
        char hex[SHA256_HEX_SIZE], path[256];
        HashCache *c = NULL;
        int wfd;

        assert_int_equal(hash_cache_new(16, &c), 0);
        assert_int_equal(hash_cache_sha256_fd(c, fd, UINT64_MAX, hex, NULL), 0);
        assert_string_equal(hex, SHA256_ABC);
        assert_int_equal(hash_cache_sha256_fd(c, fd, UINT64_MAX, hex, NULL), 0);
        assert_int_equal(hash_cache_misses(c), 2);
        assert_int_equal(hash_cache_hits(c), 0);

        (void) snprintf(path, sizeof(path), "%s/fresh", tmpdir);
        wfd = open(path, O_WRONLY | O_CLOEXEC);
        assert_true(wfd >= 0);
        assert_int_equal(pwrite(wfd, "xyz", 3, 0), 3);
        (void) close(wfd);

        assert_int_equal(hash_cache_sha256_fd(c, fd, UINT64_MAX, hex, NULL), 0);
        assert_string_not_equal(hex, SHA256_ABC);
        hash_cache_free(c);
}

static void test_cache_sha256_fd_efbig(void **state) {
        _cleanup_close_ int fd = make_file("big", "abcd", 4, NULL, 0);
        char hex[SHA256_HEX_SIZE] = "untouched";
        struct stat st = { .st_ino = 4242 };
        HashCache *c = NULL;

        assert_int_equal(hash_cache_new(16, &c), 0);
        assert_int_equal(hash_cache_sha256_fd(c, fd, 3, hex, &st), -EFBIG);
        assert_string_equal(hex, "untouched");
        assert_int_equal(st.st_ino, 4242);
        hash_cache_free(c);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_empty),
                cmocka_unit_test(test_abc),
                cmocka_unit_test(test_large_vs_sha256sum),
                cmocka_unit_test(test_efbig),
                cmocka_unit_test(test_read_error),
                cmocka_unit_test(test_cache_new),
                cmocka_unit_test(test_cache_hit_miss),
                cmocka_unit_test(test_cache_mtime_misses),
                cmocka_unit_test(test_cache_collision_replaces),
                cmocka_unit_test(test_cache_sha256_fd),
                cmocka_unit_test(test_cache_fresh_file_not_cached),
                cmocka_unit_test(test_cache_sha256_fd_efbig),
        };

        return cmocka_run_group_tests(tests, group_setup, group_teardown);
}

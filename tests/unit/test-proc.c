/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "proc.h"
#include "util.h"

static const char *arg0;

/* Exactly size bytes on the heap, no terminator: ASan catches any read past them. */
static char *exact_copy(const void *data, size_t size) {
        char *p = malloc(size > 0 ? size : 1);

        assert_non_null(p);
        memcpy(p, data, size);
        return p;
}

static void check_cmdline(const char *buf, size_t size, const char *expected) {
        _cleanup_free_ char *in = exact_copy(buf, size), *out = NULL;

        assert_int_equal(cmdline_from_nulsep(in, size, &out), 0);
        assert_string_equal(out, expected);
}

static void test_cmdline_from_nulsep(void **state) {
        char *out = NULL;

        check_cmdline("ls\0-l\0/tmp\0", 11, "ls -l /tmp");
        check_cmdline("ls\0-l\0/tmp", 10, "ls -l /tmp");
        check_cmdline("a\0\0b\0", 5, "a  b");              /* an empty argument stays visible */
        check_cmdline("a\0b\0\0\0", 6, "a b");             /* trailing NULs are all dropped */
        check_cmdline("\0\0\0", 3, "");
        check_cmdline("", 0, "");
        check_cmdline("\0x", 2, " x");
        check_cmdline("one argument", 12, "one argument");

        assert_int_equal(cmdline_from_nulsep(NULL, 0, &out), 0);
        assert_string_equal(out, "");
        free(out);
}

static size_t read_file(const char *path, char *buf, size_t size) {
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
        size_t n = 0;
        ssize_t k;

        assert_true(fd >= 0);
        while (n < size && (k = read(fd, buf + n, size - n)) > 0)
                n += (size_t) k;
        return n;
}

static void check_self(const ProcStatus *s) {
        char comm[64];
        size_t n;

        assert_int_equal(s->ppid, getppid());
        assert_int_equal(s->uid_real, getuid());
        assert_int_equal(s->uid_effective, geteuid());
        assert_int_equal(s->gid_real, getgid());
        assert_int_equal(s->gid_effective, getegid());
        assert_int_equal(s->state, 'R');

        n = read_file("/proc/self/comm", comm, sizeof(comm) - 1);
        assert_true(n > 0 && comm[n - 1] == '\n');
        comm[n - 1] = '\0';
        assert_string_equal(s->name, comm);
}

static void test_status_parse_self(void **state) {
        char buf[16384];
        _cleanup_free_ char *text = NULL;
        ProcStatus s;
        size_t n;

        n = read_file("/proc/self/status", buf, sizeof(buf));
        text = exact_copy(buf, n);
        assert_int_equal(proc_status_parse(text, n, &s), 0);
        check_self(&s);
}

static void test_status_read_self(void **state) {
        ProcStatus s;

        assert_int_equal(proc_read_status(getpid(), &s), 0);
        check_self(&s);
}

/* Every prefix of a real status: never a crash or an over-read, and the
 * result depends only on whether the PPid and Uid lines are complete. */
static void test_status_parse_truncated(void **state) {
        char buf[16384];
        const char *uid_line, *uid_end;
        ProcStatus s, full;
        size_t n, uid_off, uid_end_off;

        n = read_file("/proc/self/status", buf, sizeof(buf) - 1);
        buf[n] = '\0';
        assert_int_equal(proc_status_parse(buf, n, &full), 0);

        /* The kernel prints PPid before Uid. */
        assert_true(strstr(buf, "\nPPid:") < strstr(buf, "\nUid:"));
        uid_line = strstr(buf, "\nUid:") + 1;
        uid_end = strchr(uid_line, '\n');
        assert_non_null(uid_end);
        uid_off = (size_t) (uid_line - buf);
        uid_end_off = (size_t) (uid_end - buf);

        for (size_t len = 0; len <= n; len++) {
                _cleanup_free_ char *text = exact_copy(buf, len);
                int r = proc_status_parse(text, len, &s);

                if (len >= uid_end_off) {
                        assert_int_equal(r, 0);
                        assert_int_equal(s.ppid, full.ppid);
                        assert_int_equal(s.uid_fs, full.uid_fs);
                } else if (len < uid_off + strlen("Uid:\t0\t0\t0\t0"))
                        assert_int_equal(r, -EBADMSG);
                else
                        /* The last Uid field may be cut to fewer digits and still parse. */
                        assert_true(r == 0 || r == -EBADMSG);
        }
}

static void test_status_parse_no_nul(void **state) {
        static const char t[] = "Name:\t my prog\nState:\tS (sleeping)\nPPid:\t7\nUid:\t1\t2\t3\t4";
        _cleanup_free_ char *text = exact_copy(t, sizeof(t) - 1);
        ProcStatus s;

        assert_int_equal(proc_status_parse(text, sizeof(t) - 1, &s), 0);
        assert_string_equal(s.name, " my prog");
        assert_int_equal(s.state, 'S');
        assert_int_equal(s.ppid, 7);
        assert_int_equal(s.uid_real, 1);
        assert_int_equal(s.uid_effective, 2);
        assert_int_equal(s.uid_saved, 3);
        assert_int_equal(s.uid_fs, 4);
        /* No Gid line: unknown. */
        assert_int_equal(s.gid_real, (gid_t) -1);
        assert_int_equal(s.gid_fs, (gid_t) -1);
}

static void test_status_parse_missing_ppid(void **state) {
        static const char t[] = "Name:\tx\nState:\tR (running)\nUid:\t0\t0\t0\t0\nGid:\t0\t0\t0\t0\n";
        ProcStatus s = { .ppid = 4242 };

        assert_int_equal(proc_status_parse(t, sizeof(t) - 1, &s), -EBADMSG);
        assert_int_equal(s.ppid, 4242);         /* untouched on failure */
        assert_int_equal(proc_status_parse(t, 0, &s), -EBADMSG);
        assert_int_equal(proc_status_parse(NULL, 0, &s), -EBADMSG);
}

static void test_status_parse_malformed(void **state) {
        static const char *const bad[] = {
                "PPid:\t-1\nUid:\t0\t0\t0\t0\n",
                "PPid:\t+1\nUid:\t0\t0\t0\t0\n",
                "PPid:\t2147483648\nUid:\t0\t0\t0\t0\n",
                "PPid:\t99999999999999999999999\nUid:\t0\t0\t0\t0\n",
                "PPid:\t12abc\nUid:\t0\t0\t0\t0\n",
                "PPid:\t0x10\nUid:\t0\t0\t0\t0\n",
                "PPid:\t\nUid:\t0\t0\t0\t0\n",
                "PPid:\t1\nUid:\t0\t0\t0\n",
                "PPid:\t1\nUid:\t0\t0\t0\t0\t0\n",
                "PPid:\t1\nUid:\t4294967296\t0\t0\t0\n",
                "PPid:\t1\nUid:\n",
                "PPid:\t1\nUid 0 0 0 0\n",
                "PPid:\t1\nuid:\t0\t0\t0\t0\n",
                "PPid:\t1\nXUid:\t0\t0\t0\t0\n",
        };
        static const char good[] = "PPid:\t2147483647\nUid:\t4294967295\t0\t0\t0   \nGid:\tjunk\n";
        ProcStatus s;

        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                _cleanup_free_ char *text = exact_copy(bad[i], strlen(bad[i]));

                if (proc_status_parse(text, strlen(bad[i]), &s) != -EBADMSG)
                        fail_msg("accepted: %s", bad[i]);
        }

        assert_int_equal(proc_status_parse(good, sizeof(good) - 1, &s), 0);
        assert_int_equal(s.ppid, INT32_MAX);
        assert_int_equal(s.uid_real, 4294967295u);
        assert_int_equal(s.gid_real, (gid_t) -1);       /* a bad Gid line leaves the gids unknown */
        assert_int_equal(s.state, '?');
        assert_string_equal(s.name, "");
}

static void test_status_parse_name(void **state) {
        char t[256];
        ProcStatus s;
        int n;

        /* Longer than the field: cut, terminated. */
        n = snprintf(t, sizeof(t), "Name:\t%s\nPPid:\t1\nUid:\t0\t0\t0\t0\n",
                     "0123456789012345678901234567890123456789012345678901234567890123456789");
        assert_int_equal(proc_status_parse(t, (size_t) n, &s), 0);
        assert_int_equal(strlen(s.name), sizeof(s.name) - 1);
        assert_memory_equal(s.name, "0123456789", 10);

        /* The first line of a key counts. */
        n = snprintf(t, sizeof(t), "Name:\tfirst\nName:\tsecond\nPPid:\t1\nPPid:\t2\nUid:\t0\t0\t0\t0\n");
        assert_int_equal(proc_status_parse(t, (size_t) n, &s), 0);
        assert_string_equal(s.name, "first");
        assert_int_equal(s.ppid, 1);
}

static void test_status_parse_garbage(void **state) {
        static const char alphabet[] = "PPidUuGgNnameState:\t\n 0123456789-+x\0\377";
        uint32_t x = 88172645u;

        for (int i = 0; i < 20000; i++) {
                char buf[96];
                size_t len;
                ProcStatus s;
                _cleanup_free_ char *text = NULL;

                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                len = x % sizeof(buf);
                for (size_t k = 0; k < len; k++) {
                        x ^= x << 13;
                        x ^= x >> 17;
                        x ^= x << 5;
                        /* Mostly bytes of the format, sometimes any byte. */
                        buf[k] = (x & 7) == 0 ? (char) (x >> 8) : alphabet[(x >> 8) % (sizeof(alphabet) - 1)];
                }

                text = exact_copy(buf, len);
                int r = proc_status_parse(text, len, &s);
                assert_true(r == 0 || r == -EBADMSG);
                if (r == 0)
                        assert_true(s.ppid >= 0);
        }
}

static void test_read_cmdline_self(void **state) {
        _cleanup_free_ char *c = NULL;

        assert_int_equal(proc_read_cmdline(getpid(), &c), 0);
        assert_non_null(strstr(c, arg0));
        assert_int_equal(strncmp(c, arg0, strlen(arg0)), 0);
        assert_true(c[strlen(arg0)] == '\0' || c[strlen(arg0)] == ' ');
}

static void test_dead_pid(void **state) {
        _cleanup_free_ char *c = NULL, *link = NULL;
        char path[64];
        ProcStatus s;
        pid_t pid;
        int status;

        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0)
                _exit(0);
        assert_int_equal(waitpid(pid, &status, 0), pid);

        assert_int_equal(proc_read_cmdline(pid, &c), -ESRCH);
        assert_null(c);
        assert_int_equal(proc_read_status(pid, &s), -ESRCH);
        (void) snprintf(path, sizeof(path), "/proc/%d/exe", (int) pid);
        assert_int_equal(proc_readlink(path, &link), -ESRCH);
        assert_null(link);

        assert_int_equal(proc_read_cmdline(0, &c), -EINVAL);
        assert_int_equal(proc_read_cmdline(-1, &c), -EINVAL);
}

static void test_readlink(void **state) {
        _cleanup_free_ char *exe = NULL, *expected = NULL, *got = NULL;
        char dir[] = "/tmp/test-proc-XXXXXX", link[64], target[PATH_MAX];

        assert_int_equal(proc_readlink("/proc/self/exe", &exe), 0);
        expected = realpath("/proc/self/exe", NULL);
        assert_non_null(expected);
        assert_string_equal(exe, expected);

        assert_int_equal(proc_readlink("/proc/self/fd/99999", &got), -ENOENT);
        assert_int_equal(proc_readlink("/nonexistent/link", &got), -ENOENT);
        assert_null(got);

        /* Targets around the first buffer sizes, and the longest Linux allows. */
        static const size_t lengths[] = { 1, 254, 255, 256, 257, 511, 512, 513, 1024, 2048, 4095 };
        assert_non_null(mkdtemp(dir));
        (void) snprintf(link, sizeof(link), "%s/l", dir);
        for (size_t i = 0; i < ELEMENTSOF(lengths); i++) {
                size_t len = lengths[i];

                memset(target, 'a', len);
                target[0] = '/';
                target[len] = '\0';
                (void) unlink(link);
                assert_int_equal(symlink(target, link), 0);

                assert_int_equal(proc_readlink(link, &got), 0);
                assert_int_equal(strlen(got), len);
                assert_string_equal(got, target);
                free(TAKE_PTR(got));
        }
        (void) unlink(link);
        (void) rmdir(dir);
}

int main(int argc, char *argv[]) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_cmdline_from_nulsep),
                cmocka_unit_test(test_status_parse_self),
                cmocka_unit_test(test_status_read_self),
                cmocka_unit_test(test_status_parse_truncated),
                cmocka_unit_test(test_status_parse_no_nul),
                cmocka_unit_test(test_status_parse_missing_ppid),
                cmocka_unit_test(test_status_parse_malformed),
                cmocka_unit_test(test_status_parse_name),
                cmocka_unit_test(test_status_parse_garbage),
                cmocka_unit_test(test_read_cmdline_self),
                cmocka_unit_test(test_dead_pid),
                cmocka_unit_test(test_readlink),
        };

        arg0 = argv[0];
        return cmocka_run_group_tests(tests, NULL, NULL);
}

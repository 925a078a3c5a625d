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
 *   range, absolute paths, lowercase hashes, a match field in every rule);
 * - a rule without glob characters matches the exec it describes, and a
 *   judgement points into the rule list it names. */

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

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
        fuzz_check(!rule->sha256 || is_lower_hex64(rule->sha256));
        fuzz_check(rule->filename || rule->cmdline || rule->parent_cmdline || rule->sha256 || rule->has_uid);
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
        Judgement j;

        /* An exact filename is compared as a string (a backslash in it is no
         * escape); a glob one needs the glob test. */
        if (rule->filename && glob_is_pattern(rule->filename))
                return;
        if (!glob_matches_itself(rule->cmdline) || !glob_matches_itself(rule->parent_cmdline))
                return;

        subject = (ExecSubject) {
                .filename = rule->filename ?: "/usr/bin/true",
                .cmdline = rule->cmdline ?: "true",
                .parent_cmdline = rule->parent_cmdline ?: "bash",
                .sha256 = rule->sha256,
                .uid = rule->has_uid ? rule->uid : 0,
        };

        fuzz_check(rule_matches(rule, &subject));

        check_judgement(c, &subject, &j);
        if (in_allowlist)
                fuzz_check(j.list == RULE_LIST_ALLOW && j.rule <= rule);
        else
                fuzz_check(j.list == RULE_LIST_ALLOW || (j.list == RULE_LIST_BLOCK && j.rule <= rule));
}

static void check_config(const HipsConfig *c) {
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
                },
                {
                        /* Everything unknown: the parent vanished, nothing hashed. */
                        .filename = NULL,
                        .uid = 65534,
                },
        };
        const char *s;

        s = hips_mode_to_string(c->mode);
        fuzz_check(s && hips_mode_from_string(s) == (int) c->mode);
        s = hips_gate_to_string(c->gate);
        fuzz_check(s && hips_gate_from_string(s) == (int) c->gate);
        s = fail_action_to_string(c->fail_action);
        fuzz_check(s && fail_action_from_string(s) == (int) c->fail_action);

        fuzz_check(c->decision_timeout_ms >= 1 && c->decision_timeout_ms <= 60000);
        fuzz_check(c->hash_max_bytes >= 1);

        fuzz_check(c->kernel_allowlist || c->n_kernel_allowlist == 0);
        for (size_t i = 0; i < c->n_kernel_allowlist; i++) {
                fuzz_check(c->kernel_allowlist[i] && c->kernel_allowlist[i][0] == '/');
                fuzz_check(strlen(c->kernel_allowlist[i]) <= CONFIG_MAX_STRING);
        }

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

/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <assert.h>
#include <fnmatch.h>
#include <stdio.h>
#include <strings.h>
#include <sys/stat.h>

#include "rules.h"
#include "util.h"

bool glob_is_pattern(const char *s) {
        assert(s);

        return strpbrk(s, "*?[") != NULL;
}

static bool glob_matches(const char *pattern, const char *s) {
        /* A set field never matches what we do not know: a rule that names a
         * parent must not fire (or exempt) when the parent is unknown. */
        if (!s)
                return false;

        /* No FNM_PATHNAME: '*' crosses '/', so a trailing star covers a
         * whole directory tree and "* --evil*" any argument position. */
        return fnmatch(pattern, s, 0) == 0;
}

static bool filename_matches(const HipsRule *rule, const ExecSubject *subject) {
        /* The same inode is the same program whatever path reached it: this
         * is what makes a hard link or a symlink to a listed file match. */
        if (rule->has_identity && subject->has_identity &&
            rule->dev == subject->dev && rule->ino == subject->ino)
                return true;

        if (!subject->filename)
                return false;

        /* An exact filename is compared as a string, the way stat() in
         * rules_resolve_identities() reads it: passing it through fnmatch()
         * would give a backslash in the path a meaning it does not have. */
        if (!glob_is_pattern(rule->filename))
                return streq(rule->filename, subject->filename);

        return glob_matches(rule->filename, subject->filename);
}

bool rule_matches(const HipsRule *rule, const ExecSubject *subject) {
        assert(rule);
        assert(subject);

        if (rule->filename && !filename_matches(rule, subject))
                return false;

        if (rule->cmdline && !glob_matches(rule->cmdline, subject->cmdline))
                return false;

        if (rule->parent_cmdline && !glob_matches(rule->parent_cmdline, subject->parent_cmdline))
                return false;

        /* The config parser lowercases rule hashes, but a subject's hash may
         * come from elsewhere (a cache, a bus call): do not depend on its case. */
        if (rule->sha256 && streq(rule->sha256, "unhashed")) {
                if (subject->sha256)
                        return false;
        } else if (rule->sha256 && !(subject->sha256 && strcasecmp(rule->sha256, subject->sha256) == 0))
                return false;

        if (rule->has_uid && rule->uid != subject->uid)
                return false;

        return true;
}

static bool rules_find(const HipsRule *rules, size_t n, const ExecSubject *subject, size_t *ret_index) {
        for (size_t i = 0; i < n; i++)
                if (rule_matches(&rules[i], subject)) {
                        *ret_index = i;
                        return true;
                }

        return false;
}

void rules_judge(const HipsRule *allow, size_t n_allow,
                 const HipsRule *block, size_t n_block,
                 const ExecSubject *subject, Judgement *ret) {
        size_t i;

        assert(allow || n_allow == 0);
        assert(block || n_block == 0);
        assert(subject);
        assert(ret);

        /* The allowlist is consulted first so that an administrator can carve
         * exceptions out of a broad blocklist glob. */
        if (rules_find(allow, n_allow, subject, &i)) {
                *ret = (Judgement) {
                        .verdict = VERDICT_ALLOW,
                        .list = RULE_LIST_ALLOW,
                        .rule = &allow[i],
                        .index = i,
                };
                return;
        }

        if (rules_find(block, n_block, subject, &i)) {
                *ret = (Judgement) {
                        .verdict = VERDICT_BLOCK,
                        .list = RULE_LIST_BLOCK,
                        .rule = &block[i],
                        .index = i,
                };
                return;
        }

        *ret = (Judgement) {
                .verdict = VERDICT_ALLOW,
                .list = RULE_LIST_NONE,
        };
}

const char *judgement_rule_name(const Judgement *j, char *buf, size_t size) {
        assert(j);
        assert(buf);
        assert(size > 0);

        if (j->list == RULE_LIST_NONE)
                return NULL;

        if (j->rule && j->rule->name)
                return j->rule->name;

        /* Truncation on a too small buffer is acceptable for a log name. */
        (void) snprintf(buf, size, "%s[%zu]",
                        j->list == RULE_LIST_ALLOW ? "allowlist" : "blocklist",
                        j->index);
        return buf;
}

void rules_resolve_identities(HipsRule *rules, size_t n) {
        assert(rules || n == 0);

        for (size_t i = 0; i < n; i++) {
                HipsRule *rule = &rules[i];
                struct stat st;

                /* Reset first: on a reload the file may have gone, and a stale
                 * identity would keep matching whatever reuses the inode. */
                rule->has_identity = false;
                rule->dev = 0;
                rule->ino = 0;

                /* A glob names no single file. */
                if (!rule->filename || glob_is_pattern(rule->filename))
                        continue;

                /* stat(), not lstat(): a rule naming a symlink means the
                 * program it points to. */
                if (stat(rule->filename, &st) < 0)
                        continue;

                rule->has_identity = true;
                rule->dev = (uint64_t) st.st_dev;
                rule->ino = (uint64_t) st.st_ino;
        }
}

void hips_rule_done(HipsRule *rule) {
        if (!rule)
                return;

        free(rule->name);
        free(rule->filename);
        free(rule->cmdline);
        free(rule->parent_cmdline);
        free(rule->sha256);

        *rule = (HipsRule) {};
}

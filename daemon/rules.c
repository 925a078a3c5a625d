/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <arpa/inet.h>
#include <assert.h>
#include <errno.h>
#include <fnmatch.h>
#include <netinet/in.h>
#include <stdlib.h>
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

bool ancestor_matches(const char *pattern, const Ancestor *ancestor) {
        const char *base;

        assert(pattern);
        assert(ancestor);

        /* With a slash ("/usr/sbin/nginx") a path, else a name ("nginx", "php-fpm*"). */
        if (strchr(pattern, '/'))
                return glob_matches(pattern, ancestor->exe);
        if (glob_matches(pattern, ancestor->comm))
                return true;
        if (!ancestor->exe)
                return false;
        base = strrchr(ancestor->exe, '/');
        return glob_matches(pattern, base ? base + 1 : ancestor->exe);
}

static bool any_ancestor_matches(const char *pattern, const ExecSubject *subject) {
        for (size_t i = 0; i < subject->n_ancestors; i++)
                if (ancestor_matches(pattern, &subject->ancestors[i]))
                        return true;
        return false;
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

        /* Last: the only field that walks a list. */
        if (rule->ancestor && !any_ancestor_matches(rule->ancestor, subject))
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
        free(rule->ancestor);

        *rule = (HipsRule) {};
}

int cidr_parse(const char *s, int *ret_family, uint8_t ret_addr[16], unsigned *ret_prefix_len) {
        char buf[INET6_ADDRSTRLEN + 8];
        uint8_t addr[16] = {};
        const char *slash;
        unsigned long prefix;
        int family, max;

        assert(s);

        if (strlen(s) >= sizeof(buf))
                return -EINVAL;
        strcpy(buf, s);
        slash = strchr(s, '/');
        if (slash)
                buf[slash - s] = '\0';

        if (inet_pton(AF_INET, buf, addr) == 1)
                family = AF_INET, max = 32;
        else if (inet_pton(AF_INET6, buf, addr) == 1)
                family = AF_INET6, max = 128;
        else
                return -EINVAL;

        prefix = (unsigned long) max;
        if (slash) {
                char *end;

                if (!slash[1] || slash[1] < '0' || slash[1] > '9')
                        return -EINVAL;
                errno = 0;
                prefix = strtoul(slash + 1, &end, 10);
                if (errno != 0 || *end || prefix > (unsigned long) max)
                        return -EINVAL;
        }

        /* Host bits are cleared: "10.1.2.3/8" is 10.0.0.0/8. */
        for (int bit = (int) prefix; bit < max; bit++)
                addr[bit / 8] &= (uint8_t) ~(0x80u >> (bit % 8));

        *ret_family = family;
        memcpy(ret_addr, addr, 16);
        *ret_prefix_len = (unsigned) prefix;
        return 0;
}

bool cidr_contains(int family, const uint8_t addr[16], unsigned prefix_len, int subject_family,
                   const uint8_t subject[16]) {
        unsigned full = prefix_len / 8, rest = prefix_len % 8;

        if (family != subject_family)
                return false;
        if (memcmp(addr, subject, full) != 0)
                return false;
        if (rest == 0)
                return true;
        return ((addr[full] ^ subject[full]) & (uint8_t) (0xff00u >> rest)) == 0;
}

bool network_rule_matches(const NetworkRule *rule, const NetworkSubject *subject) {
        assert(rule);
        assert(subject);

        if (rule->exe && !glob_matches(rule->exe, subject->exe))
                return false;
        if (rule->daddr && !cidr_contains(rule->family, rule->addr, rule->prefix_len, subject->family, subject->daddr))
                return false;
        if (rule->has_dport && rule->dport != subject->dport)
                return false;
        if (rule->protocol != 0 && rule->protocol != subject->protocol)
                return false;
        return true;
}

const NetworkRule *network_rules_find(const NetworkRule *rules, size_t n, const NetworkSubject *subject,
                                      size_t *ret_index) {
        assert(rules || n == 0);

        for (size_t i = 0; i < n; i++)
                if (network_rule_matches(&rules[i], subject)) {
                        if (ret_index)
                                *ret_index = i;
                        return &rules[i];
                }
        return NULL;
}

void network_rule_done(NetworkRule *rule) {
        if (!rule)
                return;

        free(rule->name);
        free(rule->exe);
        free(rule->daddr);

        *rule = (NetworkRule) {};
}

RuleInputs rules_inputs(const HipsRule *allow, size_t n_allow, const HipsRule *block, size_t n_block) {
        RuleInputs in = {};

        for (size_t i = 0; i < n_allow + n_block; i++) {
                const HipsRule *r = i < n_allow ? &allow[i] : &block[i - n_allow];

                in.parent_cmdline |= r->parent_cmdline != NULL;
                in.ancestors |= r->ancestor != NULL;
        }
        return in;
}

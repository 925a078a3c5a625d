/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The rule engine: pure matching of one exec against the allowlist and the
 * blocklist. Order: allowlist, then blocklist, then default allow. */

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "ancestry.h"

typedef struct HipsRule {
        char *name;                /* optional, NULL when not given */
        char *filename;            /* exact path or fnmatch(3) glob; NULL = any */
        char *cmdline;             /* glob against the args joined by ' '; NULL = any */
        char *parent_cmdline;      /* glob against the parent's cmdline; NULL = any */
        char *sha256;              /* 64 lowercase hex digits; NULL = any */
        char *ancestor;            /* glob against each ancestor: with a '/' its exe, else its
                                    * comm or the exe's base name; NULL = any */
        bool has_uid;
        uint32_t uid;              /* real uid of the exec'ing process */

        /* Filled by rules_resolve_identities() for an exact (non-glob)
         * filename that exists: the file's identity, so that a hard link or
         * a symlink to it matches as well. st_dev/st_ino as stat(2) gives them. */
        bool has_identity;
        uint64_t dev;
        uint64_t ino;
} HipsRule;

/* What is being judged. Strings may be NULL when unknown (e.g. the parent
 * vanished); a rule field that is set never matches an unknown value. */
typedef struct ExecSubject {
        const char *filename;          /* resolved absolute path of the file that runs */
        bool has_identity;
        uint64_t dev;                  /* st_dev/st_ino of that file */
        uint64_t ino;
        const char *cmdline;           /* argv joined by ' ' */
        const char *parent_cmdline;
        const char *sha256;            /* lowercase hex, NULL when not hashed */
        uint32_t uid;
        const Ancestor *ancestors;     /* parent first; none known when n_ancestors is 0 */
        size_t n_ancestors;
} ExecSubject;

typedef enum Verdict {
        VERDICT_ALLOW,
        VERDICT_BLOCK,
} Verdict;

typedef enum RuleList {
        RULE_LIST_NONE,            /* nothing matched: default allow */
        RULE_LIST_ALLOW,
        RULE_LIST_BLOCK,
} RuleList;

typedef struct Judgement {
        Verdict verdict;
        RuleList list;
        const HipsRule *rule;      /* NULL when list == RULE_LIST_NONE; points into the rule array */
        size_t index;              /* index of the rule in its list */
} Judgement;

bool rule_matches(const HipsRule *rule, const ExecSubject *subject);

/* The ancestor field's test for one ancestor (also used by the monitors). */
bool ancestor_matches(const char *pattern, const Ancestor *ancestor);

/* Never fails. */
void rules_judge(const HipsRule *allow, size_t n_allow,
                 const HipsRule *block, size_t n_block,
                 const ExecSubject *subject, Judgement *ret);

/* A name for logs: the rule's name, else "allowlist[3]"/"blocklist[0]".
 * Writes into buf (size >= 32 recommended) and returns it; NULL for RULE_LIST_NONE. */
const char *judgement_rule_name(const Judgement *j, char *buf, size_t size);

/* Resolve exact filenames to file identities (stat, following symlinks).
 * Missing files are not an error: the rule then matches by path only. */
void rules_resolve_identities(HipsRule *rules, size_t n);

/* Which of the costlier inputs some rule looks at: an input no rule needs is
 * gathered after the verdict is in force, for the log only, so the exec
 * waits for nothing it cannot be judged by. */
typedef struct RuleInputs {
        bool parent_cmdline;
        bool ancestors;
} RuleInputs;

RuleInputs rules_inputs(const HipsRule *allow, size_t n_allow, const HipsRule *block, size_t n_block);

bool glob_is_pattern(const char *s);

void hips_rule_done(HipsRule *rule);

/* Network monitor rules: a connection or UDP send to a destination, by
 * executable. The first rule that matches decides. */
typedef enum NetworkAction {
        NETWORK_ACTION_ALERT,
        NETWORK_ACTION_KILL,       /* alert, and SIGKILL the process */
        _NETWORK_ACTION_MAX,
} NetworkAction;

typedef struct NetworkRule {
        char *name;                /* NULL when not given */
        char *exe;                 /* glob against the executable's path; NULL = any */
        char *daddr;               /* as written ("10.0.0.0/8"), NULL = any */
        int family;                /* AF_INET or AF_INET6 when daddr is set */
        uint8_t addr[16];          /* network address (host bits cleared) */
        unsigned prefix_len;
        bool has_dport;
        uint16_t dport;
        int protocol;              /* IPPROTO_TCP, IPPROTO_UDP, 0 = any */
        NetworkAction action;
} NetworkRule;

typedef struct NetworkSubject {
        const char *exe;           /* NULL when unknown: a rule with exe never matches it */
        int family;                /* AF_INET or AF_INET6 (v4-mapped IPv6 given as AF_INET) */
        uint8_t daddr[16];         /* IPv4 in the first 4 bytes */
        uint16_t dport;
        int protocol;
} NetworkSubject;

/* "192.0.2.1", "10.0.0.0/8", "::1", "fe80::/10". Returns 0, or -EINVAL. */
int cidr_parse(const char *s, int *ret_family, uint8_t ret_addr[16], unsigned *ret_prefix_len);
bool cidr_contains(int family, const uint8_t addr[16], unsigned prefix_len, int subject_family,
                   const uint8_t subject[16]);

bool network_rule_matches(const NetworkRule *rule, const NetworkSubject *subject);
/* The first matching rule, or NULL. */
const NetworkRule *network_rules_find(const NetworkRule *rules, size_t n, const NetworkSubject *subject,
                                      size_t *ret_index);
void network_rule_done(NetworkRule *rule);

/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The rule engine: pure matching of one exec against the allowlist and the
 * blocklist. Order: allowlist, then blocklist, then default allow. */

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

typedef struct HipsRule {
        char *name;                /* optional, NULL when not given */
        char *filename;            /* exact path or fnmatch(3) glob; NULL = any */
        char *cmdline;             /* glob against the args joined by ' '; NULL = any */
        char *parent_cmdline;      /* glob against the parent's cmdline; NULL = any */
        char *sha256;              /* 64 lowercase hex digits; NULL = any */
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

bool glob_is_pattern(const char *s);

void hips_rule_done(HipsRule *rule);

/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* config.json: parsing and validation (json-c). The parser is pure (no file
 * system access besides config_load_file() reading the file), so that it can
 * be fuzzed; checks against the file system (missing kernel_allowlist paths)
 * are in config_check_paths(). */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rules.h"

typedef enum HipsMode {
        HIPS_MODE_SAFE,
        HIPS_MODE_FUNCTIONAL,
        _HIPS_MODE_MAX,
} HipsMode;

typedef enum HipsGate {
        HIPS_GATE_AUTO,            /* fanotify hold + SIGSTOP backstop */
        HIPS_GATE_SIGSTOP,         /* SIGSTOP layer alone (reference design) */
        _HIPS_GATE_MAX,
} HipsGate;

typedef enum FailAction {
        FAIL_ACTION_ALLOW,
        FAIL_ACTION_BLOCK,
        _FAIL_ACTION_MAX,
} FailAction;

typedef enum TamperAction {
        TAMPER_ACTION_LOG,                 /* log a SIGCONT to a gated process, keep judging it */
        TAMPER_ACTION_KILL,                /* ... and kill the gated process */
        _TAMPER_ACTION_MAX,
} TamperAction;

/* Limits on what input controls. */
#define CONFIG_MAX_BYTES (64u * 1024u * 1024u)
#define CONFIG_MAX_RULES 200000u
#define CONFIG_MAX_STRING 4096u

/* "monitors": the HIDS monitors (daemon/monitor.h). Only lineage is on by
 * default; the others are off until "enabled": true. */
#define MONITORS_MAX_DEPTH 32u
#define MONITORS_DEFAULT_DEPTH 8u

typedef struct MonitorsConfig {
        bool lineage;                      /* "lineage.enabled", default true */
        uint32_t lineage_depth;            /* "lineage.depth": ancestors kept per event, 1..32, default 8 */
        bool lineage_events;               /* "lineage.events": log every fork, exec and exit */

        bool network;                      /* "network.enabled" */
        NetworkRule *network_rules;        /* "network.rules" */
        size_t n_network_rules;

        bool dns;                          /* "dns.enabled" */

        bool files;                        /* "files.enabled" */
        char **file_paths;                 /* "files.paths": absolute; a trailing '/' is a directory tree */
        size_t n_file_paths;

        bool privilege;                    /* "privilege.enabled" */
        char **privilege_allow;            /* "privilege.allow": executables (paths or globs) that may gain root */
        size_t n_privilege_allow;

        bool file_paths_set;               /* given in the document (else the defaults) */
        bool privilege_allow_set;
} MonitorsConfig;

typedef struct HipsConfig {
        HipsMode mode;                     /* "mode", default "safe" */
        HipsGate gate;                     /* "gate", default "auto" */

        char **kernel_allowlist;           /* "kernel_allowlist": absolute paths */
        size_t n_kernel_allowlist;

        HipsRule *allow;                   /* "allowlist" */
        size_t n_allow;
        HipsRule *block;                   /* "blocklist" */
        size_t n_block;

        uint32_t decision_timeout_ms;      /* "decision_timeout_ms", default 2000, 1..60000 */
        FailAction fail_action;            /* "fail_action", default "allow" */
        uint64_t hash_max_bytes;           /* "hash_max_bytes", default 1 GiB; larger files are "unhashed" */

        /* "critical_processes": never held or stopped (fast path like the
         * kernel allowlist); default: systemd, journald, udevd, logind, dbus. */
        char **critical_processes;
        size_t n_critical_processes;
        bool critical_processes_set;

        /* "interpreters": an exec of one of these with a script file as its
         * first non-option argument is judged for that script too. */
        char **interpreters;
        size_t n_interpreters;
        bool interpreters_set;

        TamperAction tamper_action;        /* "tamper_action", default "kill" */

        MonitorsConfig monitors;           /* "monitors" */
} HipsConfig;

typedef enum ProblemSeverity {
        PROBLEM_ERROR,
        PROBLEM_WARNING,
} ProblemSeverity;

typedef struct ConfigProblem {
        ProblemSeverity severity;
        char *where;                       /* JSON path, e.g. "blocklist[2].filename", or "" for the document */
        char *what;                        /* human text */
} ConfigProblem;

typedef struct ConfigProblems {
        ConfigProblem *items;
        size_t n;
} ConfigProblems;

/* Parse a document. Returns 0 and *ret on success (warnings may have been
 * added to problems), -EINVAL when any error was found (all errors are in
 * problems, *ret untouched), -ENOMEM. problems may be NULL. */
int config_parse(const char *text, size_t size, HipsConfig **ret, ConfigProblems *problems);

/* Read and parse a file; a file that cannot be read is one problem with the
 * errno text (returns that negative errno). */
int config_load_file(const char *path, HipsConfig **ret, ConfigProblems *problems);

/* Warn (not fail) about kernel_allowlist paths that do not exist. */
void config_check_paths(const HipsConfig *config, ConfigProblems *problems);

HipsConfig *config_free(HipsConfig *config);
static inline void config_freep(HipsConfig **c) {
        config_free(*c);
}

int config_problem_add(ConfigProblems *problems, ProblemSeverity severity, const char *where, const char *format, ...)
        __attribute__((format(printf, 4, 5)));
bool config_problems_have_errors(const ConfigProblems *problems);
/* All problems as one line each: "where: what". Caller frees. */
char *config_problems_to_string(const ConfigProblems *problems);
void config_problems_done(ConfigProblems *problems);

const char *hips_mode_to_string(HipsMode m);
int hips_mode_from_string(const char *s);       /* returns HipsMode or -EINVAL */
const char *hips_gate_to_string(HipsGate g);
int hips_gate_from_string(const char *s);
const char *tamper_action_to_string(TamperAction a);
int tamper_action_from_string(const char *s);
const char *fail_action_to_string(FailAction a);
int fail_action_from_string(const char *s);
const char *network_action_to_string(NetworkAction a);
int network_action_from_string(const char *s);

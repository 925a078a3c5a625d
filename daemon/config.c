/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "read-full.h"
#include "util.h"

/* json-c's own default (32) is enough for our documents, which are at most
 * four levels deep; the limit is there so that "[[[[..." is an error rather
 * than a deep recursion. */
#define CONFIG_MAX_DEPTH 64

/* Mirrors HIPS_MAX_ALLOWLIST in bpf/hips-abi.h (not on this library's include
 * path): more entries than the kernel map holds could not be loaded anyway. */
#define CONFIG_MAX_KERNEL_ALLOWLIST 65536u

/* A 64 MiB document of "[1,1,1,..." would otherwise produce tens of millions
 * of problems; nobody reads past the first screenful, and memory would run
 * out first. The ones beyond this are counted, not stored. */
#define CONFIG_MAX_PROBLEMS 1000u

/* How much of a value from the document an error message quotes. */
#define QUOTE_MAX 128u

#define DEFAULT_DECISION_TIMEOUT_MS 2000u
#define MAX_DECISION_TIMEOUT_MS 60000u
#define DEFAULT_HASH_MAX_BYTES (UINT64_C(1) << 30)
/* (uid_t) -1 means "no change" to setresuid() and friends: never a real uid. */
#define MAX_UID UINT32_C(4294967294)

#define _printf_like_(a, b) __attribute__((format(printf, a, b)))

static inline bool isempty(const char *s) {
        return !s || s[0] == '\0';
}

static inline const char *strempty(const char *s) {
        return s ?: "";
}

static inline void json_object_putp(struct json_object **o) {
        if (*o)
                (void) json_object_put(*o);
}

static inline void json_tokener_freep(struct json_tokener **t) {
        if (*t)
                json_tokener_free(*t);
}

static const char *const hips_mode_table[_HIPS_MODE_MAX] = {
        [HIPS_MODE_SAFE] = "safe",
        [HIPS_MODE_FUNCTIONAL] = "functional",
};

static const char *const hips_gate_table[_HIPS_GATE_MAX] = {
        [HIPS_GATE_AUTO] = "auto",
        [HIPS_GATE_SIGSTOP] = "sigstop",
};

static const char *const fail_action_table[_FAIL_ACTION_MAX] = {
        [FAIL_ACTION_ALLOW] = "allow",
        [FAIL_ACTION_BLOCK] = "block",
};

static const char *table_to_string(const char *const *table, size_t n, int i) {
        if (i < 0 || (size_t) i >= n)
                return NULL;
        return table[i];
}

static int table_from_string(const char *const *table, size_t n, const char *s) {
        if (!s)
                return -EINVAL;

        for (size_t i = 0; i < n; i++)
                if (table[i] && streq(table[i], s))
                        return (int) i;

        return -EINVAL;
}

const char *hips_mode_to_string(HipsMode m) {
        return table_to_string(hips_mode_table, ELEMENTSOF(hips_mode_table), (int) m);
}

int hips_mode_from_string(const char *s) {
        return table_from_string(hips_mode_table, ELEMENTSOF(hips_mode_table), s);
}

const char *hips_gate_to_string(HipsGate g) {
        return table_to_string(hips_gate_table, ELEMENTSOF(hips_gate_table), (int) g);
}

int hips_gate_from_string(const char *s) {
        return table_from_string(hips_gate_table, ELEMENTSOF(hips_gate_table), s);
}

const char *fail_action_to_string(FailAction a) {
        return table_to_string(fail_action_table, ELEMENTSOF(fail_action_table), (int) a);
}

int fail_action_from_string(const char *s) {
        return table_from_string(fail_action_table, ELEMENTSOF(fail_action_table), s);
}

static const char *const tamper_action_table[_TAMPER_ACTION_MAX] = {
        [TAMPER_ACTION_LOG] = "log",
        [TAMPER_ACTION_KILL] = "kill",
};

const char *tamper_action_to_string(TamperAction a) {
        return table_to_string(tamper_action_table, ELEMENTSOF(tamper_action_table), (int) a);
}

int tamper_action_from_string(const char *s) {
        return table_from_string(tamper_action_table, ELEMENTSOF(tamper_action_table), s);
}

/* What hipsd must never hold or stop: a held journald or dbus-daemon could
 * wait on the very daemon that must answer it. */
static const char *const default_critical_processes[] = {
        "/usr/lib/systemd/systemd",
        "/usr/lib/systemd/systemd-journald",
        "/usr/lib/systemd/systemd-udevd",
        "/usr/lib/systemd/systemd-logind",
        "/usr/bin/dbus-daemon",
        "/usr/bin/dbus-broker",
        "/usr/bin/dbus-broker-launch",
};

/* Programs that run a script named by their first non-option argument. */
static const char *const default_interpreters[] = {
        "/usr/bin/dash",
        "/usr/bin/bash",
        "/usr/bin/sh",
        "/usr/bin/zsh",
        "/usr/bin/busybox",
        "/usr/bin/perl",
        "/usr/bin/python3",
        "/usr/bin/python3.11",
        "/usr/bin/ruby",
        "/usr/bin/node",
};

/* What the files monitor watches unless "paths" says otherwise. */
static const char *const default_file_paths[] = {
        "/etc/shadow",
        "/etc/gshadow",
        "/etc/sudoers",
        "/etc/sudoers.d/",
        "/etc/ssh/",
        "/root/.ssh/",
};

/* Set-user-ID programs whose very job is to make a user root (or another
 * user), after asking for a password or checking a policy. */
static const char *const default_privilege_allow[] = {
        "/usr/bin/sudo",
        "/usr/bin/su",
        "/usr/bin/passwd",
        "/usr/bin/newgrp",
        "/usr/bin/chsh",
        "/usr/bin/chfn",
        "/usr/bin/gpasswd",
        "/usr/bin/mount",
        "/usr/bin/umount",
        "/usr/bin/pkexec",
        "/usr/bin/fusermount",
        "/usr/bin/fusermount3",
        "/usr/lib/dbus-1.0/dbus-daemon-launch-helper",
        "/usr/lib/openssh/ssh-keysign",
        "/usr/lib/polkit-1/polkit-agent-helper-1",
};

static const char *const network_action_table[_NETWORK_ACTION_MAX] = {
        [NETWORK_ACTION_ALERT] = "alert",
        [NETWORK_ACTION_KILL] = "kill",
};

const char *network_action_to_string(NetworkAction a) {
        return table_to_string(network_action_table, ELEMENTSOF(network_action_table), (int) a);
}

int network_action_from_string(const char *s) {
        return table_from_string(network_action_table, ELEMENTSOF(network_action_table), s);
}

static int copy_defaults(const char *const *defaults, size_t n, char ***ret, size_t *ret_n) {
        char **l = calloc(n, sizeof(char *));

        if (!l)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                l[i] = strdup(defaults[i]);
                if (!l[i]) {
                        for (size_t k = 0; k < i; k++)
                                free(l[k]);
                        free(l);
                        return -ENOMEM;
                }
        }
        *ret = l;
        *ret_n = n;
        return 0;
}

/* Problems */

static int problem_addv(ConfigProblems *problems, ProblemSeverity severity, const char *where,
                        const char *format, va_list ap) _printf_like_(4, 0);

static int problem_addv(ConfigProblems *problems, ProblemSeverity severity, const char *where,
                        const char *format, va_list ap) {
        _cleanup_free_ char *w = NULL, *what = NULL;
        ConfigProblem *items;

        assert(problems);
        assert(format);

        if (vasprintf(&what, format, ap) < 0)
                return -ENOMEM;

        w = strdup(where ?: "");
        if (!w)
                return -ENOMEM;

        items = reallocarray(problems->items, problems->n + 1, sizeof(ConfigProblem));
        if (!items)
                return -ENOMEM;
        problems->items = items;

        problems->items[problems->n++] = (ConfigProblem) {
                .severity = severity,
                .where = TAKE_PTR(w),
                .what = TAKE_PTR(what),
        };
        return 0;
}

int config_problem_add(ConfigProblems *problems, ProblemSeverity severity, const char *where, const char *format, ...) {
        va_list ap;
        int r;

        /* Callers that do not want the details pass NULL. */
        if (!problems)
                return 0;

        va_start(ap, format);
        r = problem_addv(problems, severity, where, format, ap);
        va_end(ap);
        return r;
}

bool config_problems_have_errors(const ConfigProblems *problems) {
        if (!problems)
                return false;

        for (size_t i = 0; i < problems->n; i++)
                if (problems->items[i].severity == PROBLEM_ERROR)
                        return true;

        return false;
}

static const char *severity_to_string(ProblemSeverity s) {
        return s == PROBLEM_ERROR ? "error" : "warning";
}

char *config_problems_to_string(const ConfigProblems *problems) {
        size_t n = problems ? problems->n : 0, size = 1, k = 0;
        char *s;

        for (size_t i = 0; i < n; i++) {
                const ConfigProblem *c = &problems->items[i];

                /* "warning: " + "where: " + what + "\n" */
                size += strlen(severity_to_string(c->severity)) + 2 + strlen(c->what) + 1;
                if (!isempty(c->where))
                        size += strlen(c->where) + 2;
        }

        s = malloc(size);
        if (!s)
                return NULL;

        for (size_t i = 0; i < n; i++) {
                const ConfigProblem *c = &problems->items[i];

                k += (size_t) sprintf(s + k, "%s%s: %s%s%s",
                                      i > 0 ? "\n" : "",
                                      severity_to_string(c->severity),
                                      strempty(c->where),
                                      isempty(c->where) ? "" : ": ",
                                      c->what);
        }
        s[k] = '\0';

        return s;
}

void config_problems_done(ConfigProblems *problems) {
        if (!problems)
                return;

        for (size_t i = 0; i < problems->n; i++) {
                free(problems->items[i].where);
                free(problems->items[i].what);
        }
        free(problems->items);

        *problems = (ConfigProblems) {};
}

/* Strings from the document */

/* Length of the UTF-8 sequence at s (at most n bytes available), or 0 when it
 * is not valid: overlong forms, surrogates and code points above U+10FFFF are
 * refused as RFC 3629 says, so that two spellings of a path cannot compare
 * different here and equal elsewhere. */
static size_t utf8_sequence_length(const unsigned char *s, size_t n) {
        uint32_t cp;
        size_t len;

        assert(n > 0);

        if (s[0] < 0x80)
                return 1;
        if (s[0] >= 0xc2 && s[0] <= 0xdf) {
                len = 2;
                cp = s[0] & 0x1f;
        } else if (s[0] >= 0xe0 && s[0] <= 0xef) {
                len = 3;
                cp = s[0] & 0x0f;
        } else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
                len = 4;
                cp = s[0] & 0x07;
        } else
                return 0;

        if (len > n)
                return 0;

        for (size_t i = 1; i < len; i++) {
                if ((s[i] & 0xc0) != 0x80)
                        return 0;
                cp = (cp << 6) | (s[i] & 0x3f);
        }

        if ((len == 3 && cp < 0x800) ||
            (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
            (cp >= 0xd800 && cp <= 0xdfff))
                return 0;

        return len;
}

static bool utf8_is_valid(const char *s, size_t n) {
        const unsigned char *u = (const unsigned char *) s;

        for (size_t i = 0; i < n;) {
                size_t l = utf8_sequence_length(u + i, n - i);
                if (l == 0)
                        return false;
                i += l;
        }

        return true;
}

/* Escape a value from the document for a message: the problems are printed
 * one per line, so a newline (or a terminal escape) in a key or a path must
 * not reach the output as is. Long values are cut, at a character boundary. */
static const char *escape(const char *s, char *buf, size_t size) {
        const unsigned char *u = (const unsigned char *) s;
        size_t n = strlen(s), k = 0;

        /* Room for "..." and the NUL. */
        assert(size >= 4);

        for (size_t i = 0; i < n;) {
                size_t l = utf8_sequence_length(u + i, n - i), el;
                char e[5];

                if (l > 1) {
                        memcpy(e, s + i, l);
                        el = l;
                } else if (l == 1 && u[i] >= 0x20 && u[i] < 0x7f && u[i] != '"' && u[i] != '\\') {
                        e[0] = s[i];
                        el = 1;
                } else if (l == 1 && (u[i] == '"' || u[i] == '\\')) {
                        e[0] = '\\';
                        e[1] = s[i];
                        el = 2;
                } else {
                        (void) snprintf(e, sizeof(e), "\\x%02x", u[i]);
                        el = 4;
                        l = 1;
                }

                if (k + el + 4 > size) {
                        memcpy(buf + k, "...", 4);
                        return buf;
                }

                memcpy(buf + k, e, el);
                k += el;
                i += l;
        }
        buf[k] = '\0';

        return buf;
}

/* The same in double quotes, for values that are not paths. */
static const char *quote(const char *s, char *buf, size_t size) {
        size_t k;

        assert(size >= 6);

        buf[0] = '"';
        (void) escape(s, buf + 1, size - 2);
        k = strlen(buf);
        buf[k] = '"';
        buf[k + 1] = '\0';

        return buf;
}

static const char *json_value_type_name(struct json_object *v) {
        switch (json_object_get_type(v)) {
        case json_type_null:
                return "null";
        case json_type_boolean:
                return "boolean";
        case json_type_double:
                return "number";
        case json_type_int:
                return "integer";
        case json_type_object:
                return "object";
        case json_type_array:
                return "array";
        case json_type_string:
                return "string";
        }
        return "unknown";
}

/* Parser */

typedef struct Parser {
        ConfigProblems *problems;  /* NULL when the caller only wants the result */
        size_t n_errors;
        size_t n_stored;           /* problems stored by this parse */
        size_t n_dropped;          /* ... and those beyond CONFIG_MAX_PROBLEMS */
        bool dropped_error;
        bool too_many_rules;
} Parser;

static int parser_problem(Parser *p, ProblemSeverity severity, const char *where, const char *format, ...)
        _printf_like_(4, 5);

static int parser_problem(Parser *p, ProblemSeverity severity, const char *where, const char *format, ...) {
        va_list ap;
        int r;

        if (severity == PROBLEM_ERROR)
                p->n_errors++;

        if (!p->problems)
                return 0;

        if (p->n_stored >= CONFIG_MAX_PROBLEMS) {
                p->n_dropped++;
                p->dropped_error = p->dropped_error || severity == PROBLEM_ERROR;
                return 0;
        }

        va_start(ap, format);
        r = problem_addv(p->problems, severity, where, format, ap);
        va_end(ap);
        if (r < 0)
                return r;

        p->n_stored++;
        return 0;
}

#define parser_error(p, where, ...) parser_problem((p), PROBLEM_ERROR, (where), __VA_ARGS__)
#define parser_warning(p, where, ...) parser_problem((p), PROBLEM_WARNING, (where), __VA_ARGS__)

/* The checks below return 1 when the value is good (and set ret_...), 0 after
 * reporting why it is not, or a negative errno. */

static int check_string(Parser *p, const char *where, struct json_object *v, const char *expected,
                        const char **ret) {
        const char *s;
        int len;

        if (!json_object_is_type(v, json_type_string)) {
                int r = parser_error(p, where, "expected %s, got %s", expected, json_value_type_name(v));
                return r < 0 ? r : 0;
        }

        s = json_object_get_string(v);
        len = json_object_get_string_len(v);

        if (len < 0 || (size_t) len > CONFIG_MAX_STRING) {
                int r = parser_error(p, where, "string too long (%d bytes, maximum %u)", len, CONFIG_MAX_STRING);
                return r < 0 ? r : 0;
        }

        /* "\u0000" decodes to a NUL that would silently cut the C string:
         * "/usr/bin/sh\u0000.bak" must not become "/usr/bin/sh". */
        if (strlen(s) != (size_t) len) {
                int r = parser_error(p, where, "string contains a NUL character");
                return r < 0 ? r : 0;
        }

        if (!utf8_is_valid(s, (size_t) len)) {
                int r = parser_error(p, where, "string is not valid UTF-8");
                return r < 0 ? r : 0;
        }

        *ret = s;
        return 1;
}

static int check_uint(Parser *p, const char *where, struct json_object *v, uint64_t min, uint64_t max,
                      uint64_t *ret) {
        int64_t i;
        uint64_t u;
        int r;

        /* json-c saturates integers beyond 64 bits to INT64_MIN/UINT64_MAX;
         * both are out of every range below except hash_max_bytes, where
         * "as large as it gets" is what such a value asks for. */
        if (!json_object_is_type(v, json_type_int)) {
                r = parser_error(p, where, "expected an integer, got %s", json_value_type_name(v));
                return r < 0 ? r : 0;
        }

        i = json_object_get_int64(v);
        if (i < 0) {
                r = parser_error(p, where, "%" PRIi64 " is too small (minimum %" PRIu64 ")", i, min);
                return r < 0 ? r : 0;
        }

        /* json_object_get_int64() caps at INT64_MAX; the unsigned getter gives
         * the whole range for non-negative values. */
        u = json_object_get_uint64(v);
        if (u < min) {
                r = parser_error(p, where, "%" PRIu64 " is too small (minimum %" PRIu64 ")", u, min);
                return r < 0 ? r : 0;
        }
        if (u > max) {
                r = parser_error(p, where, "%" PRIu64 " is too large (maximum %" PRIu64 ")", u, max);
                return r < 0 ? r : 0;
        }

        *ret = u;
        return 1;
}

static int check_enum(Parser *p, const char *where, struct json_object *v,
                      int (*from_string)(const char *s), const char *expected, int *ret) {
        const char *s;
        char q[QUOTE_MAX];
        int r, e;

        r = check_string(p, where, v, expected, &s);
        if (r <= 0)
                return r;

        e = from_string(s);
        if (e < 0) {
                r = parser_error(p, where, "expected %s, got %s", expected, quote(s, q, sizeof(q)));
                return r < 0 ? r : 0;
        }

        *ret = e;
        return 1;
}

static bool is_hex_digit(char c) {
        return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static char ascii_tolower(char c) {
        return c >= 'A' && c <= 'Z' ? (char) (c - 'A' + 'a') : c;
}

static int strdup_to(char **dst, const char *s) {
        char *copy = strdup(s);
        if (!copy)
                return -ENOMEM;

        free(*dst);
        *dst = copy;
        return 0;
}

/* Top-level keys */

static int parse_mode(Parser *p, HipsConfig *c, struct json_object *v) {
        int r, e;

        r = check_enum(p, "mode", v, hips_mode_from_string, "\"safe\" or \"functional\"", &e);
        if (r > 0)
                c->mode = (HipsMode) e;
        return r;
}

static int parse_gate(Parser *p, HipsConfig *c, struct json_object *v) {
        int r, e;

        r = check_enum(p, "gate", v, hips_gate_from_string, "\"auto\" or \"sigstop\"", &e);
        if (r > 0)
                c->gate = (HipsGate) e;
        return r;
}

static int parse_fail_action(Parser *p, HipsConfig *c, struct json_object *v) {
        int r, e;

        r = check_enum(p, "fail_action", v, fail_action_from_string, "\"allow\" or \"block\"", &e);
        if (r > 0)
                c->fail_action = (FailAction) e;
        return r;
}

static int parse_decision_timeout_ms(Parser *p, HipsConfig *c, struct json_object *v) {
        uint64_t u;
        int r;

        r = check_uint(p, "decision_timeout_ms", v, 1, MAX_DECISION_TIMEOUT_MS, &u);
        if (r > 0)
                c->decision_timeout_ms = (uint32_t) u;
        return r;
}

static int parse_hash_max_bytes(Parser *p, HipsConfig *c, struct json_object *v) {
        uint64_t u;
        int r;

        r = check_uint(p, "hash_max_bytes", v, 1, UINT64_MAX, &u);
        if (r > 0)
                c->hash_max_bytes = u;
        return r;
}

/* Sorting indices rather than comparing every pair keeps duplicate detection
 * O(n log n): a list may hold CONFIG_MAX_RULES entries. */
typedef int (*index_compare_t)(const void *items, size_t a, size_t b);

typedef struct IndexSort {
        const void *items;
        index_compare_t compare;
} IndexSort;

static int index_sort_cmp(const void *a, const void *b, void *userdata) {
        const IndexSort *s = userdata;
        size_t x = *(const size_t *) a, y = *(const size_t *) b;
        int r;

        r = s->compare(s->items, x, y);
        if (r != 0)
                return r;

        /* Ties in document order, so the first of a group is the original. */
        return x < y ? -1 : x > y;
}

/* Writes into ret_original[i] the index of the first entry equal to entry i,
 * or SIZE_MAX when entry i is the first of its kind. */
static int find_duplicates(const void *items, size_t n, index_compare_t compare, size_t **ret_original) {
        _cleanup_free_ size_t *order = NULL, *original = NULL;
        IndexSort s = { .items = items, .compare = compare };

        order = reallocarray(NULL, n, sizeof(size_t));
        original = reallocarray(NULL, n, sizeof(size_t));
        if (!order || !original)
                return -ENOMEM;

        for (size_t i = 0; i < n; i++) {
                order[i] = i;
                original[i] = SIZE_MAX;
        }

        qsort_r(order, n, sizeof(size_t), index_sort_cmp, &s);

        for (size_t g = 0, k = 1; k < n; k++) {
                if (compare(items, order[g], order[k]) != 0) {
                        g = k;
                        continue;
                }
                original[order[k]] = order[g];
        }

        *ret_original = TAKE_PTR(original);
        return 0;
}

static int strcmp_ptr(const char *a, const char *b) {
        if (!a || !b)
                return (a != NULL) - (b != NULL);
        return strcmp(a, b);
}

static int path_compare(const void *items, size_t a, size_t b) {
        char *const *paths = items;

        return strcmp(paths[a], paths[b]);
}

static int parse_path_list(Parser *p, const char *key, struct json_object *v, char ***list, size_t *n_list) {
        _cleanup_free_ size_t *original = NULL;
        size_t n, n_errors = p->n_errors;
        int r;

        if (!json_object_is_type(v, json_type_array)) {
                r = parser_error(p, key, "expected an array of absolute paths, got %s",
                                 json_value_type_name(v));
                return r < 0 ? r : 0;
        }

        n = json_object_array_length(v);
        if (n > CONFIG_MAX_KERNEL_ALLOWLIST) {
                r = parser_error(p, key, "too many entries (%zu, maximum %u)",
                                 n, CONFIG_MAX_KERNEL_ALLOWLIST);
                return r < 0 ? r : 0;
        }
        if (n == 0)
                return 1;

        *list = calloc(n, sizeof(char *));
        if (!*list)
                return -ENOMEM;

        for (size_t i = 0; i < n; i++) {
                char where[64], q[QUOTE_MAX];
                const char *s;

                (void) snprintf(where, sizeof(where), "%s[%zu]", key, i);

                r = check_string(p, where, json_object_array_get_idx(v, i), "an absolute path", &s);
                if (r < 0)
                        return r;
                if (r == 0)
                        continue;

                /* Resolved by the daemon from its own cwd, so a relative path
                 * would name a different file than the author meant. */
                if (s[0] != '/') {
                        r = parser_error(p, where, "expected an absolute path, got %s", quote(s, q, sizeof(q)));
                        if (r < 0)
                                return r;
                        continue;
                }

                r = strdup_to(&(*list)[(*n_list)], s);
                if (r < 0)
                        return r;
                (*n_list)++;
        }

        /* With an entry missing, indices would not be the document's. */
        if (p->n_errors != n_errors)
                return 0;

        r = find_duplicates((*list), (*n_list), path_compare, &original);
        if (r < 0)
                return r;

        for (size_t i = 0; i < (*n_list); i++) {
                char where[64];

                if (original[i] == SIZE_MAX)
                        continue;

                (void) snprintf(where, sizeof(where), "%s[%zu]", key, i);
                r = parser_warning(p, where, "duplicate of %s[%zu]", key, original[i]);
                if (r < 0)
                        return r;
        }

        return 1;
}

static int parse_kernel_allowlist(Parser *p, HipsConfig *c, struct json_object *v) {
        return parse_path_list(p, "kernel_allowlist", v, &c->kernel_allowlist, &c->n_kernel_allowlist);
}

static int parse_critical_processes(Parser *p, HipsConfig *c, struct json_object *v) {
        c->critical_processes_set = true;
        return parse_path_list(p, "critical_processes", v, &c->critical_processes, &c->n_critical_processes);
}

static int parse_interpreters(Parser *p, HipsConfig *c, struct json_object *v) {
        c->interpreters_set = true;
        return parse_path_list(p, "interpreters", v, &c->interpreters, &c->n_interpreters);
}

static int parse_tamper_action(Parser *p, HipsConfig *c, struct json_object *v) {
        int e, r;

        r = check_enum(p, "tamper_action", v, tamper_action_from_string, "\"log\" or \"kill\"", &e);
        if (r > 0)
                c->tamper_action = (TamperAction) e;
        return r;
}

typedef enum RuleKey {
        RULE_KEY_NAME,
        RULE_KEY_FILENAME,
        RULE_KEY_CMDLINE,
        RULE_KEY_PARENT_CMDLINE,
        RULE_KEY_SHA256,
        RULE_KEY_UID,
        RULE_KEY_ANCESTOR,
        _RULE_KEY_MAX,
} RuleKey;

static const char *const rule_key_table[_RULE_KEY_MAX] = {
        [RULE_KEY_NAME] = "name",
        [RULE_KEY_FILENAME] = "filename",
        [RULE_KEY_CMDLINE] = "cmdline",
        [RULE_KEY_PARENT_CMDLINE] = "parent_cmdline",
        [RULE_KEY_SHA256] = "sha256",
        [RULE_KEY_UID] = "uid",
        [RULE_KEY_ANCESTOR] = "ancestor",
};

static int parse_rule_key(Parser *p, const char *where, RuleKey k, struct json_object *v, HipsRule *rule) {
        char q[QUOTE_MAX];
        const char *s;
        uint64_t u;
        int r;

        switch (k) {

        case RULE_KEY_NAME:
                r = check_string(p, where, v, "a string", &s);
                if (r <= 0)
                        return r;
                /* The name stands for the rule in every log line. */
                if (isempty(s)) {
                        r = parser_error(p, where, "must not be empty");
                        return r < 0 ? r : 0;
                }
                return strdup_to(&rule->name, s) < 0 ? -ENOMEM : 1;

        case RULE_KEY_FILENAME:
                r = check_string(p, where, v, "an absolute path or a glob", &s);
                if (r <= 0)
                        return r;
                /* Subjects are absolute paths: anything else could never
                 * match, and a rule that silently never matches is a hole. */
                if (s[0] != '/' && s[0] != '*') {
                        r = parser_error(p, where, "expected an absolute path or a glob starting with '/' or '*', got %s",
                                         quote(s, q, sizeof(q)));
                        return r < 0 ? r : 0;
                }
                return strdup_to(&rule->filename, s) < 0 ? -ENOMEM : 1;

        case RULE_KEY_CMDLINE:
                r = check_string(p, where, v, "a string", &s);
                if (r <= 0)
                        return r;
                return strdup_to(&rule->cmdline, s) < 0 ? -ENOMEM : 1;

        case RULE_KEY_PARENT_CMDLINE:
                r = check_string(p, where, v, "a string", &s);
                if (r <= 0)
                        return r;
                return strdup_to(&rule->parent_cmdline, s) < 0 ? -ENOMEM : 1;

        case RULE_KEY_SHA256: {
                _cleanup_free_ char *lower = NULL;
                size_t len;

                r = check_string(p, where, v, "a string of 64 hex digits", &s);
                if (r <= 0)
                        return r;

                /* "unhashed" matches a file hipsd could not hash (larger
                 * than hash_max_bytes, unreadable). */
                if (streq(s, "unhashed"))
                        return strdup_to(&rule->sha256, s) < 0 ? -ENOMEM : 1;

                len = strlen(s);
                for (size_t i = 0; i < len; i++)
                        if (!is_hex_digit(s[i])) {
                                len = SIZE_MAX;
                                break;
                        }
                if (len != 64) {
                        r = parser_error(p, where, "expected a string of 64 hex digits or \"unhashed\", got %s",
                                         quote(s, q, sizeof(q)));
                        return r < 0 ? r : 0;
                }

                /* Stored lowercase: the hasher's output and the decision log
                 * use lowercase, and duplicates are found by strcmp(). */
                lower = strdup(s);
                if (!lower)
                        return -ENOMEM;
                for (char *c = lower; *c; c++)
                        *c = ascii_tolower(*c);

                free(rule->sha256);
                rule->sha256 = TAKE_PTR(lower);
                return 1;
        }

        case RULE_KEY_UID:
                r = check_uint(p, where, v, 0, MAX_UID, &u);
                if (r <= 0)
                        return r;
                rule->has_uid = true;
                rule->uid = (uint32_t) u;
                return 1;

        case RULE_KEY_ANCESTOR:
                r = check_string(p, where, v, "a glob", &s);
                if (r <= 0)
                        return r;
                /* An empty glob matches no ancestor: a rule that can never fire. */
                if (isempty(s)) {
                        r = parser_error(p, where, "must not be empty");
                        return r < 0 ? r : 0;
                }
                return strdup_to(&rule->ancestor, s) < 0 ? -ENOMEM : 1;

        default:
                assert(false);
                return -EINVAL;
        }
}

/* What a kind of rule object is made of: its keys, which of them do not
 * count as a match field, and how one key's value is taken. */
typedef struct RuleShape {
        const char *const *keys;
        unsigned n_keys;
        uint64_t not_match_keys;   /* bit k: key k alone does not make the rule match anything */
        int (*parse_key)(Parser *p, const char *where, unsigned key, struct json_object *v, void *rule);
        const char *no_match_error;
} RuleShape;

/* list[index], a rule object of the given shape, into rule. Returns 1 when
 * it is a rule, 0 after reporting why not, negative errno when out of memory. */
static int parse_rule_object(Parser *p, const RuleShape *shape, const char *list, size_t index,
                             struct json_object *v, void *rule) {
        bool any_match_key = false, any_unknown_key = false;
        char where[96];
        int r;

        (void) snprintf(where, sizeof(where), "%s[%zu]", list, index);

        if (!json_object_is_type(v, json_type_object)) {
                r = parser_error(p, where, "expected a rule object, got %s", json_value_type_name(v));
                return r < 0 ? r : 0;
        }

        json_object_object_foreach(v, key, val) {
                char field_where[128], q[QUOTE_MAX];
                unsigned k;

                for (k = 0; k < shape->n_keys; k++)
                        if (streq(shape->keys[k], key))
                                break;

                if (k == shape->n_keys) {
                        any_unknown_key = true;
                        r = parser_error(p, where, "unknown key %s", quote(key, q, sizeof(q)));
                        if (r < 0)
                                return r;
                        continue;
                }

                /* Counted even when its value is bad, so that a rule with a
                 * broken filename gets one error, not a second one claiming
                 * it has no match field. */
                if (!(shape->not_match_keys & (UINT64_C(1) << k)))
                        any_match_key = true;

                (void) snprintf(field_where, sizeof(field_where), "%s.%s", where, key);
                r = shape->parse_key(p, field_where, k, val, rule);
                if (r < 0)
                        return r;
        }

        /* A rule without a match field matches everything: in the exec
         * blocklist that stops the machine, in the allowlist it voids the
         * blocklist. After an unknown key (most likely a misspelt match
         * field) that would only be a second error about the same mistake. */
        if (!any_match_key && !any_unknown_key) {
                r = parser_error(p, where, "%s", shape->no_match_error);
                return r < 0 ? r : 0;
        }
        return 1;
}

static int parse_rule_key_of(Parser *p, const char *where, unsigned key, struct json_object *v, void *rule) {
        return parse_rule_key(p, where, (RuleKey) key, v, rule);
}

static const RuleShape exec_rule_shape = {
        .keys = rule_key_table,
        .n_keys = _RULE_KEY_MAX,
        .not_match_keys = UINT64_C(1) << RULE_KEY_NAME,
        .parse_key = parse_rule_key_of,
        .no_match_error = "rule has no match field (filename, cmdline, parent_cmdline, sha256, uid or ancestor)",
};

static int rule_compare(const void *items, size_t a, size_t b) {
        const HipsRule *x = (const HipsRule *) items + a, *y = (const HipsRule *) items + b;
        int r;

        /* The name is not compared: it does not change what the rule does. */
        r = strcmp_ptr(x->filename, y->filename);
        if (r != 0)
                return r;
        r = strcmp_ptr(x->cmdline, y->cmdline);
        if (r != 0)
                return r;
        r = strcmp_ptr(x->parent_cmdline, y->parent_cmdline);
        if (r != 0)
                return r;
        r = strcmp_ptr(x->sha256, y->sha256);
        if (r != 0)
                return r;
        r = strcmp_ptr(x->ancestor, y->ancestor);
        if (r != 0)
                return r;
        if (x->has_uid != y->has_uid)
                return x->has_uid ? 1 : -1;
        if (x->has_uid && x->uid != y->uid)
                return x->uid < y->uid ? -1 : 1;
        return 0;
}

static int parse_rule_list(Parser *p, const char *list, struct json_object *v, HipsRule **rules, size_t *n_rules) {
        _cleanup_free_ size_t *original = NULL;
        size_t n, n_errors = p->n_errors;
        int r;

        if (!json_object_is_type(v, json_type_array)) {
                r = parser_error(p, list, "expected an array of rules, got %s", json_value_type_name(v));
                return r < 0 ? r : 0;
        }

        /* Reported once for both lists by config_parse(). */
        if (p->too_many_rules)
                return 0;

        n = json_object_array_length(v);
        if (n == 0)
                return 1;

        *rules = calloc(n, sizeof(HipsRule));
        if (!*rules)
                return -ENOMEM;
        *n_rules = n;

        for (size_t i = 0; i < n; i++) {
                r = parse_rule_object(p, &exec_rule_shape, list, i, json_object_array_get_idx(v, i), &(*rules)[i]);
                if (r < 0)
                        return r;
        }

        /* Half-parsed rules would give duplicate warnings that are wrong, and
         * the document is refused anyway. */
        if (p->n_errors != n_errors)
                return 0;

        r = find_duplicates(*rules, n, rule_compare, &original);
        if (r < 0)
                return r;

        for (size_t i = 0; i < n; i++) {
                char where[64];

                if (original[i] == SIZE_MAX)
                        continue;

                (void) snprintf(where, sizeof(where), "%s[%zu]", list, i);
                r = parser_warning(p, where, "duplicate of %s[%zu]", list, original[i]);
                if (r < 0)
                        return r;
        }

        return 1;
}

static int parse_allowlist(Parser *p, HipsConfig *c, struct json_object *v) {
        return parse_rule_list(p, "allowlist", v, &c->allow, &c->n_allow);
}

static int parse_blocklist(Parser *p, HipsConfig *c, struct json_object *v) {
        return parse_rule_list(p, "blocklist", v, &c->block, &c->n_block);
}

/* "monitors" */

static int check_bool(Parser *p, const char *where, struct json_object *v, bool *ret) {
        if (!json_object_is_type(v, json_type_boolean)) {
                int r = parser_error(p, where, "expected a boolean, got %s", json_value_type_name(v));
                return r < 0 ? r : 0;
        }
        *ret = json_object_get_boolean(v);
        return 1;
}

/* Each parser gets the member of MonitorsConfig its table entry points at. */
typedef int (*monitor_key_parse_t)(Parser *p, const char *where, struct json_object *v, MonitorsConfig *mc, void *field);

static int parse_monitor_bool(Parser *p, const char *where, struct json_object *v, MonitorsConfig *mc, void *field) {
        return check_bool(p, where, v, field);
}

static int parse_monitor_depth(Parser *p, const char *where, struct json_object *v, MonitorsConfig *mc, void *field) {
        uint64_t u;
        int r;

        r = check_uint(p, where, v, 1, MONITORS_MAX_DEPTH, &u);
        if (r > 0)
                *(uint32_t *) field = (uint32_t) u;
        return r;
}

static int parse_monitor_file_paths(Parser *p, const char *where, struct json_object *v, MonitorsConfig *mc, void *field) {
        mc->file_paths_set = true;
        return parse_path_list(p, where, v, &mc->file_paths, &mc->n_file_paths);
}

static int parse_monitor_privilege_allow(Parser *p, const char *where, struct json_object *v, MonitorsConfig *mc, void *field) {
        mc->privilege_allow_set = true;
        return parse_path_list(p, where, v, &mc->privilege_allow, &mc->n_privilege_allow);
}

typedef enum NetworkRuleKey {
        NETWORK_RULE_KEY_NAME,
        NETWORK_RULE_KEY_EXE,
        NETWORK_RULE_KEY_DADDR,
        NETWORK_RULE_KEY_DPORT,
        NETWORK_RULE_KEY_PROTOCOL,
        NETWORK_RULE_KEY_ACTION,
        _NETWORK_RULE_KEY_MAX,
} NetworkRuleKey;

static const char *const network_rule_key_table[_NETWORK_RULE_KEY_MAX] = {
        [NETWORK_RULE_KEY_NAME] = "name",
        [NETWORK_RULE_KEY_EXE] = "exe",
        [NETWORK_RULE_KEY_DADDR] = "daddr",
        [NETWORK_RULE_KEY_DPORT] = "dport",
        [NETWORK_RULE_KEY_PROTOCOL] = "protocol",
        [NETWORK_RULE_KEY_ACTION] = "action",
};

static int protocol_from_string(const char *s) {
        if (streq(s, "tcp"))
                return IPPROTO_TCP;
        if (streq(s, "udp"))
                return IPPROTO_UDP;
        return -EINVAL;
}

static int parse_network_rule_key(Parser *p, const char *where, NetworkRuleKey k, struct json_object *v, NetworkRule *rule) {
        char q[QUOTE_MAX];
        const char *s;
        uint64_t u;
        int r, e;

        switch (k) {

        case NETWORK_RULE_KEY_NAME:
                r = check_string(p, where, v, "a string", &s);
                if (r <= 0)
                        return r;
                if (isempty(s)) {
                        r = parser_error(p, where, "must not be empty");
                        return r < 0 ? r : 0;
                }
                return strdup_to(&rule->name, s) < 0 ? -ENOMEM : 1;

        case NETWORK_RULE_KEY_EXE:
                r = check_string(p, where, v, "an absolute path or a glob", &s);
                if (r <= 0)
                        return r;
                if (s[0] != '/' && s[0] != '*') {
                        r = parser_error(p, where, "expected an absolute path or a glob starting with '/' or '*', got %s",
                                         quote(s, q, sizeof(q)));
                        return r < 0 ? r : 0;
                }
                return strdup_to(&rule->exe, s) < 0 ? -ENOMEM : 1;

        case NETWORK_RULE_KEY_DADDR:
                r = check_string(p, where, v, "an IP address or CIDR", &s);
                if (r <= 0)
                        return r;
                if (cidr_parse(s, &rule->family, rule->addr, &rule->prefix_len) < 0) {
                        r = parser_error(p, where, "expected an IPv4 or IPv6 address or CIDR (\"10.0.0.0/8\", \"::1\"), got %s",
                                         quote(s, q, sizeof(q)));
                        return r < 0 ? r : 0;
                }
                return strdup_to(&rule->daddr, s) < 0 ? -ENOMEM : 1;

        case NETWORK_RULE_KEY_DPORT:
                r = check_uint(p, where, v, 1, UINT16_MAX, &u);
                if (r <= 0)
                        return r;
                rule->has_dport = true;
                rule->dport = (uint16_t) u;
                return 1;

        case NETWORK_RULE_KEY_PROTOCOL:
                r = check_enum(p, where, v, protocol_from_string, "\"tcp\" or \"udp\"", &e);
                if (r > 0)
                        rule->protocol = e;
                return r;

        case NETWORK_RULE_KEY_ACTION:
                r = check_enum(p, where, v, network_action_from_string, "\"alert\" or \"kill\"", &e);
                if (r > 0)
                        rule->action = (NetworkAction) e;
                return r;

        default:
                assert(false);
                return -EINVAL;
        }
}

static int parse_network_rule_key_of(Parser *p, const char *where, unsigned key, struct json_object *v, void *rule) {
        return parse_network_rule_key(p, where, (NetworkRuleKey) key, v, rule);
}

static const RuleShape network_rule_shape = {
        .keys = network_rule_key_table,
        .n_keys = _NETWORK_RULE_KEY_MAX,
        .not_match_keys = (UINT64_C(1) << NETWORK_RULE_KEY_NAME) | (UINT64_C(1) << NETWORK_RULE_KEY_ACTION),
        .parse_key = parse_network_rule_key_of,
        /* It would match every connection on the machine. */
        .no_match_error = "rule has no match field (exe, daddr, dport or protocol)",
};

static int parse_monitor_network_rules(Parser *p, const char *where, struct json_object *v, MonitorsConfig *mc, void *field) {
        size_t n;
        int r;

        if (!json_object_is_type(v, json_type_array)) {
                r = parser_error(p, where, "expected an array of rules, got %s", json_value_type_name(v));
                return r < 0 ? r : 0;
        }
        n = json_object_array_length(v);
        if (n > CONFIG_MAX_RULES) {
                r = parser_error(p, where, "too many rules (%zu, maximum %u)", n, CONFIG_MAX_RULES);
                return r < 0 ? r : 0;
        }
        if (n == 0)
                return 1;

        mc->network_rules = calloc(n, sizeof(NetworkRule));
        if (!mc->network_rules)
                return -ENOMEM;
        mc->n_network_rules = n;

        for (size_t i = 0; i < n; i++) {
                r = parse_rule_object(p, &network_rule_shape, where, i, json_object_array_get_idx(v, i), &mc->network_rules[i]);
                if (r < 0)
                        return r;
        }
        return 1;
}

typedef struct MonitorKey {
        const char *key;
        size_t offset;                     /* of the member in MonitorsConfig */
        monitor_key_parse_t parse;
} MonitorKey;

static const MonitorKey lineage_keys[] = {
        { "enabled", offsetof(MonitorsConfig, lineage),        parse_monitor_bool  },
        { "depth",   offsetof(MonitorsConfig, lineage_depth),  parse_monitor_depth },
        { "events",  offsetof(MonitorsConfig, lineage_events), parse_monitor_bool  },
};

static const MonitorKey network_keys[] = {
        { "enabled", offsetof(MonitorsConfig, network),       parse_monitor_bool          },
        { "rules",   offsetof(MonitorsConfig, network_rules), parse_monitor_network_rules },
};

static const MonitorKey dns_keys[] = {
        { "enabled", offsetof(MonitorsConfig, dns), parse_monitor_bool },
};

static const MonitorKey files_keys[] = {
        { "enabled", offsetof(MonitorsConfig, files),      parse_monitor_bool       },
        { "paths",   offsetof(MonitorsConfig, file_paths), parse_monitor_file_paths },
};

static const MonitorKey privilege_keys[] = {
        { "enabled", offsetof(MonitorsConfig, privilege),       parse_monitor_bool            },
        { "allow",   offsetof(MonitorsConfig, privilege_allow), parse_monitor_privilege_allow },
};

static const struct {
        const char *name;
        const MonitorKey *keys;
        size_t n_keys;
} monitor_sections[] = {
        { "lineage",   lineage_keys,   ELEMENTSOF(lineage_keys)   },
        { "network",   network_keys,   ELEMENTSOF(network_keys)   },
        { "dns",       dns_keys,       ELEMENTSOF(dns_keys)       },
        { "files",     files_keys,     ELEMENTSOF(files_keys)     },
        { "privilege", privilege_keys, ELEMENTSOF(privilege_keys) },
};

static int parse_monitor_section(Parser *p, const char *where, size_t section, struct json_object *v, MonitorsConfig *mc) {
        int r;

        if (!json_object_is_type(v, json_type_object)) {
                r = parser_error(p, where, "expected an object, got %s", json_value_type_name(v));
                return r < 0 ? r : 0;
        }

        json_object_object_foreach(v, key, val) {
                const MonitorKey *k = NULL;
                char key_where[96], q[QUOTE_MAX];

                for (size_t i = 0; i < monitor_sections[section].n_keys; i++)
                        if (streq(monitor_sections[section].keys[i].key, key))
                                k = &monitor_sections[section].keys[i];
                if (!k) {
                        r = parser_error(p, where, "unknown key %s", quote(key, q, sizeof(q)));
                        if (r < 0)
                                return r;
                        continue;
                }

                (void) snprintf(key_where, sizeof(key_where), "%s.%s", where, key);
                r = k->parse(p, key_where, val, mc, (char *) mc + k->offset);
                if (r < 0)
                        return r;
        }
        return 1;
}

static int parse_monitors(Parser *p, HipsConfig *c, struct json_object *v) {
        MonitorsConfig *mc = &c->monitors;
        int r;

        if (!json_object_is_type(v, json_type_object)) {
                r = parser_error(p, "monitors", "expected an object, got %s", json_value_type_name(v));
                return r < 0 ? r : 0;
        }

        json_object_object_foreach(v, key, val) {
                char where[64], q[QUOTE_MAX];
                size_t i;

                for (i = 0; i < ELEMENTSOF(monitor_sections); i++)
                        if (streq(monitor_sections[i].name, key))
                                break;
                if (i == ELEMENTSOF(monitor_sections)) {
                        r = parser_error(p, "monitors", "unknown key %s (expected lineage, network, dns, files or privilege)",
                                         quote(key, q, sizeof(q)));
                        if (r < 0)
                                return r;
                        continue;
                }

                (void) snprintf(where, sizeof(where), "monitors.%s", key);
                r = parse_monitor_section(p, where, i, val, mc);
                if (r < 0)
                        return r;
        }

        /* Rules that never run are more likely a forgotten switch than intended. */
        if (!mc->network && mc->n_network_rules > 0) {
                r = parser_warning(p, "monitors.network", "has rules but is not enabled (\"enabled\": true): they do nothing");
                if (r < 0)
                        return r;
        }
        return 1;
}

static const struct {
        const char *key;
        int (*parse)(Parser *p, HipsConfig *c, struct json_object *v);
} top_level_keys[] = {
        { "mode",                parse_mode                },
        { "gate",                parse_gate                },
        { "kernel_allowlist",    parse_kernel_allowlist    },
        { "allowlist",           parse_allowlist           },
        { "blocklist",           parse_blocklist           },
        { "decision_timeout_ms", parse_decision_timeout_ms },
        { "fail_action",         parse_fail_action         },
        { "hash_max_bytes",      parse_hash_max_bytes      },
        { "critical_processes",  parse_critical_processes  },
        { "interpreters",        parse_interpreters        },
        { "tamper_action",       parse_tamper_action       },
        { "monitors",            parse_monitors            },
};

static size_t rule_list_length(struct json_object *root, const char *key) {
        struct json_object *v;

        if (!json_object_object_get_ex(root, key, &v) || !json_object_is_type(v, json_type_array))
                return 0;
        return json_object_array_length(v);
}

static int parse_document(Parser *p, struct json_object *root, HipsConfig *c) {
        size_t n_rules;
        int r;

        /* Checked before any rule is parsed, so that a huge document is
         * refused without first allocating all of it. */
        n_rules = rule_list_length(root, "allowlist") + rule_list_length(root, "blocklist");
        if (n_rules > CONFIG_MAX_RULES) {
                p->too_many_rules = true;
                r = parser_error(p, "", "too many rules (%zu in allowlist and blocklist, maximum %u)",
                                 n_rules, CONFIG_MAX_RULES);
                if (r < 0)
                        return r;
        }

        /* In document order, so that the problems read top to bottom. */
        json_object_object_foreach(root, key, val) {
                char q[QUOTE_MAX];
                size_t i;

                for (i = 0; i < ELEMENTSOF(top_level_keys); i++)
                        if (streq(top_level_keys[i].key, key))
                                break;

                /* A misspelt key would otherwise be a setting silently not
                 * applied, e.g. a "blocklsit" that blocks nothing. */
                if (i == ELEMENTSOF(top_level_keys)) {
                        r = parser_error(p, "", "unknown key %s", quote(key, q, sizeof(q)));
                        if (r < 0)
                                return r;
                        continue;
                }

                r = top_level_keys[i].parse(p, c, val);
                if (r < 0)
                        return r;
        }

        return 0;
}

/* Where a byte offset is, for people: line and column count from 1. */
static void offset_to_line_column(const char *text, size_t offset, size_t *ret_line, size_t *ret_column) {
        size_t line = 1, column = 1;

        for (size_t i = 0; i < offset; i++)
                if (text[i] == '\n') {
                        line++;
                        column = 1;
                } else
                        column++;

        *ret_line = line;
        *ret_column = column;
}

static int json_error(Parser *p, const char *text, size_t offset, const char *what) {
        size_t line, column;
        int r;

        offset_to_line_column(text, offset, &line, &column);
        r = parser_error(p, "", "invalid JSON at byte offset %zu (line %zu, column %zu): %s",
                         offset, line, column, what);
        return r < 0 ? r : 0;
}

/* strspn() for input that is not NUL-terminated. */
static size_t span_whitespace(const char *s, size_t n) {
        size_t i = 0;

        while (i < n && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r' || s[i] == '\n'))
                i++;

        return i;
}

static int parse_json(Parser *p, const char *text, size_t size, struct json_object **ret) {
        _cleanup_(json_tokener_freep) struct json_tokener *tok = NULL;
        _cleanup_(json_object_putp) struct json_object *root = NULL;
        enum json_tokener_error e;
        bool flushed = false;
        const char *nul;

        /* json-c takes a NUL for the end of the input, and would accept
         * "{}\0anything" as "{}". */
        nul = memchr(text, 0, size);
        if (nul)
                return json_error(p, text, (size_t) (nul - text), "NUL byte in document");

        if (span_whitespace(text, size) == size) {
                int r = parser_error(p, "", "document is empty");
                return r < 0 ? r : 0;
        }

        tok = json_tokener_new_ex(CONFIG_MAX_DEPTH);
        if (!tok)
                return -ENOMEM;

        /* Strict: JSON as RFC 8259 has it, not json-c's extensions (comments,
         * trailing commas, "True"), and nothing after the top-level value. */
        json_tokener_set_flags(tok, JSON_TOKENER_STRICT);

        /* size <= CONFIG_MAX_BYTES, well within int. */
        root = json_tokener_parse_ex(tok, text, (int) size);
        e = json_tokener_get_error(tok);

        if (!root && e == json_tokener_continue) {
                /* Out of input in the middle of a value. A number or literal
                 * at the very end is only complete when json-c sees the
                 * terminator, so give it one. */
                root = json_tokener_parse_ex(tok, "", 1);
                e = json_tokener_get_error(tok);
                flushed = true;
                if (!root && e == json_tokener_continue)
                        return json_error(p, text, size, json_tokener_error_desc(json_tokener_error_parse_eof));
                if (!root && e != json_tokener_success)
                        return json_error(p, text, size, json_tokener_error_desc(e));
        }

        if (!root) {
                /* A successful parse without an object: the document is "null". */
                if (e == json_tokener_success) {
                        int r = parser_error(p, "", "expected an object at the top level, got null");
                        return r < 0 ? r : 0;
                }
                return json_error(p, text, json_tokener_get_parse_end(tok), json_tokener_error_desc(e));
        }

        if (e != json_tokener_success)
                return json_error(p, text, json_tokener_get_parse_end(tok), json_tokener_error_desc(e));

        /* Strict mode refuses trailing characters itself; this only guards
         * against json-c stopping early without saying so. */
        if (!flushed) {
                size_t end = json_tokener_get_parse_end(tok);

                end += span_whitespace(text + end, size - end);
                if (end < size)
                        return json_error(p, text, end, "unexpected data after the top-level value");
        }

        *ret = TAKE_PTR(root);
        return 1;
}

static int parser_finish(Parser *p) {
        if (p->n_dropped == 0)
                return 0;

        return config_problem_add(p->problems, p->dropped_error ? PROBLEM_ERROR : PROBLEM_WARNING, "",
                                  "%zu more problems not shown", p->n_dropped);
}

int config_parse(const char *text, size_t size, HipsConfig **ret, ConfigProblems *problems) {
        _cleanup_(json_object_putp) struct json_object *root = NULL;
        _cleanup_(config_freep) HipsConfig *c = NULL;
        Parser p = { .problems = problems };
        int r;

        assert(text || size == 0);
        assert(ret);

        if (size > CONFIG_MAX_BYTES) {
                r = parser_error(&p, "", "document too large (more than %u bytes)", CONFIG_MAX_BYTES);
                return r < 0 ? r : -EINVAL;
        }

        r = parse_json(&p, text ?: "", size, &root);
        if (r < 0)
                return r;
        if (r == 0)
                return -EINVAL;

        if (!json_object_is_type(root, json_type_object)) {
                r = parser_error(&p, "", "expected an object at the top level, got %s", json_value_type_name(root));
                return r < 0 ? r : -EINVAL;
        }

        c = calloc(1, sizeof(HipsConfig));
        if (!c)
                return -ENOMEM;

        *c = (HipsConfig) {
                .mode = HIPS_MODE_SAFE,
                .gate = HIPS_GATE_AUTO,
                .decision_timeout_ms = DEFAULT_DECISION_TIMEOUT_MS,
                .fail_action = FAIL_ACTION_ALLOW,
                .hash_max_bytes = DEFAULT_HASH_MAX_BYTES,
                .tamper_action = TAMPER_ACTION_KILL,
                .monitors = {
                        .lineage = true,
                        .lineage_depth = MONITORS_DEFAULT_DEPTH,
                },
        };

        r = parse_document(&p, root, c);
        if (r < 0)
                return r;

        if (!c->critical_processes_set) {
                r = copy_defaults(default_critical_processes, ELEMENTSOF(default_critical_processes),
                                  &c->critical_processes, &c->n_critical_processes);
                if (r < 0)
                        return r;
        }
        if (!c->interpreters_set) {
                r = copy_defaults(default_interpreters, ELEMENTSOF(default_interpreters),
                                  &c->interpreters, &c->n_interpreters);
                if (r < 0)
                        return r;
        }
        if (!c->monitors.file_paths_set) {
                r = copy_defaults(default_file_paths, ELEMENTSOF(default_file_paths),
                                  &c->monitors.file_paths, &c->monitors.n_file_paths);
                if (r < 0)
                        return r;
        }
        if (!c->monitors.privilege_allow_set) {
                r = copy_defaults(default_privilege_allow, ELEMENTSOF(default_privilege_allow),
                                  &c->monitors.privilege_allow, &c->monitors.n_privilege_allow);
                if (r < 0)
                        return r;
        }

        r = parser_finish(&p);
        if (r < 0)
                return r;

        if (p.n_errors > 0)
                return -EINVAL;

        *ret = TAKE_PTR(c);
        return 0;
}

static int read_file_limited(const char *path, size_t limit, char **ret, size_t *ret_size) {
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);

        if (fd < 0)
                return negative_errno();
        return read_full_fd(fd, limit, ret, ret_size);
}

int config_load_file(const char *path, HipsConfig **ret, ConfigProblems *problems) {
        _cleanup_free_ char *text = NULL;
        size_t size;
        int r;

        assert(path);
        assert(ret);

        /* One byte over the limit is enough for config_parse() to tell a
         * too large file from one that just fits. */
        r = read_file_limited(path, CONFIG_MAX_BYTES + 1, &text, &size);
        if (r < 0) {
                int q;

                errno = -r;
                q = config_problem_add(problems, PROBLEM_ERROR, "", "cannot read %s: %m", path);
                return q < 0 ? q : r;
        }

        return config_parse(text, size, ret, problems);
}

void config_check_paths(const HipsConfig *config, ConfigProblems *problems) {
        assert(config);

        for (size_t i = 0; i < config->n_kernel_allowlist; i++) {
                char where[64], e[1024];
                struct stat st;
                int error;

                if (stat(config->kernel_allowlist[i], &st) >= 0)
                        continue;
                error = errno;

                (void) snprintf(where, sizeof(where), "kernel_allowlist[%zu]", i);
                (void) escape(config->kernel_allowlist[i], e, sizeof(e));

                /* Out of memory only loses a warning. */
                if (error == ENOENT)
                        (void) config_problem_add(problems, PROBLEM_WARNING, where,
                                                  "%s does not exist; ignored", e);
                else {
                        errno = error;
                        (void) config_problem_add(problems, PROBLEM_WARNING, where,
                                                  "cannot access %s: %m; ignored", e);
                }
        }
}

HipsConfig *config_free(HipsConfig *config) {
        if (!config)
                return NULL;

        for (size_t i = 0; i < config->n_kernel_allowlist; i++)
                free(config->kernel_allowlist[i]);
        free(config->kernel_allowlist);
        for (size_t i = 0; i < config->n_critical_processes; i++)
                free(config->critical_processes[i]);
        free(config->critical_processes);
        for (size_t i = 0; i < config->n_interpreters; i++)
                free(config->interpreters[i]);
        free(config->interpreters);

        for (size_t i = 0; i < config->n_allow; i++)
                hips_rule_done(&config->allow[i]);
        free(config->allow);

        for (size_t i = 0; i < config->n_block; i++)
                hips_rule_done(&config->block[i]);
        free(config->block);

        for (size_t i = 0; i < config->monitors.n_network_rules; i++)
                network_rule_done(&config->monitors.network_rules[i]);
        free(config->monitors.network_rules);
        for (size_t i = 0; i < config->monitors.n_file_paths; i++)
                free(config->monitors.file_paths[i]);
        free(config->monitors.file_paths);
        for (size_t i = 0; i < config->monitors.n_privilege_allow; i++)
                free(config->monitors.privilege_allow[i]);
        free(config->monitors.privilege_allow);

        free(config);
        return NULL;
}

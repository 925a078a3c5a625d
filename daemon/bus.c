/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* org.hipsd1.Manager: the control API on the system bus, served by sd-bus on
 * the daemon's event loop. The interface is documented member by member in
 * dbus/org.hipsd1.Manager.xml and org.hipsd1(5); a test compares both with
 * what this file serves. */

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <systemd/sd-bus.h>

#include "bus.h"
#include "hips-build.h"
#include "log.h"
#include "manager.h"
#include "monitor.h"
#include "rules.h"
#include "util.h"

/* Privileged calls waiting for the bus daemon to say who sent them. */
#define BUS_AUTH_PENDING_MAX 64u

/* Messages hipsd has not yet written to the bus: beyond this, a Decision
 * signal is dropped rather than queued (the bus daemon is stuck). */
#define BUS_WRITE_QUEUE_MAX 1024u

/* Limits on what an Evaluate() caller controls. */
#define EVALUATE_CMDLINE_MAX (2u * HIPS_ARGS_SIZE)

static const sd_bus_error_map hips_bus_errors[] = {
        SD_BUS_ERROR_MAP(HIPS_BUS_ERROR_INVALID_CONFIG, EINVAL),
        SD_BUS_ERROR_MAP_END
};

/* D-Bus strings must be UTF-8; file names and argv are bytes. Returns s when
 * it is valid, else a copy in *buf with each invalid byte as "\xNN" (on
 * allocation failure "?"). NULL is "". */
static size_t utf8_char_length(const unsigned char *p) {
        unsigned char c = p[0];
        uint32_t cp;
        size_t n;

        if (c < 0x80)
                return 1;
        if (c >= 0xc2 && c <= 0xdf)
                n = 2, cp = c & 0x1f;
        else if (c >= 0xe0 && c <= 0xef)
                n = 3, cp = c & 0x0f;
        else if (c >= 0xf0 && c <= 0xf4)
                n = 4, cp = c & 0x07;
        else
                return 0;

        for (size_t i = 1; i < n; i++) {
                if ((p[i] & 0xc0) != 0x80)
                        return 0;
                cp = (cp << 6) | (p[i] & 0x3f);
        }
        /* Overlong forms, surrogates, beyond U+10FFFF. */
        if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
            (cp >= 0xd800 && cp <= 0xdfff))
                return 0;
        return n;
}

static const char *utf8_safe(const char *s, char **buf) {
        const unsigned char *p;
        size_t bad = 0, k = 0;
        char *e;

        if (!s)
                return "";
        for (p = (const unsigned char *) s; *p; ) {
                size_t n = utf8_char_length(p);

                if (n == 0) {
                        bad++;
                        n = 1;
                }
                p += n;
        }
        if (bad == 0)
                return s;

        e = malloc(strlen(s) + 3 * bad + 1);
        if (!e)
                return "?";
        for (p = (const unsigned char *) s; *p; ) {
                size_t n = utf8_char_length(p);

                if (n == 0) {
                        k += (size_t) sprintf(e + k, "\\x%02x", *p);
                        p++;
                        continue;
                }
                memcpy(e + k, p, n);
                k += n;
                p += n;
        }
        e[k] = '\0';
        free(*buf);
        *buf = e;
        return e;
}

static int append_string(sd_bus_message *reply, const char *s) {
        _cleanup_free_ char *buf = NULL;

        return sd_bus_message_append_basic(reply, 's', utf8_safe(s, &buf));
}

static const char *gate_to_string(const Manager *m) {
        return m->hold_active ? "hold+stop" : "stop";
}

/* The BPF counters now; once the BPF object is gone (stopping), as last read. */
static void read_bpf_counters(Manager *m, uint64_t ret[_HIPS_CNT_MAX]) {
        if (m->bpf && hips_bpf_read_counters(m->bpf, ret) >= 0)
                return;
        memcpy(ret, m->counters, sizeof(m->counters));
}

static uint64_t bpf_counter(Manager *m, enum hips_counter which) {
        uint64_t c[_HIPS_CNT_MAX];

        read_bpf_counters(m, c);
        return c[which];
}

static uint32_t n_rules(const Manager *m, bool allow) {
        if (!m->config)
                return 0;
        return (uint32_t) (allow ? m->config->n_allow : m->config->n_block);
}

static const char *rule_list_to_string(RuleList l) {
        return l == RULE_LIST_ALLOW ? "allow" : l == RULE_LIST_BLOCK ? "block" : "none";
}

/* Properties */

static int property_get_mode(sd_bus *bus, const char *path, const char *interface, const char *property,
                             sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;

        return sd_bus_message_append(reply, "s", hips_mode_to_string(m->mode));
}

static int property_get_gate(sd_bus *bus, const char *path, const char *interface, const char *property,
                             sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        return sd_bus_message_append(reply, "s", gate_to_string(userdata));
}

static int property_get_version(sd_bus *bus, const char *path, const char *interface, const char *property,
                                sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        return sd_bus_message_append(reply, "s", HIPS_VERSION);
}

/* A string field of the Manager, at the vtable entry's offset. */
static int property_get_path(sd_bus *bus, const char *path, const char *interface, const char *property,
                             sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        return append_string(reply, *(char **) userdata);
}

static int property_get_kernel_allowlist_size(sd_bus *bus, const char *path, const char *interface,
                                              const char *property, sd_bus_message *reply, void *userdata,
                                              sd_bus_error *error) {
        Manager *m = userdata;

        return sd_bus_message_append(reply, "u", (uint32_t) m->kernel_allowlist_size);
}

static int property_get_rules(sd_bus *bus, const char *path, const char *interface, const char *property,
                              sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        return sd_bus_message_append(reply, "u", n_rules(userdata, streq(property, "AllowRules")));
}

static int property_get_bpf_counter(sd_bus *bus, const char *path, const char *interface, const char *property,
                                    sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        enum hips_counter which = streq(property, "FastPathHits") ? HIPS_CNT_FAST_PATH : HIPS_CNT_DROPS;

        return sd_bus_message_append(reply, "t", bpf_counter(userdata, which));
}

static int property_get_latency(sd_bus *bus, const char *path, const char *interface, const char *property,
                                sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        double q = streq(property, "DecisionLatencyP50USec") ? 0.5 : 0.99;

        return sd_bus_message_append(reply, "t", manager_latency_percentile(userdata, q));
}

/* Authorization of the root-only methods.
 *
 * The uid comes from the bus daemon (GetConnectionUnixUser: the uid of the
 * connected socket, SO_PEERCRED), never from /proc, which a caller can race.
 * sd_bus_query_sender_creds() would ask the same question synchronously,
 * and sd-bus's own check for methods without SD_BUS_VTABLE_UNPRIVILEGED too:
 * the loop must not wait on the bus while execs wait on the loop, so the
 * question is asked asynchronously, and the call is answered when the answer
 * comes. Every method is therefore declared UNPRIVILEGED, and those that
 * change state go through bus_verify_root_async(). */

typedef int (*authorized_fn)(Manager *m, sd_bus_message *message, sd_bus_error *error);

typedef struct BusAuthRequest {
        Manager *manager;
        sd_bus_message *message;           /* the call, answered when the uid is known */
        authorized_fn run;
        sd_bus_slot *slot;                 /* the GetConnectionUnixUser call, owned by the bus */
        struct BusAuthRequest *prev, *next;
} BusAuthRequest;

static void auth_request_destroy(void *userdata) {
        BusAuthRequest *q = userdata;
        Manager *m = q->manager;

        if (q->prev)
                q->prev->next = q->next;
        else
                m->bus_auth_requests = q->next;
        if (q->next)
                q->next->prev = q->prev;
        m->n_bus_auth_requests--;

        sd_bus_message_unref(q->message);
        free(q);
}

static int on_sender_uid(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        BusAuthRequest *q = userdata;
        const char *member = sd_bus_message_get_member(q->message);
        const char *sender = sd_bus_message_get_sender(q->message);
        const sd_bus_error *e;
        uint32_t uid = UINT32_MAX;
        int r;

        e = sd_bus_message_get_error(reply);
        if (e)
                r = sd_bus_error_setf(&error, SD_BUS_ERROR_ACCESS_DENIED,
                                      "Cannot verify who called %s(): %s", member, e->message);
        else {
                r = sd_bus_message_read(reply, "u", &uid);
                if (r < 0)
                        r = sd_bus_error_set_errnof(&error, r, "Cannot verify who called %s(): %m", member);
        }

        if (r >= 0 && uid != 0) {
                log_warning("Refused %s() from uid %" PRIu32 " (%s): root only.", member, uid, sender);
                r = sd_bus_error_setf(&error, SD_BUS_ERROR_ACCESS_DENIED,
                                      "%s() is restricted to root; called by uid %" PRIu32 ".", member, uid);
        }

        if (r >= 0) {
                log_info("%s() called by uid 0 (%s).", member, sender);
                r = sd_bus_message_rewind(q->message, true);
                if (r >= 0)
                        r = q->run(q->manager, q->message, &error);
        }

        if (r < 0)
                (void) sd_bus_reply_method_errno(q->message, r, &error);
        return 0;
}

/* Returns 1: the call is answered later (by run() once the sender is known
 * to be root, else with AccessDenied); < 0 with error set on failure. */
static int bus_verify_root_async(Manager *m, sd_bus_message *message, authorized_fn run, sd_bus_error *error) {
        const char *sender = sd_bus_message_get_sender(message);
        BusAuthRequest *q;
        int r;

        if (!sender)
                /* Not through a bus daemon: nobody to ask. */
                return sd_bus_error_set(error, SD_BUS_ERROR_ACCESS_DENIED, "Caller without a bus name.");
        if (m->n_bus_auth_requests >= BUS_AUTH_PENDING_MAX)
                return sd_bus_error_set(error, SD_BUS_ERROR_LIMITS_EXCEEDED,
                                        "Too many privileged calls in progress, try again.");

        q = calloc(1, sizeof(*q));
        if (!q)
                return -ENOMEM;
        *q = (BusAuthRequest) {
                .manager = m,
                .message = sd_bus_message_ref(message),
                .run = run,
                .next = m->bus_auth_requests,
        };

        r = sd_bus_call_method_async(m->bus, &q->slot, "org.freedesktop.DBus", "/org/freedesktop/DBus",
                                     "org.freedesktop.DBus", "GetConnectionUnixUser",
                                     on_sender_uid, q, "s", sender);
        if (r < 0) {
                sd_bus_message_unref(q->message);
                free(q);
                return r;
        }

        if (m->bus_auth_requests)
                m->bus_auth_requests->prev = q;
        m->bus_auth_requests = q;
        m->n_bus_auth_requests++;

        /* The bus owns the slot from here; freeing it (after the reply, or
         * with the bus) frees q. */
        (void) sd_bus_slot_set_destroy_callback(q->slot, auth_request_destroy);
        (void) sd_bus_slot_set_floating(q->slot, true);
        /* Drop our reference: q->slot stays valid as long as q does. */
        (void) sd_bus_slot_unref(q->slot);
        return 1;
}

/* Calls waiting for their sender's uid hold their message, and the message
 * holds the bus: drop them when the loop exits, or the bus is never freed. */
static int on_loop_exit(sd_event_source *s, void *userdata) {
        Manager *m = userdata;

        while (m->bus_auth_requests) {
                BusAuthRequest *q = m->bus_auth_requests;

                (void) sd_bus_reply_method_errorf(q->message, SD_BUS_ERROR_NO_REPLY, "hipsd is stopping.");
                /* The bus holds the only reference: this frees the slot,
                 * which frees q (auth_request_destroy()). */
                (void) sd_bus_slot_unref(q->slot);
        }
        return 0;
}

/* Methods */

static int reload_authorized(Manager *m, sd_bus_message *message, sd_bus_error *error) {
        ConfigProblems problems = {};
        int r;

        /* Logs, keeps the running rules on any error, emits PropertiesChanged. */
        r = manager_reload(m, &problems);
        if (r < 0) {
                if (config_problems_have_errors(&problems)) {
                        _cleanup_free_ char *text = config_problems_to_string(&problems);

                        r = sd_bus_error_setf(error, HIPS_BUS_ERROR_INVALID_CONFIG,
                                              "%s is invalid, the running rules stay in force:\n%s",
                                              m->config_path, text ? text : "(out of memory)");
                } else
                        r = sd_bus_error_set_errnof(error, r, "Failed to apply %s, the running rules stay in force: %m",
                                                    m->config_path);
                config_problems_done(&problems);
                return r;
        }
        config_problems_done(&problems);

        return sd_bus_reply_method_return(message, NULL);
}

static int method_reload(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        return bus_verify_root_async(userdata, message, reload_authorized, error);
}

static int set_mode_authorized(Manager *m, sd_bus_message *message, sd_bus_error *error) {
        const char *s;
        int mode, r;

        /* Validated before authorization; read again from the same message. */
        r = sd_bus_message_read(message, "s", &s);
        if (r < 0)
                return r;
        mode = hips_mode_from_string(s);
        if (mode < 0)
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "Unknown mode '%s'.", s);

        /* Logs to both logs and emits PropertiesChanged for Mode. */
        r = manager_set_mode(m, (HipsMode) mode);
        if (r < 0)
                return sd_bus_error_set_errnof(error, r, "Failed to switch to %s mode: %m", s);

        return sd_bus_reply_method_return(message, NULL);
}

static int method_set_mode(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        const char *s;
        int r;

        r = sd_bus_message_read(message, "s", &s);
        if (r < 0)
                return r;
        if (hips_mode_from_string(s) < 0)
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                         "Unknown mode '%s': expected 'safe' or 'functional'.", s);

        return bus_verify_root_async(userdata, message, set_mode_authorized, error);
}

static int append_status_string(sd_bus_message *reply, const char *key, const char *value) {
        _cleanup_free_ char *buf = NULL;

        return sd_bus_message_append(reply, "{sv}", key, "s", utf8_safe(value, &buf));
}

static int append_monitor_status(Manager *m, sd_bus_message *reply);

static int method_get_status(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        uint64_t c[_HIPS_CNT_MAX];
        Manager *m = userdata;
        int r;

        read_bpf_counters(m, c);

        r = sd_bus_message_new_method_return(message, &reply);
        if (r < 0)
                return r;
        r = sd_bus_message_open_container(reply, 'a', "{sv}");
        if (r < 0)
                return r;

        /* Every property, then what only the status has. */
        r = append_status_string(reply, "Mode", hips_mode_to_string(m->mode));
        if (r >= 0)
                r = append_status_string(reply, "Gate", gate_to_string(m));
        if (r >= 0)
                r = append_status_string(reply, "Version", HIPS_VERSION);
        if (r >= 0)
                r = append_status_string(reply, "ConfigPath", m->config_path);
        if (r >= 0)
                r = append_status_string(reply, "LogPath", m->log_path);
        if (r >= 0)
                r = sd_bus_message_append(reply, "{sv}", "RulesLoadedAt", "t", m->rules_loaded_at_usec);
        if (r >= 0)
                r = sd_bus_message_append(reply, "{sv}", "KernelAllowlistSize", "u", (uint32_t) m->kernel_allowlist_size);
        if (r >= 0)
                r = sd_bus_message_append(reply, "{sv}", "AllowRules", "u", n_rules(m, true));
        if (r >= 0)
                r = sd_bus_message_append(reply, "{sv}", "BlockRules", "u", n_rules(m, false));
        if (r >= 0)
                r = sd_bus_message_append(reply, "{sv}", "EventsSeen", "t", m->stats.events_seen);
        if (r >= 0)
                r = sd_bus_message_append(reply, "{sv}", "FastPathHits", "t", c[HIPS_CNT_FAST_PATH]);
        if (r >= 0)
                r = sd_bus_message_append(reply, "{sv}", "Allowed", "t", m->stats.allowed);
        if (r >= 0)
                r = sd_bus_message_append(reply, "{sv}", "Blocked", "t", m->stats.blocked);
        if (r >= 0)
                r = sd_bus_message_append(reply, "{sv}", "RingbufDrops", "t", c[HIPS_CNT_DROPS]);
        if (r >= 0)
                r = sd_bus_message_append(reply, "{sv}", "PendingDecisions", "u", (uint32_t) m->n_pending);
        if (r >= 0)
                r = sd_bus_message_append(reply, "{sv}", "DecisionLatencyP50USec", "t", manager_latency_percentile(m, 0.5));
        if (r >= 0)
                r = sd_bus_message_append(reply, "{sv}", "DecisionLatencyP99USec", "t", manager_latency_percentile(m, 0.99));
        if (r >= 0)
                r = sd_bus_message_append(reply, "{sv}", "HoldDecisions", "t", m->stats.hold_decisions);
        if (r >= 0)
                r = sd_bus_message_append(reply, "{sv}", "StopDecisions", "t", m->stats.stop_decisions);
        if (r >= 0)
                r = sd_bus_message_append(reply, "{sv}", "AfterDecisions", "t", m->stats.after_decisions);
        if (r >= 0)
                r = sd_bus_message_append(reply, "{sv}", "Vanished", "t", m->stats.vanished);
        if (r >= 0)
                r = sd_bus_message_append(reply, "{sv}", "DecisionSignalsDropped", "t", m->bus_signals_dropped);
        if (r >= 0)
                r = append_monitor_status(m, reply);
        if (r < 0)
                return r;

        r = sd_bus_message_close_container(reply);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

static int append_rule(sd_bus_message *reply, const HipsRule *rule, bool allow, size_t index) {
        char name[64];
        int r;

        if (!rule->name)
                (void) snprintf(name, sizeof(name), "%s[%zu]", allow ? "allowlist" : "blocklist", index);

        r = sd_bus_message_open_container(reply, 'r', "susssssbu");
        if (r >= 0)
                r = sd_bus_message_append(reply, "su", allow ? "allow" : "block", (uint32_t) index);
        if (r >= 0)
                r = append_string(reply, rule->name ? rule->name : name);
        if (r >= 0)
                r = append_string(reply, rule->filename);
        if (r >= 0)
                r = append_string(reply, rule->cmdline);
        if (r >= 0)
                r = append_string(reply, rule->parent_cmdline);
        if (r >= 0)
                r = append_string(reply, rule->sha256);
        if (r >= 0)
                r = sd_bus_message_append(reply, "bu", (int) rule->has_uid, rule->uid);
        if (r >= 0)
                r = sd_bus_message_close_container(reply);
        return r;
}

static int method_list_rules(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        Manager *m = userdata;
        int r;

        r = sd_bus_message_new_method_return(message, &reply);
        if (r < 0)
                return r;
        r = sd_bus_message_open_container(reply, 'a', "(susssssbu)");
        if (r < 0)
                return r;
        for (size_t i = 0; m->config && i < m->config->n_allow && r >= 0; i++)
                r = append_rule(reply, &m->config->allow[i], true, i);
        for (size_t i = 0; m->config && i < m->config->n_block && r >= 0; i++)
                r = append_rule(reply, &m->config->block[i], false, i);
        if (r < 0)
                return r;
        r = sd_bus_message_close_container(reply);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

static int check_config_authorized(Manager *m, sd_bus_message *message, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        ConfigProblems problems = {};
        HipsConfig *c = NULL;
        const char *path;
        int r;

        r = sd_bus_message_read(message, "s", &path);
        if (r < 0)
                return r;
        if (path[0] == '\0')
                path = m->config_path;

        /* As the daemon would load it, without taking it into force. */
        r = config_load_file(path, &c, &problems);
        if (r >= 0)
                config_check_paths(c, &problems);
        config_free(c);
        if (r == -ENOMEM)
                goto finish;

        r = sd_bus_message_new_method_return(message, &reply);
        if (r >= 0)
                r = sd_bus_message_open_container(reply, 'a', "(ss)");
        for (size_t i = 0; i < problems.n && r >= 0; i++) {
                const ConfigProblem *p = &problems.items[i];
                _cleanup_free_ char *what = NULL;

                if (asprintf(&what, "%s: %s", p->severity == PROBLEM_ERROR ? "error" : "warning", p->what) < 0) {
                        r = -ENOMEM;
                        break;
                }
                r = sd_bus_message_open_container(reply, 'r', "ss");
                if (r >= 0)
                        r = append_string(reply, p->where);
                if (r >= 0)
                        r = append_string(reply, what);
                if (r >= 0)
                        r = sd_bus_message_close_container(reply);
        }
        if (r >= 0)
                r = sd_bus_message_close_container(reply);
        if (r >= 0)
                r = sd_bus_send(NULL, reply, NULL);
finish:
        config_problems_done(&problems);
        return r;
}

static int method_check_config(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        const char *path;
        int r;

        r = sd_bus_message_read(message, "s", &path);
        if (r < 0)
                return r;
        if (path[0] != '\0' && path[0] != '/')
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                         "Config path must be absolute (or empty for %s), got '%s'.",
                                         ((Manager *) userdata)->config_path, path);
        if (strlen(path) >= PATH_MAX)
                return sd_bus_error_set(error, SD_BUS_ERROR_INVALID_ARGS, "Config path too long.");

        /* Root only: it reads any file with hipsd's privileges. */
        return bus_verify_root_async(userdata, message, check_config_authorized, error);
}

static bool sha256_valid(const char *s) {
        size_t n = 0;

        for (; s[n]; n++)
                if (!strchr("0123456789abcdefABCDEF", s[n]))
                        return false;
        return n == SHA256_HEX_SIZE - 1;
}

static int method_evaluate(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        const char *filename, *cmdline, *parent_cmdline, *sha256, *rule;
        _cleanup_free_ char *resolved = NULL;
        Manager *m = userdata;
        char rule_buf[128];
        ExecSubject subject;
        struct stat st;
        Judgement j;
        uint32_t uid;
        int r;

        r = sd_bus_message_read(message, "ssssu", &filename, &cmdline, &parent_cmdline, &sha256, &uid);
        if (r < 0)
                return r;

        if (filename[0] != '/')
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                         "filename must be an absolute path, got '%s'.", filename);
        if (strlen(filename) >= PATH_MAX)
                return sd_bus_error_set(error, SD_BUS_ERROR_INVALID_ARGS, "filename too long.");
        if (strlen(cmdline) > EVALUATE_CMDLINE_MAX || strlen(parent_cmdline) > EVALUATE_CMDLINE_MAX)
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                         "cmdline and parent_cmdline are limited to %u bytes.", EVALUATE_CMDLINE_MAX);
        if (sha256[0] != '\0' && !sha256_valid(sha256))
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                         "sha256 must be 64 hexadecimal digits, got '%s'.", sha256);
        if (!m->config)
                return sd_bus_error_set(error, SD_BUS_ERROR_FAILED, "No rules loaded.");

        /* As the judge sees a real exec: the resolved path of the file that
         * would run, and its identity, which exact rules also match by (a
         * hard link or symlink to a listed file). A file that does not exist
         * is judged by the path given. */
        resolved = realpath(filename, NULL);
        subject = (ExecSubject) {
                .filename = resolved ? resolved : filename,
                .cmdline = cmdline[0] ? cmdline : NULL,
                .parent_cmdline = parent_cmdline[0] ? parent_cmdline : NULL,
                .sha256 = sha256[0] ? sha256 : NULL,
                .uid = uid,
        };
        if (stat(filename, &st) == 0) {
                subject.has_identity = true;
                subject.dev = (uint64_t) st.st_dev;
                subject.ino = (uint64_t) st.st_ino;
        }

        rules_judge(m->config->allow, m->config->n_allow, m->config->block, m->config->n_block, &subject, &j);
        rule = judgement_rule_name(&j, rule_buf, sizeof(rule_buf));

        r = sd_bus_message_new_method_return(message, &reply);
        if (r >= 0)
                r = sd_bus_message_append(reply, "ss", j.verdict == VERDICT_ALLOW ? "allow" : "block",
                                          rule_list_to_string(j.list));
        if (r >= 0)
                r = append_string(reply, rule);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

/* The interface. Its documentation is dbus/org.hipsd1.Manager.xml and
 * org.hipsd1(5); the e2e test checks that both match what is served here.
 *
 * Every method is SD_BUS_VTABLE_UNPRIVILEGED: the root-only ones check the
 * caller themselves, asynchronously (bus_verify_root_async()). Counters and
 * latencies change with every exec and emit no PropertiesChanged. */
/* Properties without a getter are read by sd-bus straight from these
 * fields: their sizes must be those of the D-Bus types. */
#define ASSERT_FIELD_FITS(field, type) \
        _Static_assert(sizeof(((Manager *) NULL)->field) == sizeof(type), #field " does not fit its D-Bus type")
ASSERT_FIELD_FITS(rules_loaded_at_usec, uint64_t);
ASSERT_FIELD_FITS(stats.events_seen, uint64_t);
ASSERT_FIELD_FITS(stats.allowed, uint64_t);
ASSERT_FIELD_FITS(stats.blocked, uint64_t);
ASSERT_FIELD_FITS(n_pending, uint32_t);

static const sd_bus_vtable manager_vtable[] = {
        SD_BUS_VTABLE_START(0),

        /* Root only: Reload, SetMode, CheckConfig (bus_verify_root_async()). */

        SD_BUS_METHOD_WITH_ARGS("Reload",
                                SD_BUS_NO_ARGS,
                                SD_BUS_NO_RESULT,
                                method_reload, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("SetMode",
                                SD_BUS_ARGS("s", mode),
                                SD_BUS_NO_RESULT,
                                method_set_mode, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("GetStatus",
                                SD_BUS_NO_ARGS,
                                SD_BUS_RESULT("a{sv}", status),
                                method_get_status, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("ListRules",
                                SD_BUS_NO_ARGS,
                                SD_BUS_RESULT("a(susssssbu)", rules),
                                method_list_rules, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("CheckConfig",
                                SD_BUS_ARGS("s", path),
                                SD_BUS_RESULT("a(ss)", problems),
                                method_check_config, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Evaluate",
                                SD_BUS_ARGS("s", filename, "s", cmdline, "s", parent_cmdline, "s", sha256, "u", uid),
                                SD_BUS_RESULT("s", action, "s", list, "s", rule),
                                method_evaluate, SD_BUS_VTABLE_UNPRIVILEGED),

        SD_BUS_SIGNAL_WITH_ARGS("Decision",
                                SD_BUS_ARGS("t", exec_id, "u", pid, "u", ppid, "u", uid,
                                            "s", filename, "s", cmdline, "s", sha256,
                                            "s", layer, "s", action, "s", rule, "s", reason,
                                            "t", latency_usec),
                                0),
        SD_BUS_SIGNAL_WITH_ARGS("MonitorEvent",
                                SD_BUS_ARGS("s", type, "s", summary, "a{ss}", fields),
                                0),

        SD_BUS_PROPERTY("Mode", "s", property_get_mode, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Gate", "s", property_get_gate, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Version", "s", property_get_version, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("ConfigPath", "s", property_get_path, offsetof(Manager, config_path), SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("LogPath", "s", property_get_path, offsetof(Manager, log_path), SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("RulesLoadedAt", "t", NULL, offsetof(Manager, rules_loaded_at_usec), SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("KernelAllowlistSize", "u", property_get_kernel_allowlist_size, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("AllowRules", "u", property_get_rules, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("BlockRules", "u", property_get_rules, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("EventsSeen", "t", NULL, offsetof(Manager, stats.events_seen), 0),
        SD_BUS_PROPERTY("FastPathHits", "t", property_get_bpf_counter, 0, 0),
        SD_BUS_PROPERTY("Allowed", "t", NULL, offsetof(Manager, stats.allowed), 0),
        SD_BUS_PROPERTY("Blocked", "t", NULL, offsetof(Manager, stats.blocked), 0),
        SD_BUS_PROPERTY("RingbufDrops", "t", property_get_bpf_counter, 0, 0),
        SD_BUS_PROPERTY("PendingDecisions", "u", NULL, offsetof(Manager, n_pending), 0),
        SD_BUS_PROPERTY("DecisionLatencyP50USec", "t", property_get_latency, 0, 0),
        SD_BUS_PROPERTY("DecisionLatencyP99USec", "t", property_get_latency, 0, 0),

        SD_BUS_VTABLE_END
};

/* Signals */

void bus_emit_decision(Manager *m, const DecisionRecord *d) {
        _cleanup_free_ char *filename = NULL, *cmdline = NULL, *rule = NULL;
        uint64_t queued = 0;
        int r;

        if (!m->bus || sd_bus_is_open(m->bus) <= 0)
                return;

        /* The bus daemon reads as fast as we write, unless it is stuck:
         * never let a stuck bus grow our memory without bound. */
        if (sd_bus_get_n_queued_write(m->bus, &queued) >= 0 && queued >= BUS_WRITE_QUEUE_MAX)
                r = -ENOBUFS;
        else
                r = sd_bus_emit_signal(m->bus, HIPS_BUS_PATH, HIPS_BUS_INTERFACE, "Decision", "tuuussssssst",
                                       d->exec_id, (uint32_t) d->pid, (uint32_t) d->ppid, (uint32_t) d->uid,
                                       utf8_safe(d->filename, &filename),
                                       utf8_safe(d->cmdline, &cmdline),
                                       d->sha256 ? d->sha256 : "",
                                       d->layer ? d->layer : "",
                                       d->action ? d->action : "",
                                       utf8_safe(d->rule, &rule),
                                       d->reason ? d->reason : "",
                                       d->latency_us);
        if (r < 0 && r != -ENOTCONN) {
                m->bus_signals_dropped++;
                /* At 1, 2, 4, 8... drops: a stuck bus cannot flood the log either. */
                if ((m->bus_signals_dropped & (m->bus_signals_dropped - 1)) == 0)
                        log_warning_errno(r, "Dropped a Decision signal (%" PRIu64 " so far): %m",
                                          m->bus_signals_dropped);
        }
}

void bus_emit_properties_changed(Manager *m, const char *first, ...) {
        char *names[16 + 1];
        size_t n = 0;
        va_list ap;
        int r;

        if (!m->bus || sd_bus_is_open(m->bus) <= 0)
                return;

        va_start(ap, first);
        for (const char *p = first; p && n < ELEMENTSOF(names) - 1; p = va_arg(ap, const char *))
                names[n++] = (char *) p;
        va_end(ap);
        names[n] = NULL;

        r = sd_bus_emit_properties_changed_strv(m->bus, HIPS_BUS_PATH, HIPS_BUS_INTERFACE, names);
        if (r < 0)
                log_debug_errno(r, "Failed to emit PropertiesChanged: %m");
}

/* Setup */

static int on_name_request(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        Manager *m = userdata;
        const sd_bus_error *e = sd_bus_message_get_error(reply);
        uint32_t ret;
        int r;

        m->bus_name_pending = false;
        manager_notify_ready(m);
        if (e) {
                log_warning("Cannot own D-Bus name %s, control API unavailable: %s", HIPS_BUS_NAME, e->message);
                return 0;
        }
        r = sd_bus_message_read(reply, "u", &ret);
        if (r < 0) {
                log_warning_errno(r, "Cannot parse the reply to RequestName(%s): %m", HIPS_BUS_NAME);
                return 0;
        }
        /* 1: primary owner, 4: already the owner; 3: someone else has it. */
        if (ret == 1 || ret == 4)
                log_info("Serving the control API as %s on the system bus.", HIPS_BUS_NAME);
        else
                log_warning("D-Bus name %s is owned by another process, control API unavailable.", HIPS_BUS_NAME);
        return 0;
}

static int on_bus_message(sd_bus_message *message, void *userdata, sd_bus_error *ret_error) {
        /* Synthesized by sd-bus when the connection ends (the bus daemon went away). */
        if (sd_bus_message_is_signal(message, "org.freedesktop.DBus.Local", "Disconnected"))
                log_warning("Lost the connection to the system bus, control API disabled until hipsd restarts.");
        return 0;
}

int bus_setup(Manager *m) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        int r;

        r = sd_bus_open_system_with_description(&bus, "hipsd");
        if (r < 0) {
                /* Gating never depends on the bus. */
                log_warning_errno(r, "D-Bus system bus unavailable, control API disabled: %m");
                return 0;
        }

        r = sd_bus_error_add_map(hips_bus_errors);
        if (r < 0)
                return log_error_errno(r, "Failed to register D-Bus errors: %m");

        /* A lost bus must not stop the gate. */
        r = sd_bus_set_exit_on_disconnect(bus, false);
        if (r >= 0)
                r = sd_bus_add_filter(bus, NULL, on_bus_message, m);
        if (r < 0)
                return log_error_errno(r, "Failed to watch the D-Bus connection: %m");

        r = sd_bus_add_object_vtable(bus, NULL, HIPS_BUS_PATH, HIPS_BUS_INTERFACE, manager_vtable, m);
        if (r < 0)
                return log_error_errno(r, "Failed to register D-Bus object %s: %m", HIPS_BUS_PATH);

        r = sd_bus_request_name_async(bus, NULL, HIPS_BUS_NAME, 0, on_name_request, m);
        if (r < 0)
                return log_error_errno(r, "Failed to request D-Bus name %s: %m", HIPS_BUS_NAME);
        m->bus_name_pending = true;

        r = sd_bus_attach_event(bus, m->event, SD_EVENT_PRIORITY_NORMAL);
        if (r < 0)
                return log_error_errno(r, "Failed to attach the bus to the event loop: %m");

        r = sd_event_add_exit(m->event, NULL, on_loop_exit, m);
        if (r < 0)
                return log_error_errno(r, "Failed to add bus exit handler: %m");

        m->bus = TAKE_PTR(bus);
        return 0;
}

/* Monitor events (daemon/monitor.h) */

void bus_emit_monitor_event(Manager *m, const char *type, const char *summary, const char *const *fields) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *s = NULL;
        _cleanup_free_ char *buf = NULL;
        uint64_t queued = 0;
        int r;

        if (!m->bus || sd_bus_is_open(m->bus) <= 0)
                return;

        if (sd_bus_get_n_queued_write(m->bus, &queued) >= 0 && queued >= BUS_WRITE_QUEUE_MAX)
                r = -ENOBUFS;
        else {
                r = sd_bus_message_new_signal(m->bus, &s, HIPS_BUS_PATH, HIPS_BUS_INTERFACE, "MonitorEvent");
                if (r >= 0)
                        r = sd_bus_message_append(s, "ss", type, utf8_safe(summary, &buf));
                if (r >= 0)
                        r = sd_bus_message_open_container(s, 'a', "{ss}");
                for (size_t i = 0; r >= 0 && fields && fields[i] && fields[i + 1]; i += 2) {
                        _cleanup_free_ char *v = NULL;

                        r = sd_bus_message_append(s, "{ss}", fields[i], utf8_safe(fields[i + 1], &v));
                }
                if (r >= 0)
                        r = sd_bus_message_close_container(s);
                if (r >= 0)
                        r = sd_bus_send(m->bus, s, NULL);
        }
        if (r < 0 && r != -ENOTCONN) {
                m->bus_signals_dropped++;
                if ((m->bus_signals_dropped & (m->bus_signals_dropped - 1)) == 0)
                        log_warning_errno(r, "Dropped a MonitorEvent signal (%" PRIu64 " signals so far): %m",
                                          m->bus_signals_dropped);
        }
}

/* GetStatus(): per monitor, "Monitor<Name>Enabled" (b) and its counters (t). */
static int append_monitor_status(Manager *m, sd_bus_message *reply) {
        static const struct {
                const char *suffix;
                size_t offset;
        } counters[] = {
                { "Events",        offsetof(MonitorCounters, events)        },
                { "Alerts",        offsetof(MonitorCounters, alerts)        },
                { "Kills",         offsetof(MonitorCounters, kills)         },
                { "KernelEvents",  offsetof(MonitorCounters, kernel_events) },
                { "KernelDrops",   offsetof(MonitorCounters, kernel_drops)  },
        };
        int r = 0;

        for (unsigned i = 0; i < _HIPS_MON_MAX && r >= 0; i++) {
                const Monitor *mon = monitor_get((enum hips_mon_id) i);
                MonitorCounters c = {};
                char key[64], name[32];

                (void) snprintf(name, sizeof(name), "%s", mon->name);
                name[0] = (char) (name[0] - 'a' + 'A');
                if (m->monitors)
                        monitors_get_counters(m->monitors, mon->id, &c);

                (void) snprintf(key, sizeof(key), "Monitor%sEnabled", name);
                r = sd_bus_message_append(reply, "{sv}", key, "b", monitors_enabled(m->monitors, mon->id));
                for (size_t k = 0; k < ELEMENTSOF(counters) && r >= 0; k++) {
                        (void) snprintf(key, sizeof(key), "Monitor%s%s", name, counters[k].suffix);
                        r = sd_bus_message_append(reply, "{sv}", key, "t",
                                                  *(const uint64_t *) ((const char *) &c + counters[k].offset));
                }
        }
        return r;
}

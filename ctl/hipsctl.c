/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* hipsctl: a client of hipsd's control API on the system bus (org.hipsd1(5))
 * and nothing else: it never reads hipsd's files or signals its pid. */

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include "hips-build.h"
#include "util.h"

#define BUS_NAME "org.hipsd1"
#define BUS_PATH "/org/hipsd1"
#define BUS_INTERFACE "org.hipsd1.Manager"
#define BUS_ERROR_INVALID_CONFIG "org.hipsd1.Error.InvalidConfig"

/* Exit codes (documented in --help and org.hipsd1(5)). */
enum {
        EXIT_OK = 0,
        EXIT_DAEMON = 1,        /* hipsd refused or failed, or check-config found errors */
        EXIT_USAGE = 2,
        EXIT_NOT_RUNNING = 3,   /* no system bus, or nobody owns org.hipsd1 */
};

#define JSON_FLAGS (JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)

static bool arg_json = false;
static const char *arg_filename = NULL;
static const char *arg_cmdline = "";
static const char *arg_parent_cmdline = "";
static const char *arg_sha256 = "";
static const char *arg_uid = NULL;
static uint32_t arg_uid_value;
static bool arg_evaluate_options = false;
static const char *arg_type = NULL;     /* monitor --type */

/* What "monitor --type" takes: "exec" (decisions) and the monitors' event types. */
static const char *const event_types[] = { "exec", "process", "network", "dns", "file", "privilege" };

/* The monitors as GetStatus() names them ("Monitor<Name>..."), and their config keys. */
static const struct {
        const char *status_name;
        const char *name;
} status_monitors[] = {
        { "Lineage", "lineage" }, { "Network", "network" }, { "Dns", "dns" },
        { "Files", "files" }, { "Privilege", "privilege" },
};

static void json_object_putp(struct json_object **o) {
        json_object_put(*o);
}

static void help(void) {
        printf("Usage: hipsctl [OPTIONS] COMMAND ...\n\n"
               "Control hipsd, the exec gate, over the system bus.\n\n"
               "Commands:\n"
               "  status                      mode, rules, counters and decision latency\n"
               "  reload                      re-read hipsd's config file (root)\n"
               "  mode safe|functional        switch mode; takes effect for the next exec (root)\n"
               "  rules                       the rules in force\n"
               "  check-config [PATH]         validate a config file without applying it (root);\n"
               "                              without PATH, hipsd's own config file\n"
               "  evaluate --filename PATH    the decision the rules in force would give an exec\n"
               "           [--cmdline ARGS] [--parent-cmdline ARGS] [--sha256 HEX] [--uid UID]\n"
               "                              (--uid defaults to yours; a field left out is\n"
               "                              unknown, and a rule that sets it does not match)\n"
               "  monitor [--type TYPE]       print each decision and monitor event as it is\n"
               "                              made, until Ctrl-C; TYPE: exec (decisions),\n"
               "                              process, network, dns, file or privilege\n"
               "                              (the bus policy delivers decisions to root only)\n\n"
               "Options:\n"
               "     --json                   machine-readable output: one JSON value\n"
               "                              (monitor: one JSON object per line)\n"
               "  -h --help                   this text\n"
               "     --version                print the version\n\n"
               "Exit status:\n"
               "  0  success\n"
               "  1  hipsd refused or reported an error (an invalid config on reload,\n"
               "     permission denied, ...), or check-config found errors\n"
               "  2  usage error\n"
               "  3  hipsd is not running, or the system bus cannot be reached\n\n"
               "See org.hipsd1(5) for the D-Bus interface.\n");
}

/* One clear line (plus the problem list of an invalid config) for a failed call. */
static int call_failed(const char *what, const sd_bus_error *error, int r) {
        if (sd_bus_error_has_name(error, SD_BUS_ERROR_SERVICE_UNKNOWN) ||
            sd_bus_error_has_name(error, SD_BUS_ERROR_NAME_HAS_NO_OWNER)) {
                fprintf(stderr, "hipsctl: hipsd is not running (nobody owns %s on the system bus).\n", BUS_NAME);
                return EXIT_NOT_RUNNING;
        }
        if (sd_bus_error_has_name(error, SD_BUS_ERROR_ACCESS_DENIED)) {
                if (error->message && strncmp(error->message, "Rejected send message", 21) == 0)
                        /* From the bus daemon: its message is a dump of the policy match. */
                        fprintf(stderr, "hipsctl: %s: permission denied by the bus policy (root only).\n", what);
                else
                        fprintf(stderr, "hipsctl: %s: permission denied: %s\n", what, error->message);
                return EXIT_DAEMON;
        }
        if (sd_bus_error_has_name(error, BUS_ERROR_INVALID_CONFIG)) {
                fprintf(stderr, "hipsctl: %s rejected: %s\n", what, error->message);
                return EXIT_DAEMON;
        }
        if (sd_bus_error_is_set(error))
                fprintf(stderr, "hipsctl: %s failed: %s\n", what, error->message ? error->message : error->name);
        else
                fprintf(stderr, "hipsctl: %s failed: %s\n", what, strerror(-r));
        return EXIT_DAEMON;
}

static int bad_reply(const char *what, int r) {
        fprintf(stderr, "hipsctl: %s: unexpected reply from hipsd: %s\n", what, strerror(-r));
        return EXIT_DAEMON;
}

static void print_json(struct json_object *o) {
        const char *s = json_object_to_json_string_ext(o, JSON_FLAGS);

        puts(s ? s : "null");
}

static int json_add(struct json_object *o, const char *key, struct json_object *v) {
        /* v may be NULL: JSON null (or an allocation failure, caught by the caller's object). */
        if (json_object_object_add(o, key, v) < 0) {
                json_object_put(v);
                return -ENOMEM;
        }
        return 0;
}

static int json_add_string(struct json_object *o, const char *key, const char *value) {
        struct json_object *v = json_object_new_string(value);

        return v ? json_add(o, key, v) : -ENOMEM;
}

static int json_add_int(struct json_object *o, const char *key, int64_t value) {
        struct json_object *v = json_object_new_int64(value);

        return v ? json_add(o, key, v) : -ENOMEM;
}

static int json_add_uint(struct json_object *o, const char *key, uint64_t value) {
        struct json_object *v = json_object_new_uint64(value);

        return v ? json_add(o, key, v) : -ENOMEM;
}

/* status */

/* The a{sv} of GetStatus() as a JSON object: s → string, t/u → number, b → bool. */
static int read_status(sd_bus_message *reply, struct json_object **ret) {
        _cleanup_(json_object_putp) struct json_object *o = json_object_new_object();
        int r;

        if (!o)
                return -ENOMEM;
        r = sd_bus_message_enter_container(reply, 'a', "{sv}");
        if (r < 0)
                return r;
        while ((r = sd_bus_message_enter_container(reply, 'e', "sv")) > 0) {
                const char *key, *contents;
                char type;

                r = sd_bus_message_read(reply, "s", &key);
                if (r < 0)
                        return r;
                r = sd_bus_message_peek_type(reply, &type, &contents);
                if (r < 0)
                        return r;
                r = sd_bus_message_enter_container(reply, 'v', contents);
                if (r < 0)
                        return r;
                if (streq(contents, "s")) {
                        const char *s;

                        r = sd_bus_message_read(reply, "s", &s);
                        if (r >= 0)
                                r = json_add_string(o, key, s);
                } else if (streq(contents, "t")) {
                        uint64_t t;

                        r = sd_bus_message_read(reply, "t", &t);
                        if (r >= 0)
                                r = json_add_uint(o, key, t);
                } else if (streq(contents, "u")) {
                        uint32_t u;

                        r = sd_bus_message_read(reply, "u", &u);
                        if (r >= 0)
                                r = json_add_int(o, key, u);
                } else if (streq(contents, "b")) {
                        int b;

                        r = sd_bus_message_read(reply, "b", &b);
                        if (r >= 0) {
                                struct json_object *v = json_object_new_boolean(b);

                                r = v ? json_add(o, key, v) : -ENOMEM;
                        }
                } else
                        /* A newer hipsd: skip what we do not know. */
                        r = sd_bus_message_skip(reply, contents);
                if (r < 0)
                        return r;
                r = sd_bus_message_exit_container(reply);
                if (r >= 0)
                        r = sd_bus_message_exit_container(reply);
                if (r < 0)
                        return r;
        }
        if (r < 0)
                return r;
        r = sd_bus_message_exit_container(reply);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(o);
        return 0;
}

static const char *status_str(struct json_object *o, const char *key) {
        struct json_object *v;

        if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
                return "?";
        return json_object_get_string(v);
}

static uint64_t status_u64(struct json_object *o, const char *key) {
        struct json_object *v;

        if (!json_object_object_get_ex(o, key, &v))
                return 0;
        return json_object_get_uint64(v);
}

static void format_realtime(uint64_t usec, char *buf, size_t size) {
        time_t t = (time_t) (usec / 1000000);
        struct tm tm;

        if (usec == 0 || !localtime_r(&t, &tm) || strftime(buf, size, "%Y-%m-%d %H:%M:%S %Z", &tm) == 0)
                (void) snprintf(buf, size, "never");
}

/* "Monitor<Name><what>": a GetStatus() key, in a buffer that the next call reuses. */
static const char *monitor_key(const char *name, const char *what) {
        static char keys[8][64];
        static unsigned next;
        char *k = keys[next++ % ELEMENTSOF(keys)];

        (void) snprintf(k, sizeof(keys[0]), "Monitor%s%s", name, what);
        return k;
}

static int verb_status(sd_bus *bus, char **args) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(json_object_putp) struct json_object *o = NULL;
        char loaded[64];
        int r;

        r = sd_bus_call_method(bus, BUS_NAME, BUS_PATH, BUS_INTERFACE, "GetStatus", &error, &reply, NULL);
        if (r < 0)
                return call_failed("status", &error, r);
        r = read_status(reply, &o);
        if (r < 0)
                return bad_reply("status", r);

        if (arg_json) {
                print_json(o);
                return EXIT_OK;
        }

        format_realtime(status_u64(o, "RulesLoadedAt"), loaded, sizeof(loaded));
        printf("hipsd %s: %s mode, gate %s\n", status_str(o, "Version"), status_str(o, "Mode"), status_str(o, "Gate"));
        printf("     Config: %s (loaded %s)\n", status_str(o, "ConfigPath"), loaded);
        printf("      Rules: %" PRIu64 " allow, %" PRIu64 " block, %" PRIu64 " kernel allowlist files\n",
               status_u64(o, "AllowRules"), status_u64(o, "BlockRules"), status_u64(o, "KernelAllowlistSize"));
        printf("        Log: %s\n", status_str(o, "LogPath"));
        printf("  Decisions: %" PRIu64 " (%" PRIu64 " allowed, %" PRIu64 " blocked), %" PRIu64 " pending\n",
               status_u64(o, "EventsSeen"), status_u64(o, "Allowed"), status_u64(o, "Blocked"),
               status_u64(o, "PendingDecisions"));
        printf("  Fast path: %" PRIu64 " kernel allowlist hits\n", status_u64(o, "FastPathHits"));
        printf("Ring buffer: %" PRIu64 " events dropped\n", status_u64(o, "RingbufDrops"));
        printf("    Latency: p50 %" PRIu64 " us, p99 %" PRIu64 " us\n",
               status_u64(o, "DecisionLatencyP50USec"), status_u64(o, "DecisionLatencyP99USec"));
        for (size_t i = 0; i < ELEMENTSOF(status_monitors); i++) {
                struct json_object *v;

                if (!json_object_object_get_ex(o, monitor_key(status_monitors[i].status_name, "Enabled"), &v))
                        continue;       /* an older hipsd */
                printf("%s %-9s %-3s  %" PRIu64 " events, %" PRIu64 " alerts, %" PRIu64 " kills, %" PRIu64
                       " from the kernel, %" PRIu64 " lost\n",
                       i == 0 ? "   Monitors:" : "            ", status_monitors[i].name,
                       json_object_get_boolean(v) ? "on" : "off",
                       status_u64(o, monitor_key(status_monitors[i].status_name, "Events")),
                       status_u64(o, monitor_key(status_monitors[i].status_name, "Alerts")),
                       status_u64(o, monitor_key(status_monitors[i].status_name, "Kills")),
                       status_u64(o, monitor_key(status_monitors[i].status_name, "KernelEvents")),
                       status_u64(o, monitor_key(status_monitors[i].status_name, "KernelDrops")));
        }
        return EXIT_OK;
}

/* reload, mode */

static int verb_reload(sd_bus *bus, char **args) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        int r;

        r = sd_bus_call_method(bus, BUS_NAME, BUS_PATH, BUS_INTERFACE, "Reload", &error, NULL, NULL);
        if (r < 0)
                return call_failed("reload", &error, r);
        return EXIT_OK;
}

static int verb_mode(sd_bus *bus, char **args) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        int r;

        r = sd_bus_call_method(bus, BUS_NAME, BUS_PATH, BUS_INTERFACE, "SetMode", &error, NULL, "s", args[0]);
        if (r < 0)
                return call_failed("mode", &error, r);
        return EXIT_OK;
}

/* rules */

static int verb_rules(sd_bus *bus, char **args) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(json_object_putp) struct json_object *array = NULL;
        const char *list, *name, *filename, *cmdline, *parent_cmdline, *sha256;
        uint32_t index, uid;
        int has_uid, r;

        r = sd_bus_call_method(bus, BUS_NAME, BUS_PATH, BUS_INTERFACE, "ListRules", &error, &reply, NULL);
        if (r < 0)
                return call_failed("rules", &error, r);

        array = json_object_new_array();
        if (!array)
                return bad_reply("rules", -ENOMEM);
        r = sd_bus_message_enter_container(reply, 'a', "(susssssbu)");
        if (r < 0)
                return bad_reply("rules", r);
        if (!arg_json)
                printf("%-5s %-32s %s\n", "LIST", "NAME", "MATCHES");
        while ((r = sd_bus_message_read(reply, "(susssssbu)", &list, &index, &name, &filename, &cmdline,
                                        &parent_cmdline, &sha256, &has_uid, &uid)) > 0) {
                if (arg_json) {
                        struct json_object *o = json_object_new_object();

                        if (!o || json_object_array_add(array, o) < 0) {
                                json_object_put(o);
                                return bad_reply("rules", -ENOMEM);
                        }
                        r = json_add_string(o, "list", list);
                        if (r >= 0)
                                r = json_add_int(o, "index", index);
                        if (r >= 0)
                                r = json_add_string(o, "name", name);
                        /* Only the fields the rule sets, as in the config. */
                        if (r >= 0 && *filename)
                                r = json_add_string(o, "filename", filename);
                        if (r >= 0 && *cmdline)
                                r = json_add_string(o, "cmdline", cmdline);
                        if (r >= 0 && *parent_cmdline)
                                r = json_add_string(o, "parent_cmdline", parent_cmdline);
                        if (r >= 0 && *sha256)
                                r = json_add_string(o, "sha256", sha256);
                        if (r >= 0 && has_uid)
                                r = json_add_int(o, "uid", uid);
                        if (r < 0)
                                return bad_reply("rules", r);
                        continue;
                }

                printf("%-5s %-32s", list, name);
                if (*filename)
                        printf(" filename=%s", filename);
                if (*cmdline)
                        printf(" cmdline=\"%s\"", cmdline);
                if (*parent_cmdline)
                        printf(" parent_cmdline=\"%s\"", parent_cmdline);
                if (*sha256)
                        printf(" sha256=%s", sha256);
                if (has_uid)
                        printf(" uid=%" PRIu32, uid);
                printf("\n");
        }
        if (r < 0)
                return bad_reply("rules", r);
        if (arg_json)
                print_json(array);
        return EXIT_OK;
}

/* check-config */

static int verb_check_config(sd_bus *bus, char **args) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(json_object_putp) struct json_object *array = NULL;
        _cleanup_free_ char *path = NULL;
        unsigned n_errors = 0, n_warnings = 0;
        const char *where, *what;
        int r;

        /* hipsd does not share our working directory. */
        if (args[0] && args[0][0] != '/') {
                char cwd[PATH_MAX];

                if (!getcwd(cwd, sizeof(cwd)) || asprintf(&path, "%s/%s", cwd, args[0]) < 0) {
                        fprintf(stderr, "hipsctl: cannot make %s absolute: %s\n", args[0], strerror(errno));
                        return EXIT_DAEMON;
                }
        } else if (args[0]) {
                path = strdup(args[0]);
                if (!path)
                        return bad_reply("check-config", -ENOMEM);
        }

        r = sd_bus_call_method(bus, BUS_NAME, BUS_PATH, BUS_INTERFACE, "CheckConfig", &error, &reply,
                               "s", path ? path : "");
        if (r < 0)
                return call_failed("check-config", &error, r);

        array = json_object_new_array();
        if (!array)
                return bad_reply("check-config", -ENOMEM);
        r = sd_bus_message_enter_container(reply, 'a', "(ss)");
        if (r < 0)
                return bad_reply("check-config", r);
        while ((r = sd_bus_message_read(reply, "(ss)", &where, &what)) > 0) {
                /* what is "error: text" or "warning: text". */
                bool is_error = strncmp(what, "error: ", 7) == 0;
                const char *message = strchr(what, ' ') ? strchr(what, ' ') + 1 : what;

                if (is_error)
                        n_errors++;
                else
                        n_warnings++;

                if (arg_json) {
                        struct json_object *o = json_object_new_object();

                        if (!o || json_object_array_add(array, o) < 0) {
                                json_object_put(o);
                                return bad_reply("check-config", -ENOMEM);
                        }
                        r = json_add_string(o, "severity", is_error ? "error" : "warning");
                        if (r >= 0)
                                r = json_add_string(o, "where", where);
                        if (r >= 0)
                                r = json_add_string(o, "message", message);
                        if (r < 0)
                                return bad_reply("check-config", r);
                } else
                        printf("%s: %s%s%s\n", is_error ? "error" : "warning", where, *where ? ": " : "", message);
        }
        if (r < 0)
                return bad_reply("check-config", r);

        if (arg_json)
                print_json(array);
        else if (n_errors > 0)
                printf("%s: %u error(s), %u warning(s): not usable.\n", path ? path : "hipsd's config",
                       n_errors, n_warnings);
        else
                printf("%s: OK%s\n", path ? path : "hipsd's config", n_warnings > 0 ? " (with warnings)" : "");
        return n_errors > 0 ? EXIT_DAEMON : EXIT_OK;
}

/* evaluate */

/* Before connecting: a usage error is one whatever the bus says. */
static int parse_evaluate_args(void) {
        unsigned long u;
        char *end;

        if (!arg_filename) {
                fprintf(stderr, "hipsctl: evaluate needs --filename PATH (see --help).\n");
                return -EINVAL;
        }
        if (!arg_uid) {
                arg_uid_value = (uint32_t) getuid();
                return 0;
        }
        errno = 0;
        u = strtoul(arg_uid, &end, 10);
        if (errno != 0 || end == arg_uid || *end || arg_uid[0] == '-' || u >= UINT32_MAX) {
                fprintf(stderr, "hipsctl: --uid: not a uid: %s\n", arg_uid);
                return -EINVAL;
        }
        arg_uid_value = (uint32_t) u;
        return 0;
}

static int verb_evaluate(sd_bus *bus, char **args) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        const char *action, *list, *rule;
        int r;

        r = sd_bus_call_method(bus, BUS_NAME, BUS_PATH, BUS_INTERFACE, "Evaluate", &error, &reply, "ssssu",
                               arg_filename, arg_cmdline, arg_parent_cmdline, arg_sha256, arg_uid_value);
        if (r < 0)
                return call_failed("evaluate", &error, r);
        r = sd_bus_message_read(reply, "sss", &action, &list, &rule);
        if (r < 0)
                return bad_reply("evaluate", r);

        if (arg_json) {
                _cleanup_(json_object_putp) struct json_object *o = json_object_new_object();

                r = o ? 0 : -ENOMEM;
                if (r >= 0)
                        r = json_add_string(o, "action", action);
                if (r >= 0)
                        r = json_add_string(o, "list", list);
                if (r >= 0)
                        r = *rule ? json_add_string(o, "rule", rule) : json_add(o, "rule", NULL);
                if (r < 0)
                        return bad_reply("evaluate", r);
                print_json(o);
        } else if (streq(list, "none"))
                printf("%s (no rule matched: default allow)\n", action);
        else
                printf("%s (%slist rule %s)\n", action, list, rule);
        return EXIT_OK;
}

/* monitor */

static bool type_wanted(const char *type) {
        return !arg_type || streq(arg_type, type);
}

static void print_time_prefix(void) {
        struct timespec ts;
        char when[16] = "";
        struct tm tm;

        (void) clock_gettime(CLOCK_REALTIME, &ts);
        if (localtime_r(&ts.tv_sec, &tm))
                (void) strftime(when, sizeof(when), "%H:%M:%S", &tm);
        printf("%s.%03ld ", when, ts.tv_nsec / 1000000);
}

static int on_monitor_event(sd_bus_message *message, void *userdata, sd_bus_error *ret_error) {
        _cleanup_(json_object_putp) struct json_object *o = NULL;
        const char *type, *summary, *key, *value;
        int r;

        r = sd_bus_message_read(message, "ss", &type, &summary);
        if (r < 0) {
                fprintf(stderr, "hipsctl: cannot parse a MonitorEvent signal: %s\n", strerror(-r));
                return 0;
        }
        if (!type_wanted(type))
                return 0;

        o = json_object_new_object();
        r = o ? json_add_string(o, "event", type) : -ENOMEM;
        if (r >= 0)
                r = json_add_string(o, "summary", summary);
        if (r >= 0)
                r = sd_bus_message_enter_container(message, 'a', "{ss}");
        while (r >= 0 && (r = sd_bus_message_read(message, "{ss}", &key, &value)) > 0)
                r = json_add_string(o, key, value);
        if (r >= 0)
                r = sd_bus_message_exit_container(message);
        if (r < 0) {
                fprintf(stderr, "hipsctl: cannot parse a MonitorEvent signal: %s\n", strerror(-r));
                return 0;
        }

        if (arg_json)
                print_json(o);
        else {
                struct json_object *v;

                print_time_prefix();
                printf("%-9s %-5s %s\n", type,
                       json_object_object_get_ex(o, "action", &v) ? json_object_get_string(v) : "-", summary);
        }
        (void) fflush(stdout);
        return 0;
}

static int on_decision(sd_bus_message *message, void *userdata, sd_bus_error *ret_error) {
        const char *filename, *cmdline, *sha256, *layer, *action, *rule, *reason;
        uint32_t pid, ppid, uid;
        uint64_t exec_id, latency;
        int r;

        if (!type_wanted("exec"))
                return 0;
        r = sd_bus_message_read(message, "tuuussssssst", &exec_id, &pid, &ppid, &uid, &filename, &cmdline,
                                &sha256, &layer, &action, &rule, &reason, &latency);
        if (r < 0) {
                fprintf(stderr, "hipsctl: cannot parse a Decision signal: %s\n", strerror(-r));
                return 0;
        }

        if (arg_json) {
                _cleanup_(json_object_putp) struct json_object *o = json_object_new_object();

                r = o ? 0 : -ENOMEM;
                if (r >= 0)
                        r = json_add_uint(o, "exec_id", exec_id);
                if (r >= 0)
                        r = json_add_int(o, "pid", pid);
                if (r >= 0)
                        r = json_add_int(o, "ppid", ppid);
                if (r >= 0)
                        r = json_add_int(o, "uid", uid);
                if (r >= 0)
                        r = json_add_string(o, "filename", filename);
                if (r >= 0)
                        r = json_add_string(o, "cmdline", cmdline);
                if (r >= 0)
                        r = *sha256 ? json_add_string(o, "sha256", sha256) : json_add(o, "sha256", NULL);
                if (r >= 0)
                        r = json_add_string(o, "layer", layer);
                if (r >= 0)
                        r = json_add_string(o, "action", action);
                if (r >= 0)
                        r = *rule ? json_add_string(o, "rule", rule) : json_add(o, "rule", NULL);
                if (r >= 0)
                        r = *reason ? json_add_string(o, "reason", reason) : json_add(o, "reason", NULL);
                if (r >= 0)
                        r = json_add_uint(o, "latency_us", latency);
                if (r >= 0)
                        print_json(o);
        } else {
                struct timespec ts;
                char when[16] = "";
                struct tm tm;

                (void) clock_gettime(CLOCK_REALTIME, &ts);
                if (localtime_r(&ts.tv_sec, &tm))
                        (void) strftime(when, sizeof(when), "%H:%M:%S", &tm);
                printf("%s.%03ld %-5s pid %" PRIu32 " uid %" PRIu32 " %s rule %s layer %s%s%s cmdline %s\n",
                       when, ts.tv_nsec / 1000000, action, pid, uid, filename, *rule ? rule : "-", layer,
                       *reason ? " reason " : "", reason, cmdline);
        }
        /* One line at a time, also into a pipe or a file. */
        (void) fflush(stdout);
        return 0;
}

static int on_owner_changed(sd_bus_message *message, void *userdata, sd_bus_error *ret_error) {
        const char *name, *old_owner, *new_owner;
        int *ret = userdata;

        if (sd_bus_message_read(message, "sss", &name, &old_owner, &new_owner) < 0 || !streq(name, BUS_NAME))
                return 0;
        if (*new_owner != '\0')
                return 0;
        fprintf(stderr, "hipsctl: hipsd stopped.\n");
        *ret = EXIT_NOT_RUNNING;
        return sd_event_exit(sd_bus_get_event(sd_bus_message_get_bus(message)), 0);
}

static int on_disconnected(sd_bus_message *message, void *userdata, sd_bus_error *ret_error) {
        int *ret = userdata;

        fprintf(stderr, "hipsctl: lost the connection to the system bus.\n");
        *ret = EXIT_NOT_RUNNING;
        return sd_event_exit(sd_bus_get_event(sd_bus_message_get_bus(message)), 0);
}

static int verb_monitor(sd_bus *bus, char **args) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(sd_event_unrefp) sd_event *event = NULL;
        int has_owner = 0, ret = EXIT_OK, r;
        sigset_t mask;

        /* Before the loop: SIGINT and SIGTERM come through signalfd and end it. */
        sigemptyset(&mask);
        sigaddset(&mask, SIGINT);
        sigaddset(&mask, SIGTERM);
        (void) sigprocmask(SIG_BLOCK, &mask, NULL);

        r = sd_event_default(&event);
        if (r >= 0)
                r = sd_event_add_signal(event, NULL, SIGINT, NULL, NULL);
        if (r >= 0)
                r = sd_event_add_signal(event, NULL, SIGTERM, NULL, NULL);
        if (r >= 0)
                r = sd_bus_attach_event(bus, event, SD_EVENT_PRIORITY_NORMAL);
        if (r < 0) {
                fprintf(stderr, "hipsctl: cannot set up the event loop: %s\n", strerror(-r));
                return EXIT_DAEMON;
        }

        /* Subscribe first, then check that hipsd is there: nothing in between is lost. */
        r = sd_bus_match_signal(bus, NULL, BUS_NAME, BUS_PATH, BUS_INTERFACE, "Decision", on_decision, NULL);
        if (r >= 0)
                r = sd_bus_match_signal(bus, NULL, BUS_NAME, BUS_PATH, BUS_INTERFACE, "MonitorEvent",
                                        on_monitor_event, NULL);
        if (r >= 0)
                r = sd_bus_match_signal(bus, NULL, "org.freedesktop.DBus", "/org/freedesktop/DBus",
                                        "org.freedesktop.DBus", "NameOwnerChanged", on_owner_changed, &ret);
        if (r >= 0)
                r = sd_bus_match_signal(bus, NULL, "org.freedesktop.DBus.Local", NULL, "org.freedesktop.DBus.Local",
                                        "Disconnected", on_disconnected, &ret);
        if (r < 0) {
                fprintf(stderr, "hipsctl: cannot subscribe to decisions: %s\n", strerror(-r));
                return EXIT_DAEMON;
        }

        r = sd_bus_call_method(bus, "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
                               "NameHasOwner", &error, &reply, "s", BUS_NAME);
        if (r < 0)
                return call_failed("monitor", &error, r);
        r = sd_bus_message_read(reply, "b", &has_owner);
        if (r < 0)
                return bad_reply("monitor", r);
        if (!has_owner) {
                fprintf(stderr, "hipsctl: hipsd is not running (nobody owns %s on the system bus).\n", BUS_NAME);
                return EXIT_NOT_RUNNING;
        }

        if (geteuid() != 0)
                fprintf(stderr, "hipsctl: note: the bus policy delivers decisions to root only.\n");
        fprintf(stderr, "Monitoring hipsd %s, press Ctrl-C to stop.\n",
                !arg_type ? "decisions and events" : streq(arg_type, "exec") ? "decisions" : "events");

        r = sd_event_loop(event);
        if (r < 0) {
                fprintf(stderr, "hipsctl: event loop failed: %s\n", strerror(-r));
                return EXIT_DAEMON;
        }
        return ret;
}

/* Command line */

typedef struct Verb {
        const char *name;
        unsigned min_args, max_args;
        bool evaluate_options;          /* takes --filename etc. */
        int (*run)(sd_bus *bus, char **args);
} Verb;

static const Verb verbs[] = {
        { "status",       0, 0, false, verb_status       },
        { "reload",       0, 0, false, verb_reload       },
        { "mode",         1, 1, false, verb_mode         },
        { "rules",        0, 0, false, verb_rules        },
        { "check-config", 0, 1, false, verb_check_config },
        { "evaluate",     0, 0, true,  verb_evaluate     },
        { "monitor",      0, 0, false, verb_monitor      },
};

static int parse_argv(int argc, char *argv[]) {
        enum {
                ARG_VERSION = 0x100,
                ARG_JSON,
                ARG_FILENAME,
                ARG_CMDLINE,
                ARG_PARENT_CMDLINE,
                ARG_SHA256,
                ARG_UID,
                ARG_TYPE,
        };
        static const struct option options[] = {
                { "help",           no_argument,       NULL, 'h'                },
                { "version",        no_argument,       NULL, ARG_VERSION        },
                { "json",           no_argument,       NULL, ARG_JSON           },
                { "filename",       required_argument, NULL, ARG_FILENAME       },
                { "cmdline",        required_argument, NULL, ARG_CMDLINE        },
                { "parent-cmdline", required_argument, NULL, ARG_PARENT_CMDLINE },
                { "sha256",         required_argument, NULL, ARG_SHA256         },
                { "uid",            required_argument, NULL, ARG_UID            },
                { "type",           required_argument, NULL, ARG_TYPE           },
                {}
        };
        int c;

        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        help();
                        return 0;
                case ARG_VERSION:
                        printf("hipsctl %s\n", HIPS_VERSION);
                        return 0;
                case ARG_JSON:
                        arg_json = true;
                        break;
                case ARG_FILENAME:
                        arg_filename = optarg;
                        arg_evaluate_options = true;
                        break;
                case ARG_CMDLINE:
                        arg_cmdline = optarg;
                        arg_evaluate_options = true;
                        break;
                case ARG_PARENT_CMDLINE:
                        arg_parent_cmdline = optarg;
                        arg_evaluate_options = true;
                        break;
                case ARG_SHA256:
                        arg_sha256 = optarg;
                        arg_evaluate_options = true;
                        break;
                case ARG_UID:
                        arg_uid = optarg;
                        arg_evaluate_options = true;
                        break;
                case ARG_TYPE: {
                        bool known = false;

                        /* The monitors' config names are accepted for their event types. */
                        if (streq(optarg, "files"))
                                optarg = (char *) "file";
                        else if (streq(optarg, "lineage"))
                                optarg = (char *) "process";
                        for (size_t i = 0; i < ELEMENTSOF(event_types); i++)
                                known = known || streq(event_types[i], optarg);
                        if (!known) {
                                fprintf(stderr, "hipsctl: --type: expected exec, process, network, dns, file or privilege, got '%s'.\n",
                                        optarg);
                                return -EINVAL;
                        }
                        arg_type = optarg;
                        break;
                }
                default:
                        /* getopt said what was wrong. */
                        return -EINVAL;
                }
        return 1;
}

int main(int argc, char *argv[]) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        const Verb *verb = NULL;
        unsigned n_args;
        int r;

        r = parse_argv(argc, argv);
        if (r <= 0)
                return r < 0 ? EXIT_USAGE : EXIT_OK;

        if (optind >= argc) {
                fprintf(stderr, "hipsctl: missing command (see --help).\n");
                return EXIT_USAGE;
        }
        for (size_t i = 0; i < ELEMENTSOF(verbs); i++)
                if (streq(verbs[i].name, argv[optind]))
                        verb = &verbs[i];
        if (!verb) {
                fprintf(stderr, "hipsctl: unknown command '%s' (see --help).\n", argv[optind]);
                return EXIT_USAGE;
        }
        n_args = (unsigned) (argc - optind - 1);
        if (n_args < verb->min_args || n_args > verb->max_args) {
                fprintf(stderr, "hipsctl: %s takes %s%u argument%s (see --help).\n", verb->name,
                        verb->min_args == verb->max_args ? "" : "at most ", verb->max_args,
                        verb->max_args == 1 ? "" : "s");
                return EXIT_USAGE;
        }
        if (arg_type && !streq(verb->name, "monitor")) {
                fprintf(stderr, "hipsctl: --type is for monitor only.\n");
                return EXIT_USAGE;
        }
        if (arg_evaluate_options && !verb->evaluate_options) {
                fprintf(stderr, "hipsctl: --filename, --cmdline, --parent-cmdline, --sha256 and --uid are for evaluate only.\n");
                return EXIT_USAGE;
        }
        if (streq(verb->name, "mode") && !streq(argv[optind + 1], "safe") && !streq(argv[optind + 1], "functional")) {
                fprintf(stderr, "hipsctl: mode: expected 'safe' or 'functional', got '%s'.\n", argv[optind + 1]);
                return EXIT_USAGE;
        }
        if (verb->evaluate_options && parse_evaluate_args() < 0)
                return EXIT_USAGE;

        r = sd_bus_open_system(&bus);
        if (r < 0) {
                fprintf(stderr, "hipsctl: cannot connect to the system bus: %s\n", strerror(-r));
                return EXIT_NOT_RUNNING;
        }
        return verb->run(bus, argv + optind + 1);
}

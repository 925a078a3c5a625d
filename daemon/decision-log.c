/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <systemd/sd-journal.h>
#include <time.h>
#include <unistd.h>

#include "decision-log.h"
#include "log.h"
#include "util.h"

#define JSON_FLAGS (JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)

/* journald ignores fields with longer names. */
#define JOURNAL_FIELD_NAME_MAX 64

/* "2026-12-01T21:30:00.123456Z" */
#define TIMESTAMP_SIZE sizeof("YYYY-MM-DDTHH:MM:SS.uuuuuuZ")

/* The fields of one journal entry, built in one buffer that is kept and
 * reused for every entry. Fields are remembered as offsets because the
 * buffer moves when it grows; the iovecs are made at the end. An allocation
 * failure is remembered and reported once at sending, so that the many
 * appends need no checks. */
typedef struct JournalField {
        size_t offset, length;
} JournalField;

typedef struct JournalFields {
        char *buf;
        size_t size, allocated;
        JournalField *fields;
        struct iovec *iov;
        size_t n, n_allocated;
        bool oom;
} JournalFields;

struct DecisionLog {
        char *path;
        int fd;
        /* The open or write error in effect, 0 when the last attempt worked.
         * Non-zero means it has been reported already: the next failure is
         * silent and the next success is announced. */
        int error;
        bool need_newline;              /* the file ends in a partial line (a short write, a crash) */

        bool journal;                   /* false with HIPS_NO_JOURNAL=1 */
        bool journal_error_logged;

        /* One JSON object for every DecisionRecord: its members are updated
         * in place and its print buffer is reused, so that a record costs no
         * allocations once the buffers have grown to fit. */
        struct json_object *record;
        char *line;                     /* the JSON text plus newline(s), for one write() */
        size_t line_allocated;
        JournalFields journal_fields;
};

/* The members of DecisionLog.record, in the order they are written. */
static const char *const record_keys[] = {
        "timestamp",
        "event",
        "exec_id",
        "pid",
        "ppid",
        "uid",
        "filename",
        "cmdline",
        "parent_cmdline",
        "ancestors",
        "sha256",
        "mode",
        "layer",
        "rule",
        "action",
        "reason",
        "latency_us",
};

static void json_object_putp(struct json_object **o) {
        (void) json_object_put(*o);
}

static void decision_log_freep(DecisionLog **l) {
        (void) decision_log_free(*l);
}

static size_t max_size(size_t a, size_t b) {
        return a > b ? a : b;
}

/* Grow *p (of *allocated bytes) to hold at least need bytes. */
static int buffer_reserve(void **p, size_t *allocated, size_t need, size_t element) {
        size_t n;
        void *q;

        if (need <= *allocated)
                return 0;

        n = max_size(need, max_size(*allocated * 2, 64));
        if (n > SIZE_MAX / element)
                return -ENOMEM;

        q = realloc(*p, n * element);
        if (!q)
                return -ENOMEM;

        *p = q;
        *allocated = n;
        return 0;
}

static void journal_fields_reset(JournalFields *j) {
        j->size = 0;
        j->n = 0;
        j->oom = false;
}

static void journal_fields_done(JournalFields *j) {
        free(j->buf);
        free(j->fields);
        free(j->iov);
        *j = (JournalFields) {};
}

static void journal_fields_append(JournalFields *j, const char *s, size_t n) {
        if (j->oom)
                return;

        if (n > SIZE_MAX - j->size ||
            buffer_reserve((void **) &j->buf, &j->allocated, j->size + n, 1) < 0) {
                j->oom = true;
                return;
        }

        memcpy(j->buf + j->size, s, n);
        j->size += n;
}

static void journal_fields_begin(JournalFields *j) {
        size_t a;

        if (j->oom)
                return;

        a = j->n_allocated;
        if (buffer_reserve((void **) &j->fields, &a, j->n + 1, sizeof(JournalField)) < 0 ||
            buffer_reserve((void **) &j->iov, &j->n_allocated, j->n + 1, sizeof(struct iovec)) < 0) {
                j->oom = true;
                return;
        }

        j->fields[j->n].offset = j->size;
}

static void journal_fields_end(JournalFields *j) {
        if (j->oom)
                return;

        j->fields[j->n].length = j->size - j->fields[j->n].offset;
        j->n++;
}

/* "NAME=value"; a NULL value means no field. */
static void journal_fields_add(JournalFields *j, const char *name, const char *value) {
        if (!value)
                return;

        journal_fields_begin(j);
        journal_fields_append(j, name, strlen(name));
        journal_fields_append(j, "=", 1);
        journal_fields_append(j, value, strlen(value));
        journal_fields_end(j);
}

static void journal_fields_addf(JournalFields *j, const char *name, const char *format, ...)
        __attribute__((format(printf, 3, 4)));

static void journal_fields_addf(JournalFields *j, const char *name, const char *format, ...) {
        va_list ap;
        int n;

        journal_fields_begin(j);
        journal_fields_append(j, name, strlen(name));
        journal_fields_append(j, "=", 1);
        if (j->oom)
                return;

        va_start(ap, format);
        n = vsnprintf(NULL, 0, format, ap);
        va_end(ap);
        if (n < 0 ||
            buffer_reserve((void **) &j->buf, &j->allocated, j->size + (size_t) n + 1, 1) < 0) {
                j->oom = true;
                return;
        }

        va_start(ap, format);
        (void) vsnprintf(j->buf + j->size, (size_t) n + 1, format, ap);
        va_end(ap);
        j->size += (size_t) n;

        journal_fields_end(j);
}

/* "HIPS_" + key in upper case, every character that a journal field name
 * cannot have as '_'. A name journald would drop is left out here too. */
static void journal_fields_add_key(JournalFields *j, const char *key, const char *value) {
        static const char prefix[] = "HIPS_";
        size_t n = strlen(key);

        if (!value || n > JOURNAL_FIELD_NAME_MAX - strlen(prefix))
                return;

        journal_fields_begin(j);
        journal_fields_append(j, prefix, strlen(prefix));
        for (const char *k = key; *k; k++) {
                char c = *k;

                if (c >= 'a' && c <= 'z')
                        c = (char) (c - 'a' + 'A');
                else if (!((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')))
                        c = '_';
                journal_fields_append(j, &c, 1);
        }
        journal_fields_append(j, "=", 1);
        journal_fields_append(j, value, strlen(value));
        journal_fields_end(j);
}

static void decision_log_journal_send(DecisionLog *l) {
        JournalFields *j = &l->journal_fields;
        int r;

        if (j->oom)
                r = -ENOMEM;
        else {
                for (size_t i = 0; i < j->n; i++)
                        j->iov[i] = (struct iovec) {
                                .iov_base = j->buf + j->fields[i].offset,
                                .iov_len = j->fields[i].length,
                        };
                r = sd_journal_sendv(j->iov, (int) j->n);
        }

        /* Without journald (containers, CI) this fails for every record:
         * say so once, at debug level, and keep trying silently. */
        if (r < 0 && !l->journal_error_logged) {
                log_debug_errno(r, "Failed to send a decision to the journal, not reporting further failures: %m");
                l->journal_error_logged = true;
        }
}

static bool env_true(const char *name) {
        const char *e = getenv(name);

        return e && (streq(e, "1") || streq(e, "yes") || streq(e, "true") || streq(e, "on"));
}

static int format_timestamp(char buf[TIMESTAMP_SIZE]) {
        struct timespec ts;
        struct tm tm;

        if (clock_gettime(CLOCK_REALTIME, &ts) < 0)
                return negative_errno();

        if (!gmtime_r(&ts.tv_sec, &tm))
                return -EOVERFLOW;

        if (strftime(buf, TIMESTAMP_SIZE, "%Y-%m-%dT%H:%M:%S", &tm) != TIMESTAMP_SIZE - 9)
                return -EOVERFLOW;      /* a year with more than four digits */

        (void) snprintf(buf + TIMESTAMP_SIZE - 9, 9, ".%06uZ", (unsigned) (ts.tv_nsec / 1000 % 1000000));
        return 0;
}

/* mkdir -p of the directory part of path. */
static int mkdir_parents(const char *path, mode_t mode) {
        char buf[PATH_MAX];
        size_t n = strlen(path);

        if (n >= sizeof(buf))
                return -ENAMETOOLONG;
        memcpy(buf, path, n + 1);

        for (char *p = buf + 1; (p = strchr(p, '/')); p++) {
                *p = '\0';
                if (mkdir(buf, mode) < 0 && errno != EEXIST)
                        return negative_errno();
                *p = '/';
        }

        return 0;
}

/* Whether the file does not end in a newline, so that our first line would
 * be glued to a partial one (left by a full disk or a crash). */
static bool fd_lacks_final_newline(int fd) {
        _cleanup_close_ int rfd = -EBADF;
        char path[sizeof("/proc/self/fd/") + 3 * sizeof(int)];
        struct stat st;
        char c;

        if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size == 0)
                return false;

        /* Our fd is write-only: read through a second one, to the same file
         * and not to whatever the path names by now. */
        (void) snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
        rfd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        if (rfd < 0)
                return false;

        return pread(rfd, &c, 1, st.st_size - 1) == 1 && c != '\n';
}

static int decision_log_open_fd(DecisionLog *l) {
        /* O_NONBLOCK: a FIFO at the path must not hang the daemon in open()
         * waiting for a reader. It changes nothing for a regular file. */
        const int flags = O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY | O_NONBLOCK;
        int fd, r;

        fd = open(l->path, flags, 0640);
        if (fd < 0 && errno == ENOENT) {
                r = mkdir_parents(l->path, 0750);
                if (r < 0)
                        return r;
                fd = open(l->path, flags, 0640);
        }
        if (fd < 0)
                return negative_errno();

        l->fd = fd;
        l->need_newline = fd_lacks_final_newline(fd);
        return 0;
}

static void decision_log_close_fd(DecisionLog *l) {
        if (l->fd >= 0)
                (void) close(l->fd);
        l->fd = -EBADF;
        l->need_newline = false;
}

static void decision_log_failed(DecisionLog *l, int r, const char *what) {
        if (l->error == 0)
                log_error_errno(r, "Failed to %s decision log %s, retrying with every record: %m", what, l->path);
        l->error = r;
}

/* Append json (n bytes, no newline) as one line. */
static void decision_log_write_line(DecisionLog *l, const char *json, size_t n) {
        struct stat st;
        const char *p;
        size_t len = 0;
        int r;

        if (l->fd < 0) {
                r = decision_log_open_fd(l);
                if (r < 0) {
                        decision_log_failed(l, r, "open");
                        return;
                }
        }

        if (n > SIZE_MAX - 2 ||
            buffer_reserve((void **) &l->line, &l->line_allocated, n + 2, 1) < 0) {
                decision_log_failed(l, -ENOMEM, "write");
                return;
        }

        if (l->need_newline)
                l->line[len++] = '\n';
        memcpy(l->line + len, json, n);
        len += n;
        l->line[len++] = '\n';

        /* The whole line in one write(): with O_APPEND it lands in one piece,
         * whoever else appends. Only a short write (a full disk) needs a
         * second one, to finish the line or to learn the error. */
        p = l->line;
        while (len > 0) {
                ssize_t k = write(l->fd, p, len);

                if (k < 0 && errno == EINTR)
                        continue;
                if (k <= 0) {
                        off_t written = p - l->line;

                        r = k < 0 ? negative_errno() : -EIO;
                        /* Take back the part of the line that made it, so
                         * readers never see half a record. (The size is
                         * asked only now: a full disk is the rare case.) */
                        if (written > 0 && !(fstat(l->fd, &st) == 0 && S_ISREG(st.st_mode) &&
                                             st.st_size >= written && ftruncate(l->fd, st.st_size - written) == 0))
                                l->need_newline = true;
                        decision_log_failed(l, r, "write");
                        return;
                }

                p += k;
                len -= (size_t) k;
        }

        l->need_newline = false;
        if (l->error != 0) {
                log_info("Writing to decision log %s works again.", l->path);
                l->error = 0;
        }
}

/* Set member key of o to a string, or to null; in place when it is a string already. */
static int json_set_string(struct json_object *o, const char *key, const char *value) {
        struct json_object *v;

        if (!value)
                return json_object_object_add(o, key, NULL) < 0 ? -ENOMEM : 0;

        /* In place, but never to "": json-c before 0.17 then forgets the
         * buffer a longer string had, and leaks it when a longer one comes
         * (json-c#780). A new object for "" is cheap: an empty parent
         * cmdline is rare. */
        if (value[0] != '\0' && json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_string))
                return json_object_set_string(v, value) ? 0 : -ENOMEM;

        v = json_object_new_string(value);
        if (!v)
                return -ENOMEM;
        if (json_object_object_add(o, key, v) < 0) {
                (void) json_object_put(v);
                return -ENOMEM;
        }
        return 0;
}

static int json_set_int64(struct json_object *o, const char *key, int64_t value) {
        struct json_object *v;

        if (json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_int))
                return json_object_set_int64(v, value) ? 0 : -ENOMEM;

        v = json_object_new_int64(value);
        if (!v)
                return -ENOMEM;
        if (json_object_object_add(o, key, v) < 0) {
                (void) json_object_put(v);
                return -ENOMEM;
        }
        return 0;
}

static int json_set_uint64(struct json_object *o, const char *key, uint64_t value) {
        struct json_object *v;

        if (json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_int))
                return json_object_set_uint64(v, value) ? 0 : -ENOMEM;

        v = json_object_new_uint64(value);
        if (!v)
                return -ENOMEM;
        if (json_object_object_add(o, key, v) < 0) {
                (void) json_object_put(v);
                return -ENOMEM;
        }
        return 0;
}

int decision_log_new(const char *path, DecisionLog **ret) {
        _cleanup_(decision_log_freep) DecisionLog *l = NULL;
        int r;

        if (!path || !ret)
                return -EINVAL;

        l = calloc(1, sizeof(*l));
        if (!l)
                return -ENOMEM;
        l->fd = -EBADF;
        l->journal = !env_true("HIPS_NO_JOURNAL");

        l->path = strdup(path);
        if (!l->path)
                return -ENOMEM;

        /* Members in their order, all null until the first record. */
        l->record = json_object_new_object();
        if (!l->record)
                return -ENOMEM;
        for (size_t i = 0; i < ELEMENTSOF(record_keys); i++)
                if (json_object_object_add(l->record, record_keys[i], NULL) < 0)
                        return -ENOMEM;

        r = decision_log_open_fd(l);
        if (r == -ENOMEM)
                return r;
        /* The caller gets this error and reports it: it counts as reported,
         * so the records that follow stay quiet until writing works. */
        l->error = r;

        *ret = TAKE_PTR(l);
        return r;
}

DecisionLog *decision_log_free(DecisionLog *l) {
        if (!l)
                return NULL;

        decision_log_close_fd(l);
        free(l->path);
        (void) json_object_put(l->record);
        free(l->line);
        journal_fields_done(&l->journal_fields);
        free(l);
        return NULL;
}

int decision_log_reopen(DecisionLog *l) {
        int r;

        if (!l)
                return -EINVAL;

        decision_log_close_fd(l);

        r = decision_log_open_fd(l);
        if (r < 0)
                l->error = r;   /* returned, so reported by the caller, as in decision_log_new() */

        /* On success l->error stays: the first record written announces
         * that writing works again. */
        return r;
}

const char *decision_log_path(const DecisionLog *l) {
        return l ? l->path : NULL;
}

static int json_set_bool(struct json_object *o, const char *key, bool value) {
        struct json_object *v;

        if (json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_boolean))
                return json_object_set_boolean(v, value) ? 0 : -ENOMEM;
        v = json_object_new_boolean(value);
        if (!v || json_object_object_add(o, key, v) < 0) {
                (void) json_object_put(v);
                return -ENOMEM;
        }
        return 0;
}

/* Member "ancestors" of o: [{"pid": 812, "comm": "nginx", "exe":
 * "/usr/sbin/nginx", "exited": false}, ...], or null for none known. The
 * record objects are reused from one event to the next, and so is this
 * array and its members: a decision is written for every exec. */
static int json_set_ancestors(struct json_object *o, const Ancestor *ancestors, size_t n) {
        struct json_object *a;
        size_t have;

        if (!ancestors)
                return json_object_object_add(o, "ancestors", NULL) < 0 ? -ENOMEM : 0;

        if (!json_object_object_get_ex(o, "ancestors", &a) || !json_object_is_type(a, json_type_array)) {
                a = json_object_new_array_ext((int) n);
                if (!a || json_object_object_add(o, "ancestors", a) < 0) {
                        (void) json_object_put(a);
                        return -ENOMEM;
                }
        }

        have = json_object_array_length(a);
        if (have > n && json_object_array_del_idx(a, n, have - n) < 0)
                return -ENOMEM;
        for (size_t i = have; i < n; i++) {
                struct json_object *e = json_object_new_object();

                if (!e || json_object_array_add(a, e) < 0) {
                        (void) json_object_put(e);
                        return -ENOMEM;
                }
        }
        for (size_t i = 0; i < n; i++) {
                struct json_object *e = json_object_array_get_idx(a, i);

                if (json_set_int64(e, "pid", ancestors[i].pid) < 0 ||
                    json_set_string(e, "comm", ancestors[i].comm) < 0 ||
                    json_set_string(e, "exe", ancestors[i].exe) < 0 ||
                    json_set_bool(e, "exited", ancestors[i].exited) < 0)
                        return -ENOMEM;
        }
        return 0;
}

char *ancestors_to_string(const Ancestor *ancestors, size_t n) {
        char *s = NULL;
        size_t size = 0;
        FILE *f;

        f = open_memstream(&s, &size);
        if (!f)
                return NULL;
        for (size_t i = 0; i < n; i++)
                fprintf(f, "%s%d:%s", i > 0 ? " " : "", (int) ancestors[i].pid,
                        ancestors[i].exe ?: ancestors[i].comm ?: "?");
        if (fclose(f) != 0) {
                free(s);
                return NULL;
        }
        return s;
}

static int decision_record_to_json(DecisionLog *l, const DecisionRecord *rec, const char **ret, size_t *ret_size) {
        struct json_object *o = l->record;
        char timestamp[TIMESTAMP_SIZE];
        const char *s;
        size_t n;
        int r;

        r = format_timestamp(timestamp);
        if (r < 0)
                return r;

        /* Order does not matter here: the members exist, in record_keys order. */
        if (json_set_string(o, "timestamp", timestamp) < 0 ||
            json_set_string(o, "event", "exec") < 0 ||
            json_set_uint64(o, "exec_id", rec->exec_id) < 0 ||
            json_set_int64(o, "pid", rec->pid) < 0 ||
            json_set_int64(o, "ppid", rec->ppid) < 0 ||
            json_set_int64(o, "uid", rec->uid) < 0 ||
            json_set_string(o, "filename", rec->filename) < 0 ||
            json_set_string(o, "cmdline", rec->cmdline) < 0 ||
            json_set_string(o, "parent_cmdline", rec->parent_cmdline) < 0 ||
            json_set_ancestors(o, rec->ancestors, rec->n_ancestors) < 0 ||
            json_set_string(o, "sha256", rec->sha256) < 0 ||
            json_set_string(o, "mode", rec->mode) < 0 ||
            json_set_string(o, "layer", rec->layer) < 0 ||
            json_set_string(o, "rule", rec->rule) < 0 ||
            json_set_string(o, "action", rec->action) < 0 ||
            json_set_string(o, "reason", rec->reason) < 0 ||
            json_set_uint64(o, "latency_us", rec->latency_us) < 0)
                return -ENOMEM;

        s = json_object_to_json_string_length(o, JSON_FLAGS, &n);
        if (!s)
                return -ENOMEM;

        *ret = s;
        *ret_size = n;
        return 0;
}

static const char *action_verb(const char *action) {
        if (streq_ptr(action, "allow"))
                return "Allowed";
        if (streq_ptr(action, "block"))
                return "Blocked";
        if (streq_ptr(action, "kill"))
                return "Killed";
        return NULL;
}

static void decision_record_to_journal(DecisionLog *l, const DecisionRecord *rec) {
        JournalFields *j = &l->journal_fields;
        bool allowed = streq_ptr(rec->action, "allow");
        const char *verb = action_verb(rec->action);

        journal_fields_reset(j);

        /* "Blocked exec of /tmp/x (pid 123, rule evil-x, layer hold)" */
        journal_fields_addf(j, "MESSAGE", "%s exec of %s (pid %d, %s%s, layer %s%s%s%s%s)",
                            verb ?: "Judged",
                            rec->filename ?: "an unknown file",
                            (int) rec->pid,
                            rec->rule ? "rule " : "no rule",
                            rec->rule ?: "",
                            rec->layer ?: "unknown",
                            verb ? "" : ", action ",
                            verb ? "" : (rec->action ?: "unknown"),
                            rec->reason ? ", reason " : "",
                            rec->reason ?: "");
        journal_fields_add(j, "MESSAGE_ID", allowed ? HIPS_MESSAGE_EXEC_ALLOWED : HIPS_MESSAGE_EXEC_BLOCKED);
        journal_fields_addf(j, "PRIORITY", "%d", allowed ? LOG_INFO : LOG_WARNING);
        journal_fields_addf(j, "HIPS_EXEC_ID", "%" PRIu64, rec->exec_id);
        journal_fields_addf(j, "HIPS_PID", "%d", (int) rec->pid);
        journal_fields_addf(j, "HIPS_PPID", "%d", (int) rec->ppid);
        journal_fields_addf(j, "HIPS_UID", "%" PRIu32, (uint32_t) rec->uid);
        journal_fields_add(j, "HIPS_FILENAME", rec->filename);
        journal_fields_add(j, "HIPS_CMDLINE", rec->cmdline);
        journal_fields_add(j, "HIPS_PARENT_CMDLINE", rec->parent_cmdline);
        if (rec->ancestors) {
                _cleanup_free_ char *a = ancestors_to_string(rec->ancestors, rec->n_ancestors);

                journal_fields_add(j, "HIPS_ANCESTORS", a);
        }
        journal_fields_add(j, "HIPS_SHA256", rec->sha256);
        journal_fields_add(j, "HIPS_MODE", rec->mode);
        journal_fields_add(j, "HIPS_LAYER", rec->layer);
        journal_fields_add(j, "HIPS_RULE", rec->rule);
        journal_fields_add(j, "HIPS_ACTION", rec->action);
        journal_fields_add(j, "HIPS_REASON", rec->reason);
        journal_fields_addf(j, "HIPS_LATENCY_US", "%" PRIu64, rec->latency_us);

        decision_log_journal_send(l);
}

void decision_log_write(DecisionLog *l, const DecisionRecord *rec) {
        const char *json;
        size_t n;
        int r;

        if (!l || !rec)
                return;

        r = decision_record_to_json(l, rec, &json, &n);
        if (r < 0)
                decision_log_failed(l, r, "format a record for");
        else
                decision_log_write_line(l, json, n);

        if (l->journal)
                decision_record_to_journal(l, rec);
}

void decision_log_write_event(DecisionLog *l, const char *message_id, int priority,
                              const char *event, const char *message, ...) {
        _cleanup_(json_object_putp) struct json_object *o = NULL;
        char timestamp[TIMESTAMP_SIZE];
        const char *json;
        va_list ap;
        size_t n;
        int r;

        if (!l)
                return;

        /* Rare (mode changes, reloads): a fresh object is fine here. */
        o = json_object_new_object();
        if (!o) {
                decision_log_failed(l, -ENOMEM, "format an event for");
                return;
        }

        r = format_timestamp(timestamp);
        if (r >= 0)
                r = json_set_string(o, "timestamp", timestamp);
        if (r >= 0)
                r = json_set_string(o, "event", event);
        if (r >= 0)
                r = json_set_string(o, "message", message);

        va_start(ap, message);
        for (;;) {
                const char *key = va_arg(ap, const char *), *value;

                if (!key || r < 0)
                        break;
                value = va_arg(ap, const char *);
                r = json_set_string(o, key, value);
        }
        va_end(ap);

        json = r >= 0 ? json_object_to_json_string_length(o, JSON_FLAGS, &n) : NULL;
        if (json)
                decision_log_write_line(l, json, n);
        else
                decision_log_failed(l, r < 0 ? r : -ENOMEM, "format an event for");

        if (l->journal) {
                JournalFields *j = &l->journal_fields;

                journal_fields_reset(j);
                journal_fields_add(j, "MESSAGE", message ?: event);
                journal_fields_add(j, "MESSAGE_ID", message_id);
                journal_fields_addf(j, "PRIORITY", "%d", LOG_PRI(priority));
                journal_fields_add(j, "HIPS_EVENT", event);

                va_start(ap, message);
                for (;;) {
                        const char *key = va_arg(ap, const char *), *value;

                        if (!key)
                                break;
                        value = va_arg(ap, const char *);
                        journal_fields_add_key(j, key, value);
                }
                va_end(ap);

                decision_log_journal_send(l);
        }
}

void decision_log_write_fields(DecisionLog *l, const char *message_id, int priority, const char *event,
                               const char *message, const LogField *fields, size_t n_fields,
                               const Ancestor *ancestors, size_t n_ancestors) {
        _cleanup_(json_object_putp) struct json_object *o = NULL;
        char timestamp[TIMESTAMP_SIZE];
        const char *json;
        size_t n;
        int r;

        if (!l)
                return;

        o = json_object_new_object();
        if (!o) {
                decision_log_failed(l, -ENOMEM, "format an event for");
                return;
        }

        r = format_timestamp(timestamp);
        if (r >= 0)
                r = json_set_string(o, "timestamp", timestamp);
        if (r >= 0)
                r = json_set_string(o, "event", event);
        if (r >= 0)
                r = json_set_string(o, "message", message);
        for (size_t i = 0; i < n_fields && r >= 0; i++) {
                const LogField *f = &fields[i];

                if (f->number && f->value) {
                        char *end;
                        long long v;

                        errno = 0;
                        v = strtoll(f->value, &end, 10);
                        if (errno == 0 && *end == '\0' && end != f->value) {
                                r = json_set_int64(o, f->key, v);
                                continue;
                        }
                        /* Not a number after all (a bug): keep the text rather than lose it. */
                }
                r = json_set_string(o, f->key, f->value);
        }
        if (r >= 0)
                r = json_set_ancestors(o, ancestors, n_ancestors);

        json = r >= 0 ? json_object_to_json_string_length(o, JSON_FLAGS, &n) : NULL;
        if (json)
                decision_log_write_line(l, json, n);
        else
                decision_log_failed(l, r < 0 ? r : -ENOMEM, "format an event for");

        if (l->journal) {
                JournalFields *j = &l->journal_fields;

                journal_fields_reset(j);
                journal_fields_add(j, "MESSAGE", message ?: event);
                journal_fields_add(j, "MESSAGE_ID", message_id);
                journal_fields_addf(j, "PRIORITY", "%d", LOG_PRI(priority));
                journal_fields_add(j, "HIPS_EVENT", event);
                for (size_t i = 0; i < n_fields; i++)
                        journal_fields_add_key(j, fields[i].key, fields[i].value);
                if (ancestors) {
                        _cleanup_free_ char *a = ancestors_to_string(ancestors, n_ancestors);

                        journal_fields_add(j, "HIPS_ANCESTORS", a);
                }
                decision_log_journal_send(l);
        }
}

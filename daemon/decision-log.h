/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The record of every decision, written twice: one JSON object per line to
 * hips.log.json, and one structured entry to journald (HIPS_* fields, a fixed
 * MESSAGE_ID). Losing the file never loses the journal entry or the decision:
 * a write error is reported once and writing is retried on the next record. */

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "ancestry.h"

/* MESSAGE_IDs (128 bit, as journalctl --new-id128 makes them). */
#define HIPS_MESSAGE_EXEC_ALLOWED "5b1e3c0f6a0c4c0e9d7a2b8e4f1c6a01"
#define HIPS_MESSAGE_EXEC_BLOCKED "5b1e3c0f6a0c4c0e9d7a2b8e4f1c6a02"
#define HIPS_MESSAGE_MODE_CHANGED "5b1e3c0f6a0c4c0e9d7a2b8e4f1c6a03"
#define HIPS_MESSAGE_RULES_LOADED "5b1e3c0f6a0c4c0e9d7a2b8e4f1c6a04"
#define HIPS_MESSAGE_TAMPER       "5b1e3c0f6a0c4c0e9d7a2b8e4f1c6a05"
/* The monitors' events, one id per event type; alerts are told apart by
 * their priority (warning) and HIPS_ACTION. */
#define HIPS_MESSAGE_MONITOR_PROCESS   "5b1e3c0f6a0c4c0e9d7a2b8e4f1c6a10"
#define HIPS_MESSAGE_MONITOR_NETWORK   "5b1e3c0f6a0c4c0e9d7a2b8e4f1c6a11"
#define HIPS_MESSAGE_MONITOR_DNS       "5b1e3c0f6a0c4c0e9d7a2b8e4f1c6a12"
#define HIPS_MESSAGE_MONITOR_FILE      "5b1e3c0f6a0c4c0e9d7a2b8e4f1c6a13"
#define HIPS_MESSAGE_MONITOR_PRIVILEGE "5b1e3c0f6a0c4c0e9d7a2b8e4f1c6a14"

typedef struct DecisionRecord {
        uint64_t exec_id;              /* one id per execve(); several events of one exec share it */
        pid_t pid;
        pid_t ppid;
        uid_t uid;
        const char *filename;          /* the file judged (resolved path) */
        const char *cmdline;           /* NULL = unknown → JSON null */
        const char *parent_cmdline;
        const char *sha256;            /* NULL = not hashed */
        const char *mode;              /* "safe" | "functional" */
        const char *layer;             /* "hold" | "stop" | "after" */
        const char *rule;              /* matched rule name, NULL = none */
        const char *action;            /* "allow" | "block" | "kill" */
        const char *reason;            /* NULL, or why the action is not the rule's (e.g. "timeout", "process-vanished") */
        uint64_t latency_us;           /* from exec start (enter probe) to decision */
        const Ancestor *ancestors;     /* parent first; NULL = lineage unknown → JSON null */
        size_t n_ancestors;
} DecisionRecord;

/* One member of a monitor event. */
typedef struct LogField {
        const char *key;
        const char *value;             /* NULL: JSON null, no journal field */
        bool number;                   /* value is a decimal integer: a JSON number */
} LogField;

typedef struct DecisionLog DecisionLog;

/* Opens (creates, mode 0640, O_APPEND) the file. A file that cannot be opened
 * is not fatal: journald still gets everything; the error is returned and
 * opening is retried on later writes. *ret is always set on 0 or on an open
 * error other than -ENOMEM. */
int decision_log_new(const char *path, DecisionLog **ret);
DecisionLog *decision_log_free(DecisionLog *l);
/* Close and open the file again (after logrotate). */
int decision_log_reopen(DecisionLog *l);
void decision_log_write(DecisionLog *l, const DecisionRecord *r);
/* A non-decision event (mode change, rules loaded): a JSON object with
 * "event": type and string fields given as key, value pairs ending with NULL. */
void decision_log_write_event(DecisionLog *l, const char *message_id, int priority,
                              const char *event, const char *message, ...) __attribute__((sentinel));
const char *decision_log_path(const DecisionLog *l);

/* A monitor event: "timestamp", "event": type, "message", the fields in
 * order, then "ancestors" (an array of {pid, comm, exe, exited}; null when
 * ancestors is NULL). journald gets HIPS_EVENT, HIPS_<KEY> for each field and
 * HIPS_ANCESTORS ("pid:exe" separated by spaces). */
void decision_log_write_fields(DecisionLog *l, const char *message_id, int priority, const char *event,
                               const char *message, const LogField *fields, size_t n_fields,
                               const Ancestor *ancestors, size_t n_ancestors);

/* "812:/usr/sbin/nginx 1:/usr/lib/systemd/systemd": ancestors for the journal
 * and the bus (exe, else comm, else "?"). Caller frees; NULL on ENOMEM. */
char *ancestors_to_string(const Ancestor *ancestors, size_t n);

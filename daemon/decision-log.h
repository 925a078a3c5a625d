/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The record of every decision, written twice: one JSON object per line to
 * hips.log.json, and one structured entry to journald (HIPS_* fields, a fixed
 * MESSAGE_ID). Losing the file never loses the journal entry or the decision:
 * a write error is reported once and writing is retried on the next record. */

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

/* MESSAGE_IDs (128 bit, as journalctl --new-id128 makes them). */
#define HIPS_MESSAGE_EXEC_ALLOWED "5b1e3c0f6a0c4c0e9d7a2b8e4f1c6a01"
#define HIPS_MESSAGE_EXEC_BLOCKED "5b1e3c0f6a0c4c0e9d7a2b8e4f1c6a02"
#define HIPS_MESSAGE_MODE_CHANGED "5b1e3c0f6a0c4c0e9d7a2b8e4f1c6a03"
#define HIPS_MESSAGE_RULES_LOADED "5b1e3c0f6a0c4c0e9d7a2b8e4f1c6a04"
#define HIPS_MESSAGE_TAMPER       "5b1e3c0f6a0c4c0e9d7a2b8e4f1c6a05"

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
} DecisionRecord;

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

/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Verdicts on execs: gather what the rules need (enrichment), judge, act,
 * log. Two entry points, one per gate layer. A file that is not in the hash
 * cache and too big to hash at once is hashed by the worker while the exec
 * waits; every waiting exec has a deadline (decision_timeout_ms), after which
 * fail_action decides. */

#include <stdbool.h>
#include <sys/types.h>

#include "fanotify-gate.h"
#include "hips-abi.h"

typedef struct Manager Manager;

/* Files up to this size are hashed right on the loop (about 2 ms). */
#define HASH_INLINE_MAX_BYTES (4u * 1024u * 1024u)

/* fanotify hold: thread tid is inside execve() of the file behind fd.
 * (fanotify_judge_fn; userdata is the Manager.) */
FanotifyAnswer exec_judge_hold(void *userdata, int fd, pid_t tid);

/* Ring-buffer event from the exit probe: a stopped process to resume or
 * kill (gate), or an exec to judge after the fact. (hips_exec_event_fn.) */
void exec_judge_event(void *userdata, const struct hips_exec_event *event, bool gate);

/* Someone else resumed a process the stop layer holds (hips_tamper_event_fn). */
void exec_judge_tamper(void *userdata, const struct hips_tamper_event *event);

/* Decide every exec still waiting, now (shutdown): hash inline, answer holds,
 * resume or kill stopped processes. */
void exec_judge_flush(Manager *m);

/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Verdicts on execs: gather what the rules need (enrichment), judge, act,
 * log. Two entry points, one per gate layer. */

#include <stdbool.h>
#include <sys/types.h>

#include "hips-abi.h"

/* fanotify hold: thread tid is inside execve() of the file behind fd.
 * Returns true to allow. (fanotify_judge_fn; userdata is the Manager.) */
bool exec_judge_hold(void *userdata, int fd, pid_t tid);

/* Ring-buffer event from the exit probe: a stopped process to resume or
 * kill (gate), or an exec to judge after the fact. (hips_exec_event_fn.) */
void exec_judge_event(void *userdata, const struct hips_exec_event *event, bool gate);

/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* One ancestor of a process, as the lineage monitor knows it: what the exec
 * rules' "ancestor" field matches and what every event's "ancestors" lists,
 * parent first. */

#include <stdbool.h>
#include <sys/types.h>

typedef struct Ancestor {
        pid_t pid;
        const char *comm;               /* the process name (15 bytes at most); NULL when unknown */
        const char *exe;                /* its executable: absolute, or as passed to execve(); NULL when unknown */
        bool exited;                    /* no longer running: known from the lineage map only */
} Ancestor;

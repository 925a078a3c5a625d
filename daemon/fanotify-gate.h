/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The hold layer: a fanotify group with FAN_OPEN_EXEC_PERM filesystem marks
 * on every mounted filesystem. The kernel waits inside execve() until we
 * answer; FAN_DENY makes execve() fail with EPERM. */

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include <systemd/sd-event.h>

typedef struct FanotifyGate FanotifyGate;

typedef enum FanotifyAnswer {
        FANOTIFY_ALLOW,
        FANOTIFY_DENY,
        FANOTIFY_LATER,         /* the judge took fd and answers with fanotify_gate_answer() */
} FanotifyAnswer;

/* Judge the file behind fd (opened by the kernel for thread tid's exec).
 * The exec waits until it is answered: a LATER answer must come on a deadline. */
typedef FanotifyAnswer (*fanotify_judge_fn)(void *userdata, int fd, pid_t tid);

/* Creates the group and its event sources (the group fd and a mountinfo
 * watch). Returns -EPERM/-ENOSYS/-EINVAL when fanotify permission events are
 * unavailable; the caller then runs without the hold layer. Marks are only
 * added by fanotify_gate_set_enabled(). */
int fanotify_gate_new(sd_event *event, fanotify_judge_fn judge, void *userdata, FanotifyGate **ret);

/* Close the group: the kernel allows whatever is still pending. */
FanotifyGate *fanotify_gate_free(FanotifyGate *g);

/* Add filesystem marks on every mounted filesystem (and on filesystems
 * mounted later), or remove them all (functional mode). */
int fanotify_gate_set_enabled(FanotifyGate *g, bool enabled);
bool fanotify_gate_is_enabled(const FanotifyGate *g);
size_t fanotify_gate_n_marked(const FanotifyGate *g);

/* Ignore marks on these files (the kernel allowlist): no event for them
 * until they are modified. Replaces the previous set. */
int fanotify_gate_set_ignored(FanotifyGate *g, char *const *paths, size_t n);

/* Answer an event the judge kept (FANOTIFY_LATER); closes fd. */
void fanotify_gate_answer(FanotifyGate *g, int fd, bool allow);

/* Read and answer every event queued now (used on shutdown). */
void fanotify_gate_drain(FanotifyGate *g);

/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* /proc/self/mountinfo: one mount point per mounted filesystem, so that
 * each superblock can be given one fanotify filesystem mark. */

#include <stddef.h>
#include <stdint.h>

typedef struct MountEntry {
        unsigned major;
        unsigned minor;
        char *path;             /* mount point, octal escapes undone */
        char *fstype;
} MountEntry;

/* Parse mountinfo text; keeps the first mount point of each major:minor.
 * Malformed lines are skipped. Returns 0 or -ENOMEM. */
int mounts_parse(const char *text, size_t size, MountEntry **ret, size_t *ret_n);
int mounts_read(MountEntry **ret, size_t *ret_n);
void mounts_free(MountEntry *entries, size_t n);

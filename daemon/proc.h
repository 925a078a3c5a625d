/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Reading what the kernel tells about a process in /proc. The parsers are
 * separate from the readers so they can be unit-tested and fuzzed. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define PROC_CMDLINE_MAX 32768u   /* bytes of /proc/PID/cmdline read at most */

/* NUL-separated argv (as in /proc/PID/cmdline, or the BPF args buffer) into
 * one string joined by ' '. Trailing NULs are dropped; an empty input gives "".
 * Returns 0 or -ENOMEM. */
int cmdline_from_nulsep(const char *buf, size_t size, char **ret);

typedef struct ProcStatus {
        pid_t ppid;
        uid_t uid_real, uid_effective, uid_saved, uid_fs;
        gid_t gid_real, gid_effective, gid_saved, gid_fs;
        char state;             /* 'R', 'S', 'T', ... */
        char name[64];          /* "Name:" (comm, unescaped as the kernel prints it) */
} ProcStatus;

/* Parse /proc/PID/status contents. Returns 0, or -EBADMSG when PPid or Uid
 * is missing or malformed. */
int proc_status_parse(const char *text, size_t size, ProcStatus *ret);

/* Readers. Return -ESRCH when the process is gone. */
int proc_read_cmdline(pid_t pid, char **ret);
int proc_read_status(pid_t pid, ProcStatus *ret);
/* readlink /proc/PID/exe or /proc/self/fd/N. */
int proc_readlink(const char *path, char **ret);

/* /proc/PID/stat: the state letter and the start time (clock ticks after
 * boot). comm may hold spaces and ')': parsed from the last ')'. Returns 0
 * or -EBADMSG. */
int proc_stat_parse(const char *text, size_t size, char *ret_state, uint64_t *ret_start_ticks);
int proc_read_stat_start(pid_t pid, char *ret_state, uint64_t *ret_start_ticks);

/* /proc/PID/cmdline as the kernel gives it (NUL-separated), into buf. */
int proc_read_cmdline_raw(pid_t pid, char *buf, size_t size, uint32_t *ret_size);

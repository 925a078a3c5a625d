/* SPDX-License-Identifier: (LGPL-2.1-or-later OR BSD-2-Clause) */
#pragma once

/* The one contract between hips.bpf.c and the daemon: limits, map keys and
 * values, ring-buffer events. Fixed-width types only, no libc, so both the BPF
 * side (vmlinux.h) and user space (linux/types.h) can include it. */

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#define HIPS_FILENAME_SIZE 512          /* bytes of the execve() filename kept */
#define HIPS_ARGS_SIZE 4096             /* bytes of NUL-separated argv kept (power of two) */
#define HIPS_MAX_ARGS 128               /* argv entries read at most */
#define HIPS_MAX_PENDING_EXECS 16384    /* threads between enter and exit probe */
#define HIPS_MAX_ALLOWLIST 65536        /* kernel_allowlist identities */
#define HIPS_MAX_JUDGED 16384           /* hold-layer verdicts waiting for their exit probe */
#define HIPS_MAX_STOPPED 16384          /* processes the stop layer stopped, not yet decided */

enum hips_mode {
        HIPS_MODE_BPF_SAFE = 0,         /* stop what the hold layer has not judged */
        HIPS_MODE_BPF_FUNCTIONAL = 1,   /* never stop: report, user space kills after the fact */
        HIPS_MODE_BPF_OFF = 2,          /* report nothing, stop nothing (hipsd shutting down) */
};

/* Flags of an exec record and event. */
enum hips_exec_flags {
        HIPS_F_FILENAME_TRUNCATED = 1u << 0,
        HIPS_F_ARGS_TRUNCATED = 1u << 1,       /* more than HIPS_ARGS_SIZE bytes or HIPS_MAX_ARGS args */
        HIPS_F_EXECVEAT = 1u << 2,
        HIPS_F_STOPPED = 1u << 3,              /* the exit probe sent SIGSTOP: user space must resume or kill */
        HIPS_F_NO_RECORD = 1u << 4,            /* the enter probe's record was missing (e.g. a non-leader thread exec'd) */
        HIPS_F_ARGV_CHANGED = 1u << 5,         /* the new image's argv differs from what the enter probe saw */
        HIPS_F_HOLD_JUDGED = 1u << 6,          /* the fanotify hold judged this exec's file */
        HIPS_F_RECOVERED = 1u << 7,            /* user space only: found stopped by a previous hipsd */
};

/* Per-CPU counters, index into the "counters" array map. */
enum hips_counter {
        HIPS_CNT_ENTERS = 0,            /* execve/execveat entered (not hipsd's own) */
        HIPS_CNT_EXITS_OK,              /* successful execs seen by the exit probe */
        HIPS_CNT_FAST_PATH,             /* kernel_allowlist hits */
        HIPS_CNT_HOLD_PASSED,           /* judged by the hold layer, passed without stop */
        HIPS_CNT_STOPS,                 /* SIGSTOP sent */
        HIPS_CNT_EVENTS,                /* events submitted to a ring buffer */
        HIPS_CNT_DROPS,                 /* ring buffer full: event dropped (and never stopped) */
        HIPS_CNT_ARGV_CHANGED,
        HIPS_CNT_NO_RECORD,
        HIPS_CNT_SELF,                  /* hipsd's own execs and its children's, skipped */
        HIPS_CNT_TAMPER,                /* SIGCONT to a process the gate stopped, by someone else */
        HIPS_CNT_DROP_KILLS,            /* dropped events whose process was killed (fail_action block) */
        _HIPS_CNT_MAX,
};

/* A file identity as the kernel sees it: super_block s_dev (kernel dev_t,
 * MAJOR << 20 | MINOR) and i_ino. */
struct hips_file_id {
        __u64 dev;
        __u64 ino;
};

/* kernel_allowlist entry: valid only while the file's ctime is unchanged,
 * so a modified binary loses its fast path. */
struct hips_allow_value {
        __s64 ctime_sec;
        __u32 ctime_nsec;
        __u32 pad;
};

/* What the enter probe records per thread (key: tid). The hold layer reads it
 * from user space when fanotify reports that thread's exec. */
struct hips_exec_record {
        __u64 exec_id;                  /* unique per execve() since boot of hips.bpf.o */
        __u64 start_ns;                 /* bpf_ktime_get_ns() at enter */
        __u32 tgid;
        __u32 ppid;                     /* tgid of the real parent */
        __u32 uid;
        __u32 gid;
        __u32 flags;                    /* enum hips_exec_flags */
        __u32 args_size;                /* bytes used in args */
        __u32 argc;                     /* args read (<= HIPS_MAX_ARGS) */
        __u32 pad;
        char filename[HIPS_FILENAME_SIZE];
        char args[HIPS_ARGS_SIZE];      /* NUL-separated, like /proc/PID/cmdline */
};

/* Key of the verdict map the hold layer fills before it answers FAN_ALLOW:
 * "thread tid's exec exec_id may run this file". */
struct hips_judged_key {
        __u32 tid;
        __u32 pad;
        __u64 dev;
        __u64 ino;
};

struct hips_judged_value {
        __u64 exec_id;
};

/* Value of the "stopped" map (key: pid as hipsd sees it). The map is pinned,
 * so a restarted hipsd finds what its killed predecessor left stopped; and
 * it tells the signal probe which processes a SIGCONT must not reach unseen. */
struct hips_stopped_value {
        __u64 exec_id;
        __u64 stop_ns;
        __u64 start_boottime;           /* task->start_boottime: tells a reused pid apart */
};

/* Exit-probe event: a stopped exec to judge (gate ring buffer), or an exec
 * to judge after the fact (functional mode, exec ring buffer). */
struct hips_exec_event {
        __u64 exec_id;
        __u64 start_ns;
        __u64 exit_ns;
        __u32 pid;                      /* tgid after exec */
        __u32 tid;                      /* thread that called execve */
        __u32 ppid;
        __u32 uid;
        __u32 gid;
        __u32 flags;
        __u64 dev;                      /* identity of mm->exe_file */
        __u64 ino;
        __u32 args_size;                /* bytes of the new image's argv in args */
        __u32 pad;
        char filename[HIPS_FILENAME_SIZE];   /* as passed to execve (may be relative or empty) */
        char args[HIPS_ARGS_SIZE];           /* the new image's argv, from mm->arg_start */
};

/* Someone other than hipsd sent SIGCONT to a process the stop layer holds. */
struct hips_tamper_event {
        __u32 target_pid;               /* the stopped process */
        __u32 sender_pid;               /* 0 when not visible from hipsd's pid namespace */
        __u32 sender_uid;
        __u32 signal;
        __u64 exec_id;                  /* of the stopped exec */
        __u64 time_ns;
        char sender_comm[16];
};

/* Over 800 tamper events (64 bytes each with the header): rare by nature. */
#define HIPS_TAMPER_RINGBUF_SIZE (64u * 1024u)
/* 1 MiB holds over 200 events. The pages are mapped into hipsd twice and
 * count in its RSS: 4 MiB buffers alone were 16 MiB of it. A gate event's
 * process waits stopped until it is consumed, so the gate buffer fills only
 * if hipsd stops reading; overflow never stops a process (see hips.bpf.c). */
#define HIPS_GATE_RINGBUF_SIZE (1u * 1024u * 1024u)
#define HIPS_EXEC_RINGBUF_SIZE (1u * 1024u * 1024u)

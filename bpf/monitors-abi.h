/* SPDX-License-Identifier: (LGPL-2.1-or-later OR BSD-2-Clause) */
#pragma once

/* The contract between monitors.bpf.c (the HIDS monitors: lineage, network,
 * DNS, sensitive files, privilege changes) and the daemon (monitors-bpf.c and
 * the monitor-*.c handlers). Fixed-width types only, no libc, like
 * hips-abi.h. The monitors have their own BPF object and ring buffer: a flood
 * of telemetry can never cost the exec gate an event. */

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#define HIPS_MON_COMM_SIZE 16
#define HIPS_MON_PATH_SIZE 256          /* exec filenames, open paths, DNS names (power of two) */
#define HIPS_MON_SERVICE_SIZE 32        /* getaddrinfo() service argument */
#define HIPS_MON_NAME_SIZE 64           /* a dentry name */

#define HIPS_MON_MAX_TASKS 16384        /* lineage entries (LRU: exited processes age out) */
#define HIPS_MON_MAX_PENDING 4096       /* syscalls/calls between their enter and exit probe */
#define HIPS_MON_MAX_WATCHED 8192       /* watched file and directory identities */
#define HIPS_MON_MAX_UDP_FLOWS 4096     /* (process, destination) pairs reported recently */
#define HIPS_MON_RINGBUF_SIZE (2u * 1024u * 1024u)

/* A UDP flow (process, destination) is reported at most this often; the
 * report counts the sends in between. */
#define HIPS_MON_UDP_REPORT_NS (10ull * 1000000000ull)

/* The monitors, also the index of their counters and attach sets. */
enum hips_mon_id {
        HIPS_MON_LINEAGE = 0,
        HIPS_MON_NETWORK,
        HIPS_MON_DNS,
        HIPS_MON_FILES,
        HIPS_MON_PRIVILEGE,
        _HIPS_MON_MAX,
};

/* Ring-buffer record types (the first field of every record). */
enum hips_mon_event_type {
        HIPS_MON_EV_FORK = 1,           /* struct hips_mon_process_event */
        HIPS_MON_EV_EXEC,
        HIPS_MON_EV_EXIT,
        HIPS_MON_EV_NET,                /* struct hips_mon_net_event */
        HIPS_MON_EV_DNS,                /* struct hips_mon_dns_event */
        HIPS_MON_EV_FILE,               /* struct hips_mon_file_event */
        HIPS_MON_EV_PRIV,               /* struct hips_mon_priv_event */
};

/* Per-CPU counters: index HIPS_MON_CNT(monitor, which). */
enum hips_mon_counter {
        HIPS_MON_CNT_EVENTS = 0,        /* records submitted */
        HIPS_MON_CNT_DROPS,             /* ring buffer full: record lost */
        _HIPS_MON_CNT_PER_MONITOR,
};
#define HIPS_MON_CNT(mon, which) ((mon) * _HIPS_MON_CNT_PER_MONITOR + (which))
#define _HIPS_MON_CNT_MAX (_HIPS_MON_MAX * _HIPS_MON_CNT_PER_MONITOR)

/* Lineage: one entry per process (key: pid as hipsd sees it), written at
 * fork and exec, marked at exit and left to age out, so that the chain of a
 * process whose parent died is still known. */
enum hips_mon_task_flags {
        HIPS_MON_TASK_EXITED = 1u << 0,
        HIPS_MON_TASK_SEEDED = 1u << 1,         /* written by hipsd from /proc at start */
        HIPS_MON_TASK_EXECED = 1u << 2,         /* filename is its own exec's, not inherited */
};

struct hips_mon_task {
        __u64 start_boottime;           /* task->start_boottime: tells a reused pid apart */
        __u64 parent_start;             /* the parent's start_boottime at fork */
        __u32 ppid;                     /* the parent at fork (not the reaper it may have now) */
        __u32 flags;                    /* enum hips_mon_task_flags */
        __s32 exit_code;                /* task->exit_code when EXITED */
        __u32 pad;
        char comm[HIPS_MON_COMM_SIZE];
        char filename[HIPS_MON_PATH_SIZE];      /* as passed to execve (may be relative) */
};

/* The start of every ring-buffer record. */
struct hips_mon_header {
        __u32 type;                     /* enum hips_mon_event_type */
        __u32 pid;                      /* tgid, as hipsd sees it */
        __u32 tid;
        __u32 ppid;
        __u32 uid;                      /* real uid and gid */
        __u32 gid;
        __u64 time_ns;                  /* bpf_ktime_get_ns() */
        __u64 start_boottime;           /* of the process: tells a reused pid apart */
        char comm[HIPS_MON_COMM_SIZE];
};

/* Lineage events (only with "events": true). */
struct hips_mon_process_event {
        struct hips_mon_header h;
        __u32 child_pid;                /* fork */
        __s32 exit_code;                /* exit: as wait(2) reports it */
        char filename[HIPS_MON_PATH_SIZE];      /* exec */
};

enum hips_mon_net_kind {
        HIPS_MON_NET_CONNECT = 1,       /* TCP, outbound: reported when the handshake ends */
        HIPS_MON_NET_ACCEPT,            /* TCP, inbound: accept(2) returned it */
        HIPS_MON_NET_UDP_SEND,          /* sendto/sendmsg with a destination */
        HIPS_MON_NET_UDP_CONNECT,       /* connect(2) of a UDP socket: its destination */
};

/* Addresses: saddr/sport are the local end, daddr/dport the remote end, for
 * every kind; ports in host order; an IPv4 address is in the first 4 bytes. */
struct hips_mon_net_event {
        struct hips_mon_header h;
        __u16 kind;                     /* enum hips_mon_net_kind */
        __u16 family;                   /* AF_INET, AF_INET6 */
        __u16 protocol;                 /* IPPROTO_TCP, IPPROTO_UDP */
        __u16 sport;
        __u16 dport;
        __u16 failed;                   /* connect: the handshake did not complete */
        __u32 count;                    /* UDP: sends of this flow since the last report */
        __u8 saddr[16];
        __u8 daddr[16];
};

struct hips_mon_dns_event {
        struct hips_mon_header h;
        __s32 ret;                      /* getaddrinfo()'s return value (0, EAI_*) */
        __u32 flags;                    /* HIPS_MON_DNS_F_* */
        __u64 latency_ns;
        char name[HIPS_MON_PATH_SIZE];
        char service[HIPS_MON_SERVICE_SIZE];
};

enum hips_mon_dns_flags {
        HIPS_MON_DNS_F_NO_NAME = 1u << 0,       /* node was NULL */
        HIPS_MON_DNS_F_NO_SERVICE = 1u << 1,
        HIPS_MON_DNS_F_NO_RETURN = 1u << 2,     /* the return probe did not see it */
};

/* Value of the watched-identities map (key: struct hips_mon_file_id). */
enum hips_mon_watch_flags {
        HIPS_MON_WATCH_SELF = 1u << 0,          /* an open of this very inode */
        HIPS_MON_WATCH_CHILDREN = 1u << 1,      /* an open of an entry of this directory */
};

/* Kernel dev_t (MAJOR << 20 | MINOR) and inode number. */
struct hips_mon_file_id {
        __u64 dev;
        __u64 ino;
};

enum hips_mon_file_match {
        HIPS_MON_FILE_MATCH_SELF = 1,   /* dev/ino is a watched file */
        HIPS_MON_FILE_MATCH_CHILD,      /* dev/ino is in a watched directory (parent_ino) */
        HIPS_MON_FILE_MATCH_DENIED,     /* the open failed with EACCES/EPERM: user space matches the path */
};

enum hips_mon_file_syscall {
        HIPS_MON_FILE_OPENAT = 1,
        HIPS_MON_FILE_OPENAT2,
        HIPS_MON_FILE_OPEN,
};

struct hips_mon_file_event {
        struct hips_mon_header h;
        __u64 dev;
        __u64 ino;
        __u64 parent_ino;               /* CHILD: the watched directory */
        __s32 ret;                      /* the fd, or -errno */
        __u32 flags;                    /* the open flags as passed (O_*) */
        __s32 dfd;                      /* openat's directory fd (AT_FDCWD = -100) */
        __u16 match;                    /* enum hips_mon_file_match */
        __u16 syscall;                  /* enum hips_mon_file_syscall */
        char name[HIPS_MON_NAME_SIZE];  /* the opened dentry's name */
        char path[HIPS_MON_PATH_SIZE];  /* as passed (may be relative to dfd) */
};

enum hips_mon_priv_kind {
        HIPS_MON_PRIV_SETUID = 1,
        HIPS_MON_PRIV_SETREUID,
        HIPS_MON_PRIV_SETRESUID,
        HIPS_MON_PRIV_SETFSUID,
        HIPS_MON_PRIV_SETGID,
        HIPS_MON_PRIV_SETREGID,
        HIPS_MON_PRIV_SETRESGID,
        HIPS_MON_PRIV_SETFSGID,
        HIPS_MON_PRIV_EXEC,             /* exec of a set-user/group-ID (or capability) file */
};

struct hips_mon_creds {
        __u32 uid, euid, suid, fsuid;
        __u32 gid, egid, sgid, fsgid;
        __u64 cap_effective;
};

/* A set*id call that changed an id or failed (a call that changes nothing
 * is not reported), or an exec that changed ids or grew capabilities. */
struct hips_mon_priv_event {
        struct hips_mon_header h;
        __u32 kind;                     /* enum hips_mon_priv_kind */
        __s32 ret;                      /* syscall: its return value; exec: 0 */
        __u32 args[3];                  /* syscall: its arguments ((u32) -1 = unchanged) */
        __u32 pad;
        __u64 dev;                      /* identity of the file: exec's, else the running exe */
        __u64 ino;
        struct hips_mon_creds before;
        struct hips_mon_creds after;
        char filename[HIPS_MON_PATH_SIZE];      /* exec: the file */
};

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Process lineage: the kernel side keeps the "tasks" map (pid -> parent at
 * fork, comm, exe, start time) at every fork, exec and exit; this side seeds
 * it with the processes that predate hipsd and walks it to give every event,
 * and the exec rules' "ancestor" field, the chain of ancestors. An entry's
 * parent is checked by start time, so a reused pid never joins a chain; a
 * process missing from the map (evicted) is read from /proc. With
 * "events": true, every fork, exec and exit is also logged ("process"). */

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "log.h"
#include "monitor.h"
#include "proc.h"
#include "util.h"

#define ANCESTOR_EXE_MAX 1024
#define SEED_MAX 65536

/* The /proc/PID/exe of ancestors the kernel side knows no absolute path of
 * (a relative exec path, or seeded from /proc without one): the same few
 * (pid 1, the session's shells) come up in every decision. An entry is valid
 * for one image of one process: pid, start time, and the name the kernel
 * side has for it (changed by an exec). */
#define EXE_CACHE_SLOTS 32u

typedef struct ExeCacheEntry {
        uint32_t pid;
        uint64_t start_boottime;
        uint64_t name_hash;
        bool unreadable;
        char exe[ANCESTOR_EXE_MAX];
} ExeCacheEntry;

typedef struct LineageState {
        ExeCacheEntry exe_cache[EXE_CACHE_SLOTS];
        Ancestor items[MONITORS_MAX_DEPTH];
        char comm[MONITORS_MAX_DEPTH][HIPS_MON_COMM_SIZE + 1];
        char exe[MONITORS_MAX_DEPTH][ANCESTOR_EXE_MAX];
        bool seeded;
} LineageState;

/* FNV-1a: tells one exec name from the next. */
static uint64_t name_hash(const char *s, size_t size) {
        uint64_t h = UINT64_C(0xcbf29ce484222325);

        for (size_t i = 0; i < size && s[i]; i++)
                h = (h ^ (unsigned char) s[i]) * UINT64_C(0x100000001b3);
        return h;
}

static uint64_t tick_ns(void) {
        long tck = sysconf(_SC_CLK_TCK);

        return tck > 0 ? 1000000000ull / (uint64_t) tck : 10000000ull;
}

/* Start times from /proc have clock-tick resolution: compare at that. */
static bool same_start(uint64_t a_ns, uint64_t b_ns) {
        uint64_t t = tick_ns();

        return a_ns / t == b_ns / t;
}

static void copy_string(char *dst, size_t size, const char *src, size_t src_size) {
        size_t n = strnlen(src, src_size);

        if (n >= size)
                n = size - 1;
        memcpy(dst, src, n);
        dst[n] = '\0';
}

/* What /proc says of a live process: its parent now, name, start, exe. */
typedef struct ProcInfo {
        pid_t ppid;
        uint64_t start_ns;
        char comm[HIPS_MON_COMM_SIZE + 1];
        char *exe;
} ProcInfo;

static int proc_info(pid_t pid, ProcInfo *ret) {
        char path[64], state;
        ProcStatus status;
        uint64_t ticks;
        int r;

        r = proc_read_status(pid, &status);
        if (r < 0)
                return r;
        r = proc_read_stat_start(pid, &state, &ticks);
        if (r < 0)
                return r;
        *ret = (ProcInfo) {
                .ppid = status.ppid,
                .start_ns = ticks * tick_ns(),
        };
        copy_string(ret->comm, sizeof(ret->comm), status.name, sizeof(status.name));
        (void) snprintf(path, sizeof(path), "/proc/%d/exe", (int) pid);
        (void) proc_readlink(path, &ret->exe);    /* a kernel thread has none */
        return 0;
}

/* The processes that were there before the kernel side was. */
typedef struct SeedEntry {
        pid_t pid;
        ProcInfo info;
} SeedEntry;

static void lineage_seed(Monitors *ms) {
        _cleanup_free_ SeedEntry *entries = NULL;
        size_t n = 0, allocated = 0, seeded = 0;
        struct dirent *de;
        DIR *d;

        d = opendir("/proc");
        if (!d) {
                log_warning_errno(negative_errno(), "Cannot read /proc, lineage starts empty: %m");
                return;
        }
        while ((de = readdir(d)) && n < SEED_MAX) {
                char *end;
                long pid = strtol(de->d_name, &end, 10);

                if (*end || pid <= 0)
                        continue;
                if (n == allocated) {
                        size_t a = allocated ? allocated * 2 : 512;
                        SeedEntry *e = reallocarray(entries, a, sizeof(SeedEntry));

                        if (!e)
                                break;
                        entries = e;
                        allocated = a;
                }
                if (proc_info((pid_t) pid, &entries[n].info) == 0)
                        entries[n++].pid = (pid_t) pid;
        }
        closedir(d);

        for (size_t i = 0; i < n; i++) {
                struct hips_mon_task t = {
                        .start_boottime = entries[i].info.start_ns,
                        .ppid = (uint32_t) entries[i].info.ppid,
                        .flags = HIPS_MON_TASK_SEEDED,
                };

                for (size_t k = 0; k < n; k++)
                        if (entries[k].pid == entries[i].info.ppid) {
                                t.parent_start = entries[k].info.start_ns;
                                break;
                        }
                copy_string(t.comm, sizeof(t.comm), entries[i].info.comm, sizeof(entries[i].info.comm));
                if (entries[i].info.exe)
                        copy_string(t.filename, sizeof(t.filename), entries[i].info.exe, strlen(entries[i].info.exe));
                if (monitors_bpf_task_seed(monitors_bpf(ms), (uint32_t) entries[i].pid, &t) == 0)
                        seeded++;
        }
        for (size_t i = 0; i < n; i++)
                free(entries[i].info.exe);
        log_debug("Lineage seeded with %zu of %zu running processes.", seeded, n);
}

size_t lineage_ancestry(Monitors *ms, pid_t pid, uint32_t depth, const Ancestor **ret) {
        LineageState *s = monitors_state(ms, HIPS_MON_LINEAGE);
        MonitorsBpf *b = monitors_bpf(ms);
        struct hips_mon_task t;
        uint64_t next_start = 0;        /* 0: not known, not checked */
        uint32_t next;
        ProcInfo info;
        size_t n = 0;

        *ret = NULL;
        if (!s || !b)
                return 0;
        if (depth > MONITORS_MAX_DEPTH)
                depth = MONITORS_MAX_DEPTH;

        /* The process itself says who its parent was. */
        if (monitors_bpf_task_lookup(b, (uint32_t) pid, &t) == 0) {
                next = t.ppid;
                next_start = t.parent_start;
        } else if (proc_info(pid, &info) == 0) {
                free(info.exe);
                next = (uint32_t) info.ppid;
        } else {
                *ret = s->items;
                return 0;
        }

        while (n < depth && next != 0) {
                Ancestor *a = &s->items[n];
                bool have = false;

                *a = (Ancestor) { .pid = (pid_t) next };
                s->comm[n][0] = s->exe[n][0] = '\0';

                if (monitors_bpf_task_lookup(b, next, &t) == 0 &&
                    (next_start == 0 || same_start(t.start_boottime, next_start))) {
                        copy_string(s->comm[n], sizeof(s->comm[n]), t.comm, sizeof(t.comm));
                        copy_string(s->exe[n], sizeof(s->exe[n]), t.filename, sizeof(t.filename));
                        a->exited = t.flags & HIPS_MON_TASK_EXITED;
                        if (s->exe[n][0] != '/' && !a->exited) {
                                /* A relative exec path: the kernel's own link says where. */
                                ExeCacheEntry *c = &s->exe_cache[next % EXE_CACHE_SLOTS];
                                uint64_t h = name_hash(t.filename, sizeof(t.filename));

                                if (c->pid != next || c->start_boottime != t.start_boottime || c->name_hash != h) {
                                        _cleanup_free_ char *exe = NULL;
                                        char path[64];

                                        (void) snprintf(path, sizeof(path), "/proc/%u/exe", next);
                                        *c = (ExeCacheEntry) { .pid = next, .start_boottime = t.start_boottime, .name_hash = h };
                                        if (proc_readlink(path, &exe) == 0)
                                                copy_string(c->exe, sizeof(c->exe), exe, strlen(exe));
                                        else
                                                c->unreadable = true;
                                }
                                if (!c->unreadable)
                                        memcpy(s->exe[n], c->exe, sizeof(s->exe[n]));
                        }
                        next = t.ppid;
                        next_start = t.parent_start;
                        have = true;
                } else if (proc_info((pid_t) next, &info) == 0 &&
                           (next_start == 0 || same_start(info.start_ns, next_start))) {
                        memcpy(s->comm[n], info.comm, sizeof(s->comm[n]));
                        if (info.exe)
                                copy_string(s->exe[n], sizeof(s->exe[n]), info.exe, strlen(info.exe));
                        free(info.exe);
                        next = (uint32_t) info.ppid;
                        next_start = 0;
                        have = true;
                }

                if (!have) {
                        /* Gone and forgotten (or the pid is someone else's now): the chain ends here. */
                        a->exited = true;
                        n++;
                        break;
                }
                a->comm = s->comm[n][0] ? s->comm[n] : NULL;
                a->exe = s->exe[n][0] ? s->exe[n] : NULL;
                n++;
        }

        *ret = s->items;
        return n;
}

static bool lineage_enabled(const MonitorsConfig *c) {
        return c->lineage;
}

static int lineage_apply(Monitors *ms, const MonitorsConfig *c, bool enabled) {
        LineageState *s = monitors_state(ms, HIPS_MON_LINEAGE);

        if (!enabled)
                return 0;
        if (!s) {
                s = calloc(1, sizeof(*s));
                if (!s)
                        return -ENOMEM;
                monitors_set_state(ms, HIPS_MON_LINEAGE, s);
        }
        /* After attaching, so that nothing forked meanwhile is missed; the
         * seed never overwrites what the kernel side wrote. */
        if (!s->seeded) {
                lineage_seed(ms);
                s->seeded = true;
        }
        return 0;
}

static void lineage_handle(Monitors *ms, const void *data, size_t size) {
        const struct hips_mon_process_event *p = data;
        char filename[HIPS_MON_PATH_SIZE];
        MonitorEvent e;

        switch (p->h.type) {
        case HIPS_MON_EV_FORK:
                monitor_event_begin(&e, ms, &monitor_lineage, &p->h, "fork");
                monitor_event_add_number(&e, "child_pid", p->child_pid);
                monitor_event_emit(&e, "log", "%.16s (pid %u) forked pid %u", p->h.comm, p->h.pid, p->child_pid);
                break;
        case HIPS_MON_EV_EXEC:
                copy_string(filename, sizeof(filename), p->filename, sizeof(p->filename));
                monitor_event_begin(&e, ms, &monitor_lineage, &p->h, "exec");
                monitor_event_add(&e, "filename", filename);
                monitor_event_emit(&e, "log", "pid %u executed %s", p->h.pid, filename);
                break;
        case HIPS_MON_EV_EXIT:
                monitor_event_begin(&e, ms, &monitor_lineage, &p->h, "exit");
                if (WIFSIGNALED(p->exit_code)) {
                        monitor_event_add(&e, "exit_status", NULL);
                        monitor_event_add_number(&e, "signal", WTERMSIG(p->exit_code));
                        monitor_event_emit(&e, "log", "%.16s (pid %u) killed by signal %d",
                                           p->h.comm, p->h.pid, WTERMSIG(p->exit_code));
                } else {
                        monitor_event_add_number(&e, "exit_status", WEXITSTATUS(p->exit_code));
                        monitor_event_add(&e, "signal", NULL);
                        monitor_event_emit(&e, "log", "%.16s (pid %u) exited with status %d",
                                           p->h.comm, p->h.pid, WEXITSTATUS(p->exit_code));
                }
                break;
        }
}

static void lineage_done(Monitors *ms) {
        free(monitors_state(ms, HIPS_MON_LINEAGE));
        monitors_set_state(ms, HIPS_MON_LINEAGE, NULL);
}

const Monitor monitor_lineage = {
        .name = "lineage",
        .event = "process",
        .message_id = HIPS_MESSAGE_MONITOR_PROCESS,
        .id = HIPS_MON_LINEAGE,
        .enabled = lineage_enabled,
        .apply = lineage_apply,
        .handle = lineage_handle,
        .min_size = sizeof(struct hips_mon_process_event),
        .done = lineage_done,
};

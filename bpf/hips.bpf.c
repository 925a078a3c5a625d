// SPDX-License-Identifier: (LGPL-2.1-or-later OR BSD-2-Clause)
/* hipsd kernel side: the execve probe pair.
 *
 * sys_enter_execve{,at}: record filename and argv per thread (map "execs").
 * sys_exit_execve{,at}:  a successful exec is passed when its file is on the
 *   kernel allowlist (by identity), or, in safe mode, when the fanotify hold
 *   already judged this very file for this very exec and the new image got
 *   the argv that was judged. Anything else is reported on a ring buffer; in
 *   safe mode it is also stopped with SIGSTOP, to be resumed or killed by
 *   hipsd (the backstop layer, for memfd and unmarked filesystems).
 *
 * Order matters in the stop path: reserve the ring-buffer slot first (a
 * dropped event must never leave a process stopped with nobody told), then
 * send SIGSTOP, then submit (so hipsd can never send its SIGCONT before our
 * SIGSTOP is queued).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

#include "hips-abi.h"

#define SIGKILL 9
#define SIGSTOP 19
#define SIGCONT 18

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* Set before load: hipsd's own tgid (as getpid() gives it); it and its
 * children are never gated. */
const volatile __u32 hips_tgid = 0;

/* hipsd's pid namespace inode when it is not the initial one, else 0. A
 * hipsd in a container gates only the processes it can see (it could never
 * resume the others), and every pid it is given is a pid as it sees it. */
const volatile __u32 hips_pidns_ino = 0;

/* Changed at run time through the skeleton's mmap()ed .bss: enum hips_mode. */
volatile __u32 hips_mode = HIPS_MODE_BPF_SAFE;

/* fail_action "block": an exec whose event cannot be reported (ring buffer
 * full) is killed instead of running unjudged. */
volatile __u32 hips_drop_kills = 0;

__u64 next_exec_id = 1;

/* Not preallocated: 16,384 records of 4.6 KiB would pin 76 MB of kernel
 * memory and take ~100 ms to allocate at start-up, for the few execs in
 * flight at any time. A record that cannot be allocated is an exec without
 * one (HIPS_F_NO_RECORD): still gated, judged on what the exit probe reads. */
struct {
        __uint(type, BPF_MAP_TYPE_HASH);
        __uint(map_flags, BPF_F_NO_PREALLOC);
        __uint(max_entries, HIPS_MAX_PENDING_EXECS);
        __type(key, __u32);                             /* tid */
        __type(value, struct hips_exec_record);
} execs SEC(".maps");

/* Written only by hipsd: nothing to preallocate for the probes. */
struct {
        __uint(type, BPF_MAP_TYPE_HASH);
        __uint(map_flags, BPF_F_NO_PREALLOC);
        __uint(max_entries, HIPS_MAX_ALLOWLIST);
        __type(key, struct hips_file_id);
        __type(value, struct hips_allow_value);
} kernel_allowlist SEC(".maps");

/* Filled by the hold layer before it answers FAN_ALLOW. LRU: an exec that
 * fails after its file was allowed leaves an entry that simply ages out. */
struct {
        __uint(type, BPF_MAP_TYPE_LRU_HASH);
        __uint(max_entries, HIPS_MAX_JUDGED);
        __type(key, struct hips_judged_key);
        __type(value, struct hips_judged_value);
} judged SEC(".maps");

struct {
        __uint(type, BPF_MAP_TYPE_HASH);
        __uint(max_entries, HIPS_MAX_STOPPED);
        __type(key, __u32);
        __type(value, struct hips_stopped_value);
} stopped SEC(".maps");

/* Gate events (processes we stopped) and after-the-fact events have separate
 * buffers: a flood of telemetry must never cost a gate event its slot. */
struct {
        __uint(type, BPF_MAP_TYPE_RINGBUF);
        __uint(max_entries, HIPS_GATE_RINGBUF_SIZE);
} gate_events SEC(".maps");

struct {
        __uint(type, BPF_MAP_TYPE_RINGBUF);
        __uint(max_entries, HIPS_EXEC_RINGBUF_SIZE);
} exec_events SEC(".maps");

struct {
        __uint(type, BPF_MAP_TYPE_RINGBUF);
        __uint(max_entries, HIPS_TAMPER_RINGBUF_SIZE);
} tamper_events SEC(".maps");

struct {
        __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
        __uint(max_entries, _HIPS_CNT_MAX);
        __type(key, __u32);
        __type(value, __u64);
} counters SEC(".maps");

/* The record is too large for the 512-byte BPF stack. The spill area lets
 * bpf_probe_read_user_str() write a full HIPS_ARGS_SIZE at any offset below
 * HIPS_ARGS_SIZE, which keeps the verifier's bounds simple. */
struct enter_scratch {
        struct hips_exec_record rec;
        char spill[HIPS_ARGS_SIZE];
};

struct {
        __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
        __uint(max_entries, 1);
        __type(key, __u32);
        __type(value, struct enter_scratch);
} enter_scratch SEC(".maps");

struct args_buf {
        char args[HIPS_ARGS_SIZE];
};

struct {
        __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
        __uint(max_entries, 1);
        __type(key, __u32);
        __type(value, struct args_buf);
} exit_scratch SEC(".maps");

/* Kernels before 6.11 had a timespec64 instead of i_ctime_sec/_nsec. */
struct inode___pre611 {
        struct timespec64 __i_ctime;
} __attribute__((preserve_access_index));

struct inode___pre66 {
        struct timespec64 i_ctime;
} __attribute__((preserve_access_index));

static __always_inline void count(__u32 which) {
        __u64 *c = bpf_map_lookup_elem(&counters, &which);
        if (c)
                *c += 1;
}

#include "hips-pidns.bpf.h"

/* tid and tgid of current, and the tgid of its parent, as hipsd sees them. */
struct seen_ids {
        __u32 tid;
        __u32 tgid;
        __u32 ppid;
};

static __always_inline bool current_ids(struct task_struct *task, struct seen_ids *ids) {
        struct task_struct *parent = BPF_CORE_READ(task, real_parent);

        if (hips_pidns_ino == 0) {
                __u64 pid_tgid = bpf_get_current_pid_tgid();

                ids->tid = (__u32) pid_tgid;
                ids->tgid = pid_tgid >> 32;
                ids->ppid = BPF_CORE_READ(parent, tgid);
                return true;
        }
        ids->tid = pid_nr_seen(BPF_CORE_READ(task, thread_pid));
        ids->tgid = pid_nr_seen(BPF_CORE_READ(task, group_leader, thread_pid));
        ids->ppid = pid_nr_seen(BPF_CORE_READ(parent, group_leader, thread_pid));
        return ids->tid != 0 && ids->tgid != 0;
}

static __always_inline bool is_hipsd(const struct seen_ids *ids) {
        return hips_tgid != 0 && (ids->tgid == hips_tgid || ids->ppid == hips_tgid);
}

static __always_inline int record_enter(const char *filename, const char *const *argv, __u32 flags) {
        struct task_struct *task = (struct task_struct *) bpf_get_current_task();
        __u32 zero = 0, off = 0, i;
        struct enter_scratch *s;
        struct hips_exec_record *r;
        struct seen_ids ids;
        __u64 uid_gid;
        long n;

        if (hips_mode == HIPS_MODE_BPF_OFF)
                return 0;
        if (!current_ids(task, &ids))
                return 0;       /* outside hipsd's pid namespace: not ours to gate */
        if (is_hipsd(&ids)) {
                count(HIPS_CNT_SELF);
                return 0;
        }

        s = bpf_map_lookup_elem(&enter_scratch, &zero);
        if (!s)
                return 0;
        r = &s->rec;

        uid_gid = bpf_get_current_uid_gid();
        r->exec_id = __sync_fetch_and_add(&next_exec_id, 1);
        r->start_ns = bpf_ktime_get_ns();
        r->tgid = ids.tgid;
        r->ppid = ids.ppid;
        r->uid = (__u32) uid_gid;
        r->gid = uid_gid >> 32;

        n = bpf_probe_read_user_str(r->filename, sizeof(r->filename), filename);
        if (n < 0)
                r->filename[0] = '\0';
        else if (n == sizeof(r->filename))
                flags |= HIPS_F_FILENAME_TRUNCATED;

        for (i = 0; i < HIPS_MAX_ARGS; i++) {
                const char *arg = NULL;

                if (bpf_probe_read_user(&arg, sizeof(arg), &argv[i]) < 0 || !arg)
                        break;
                if (off >= HIPS_ARGS_SIZE) {
                        flags |= HIPS_F_ARGS_TRUNCATED;
                        break;
                }
                n = bpf_probe_read_user_str(&r->args[off & (HIPS_ARGS_SIZE - 1)], HIPS_ARGS_SIZE, arg);
                if (n <= 0) {
                        flags |= HIPS_F_ARGS_TRUNCATED;
                        break;
                }
                off += n;
        }
        if (i == HIPS_MAX_ARGS) {
                const char *more = NULL;

                if (bpf_probe_read_user(&more, sizeof(more), &argv[i]) == 0 && more)
                        flags |= HIPS_F_ARGS_TRUNCATED;
        }
        if (off > HIPS_ARGS_SIZE) {
                off = HIPS_ARGS_SIZE;
                flags |= HIPS_F_ARGS_TRUNCATED;
        }
        r->args_size = off;
        r->argc = i;
        r->flags = flags;

        bpf_map_update_elem(&execs, &ids.tid, r, BPF_ANY);
        count(HIPS_CNT_ENTERS);
        return 0;
}

SEC("tracepoint/syscalls/sys_enter_execve")
int tp_enter_execve(struct trace_event_raw_sys_enter *ctx) {
        return record_enter((const char *) ctx->args[0], (const char *const *) ctx->args[1], 0);
}

SEC("tracepoint/syscalls/sys_enter_execveat")
int tp_enter_execveat(struct trace_event_raw_sys_enter *ctx) {
        return record_enter((const char *) ctx->args[1], (const char *const *) ctx->args[2], HIPS_F_EXECVEAT);
}

static __always_inline bool inode_ctime_equal(struct inode *inode, const struct hips_allow_value *v) {
        __s64 sec;
        __u32 nsec;

        if (bpf_core_field_exists(inode->i_ctime_sec)) {
                sec = BPF_CORE_READ(inode, i_ctime_sec);
                nsec = BPF_CORE_READ(inode, i_ctime_nsec);
        } else if (bpf_core_field_exists(((struct inode___pre611 *) inode)->__i_ctime)) {
                struct inode___pre611 *old = (void *) inode;
                sec = BPF_CORE_READ(old, __i_ctime.tv_sec);
                nsec = BPF_CORE_READ(old, __i_ctime.tv_nsec);
        } else {
                struct inode___pre66 *old = (void *) inode;
                sec = BPF_CORE_READ(old, i_ctime.tv_sec);
                nsec = BPF_CORE_READ(old, i_ctime.tv_nsec);
        }
        /* Since 6.13 the top bit of i_ctime_nsec is I_CTIME_QUERIED (multigrain timestamps). */
        nsec &= ~(1u << 31);
        return sec == v->ctime_sec && nsec == v->ctime_nsec;
}

/* The argv comparisons run in bpf_loop() callbacks: the verifier checks a
 * callback once, where an open-coded 4096-step loop would be explored step by
 * step (and exceed the complexity limit). Each stops at the first difference. */
struct cmp_ctx {
        const char *a;
        const char *b;
        __u32 a_off;
        __u32 b_off;
        bool equal;
};

static long cmp_step(__u32 i, void *data) {
        struct cmp_ctx *c = data;

        if (c->a[(c->a_off + i) & (HIPS_ARGS_SIZE - 1)] != c->b[(c->b_off + i) & (HIPS_ARGS_SIZE - 1)]) {
                c->equal = false;
                return 1;
        }
        return 0;
}

/* a[a_off..a_off+len) == b[b_off..b_off+len), both buffers HIPS_ARGS_SIZE long. */
static __always_inline bool args_equal(const char *a, __u32 a_off, const char *b, __u32 b_off, __u32 len) {
        struct cmp_ctx c = { .a = a, .b = b, .a_off = a_off, .b_off = b_off, .equal = true };

        if (len > HIPS_ARGS_SIZE)
                return false;
        if (len > 0)
                bpf_loop(len, cmp_step, &c, 0);
        return c.equal;
}

struct nul_ctx {
        const char *s;
        __u32 found;            /* index after the first NUL, 0 = none */
};

static long nul_step(__u32 i, void *data) {
        struct nul_ctx *c = data;

        if (c->s[i & (HIPS_ARGS_SIZE - 1)] == '\0') {
                c->found = i + 1;
                return 1;
        }
        return 0;
}

/* Did the new image get the argv that the hold layer judged? Either exactly,
 * or, for a script, as binfmt_script rewrites it: "interp [arg] script"
 * followed by the judged argv[1..]. */
static __always_inline bool argv_as_judged(const struct hips_exec_record *r, const char *now, __u32 now_size) {
        __u32 rec_size = r->args_size, tail;
        struct nul_ctx first = { .s = r->args };

        if (rec_size > HIPS_ARGS_SIZE || now_size > HIPS_ARGS_SIZE)
                return false;

        if (r->flags & HIPS_F_ARGS_TRUNCATED)
                /* Only the judged prefix is known. */
                return now_size >= rec_size && args_equal(r->args, 0, now, 0, rec_size);

        if (now_size == rec_size && args_equal(r->args, 0, now, 0, rec_size))
                return true;

        /* Script: skip the judged argv[0]; what remains must end the new argv. */
        if (rec_size == 0)
                return false;
        bpf_loop(rec_size, nul_step, &first, 0);
        if (first.found == 0 || first.found > rec_size)
                return false;
        tail = rec_size - first.found;
        if (tail >= now_size)
                return false;
        if (now[(now_size - tail - 1) & (HIPS_ARGS_SIZE - 1)] != '\0')
                return false;
        return args_equal(r->args, first.found, now, now_size - tail, tail);
}

static __always_inline int handle_exit(long ret) {
        struct task_struct *task = (struct task_struct *) bpf_get_current_task();
        struct hips_exec_record *r = NULL;
        struct seen_ids ids;
        struct hips_allow_value *allow;
        struct hips_judged_value *jv;
        struct hips_exec_event *e;
        struct hips_file_id id;
        struct args_buf *now;
        struct inode *inode;
        struct mm_struct *mm;
        __u32 zero = 0, mode = hips_mode, flags, now_size;
        __u64 arg_start, arg_end;
        bool judged_ok = false;
        void *ringbuf;

        if (!current_ids(task, &ids))
                return 0;
        r = bpf_map_lookup_elem(&execs, &ids.tid);
        if (ret != 0 || mode == HIPS_MODE_BPF_OFF)
                goto out;
        if (is_hipsd(&ids))
                goto out;

        count(HIPS_CNT_EXITS_OK);

        mm = BPF_CORE_READ(task, mm);
        inode = BPF_CORE_READ(mm, exe_file, f_inode);
        id.dev = BPF_CORE_READ(inode, i_sb, s_dev);
        id.ino = BPF_CORE_READ(inode, i_ino);

        allow = bpf_map_lookup_elem(&kernel_allowlist, &id);
        if (allow && inode_ctime_equal(inode, allow)) {
                count(HIPS_CNT_FAST_PATH);
                goto out;
        }

        now = bpf_map_lookup_elem(&exit_scratch, &zero);
        if (!now)
                goto out;
        arg_start = BPF_CORE_READ(mm, arg_start);
        arg_end = BPF_CORE_READ(mm, arg_end);
        now_size = arg_end > arg_start ? arg_end - arg_start : 0;
        if (now_size > HIPS_ARGS_SIZE)
                now_size = HIPS_ARGS_SIZE;
        if (bpf_probe_read_user(now->args, now_size, (const void *) arg_start) < 0)
                now_size = 0;

        flags = r ? r->flags : HIPS_F_NO_RECORD;
        if (!r)
                count(HIPS_CNT_NO_RECORD);

        if (mode == HIPS_MODE_BPF_SAFE && r) {
                struct hips_judged_key jk = { .tid = ids.tid, .dev = id.dev, .ino = id.ino };

                jv = bpf_map_lookup_elem(&judged, &jk);
                if (jv && jv->exec_id == r->exec_id) {
                        bpf_map_delete_elem(&judged, &jk);
                        flags |= HIPS_F_HOLD_JUDGED;
                        if (argv_as_judged(r, now->args, now_size))
                                judged_ok = true;
                        else {
                                flags |= HIPS_F_ARGV_CHANGED;
                                count(HIPS_CNT_ARGV_CHANGED);
                        }
                }
        }
        if (judged_ok) {
                count(HIPS_CNT_HOLD_PASSED);
                goto out;
        }

        ringbuf = mode == HIPS_MODE_BPF_SAFE ? (void *) &gate_events : (void *) &exec_events;
        e = bpf_ringbuf_reserve(ringbuf, sizeof(*e), 0);
        if (!e) {
                /* Never stop what nobody will be told about. */
                count(HIPS_CNT_DROPS);
                if (hips_drop_kills) {
                        bpf_send_signal(SIGKILL);
                        count(HIPS_CNT_DROP_KILLS);
                }
                goto out;
        }

        if (mode == HIPS_MODE_BPF_SAFE) {
                struct hips_stopped_value sv = {
                        .exec_id = r ? r->exec_id : 0,
                        .stop_ns = bpf_ktime_get_ns(),
                        .start_boottime = BPF_CORE_READ(task, group_leader, start_boottime),
                };

                bpf_send_signal(SIGSTOP);
                bpf_map_update_elem(&stopped, &ids.tgid, &sv, BPF_ANY);
                flags |= HIPS_F_STOPPED;
                count(HIPS_CNT_STOPS);
        }

        e->pid = ids.tgid;
        e->tid = ids.tid;
        e->ppid = ids.ppid;
        e->uid = (__u32) bpf_get_current_uid_gid();
        e->gid = bpf_get_current_uid_gid() >> 32;
        e->dev = id.dev;
        e->ino = id.ino;
        e->exit_ns = bpf_ktime_get_ns();
        if (r) {
                e->exec_id = r->exec_id;
                e->start_ns = r->start_ns;
                bpf_probe_read_kernel_str(e->filename, sizeof(e->filename), r->filename);
        } else {
                e->exec_id = __sync_fetch_and_add(&next_exec_id, 1);
                e->start_ns = e->exit_ns;
                e->filename[0] = '\0';
        }
        e->flags = flags;
        e->args_size = now_size;
        /* A constant size keeps the verifier simple; args_size says what is valid. */
        bpf_probe_read_kernel(e->args, HIPS_ARGS_SIZE, now->args);
        bpf_ringbuf_submit(e, 0);
        count(HIPS_CNT_EVENTS);

out:
        if (r)
                bpf_map_delete_elem(&execs, &ids.tid);
        return 0;
}

SEC("tracepoint/syscalls/sys_exit_execve")
int tp_exit_execve(struct trace_event_raw_sys_exit *ctx) {
        return handle_exit(ctx->ret);
}

SEC("tracepoint/syscalls/sys_exit_execveat")
int tp_exit_execveat(struct trace_event_raw_sys_exit *ctx) {
        return handle_exit(ctx->ret);
}

/* Gate tampering: a SIGCONT that reaches a process the stop layer holds,
 * from anyone but hipsd, would let it run before it is judged. Signals cannot
 * be refused from here, but hipsd hears of it at once. */
SEC("tp_btf/signal_generate")
int BPF_PROG(tp_signal_generate, int sig, struct kernel_siginfo *info, struct task_struct *task, int group, int result) {
        struct task_struct *sender = (struct task_struct *) bpf_get_current_task();
        struct hips_stopped_value *sv;
        struct hips_tamper_event *t;
        struct seen_ids ids;
        __u32 target;

        if (sig != SIGCONT)
                return 0;
        target = hips_pidns_ino == 0 ? BPF_CORE_READ(task, tgid) :
                 pid_nr_seen(BPF_CORE_READ(task, group_leader, thread_pid));
        if (target == 0)
                return 0;
        sv = bpf_map_lookup_elem(&stopped, &target);
        if (!sv)
                return 0;
        if (!current_ids(sender, &ids))
                ids.tgid = 0;
        if (hips_tgid != 0 && ids.tgid == hips_tgid)
                return 0;       /* our own resume */

        count(HIPS_CNT_TAMPER);
        t = bpf_ringbuf_reserve(&tamper_events, sizeof(*t), 0);
        if (!t)
                return 0;
        t->target_pid = target;
        t->sender_pid = ids.tgid;
        t->sender_uid = (__u32) bpf_get_current_uid_gid();
        t->signal = (__u32) sig;
        t->exec_id = sv->exec_id;
        t->time_ns = bpf_ktime_get_ns();
        bpf_get_current_comm(t->sender_comm, sizeof(t->sender_comm));
        bpf_ringbuf_submit(t, 0);
        return 0;
}

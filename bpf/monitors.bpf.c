// SPDX-License-Identifier: (LGPL-2.1-or-later OR BSD-2-Clause)
/* hipsd kernel side, the HIDS monitors (not the exec gate: that is hips.bpf.c).
 *
 * Every program belongs to one monitor, by the prefix of its name (lineage_,
 * network_, dns_, files_, privilege_); hipsd attaches only the programs of the
 * monitors the config enables, so a disabled monitor costs nothing. Each
 * program filters in the kernel and reports only what is asked for:
 *
 *   lineage    sched_process_fork/exec/exit keep the "tasks" map (pid -> parent,
 *              comm, exe); events only with "events": true
 *   network    inet_sock_set_state (TCP connect, reported when the handshake
 *              ends), accept/accept4 exits (TCP accept), sendto/sendmsg/
 *              sendmmsg/connect entries (UDP, once per flow per interval)
 *   dns        uprobe + uretprobe on libc's getaddrinfo()
 *   files      openat/openat2/open exits: the opened inode or its directory
 *              in the "watched" map, or a refused open (EACCES/EPERM)
 *   privilege  set*id entries and exits (a call that changes nothing is not
 *              reported), sched_prepare_exec (an exec that changes ids)
 *
 * Pids are as hipsd sees them (its pid namespace), as in hips.bpf.c.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>

#include "monitors-abi.h"

#define AF_INET 2
#define AF_INET6 10
#define IPPROTO_TCP 6
#define IPPROTO_UDP 17
#define TCP_ESTABLISHED 1
#define TCP_SYN_SENT 2
#define TCP_CLOSE 7
#define EPERM 1
#define EACCES 13
#define AT_FDCWD -100
#define S_IFMT 00170000
#define S_IFSOCK 0140000

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* Set before load: hipsd's tgid (its own opens and calls are not reported)
 * and its pid namespace inode when not the initial one (see hips.bpf.c). */
const volatile __u32 hips_tgid = 0;
const volatile __u32 hips_pidns_ino = 0;

/* Changed at run time (mmap()ed .bss): lineage also reports fork/exec/exit. */
volatile __u32 lineage_events = 0;

struct {
        __uint(type, BPF_MAP_TYPE_LRU_HASH);
        __uint(max_entries, HIPS_MON_MAX_TASKS);
        __type(key, __u32);
        __type(value, struct hips_mon_task);
} tasks SEC(".maps");

/* TCP sockets between SYN_SENT (process context: who connects) and the end
 * of the handshake (softirq: any process), by socket address. */
struct {
        __uint(type, BPF_MAP_TYPE_LRU_HASH);
        __uint(max_entries, HIPS_MON_MAX_PENDING);
        __type(key, __u64);
        __type(value, struct hips_mon_header);
} connecting SEC(".maps");

struct udp_flow_key {
        __u32 tgid;
        __u16 family;
        __u16 dport;
        __u8 daddr[16];
};

struct udp_flow_value {
        __u64 reported_ns;
        __u32 count;                    /* sends since then */
        __u32 pad;
};

struct {
        __uint(type, BPF_MAP_TYPE_LRU_HASH);
        __uint(max_entries, HIPS_MON_MAX_UDP_FLOWS);
        __type(key, struct udp_flow_key);
        __type(value, struct udp_flow_value);
} udp_flows SEC(".maps");

struct dns_pending {
        __u64 start_ns;
        __u32 flags;
        __u32 pad;
        char name[HIPS_MON_PATH_SIZE];
        char service[HIPS_MON_SERVICE_SIZE];
};

struct {
        __uint(type, BPF_MAP_TYPE_LRU_HASH);
        __uint(max_entries, HIPS_MON_MAX_PENDING);
        __type(key, __u32);                     /* global tid */
        __type(value, struct dns_pending);
} dns_pending SEC(".maps");

struct priv_pending {
        struct hips_mon_creds before;
        __u32 kind;
        __u32 args[3];
};

struct {
        __uint(type, BPF_MAP_TYPE_LRU_HASH);
        __uint(max_entries, HIPS_MON_MAX_PENDING);
        __type(key, __u32);                     /* global tid */
        __type(value, struct priv_pending);
} priv_pending SEC(".maps");

/* Written only by hipsd: nothing to preallocate for the probes. */
struct {
        __uint(type, BPF_MAP_TYPE_HASH);
        __uint(map_flags, BPF_F_NO_PREALLOC);
        __uint(max_entries, HIPS_MON_MAX_WATCHED);
        __type(key, struct hips_mon_file_id);
        __type(value, __u32);                   /* enum hips_mon_watch_flags */
} watched SEC(".maps");

struct {
        __uint(type, BPF_MAP_TYPE_RINGBUF);
        __uint(max_entries, HIPS_MON_RINGBUF_SIZE);
} monitor_events SEC(".maps");

struct {
        __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
        __uint(max_entries, _HIPS_MON_CNT_MAX);
        __type(key, __u32);
        __type(value, __u64);
} monitor_counters SEC(".maps");

/* Too large for the 512-byte stack. */
union scratch {
        struct hips_mon_task task;
        struct dns_pending dns;
};

struct {
        __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
        __uint(max_entries, 1);
        __type(key, __u32);
        __type(value, union scratch);
} scratch SEC(".maps");

static __always_inline void count(__u32 monitor, __u32 which) {
        __u32 k = HIPS_MON_CNT(monitor, which);
        __u64 *c = bpf_map_lookup_elem(&monitor_counters, &k);

        if (c)
                *c += 1;
}

static __always_inline void *reserve(__u32 monitor, __u64 size) {
        void *e = bpf_ringbuf_reserve(&monitor_events, size, 0);

        if (!e)
                count(monitor, HIPS_MON_CNT_DROPS);
        return e;
}

static __always_inline void submit(__u32 monitor, void *e) {
        bpf_ringbuf_submit(e, 0);
        count(monitor, HIPS_MON_CNT_EVENTS);
}

#include "hips-pidns.bpf.h"

/* Tasks are BTF pointers everywhere here (tp_btf arguments,
 * bpf_get_current_task_btf()): their fields are read with plain loads. */
static __always_inline __u32 task_tgid_seen(struct task_struct *t) {
        if (hips_pidns_ino == 0)
                return t->tgid;
        return pid_nr_seen(t->group_leader->thread_pid);
}

/* Whether current is reported at all: visible to hipsd and not hipsd. The
 * cheap part of fill_header(), for probes that report only later. */
static __always_inline bool current_reportable(void) {
        __u32 tgid = bpf_get_current_pid_tgid() >> 32;

        if (hips_pidns_ino != 0)
                tgid = task_tgid_seen(bpf_get_current_task_btf());
        return tgid != 0 && !(hips_tgid != 0 && tgid == hips_tgid);
}

/* The current task in the header; false when it is hipsd or not visible to it. */
static __always_inline bool fill_header(struct hips_mon_header *h, __u32 type) {
        struct task_struct *task = bpf_get_current_task_btf();
        __u64 pid_tgid = bpf_get_current_pid_tgid(), uid_gid = bpf_get_current_uid_gid();

        if (hips_pidns_ino == 0) {
                h->tid = (__u32) pid_tgid;
                h->pid = pid_tgid >> 32;
                h->ppid = task->real_parent->tgid;
        } else {
                h->tid = pid_nr_seen(task->thread_pid);
                h->pid = pid_nr_seen(task->group_leader->thread_pid);
                h->ppid = pid_nr_seen(task->real_parent->group_leader->thread_pid);
                if (h->tid == 0 || h->pid == 0)
                        return false;
        }
        if (hips_tgid != 0 && h->pid == hips_tgid)
                return false;
        h->type = type;
        h->uid = (__u32) uid_gid;
        h->gid = uid_gid >> 32;
        h->time_ns = bpf_ktime_get_ns();
        h->start_boottime = task->group_leader->start_boottime;
        bpf_get_current_comm(h->comm, sizeof(h->comm));
        return true;
}

/* Loads through BTF pointers are plain loads (with a fault handler), where
 * BPF_CORE_READ() is a helper call each: on the hot paths (every open,
 * every accept) the difference is most of the cost. A pointer read with a
 * helper is made a BTF pointer again with bpf_rdonly_cast() (kernel 6.2). */
extern void *bpf_rdonly_cast(const void *obj, __u32 btf_id) __ksym;

/* The file behind fd in current's table, or NULL. */
static __always_inline struct file *current_fd_file(long fd) {
        struct task_struct *task = bpf_get_current_task_btf();
        struct fdtable *fdt = task->files->fdt;
        struct file **fds, *f = NULL;

        if (fd < 0 || fd >= fdt->max_fds)
                return NULL;
        fds = fdt->fd;
        if (bpf_probe_read_kernel(&f, sizeof(f), &fds[fd]) < 0 || !f)
                return NULL;
        return bpf_rdonly_cast(f, bpf_core_type_id_kernel(struct file));
}

static __always_inline struct sock *current_fd_sock(long fd) {
        struct file *f = current_fd_file(fd);
        struct socket *sock;

        if (!f || (f->f_inode->i_mode & S_IFMT) != S_IFSOCK)
                return NULL;
        sock = bpf_rdonly_cast(f->private_data, bpf_core_type_id_kernel(struct socket));
        return sock->sk;
}

/* ---- lineage ---- */

static __always_inline struct hips_mon_task *task_scratch(void) {
        __u32 zero = 0;
        union scratch *s = bpf_map_lookup_elem(&scratch, &zero);

        return s ? &s->task : NULL;
}

static __always_inline void lineage_event(__u32 type, __u32 child_pid, __s32 exit_code, const char *filename) {
        struct hips_mon_process_event *e;
        struct hips_mon_header h = {};

        if (!lineage_events || !fill_header(&h, type))
                return;
        e = reserve(HIPS_MON_LINEAGE, sizeof(*e));
        if (!e)
                return;
        e->h = h;
        e->child_pid = child_pid;
        e->exit_code = exit_code;
        if (filename)
                bpf_probe_read_kernel_str(e->filename, sizeof(e->filename), filename);
        else
                e->filename[0] = '\0';
        submit(HIPS_MON_LINEAGE, e);
}

SEC("tp_btf/sched_process_fork")
int BPF_PROG(lineage_fork, struct task_struct *parent, struct task_struct *child) {
        struct task_struct *rp;
        struct hips_mon_task *t, *pt;
        __u32 pid, cur;

        if (child->pid != child->tgid)
                return 0;       /* a thread */
        pid = task_tgid_seen(child);
        t = task_scratch();
        if (pid == 0 || !t)
                return 0;

        rp = child->real_parent;
        t->start_boottime = child->start_boottime;
        t->parent_start = rp->group_leader->start_boottime;
        t->ppid = task_tgid_seen(rp);
        t->flags = 0;
        t->exit_code = 0;
        t->pad = 0;
        bpf_probe_read_kernel_str(t->comm, sizeof(t->comm), child->comm);
        /* The child runs the image of the process that forked it (with
         * CLONE_PARENT not its parent's). */
        cur = task_tgid_seen(parent);
        pt = bpf_map_lookup_elem(&tasks, &cur);
        if (pt)
                bpf_probe_read_kernel(t->filename, sizeof(t->filename), pt->filename);
        else
                t->filename[0] = '\0';
        bpf_map_update_elem(&tasks, &pid, t, BPF_ANY);

        lineage_event(HIPS_MON_EV_FORK, pid, 0, NULL);
        return 0;
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(lineage_exec, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm) {
        struct hips_mon_task *t, *old;
        __u32 pid = task_tgid_seen(p);

        t = task_scratch();
        if (pid == 0 || !t)
                return 0;
        old = bpf_map_lookup_elem(&tasks, &pid);
        if (old) {
                t->start_boottime = old->start_boottime;
                t->parent_start = old->parent_start;
                t->ppid = old->ppid;
        } else {
                /* Started before hipsd (and not seeded) or evicted. */
                t->start_boottime = p->start_boottime;
                t->parent_start = p->real_parent->group_leader->start_boottime;
                t->ppid = task_tgid_seen(p->real_parent);
        }
        t->flags = HIPS_MON_TASK_EXECED;
        t->exit_code = 0;
        t->pad = 0;
        bpf_probe_read_kernel_str(t->comm, sizeof(t->comm), p->comm);
        bpf_probe_read_kernel_str(t->filename, sizeof(t->filename), bprm->filename);
        bpf_map_update_elem(&tasks, &pid, t, BPF_ANY);

        lineage_event(HIPS_MON_EV_EXEC, 0, 0, bprm->filename);
        return 0;
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(lineage_exit, struct task_struct *p) {
        struct hips_mon_task *t;
        __u32 pid;
        __s32 code;

        /* Once per process: when its last thread exits. */
        if (p->signal->live.counter != 0)
                return 0;
        pid = task_tgid_seen(p);
        if (pid == 0)
                return 0;
        code = p->exit_code;
        t = bpf_map_lookup_elem(&tasks, &pid);
        if (t) {
                t->flags |= HIPS_MON_TASK_EXITED;
                t->exit_code = code;
        }
        lineage_event(HIPS_MON_EV_EXIT, 0, code, NULL);
        return 0;
}

/* ---- network ---- */

SEC("tracepoint/sock/inet_sock_set_state")
int network_tcp_state(struct trace_event_raw_inet_sock_set_state *ctx) {
        struct hips_mon_net_event *e;
        struct hips_mon_header *h;
        __u64 sk = (__u64) ctx->skaddr;

        if (ctx->protocol != IPPROTO_TCP)
                return 0;

        if (ctx->newstate == TCP_SYN_SENT) {
                /* connect(2), in the context of the process that calls it;
                 * the source port is chosen after this, so report at the end. */
                struct hips_mon_header hdr = {};

                if (fill_header(&hdr, HIPS_MON_EV_NET))
                        bpf_map_update_elem(&connecting, &sk, &hdr, BPF_ANY);
                return 0;
        }
        if (ctx->oldstate != TCP_SYN_SENT)
                return 0;

        h = bpf_map_lookup_elem(&connecting, &sk);
        if (!h)
                return 0;
        e = reserve(HIPS_MON_NETWORK, sizeof(*e));
        if (e) {
                e->h = *h;
                e->kind = HIPS_MON_NET_CONNECT;
                e->family = ctx->family;
                e->protocol = IPPROTO_TCP;
                e->sport = ctx->sport;
                e->dport = ctx->dport;
                e->failed = ctx->newstate != TCP_ESTABLISHED;
                e->count = 1;
                /* Copied with a helper: the verifier allows only constant-offset loads from ctx. */
                __builtin_memset(e->saddr, 0, 16);
                __builtin_memset(e->daddr, 0, 16);
                if (ctx->family == AF_INET6) {
                        bpf_probe_read_kernel(e->saddr, 16, ctx->saddr_v6);
                        bpf_probe_read_kernel(e->daddr, 16, ctx->daddr_v6);
                } else {
                        bpf_probe_read_kernel(e->saddr, 4, ctx->saddr);
                        bpf_probe_read_kernel(e->daddr, 4, ctx->daddr);
                }
                submit(HIPS_MON_NETWORK, e);
        }
        bpf_map_delete_elem(&connecting, &sk);
        return 0;
}

/* The local (and for TCP the remote) end of a socket. (Not
 * BPF_CORE_READ_INTO: it reads sizeof(*dst), one byte of an array.) */
static __always_inline void sock_addrs(struct sock *sk, __u16 family, __u8 saddr[16], __u16 *sport,
                                       __u8 daddr[16], __u16 *dport) {
        __builtin_memset(saddr, 0, 16);
        if (family == AF_INET6)
                bpf_core_read(saddr, 16, &sk->__sk_common.skc_v6_rcv_saddr);
        else
                bpf_core_read(saddr, 4, &sk->__sk_common.skc_rcv_saddr);
        *sport = BPF_CORE_READ(sk, __sk_common.skc_num);
        if (!daddr)
                return;
        __builtin_memset(daddr, 0, 16);
        if (family == AF_INET6)
                bpf_core_read(daddr, 16, &sk->__sk_common.skc_v6_daddr);
        else
                bpf_core_read(daddr, 4, &sk->__sk_common.skc_daddr);
        *dport = bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport));
}

static __always_inline int network_accept(long ret) {
        struct hips_mon_net_event *e;
        struct hips_mon_header h = {};
        struct sock *sk;
        __u16 family;

        if (ret < 0)
                return 0;
        sk = current_fd_sock(ret);
        if (!sk)
                return 0;
        family = BPF_CORE_READ(sk, __sk_common.skc_family);
        if ((family != AF_INET && family != AF_INET6) || BPF_CORE_READ(sk, sk_protocol) != IPPROTO_TCP)
                return 0;
        if (!fill_header(&h, HIPS_MON_EV_NET))
                return 0;
        e = reserve(HIPS_MON_NETWORK, sizeof(*e));
        if (!e)
                return 0;
        e->h = h;
        e->kind = HIPS_MON_NET_ACCEPT;
        e->family = family;
        e->protocol = IPPROTO_TCP;
        e->failed = 0;
        e->count = 1;
        sock_addrs(sk, family, e->saddr, &e->sport, e->daddr, &e->dport);
        submit(HIPS_MON_NETWORK, e);
        return 0;
}

SEC("tracepoint/syscalls/sys_exit_accept")
int network_accept_exit(struct trace_event_raw_sys_exit *ctx) {
        return network_accept(ctx->ret);
}

SEC("tracepoint/syscalls/sys_exit_accept4")
int network_accept4_exit(struct trace_event_raw_sys_exit *ctx) {
        return network_accept(ctx->ret);
}

/* A UDP destination from user memory (a sockaddr_in or sockaddr_in6). */
static __always_inline int network_udp(long fd, const void *uaddr, __u16 kind) {
        struct udp_flow_key key = {};
        struct udp_flow_value *v, nv = {};
        struct hips_mon_net_event *e;
        struct hips_mon_header h = {};
        __u64 now;
        struct sock *sk;
        __u16 family = 0, port = 0;
        __u32 n = 1;

        if (!uaddr || bpf_probe_read_user(&family, sizeof(family), uaddr) < 0)
                return 0;
        if (family != AF_INET && family != AF_INET6)
                return 0;
        sk = current_fd_sock(fd);
        if (!sk || BPF_CORE_READ(sk, sk_protocol) != IPPROTO_UDP)
                return 0;

        /* struct sockaddr_in: family, port, addr; sockaddr_in6: family, port, flowinfo, addr. */
        if (bpf_probe_read_user(&port, sizeof(port), uaddr + 2) < 0)
                return 0;
        if (family == AF_INET6) {
                if (bpf_probe_read_user(key.daddr, 16, uaddr + 8) < 0)
                        return 0;
        } else if (bpf_probe_read_user(key.daddr, 4, uaddr + 4) < 0)
                return 0;
        if (!fill_header(&h, HIPS_MON_EV_NET))
                return 0;

        key.tgid = h.pid;
        key.family = family;
        key.dport = bpf_ntohs(port);
        now = h.time_ns;
        v = bpf_map_lookup_elem(&udp_flows, &key);
        if (v) {
                if (now - v->reported_ns < HIPS_MON_UDP_REPORT_NS) {
                        __sync_fetch_and_add(&v->count, 1);
                        return 0;
                }
                n = v->count + 1;
        }
        nv.reported_ns = now;
        bpf_map_update_elem(&udp_flows, &key, &nv, BPF_ANY);

        e = reserve(HIPS_MON_NETWORK, sizeof(*e));
        if (!e)
                return 0;
        e->h = h;
        e->kind = kind;
        e->family = family;
        e->protocol = IPPROTO_UDP;
        e->failed = 0;
        e->count = n;
        sock_addrs(sk, family, e->saddr, &e->sport, NULL, NULL);
        __builtin_memcpy(e->daddr, key.daddr, 16);
        e->dport = key.dport;
        submit(HIPS_MON_NETWORK, e);
        return 0;
}

SEC("tracepoint/syscalls/sys_enter_sendto")
int network_sendto(struct trace_event_raw_sys_enter *ctx) {
        /* sendto(fd, buf, len, flags, addr, addrlen) */
        return network_udp(ctx->args[0], (const void *) ctx->args[4], HIPS_MON_NET_UDP_SEND);
}

static __always_inline int network_msghdr(long fd, const struct user_msghdr *msg) {
        void *name = NULL;

        if (!msg || bpf_probe_read_user(&name, sizeof(name), &msg->msg_name) < 0)
                return 0;
        return network_udp(fd, name, HIPS_MON_NET_UDP_SEND);
}

SEC("tracepoint/syscalls/sys_enter_sendmsg")
int network_sendmsg(struct trace_event_raw_sys_enter *ctx) {
        return network_msghdr(ctx->args[0], (const struct user_msghdr *) ctx->args[1]);
}

SEC("tracepoint/syscalls/sys_enter_sendmmsg")
int network_sendmmsg(struct trace_event_raw_sys_enter *ctx) {
        /* The first message's destination stands for the batch. */
        return network_msghdr(ctx->args[0], (const struct user_msghdr *) ctx->args[1]);
}

SEC("tracepoint/syscalls/sys_enter_connect")
int network_connect(struct trace_event_raw_sys_enter *ctx) {
        /* TCP connects are reported by network_tcp_state; this is UDP only. */
        return network_udp(ctx->args[0], (const void *) ctx->args[1], HIPS_MON_NET_UDP_CONNECT);
}

/* ---- dns ---- */

SEC("uprobe")
int BPF_KPROBE(dns_getaddrinfo, const char *node, const char *service) {
        __u32 tid = (__u32) bpf_get_current_pid_tgid(), zero = 0;
        struct hips_mon_header h = {};
        union scratch *s;
        struct dns_pending *d;

        if (!fill_header(&h, HIPS_MON_EV_DNS))
                return 0;
        s = bpf_map_lookup_elem(&scratch, &zero);
        if (!s)
                return 0;
        d = &s->dns;
        d->start_ns = h.time_ns;
        d->flags = 0;
        d->pad = 0;
        d->name[0] = '\0';
        d->service[0] = '\0';
        if (!node || bpf_probe_read_user_str(d->name, sizeof(d->name), node) < 0)
                d->flags |= HIPS_MON_DNS_F_NO_NAME;
        if (!service || bpf_probe_read_user_str(d->service, sizeof(d->service), service) < 0)
                d->flags |= HIPS_MON_DNS_F_NO_SERVICE;
        bpf_map_update_elem(&dns_pending, &tid, d, BPF_ANY);
        return 0;
}

SEC("uretprobe")
int BPF_KRETPROBE(dns_getaddrinfo_ret, int ret) {
        __u32 tid = (__u32) bpf_get_current_pid_tgid();
        struct hips_mon_dns_event *e;
        struct hips_mon_header h = {};
        struct dns_pending *d;

        d = bpf_map_lookup_elem(&dns_pending, &tid);
        if (!d)
                return 0;
        if (!fill_header(&h, HIPS_MON_EV_DNS))
                goto out;
        e = reserve(HIPS_MON_DNS, sizeof(*e));
        if (!e)
                goto out;
        e->h = h;
        e->ret = ret;
        e->flags = d->flags;
        e->latency_ns = h.time_ns - d->start_ns;
        __builtin_memcpy(e->name, d->name, sizeof(e->name));
        __builtin_memcpy(e->service, d->service, sizeof(e->service));
        submit(HIPS_MON_DNS, e);
out:
        bpf_map_delete_elem(&dns_pending, &tid);
        return 0;
}

/* ---- files ---- */

static __always_inline bool watched_as(__u64 dev, __u64 ino, __u32 flag, struct hips_mon_file_id *id) {
        __u32 *w;

        id->dev = dev;
        id->ino = ino;
        w = bpf_map_lookup_elem(&watched, id);
        return w && (*w & flag);
}

static __always_inline int files_exit(long ret, __u16 syscall) {
        struct hips_mon_file_id id = {}, parent = {};
        struct hips_mon_file_event *e;
        struct hips_mon_header h = {};
        struct dentry *dentry = NULL;
        struct pt_regs *regs;
        const char *path;
        __u16 match;
        __u64 flags = 0, dev;

        if (ret < 0) {
                /* Refused: nothing was opened, so only the path says what;
                 * user space matches it against the watched paths. */
                if (ret != -EACCES && ret != -EPERM)
                        return 0;
                match = HIPS_MON_FILE_MATCH_DENIED;
        } else {
                struct file *f = current_fd_file(ret);

                if (!f)
                        return 0;
                /* A dentry and its parent are on the same superblock. */
                dentry = f->f_path.dentry;
                dev = dentry->d_sb->s_dev;
                if (watched_as(dev, dentry->d_inode->i_ino, HIPS_MON_WATCH_SELF, &id))
                        match = HIPS_MON_FILE_MATCH_SELF;
                else if (watched_as(dev, dentry->d_parent->d_inode->i_ino, HIPS_MON_WATCH_CHILDREN, &parent))
                        match = HIPS_MON_FILE_MATCH_CHILD;
                else
                        return 0;
        }

        /* From here on, a rare event: the watched files. */
        if (!fill_header(&h, HIPS_MON_EV_FILE))
                return 0;
        e = reserve(HIPS_MON_FILES, sizeof(*e));
        if (!e)
                return 0;
        e->h = h;
        e->ret = (__s32) ret;
        e->match = match;
        e->syscall = syscall;
        e->dev = id.dev;
        e->ino = id.ino;
        e->parent_ino = parent.ino;
        if (match == HIPS_MON_FILE_MATCH_CHILD) {
                e->dev = parent.dev;
                e->ino = dentry->d_inode->i_ino;
        }
        e->name[0] = '\0';
        if (dentry)
                bpf_probe_read_kernel_str(e->name, sizeof(e->name), dentry->d_name.name);

        /* The arguments, from the registers saved at syscall entry. */
        regs = (struct pt_regs *) bpf_task_pt_regs(bpf_get_current_task_btf());
        if (syscall == HIPS_MON_FILE_OPEN) {
                e->dfd = AT_FDCWD;
                path = (const char *) PT_REGS_PARM1_CORE_SYSCALL(regs);
                flags = PT_REGS_PARM2_CORE_SYSCALL(regs);
        } else {
                e->dfd = (__s32) PT_REGS_PARM1_CORE_SYSCALL(regs);
                path = (const char *) PT_REGS_PARM2_CORE_SYSCALL(regs);
                if (syscall == HIPS_MON_FILE_OPENAT)
                        flags = PT_REGS_PARM3_CORE_SYSCALL(regs);
                else if (bpf_probe_read_user(&flags, sizeof(flags), (const void *) PT_REGS_PARM3_CORE_SYSCALL(regs)) < 0)
                        flags = 0;      /* struct open_how begins with __u64 flags */
        }
        e->flags = (__u32) flags;
        if (bpf_probe_read_user_str(e->path, sizeof(e->path), path) < 0)
                e->path[0] = '\0';
        submit(HIPS_MON_FILES, e);
        return 0;
}

SEC("tracepoint/syscalls/sys_exit_openat")
int files_openat_exit(struct trace_event_raw_sys_exit *ctx) {
        return files_exit(ctx->ret, HIPS_MON_FILE_OPENAT);
}

SEC("tracepoint/syscalls/sys_exit_openat2")
int files_openat2_exit(struct trace_event_raw_sys_exit *ctx) {
        return files_exit(ctx->ret, HIPS_MON_FILE_OPENAT2);
}

/* Not on every architecture: loaded only where the tracepoint exists. */
SEC("tracepoint/syscalls/sys_exit_open")
int files_open_exit(struct trace_event_raw_sys_exit *ctx) {
        return files_exit(ctx->ret, HIPS_MON_FILE_OPEN);
}

/* ---- privilege ---- */

static __always_inline void read_creds(const struct cred *c, struct hips_mon_creds *out) {
        out->uid = c->uid.val;
        out->euid = c->euid.val;
        out->suid = c->suid.val;
        out->fsuid = c->fsuid.val;
        out->gid = c->gid.val;
        out->egid = c->egid.val;
        out->sgid = c->sgid.val;
        out->fsgid = c->fsgid.val;
        /* A u64 since 6.3, two u32 before: the same 8 bytes either way. */
        out->cap_effective = 0;
        bpf_probe_read_kernel(&out->cap_effective, sizeof(out->cap_effective), &c->cap_effective);
}

static __always_inline void exe_identity(struct inode *inode, __u64 *dev, __u64 *ino) {
        *dev = inode ? inode->i_sb->s_dev : 0;
        *ino = inode ? inode->i_ino : 0;
}

static __always_inline bool creds_equal(const struct hips_mon_creds *a, const struct hips_mon_creds *b) {
        return a->uid == b->uid && a->euid == b->euid && a->suid == b->suid && a->fsuid == b->fsuid &&
               a->gid == b->gid && a->egid == b->egid && a->sgid == b->sgid && a->fsgid == b->fsgid;
}

static __always_inline int privilege_enter(__u32 kind, __u64 a0, __u64 a1, __u64 a2) {
        struct task_struct *task = bpf_get_current_task_btf();
        __u32 tid = (__u32) bpf_get_current_pid_tgid();
        struct priv_pending p = {};

        if (!current_reportable())
                return 0;
        p.kind = kind;
        p.args[0] = (__u32) a0;
        p.args[1] = (__u32) a1;
        p.args[2] = (__u32) a2;
        read_creds(task->real_cred, &p.before);
        bpf_map_update_elem(&priv_pending, &tid, &p, BPF_ANY);
        return 0;
}

static __always_inline int privilege_exit(long ret) {
        struct task_struct *task = bpf_get_current_task_btf();
        __u32 tid = (__u32) bpf_get_current_pid_tgid();
        struct hips_mon_priv_event *e;
        struct hips_mon_header h = {};
        struct hips_mon_creds after;
        struct priv_pending *p;
        bool fs;

        p = bpf_map_lookup_elem(&priv_pending, &tid);
        if (!p)
                return 0;
        read_creds(task->real_cred, &after);
        /* setfsuid/setfsgid return the previous id, never an error. */
        fs = p->kind == HIPS_MON_PRIV_SETFSUID || p->kind == HIPS_MON_PRIV_SETFSGID;
        if (creds_equal(&p->before, &after) && (fs || ret == 0))
                goto out;
        if (!fill_header(&h, HIPS_MON_EV_PRIV))
                goto out;
        e = reserve(HIPS_MON_PRIVILEGE, sizeof(*e));
        if (!e)
                goto out;
        e->h = h;
        e->kind = p->kind;
        e->ret = (__s32) ret;
        e->args[0] = p->args[0];
        e->args[1] = p->args[1];
        e->args[2] = p->args[2];
        e->pad = 0;
        exe_identity(task->mm->exe_file->f_inode, &e->dev, &e->ino);
        e->before = p->before;
        e->after = after;
        e->filename[0] = '\0';
        submit(HIPS_MON_PRIVILEGE, e);
out:
        bpf_map_delete_elem(&priv_pending, &tid);
        return 0;
}

/* A syscall tracepoint's record has only that call's arguments: reading
 * past them makes the attach fail (EACCES), so each pair reads its own. */
#define ARGS1 ctx->args[0], 0, 0
#define ARGS2 ctx->args[0], ctx->args[1], 0
#define ARGS3 ctx->args[0], ctx->args[1], ctx->args[2]

#define PRIVILEGE_PAIR(call, kind, args)                                                \
        SEC("tracepoint/syscalls/sys_enter_" #call)                                     \
        int privilege_##call##_enter(struct trace_event_raw_sys_enter *ctx) {           \
                return privilege_enter(kind, args);                                     \
        }                                                                               \
        SEC("tracepoint/syscalls/sys_exit_" #call)                                      \
        int privilege_##call##_exit(struct trace_event_raw_sys_exit *ctx) {             \
                return privilege_exit(ctx->ret);                                        \
        }

PRIVILEGE_PAIR(setuid, HIPS_MON_PRIV_SETUID, ARGS1)
PRIVILEGE_PAIR(setreuid, HIPS_MON_PRIV_SETREUID, ARGS2)
PRIVILEGE_PAIR(setresuid, HIPS_MON_PRIV_SETRESUID, ARGS3)
PRIVILEGE_PAIR(setfsuid, HIPS_MON_PRIV_SETFSUID, ARGS1)
PRIVILEGE_PAIR(setgid, HIPS_MON_PRIV_SETGID, ARGS1)
PRIVILEGE_PAIR(setregid, HIPS_MON_PRIV_SETREGID, ARGS2)
PRIVILEGE_PAIR(setresgid, HIPS_MON_PRIV_SETRESGID, ARGS3)
PRIVILEGE_PAIR(setfsgid, HIPS_MON_PRIV_SETFSGID, ARGS1)

/* An exec, before its new credentials are committed: current's are the old
 * ones, bprm's the new ones (set-user-ID and file capabilities applied).
 * Exec sets the saved and fs ids from the effective ones, so only a change
 * of the real or effective ids, or grown capabilities, is reported. */
SEC("tp_btf/sched_prepare_exec")
int BPF_PROG(privilege_exec, struct task_struct *task, struct linux_binprm *bprm) {
        struct hips_mon_creds before, after;
        struct hips_mon_priv_event *e;
        struct hips_mon_header h = {};

        read_creds(task->real_cred, &before);
        read_creds(bprm->cred, &after);
        if (before.uid == after.uid && before.euid == after.euid &&
            before.gid == after.gid && before.egid == after.egid &&
            (after.cap_effective & ~before.cap_effective) == 0)
                return 0;
        if (!fill_header(&h, HIPS_MON_EV_PRIV))
                return 0;
        e = reserve(HIPS_MON_PRIVILEGE, sizeof(*e));
        if (!e)
                return 0;
        e->h = h;
        e->kind = HIPS_MON_PRIV_EXEC;
        e->ret = 0;
        e->args[0] = e->args[1] = e->args[2] = 0;
        e->pad = 0;
        exe_identity(bprm->file->f_inode, &e->dev, &e->ino);
        e->before = before;
        e->after = after;
        bpf_probe_read_kernel_str(e->filename, sizeof(e->filename), bprm->filename);
        submit(HIPS_MON_PRIVILEGE, e);
        return 0;
}

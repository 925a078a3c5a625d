/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Lifecycle of monitors.bpf.o: open → read-only settings → leave out what
 * this kernel lacks → load → ring buffer; then per monitor, attach or detach
 * at any time (start, reload). The exec gate's object is bpf-loader.c. */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "log.h"
#include "bpf-maps.h"
#include "monitors-bpf.h"
#include "monitors.skel.h"
#include "util.h"

/* include/linux/proc_ns.h: the initial pid namespace's fixed inode number. */
#define PROC_PID_INIT_INO 0xEFFFFFFCU

#define MISSING_MAX 256

typedef struct MonitorProgram {
        struct bpf_program *prog;
        enum hips_mon_id monitor;
        struct bpf_link *link;
        bool available;                 /* loaded: its hook exists here */
} MonitorProgram;

struct MonitorsBpf {
        struct hips_monitors_bpf *skel;
        struct ring_buffer *ring;
        MonitorProgram *programs;
        size_t n_programs;
        bool attached[_HIPS_MON_MAX];
        char missing[_HIPS_MON_MAX][MISSING_MAX];
        char *libc_path;
        monitors_event_fn fn;
        void *userdata;
};

/* Program names begin with their monitor's name. */
static const char *const monitor_prefixes[_HIPS_MON_MAX] = {
        [HIPS_MON_LINEAGE] = "lineage_",
        [HIPS_MON_NETWORK] = "network_",
        [HIPS_MON_DNS] = "dns_",
        [HIPS_MON_FILES] = "files_",
        [HIPS_MON_PRIVILEGE] = "privilege_",
};

static int monitor_of(const char *prog_name) {
        for (int i = 0; i < _HIPS_MON_MAX; i++)
                if (strncmp(prog_name, monitor_prefixes[i], strlen(monitor_prefixes[i])) == 0)
                        return i;
        return -EINVAL;
}

static uint32_t own_pidns(void) {
        struct stat st;

        if (stat("/proc/self/ns/pid", &st) < 0 || st.st_ino == PROC_PID_INIT_INO)
                return 0;
        return (uint32_t) st.st_ino;
}

/* Whether this kernel has the hook of a program's section, and its name.
 * vmlinux is the kernel's BTF, parsed once by the caller: a parse takes tens
 * of milliseconds and megabytes, which libbpf_find_vmlinux_btf_id() would
 * spend again for every tp_btf program. */
static bool hook_exists(const struct btf *vmlinux, const char *section, const char **ret_name) {
        char path[512];

        if (strncmp(section, "tracepoint/", 11) == 0) {
                *ret_name = strchr(section + 11, '/') ? strchr(section + 11, '/') + 1 : section + 11;
                (void) snprintf(path, sizeof(path), "/sys/kernel/tracing/events/%s", section + 11);
                if (access(path, F_OK) == 0)
                        return true;
                (void) snprintf(path, sizeof(path), "/sys/kernel/debug/tracing/events/%s", section + 11);
                return access(path, F_OK) == 0;
        }
        if (strncmp(section, "tp_btf/", 7) == 0) {
                /* As libbpf finds the target of a BTF tracepoint. */
                *ret_name = section + 7;
                (void) snprintf(path, sizeof(path), "btf_trace_%s", section + 7);
                return vmlinux && btf__find_by_name_kind(vmlinux, path, BTF_KIND_TYPEDEF) > 0;
        }
        *ret_name = section;
        return true;    /* uprobes: checked when attached */
}

static void note_missing(MonitorsBpf *b, enum hips_mon_id id, const char *what) {
        char *m = b->missing[id];
        size_t n = strlen(m);

        (void) snprintf(m + n, MISSING_MAX - n, "%s%s", n > 0 ? ", " : "", what);
}

static int on_event(void *ctx, void *data, size_t size) {
        MonitorsBpf *b = ctx;

        if (size >= sizeof(struct hips_mon_header))
                b->fn(b->userdata, data, size);
        return 0;
}

static void btf_freep(struct btf **p) {
        btf__free(*p);
}

/* Which monitor each program belongs to; what this kernel has no hook for is
 * not loaded (the monitor then works without it, and says so). The kernel's
 * BTF is freed on return: the load that follows parses its own. */
static int select_programs(MonitorsBpf *b) {
        _cleanup_(btf_freep) struct btf *vmlinux = NULL;
        struct bpf_program *prog;
        size_t n = 0;

        vmlinux = btf__load_vmlinux_btf();
        if (!vmlinux)
                log_warning_errno(negative_errno(), "Cannot read the kernel's BTF, BTF tracepoints left out: %m");
        bpf_object__for_each_program(prog, b->skel->obj)
                n++;
        b->programs = calloc(n, sizeof(MonitorProgram));
        if (!b->programs)
                return -ENOMEM;
        bpf_object__for_each_program(prog, b->skel->obj) {
                MonitorProgram *p = &b->programs[b->n_programs++];
                const char *hook;
                int id = monitor_of(bpf_program__name(prog));

                if (id < 0)
                        return log_error_errno(-EINVAL, "BPF program %s belongs to no monitor.", bpf_program__name(prog));
                p->prog = prog;
                p->monitor = (enum hips_mon_id) id;
                p->available = hook_exists(vmlinux, bpf_program__section_name(prog), &hook);
                if (!p->available) {
                        (void) bpf_program__set_autoload(prog, false);
                        note_missing(b, p->monitor, hook);
                }
        }
        return 0;
}

int monitors_bpf_load(const MonitorsBpfOptions *o, MonitorsBpf **ret) {
        _cleanup_free_ MonitorsBpf *b = NULL;
        int r;

        b = calloc(1, sizeof(*b));
        if (!b)
                return -ENOMEM;
        b->fn = o->event_fn;
        b->userdata = o->userdata;

        /* 1. Open. */
        b->skel = hips_monitors_bpf__open();
        if (!b->skel)
                return log_error_errno(negative_errno(), "Failed to open monitors BPF object: %m");

        /* 2. Read-only settings. */
        b->skel->rodata->hips_tgid = (__u32) o->self;
        b->skel->rodata->hips_pidns_ino = own_pidns();

        /* 3. Programs for the hooks this kernel has. */
        r = select_programs(b);
        if (r < 0)
                goto fail;

        /* 4. Load. */
        r = hips_monitors_bpf__load(b->skel);
        if (r < 0) {
                log_error_errno(r, "Failed to load monitors BPF object: %m");
                goto fail;
        }

        /* 5. Ring buffer. */
        b->ring = ring_buffer__new(bpf_map__fd(b->skel->maps.monitor_events), on_event, b, NULL);
        if (!b->ring) {
                r = log_error_errno(negative_errno(), "Failed to set up monitors ring buffer: %m");
                goto fail;
        }

        *ret = TAKE_PTR(b);
        return 0;

fail:
        free(b->programs);
        hips_monitors_bpf__destroy(b->skel);
        return r;
}

MonitorsBpf *monitors_bpf_free(MonitorsBpf *b) {
        if (!b)
                return NULL;
        for (int i = 0; i < _HIPS_MON_MAX; i++)
                monitors_bpf_detach(b, (enum hips_mon_id) i);
        ring_buffer__free(b->ring);
        hips_monitors_bpf__destroy(b->skel);
        free(b->programs);
        free(b->libc_path);
        free(b);
        return NULL;
}

/* The C library hipsd itself runs on: the one most processes here use. */
static int find_libc(char **ret) {
        _cleanup_free_ char *line = NULL;
        size_t size = 0;
        FILE *f;
        int r = -ENOENT;

        f = fopen("/proc/self/maps", "re");
        if (!f)
                return negative_errno();
        while (getline(&line, &size, f) > 0) {
                char *path = strchr(line, '/'), *base, *nl;

                if (!path)
                        continue;
                nl = strchr(path, '\n');
                if (nl)
                        *nl = '\0';
                base = strrchr(path, '/') + 1;
                if (strncmp(base, "libc.so", 7) == 0 || (strncmp(base, "libc-", 5) == 0 && strstr(base, ".so"))) {
                        *ret = strdup(path);
                        r = *ret ? 0 : -ENOMEM;
                        break;
                }
        }
        fclose(f);
        return r;
}

static int attach_one(MonitorsBpf *b, MonitorProgram *p) {
        const char *section = bpf_program__section_name(p->prog);
        bool uprobe = streq(section, "uprobe"), uretprobe = streq(section, "uretprobe");

        if (uprobe || uretprobe) {
                LIBBPF_OPTS(bpf_uprobe_opts, opts, .func_name = "getaddrinfo", .retprobe = uretprobe);
                int r;

                if (!b->libc_path) {
                        r = find_libc(&b->libc_path);
                        if (r < 0)
                                return log_warning_errno(r, "Cannot find the C library hipsd runs on: %m");
                }
                p->link = bpf_program__attach_uprobe_opts(p->prog, -1, b->libc_path, 0, &opts);
        } else
                p->link = bpf_program__attach(p->prog);
        if (!p->link) {
                int r = negative_errno();

                return log_warning_errno(r, "Failed to attach BPF program %s (%s): %m",
                                         bpf_program__name(p->prog), section);
        }
        return 0;
}

int monitors_bpf_attach(MonitorsBpf *b, enum hips_mon_id id) {
        int r;

        if (b->attached[id])
                return 0;
        for (size_t i = 0; i < b->n_programs; i++) {
                MonitorProgram *p = &b->programs[i];

                if (p->monitor != id || !p->available)
                        continue;
                r = attach_one(b, p);
                if (r < 0) {
                        b->attached[id] = true;
                        monitors_bpf_detach(b, id);
                        return r;
                }
        }
        b->attached[id] = true;
        return 0;
}

void monitors_bpf_detach(MonitorsBpf *b, enum hips_mon_id id) {
        if (!b->attached[id])
                return;
        for (size_t i = 0; i < b->n_programs; i++)
                if (b->programs[i].monitor == id && b->programs[i].link) {
                        (void) bpf_link__destroy(b->programs[i].link);
                        b->programs[i].link = NULL;
                }
        b->attached[id] = false;
}

bool monitors_bpf_attached(const MonitorsBpf *b, enum hips_mon_id id) {
        return b->attached[id];
}

const char *monitors_bpf_missing(const MonitorsBpf *b, enum hips_mon_id id) {
        return b->missing[id][0] ? b->missing[id] : NULL;
}

const char *monitors_bpf_libc_path(const MonitorsBpf *b) {
        return b->libc_path;
}

int monitors_bpf_ring_fd(MonitorsBpf *b) {
        return ring_buffer__epoll_fd(b->ring);
}

int monitors_bpf_ring_consume(MonitorsBpf *b) {
        return ring_buffer__consume(b->ring);
}

int monitors_bpf_read_counters(MonitorsBpf *b, uint64_t ret[_HIPS_MON_CNT_MAX]) {
        return bpf_percpu_counters_read(bpf_map__fd(b->skel->maps.monitor_counters), _HIPS_MON_CNT_MAX, ret);
}

void monitors_bpf_set_lineage_events(MonitorsBpf *b, bool on) {
        b->skel->bss->lineage_events = on;
}

int monitors_bpf_task_lookup(MonitorsBpf *b, uint32_t pid, struct hips_mon_task *ret) {
        if (bpf_map_lookup_elem(bpf_map__fd(b->skel->maps.tasks), &pid, ret) < 0)
                return negative_errno();
        return 0;
}

int monitors_bpf_task_seed(MonitorsBpf *b, uint32_t pid, const struct hips_mon_task *task) {
        if (bpf_map_update_elem(bpf_map__fd(b->skel->maps.tasks), &pid, task, BPF_NOEXIST) < 0)
                return negative_errno();
        return 0;
}

int monitors_bpf_watched_replace(MonitorsBpf *b, const struct hips_mon_file_id *ids, const uint32_t *flags, size_t n) {
        _Static_assert(sizeof(struct hips_mon_file_id) == sizeof(BpfFileKey), "hips_mon_file_id is a BpfFileKey");

        if (n > HIPS_MON_MAX_WATCHED)
                return -E2BIG;
        return bpf_file_map_replace(bpf_map__fd(b->skel->maps.watched), (const BpfFileKey *) ids, flags, sizeof(*flags), n);
}

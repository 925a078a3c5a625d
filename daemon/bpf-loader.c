/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Lifecycle of hips.bpf.o, in the order libbpf wants it:
 * open → read-only settings → load → fill maps → attach → ring buffers. */

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "bpf-loader.h"
#include "bpf-maps.h"
#include "hips.skel.h"
#include "log.h"
#include "util.h"

/* include/linux/proc_ns.h: the initial pid namespace's fixed inode number. */
#define PROC_PID_INIT_INO 0xEFFFFFFCU

#define BPF_FS_MAGIC_NUMBER 0xcafe4a11

struct HipsBpf {
        struct hips_bpf *skel;
        struct ring_buffer *rings[_HIPS_RING_MAX];
        hips_exec_event_fn fn;
        hips_tamper_event_fn tamper_fn;
        void *userdata;
        bool pinned;
        /* One per pid namespace: a hipsd in a container must never take
         * the host's entries for its own (their pids mean other processes). */
        char pin_path[64];
};

static int libbpf_print(enum libbpf_print_level level, const char *format, va_list ap) {
        _cleanup_free_ char *line = NULL;
        int prio = level == LIBBPF_WARN ? LOG_WARNING : level == LIBBPF_INFO ? LOG_INFO : LOG_DEBUG;
        size_t n;

        if (prio > log_get_max_level())
                return 0;
        /* libbpf's own format strings: a print callback cannot do otherwise. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
        if (vasprintf(&line, format, ap) < 0)
                return 0;
#pragma GCC diagnostic pop
        n = strlen(line);
        if (n > 0 && line[n - 1] == '\n')
                line[n - 1] = '\0';
        log_full(prio, "%s", line);
        return 0;
}

/* libbpf resolves tracepoint ids through tracefs, which a fresh boot may not have mounted. */
static int ensure_tracefs(void) {
        if (access("/sys/kernel/tracing/events/syscalls", F_OK) == 0 ||
            access("/sys/kernel/debug/tracing/events/syscalls", F_OK) == 0)
                return 0;
        if (mount("tracefs", "/sys/kernel/tracing", "tracefs", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
                return log_error_errno(negative_errno(), "Failed to mount tracefs on /sys/kernel/tracing: %m");
        log_info("Mounted tracefs on /sys/kernel/tracing.");
        return 0;
}

static int on_ring_event(void *ctx, void *data, size_t size, bool gate) {
        HipsBpf *b = ctx;

        if (size < sizeof(struct hips_exec_event))
                return 0;
        b->fn(b->userdata, data, gate);
        return 0;
}

static int on_tamper_event(void *ctx, void *data, size_t size) {
        HipsBpf *b = ctx;

        if (size >= sizeof(struct hips_tamper_event))
                b->tamper_fn(b->userdata, data);
        return 0;
}

/* bpffs for the pinned stopped map; mounted when missing. */
static int ensure_pin_dir(void) {
        struct statfs sfs;

        if (statfs("/sys/fs/bpf", &sfs) < 0 || (uint32_t) sfs.f_type != BPF_FS_MAGIC_NUMBER)
                if (mount("bpf", "/sys/fs/bpf", "bpf", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=0700") < 0)
                        return negative_errno();
        if (mkdir(HIPS_PIN_DIR, 0700) < 0 && errno != EEXIST)
                return negative_errno();
        return 0;
}

static int on_gate_event(void *ctx, void *data, size_t size) {
        return on_ring_event(ctx, data, size, true);
}

static int on_exec_event(void *ctx, void *data, size_t size) {
        return on_ring_event(ctx, data, size, false);
}

/* Our pid namespace's inode, or 0 for the initial namespace. */
static uint32_t own_pidns(void) {
        struct stat st;

        if (stat("/proc/self/ns/pid", &st) < 0 || st.st_ino == PROC_PID_INIT_INO)
                return 0;
        return (uint32_t) st.st_ino;
}

/* Open, set read-only settings, load. With pin, the stopped map is pinned
 * (or an existing pin reused). */
static int open_and_load(HipsBpf *b, const HipsBpfOptions *o, uint32_t pidns, bool pin) {
        int r;

        /* 1. Open: parse the embedded object. */
        b->skel = hips_bpf__open();
        if (!b->skel)
                return log_error_errno(negative_errno(), "Failed to open BPF object: %m");

        /* 2. Read-only settings, fixed for the object's lifetime. */
        b->skel->rodata->hips_tgid = (__u32) o->self;
        b->skel->rodata->hips_pidns_ino = pidns;
        if (o->ringbuf_size > 0) {
                r = bpf_map__set_max_entries(b->skel->maps.gate_events, o->ringbuf_size);
                if (r >= 0)
                        r = bpf_map__set_max_entries(b->skel->maps.exec_events, o->ringbuf_size);
                if (r < 0)
                        return r;
        }
        if (pin) {
                r = bpf_map__set_pin_path(b->skel->maps.stopped, b->pin_path);
                if (r < 0)
                        return r;
        }

        /* 3. Load: verify and create maps (or reuse the pinned one). */
        r = hips_bpf__load(b->skel);
        if (r < 0) {
                hips_bpf__destroy(b->skel);
                b->skel = NULL;
                return r;
        }
        return 0;
}

int hips_bpf_load(const HipsBpfOptions *o, HipsBpf **ret) {
        _cleanup_free_ HipsBpf *b = NULL;
        uint32_t pidns = own_pidns();
        int r;
        bool pin;

        libbpf_set_print(libbpf_print);

        r = ensure_tracefs();
        if (r < 0)
                return r;

        b = calloc(1, sizeof(*b));
        if (!b)
                return -ENOMEM;
        b->fn = o->exec_fn;
        b->tamper_fn = o->tamper_fn;
        b->userdata = o->userdata;
        if (pidns != 0)
                log_info("Running in a pid namespace (inode %u): gating only the processes in it.", pidns);
        if (pidns == 0)
                (void) snprintf(b->pin_path, sizeof(b->pin_path), "%s/stopped", HIPS_PIN_DIR);
        else
                (void) snprintf(b->pin_path, sizeof(b->pin_path), "%s/stopped-pidns-%u", HIPS_PIN_DIR, pidns);

        r = ensure_pin_dir();
        pin = r >= 0;
        if (!pin)
                log_warning_errno(r, "Cannot use bpffs at /sys/fs/bpf (%m): processes stopped when "
                                  "hipsd is killed cannot be found by the next instance.");

        r = open_and_load(b, o, pidns, pin);
        if (r < 0 && pin) {
                /* A pin from an older, incompatible hipsd: replace it. */
                log_info_errno(r, "Could not reuse pinned stopped map (%m), replacing it.");
                (void) unlink(b->pin_path);
                r = open_and_load(b, o, pidns, pin);
        }
        if (r < 0)
                return log_error_errno(r, "Failed to load BPF object: %m");
        b->pinned = pin;

        /* 4. Runtime settings live in .bss (an mmap()ed map), set before attach. */
        b->skel->bss->hips_mode = o->mode;

        /* 5. Attach the probe pairs and the signal probe. */
        r = hips_bpf__attach(b->skel);
        if (r < 0) {
                log_error_errno(r, "Failed to attach execve tracepoints: %m");
                goto fail;
        }

        *ret = TAKE_PTR(b);
        return 0;

fail:
        for (unsigned i = 0; i < _HIPS_RING_MAX; i++)
                ring_buffer__free(b->rings[i]);
        hips_bpf__destroy(b->skel);
        return r;
}

int hips_bpf_open_rings(HipsBpf *b) {
        static const struct {
                const char *name;
                ring_buffer_sample_fn fn;
        } ring_setup[_HIPS_RING_MAX] = {
                [HIPS_RING_GATE] = { "gate", on_gate_event },
                [HIPS_RING_EXEC] = { "exec", on_exec_event },
                [HIPS_RING_TAMPER] = { "tamper", on_tamper_event },
        };
        int map_fds[_HIPS_RING_MAX];

        /* One manager each, so the gate buffer can be served first. */
        map_fds[HIPS_RING_GATE] = bpf_map__fd(b->skel->maps.gate_events);
        map_fds[HIPS_RING_EXEC] = bpf_map__fd(b->skel->maps.exec_events);
        map_fds[HIPS_RING_TAMPER] = bpf_map__fd(b->skel->maps.tamper_events);
        for (unsigned i = 0; i < _HIPS_RING_MAX; i++) {
                if (b->rings[i])
                        continue;
                b->rings[i] = ring_buffer__new(map_fds[i], ring_setup[i].fn, b, NULL);
                if (!b->rings[i])
                        return log_error_errno(negative_errno(), "Failed to set up %s ring buffer: %m", ring_setup[i].name);
        }
        return 0;
}

bool hips_bpf_stopped_pinned(const HipsBpf *b) {
        return b->pinned;
}

int hips_bpf_stopped_foreach(HipsBpf *b, hips_stopped_fn fn, void *userdata) {
        int fd = bpf_map__fd(b->skel->maps.stopped);
        uint32_t key, next, *prev = NULL;
        struct hips_stopped_value v;

        /* Collect first: fn may delete entries, which would break the walk. */
        uint32_t keys[1024];
        size_t n = 0;

        while (n < ELEMENTSOF(keys) && bpf_map_get_next_key(fd, prev, &next) == 0) {
                keys[n++] = next;
                key = next;
                prev = &key;
        }
        for (size_t i = 0; i < n; i++)
                if (bpf_map_lookup_elem(fd, &keys[i], &v) == 0)
                        fn(userdata, keys[i], &v);
        return (int) n;
}

void hips_bpf_set_drop_kills(HipsBpf *b, bool kill) {
        b->skel->bss->hips_drop_kills = kill;
}

HipsBpf *hips_bpf_free(HipsBpf *b) {
        if (!b)
                return NULL;
        /* Detach first: from here on nothing new is stopped or reported. */
        if (b->skel)
                hips_bpf__detach(b->skel);
        for (unsigned i = 0; i < _HIPS_RING_MAX; i++)
                ring_buffer__free(b->rings[i]);
        hips_bpf__destroy(b->skel);
        free(b);
        return NULL;
}

int hips_bpf_set_mode(HipsBpf *b, enum hips_mode mode) {
        if (mode > HIPS_MODE_BPF_OFF)
                return -EINVAL;
        b->skel->bss->hips_mode = mode;
        return 0;
}

int hips_bpf_allowlist_replace(HipsBpf *b, const struct hips_file_id *ids, const struct hips_allow_value *values, size_t n) {
        _Static_assert(sizeof(struct hips_file_id) == sizeof(BpfFileKey), "hips_file_id is a BpfFileKey");

        if (n > HIPS_MAX_ALLOWLIST)
                return -E2BIG;
        return bpf_file_map_replace(bpf_map__fd(b->skel->maps.kernel_allowlist), (const BpfFileKey *) ids,
                                    values, sizeof(*values), n);
}

int hips_bpf_lookup_record(HipsBpf *b, uint32_t tid, struct hips_exec_record *ret) {
        if (bpf_map_lookup_elem(bpf_map__fd(b->skel->maps.execs), &tid, ret) < 0)
                return negative_errno();
        return 0;
}

int hips_bpf_mark_judged(HipsBpf *b, uint32_t tid, const struct hips_file_id *id, uint64_t exec_id) {
        struct hips_judged_key key = { .tid = tid, .dev = id->dev, .ino = id->ino };
        struct hips_judged_value value = { .exec_id = exec_id };

        if (bpf_map_update_elem(bpf_map__fd(b->skel->maps.judged), &key, &value, BPF_ANY) < 0)
                return negative_errno();
        return 0;
}

int hips_bpf_ring_fd(HipsBpf *b, HipsRing ring) {
        return ring_buffer__epoll_fd(b->rings[ring]);
}

int hips_bpf_ring_consume(HipsBpf *b, HipsRing ring) {
        return ring_buffer__consume(b->rings[ring]);
}

int hips_bpf_read_counters(HipsBpf *b, uint64_t ret[_HIPS_CNT_MAX]) {
        return bpf_percpu_counters_read(bpf_map__fd(b->skel->maps.counters), _HIPS_CNT_MAX, ret);
}

uint64_t hips_kernel_dev(uint64_t st_dev) {
        return ((uint64_t) major(st_dev) << 20) | minor(st_dev);
}

void hips_bpf_detach(HipsBpf *b) {
        hips_bpf__detach(b->skel);
}

void hips_bpf_forget_stopped(HipsBpf *b, uint32_t pid) {
        (void) bpf_map_delete_elem(bpf_map__fd(b->skel->maps.stopped), &pid);
}

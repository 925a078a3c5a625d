/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The daemon's only view of the BPF object: the one file that includes the
 * generated skeleton is bpf-loader.c. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "hips-abi.h"

typedef struct HipsBpf HipsBpf;

/* Called for each ring-buffer event; gate is true for the gate ring buffer
 * (the process was stopped and must be resumed or killed). */
typedef void (*hips_exec_event_fn)(void *userdata, const struct hips_exec_event *event, bool gate);

/* A SIGCONT from someone else reached a process the stop layer holds. */
typedef void (*hips_tamper_event_fn)(void *userdata, const struct hips_tamper_event *event);

#define HIPS_PIN_DIR "/sys/fs/bpf/hipsd"

/* Mount tracefs if needed, open, configure, load and attach. The "stopped" map is
 * pinned under HIPS_PIN_DIR (bpffs mounted if needed) so that a restarted
 * hipsd finds what a killed one left stopped; without bpffs it runs unpinned.
 * Logs its own failure cause (libbpf's messages go to the daemon log). */
typedef struct HipsBpfOptions {
        pid_t self;                     /* hipsd's pid (as getpid() says) */
        enum hips_mode mode;
        uint32_t ringbuf_size;          /* gate and exec ring buffers, bytes; 0 = default */
        hips_exec_event_fn exec_fn;
        hips_tamper_event_fn tamper_fn;
        void *userdata;
} HipsBpfOptions;

int hips_bpf_load(const HipsBpfOptions *options, HipsBpf **ret);

/* Map the ring buffers for hips_bpf_ring_fd(). Apart from load, because the
 * mappings count in hipsd's RSS: they are made after every BPF object is
 * loaded, when libbpf's copy of the kernel BTF is freed, not on top of it.
 * Records written before wait in the kernel. */
int hips_bpf_open_rings(HipsBpf *b);
bool hips_bpf_stopped_pinned(const HipsBpf *b);

/* Every entry of the stopped map (including a previous instance's). */
typedef void (*hips_stopped_fn)(void *userdata, uint32_t pid, const struct hips_stopped_value *value);
int hips_bpf_stopped_foreach(HipsBpf *b, hips_stopped_fn fn, void *userdata);

/* fail_action "block": kill what cannot be reported instead of letting it run. */
void hips_bpf_set_drop_kills(HipsBpf *b, bool kill);
HipsBpf *hips_bpf_free(HipsBpf *b);

int hips_bpf_set_mode(HipsBpf *b, enum hips_mode mode);

/* Replace the kernel allowlist map's contents with these identities. */
int hips_bpf_allowlist_replace(HipsBpf *b, const struct hips_file_id *ids, const struct hips_allow_value *values, size_t n);

/* What the enter probe recorded for thread tid; -ENOENT when nothing. */
int hips_bpf_lookup_record(HipsBpf *b, uint32_t tid, struct hips_exec_record *ret);

/* Tell the exit probe that the hold layer judged (and allowed) this file for this exec. */
int hips_bpf_mark_judged(HipsBpf *b, uint32_t tid, const struct hips_file_id *id, uint64_t exec_id);

/* Ring buffers: an epoll fd per buffer, and consume-all. */
typedef enum HipsRing {
        HIPS_RING_GATE,
        HIPS_RING_EXEC,
        HIPS_RING_TAMPER,
        _HIPS_RING_MAX,
} HipsRing;
int hips_bpf_ring_fd(HipsBpf *b, HipsRing ring);
int hips_bpf_ring_consume(HipsBpf *b, HipsRing ring);

/* Sum of the per-CPU counters. */
int hips_bpf_read_counters(HipsBpf *b, uint64_t ret[_HIPS_CNT_MAX]);

/* Kernel dev_t (MAJOR << 20 | MINOR) of a stat(2) st_dev. */
uint64_t hips_kernel_dev(uint64_t st_dev);

/* Detach the probes; waits until none is running. Maps stay readable. */
void hips_bpf_detach(HipsBpf *b);

/* The stop layer decided this process (or it is gone): drop it from the stopped map. */
void hips_bpf_forget_stopped(HipsBpf *b, uint32_t pid);

/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The daemon's only view of monitors.bpf.o: monitors-bpf.c is the one file
 * that includes its skeleton (as bpf-loader.c is for the exec gate). */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "monitors-abi.h"

typedef struct MonitorsBpf MonitorsBpf;

/* One ring-buffer record (it begins with struct hips_mon_header). */
typedef void (*monitors_event_fn)(void *userdata, const void *data, size_t size);

typedef struct MonitorsBpfOptions {
        pid_t self;                     /* hipsd's pid: its own activity is not reported */
        monitors_event_fn event_fn;
        void *userdata;
} MonitorsBpfOptions;

/* Open, set read-only settings, load every program whose hook this kernel
 * has (the others are left out and reported by monitors_bpf_missing()), set
 * up the ring buffer. Nothing is attached yet. Logs its failure cause. */
int monitors_bpf_load(const MonitorsBpfOptions *options, MonitorsBpf **ret);
MonitorsBpf *monitors_bpf_free(MonitorsBpf *b);

/* Attach the programs of one monitor (idempotent), or detach them. Attaching
 * is all or nothing: on failure nothing of that monitor stays attached. */
int monitors_bpf_attach(MonitorsBpf *b, enum hips_mon_id id);
void monitors_bpf_detach(MonitorsBpf *b, enum hips_mon_id id);
bool monitors_bpf_attached(const MonitorsBpf *b, enum hips_mon_id id);

/* What of a monitor this kernel lacks, e.g. "sched_prepare_exec", as one
 * comma-separated string, or NULL when nothing. */
const char *monitors_bpf_missing(const MonitorsBpf *b, enum hips_mon_id id);

/* The library the DNS monitor's probes are on (known once attached). */
const char *monitors_bpf_libc_path(const MonitorsBpf *b);

int monitors_bpf_ring_fd(MonitorsBpf *b);
int monitors_bpf_ring_consume(MonitorsBpf *b);

/* Sum of the per-CPU counters. */
int monitors_bpf_read_counters(MonitorsBpf *b, uint64_t ret[_HIPS_MON_CNT_MAX]);

void monitors_bpf_set_lineage_events(MonitorsBpf *b, bool on);

/* The lineage map. */
int monitors_bpf_task_lookup(MonitorsBpf *b, uint32_t pid, struct hips_mon_task *ret);
/* Add an entry unless the kernel side has one already (-EEXIST). */
int monitors_bpf_task_seed(MonitorsBpf *b, uint32_t pid, const struct hips_mon_task *task);

/* Replace the watched-identities map's contents. */
int monitors_bpf_watched_replace(MonitorsBpf *b, const struct hips_mon_file_id *ids, const uint32_t *flags, size_t n);

/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The HIDS monitors: process lineage, network, DNS, sensitive files and
 * privilege changes. Each is a set of programs in bpf/monitors.bpf.c (by
 * name prefix) and one Monitor here, a table of hooks that monitors.c calls:
 * whether the config enables it, what to do when a config comes into force,
 * and how to turn one ring-buffer record into a logged event. monitors.c owns
 * the BPF object (through monitors-bpf.h), the ring buffer's event source,
 * the counters, and the output of every event: hips.log.json, journald and
 * the MonitorEvent D-Bus signal. */

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "ancestry.h"
#include "config.h"
#include "decision-log.h"
#include "monitors-abi.h"
#include "monitors-bpf.h"

typedef struct Manager Manager;
typedef struct Monitors Monitors;

typedef struct MonitorCounters {
        uint64_t events;                /* logged */
        uint64_t alerts;                /* ... of which alerts: a rule matched, root was gained */
        uint64_t kills;                 /* processes killed by a rule */
        uint64_t kernel_events;         /* records the kernel side submitted */
        uint64_t kernel_drops;          /* records lost: the ring buffer was full */
} MonitorCounters;

typedef struct Monitor {
        const char *name;               /* its key under "monitors" in the config */
        const char *event;              /* "event" of its log lines; hipsctl monitor --type */
        const char *message_id;         /* journald MESSAGE_ID */
        enum hips_mon_id id;            /* its programs and counters */
        bool (*enabled)(const MonitorsConfig *c);
        /* A config comes into force (start, reload), with the monitor's
         * programs attached when it is enabled: fill maps, resolve paths.
         * NULL when there is nothing to do. */
        int (*apply)(Monitors *ms, const MonitorsConfig *c, bool enabled);
        /* One ring-buffer record of one of its types, at least min_size bytes. */
        void (*handle)(Monitors *ms, const void *data, size_t size);
        size_t min_size;
        /* Every MONITORS_TICK_USEC while enabled (e.g. to follow a watched
         * file replaced by rename). NULL when nothing. */
        void (*tick)(Monitors *ms);
        /* Free what apply() allocated. NULL when nothing. */
        void (*done)(Monitors *ms);
} Monitor;

#define MONITORS_TICK_USEC (5ull * 1000000ull)

extern const Monitor monitor_lineage;
extern const Monitor monitor_network;
extern const Monitor monitor_dns;
extern const Monitor monitor_files;
extern const Monitor monitor_privilege;

/* The five, in enum hips_mon_id order. */
const Monitor *monitor_get(enum hips_mon_id id);
/* By name ("files") or event type ("file"); NULL when none. */
const Monitor *monitor_find(const char *name_or_event);

/* Lifecycle, from the manager. monitors_start() loads and attaches what the
 * config enables; a failure is logged and leaves the monitors off (the gate
 * never depends on them). */
int monitors_new(Manager *m, Monitors **ret);
int monitors_start(Monitors *ms, const MonitorsConfig *c);
/* A reloaded config: attach or detach, refill maps. */
int monitors_apply_config(Monitors *ms, const MonitorsConfig *c);
/* Detach everything and log what is still in the ring buffer. */
void monitors_stop(Monitors *ms);
Monitors *monitors_free(Monitors *ms);

bool monitors_enabled(const Monitors *ms, enum hips_mon_id id);
void monitors_get_counters(Monitors *ms, enum hips_mon_id id, MonitorCounters *ret);

/* The ancestors of pid, parent first, up to the configured depth: into an
 * array owned by ms, valid until the next call. Returns their number; *ret
 * is NULL (lineage unknown) when the lineage monitor is off. */
size_t monitors_ancestry(Monitors *ms, pid_t pid, const Ancestor **ret);

/* For the handlers. */
Manager *monitors_manager(Monitors *ms);
MonitorsBpf *monitors_bpf(Monitors *ms);
const MonitorsConfig *monitors_config(Monitors *ms);
void *monitors_state(Monitors *ms, enum hips_mon_id id);
void monitors_set_state(Monitors *ms, enum hips_mon_id id, void *state);
/* Lineage's part of monitors_ancestry() (monitor-lineage.c). */
size_t lineage_ancestry(Monitors *ms, pid_t pid, uint32_t depth, const Ancestor **ret);

/* One event being built: the header's fields first (pid, ppid, uid, gid,
 * comm, exe), then the monitor's, then it is emitted. Values are copied. */
#define MONITOR_EVENT_FIELDS_MAX 48
#define MONITOR_EVENT_TEXT_MAX 8192

typedef struct MonitorEvent {
        Monitors *monitors;
        const Monitor *monitor;
        const struct hips_mon_header *header;
        LogField fields[MONITOR_EVENT_FIELDS_MAX];
        size_t n_fields;
        char text[MONITOR_EVENT_TEXT_MAX];      /* the values' storage */
        size_t text_used;
        bool overflow;
        const char *exe;                        /* the process's executable, NULL when unknown */
        const char *comm;
} MonitorEvent;

void monitor_event_begin(MonitorEvent *e, Monitors *ms, const Monitor *mon,
                         const struct hips_mon_header *h, const char *kind);
void monitor_event_add(MonitorEvent *e, const char *key, const char *value);
void monitor_event_add_number(MonitorEvent *e, const char *key, int64_t value);
void monitor_event_addf(MonitorEvent *e, const char *key, const char *format, ...)
        __attribute__((format(printf, 3, 4)));
/* Log it everywhere. action: "log" (nothing matched), "alert" or "kill";
 * the summary is the journal MESSAGE and the signal's summary. */
void monitor_event_emit(MonitorEvent *e, const char *action, const char *format, ...)
        __attribute__((format(printf, 3, 4)));

/* SIGKILL the event's process, unless it is gone, has been replaced (its pid
 * reused), or is hipsd or pid 1. Returns 0 when killed, else a negative errno. */
int monitors_kill(Monitors *ms, const struct hips_mon_header *h);

/* Kernel dev_t (MAJOR << 20 | MINOR) of a stat(2) st_dev. */
uint64_t monitor_kernel_dev(uint64_t st_dev);

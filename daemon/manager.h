/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The daemon's state: one sd-event loop and everything hanging off it. */

#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include "bpf-loader.h"
#include "config.h"
#include "decision-log.h"
#include "fanotify-gate.h"
#include "hash.h"

typedef struct Manager Manager;
typedef struct Monitors Monitors;

#define LATENCY_SAMPLES 4096         /* latest decision latencies kept for percentiles */
#define MANAGER_MAX_PENDING 4096     /* execs waiting for a verdict; beyond, fail_action answers */

typedef struct PendingExec PendingExec;

typedef struct FileIdentity {
        uint64_t dev;                /* st_dev */
        uint64_t ino;
} FileIdentity;
typedef struct HashWorker HashWorker;
#define SAME_EXEC_SLOTS 1024         /* per-thread memory of the exec being held */

typedef struct ExecStats {
        uint64_t events_seen;        /* decisions taken (hold events + stop/after events) */
        uint64_t allowed;
        uint64_t blocked;
        uint64_t hold_decisions;
        uint64_t stop_decisions;
        uint64_t after_decisions;
        uint64_t vanished;           /* processes gone before they were judged */
        uint64_t tampered;           /* SIGCONTs to gated processes by others */
        uint64_t latency_us[LATENCY_SAMPLES];   /* ring of the latest decision latencies */
        uint64_t n_latency;                     /* samples ever taken */
} ExecStats;

/* What the hold layer remembers of one thread's exec across its several
 * fanotify events (the file, then the script or ELF interpreter). */
typedef struct SameExec {
        uint32_t tid;
        uint64_t exec_id;
        bool allowlisted;            /* an earlier event of this exec matched the allowlist */
        char rule[128];
} SameExec;

struct Manager {
        sd_event *event;
        sd_bus *bus;
        struct BusAuthRequest *bus_auth_requests;  /* root-only calls waiting for the caller's uid (bus.c) */
        unsigned n_bus_auth_requests;
        uint64_t bus_signals_dropped;              /* Decision signals the bus did not take */

        char *config_path;
        char *log_path;
        HipsConfig *config;
        RuleInputs rule_inputs;      /* what the rules in force look at (rules.h) */
        HipsMode mode;
        HipsGate gate_setting;       /* from the config */
        bool hold_active;            /* the fanotify layer is in use */
        uint32_t ringbuf_size;       /* --ring-buffer-size, 0 = built-in default */
        uint64_t rules_loaded_at_usec;   /* CLOCK_REALTIME */
        size_t kernel_allowlist_size;    /* identities in force (kernel allowlist + critical processes) */
        FileIdentity *interpreters;
        size_t n_interpreters;

        HipsBpf *bpf;
        FanotifyGate *fanotify;
        HashCache *hash_cache;
        HashWorker *hash_worker;
        DecisionLog *log;
        Monitors *monitors;          /* the HIDS monitors (monitors.c) */

        PendingExec *pending;        /* execs waiting for a hash (exec-judge.c) */
        unsigned n_pending;

        sd_event_source *ring_sources[_HIPS_RING_MAX];
        sd_event_source *counters_timer;
        uint64_t counters[_HIPS_CNT_MAX];       /* BPF counters as last read */
        sd_event_source *sigterm_source;
        sd_event_source *sigint_source;
        sd_event_source *sighup_source;
        sd_event_source *ready_timer;   /* READY=1 even if the bus never answers RequestName */
        bool bus_name_pending;          /* RequestName(org.hipsd1) sent, no reply yet (bus.c) */
        bool ready_sent;

        ExecStats stats;
        SameExec same_exec[SAME_EXEC_SLOTS];
        bool shutting_down;
};

int manager_new(const char *config_path, const char *log_path, Manager **ret);
Manager *manager_free(Manager *m);
static inline void manager_freep(Manager **m) {
        manager_free(*m);
}

/* Take a parsed config into force (first start or reload). On a reload the
 * caller has already validated it; this cannot fail half-way for rules. */
int manager_apply_config(Manager *m, HipsConfig *config);

/* Re-read the config file. On any error the running rules stay in force;
 * problems gets the list. */
int manager_reload(Manager *m, ConfigProblems *problems);

int manager_set_mode(Manager *m, HipsMode mode);

/* Load BPF, set up the hold layer, sources, signals. */
int manager_start(Manager *m, bool force_functional);

/* Stop gating: detach, answer every hold, resume or decide every stopped process. */
void manager_stop(Manager *m);

bool manager_is_interpreter(const Manager *m, const struct stat *st);
void manager_count_decision(Manager *m, bool allowed, uint64_t latency_us);
/* q in [0, 1], over the latest LATENCY_SAMPLES decisions; 0 when none. */
uint64_t manager_latency_percentile(const Manager *m, double q);
void manager_status_line(const Manager *m, char *buf, size_t size);

/* Tell the service manager hipsd is ready, once: after start-up, as soon as
 * the control API's bus name is owned (or the bus said no, or did not answer
 * in time), so that "systemctl start" returning means hipsctl works. */
int manager_arm_ready(Manager *m);
void manager_notify_ready(Manager *m);

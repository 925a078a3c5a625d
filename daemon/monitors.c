/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The monitors as a whole: load and attach from the config, dispatch ring
 * records by type to their Monitor, count, and write every event to the log,
 * the journal and the bus. The monitors are telemetry: nothing here may stop
 * or slow the exec gate, so every failure is logged and leaves them off. */

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <systemd/sd-event.h>

#include "bus.h"
#include "log.h"
#include "manager.h"
#include "monitor.h"
#include "proc.h"
#include "util.h"

static const Monitor *const all_monitors[_HIPS_MON_MAX] = {
        [HIPS_MON_LINEAGE] = &monitor_lineage,
        [HIPS_MON_NETWORK] = &monitor_network,
        [HIPS_MON_DNS] = &monitor_dns,
        [HIPS_MON_FILES] = &monitor_files,
        [HIPS_MON_PRIVILEGE] = &monitor_privilege,
};

struct Monitors {
        Manager *manager;
        MonitorsBpf *bpf;
        sd_event_source *ring_source;
        sd_event_source *tick_timer;
        const MonitorsConfig *config;
        bool enabled[_HIPS_MON_MAX];
        MonitorCounters counters[_HIPS_MON_MAX];
        uint64_t kernel[_HIPS_MON_CNT_MAX];     /* kernel counters as last read */
        uint64_t drops_reported[_HIPS_MON_MAX];
        void *state[_HIPS_MON_MAX];
        bool stopped;                           /* hipsd is stopping: no new attach */
};

const Monitor *monitor_get(enum hips_mon_id id) {
        return (unsigned) id < _HIPS_MON_MAX ? all_monitors[id] : NULL;
}

const Monitor *monitor_find(const char *s) {
        for (unsigned i = 0; i < _HIPS_MON_MAX; i++)
                if (streq(all_monitors[i]->name, s) || streq(all_monitors[i]->event, s))
                        return all_monitors[i];
        return NULL;
}

uint64_t monitor_kernel_dev(uint64_t st_dev) {
        return ((uint64_t) major(st_dev) << 20) | minor(st_dev);
}

Manager *monitors_manager(Monitors *ms) {
        return ms->manager;
}

MonitorsBpf *monitors_bpf(Monitors *ms) {
        return ms->bpf;
}

const MonitorsConfig *monitors_config(Monitors *ms) {
        return ms->config;
}

void *monitors_state(Monitors *ms, enum hips_mon_id id) {
        return ms->state[id];
}

void monitors_set_state(Monitors *ms, enum hips_mon_id id, void *state) {
        ms->state[id] = state;
}

bool monitors_enabled(const Monitors *ms, enum hips_mon_id id) {
        return ms && ms->enabled[id];
}

static void read_kernel_counters(Monitors *ms) {
        if (ms->bpf)
                (void) monitors_bpf_read_counters(ms->bpf, ms->kernel);
}

void monitors_get_counters(Monitors *ms, enum hips_mon_id id, MonitorCounters *ret) {
        read_kernel_counters(ms);
        *ret = ms->counters[id];
        ret->kernel_events = ms->kernel[HIPS_MON_CNT(id, HIPS_MON_CNT_EVENTS)];
        ret->kernel_drops = ms->kernel[HIPS_MON_CNT(id, HIPS_MON_CNT_DROPS)];
}

size_t monitors_ancestry(Monitors *ms, pid_t pid, const Ancestor **ret) {
        if (!ms || !ms->enabled[HIPS_MON_LINEAGE] || !ms->config) {
                *ret = NULL;
                return 0;
        }
        return lineage_ancestry(ms, pid, ms->config->lineage_depth, ret);
}

/* Ring records */

static const Monitor *monitor_of_type(uint32_t type) {
        switch (type) {
        case HIPS_MON_EV_FORK:
        case HIPS_MON_EV_EXEC:
        case HIPS_MON_EV_EXIT:
                return &monitor_lineage;
        case HIPS_MON_EV_NET:
                return &monitor_network;
        case HIPS_MON_EV_DNS:
                return &monitor_dns;
        case HIPS_MON_EV_FILE:
                return &monitor_files;
        case HIPS_MON_EV_PRIV:
                return &monitor_privilege;
        default:
                return NULL;
        }
}

static void on_record(void *userdata, const void *data, size_t size) {
        Monitors *ms = userdata;
        const struct hips_mon_header *h = data;
        const Monitor *mon = monitor_of_type(h->type);

        /* A record of a monitor switched off by a reload while it was queued is dropped. */
        if (!mon || size < mon->min_size || !ms->enabled[mon->id])
                return;
        mon->handle(ms, data, size);
}

static int on_ring(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        Monitors *ms = userdata;

        (void) monitors_bpf_ring_consume(ms->bpf);
        return 0;
}

static int on_tick(sd_event_source *s, uint64_t usec, void *userdata) {
        Monitors *ms = userdata;

        read_kernel_counters(ms);
        for (unsigned i = 0; i < _HIPS_MON_MAX; i++) {
                uint64_t drops = ms->kernel[HIPS_MON_CNT(i, HIPS_MON_CNT_DROPS)];

                /* Said once per interval, never per record. */
                if (drops > ms->drops_reported[i])
                        log_warning("Monitor %s: %" PRIu64 " events lost (ring buffer full), %" PRIu64 " in total.",
                                    all_monitors[i]->name, drops - ms->drops_reported[i], drops);
                ms->drops_reported[i] = drops;
                if (ms->enabled[i] && all_monitors[i]->tick)
                        all_monitors[i]->tick(ms);
        }
        (void) sd_event_source_set_time_relative(s, MONITORS_TICK_USEC);
        return 0;
}

/* Lifecycle */

int monitors_new(Manager *m, Monitors **ret) {
        Monitors *ms = calloc(1, sizeof(*ms));

        if (!ms)
                return -ENOMEM;
        ms->manager = m;
        *ret = ms;
        return 0;
}

static int set_enabled(Monitors *ms, enum hips_mon_id id, bool on) {
        const Monitor *mon = all_monitors[id];
        const char *missing;
        int r;

        if (on == ms->enabled[id])
                return 0;
        if (!on) {
                monitors_bpf_detach(ms->bpf, id);
                ms->enabled[id] = false;
                log_info("Monitor %s off.", mon->name);
                return 0;
        }

        r = monitors_bpf_attach(ms->bpf, id);
        if (r < 0)
                return log_warning_errno(r, "Monitor %s unavailable, left off: %m", mon->name);
        ms->enabled[id] = true;
        missing = monitors_bpf_missing(ms->bpf, id);
        if (missing)
                log_notice("Monitor %s on, without what this kernel lacks: %s.", mon->name, missing);
        else if (id == HIPS_MON_DNS)
                log_info("Monitor dns on (getaddrinfo() in %s).", monitors_bpf_libc_path(ms->bpf));
        else
                log_info("Monitor %s on.", mon->name);
        return 0;
}

/* Load the object and watch its ring buffer: when a monitor is first enabled. */
static int monitors_load(Monitors *ms) {
        Manager *m = ms->manager;
        int r;

        r = monitors_bpf_load(&(MonitorsBpfOptions) {
                                      .self = getpid(),
                                      .event_fn = on_record,
                                      .userdata = ms,
                              }, &ms->bpf);
        if (r < 0)
                return r;

        /* Telemetry waits for the gate and the bus: a lower priority than both. */
        r = sd_event_add_io(m->event, &ms->ring_source, monitors_bpf_ring_fd(ms->bpf), EPOLLIN, on_ring, ms);
        if (r < 0)
                return log_error_errno(r, "Failed to watch the monitors ring buffer: %m");
        (void) sd_event_source_set_priority(ms->ring_source, SD_EVENT_PRIORITY_NORMAL + 10);
        (void) sd_event_source_set_description(ms->ring_source, "monitors-ring");

        r = sd_event_add_time_relative(m->event, &ms->tick_timer, CLOCK_MONOTONIC, MONITORS_TICK_USEC, 0, on_tick, ms);
        if (r < 0)
                return log_error_errno(r, "Failed to add the monitors timer: %m");
        (void) sd_event_source_set_enabled(ms->tick_timer, SD_EVENT_ON);
        (void) sd_event_source_set_priority(ms->tick_timer, SD_EVENT_PRIORITY_NORMAL + 10);
        return 0;
}

int monitors_apply_config(Monitors *ms, const MonitorsConfig *c) {
        bool any = false;
        int r;

        ms->config = c;
        if (ms->stopped)
                return 0;
        for (unsigned i = 0; i < _HIPS_MON_MAX; i++)
                any = any || all_monitors[i]->enabled(c);
        if (!ms->bpf) {
                if (!any)
                        return 0;       /* nothing to load yet */
                r = monitors_load(ms);
                if (r < 0) {
                        /* Telemetry only: the gate goes on without it. */
                        ms->ring_source = sd_event_source_disable_unref(ms->ring_source);
                        ms->tick_timer = sd_event_source_disable_unref(ms->tick_timer);
                        ms->bpf = monitors_bpf_free(ms->bpf);
                        return log_warning_errno(r, "Monitors unavailable: %m");
                }
        }

        monitors_bpf_set_lineage_events(ms->bpf, c->lineage && c->lineage_events);
        for (unsigned i = 0; i < _HIPS_MON_MAX; i++) {
                const Monitor *mon = all_monitors[i];

                (void) set_enabled(ms, (enum hips_mon_id) i, mon->enabled(c));
                if (!mon->apply)
                        continue;
                /* Partly applied is still better than off: the monitor says what failed. */
                r = mon->apply(ms, c, ms->enabled[i]);
                if (r < 0)
                        log_warning_errno(r, "Monitor %s: failed to apply the configuration: %m", mon->name);
        }
        return 0;
}

int monitors_start(Monitors *ms, const MonitorsConfig *c) {
        return monitors_apply_config(ms, c);
}

void monitors_stop(Monitors *ms) {
        if (!ms)
                return;
        ms->stopped = true;
        if (!ms->bpf)
                return;
        for (unsigned i = 0; i < _HIPS_MON_MAX; i++)
                monitors_bpf_detach(ms->bpf, (enum hips_mon_id) i);
        /* What happened before the detach is still logged. */
        (void) monitors_bpf_ring_consume(ms->bpf);
        read_kernel_counters(ms);
        for (unsigned i = 0; i < _HIPS_MON_MAX; i++)
                ms->enabled[i] = false;
        ms->ring_source = sd_event_source_disable_unref(ms->ring_source);
        ms->tick_timer = sd_event_source_disable_unref(ms->tick_timer);
}

Monitors *monitors_free(Monitors *ms) {
        if (!ms)
                return NULL;
        sd_event_source_disable_unref(ms->ring_source);
        sd_event_source_disable_unref(ms->tick_timer);
        for (unsigned i = 0; i < _HIPS_MON_MAX; i++)
                if (all_monitors[i]->done)
                        all_monitors[i]->done(ms);
        monitors_bpf_free(ms->bpf);
        free(ms);
        return NULL;
}

/* Events */

static const char *event_store(MonitorEvent *e, const char *s, size_t n) {
        char *p;

        if (e->text_used + n + 1 > sizeof(e->text)) {
                e->overflow = true;
                return NULL;
        }
        p = e->text + e->text_used;
        memcpy(p, s, n);
        p[n] = '\0';
        e->text_used += n + 1;
        return p;
}

static void event_add_field(MonitorEvent *e, const char *key, const char *value, bool number) {
        if (e->n_fields >= ELEMENTSOF(e->fields)) {
                e->overflow = true;
                return;
        }
        e->fields[e->n_fields++] = (LogField) {
                .key = key,
                .value = value ? event_store(e, value, strlen(value)) : NULL,
                .number = number,
        };
}

void monitor_event_add(MonitorEvent *e, const char *key, const char *value) {
        event_add_field(e, key, value, false);
}

void monitor_event_add_number(MonitorEvent *e, const char *key, int64_t value) {
        char buf[24];

        (void) snprintf(buf, sizeof(buf), "%" PRIi64, value);
        event_add_field(e, key, buf, true);
}

void monitor_event_addf(MonitorEvent *e, const char *key, const char *format, ...) {
        char buf[1024];
        va_list ap;

        va_start(ap, format);
        (void) vsnprintf(buf, sizeof(buf), format, ap);
        va_end(ap);
        event_add_field(e, key, buf, false);
}

/* The comm of a record: 16 bytes, NUL-terminated unless exactly 16 long. */
static void comm_copy(char dst[HIPS_MON_COMM_SIZE + 1], const char src[HIPS_MON_COMM_SIZE]) {
        memcpy(dst, src, HIPS_MON_COMM_SIZE);
        dst[HIPS_MON_COMM_SIZE] = '\0';
}

void monitor_event_begin(MonitorEvent *e, Monitors *ms, const Monitor *mon,
                         const struct hips_mon_header *h, const char *kind) {
        _cleanup_free_ char *exe = NULL;
        char path[64], comm[HIPS_MON_COMM_SIZE + 1];
        struct hips_mon_task t;

        e->monitors = ms;
        e->monitor = mon;
        e->header = h;
        e->n_fields = 0;
        e->text_used = 0;
        e->overflow = false;

        comm_copy(comm, h->comm);
        (void) snprintf(path, sizeof(path), "/proc/%u/exe", h->pid);
        if (proc_readlink(path, &exe) < 0 && ms->bpf && monitors_bpf_task_lookup(ms->bpf, h->pid, &t) == 0 &&
            t.filename[0]) {
                /* Gone already: what lineage knows. */
                t.filename[sizeof(t.filename) - 1] = '\0';
                exe = strdup(t.filename);
        }

        monitor_event_add(e, "kind", kind);
        monitor_event_add_number(e, "pid", h->pid);
        monitor_event_add_number(e, "tid", h->tid);
        monitor_event_add_number(e, "ppid", h->ppid);
        monitor_event_add_number(e, "uid", h->uid);
        monitor_event_add_number(e, "gid", h->gid);
        monitor_event_add(e, "comm", comm);
        e->comm = e->fields[e->n_fields - 1].value;
        monitor_event_add(e, "exe", exe);
        e->exe = e->fields[e->n_fields - 1].value;
}

void monitor_event_emit(MonitorEvent *e, const char *action, const char *format, ...) {
        Monitors *ms = e->monitors;
        Manager *m = ms->manager;
        const Monitor *mon = e->monitor;
        MonitorCounters *c = &ms->counters[mon->id];
        _cleanup_free_ char *ancestors_text = NULL;
        const char *bus_fields[2 * MONITOR_EVENT_FIELDS_MAX + 5];
        const Ancestor *ancestors;
        bool alert = !streq(action, "log");
        char summary[512];
        size_t n_ancestors, k = 0;
        va_list ap;

        monitor_event_add(e, "action", action);
        if (e->overflow)
                log_debug("Monitor %s: event cut short (too many or too long fields).", mon->name);

        va_start(ap, format);
        (void) vsnprintf(summary, sizeof(summary), format, ap);
        va_end(ap);

        n_ancestors = monitors_ancestry(ms, (pid_t) e->header->pid, &ancestors);

        decision_log_write_fields(m->log, mon->message_id, alert ? LOG_WARNING : LOG_INFO, mon->event, summary,
                                  e->fields, e->n_fields, ancestors, n_ancestors);

        for (size_t i = 0; i < e->n_fields; i++)
                if (e->fields[i].value) {
                        bus_fields[k++] = e->fields[i].key;
                        bus_fields[k++] = e->fields[i].value;
                }
        if (ancestors) {
                ancestors_text = ancestors_to_string(ancestors, n_ancestors);
                if (ancestors_text) {
                        bus_fields[k++] = "ancestors";
                        bus_fields[k++] = ancestors_text;
                }
        }
        bus_fields[k] = NULL;
        bus_emit_monitor_event(m, mon->event, summary, bus_fields);

        c->events++;
        if (alert) {
                c->alerts++;
                log_warning("%s", summary);
        }
}

int monitors_kill(Monitors *ms, const struct hips_mon_header *h) {
        long tck = sysconf(_SC_CLK_TCK);
        uint64_t ticks;
        char state;
        int pidfd, r;

        if (h->pid <= 1 || (pid_t) h->pid == getpid())
                return -EPERM;
        /* A pidfd first, then the check: the process checked is the one signalled. */
        pidfd = (int) syscall(SYS_pidfd_open, (pid_t) h->pid, 0);
        if (pidfd < 0)
                return negative_errno();
        r = proc_read_stat_start((pid_t) h->pid, &state, &ticks);
        if (r >= 0 && (tck <= 0 || ticks != h->start_boottime / (1000000000ull / (uint64_t) tck)))
                r = -ESRCH;     /* the pid is someone else's now */
        if (r >= 0 && syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0) < 0)
                r = negative_errno();
        (void) close(pidfd);
        if (r >= 0)
                ms->counters[monitor_of_type(h->type)->id].kills++;
        return r < 0 ? r : 0;
}

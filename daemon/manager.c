/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <systemd/sd-daemon.h>

#include "bus.h"
#include "elf-interp.h"
#include "exec-judge.h"
#include "hash-worker.h"
#include "log.h"
#include "proc.h"
#include "manager.h"
#include "monitor.h"
#include "util.h"

#define HASH_CACHE_SLOTS 4096

#define USEC_PER_SEC 1000000ull

static uint64_t now_monotonic_ns(void) {
        struct timespec ts;

        (void) clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000000ull + (uint64_t) ts.tv_nsec;
}

static uint64_t now_realtime_usec(void) {
        struct timespec ts;

        (void) clock_gettime(CLOCK_REALTIME, &ts);
        return (uint64_t) ts.tv_sec * 1000000ull + (uint64_t) ts.tv_nsec / 1000;
}

static enum hips_mode bpf_mode_of(HipsMode mode) {
        return mode == HIPS_MODE_FUNCTIONAL ? HIPS_MODE_BPF_FUNCTIONAL : HIPS_MODE_BPF_SAFE;
}

int manager_new(const char *config_path, const char *log_path, Manager **ret) {
        _cleanup_(manager_freep) Manager *m = NULL;
        int r;

        m = calloc(1, sizeof(*m));
        if (!m)
                return -ENOMEM;

        m->config_path = strdup(config_path);
        m->log_path = strdup(log_path);
        if (!m->config_path || !m->log_path)
                return -ENOMEM;

        r = sd_event_default(&m->event);
        if (r < 0)
                return log_error_errno(r, "Failed to allocate event loop: %m");

        r = hash_cache_new(HASH_CACHE_SLOTS, &m->hash_cache);
        if (r < 0)
                return log_error_errno(r, "Failed to allocate hash cache: %m");
        r = hash_worker_new(m->event, &m->hash_worker);
        if (r < 0)
                /* Not fatal: large files are then hashed on the loop. */
                log_warning_errno(r, "Failed to start hash worker, hashing on the event loop: %m");

        r = monitors_new(m, &m->monitors);
        if (r < 0)
                return r;

        r = decision_log_new(m->log_path, &m->log);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                /* Not fatal: journald still gets every decision; writing is retried. */
                log_warning_errno(r, "Cannot open %s yet, decisions go to the journal only: %m", m->log_path);

        *ret = TAKE_PTR(m);
        return 0;
}

Manager *manager_free(Manager *m) {
        if (!m)
                return NULL;
        for (unsigned i = 0; i < _HIPS_RING_MAX; i++)
                sd_event_source_disable_unref(m->ring_sources[i]);
        sd_event_source_disable_unref(m->counters_timer);
        sd_event_source_disable_unref(m->sigterm_source);
        sd_event_source_disable_unref(m->sigint_source);
        sd_event_source_disable_unref(m->sighup_source);
        sd_event_source_disable_unref(m->ready_timer);
        exec_judge_flush(m);
        monitors_free(m->monitors);
        hash_worker_free(m->hash_worker);
        fanotify_gate_free(m->fanotify);
        hips_bpf_free(m->bpf);
        sd_bus_flush_close_unref(m->bus);
        sd_event_unref(m->event);
        hash_cache_free(m->hash_cache);
        hash_release_buffer();
        decision_log_free(m->log);
        config_free(m->config);
        free(m->interpreters);
        free(m->config_path);
        free(m->log_path);
        free(m);
        return NULL;
}

/* Resolve paths (following symlinks) to regular files: identities for the
 * BPF map, real paths for fanotify ignore marks. Missing files are skipped
 * (warned about at parse time). */
typedef struct ResolvedFiles {
        struct hips_file_id *ids;
        struct hips_allow_value *values;
        struct stat *st;
        char **paths;
        size_t n;
} ResolvedFiles;

static void resolved_files_done(ResolvedFiles *f) {
        for (size_t i = 0; i < f->n; i++)
                free(f->paths[i]);
        free(f->ids);
        free(f->values);
        free(f->st);
        free(f->paths);
        *f = (ResolvedFiles) {};
}

static int resolve_files(char *const *lists[], const size_t counts[], size_t n_lists, ResolvedFiles *ret) {
        ResolvedFiles f = {};
        size_t total = 0;

        for (size_t l = 0; l < n_lists; l++)
                total += counts[l];
        f.ids = calloc(total + 1, sizeof(*f.ids));
        f.values = calloc(total + 1, sizeof(*f.values));
        f.st = calloc(total + 1, sizeof(*f.st));
        f.paths = calloc(total + 1, sizeof(char *));
        if (!f.ids || !f.values || !f.st || !f.paths) {
                resolved_files_done(&f);
                return -ENOMEM;
        }

        for (size_t l = 0; l < n_lists; l++)
                for (size_t i = 0; i < counts[l]; i++) {
                        struct stat st;
                        char *real = realpath(lists[l][i], NULL);
                        bool dup = false;

                        if (!real || stat(real, &st) < 0 || !S_ISREG(st.st_mode)) {
                                free(real);
                                continue;
                        }
                        for (size_t k = 0; k < f.n && !dup; k++)
                                dup = f.st[k].st_dev == st.st_dev && f.st[k].st_ino == st.st_ino;
                        if (dup) {
                                free(real);
                                continue;
                        }
                        f.st[f.n] = st;
                        f.ids[f.n] = (struct hips_file_id) { .dev = hips_kernel_dev(st.st_dev), .ino = st.st_ino };
                        f.values[f.n] = (struct hips_allow_value) {
                                .ctime_sec = st.st_ctim.tv_sec,
                                .ctime_nsec = (uint32_t) st.st_ctim.tv_nsec,
                        };
                        f.paths[f.n++] = real;
                }

        *ret = f;
        return 0;
}

/* Appends to names (n of them, room for max) the dynamic loader of path, once. */
static void add_loader_of(const char *path, char **names, size_t *n, size_t max) {
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        char interp[PATH_MAX];

        if (fd < 0 || elf_read_interp(fd, interp, sizeof(interp)) < 0)
                return;         /* a script or a static binary: no loader */
        for (size_t i = 0; i < *n; i++)
                if (streq(names[i], interp))
                        return;
        if (*n < max) {
                names[*n] = strdup(interp);
                if (names[*n])
                        (*n)++;
        }
}

/* The kernel allowlist and the critical processes share the fast path, in
 * force on both layers.
 *
 * Their dynamic loaders get only the fanotify ignore mark: the kernel opens
 * ld.so for exec inside every execve() of a dynamically linked program, and
 * without the mark each fast-path exec would still wait for hipsd to answer
 * for ld.so. The main file of every exec is judged on its own (a hold, the
 * fast path, or the exit probe), so ld.so as a loader adds nothing to judge.
 * Run directly ("ld.so ./prog"), ld.so is the exec's main file: it is not on
 * the BPF fast path nor judged by a hold, so the exit probe stops it and it
 * is judged there, cmdline and all. */
#define LOADERS_MAX 8u

static int apply_fast_path(Manager *m, const HipsConfig *c) {
        char *const *lists[] = { c->kernel_allowlist, c->critical_processes };
        const size_t counts[] = { c->n_kernel_allowlist, c->n_critical_processes };
        _cleanup_(resolved_files_done) ResolvedFiles f = {}, loaders = {};
        _cleanup_free_ char **ignored = NULL;
        char *loader_names[LOADERS_MAX];
        size_t n_loader_names = 0;
        int r = 0;

        r = resolve_files(lists, counts, ELEMENTSOF(lists), &f);
        if (r < 0)
                return r;

        /* hipsd's own loader too: it is that of nearly every program here. */
        add_loader_of("/proc/self/exe", loader_names, &n_loader_names, LOADERS_MAX);
        for (size_t i = 0; i < f.n; i++)
                add_loader_of(f.paths[i], loader_names, &n_loader_names, LOADERS_MAX);
        {
                char *const *loader_lists[] = { loader_names };
                const size_t loader_counts[] = { n_loader_names };

                r = resolve_files(loader_lists, loader_counts, 1, &loaders);
        }
        for (size_t i = 0; i < n_loader_names; i++)
                free(loader_names[i]);
        if (r < 0)
                return r;

        if (m->bpf) {
                r = hips_bpf_allowlist_replace(m->bpf, f.ids, f.values, f.n);
                if (r < 0)
                        return log_error_errno(r, "Failed to update kernel allowlist map: %m");
        }
        if (m->fanotify) {
                ignored = calloc(f.n + loaders.n + 1, sizeof(char *));
                if (!ignored)
                        return -ENOMEM;
                memcpy(ignored, f.paths, f.n * sizeof(char *));
                memcpy(ignored + f.n, loaders.paths, loaders.n * sizeof(char *));
                (void) fanotify_gate_set_ignored(m->fanotify, ignored, f.n + loaders.n);
        }
        for (size_t i = 0; i < loaders.n; i++)
                log_debug("Dynamic loader %s: no hold as a loader, judged when run directly.", loaders.paths[i]);
        m->kernel_allowlist_size = f.n;
        return 0;
}

/* Interpreters are recognised by file identity, whatever name ran them. */
static int apply_interpreters(Manager *m, const HipsConfig *c) {
        char *const *lists[] = { c->interpreters };
        const size_t counts[] = { c->n_interpreters };
        _cleanup_(resolved_files_done) ResolvedFiles f = {};
        FileIdentity *ids;
        int r;

        r = resolve_files(lists, counts, 1, &f);
        if (r < 0)
                return r;
        ids = calloc(f.n + 1, sizeof(*ids));
        if (!ids)
                return -ENOMEM;
        for (size_t i = 0; i < f.n; i++)
                ids[i] = (FileIdentity) { .dev = f.st[i].st_dev, .ino = f.st[i].st_ino };
        free(m->interpreters);
        m->interpreters = ids;
        m->n_interpreters = f.n;
        return 0;
}

bool manager_is_interpreter(const Manager *m, const struct stat *st) {
        for (size_t i = 0; i < m->n_interpreters; i++)
                if (m->interpreters[i].dev == (uint64_t) st->st_dev && m->interpreters[i].ino == (uint64_t) st->st_ino)
                        return true;
        return false;
}

int manager_apply_config(Manager *m, HipsConfig *config) {
        int r;

        rules_resolve_identities(config->allow, config->n_allow);
        rules_resolve_identities(config->block, config->n_block);

        r = apply_fast_path(m, config);
        if (r < 0)
                return r;
        r = apply_interpreters(m, config);
        if (r < 0)
                return r;
        if (m->bpf)
                hips_bpf_set_drop_kills(m->bpf, config->fail_action == FAIL_ACTION_BLOCK);
        /* Telemetry: logs its own problems and never fails a (re)load. */
        (void) monitors_apply_config(m->monitors, &config->monitors);

        config_free(m->config);
        m->config = config;
        m->rule_inputs = rules_inputs(config->allow, config->n_allow, config->block, config->n_block);
        m->rules_loaded_at_usec = now_realtime_usec();
        /* Cached verdict inputs stay valid, but a reload is a cheap moment to drop stale entries. */
        hash_cache_clear(m->hash_cache);
        return 0;
}

int manager_reload(Manager *m, ConfigProblems *problems) {
        HipsConfig *c = NULL;
        int r;

        (void) sd_notify(false, "RELOADING=1\nSTATUS=Reloading rules");

        r = config_load_file(m->config_path, &c, problems);
        if (r >= 0)
                config_check_paths(c, problems);
        if (r < 0) {
                _cleanup_free_ char *text = config_problems_to_string(problems);
                log_error("Reload of %s rejected, previous rules stay in force:\n%s",
                          m->config_path, text ? text : "(out of memory)");
                goto done;
        }

        r = manager_apply_config(m, c);
        if (r < 0) {
                config_free(c);
                log_error_errno(r, "Failed to apply reloaded rules, previous rules stay in force: %m");
                goto done;
        }
        log_info("Reloaded %s: %zu allow rules, %zu block rules, %zu kernel allowlist files.",
                 m->config_path, m->config->n_allow, m->config->n_block, m->kernel_allowlist_size);
        bus_emit_properties_changed(m, "RulesLoadedAt", "AllowRules", "BlockRules", "KernelAllowlistSize", NULL);

done:
        (void) decision_log_reopen(m->log);
        {
                char status[256];
                manager_status_line(m, status, sizeof(status));
                (void) sd_notifyf(false, "READY=1\nSTATUS=%s", status);
        }
        return r;
}

int manager_set_mode(Manager *m, HipsMode mode) {
        int r;

        if (mode == m->mode)
                return 0;

        if (m->bpf) {
                r = hips_bpf_set_mode(m->bpf, bpf_mode_of(mode));
                if (r < 0)
                        return r;
        }
        if (m->hold_active) {
                r = fanotify_gate_set_enabled(m->fanotify, mode == HIPS_MODE_SAFE);
                if (r < 0)
                        log_warning_errno(r, "Failed to %s fanotify marks: %m", mode == HIPS_MODE_SAFE ? "add" : "remove");
        }
        m->mode = mode;
        log_notice("Mode is now %s.", hips_mode_to_string(mode));
        decision_log_write_event(m->log, HIPS_MESSAGE_MODE_CHANGED, LOG_NOTICE, "mode",
                                 mode == HIPS_MODE_SAFE ? "Mode changed to safe" : "Mode changed to functional",
                                 "mode", hips_mode_to_string(mode), NULL);
        bus_emit_properties_changed(m, "Mode", NULL);
        return 0;
}

static int on_ring(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        Manager *m = userdata;

        for (unsigned i = 0; i < _HIPS_RING_MAX; i++)
                if (s == m->ring_sources[i])
                        (void) hips_bpf_ring_consume(m->bpf, (HipsRing) i);
        return 0;
}

/* Once a second: what the kernel side counted that needs saying (drops,
 * tampering), said once per interval, not per event. */
static int on_counters_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        Manager *m = userdata;
        uint64_t c[_HIPS_CNT_MAX];

        if (m->bpf && hips_bpf_read_counters(m->bpf, c) >= 0) {
                if (c[HIPS_CNT_DROPS] > m->counters[HIPS_CNT_DROPS])
                        log_warning("%" PRIu64 " exec events dropped (ring buffer full): those execs were %s "
                                    "without a verdict (%" PRIu64 " in total).",
                                    c[HIPS_CNT_DROPS] - m->counters[HIPS_CNT_DROPS],
                                    m->config->fail_action == FAIL_ACTION_BLOCK ? "killed" : "let run",
                                    c[HIPS_CNT_DROPS]);
                memcpy(m->counters, c, sizeof(c));
        }
        (void) sd_event_source_set_time_relative(s, USEC_PER_SEC);
        return 0;
}

/* A killed predecessor may have left processes stopped: decide them. Only
 * entries from before our own start: newer ones come through the ring. */
typedef struct RecoverContext {
        Manager *manager;
        uint64_t before_ns;
        unsigned n;
} RecoverContext;

static void recover_one(void *userdata, uint32_t pid, const struct hips_stopped_value *v) {
        RecoverContext *ctx = userdata;
        Manager *m = ctx->manager;
        struct hips_exec_event *e;
        ProcStatus status;
        char path[64];
        struct stat st;
        char state;
        uint64_t start_ticks;
        long tck = sysconf(_SC_CLK_TCK);
        int r;

        if (v->stop_ns >= ctx->before_ns)
                return;
        r = proc_read_stat_start(pid, &state, &start_ticks);
        if (r < 0 || (state != 'T' && state != 't') || tck <= 0 ||
            start_ticks != v->start_boottime / (1000000000ull / (uint64_t) tck) ||
            proc_read_status((pid_t) pid, &status) < 0) {
                /* Gone, running again, or a new process with a reused pid. */
                hips_bpf_forget_stopped(m->bpf, pid);
                return;
        }

        e = calloc(1, sizeof(*e));
        if (!e)
                return;
        (void) snprintf(path, sizeof(path), "/proc/%u/exe", pid);
        if (stat(path, &st) == 0) {
                e->dev = hips_kernel_dev(st.st_dev);
                e->ino = st.st_ino;
        }
        e->pid = e->tid = pid;
        e->ppid = (uint32_t) status.ppid;
        e->uid = status.uid_real;
        e->gid = status.gid_real;
        e->exec_id = v->exec_id;
        e->start_ns = v->stop_ns;
        e->flags = HIPS_F_STOPPED | HIPS_F_RECOVERED;
        /* It has not run since it was stopped: its cmdline is the exec's. */
        if (proc_read_cmdline_raw((pid_t) pid, e->args, sizeof(e->args), &e->args_size) < 0)
                e->args_size = 0;
        log_notice("Found pid %u stopped by a previous hipsd, deciding it now.", pid);
        exec_judge_event(m, e, true);
        free(e);
        ctx->n++;
}

static int on_terminate(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        Manager *m = userdata;

        log_info("Received %s, stopping.", si->ssi_signo == SIGTERM ? "SIGTERM" : "SIGINT");
        (void) sd_notify(false, "STOPPING=1\nSTATUS=Stopping: answering every held exec");
        manager_stop(m);
        return sd_event_exit(sd_event_source_get_event(s), 0);
}

static int on_sighup(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        Manager *m = userdata;
        ConfigProblems problems = {};

        (void) manager_reload(m, &problems);
        config_problems_done(&problems);
        return 0;
}

int manager_start(Manager *m, bool force_functional) {
        RecoverContext recover = { .manager = m };
        uint64_t started_ns;
        int r;

        m->mode = force_functional ? HIPS_MODE_FUNCTIONAL : m->config->mode;
        m->gate_setting = m->config->gate;

        /* Loaded switched off: nothing is stopped before the allowlist and
         * the hold layer are in place. */
        started_ns = now_monotonic_ns();
        r = hips_bpf_load(&(HipsBpfOptions) {
                                .self = getpid(),
                                .mode = HIPS_MODE_BPF_OFF,
                                .ringbuf_size = m->ringbuf_size,
                                .exec_fn = exec_judge_event,
                                .tamper_fn = exec_judge_tamper,
                                .userdata = m,
                          }, &m->bpf);
        if (r < 0)
                return r;

        if (m->gate_setting == HIPS_GATE_AUTO) {
                r = fanotify_gate_new(m->event, exec_judge_hold, m, &m->fanotify);
                if (r < 0)
                        log_warning_errno(r, "fanotify permission events unavailable (%m): "
                                          "gate falls back to SIGSTOP only, which interactive shells notice.");
                else
                        m->hold_active = true;
        }

        r = manager_apply_config(m, TAKE_PTR(m->config));
        if (r < 0)
                return r;

        /* After both BPF objects are loaded, whose loading parses the
         * kernel's BTF (11 MB for a moment): libgcrypt's start-up pages
         * (0.4 MB) then do not add to hipsd's peak RSS. Before anything can
         * be hashed: nothing is gated yet. */
        r = hash_init();
        if (r < 0)
                return log_error_errno(r, "Failed to initialise libgcrypt: %m");

        if (m->hold_active && m->mode == HIPS_MODE_SAFE) {
                r = fanotify_gate_set_enabled(m->fanotify, true);
                if (r < 0)
                        return log_error_errno(r, "Failed to mark filesystems for exec holds: %m");
        }

        /* After manager_apply_config() loaded the monitors' object (see bpf-loader.h). */
        r = hips_bpf_open_rings(m->bpf);
        if (r < 0)
                return r;
        for (unsigned i = 0; i < _HIPS_RING_MAX; i++) {
                static const char *const names[_HIPS_RING_MAX] = {
                        [HIPS_RING_GATE] = "gate-ring",
                        [HIPS_RING_EXEC] = "exec-ring",
                        [HIPS_RING_TAMPER] = "tamper-ring",
                };

                r = sd_event_add_io(m->event, &m->ring_sources[i], hips_bpf_ring_fd(m->bpf, (HipsRing) i),
                                    EPOLLIN, on_ring, m);
                if (r < 0)
                        return log_error_errno(r, "Failed to watch %s buffer: %m", names[i]);
                (void) sd_event_source_set_description(m->ring_sources[i], names[i]);
        }
        /* A stopped process waits on us: right after fanotify, before anything else. */
        (void) sd_event_source_set_priority(m->ring_sources[HIPS_RING_GATE], SD_EVENT_PRIORITY_IMPORTANT + 1);
        (void) sd_event_source_set_priority(m->ring_sources[HIPS_RING_TAMPER], SD_EVENT_PRIORITY_IMPORTANT);

        r = sd_event_add_time_relative(m->event, &m->counters_timer, CLOCK_MONOTONIC, USEC_PER_SEC, 0,
                                       on_counters_timer, m);
        if (r < 0)
                return log_error_errno(r, "Failed to add counters timer: %m");
        (void) sd_event_source_set_enabled(m->counters_timer, SD_EVENT_ON);

        /* Everything is in place: start gating. */
        r = hips_bpf_set_mode(m->bpf, bpf_mode_of(m->mode));
        if (r < 0)
                return log_error_errno(r, "Failed to switch BPF programs on: %m");

        recover.before_ns = started_ns;
        (void) hips_bpf_stopped_foreach(m->bpf, recover_one, &recover);
        if (recover.n > 0)
                log_notice("Decided %u processes a previous hipsd had left stopped.", recover.n);

        r = sd_event_add_signal(m->event, &m->sigterm_source, SIGTERM, on_terminate, m);
        if (r >= 0)
                r = sd_event_add_signal(m->event, &m->sigint_source, SIGINT, on_terminate, m);
        if (r >= 0)
                r = sd_event_add_signal(m->event, &m->sighup_source, SIGHUP, on_sighup, m);
        if (r < 0)
                return log_error_errno(r, "Failed to watch signals: %m");

        r = sd_event_set_watchdog(m->event, true);
        if (r < 0)
                log_warning_errno(r, "Failed to enable watchdog: %m");

        /* The control API, once the gate is up; without a bus, gating goes on. */
        r = bus_setup(m);
        if (r < 0)
                return r;

        log_info("hipsd started: mode %s, gate %s, %zu filesystems held, %zu kernel allowlist files, %zu allow and %zu block rules.",
                 hips_mode_to_string(m->mode),
                 m->hold_active ? "fanotify hold + SIGSTOP backstop" : "SIGSTOP only",
                 fanotify_gate_n_marked(m->fanotify), m->kernel_allowlist_size,
                 m->config->n_allow, m->config->n_block);
        return 0;
}

void manager_stop(Manager *m) {
        if (m->shutting_down)
                return;
        m->shutting_down = true;

        if (m->bpf) {
                /* No new records, events or stops; then detach, which waits
                 * for probes still running, so nothing new can arrive. */
                (void) hips_bpf_set_mode(m->bpf, HIPS_MODE_BPF_OFF);
                hips_bpf_detach(m->bpf);
                /* Decide every process the gate stopped (blocked ones are killed). */
                for (unsigned i = 0; i < _HIPS_RING_MAX; i++)
                        (void) hips_bpf_ring_consume(m->bpf, (HipsRing) i);
        }
        /* Execs waiting for a hash: decide them now, hashing inline. */
        exec_judge_flush(m);
        if (m->fanotify) {
                /* Answer what is queued; closing the group allows the rest. */
                (void) fanotify_gate_set_enabled(m->fanotify, false);
                m->fanotify = fanotify_gate_free(m->fanotify);
                m->hold_active = false;
        }
        for (unsigned i = 0; i < _HIPS_RING_MAX; i++)
                m->ring_sources[i] = sd_event_source_disable_unref(m->ring_sources[i]);
        m->counters_timer = sd_event_source_disable_unref(m->counters_timer);
        m->bpf = hips_bpf_free(m->bpf);
        monitors_stop(m->monitors);
}

void manager_count_decision(Manager *m, bool allowed, uint64_t latency_us) {
        m->stats.events_seen++;
        if (allowed)
                m->stats.allowed++;
        else
                m->stats.blocked++;
        m->stats.latency_us[m->stats.n_latency++ % LATENCY_SAMPLES] = latency_us;
}

static int cmp_u64(const void *a, const void *b) {
        uint64_t x = *(const uint64_t *) a, y = *(const uint64_t *) b;

        return x < y ? -1 : x > y;
}

uint64_t manager_latency_percentile(const Manager *m, double q) {
        uint64_t sorted[LATENCY_SAMPLES];
        size_t n = m->stats.n_latency < LATENCY_SAMPLES ? m->stats.n_latency : LATENCY_SAMPLES, k;

        if (n == 0)
                return 0;
        memcpy(sorted, m->stats.latency_us, n * sizeof(uint64_t));
        qsort(sorted, n, sizeof(uint64_t), cmp_u64);
        k = (size_t) (q * (double) (n - 1) + 0.5);
        return sorted[k < n ? k : n - 1];
}

/* How long READY=1 waits for the bus daemon to answer RequestName: gating
 * is already on, and a wedged bus must not make systemd time the start out. */
#define READY_BUS_WAIT_USEC (2 * USEC_PER_SEC)

void manager_notify_ready(Manager *m) {
        char status[256];

        if (m->ready_sent)
                return;
        m->ready_sent = true;
        m->ready_timer = sd_event_source_disable_unref(m->ready_timer);
        manager_status_line(m, status, sizeof(status));
        (void) sd_notifyf(false, "READY=1\nSTATUS=%s", status);
}

static int on_ready_timeout(sd_event_source *s, uint64_t usec, void *userdata) {
        Manager *m = userdata;

        log_warning("The bus daemon has not answered RequestName(%s) in %u s, reporting ready without it.",
                    HIPS_BUS_NAME, (unsigned) (READY_BUS_WAIT_USEC / USEC_PER_SEC));
        manager_notify_ready(m);
        return 0;
}

int manager_arm_ready(Manager *m) {
        int r;

        if (!m->bus_name_pending) {
                manager_notify_ready(m);
                return 0;
        }
        r = sd_event_add_time_relative(m->event, &m->ready_timer, CLOCK_MONOTONIC, READY_BUS_WAIT_USEC, 0,
                                       on_ready_timeout, m);
        if (r < 0) {
                /* Better ready early than never. */
                manager_notify_ready(m);
                return log_warning_errno(r, "Failed to arm the start-up timer: %m");
        }
        return 0;
}

void manager_status_line(const Manager *m, char *buf, size_t size) {
        (void) snprintf(buf, size, "mode %s, %s, %zu allow / %zu block rules, %" PRIu64 " allowed, %" PRIu64 " blocked",
                        hips_mode_to_string(m->mode),
                        m->hold_active ? "hold+stop" : "stop only",
                        m->config ? m->config->n_allow : 0,
                        m->config ? m->config->n_block : 0,
                        m->stats.allowed, m->stats.blocked);
}

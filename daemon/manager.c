/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <systemd/sd-daemon.h>

#include "exec-judge.h"
#include "hash-worker.h"
#include "log.h"
#include "manager.h"
#include "util.h"

#define HASH_CACHE_SLOTS 4096

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

        r = hash_init();
        if (r < 0)
                return log_error_errno(r, "Failed to initialise libgcrypt: %m");
        r = hash_cache_new(HASH_CACHE_SLOTS, &m->hash_cache);
        if (r < 0)
                return log_error_errno(r, "Failed to allocate hash cache: %m");
        r = hash_worker_new(m->event, &m->hash_worker);
        if (r < 0)
                /* Not fatal: large files are then hashed on the loop. */
                log_warning_errno(r, "Failed to start hash worker, hashing on the event loop: %m");

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
        sd_event_source_disable_unref(m->gate_ring_source);
        sd_event_source_disable_unref(m->exec_ring_source);
        sd_event_source_disable_unref(m->sigterm_source);
        sd_event_source_disable_unref(m->sigint_source);
        sd_event_source_disable_unref(m->sighup_source);
        exec_judge_flush(m);
        hash_worker_free(m->hash_worker);
        fanotify_gate_free(m->fanotify);
        hips_bpf_free(m->bpf);
        sd_bus_flush_close_unref(m->bus);
        sd_event_unref(m->event);
        hash_cache_free(m->hash_cache);
        decision_log_free(m->log);
        config_free(m->config);
        free(m->config_path);
        free(m->log_path);
        free(m);
        return NULL;
}

/* Resolve the kernel allowlist to file identities and put them in force on
 * both layers. Paths that do not resolve were warned about at parse time. */
static int apply_kernel_allowlist(Manager *m, const HipsConfig *c) {
        _cleanup_free_ struct hips_file_id *ids = NULL;
        _cleanup_free_ struct hips_allow_value *values = NULL;
        char **resolved = NULL;
        size_t n = 0;
        int r = 0;

        ids = calloc(c->n_kernel_allowlist + 1, sizeof(*ids));
        values = calloc(c->n_kernel_allowlist + 1, sizeof(*values));
        resolved = calloc(c->n_kernel_allowlist + 1, sizeof(char *));
        if (!ids || !values || !resolved) {
                free(resolved);
                return -ENOMEM;
        }

        for (size_t i = 0; i < c->n_kernel_allowlist; i++) {
                struct stat st;
                char *real = realpath(c->kernel_allowlist[i], NULL);

                if (!real || stat(real, &st) < 0 || !S_ISREG(st.st_mode)) {
                        free(real);
                        continue;
                }
                ids[n] = (struct hips_file_id) { .dev = hips_kernel_dev(st.st_dev), .ino = st.st_ino };
                values[n] = (struct hips_allow_value) {
                        .ctime_sec = st.st_ctim.tv_sec,
                        .ctime_nsec = (uint32_t) st.st_ctim.tv_nsec,
                };
                resolved[n++] = real;
        }

        if (m->bpf) {
                r = hips_bpf_allowlist_replace(m->bpf, ids, values, n);
                if (r < 0)
                        log_error_errno(r, "Failed to update kernel allowlist map: %m");
        }
        if (r >= 0 && m->fanotify)
                (void) fanotify_gate_set_ignored(m->fanotify, resolved, n);
        if (r >= 0)
                m->kernel_allowlist_size = n;

        for (size_t i = 0; i < n; i++)
                free(resolved[i]);
        free(resolved);
        return r;
}

int manager_apply_config(Manager *m, HipsConfig *config) {
        int r;

        rules_resolve_identities(config->allow, config->n_allow);
        rules_resolve_identities(config->block, config->n_block);

        r = apply_kernel_allowlist(m, config);
        if (r < 0)
                return r;

        config_free(m->config);
        m->config = config;
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
        return 0;
}

static int on_ring(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        Manager *m = userdata;
        bool gate = s == m->gate_ring_source;

        (void) hips_bpf_ring_consume(m->bpf, gate);
        return 0;
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
        int r;

        m->mode = force_functional ? HIPS_MODE_FUNCTIONAL : m->config->mode;
        m->gate_setting = m->config->gate;

        r = hips_bpf_load(getpid(), bpf_mode_of(m->mode), exec_judge_event, m, &m->bpf);
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

        if (m->hold_active && m->mode == HIPS_MODE_SAFE) {
                r = fanotify_gate_set_enabled(m->fanotify, true);
                if (r < 0)
                        return log_error_errno(r, "Failed to mark filesystems for exec holds: %m");
        }

        r = sd_event_add_io(m->event, &m->gate_ring_source, hips_bpf_ring_fd(m->bpf, true), EPOLLIN, on_ring, m);
        if (r < 0)
                return log_error_errno(r, "Failed to watch gate ring buffer: %m");
        /* A stopped process waits on us: right after fanotify, before anything else. */
        (void) sd_event_source_set_priority(m->gate_ring_source, SD_EVENT_PRIORITY_IMPORTANT + 1);
        (void) sd_event_source_set_description(m->gate_ring_source, "gate-ring");

        r = sd_event_add_io(m->event, &m->exec_ring_source, hips_bpf_ring_fd(m->bpf, false), EPOLLIN, on_ring, m);
        if (r < 0)
                return log_error_errno(r, "Failed to watch exec ring buffer: %m");
        (void) sd_event_source_set_description(m->exec_ring_source, "exec-ring");

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
                (void) hips_bpf_ring_consume(m->bpf, true);
                (void) hips_bpf_ring_consume(m->bpf, false);
        }
        /* Execs waiting for a hash: decide them now, hashing inline. */
        exec_judge_flush(m);
        if (m->fanotify) {
                /* Answer what is queued; closing the group allows the rest. */
                (void) fanotify_gate_set_enabled(m->fanotify, false);
                m->fanotify = fanotify_gate_free(m->fanotify);
                m->hold_active = false;
        }
        m->gate_ring_source = sd_event_source_disable_unref(m->gate_ring_source);
        m->exec_ring_source = sd_event_source_disable_unref(m->exec_ring_source);
        m->bpf = hips_bpf_free(m->bpf);
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

void manager_status_line(const Manager *m, char *buf, size_t size) {
        (void) snprintf(buf, size, "mode %s, %s, %zu allow / %zu block rules, %" PRIu64 " allowed, %" PRIu64 " blocked",
                        hips_mode_to_string(m->mode),
                        m->hold_active ? "hold+stop" : "stop only",
                        m->config ? m->config->n_allow : 0,
                        m->config ? m->config->n_block : 0,
                        m->stats.allowed, m->stats.blocked);
}

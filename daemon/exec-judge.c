/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <inttypes.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <linux/openat2.h>

#include "bus.h"
#include "exec-judge.h"
#include "hash-worker.h"
#include "log.h"
#include "manager.h"
#include "monitor.h"
#include "proc.h"
#include "rules.h"
#include "util.h"

typedef enum ExecLayer {
        EXEC_LAYER_HOLD,        /* fanotify: execve() waits for our answer */
        EXEC_LAYER_STOP,        /* SIGSTOP backstop: resume or kill */
        EXEC_LAYER_AFTER,       /* functional mode: kill after the fact */
} ExecLayer;

static const char *const layer_names[] = {
        [EXEC_LAYER_HOLD] = "hold",
        [EXEC_LAYER_STOP] = "stop",
        [EXEC_LAYER_AFTER] = "after",
};

/* One exec waiting for its verdict: everything the rules and the log need. */
struct PendingExec {
        Manager *manager;
        PendingExec *prev, *next;          /* Manager.pending */
        ExecLayer layer;

        int hold_fd;                       /* hold: the event's fd, answered in pending_decide() */
        int exe_fd;                        /* the file that runs (hold: same as hold_fd) */
        pid_t tid;
        pid_t pid;
        pid_t ppid;
        uid_t uid;
        uint64_t exec_id;
        uint64_t start_ns;                 /* CLOCK_MONOTONIC, from the enter probe */
        bool have_record;

        char *path;
        char *args;                        /* raw NUL-separated argv (for scripts) */
        size_t args_size;
        char *cmdline;
        char *parent_cmdline;
        struct stat st;
        bool have_stat;
        struct timespec stat_time;
        char sha256[SHA256_HEX_SIZE];
        bool have_sha256;
        const char *reason;                /* static string or NULL */

        bool check_identity;               /* stop/after: the exit probe saw this file */
        uint64_t expect_dev;               /* kernel dev_t */
        uint64_t expect_ino;

        HashJob *job;
        sd_event_source *deadline;
};

static uint64_t now_monotonic_ns(void) {
        struct timespec ts;

        (void) clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000000ull + (uint64_t) ts.tv_nsec;
}

static void pending_free(PendingExec *p) {
        Manager *m;

        if (!p)
                return;
        m = p->manager;
        if (p->prev)
                p->prev->next = p->next;
        else if (m->pending == p)
                m->pending = p->next;
        if (p->next)
                p->next->prev = p->prev;
        if (m->n_pending > 0)
                m->n_pending--;

        hash_job_cancel(p->job);
        sd_event_source_disable_unref(p->deadline);
        if (p->exe_fd >= 0 && p->exe_fd != p->hold_fd)
                (void) close(p->exe_fd);
        if (p->hold_fd >= 0)
                /* Never leave a hold unanswered, whatever path got us here. */
                fanotify_gate_answer(m->fanotify, p->hold_fd, m->config->fail_action == FAIL_ACTION_ALLOW);
        free(p->path);
        free(p->args);
        free(p->cmdline);
        free(p->parent_cmdline);
        free(p);
}

static PendingExec *pending_new(Manager *m, ExecLayer layer) {
        PendingExec *p = calloc(1, sizeof(*p));

        if (!p)
                return NULL;
        p->manager = m;
        p->layer = layer;
        p->hold_fd = p->exe_fd = -EBADF;
        p->next = m->pending;
        if (m->pending)
                m->pending->prev = p;
        m->pending = p;
        m->n_pending++;
        return p;
}

static void pending_set_args(PendingExec *p, const char *args, uint32_t size) {
        if (size > HIPS_ARGS_SIZE)
                size = HIPS_ARGS_SIZE;
        (void) cmdline_from_nulsep(args, size, &p->cmdline);
        p->args = malloc(size + 1);
        if (p->args) {
                memcpy(p->args, args, size);
                p->args[size] = '\0';
                p->args_size = size;
        }
}

static void emit_decision(Manager *m, const DecisionRecord *r) {
        decision_log_write(m->log, r);
        bus_emit_decision(m, r);
}

/* The first argument of an interpreter that is not an option: the script,
 * when it names a regular file (relative to the process's cwd). */
static int open_script(const PendingExec *p, char **ret_path, int *ret_fd) {
        _cleanup_close_ int dir = -EBADF, fd = -EBADF;
        char dir_path[64], fdpath[64];
        const char *arg = NULL;
        struct stat st;
        size_t i = 0;

        if (!p->args || p->args_size == 0)
                return -ENOENT;
        /* Skip argv[0], then options. */
        i = strnlen(p->args, p->args_size) + 1;
        while (i < p->args_size) {
                const char *a = p->args + i;
                size_t len = strnlen(a, p->args_size - i);

                if (len > 0 && a[0] != '-') {
                        arg = a;
                        break;
                }
                i += len + 1;
        }
        if (!arg || i + strnlen(arg, p->args_size - i) >= p->args_size)
                return -ENOENT;         /* none, or cut off by truncation */

        /* A relative path starts at the process's cwd, an absolute one at
         * its root: neither need be ours (hipsd's unit has a private /tmp,
         * the process may be in a container). RESOLVE_IN_ROOT keeps ".."
         * and absolute symlinks inside that root. */
        (void) snprintf(dir_path, sizeof(dir_path), "/proc/%d/%s",
                        p->layer == EXEC_LAYER_HOLD ? p->tid : p->pid, arg[0] == '/' ? "root" : "cwd");
        dir = open(dir_path, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (dir < 0)
                return negative_errno();
        /* O_NONBLOCK: a FIFO named like a script must not hang us. */
        if (arg[0] == '/') {
                struct open_how how = {
                        .flags = O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK,
                        .resolve = RESOLVE_IN_ROOT,
                };

                fd = (int) syscall(SYS_openat2, dir, arg, &how, sizeof(how));
        } else
                fd = openat(dir, arg, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        if (fd < 0)
                return negative_errno();
        if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
                return -ENOENT;
        (void) snprintf(fdpath, sizeof(fdpath), "/proc/self/fd/%d", fd);
        if (proc_readlink(fdpath, ret_path) < 0)
                return -ENOENT;
        *ret_fd = TAKE_FD(fd);
        return 0;
}

/* Judge the script an interpreter was asked to run. True when it is blocked
 * (*j then says by what). Scripts are small: hashed inline, up to
 * HASH_INLINE_MAX_BYTES; a larger one is "unhashed". */
static bool judge_script(PendingExec *p, const ExecSubject *interp, Judgement *j) {
        Manager *m = p->manager;
        _cleanup_free_ char *path = NULL;
        _cleanup_close_ int fd = -EBADF;
        char hex[SHA256_HEX_SIZE];
        struct stat st;
        bool hashed;

        if (open_script(p, &path, &fd) < 0 || fstat(fd, &st) < 0)
                return false;
        hashed = hash_cache_sha256_fd(m->hash_cache, fd, HASH_INLINE_MAX_BYTES, hex, NULL) == 0;

        ExecSubject script = *interp;
        script.filename = path;
        script.dev = (uint64_t) st.st_dev;
        script.ino = (uint64_t) st.st_ino;
        script.sha256 = hashed ? hex : NULL;

        rules_judge(m->config->allow, m->config->n_allow, m->config->block, m->config->n_block, &script, j);
        return j->verdict == VERDICT_BLOCK;
}

/* Act on the verdict, log it, and free p. allow_by_rules is the verdict;
 * from_fail_action says the rules could not be asked (reason says why). */
static void pending_decide(PendingExec *p) {
        Manager *m = p->manager;
        SameExec *same = &m->same_exec[(uint32_t) p->tid % SAME_EXEC_SLOTS];
        const char *rule = NULL, *action;
        char rule_buf[128];
        uint64_t now, latency_us;
        const Ancestor *ancestors;
        size_t n_ancestors;
        bool allow;

        /* For "ancestor" rules and the log: the process's chain, parent
         * first. With no such rule, only the log wants it: after the answer. */
        if (m->rule_inputs.ancestors)
                n_ancestors = monitors_ancestry(m->monitors, p->pid, &ancestors);
        else
                ancestors = NULL, n_ancestors = 0;

        bool secondary = p->layer == EXEC_LAYER_HOLD && p->have_record &&
                         same->tid == (uint32_t) p->tid && same->exec_id == p->exec_id;

        if (!p->have_stat) {
                /* Cannot see the file: the configured fail action decides. */
                allow = m->config->fail_action == FAIL_ACTION_ALLOW;
                if (!p->reason)
                        p->reason = "exe-unreadable";
        } else if (secondary && same->allowlisted) {
                /* The interpreter of an exec the allowlist let through:
                 * judging ld.so or /bin/sh on its own would let a blocklist
                 * rule overrule the allowlist. */
                allow = true;
                rule = same->rule;
                p->reason = "interpreter-of-allowlisted";
        } else {
                ExecSubject subject = {
                        .filename = p->path,
                        .has_identity = true,
                        .dev = (uint64_t) p->st.st_dev,
                        .ino = (uint64_t) p->st.st_ino,
                        .cmdline = p->cmdline,
                        .parent_cmdline = p->parent_cmdline,
                        .sha256 = p->have_sha256 ? p->sha256 : NULL,
                        .uid = p->uid,
                        .ancestors = ancestors,
                        .n_ancestors = n_ancestors,
                };
                Judgement j;

                rules_judge(m->config->allow, m->config->n_allow, m->config->block, m->config->n_block, &subject, &j);
                allow = j.verdict == VERDICT_ALLOW;
                rule = judgement_rule_name(&j, rule_buf, sizeof(rule_buf));

                /* "sh script.sh": the script is what really runs. (For
                 * "./script.sh" the kernel opens the script for exec and it
                 * had its own event; its interpreter's event is secondary.) */
                if (allow && !secondary && manager_is_interpreter(m, &p->st) &&
                    judge_script(p, &subject, &j)) {
                        allow = false;
                        rule = judgement_rule_name(&j, rule_buf, sizeof(rule_buf));
                        p->reason = "script-blocked";
                }
                if (p->layer == EXEC_LAYER_HOLD && p->have_record && !secondary) {
                        *same = (SameExec) {
                                .tid = (uint32_t) p->tid,
                                .exec_id = p->exec_id,
                                .allowlisted = j.list == RULE_LIST_ALLOW,
                        };
                        (void) snprintf(same->rule, sizeof(same->rule), "%s", rule ? rule : "");
                }
        }

        /* The decision's latency ends here, before the answer: waking the
         * held task can run it on this CPU first, which is not deciding. */
        now = now_monotonic_ns();
        latency_us = p->start_ns && now > p->start_ns ? (now - p->start_ns) / 1000 : 0;

        switch (p->layer) {
        case EXEC_LAYER_HOLD:
                if (allow && p->have_record && p->have_stat) {
                        struct hips_file_id id = {
                                .dev = hips_kernel_dev(p->st.st_dev),
                                .ino = p->st.st_ino,
                        };
                        /* Before FAN_ALLOW: the exit probe must find it. */
                        (void) hips_bpf_mark_judged(m->bpf, (uint32_t) p->tid, &id, p->exec_id);
                }
                /* Before TAKE_FD() clears hold_fd: answering closes the fd, and
                 * a second close in pending_free() would hit whatever reused
                 * its number meanwhile (the journal socket, opened lazily by
                 * the first decision sent there). */
                if (p->exe_fd == p->hold_fd)
                        p->exe_fd = -EBADF;
                fanotify_gate_answer(m->fanotify, TAKE_FD(p->hold_fd), allow);
                action = allow ? "allow" : "block";
                m->stats.hold_decisions++;
                break;
        case EXEC_LAYER_STOP:
        case EXEC_LAYER_AFTER:
                if (allow) {
                        if (p->layer == EXEC_LAYER_STOP && kill(p->pid, SIGCONT) < 0 && errno != ESRCH)
                                log_error_errno(negative_errno(), "Failed to resume pid %d: %m", p->pid);
                } else if (kill(p->pid, SIGKILL) < 0 && errno != ESRCH)
                        log_error_errno(negative_errno(), "Failed to kill pid %d: %m", p->pid);
                action = allow ? "allow" : "kill";
                if (p->layer == EXEC_LAYER_STOP) {
                        m->stats.stop_decisions++;
                        hips_bpf_forget_stopped(m->bpf, (uint32_t) p->pid);
                } else
                        m->stats.after_decisions++;
                break;
        default:
                abort();
        }

        manager_count_decision(m, allow, latency_us);

        /* The verdict is in force: what only the log needs is read now. */
        if (!m->rule_inputs.ancestors)
                n_ancestors = monitors_ancestry(m->monitors, p->pid, &ancestors);
        if (!p->parent_cmdline)
                (void) proc_read_cmdline(p->ppid, &p->parent_cmdline);

        emit_decision(m, &(DecisionRecord) {
                .exec_id = p->exec_id,
                .pid = p->pid,
                .ppid = p->ppid,
                .uid = p->uid,
                .filename = p->path,
                .cmdline = p->cmdline,
                .parent_cmdline = p->parent_cmdline,
                .sha256 = p->have_sha256 ? p->sha256 : NULL,
                .mode = hips_mode_to_string(m->mode),
                .layer = layer_names[p->layer],
                .rule = rule,
                .action = action,
                .reason = p->reason,
                .latency_us = latency_us,
                .ancestors = ancestors,
                .n_ancestors = n_ancestors,
        });
        pending_free(p);
}

static void on_hash_done(int r, const char *hex, void *userdata) {
        PendingExec *p = userdata;

        p->job = NULL;
        if (r == 0) {
                if (hex != p->sha256)
                        memcpy(p->sha256, hex, SHA256_HEX_SIZE);
                p->have_sha256 = true;
                hash_cache_store_stat(p->manager->hash_cache, &p->st, &p->stat_time, hex);
        } else if (!p->reason)
                p->reason = r == -EFBIG ? "unhashed-too-large" : "unhashed-read-error";
        pending_decide(p);
}

static int on_deadline(sd_event_source *s, uint64_t usec, void *userdata) {
        PendingExec *p = userdata;
        Manager *m = p->manager;

        /* Hashing took too long: the rules cannot be asked in time. */
        log_warning("No verdict for %s (pid %d) within %u ms: fail action %s.",
                    p->path ? p->path : "?", p->pid, m->config->decision_timeout_ms,
                    fail_action_to_string(m->config->fail_action));
        p->reason = "timeout";
        p->have_stat = false;   /* decide by fail_action */
        pending_decide(p);
        return 0;
}

/* Hash p->exe_fd: from the cache, inline when small, else in the worker with
 * a deadline. Decides p unless it is left waiting. */
static void pending_hash_and_decide(PendingExec *p) {
        Manager *m = p->manager;
        uint64_t max = m->config->hash_max_bytes;
        int r, fd;

        (void) clock_gettime(CLOCK_REALTIME, &p->stat_time);
        if (fstat(p->exe_fd, &p->st) < 0) {
                pending_decide(p);
                return;
        }
        p->have_stat = true;
        if (p->check_identity &&
            (hips_kernel_dev(p->st.st_dev) != p->expect_dev || p->st.st_ino != p->expect_ino) && !p->reason)
                /* It exec'd again since (possible only when it ran): judge what runs now. */
                p->reason = "exe-changed";

        if (hash_cache_lookup_stat(m->hash_cache, &p->st, p->sha256)) {
                p->have_sha256 = true;
                pending_decide(p);
                return;
        }
        if ((uint64_t) p->st.st_size > max) {
                p->reason = "unhashed-too-large";
                pending_decide(p);
                return;
        }
        if ((uint64_t) p->st.st_size <= HASH_INLINE_MAX_BYTES || m->shutting_down || !m->hash_worker) {
                r = sha256_fd(p->exe_fd, max, p->sha256);
                on_hash_done(r, p->sha256, p);
                return;
        }

        fd = fcntl(p->exe_fd, F_DUPFD_CLOEXEC, 3);
        if (fd < 0 || hash_worker_submit(m->hash_worker, fd, max, on_hash_done, p, &p->job) < 0) {
                p->reason = "unhashed-read-error";
                pending_decide(p);
                return;
        }
        r = sd_event_add_time(m->event, &p->deadline, CLOCK_MONOTONIC,
                              (p->start_ns ? p->start_ns / 1000 : now_monotonic_ns() / 1000) +
                              (uint64_t) m->config->decision_timeout_ms * 1000,
                              1000, on_deadline, p);
        if (r < 0) {
                log_error_errno(r, "Failed to arm decision deadline: %m");
                on_deadline(NULL, 0, p);
        }
}

FanotifyAnswer exec_judge_hold(void *userdata, int fd, pid_t tid) {
        Manager *m = userdata;
        struct hips_exec_record rec;
        ProcStatus status;
        PendingExec *p;
        char fdpath[64];

        if (m->n_pending >= MANAGER_MAX_PENDING)
                /* Overload: do not queue without bound; the fail action answers. */
                return m->config->fail_action == FAIL_ACTION_ALLOW ? FANOTIFY_ALLOW : FANOTIFY_DENY;

        p = pending_new(m, EXEC_LAYER_HOLD);
        if (!p)
                return m->config->fail_action == FAIL_ACTION_ALLOW ? FANOTIFY_ALLOW : FANOTIFY_DENY;
        /* From here p owns fd; pending_free() answers it on every path. */
        p->hold_fd = p->exe_fd = fd;
        p->tid = tid;

        if (hips_bpf_lookup_record(m->bpf, (uint32_t) tid, &rec) == 0) {
                p->have_record = true;
                p->exec_id = rec.exec_id;
                p->start_ns = rec.start_ns;
                p->pid = (pid_t) rec.tgid;
                p->ppid = (pid_t) rec.ppid;
                p->uid = rec.uid;
                pending_set_args(p, rec.args, rec.args_size);
        } else if (proc_read_status(tid, &status) == 0) {
                /* Not recorded (e.g. the exec started before we attached):
                 * the old image's /proc says who, but not the new argv. */
                p->pid = tid;
                p->ppid = status.ppid;
                p->uid = status.uid_real;
                p->reason = "no-exec-record";
        } else {
                /* Not visible to us (another pid namespace) or gone. */
                m->stats.vanished++;
                pending_free(p);        /* answers with the fail action */
                return FANOTIFY_LATER;
        }

        (void) snprintf(fdpath, sizeof(fdpath), "/proc/self/fd/%d", fd);
        (void) proc_readlink(fdpath, &p->path);
        if (m->rule_inputs.parent_cmdline)
                (void) proc_read_cmdline(p->ppid, &p->parent_cmdline);

        /* Exactly the bytes that will execute: the kernel's own fd. */
        pending_hash_and_decide(p);
        return FANOTIFY_LATER;
}

void exec_judge_event(void *userdata, const struct hips_exec_event *e, bool gate) {
        Manager *m = userdata;
        bool stopped = e->flags & HIPS_F_STOPPED;
        char exepath[64];
        PendingExec *p;

        (void) gate;    /* HIPS_F_STOPPED says it, whichever buffer brought it */

        p = pending_new(m, stopped ? EXEC_LAYER_STOP : EXEC_LAYER_AFTER);
        if (!p) {
                if (stopped)
                        (void) kill((pid_t) e->pid, m->config->fail_action == FAIL_ACTION_ALLOW ? SIGCONT : SIGKILL);
                return;
        }
        p->pid = (pid_t) e->pid;
        p->tid = (pid_t) e->tid;
        p->ppid = (pid_t) e->ppid;
        p->uid = e->uid;
        p->exec_id = e->exec_id;
        p->start_ns = e->start_ns;
        p->have_record = !(e->flags & HIPS_F_NO_RECORD);

        /* The argv the new image got, read by the exit probe before it ran
         * one instruction: a process rewriting its own argv later changes nothing. */
        pending_set_args(p, e->args, e->args_size);
        if (m->rule_inputs.parent_cmdline)
                (void) proc_read_cmdline(p->ppid, &p->parent_cmdline);

        if (e->flags & HIPS_F_RECOVERED)
                p->reason = "recovered-after-restart";
        else if (e->flags & HIPS_F_ARGV_CHANGED)
                p->reason = "argv-changed-after-hold";
        else if (e->flags & HIPS_F_NO_RECORD)
                p->reason = "no-exec-record";

        /* Hash through /proc/PID/exe, never the path string: what runs, not what is there now. */
        (void) snprintf(exepath, sizeof(exepath), "/proc/%u/exe", e->pid);
        p->exe_fd = open(exepath, O_RDONLY | O_CLOEXEC);
        if (p->exe_fd < 0) {
                if (errno == ENOENT || errno == ESRCH) {
                        /* Gone before we could look: nothing to resume or kill. */
                        m->stats.vanished++;
                        emit_decision(m, &(DecisionRecord) {
                                .exec_id = e->exec_id, .pid = p->pid, .ppid = p->ppid, .uid = e->uid,
                                .filename = e->filename, .cmdline = p->cmdline, .parent_cmdline = p->parent_cmdline,
                                .mode = hips_mode_to_string(m->mode), .layer = layer_names[p->layer],
                                .action = "none", .reason = "process-vanished",
                        });
                        if (stopped)
                                hips_bpf_forget_stopped(m->bpf, e->pid);
                        pending_free(p);
                        return;
                }
                pending_decide(p);      /* fail action */
                return;
        }
        (void) proc_readlink(exepath, &p->path);
        if (!p->path)
                p->path = strdup(e->filename);

        p->check_identity = true;
        p->expect_dev = e->dev;
        p->expect_ino = e->ino;
        pending_hash_and_decide(p);
}

void exec_judge_flush(Manager *m) {
        while (m->pending) {
                PendingExec *p = m->pending;

                if (p->job) {
                        /* Shutdown: hash right here instead of waiting for the worker. */
                        hash_job_cancel(p->job);
                        p->job = NULL;
                        p->deadline = sd_event_source_disable_unref(p->deadline);
                        on_hash_done(sha256_fd(p->exe_fd, m->config->hash_max_bytes, p->sha256), p->sha256, p);
                } else
                        pending_decide(p);
        }
}

void exec_judge_tamper(void *userdata, const struct hips_tamper_event *t) {
        Manager *m = userdata;
        char target[16], sender[16], uid[16], latency[24], comm[sizeof(t->sender_comm) + 1];
        bool kill_it = m->config->tamper_action == TAMPER_ACTION_KILL;
        uint64_t now;

        memcpy(comm, t->sender_comm, sizeof(t->sender_comm));
        comm[sizeof(t->sender_comm)] = '\0';
        (void) snprintf(target, sizeof(target), "%u", t->target_pid);
        (void) snprintf(sender, sizeof(sender), "%u", t->sender_pid);
        (void) snprintf(uid, sizeof(uid), "%u", t->sender_uid);

        /* The gated process may already be running: with tamper_action
         * "kill" it dies now, before its verdict; a block still holds either way. */
        if (kill_it && kill((pid_t) t->target_pid, SIGKILL) < 0 && errno != ESRCH)
                log_error_errno(negative_errno(), "Failed to kill tampered pid %u: %m", t->target_pid);
        /* How long the tampered process could run: the race that remains. */
        now = now_monotonic_ns();
        (void) snprintf(latency, sizeof(latency), "%" PRIu64, now > t->time_ns ? (uint64_t) (now - t->time_ns) / 1000 : (uint64_t) 0);
        m->stats.tampered++;

        log_full(LOG_ALERT, "Gate tampering: %s (pid %u, uid %u) sent SIGCONT to pid %u before its verdict; %s.",
                 comm, t->sender_pid, t->sender_uid, t->target_pid,
                 kill_it ? "killed it" : "judging it as usual");
        decision_log_write_event(m->log, HIPS_MESSAGE_TAMPER, LOG_ALERT, "tamper",
                                 "SIGCONT to a process held by the gate",
                                 "target_pid", target, "sender_pid", sender, "sender_uid", uid,
                                 "sender_comm", comm, "action", kill_it ? "kill" : "log",
                                 "latency_us", latency, NULL);
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "exec-judge.h"
#include "log.h"
#include "manager.h"
#include "proc.h"
#include "rules.h"
#include "util.h"

static uint64_t now_monotonic_ns(void) {
        struct timespec ts;

        (void) clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000000ull + (uint64_t) ts.tv_nsec;
}

static void record_latency(Manager *m, uint64_t latency_us) {
        unsigned b = 0;

        while (b + 1 < LATENCY_BUCKETS && (1ull << (b + 1)) <= latency_us)
                b++;
        m->stats.latency_hist[latency_us == 0 ? 0 : b]++;
}

/* What hashing gives, for the subject and the log. */
typedef struct FileFacts {
        struct stat st;
        bool have_stat;
        char sha256[SHA256_HEX_SIZE];
        bool have_sha256;
        const char *unhashed_reason;   /* NULL when hashed */
} FileFacts;

static void file_facts(Manager *m, int fd, FileFacts *f) {
        int r;

        *f = (FileFacts) {};
        r = hash_cache_sha256_fd(m->hash_cache, fd, m->config->hash_max_bytes, f->sha256, &f->st);
        if (r >= 0) {
                f->have_stat = f->have_sha256 = true;
                return;
        }
        f->unhashed_reason = r == -EFBIG ? "unhashed-too-large" : "unhashed-read-error";
        if (fstat(fd, &f->st) == 0)
                f->have_stat = true;
}

static void subject_init(ExecSubject *s, const char *filename, const FileFacts *f,
                         const char *cmdline, const char *parent_cmdline, uint32_t uid) {
        *s = (ExecSubject) {
                .filename = filename,
                .has_identity = f->have_stat,
                .dev = f->have_stat ? (uint64_t) f->st.st_dev : 0,
                .ino = f->have_stat ? (uint64_t) f->st.st_ino : 0,
                .cmdline = cmdline,
                .parent_cmdline = parent_cmdline,
                .sha256 = f->have_sha256 ? f->sha256 : NULL,
                .uid = uid,
        };
}

static void count_decision(Manager *m, bool allowed, uint64_t latency_us) {
        m->stats.events_seen++;
        if (allowed)
                m->stats.allowed++;
        else
                m->stats.blocked++;
        record_latency(m, latency_us);
}

bool exec_judge_hold(void *userdata, int fd, pid_t tid) {
        Manager *m = userdata;
        _cleanup_free_ char *path = NULL, *cmdline = NULL, *parent_cmdline = NULL;
        struct hips_exec_record rec;
        char fdpath[64], rule_buf[128];
        const char *rule = NULL, *reason = NULL;
        SameExec *same = &m->same_exec[(uint32_t) tid % SAME_EXEC_SLOTS];
        ProcStatus status;
        ExecSubject subject;
        Judgement j;
        FileFacts facts;
        bool have_rec, allow;
        pid_t pid, ppid;
        uint32_t uid;
        uint64_t latency_us = 0;

        have_rec = hips_bpf_lookup_record(m->bpf, (uint32_t) tid, &rec) == 0;

        (void) snprintf(fdpath, sizeof(fdpath), "/proc/self/fd/%d", fd);
        if (proc_readlink(fdpath, &path) < 0)
                path = NULL;

        /* Exactly the bytes that will execute: the kernel's own fd. */
        file_facts(m, fd, &facts);

        if (have_rec) {
                pid = (pid_t) rec.tgid;
                ppid = (pid_t) rec.ppid;
                uid = rec.uid;
                (void) cmdline_from_nulsep(rec.args, rec.args_size, &cmdline);
        } else {
                /* Not recorded (the exec started before we attached): the
                 * old image's /proc says who, but not the new argv. */
                if (proc_read_status(tid, &status) < 0) {
                        m->stats.vanished++;
                        return true;    /* nobody left to hold */
                }
                pid = tid;
                ppid = status.ppid;
                uid = status.uid_real;
                reason = "no-exec-record";
        }
        (void) proc_read_cmdline(ppid, &parent_cmdline);

        subject_init(&subject, path, &facts, cmdline, parent_cmdline, uid);

        if (have_rec && same->tid == (uint32_t) tid && same->exec_id == rec.exec_id && same->allowlisted) {
                /* The interpreter of an exec the allowlist already let
                 * through: judging ld.so or /bin/sh on its own would let a
                 * blocklist rule overrule the allowlist. */
                allow = true;
                rule = same->rule;
                reason = "interpreter-of-allowlisted";
        } else {
                rules_judge(m->config->allow, m->config->n_allow, m->config->block, m->config->n_block, &subject, &j);
                allow = j.verdict == VERDICT_ALLOW;
                rule = judgement_rule_name(&j, rule_buf, sizeof(rule_buf));
                if (have_rec && j.list == RULE_LIST_ALLOW) {
                        *same = (SameExec) { .tid = (uint32_t) tid, .exec_id = rec.exec_id, .allowlisted = true };
                        (void) snprintf(same->rule, sizeof(same->rule), "%s", rule);
                }
        }
        if (!reason && facts.unhashed_reason)
                reason = facts.unhashed_reason;

        if (allow && have_rec && facts.have_stat) {
                struct hips_file_id id = {
                        .dev = hips_kernel_dev(facts.st.st_dev),
                        .ino = facts.st.st_ino,
                };
                /* Before FAN_ALLOW: the exit probe must find it. */
                (void) hips_bpf_mark_judged(m->bpf, (uint32_t) tid, &id, rec.exec_id);
        }

        if (have_rec) {
                uint64_t now = now_monotonic_ns();
                latency_us = now > rec.start_ns ? (now - rec.start_ns) / 1000 : 0;
        }
        count_decision(m, allow, latency_us);
        m->stats.hold_decisions++;

        decision_log_write(m->log, &(DecisionRecord) {
                .exec_id = have_rec ? rec.exec_id : 0,
                .pid = pid,
                .ppid = ppid,
                .uid = uid,
                .filename = path,
                .cmdline = cmdline,
                .parent_cmdline = parent_cmdline,
                .sha256 = subject.sha256,
                .mode = hips_mode_to_string(m->mode),
                .layer = "hold",
                .rule = rule,
                .action = allow ? "allow" : "block",
                .reason = reason,
                .latency_us = latency_us,
        });
        return allow;
}

void exec_judge_event(void *userdata, const struct hips_exec_event *e, bool gate) {
        Manager *m = userdata;
        _cleanup_free_ char *path = NULL, *cmdline = NULL, *parent_cmdline = NULL;
        _cleanup_close_ int fd = -EBADF;
        bool stopped = e->flags & HIPS_F_STOPPED, allow;
        const char *rule = NULL, *reason = NULL, *action;
        char exepath[64], rule_buf[128];
        ExecSubject subject;
        FileFacts facts = {};
        Judgement j;
        uint64_t now, latency_us;
        pid_t pid = (pid_t) e->pid;

        (void) cmdline_from_nulsep(e->args, e->args_size <= HIPS_ARGS_SIZE ? e->args_size : HIPS_ARGS_SIZE, &cmdline);
        (void) proc_read_cmdline((pid_t) e->ppid, &parent_cmdline);

        (void) snprintf(exepath, sizeof(exepath), "/proc/%u/exe", e->pid);
        fd = open(exepath, O_RDONLY | O_CLOEXEC);
        if (fd < 0 && errno == ENOENT) {
                /* Gone before we could look: nothing to resume or kill. */
                m->stats.vanished++;
                decision_log_write(m->log, &(DecisionRecord) {
                        .exec_id = e->exec_id, .pid = pid, .ppid = (pid_t) e->ppid, .uid = e->uid,
                        .filename = e->filename, .cmdline = cmdline, .parent_cmdline = parent_cmdline,
                        .mode = hips_mode_to_string(m->mode), .layer = stopped ? "stop" : "after",
                        .action = "none", .reason = "process-vanished",
                });
                return;
        }

        if (fd >= 0) {
                (void) proc_readlink(exepath, &path);
                /* Hash through /proc/PID/exe, never the path string: what runs, not what is there now. */
                file_facts(m, fd, &facts);
                if (facts.have_stat &&
                    (hips_kernel_dev(facts.st.st_dev) != e->dev || facts.st.st_ino != e->ino))
                        reason = "exe-changed";
        }

        if (fd < 0 || !facts.have_stat) {
                /* Cannot see the file: the configured fail action decides. */
                allow = m->config->fail_action == FAIL_ACTION_ALLOW;
                reason = "exe-unreadable";
        } else {
                subject_init(&subject, path, &facts, cmdline, parent_cmdline, e->uid);
                rules_judge(m->config->allow, m->config->n_allow, m->config->block, m->config->n_block, &subject, &j);
                allow = j.verdict == VERDICT_ALLOW;
                rule = judgement_rule_name(&j, rule_buf, sizeof(rule_buf));
                if (!reason && facts.unhashed_reason)
                        reason = facts.unhashed_reason;
        }
        if (!reason && (e->flags & HIPS_F_ARGV_CHANGED))
                reason = "argv-changed-after-hold";
        if (!reason && (e->flags & HIPS_F_NO_RECORD))
                reason = "no-exec-record";

        if (allow) {
                action = "allow";
                if (stopped && kill(pid, SIGCONT) < 0 && errno != ESRCH)
                        log_error_errno(negative_errno(), "Failed to resume pid %d: %m", pid);
        } else {
                action = "kill";
                if (kill(pid, SIGKILL) < 0 && errno != ESRCH)
                        log_error_errno(negative_errno(), "Failed to kill pid %d: %m", pid);
        }

        now = now_monotonic_ns();
        latency_us = now > e->start_ns ? (now - e->start_ns) / 1000 : 0;
        count_decision(m, allow, latency_us);
        if (stopped)
                m->stats.stop_decisions++;
        else
                m->stats.after_decisions++;

        decision_log_write(m->log, &(DecisionRecord) {
                .exec_id = e->exec_id,
                .pid = pid,
                .ppid = (pid_t) e->ppid,
                .uid = e->uid,
                .filename = path ? path : e->filename,
                .cmdline = cmdline,
                .parent_cmdline = parent_cmdline,
                .sha256 = facts.have_sha256 ? facts.sha256 : NULL,
                .mode = hips_mode_to_string(m->mode),
                .layer = stopped ? "stop" : "after",
                .rule = rule,
                .action = action,
                .reason = reason,
                .latency_us = latency_us,
        });
        (void) gate;
}

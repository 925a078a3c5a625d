/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Privilege changes: set*id calls that change an id or fail, and execs that
 * change the real or effective ids or grow the capabilities (set-user-ID and
 * set-group-ID files, file capabilities), with the ids before and after.
 * A process that had neither a real nor an effective uid of 0 and gets one is
 * an alert, unless the program is on "monitors.privilege.allow" (sudo, su,
 * ...), matched by file identity (a rename or a symlink does not fool it) or,
 * for a glob, by path. */

#include <errno.h>
#include <fnmatch.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "log.h"
#include "monitor.h"
#include "rules.h"
#include "util.h"

typedef struct PrivilegeState {
        struct hips_mon_file_id *allowed;       /* identities of the exact allow entries */
        const char **allowed_paths;             /* ... and the entry each came from */
        size_t n_allowed;
} PrivilegeState;

static const char *const kind_names[] = {
        [HIPS_MON_PRIV_SETUID] = "setuid",
        [HIPS_MON_PRIV_SETREUID] = "setreuid",
        [HIPS_MON_PRIV_SETRESUID] = "setresuid",
        [HIPS_MON_PRIV_SETFSUID] = "setfsuid",
        [HIPS_MON_PRIV_SETGID] = "setgid",
        [HIPS_MON_PRIV_SETREGID] = "setregid",
        [HIPS_MON_PRIV_SETRESGID] = "setresgid",
        [HIPS_MON_PRIV_SETFSGID] = "setfsgid",
        [HIPS_MON_PRIV_EXEC] = "exec",
};

/* How many arguments each call takes. */
static const unsigned kind_args[] = {
        [HIPS_MON_PRIV_SETUID] = 1, [HIPS_MON_PRIV_SETREUID] = 2, [HIPS_MON_PRIV_SETRESUID] = 3,
        [HIPS_MON_PRIV_SETFSUID] = 1, [HIPS_MON_PRIV_SETGID] = 1, [HIPS_MON_PRIV_SETREGID] = 2,
        [HIPS_MON_PRIV_SETRESGID] = 3, [HIPS_MON_PRIV_SETFSGID] = 1, [HIPS_MON_PRIV_EXEC] = 0,
};

static void privilege_state_free(PrivilegeState *s) {
        if (!s)
                return;
        free(s->allowed);
        free(s->allowed_paths);
        free(s);
}

static bool privilege_enabled(const MonitorsConfig *c) {
        return c->privilege;
}

static int privilege_apply(Monitors *ms, const MonitorsConfig *c, bool enabled) {
        PrivilegeState *s;

        privilege_state_free(monitors_state(ms, HIPS_MON_PRIVILEGE));
        monitors_set_state(ms, HIPS_MON_PRIVILEGE, NULL);
        if (!enabled)
                return 0;

        s = calloc(1, sizeof(*s));
        if (!s)
                return -ENOMEM;
        s->allowed = calloc(c->n_privilege_allow + 1, sizeof(*s->allowed));
        s->allowed_paths = calloc(c->n_privilege_allow + 1, sizeof(char *));
        if (!s->allowed || !s->allowed_paths) {
                privilege_state_free(s);
                return -ENOMEM;
        }
        for (size_t i = 0; i < c->n_privilege_allow; i++) {
                struct stat st;

                if (glob_is_pattern(c->privilege_allow[i]) || stat(c->privilege_allow[i], &st) < 0)
                        continue;
                s->allowed[s->n_allowed] = (struct hips_mon_file_id) {
                        .dev = monitor_kernel_dev(st.st_dev),
                        .ino = st.st_ino,
                };
                s->allowed_paths[s->n_allowed++] = c->privilege_allow[i];
        }
        monitors_set_state(ms, HIPS_MON_PRIVILEGE, s);
        return 0;
}

/* The allow entry that covers this program, or NULL. */
static const char *allow_entry(Monitors *ms, const struct hips_mon_priv_event *p, const char *path) {
        const PrivilegeState *s = monitors_state(ms, HIPS_MON_PRIVILEGE);
        const MonitorsConfig *c = monitors_config(ms);

        for (size_t i = 0; s && i < s->n_allowed; i++)
                if (s->allowed[i].dev == p->dev && s->allowed[i].ino == p->ino)
                        return s->allowed_paths[i];
        for (size_t i = 0; c && path && i < c->n_privilege_allow; i++)
                if (glob_is_pattern(c->privilege_allow[i]) && fnmatch(c->privilege_allow[i], path, 0) == 0)
                        return c->privilege_allow[i];
        return NULL;
}

static void add_creds(MonitorEvent *e, const char *prefix, const struct hips_mon_creds *c) {
        static const char *const before[] = { "before_uid", "before_euid", "before_suid", "before_fsuid",
                                              "before_gid", "before_egid", "before_sgid", "before_fsgid" };
        static const char *const after[] = { "after_uid", "after_euid", "after_suid", "after_fsuid",
                                             "after_gid", "after_egid", "after_sgid", "after_fsgid" };
        const char *const *keys = streq(prefix, "before") ? before : after;
        const uint32_t ids[] = { c->uid, c->euid, c->suid, c->fsuid, c->gid, c->egid, c->sgid, c->fsgid };

        for (size_t i = 0; i < ELEMENTSOF(ids); i++)
                monitor_event_add_number(e, keys[i], ids[i]);
}

static void privilege_handle(Monitors *ms, const void *data, size_t size) {
        const struct hips_mon_priv_event *p = data;
        const struct hips_mon_creds *b = &p->before, *a = &p->after;
        char filename[HIPS_MON_PATH_SIZE], args[64] = "";
        _cleanup_free_ char *resolved = NULL;
        const char *kind, *program, *allowed = NULL;
        bool gained, exec = p->kind == HIPS_MON_PRIV_EXEC;
        MonitorEvent e;

        if (p->kind < HIPS_MON_PRIV_SETUID || p->kind > HIPS_MON_PRIV_EXEC)
                return;
        kind = kind_names[p->kind];
        memcpy(filename, p->filename, sizeof(filename));
        filename[sizeof(filename) - 1] = '\0';

        for (unsigned i = 0, k = 0; i < kind_args[p->kind]; i++)
                k += (unsigned) snprintf(args + k, sizeof(args) - k, "%s%" PRIi32, i > 0 ? "," : "", (int32_t) p->args[i]);

        monitor_event_begin(&e, ms, &monitor_privilege, &p->h, kind);
        /* An exec's program is the file it ran: /proc may still show the old image. */
        if (exec && filename[0] == '/')
                resolved = realpath(filename, NULL);
        program = exec ? (resolved ?: filename) : e.exe;

        /* Non-root (neither real nor effective uid 0) to root (either). */
        gained = b->uid != 0 && b->euid != 0 && (a->uid == 0 || a->euid == 0);
        if (gained)
                allowed = allow_entry(ms, p, program);

        monitor_event_add(&e, "syscall", exec ? NULL : kind);
        monitor_event_add(&e, "args", exec ? NULL : args);
        monitor_event_add(&e, "filename", exec ? filename : NULL);
        monitor_event_add(&e, "program", program);
        monitor_event_add_number(&e, "result", p->ret);
        monitor_event_add(&e, "error", p->ret < 0 ? strerrorname_np(-p->ret) : NULL);
        add_creds(&e, "before", b);
        add_creds(&e, "after", a);
        monitor_event_addf(&e, "cap_effective_before", "0x%016" PRIx64, (uint64_t) b->cap_effective);
        monitor_event_addf(&e, "cap_effective_after", "0x%016" PRIx64, (uint64_t) a->cap_effective);
        monitor_event_add(&e, "reason", gained ? (allowed ? "gained-root-allowlisted" : "gained-root") : NULL);
        monitor_event_add(&e, "allowlisted", allowed);

        if (exec)
                monitor_event_emit(&e, gained && !allowed ? "alert" : "log",
                                   "%s (pid %u) executed %s: uid %u/%u -> %u/%u, gid %u/%u -> %u/%u (real/effective)%s",
                                   e.comm, p->h.pid, program ?: "?", b->uid, b->euid, a->uid, a->euid,
                                   b->gid, b->egid, a->gid, a->egid,
                                   gained ? (allowed ? ", gained root (allowlisted)" : ", GAINED ROOT") : "");
        else
                monitor_event_emit(&e, gained && !allowed ? "alert" : "log",
                                   "%s (pid %u) %s(%s) %s: uid %u/%u/%u -> %u/%u/%u, gid %u/%u/%u -> %u/%u/%u (real/effective/saved)%s",
                                   e.comm, p->h.pid, kind, args, p->ret < 0 ? "failed" : "succeeded",
                                   b->uid, b->euid, b->suid, a->uid, a->euid, a->suid,
                                   b->gid, b->egid, b->sgid, a->gid, a->egid, a->sgid,
                                   gained ? (allowed ? ", gained root (allowlisted)" : ", GAINED ROOT") : "");
}

static void privilege_done(Monitors *ms) {
        privilege_state_free(monitors_state(ms, HIPS_MON_PRIVILEGE));
        monitors_set_state(ms, HIPS_MON_PRIVILEGE, NULL);
}

const Monitor monitor_privilege = {
        .name = "privilege",
        .event = "privilege",
        .message_id = HIPS_MESSAGE_MONITOR_PRIVILEGE,
        .id = HIPS_MON_PRIVILEGE,
        .enabled = privilege_enabled,
        .apply = privilege_apply,
        .handle = privilege_handle,
        .min_size = sizeof(struct hips_mon_priv_event),
        .done = privilege_done,
};

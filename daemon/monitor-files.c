/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Sensitive files: opens of the configured paths, with the flags, the
 * result and who. The kernel side filters by identity: this side resolves
 * "monitors.files.paths" into the "watched" map (a file's own inode; for a
 * directory tree, each directory, whose entries then match), and again every
 * MONITORS_TICK_USEC, so that a file replaced by rename (passwd writing a new
 * /etc/shadow) stays watched. An open refused with EACCES or EPERM opens no
 * inode: those come with the path as passed, matched here. */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "monitor.h"
#include "proc.h"
#include "util.h"

#define WATCH_TREE_DEPTH 8

typedef struct WatchEntry {
        struct hips_mon_file_id id;
        uint32_t flags;                 /* enum hips_mon_watch_flags */
        char *path;                     /* the file, or the directory (no trailing '/') */
} WatchEntry;

typedef struct WatchSet {
        WatchEntry *entries;
        size_t n, allocated;
        bool full;
} WatchSet;

typedef struct FilesState {
        WatchSet set;                   /* in the kernel map now */
} FilesState;

static void watch_set_done(WatchSet *w) {
        for (size_t i = 0; i < w->n; i++)
                free(w->entries[i].path);
        free(w->entries);
        *w = (WatchSet) {};
}

static int watch_set_add(WatchSet *w, const struct stat *st, uint32_t flags, const char *path) {
        struct hips_mon_file_id id = { .dev = monitor_kernel_dev(st->st_dev), .ino = st->st_ino };

        for (size_t i = 0; i < w->n; i++)
                if (w->entries[i].id.dev == id.dev && w->entries[i].id.ino == id.ino) {
                        w->entries[i].flags |= flags;
                        return 0;
                }
        if (w->n >= HIPS_MON_MAX_WATCHED) {
                w->full = true;
                return -E2BIG;
        }
        if (w->n == w->allocated) {
                size_t a = w->allocated ? w->allocated * 2 : 16;
                WatchEntry *e = reallocarray(w->entries, a, sizeof(WatchEntry));

                if (!e)
                        return -ENOMEM;
                w->entries = e;
                w->allocated = a;
        }
        w->entries[w->n] = (WatchEntry) { .id = id, .flags = flags, .path = strdup(path) };
        if (!w->entries[w->n].path)
                return -ENOMEM;
        w->n++;
        return 0;
}

/* A directory and, below it, every directory: their entries are watched. */
static int watch_tree(WatchSet *w, const char *dir, const struct stat *st, unsigned depth) {
        struct dirent *de;
        DIR *d;
        int r;

        r = watch_set_add(w, st, HIPS_MON_WATCH_CHILDREN, dir);
        if (r < 0 || depth >= WATCH_TREE_DEPTH)
                return r;
        d = opendir(dir);
        if (!d)
                return 0;       /* the directory itself is watched; its subdirectories wait for the next scan */
        while ((de = readdir(d))) {
                _cleanup_free_ char *sub = NULL;
                struct stat sst;

                if (streq(de->d_name, ".") || streq(de->d_name, ".."))
                        continue;
                if (de->d_type != DT_DIR && de->d_type != DT_UNKNOWN)
                        continue;
                if (asprintf(&sub, "%s/%s", streq(dir, "/") ? "" : dir, de->d_name) < 0) {
                        r = -ENOMEM;
                        break;
                }
                /* lstat: a symlink out of the tree is not the tree. */
                if (lstat(sub, &sst) < 0 || !S_ISDIR(sst.st_mode))
                        continue;
                r = watch_tree(w, sub, &sst, depth + 1);
                if (r < 0)
                        break;
        }
        closedir(d);
        return r;
}

static int watch_set_build(const MonitorsConfig *c, WatchSet *ret) {
        WatchSet w = {};
        int r = 0;

        for (size_t i = 0; i < c->n_file_paths && r >= 0; i++) {
                _cleanup_free_ char *real = NULL;
                struct stat st;

                /* Symlinks followed: /etc/foo -> /srv/foo watches /srv/foo. */
                real = realpath(c->file_paths[i], NULL);
                if (!real || stat(real, &st) < 0)
                        continue;       /* not there (yet): the next scan looks again */
                if (S_ISDIR(st.st_mode))
                        r = watch_tree(&w, real, &st, 0);
                else
                        r = watch_set_add(&w, &st, HIPS_MON_WATCH_SELF, real);
        }
        if (r == -ENOMEM) {
                watch_set_done(&w);
                return r;
        }
        *ret = w;
        return 0;
}

static bool watch_set_equal(const WatchSet *a, const WatchSet *b) {
        if (a->n != b->n)
                return false;
        for (size_t i = 0; i < a->n; i++)
                if (a->entries[i].id.dev != b->entries[i].id.dev || a->entries[i].id.ino != b->entries[i].id.ino ||
                    a->entries[i].flags != b->entries[i].flags || !streq(a->entries[i].path, b->entries[i].path))
                        return false;
        return true;
}

static int watch_set_load(Monitors *ms, const WatchSet *w) {
        _cleanup_free_ struct hips_mon_file_id *ids = calloc(w->n + 1, sizeof(*ids));
        _cleanup_free_ uint32_t *flags = calloc(w->n + 1, sizeof(*flags));

        if (!ids || !flags)
                return -ENOMEM;
        for (size_t i = 0; i < w->n; i++) {
                ids[i] = w->entries[i].id;
                flags[i] = w->entries[i].flags;
        }
        return monitors_bpf_watched_replace(monitors_bpf(ms), ids, flags, w->n);
}

static FilesState *files_state(Monitors *ms) {
        FilesState *s = monitors_state(ms, HIPS_MON_FILES);

        if (!s) {
                s = calloc(1, sizeof(*s));
                if (s)
                        monitors_set_state(ms, HIPS_MON_FILES, s);
        }
        return s;
}

/* Resolve the paths again; load the map when anything changed. */
static int files_refresh(Monitors *ms, const MonitorsConfig *c, bool force) {
        FilesState *s = files_state(ms);
        WatchSet w;
        int r;

        if (!s)
                return -ENOMEM;
        r = watch_set_build(c, &w);
        if (r < 0)
                return r;
        if (!force && watch_set_equal(&w, &s->set)) {
                watch_set_done(&w);
                return 0;
        }
        r = watch_set_load(ms, &w);
        if (r < 0) {
                watch_set_done(&w);
                return r;
        }
        if (w.full && !s->set.full)
                log_warning("Monitor files: more than %u files and directories to watch, the rest is not watched.",
                            HIPS_MON_MAX_WATCHED);
        watch_set_done(&s->set);
        s->set = w;
        log_debug("Monitor files: %zu identities watched.", w.n);
        return 0;
}

static bool files_enabled(const MonitorsConfig *c) {
        return c->files;
}

static int files_apply(Monitors *ms, const MonitorsConfig *c, bool enabled) {
        FilesState *s = monitors_state(ms, HIPS_MON_FILES);

        if (enabled)
                return files_refresh(ms, c, true);
        if (s && s->set.n > 0) {
                (void) monitors_bpf_watched_replace(monitors_bpf(ms), NULL, NULL, 0);
                watch_set_done(&s->set);
        }
        return 0;
}

static void files_tick(Monitors *ms) {
        const MonitorsConfig *c = monitors_config(ms);
        int r;

        if (!c)
                return;
        r = files_refresh(ms, c, false);
        if (r < 0)
                log_debug_errno(r, "Monitor files: rescan failed: %m");
}

static const WatchEntry *watch_find(const FilesState *s, uint64_t dev, uint64_t ino) {
        for (size_t i = 0; s && i < s->set.n; i++)
                if (s->set.entries[i].id.dev == dev && s->set.entries[i].id.ino == ino)
                        return &s->set.entries[i];
        return NULL;
}

/* A refused open's path, made absolute from the opener's cwd or dirfd, and
 * with symlinks resolved when it can be (the file is usually there: it is
 * the permission that was missing). */
static char *denied_path(const struct hips_mon_file_event *f, const char *path) {
        _cleanup_free_ char *base = NULL, *full = NULL;
        char link[64];
        char *real;

        if (path[0] == '/')
                full = strdup(path);
        else {
                if (f->dfd == AT_FDCWD)
                        (void) snprintf(link, sizeof(link), "/proc/%u/cwd", f->h.pid);
                else
                        (void) snprintf(link, sizeof(link), "/proc/%u/fd/%d", f->h.pid, f->dfd);
                if (proc_readlink(link, &base) < 0)
                        return NULL;
                if (asprintf(&full, "%s/%s", base, path) < 0)
                        return NULL;
        }
        if (!full)
                return NULL;
        real = realpath(full, NULL);
        return real ? real : TAKE_PTR(full);
}

/* Whether path is a watched file or inside a watched tree. */
static bool path_watched(const FilesState *s, const char *path) {
        for (size_t i = 0; s && i < s->set.n; i++) {
                const WatchEntry *w = &s->set.entries[i];
                size_t n = strlen(w->path);

                if ((w->flags & HIPS_MON_WATCH_SELF) && streq(w->path, path))
                        return true;
                if ((w->flags & HIPS_MON_WATCH_CHILDREN) && strncmp(path, w->path, n) == 0 &&
                    (path[n] == '/' || streq(w->path, "/")))
                        return true;
        }
        return false;
}

static void format_flags(uint32_t flags, char *buf, size_t size) {
        static const struct {
                uint32_t flag;
                const char *name;
        } names[] = {
                { O_CREAT, "O_CREAT" }, { O_EXCL, "O_EXCL" }, { O_NOCTTY, "O_NOCTTY" }, { O_TRUNC, "O_TRUNC" },
                { O_APPEND, "O_APPEND" }, { O_NONBLOCK, "O_NONBLOCK" }, { O_DSYNC, "O_DSYNC" },
                { O_DIRECT, "O_DIRECT" }, { O_NOFOLLOW, "O_NOFOLLOW" }, { O_NOATIME, "O_NOATIME" },
                { O_CLOEXEC, "O_CLOEXEC" }, { O_PATH, "O_PATH" }, { 0100000, "O_LARGEFILE" },
        };
        static const char *const acc[] = { "O_RDONLY", "O_WRONLY", "O_RDWR", "O_ACCMODE" };
        size_t k;

        k = (size_t) snprintf(buf, size, "%s", acc[flags & O_ACCMODE]);
        if ((flags & O_TMPFILE) == O_TMPFILE) {
                k += (size_t) snprintf(buf + k, k < size ? size - k : 0, "|O_TMPFILE");
                flags &= ~(uint32_t) O_TMPFILE;
        } else if (flags & O_DIRECTORY)
                k += (size_t) snprintf(buf + k, k < size ? size - k : 0, "|O_DIRECTORY");
        /* O_SYNC contains O_DSYNC. */
        if ((flags & O_SYNC) == O_SYNC) {
                k += (size_t) snprintf(buf + k, k < size ? size - k : 0, "|O_SYNC");
                flags &= ~(uint32_t) O_SYNC;
        }
        for (size_t i = 0; i < ELEMENTSOF(names); i++)
                if (flags & names[i].flag)
                        k += (size_t) snprintf(buf + k, k < size ? size - k : 0, "|%s", names[i].name);
}

static const char *access_of(uint32_t flags) {
        if (flags & O_PATH)
                return "path";
        switch (flags & O_ACCMODE) {
        case O_RDONLY:
                return (flags & O_TRUNC) ? "write" : "read";
        case O_WRONLY:
                return "write";
        default:
                return "read-write";
        }
}

static const char *const syscall_names[] = {
        [HIPS_MON_FILE_OPENAT] = "openat",
        [HIPS_MON_FILE_OPENAT2] = "openat2",
        [HIPS_MON_FILE_OPEN] = "open",
};

static void files_handle(Monitors *ms, const void *data, size_t size) {
        const struct hips_mon_file_event *f = data;
        FilesState *s = monitors_state(ms, HIPS_MON_FILES);
        char requested[HIPS_MON_PATH_SIZE], name[HIPS_MON_NAME_SIZE], flags[256];
        _cleanup_free_ char *path = NULL;
        const WatchEntry *w;
        const char *match;
        MonitorEvent e;

        memcpy(requested, f->path, sizeof(requested));
        requested[sizeof(requested) - 1] = '\0';
        memcpy(name, f->name, sizeof(name));
        name[sizeof(name) - 1] = '\0';

        switch (f->match) {
        case HIPS_MON_FILE_MATCH_SELF:
                match = "file";
                w = watch_find(s, f->dev, f->ino);
                path = strdup(w ? w->path : requested);
                break;
        case HIPS_MON_FILE_MATCH_CHILD:
                match = "directory";
                w = watch_find(s, f->dev, f->parent_ino);
                if (!w || asprintf(&path, "%s/%s", streq(w->path, "/") ? "" : w->path, name) < 0)
                        path = strdup(requested);
                break;
        case HIPS_MON_FILE_MATCH_DENIED:
                match = "denied";
                path = denied_path(f, requested);
                if (!path || !path_watched(s, path))
                        return;         /* a refused open of something not watched */
                break;
        default:
                return;
        }
        format_flags(f->flags, flags, sizeof(flags));

        monitor_event_begin(&e, ms, &monitor_files, &f->h, "open");
        monitor_event_add(&e, "path", path);
        monitor_event_add(&e, "requested", requested);
        monitor_event_add(&e, "syscall", f->syscall < ELEMENTSOF(syscall_names) ? syscall_names[f->syscall] : NULL);
        monitor_event_add(&e, "access", access_of(f->flags));
        monitor_event_add(&e, "flags", flags);
        monitor_event_add(&e, "match", match);
        monitor_event_add_number(&e, "result", f->ret);
        monitor_event_add(&e, "error", f->ret < 0 ? strerrorname_np(-f->ret) : NULL);
        if (f->ret >= 0)
                monitor_event_add_number(&e, "ino", (int64_t) f->ino);
        if (f->ret < 0)
                monitor_event_emit(&e, "log", "%s (pid %u, uid %u) was refused %s (%s): %s",
                                   e.comm, f->h.pid, f->h.uid, path ?: requested, access_of(f->flags), strerror(-f->ret));
        else
                monitor_event_emit(&e, "log", "%s (pid %u, uid %u) opened %s for %s",
                                   e.comm, f->h.pid, f->h.uid, path ?: requested, access_of(f->flags));
}

static void files_done(Monitors *ms) {
        FilesState *s = monitors_state(ms, HIPS_MON_FILES);

        if (!s)
                return;
        watch_set_done(&s->set);
        free(s);
        monitors_set_state(ms, HIPS_MON_FILES, NULL);
}

const Monitor monitor_files = {
        .name = "files",
        .event = "file",
        .message_id = HIPS_MESSAGE_MONITOR_FILE,
        .id = HIPS_MON_FILES,
        .enabled = files_enabled,
        .apply = files_apply,
        .handle = files_handle,
        .min_size = sizeof(struct hips_mon_file_event),
        .tick = files_tick,
        .done = files_done,
};

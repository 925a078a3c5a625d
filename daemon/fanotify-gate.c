/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/fanotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fanotify-gate.h"
#include "log.h"
#include "mounts.h"
#include "util.h"

/* Enough for many events per read(); each is 24 bytes plus info records. */
#define FANOTIFY_READ_BUFFER (64u * 1024u)

typedef struct FsId {
        unsigned major;
        unsigned minor;
} FsId;

struct FanotifyGate {
        int fd;
        int mountinfo_fd;
        sd_event_source *fd_source;
        sd_event_source *mountinfo_source;
        pid_t own_pid;
        fanotify_judge_fn judge;
        void *userdata;
        bool enabled;
        bool response_error_logged;

        FsId *marked;           /* filesystems we hold a mark on */
        size_t n_marked;
        FsId *failed;           /* filesystems that refused a mark (logged once) */
        size_t n_failed;
        char buffer[FANOTIFY_READ_BUFFER] __attribute__((aligned(8)));
};

static bool fs_in(const FsId *set, size_t n, unsigned ma, unsigned mi) {
        for (size_t i = 0; i < n; i++)
                if (set[i].major == ma && set[i].minor == mi)
                        return true;
        return false;
}

static int fs_add(FsId **set, size_t *n, unsigned ma, unsigned mi) {
        FsId *t = realloc(*set, (*n + 1) * sizeof(FsId));

        if (!t)
                return -ENOMEM;
        t[(*n)++] = (FsId) { ma, mi };
        *set = t;
        return 0;
}

static void respond(FanotifyGate *g, int fd, bool allow) {
        struct fanotify_response resp = {
                .fd = fd,
                .response = allow ? FAN_ALLOW : FAN_DENY,
        };

        if (write(g->fd, &resp, sizeof(resp)) != sizeof(resp) && !g->response_error_logged) {
                /* The kernel allows a pending event once our group is gone,
                 * but while we live an unanswered event holds the exec. */
                log_error_errno(negative_errno(), "Failed to answer fanotify permission event: %m");
                g->response_error_logged = true;
        }
}

/* Returns the number of events handled, 0 when none was queued. */
static int read_events(FanotifyGate *g) {
        const struct fanotify_event_metadata *m;
        ssize_t len;
        int handled = 0;

        len = read(g->fd, g->buffer, sizeof(g->buffer));
        if (len < 0) {
                if (errno == EAGAIN || errno == EINTR)
                        return 0;
                return log_error_errno(negative_errno(), "Failed to read fanotify events: %m");
        }

        for (m = (const void *) g->buffer; FAN_EVENT_OK(m, len); m = FAN_EVENT_NEXT(m, len)) {
                if (m->vers != FANOTIFY_METADATA_VERSION) {
                        log_error("fanotify metadata version %u, expected %u.", m->vers, FANOTIFY_METADATA_VERSION);
                        if (m->fd >= 0)
                                (void) close(m->fd);
                        continue;
                }
                if (m->fd < 0)
                        continue;
                handled++;
                if (m->mask & FAN_OPEN_EXEC_PERM) {
                        FanotifyAnswer a = FANOTIFY_ALLOW;

                        /* Our own process never waits on itself. */
                        if (m->pid != g->own_pid)
                                a = g->judge(g->userdata, m->fd, m->pid);
                        if (a == FANOTIFY_LATER)
                                continue;       /* the judge owns the fd now */
                        respond(g, m->fd, a == FANOTIFY_ALLOW);
                }
                (void) close(m->fd);
        }
        return handled;
}

static int on_fanotify(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        FanotifyGate *g = userdata;

        (void) read_events(g);
        return 0;
}

static int mark_all(FanotifyGate *g) {
        MountEntry *entries = NULL;
        size_t n = 0;
        int r;

        r = mounts_read(&entries, &n);
        if (r < 0)
                return log_error_errno(r, "Failed to read /proc/self/mountinfo: %m");

        for (size_t i = 0; i < n; i++) {
                const MountEntry *e = &entries[i];

                if (fs_in(g->marked, g->n_marked, e->major, e->minor) ||
                    fs_in(g->failed, g->n_failed, e->major, e->minor))
                        continue;
                if (fanotify_mark(g->fd, FAN_MARK_ADD | FAN_MARK_FILESYSTEM, FAN_OPEN_EXEC_PERM, AT_FDCWD, e->path) < 0) {
                        /* e.g. /proc refuses with EINVAL. Execs from there are
                         * still met by the stop layer. */
                        log_info_errno(negative_errno(), "Not holding execs on %s (%s, %u:%u): %m",
                                       e->path, e->fstype, e->major, e->minor);
                        r = fs_add(&g->failed, &g->n_failed, e->major, e->minor);
                } else {
                        log_debug("Holding execs on %s (%s, %u:%u).", e->path, e->fstype, e->major, e->minor);
                        r = fs_add(&g->marked, &g->n_marked, e->major, e->minor);
                }
                if (r < 0)
                        break;
        }
        mounts_free(entries, n);
        return r < 0 ? r : 0;
}

static int on_mountinfo(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        FanotifyGate *g = userdata;
        char c;

        /* The change is signalled until the file is read again from the start. */
        (void) lseek(fd, 0, SEEK_SET);
        (void) read(fd, &c, 1);

        if (g->enabled) {
                /* A filesystem that went away may come back with the same
                 * numbers: forget what refused, and retry everything. */
                free(g->failed);
                g->failed = NULL;
                g->n_failed = 0;
                (void) mark_all(g);
        }
        return 0;
}

int fanotify_gate_new(sd_event *event, fanotify_judge_fn judge, void *userdata, FanotifyGate **ret) {
        FanotifyGate *g;
        int r;

        g = calloc(1, sizeof(*g));
        if (!g)
                return -ENOMEM;
        g->fd = g->mountinfo_fd = -EBADF;
        g->own_pid = getpid();
        g->judge = judge;
        g->userdata = userdata;

        g->fd = fanotify_init(FAN_CLASS_CONTENT | FAN_REPORT_TID | FAN_UNLIMITED_QUEUE | FAN_CLOEXEC | FAN_NONBLOCK,
                              O_RDONLY | O_LARGEFILE | O_CLOEXEC);
        if (g->fd < 0) {
                r = negative_errno();
                goto fail;
        }
        /* Probe that this kernel has permission events at all. */
        if (fanotify_mark(g->fd, FAN_MARK_ADD, FAN_OPEN_EXEC_PERM, AT_FDCWD, "/") < 0 ||
            fanotify_mark(g->fd, FAN_MARK_REMOVE, FAN_OPEN_EXEC_PERM, AT_FDCWD, "/") < 0) {
                r = negative_errno();
                goto fail;
        }

        g->mountinfo_fd = open("/proc/self/mountinfo", O_RDONLY | O_CLOEXEC);
        if (g->mountinfo_fd < 0) {
                r = negative_errno();
                goto fail;
        }

        r = sd_event_add_io(event, &g->fd_source, g->fd, EPOLLIN, on_fanotify, g);
        if (r < 0)
                goto fail;
        /* A waiting exec outranks everything else on the loop. */
        (void) sd_event_source_set_priority(g->fd_source, SD_EVENT_PRIORITY_IMPORTANT);
        (void) sd_event_source_set_description(g->fd_source, "fanotify");

        r = sd_event_add_io(event, &g->mountinfo_source, g->mountinfo_fd, EPOLLPRI, on_mountinfo, g);
        if (r < 0)
                goto fail;
        (void) sd_event_source_set_description(g->mountinfo_source, "mountinfo");

        *ret = g;
        return 0;

fail:
        fanotify_gate_free(g);
        return r;
}

FanotifyGate *fanotify_gate_free(FanotifyGate *g) {
        if (!g)
                return NULL;
        sd_event_source_disable_unref(g->fd_source);
        sd_event_source_disable_unref(g->mountinfo_source);
        if (g->fd >= 0)
                (void) close(g->fd);
        if (g->mountinfo_fd >= 0)
                (void) close(g->mountinfo_fd);
        free(g->marked);
        free(g->failed);
        free(g);
        return NULL;
}

int fanotify_gate_set_enabled(FanotifyGate *g, bool enabled) {
        if (enabled) {
                g->enabled = true;
                return mark_all(g);
        }

        if (fanotify_mark(g->fd, FAN_MARK_FLUSH | FAN_MARK_FILESYSTEM, 0, AT_FDCWD, NULL) < 0)
                return negative_errno();
        g->enabled = false;
        free(g->marked);
        g->marked = NULL;
        g->n_marked = 0;
        /* Events queued before the flush still wait for an answer. */
        fanotify_gate_drain(g);
        return 0;
}

bool fanotify_gate_is_enabled(const FanotifyGate *g) {
        return g && g->enabled;
}

size_t fanotify_gate_n_marked(const FanotifyGate *g) {
        return g ? g->n_marked : 0;
}

int fanotify_gate_set_ignored(FanotifyGate *g, char *const *paths, size_t n) {
        int r = 0;

        /* FLUSH without MOUNT/FILESYSTEM drops all inode marks: only ignore marks are on inodes. */
        if (fanotify_mark(g->fd, FAN_MARK_FLUSH, 0, AT_FDCWD, NULL) < 0)
                return negative_errno();

        for (size_t i = 0; i < n; i++)
                /* No FAN_MARK_IGNORED_SURV_MODIFY: a write to the file ends its fast path. */
                if (fanotify_mark(g->fd, FAN_MARK_ADD | FAN_MARK_IGNORED_MASK, FAN_OPEN_EXEC_PERM, AT_FDCWD, paths[i]) < 0) {
                        r = negative_errno();
                        log_warning_errno(r, "Failed to add fanotify ignore mark on %s: %m", paths[i]);
                }
        return r;
}

void fanotify_gate_answer(FanotifyGate *g, int fd, bool allow) {
        if (g)
                respond(g, fd, allow);
        (void) close(fd);
}

void fanotify_gate_drain(FanotifyGate *g) {
        while (read_events(g) > 0)
                ;
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The least a fanotify exec hold can cost on this machine: a responder that
 * marks filesystems for FAN_OPEN_EXEC_PERM and allows every event at once,
 * without looking at it. hips-bench runs it like hipsd (READY=1 on
 * NOTIFY_SOCKET, stopped with SIGTERM) to measure the floor under hipsd's
 * own hold cost in the same run.
 *
 * Usage: hips-bench-responder [--ignore FILE]... [FILESYSTEM-PATH]...
 * (default: mark the filesystem of /). An ignored file gets no event, as
 * hipsd's kernel_allowlist ignore marks do. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fanotify.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static int notify_ready(void) {
        const char *path = getenv("NOTIFY_SOCKET");
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        int fd, r = 0;

        if (!path || strlen(path) >= sizeof(sa.sun_path))
                return 0;
        memcpy(sa.sun_path, path, strlen(path) + 1);
        if (sa.sun_path[0] == '@')
                sa.sun_path[0] = '\0';
        fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return -errno;
        if (sendto(fd, "READY=1", 7, 0, (struct sockaddr *) &sa, sizeof(sa)) < 0)
                r = -errno;
        (void) close(fd);
        return r;
}

int main(int argc, char *argv[]) {
        char buf[64 * 1024] __attribute__((aligned(8)));
        int fd, marked = 0;

        fd = fanotify_init(FAN_CLASS_CONTENT | FAN_CLOEXEC, O_RDONLY | O_LARGEFILE | O_CLOEXEC);
        if (fd < 0) {
                perror("fanotify_init");
                return 1;
        }
        for (int i = 1; i < argc; i++) {
                if (strcmp(argv[i], "--ignore") == 0 && i + 1 < argc) {
                        if (fanotify_mark(fd, FAN_MARK_ADD | FAN_MARK_IGNORED_MASK, FAN_OPEN_EXEC_PERM,
                                          AT_FDCWD, argv[++i]) < 0) {
                                perror(argv[i]);
                                return 1;
                        }
                        continue;
                }
                if (fanotify_mark(fd, FAN_MARK_ADD | FAN_MARK_FILESYSTEM, FAN_OPEN_EXEC_PERM, AT_FDCWD, argv[i]) < 0) {
                        perror(argv[i]);
                        return 1;
                }
                marked++;
        }
        if (marked == 0 &&
            fanotify_mark(fd, FAN_MARK_ADD | FAN_MARK_FILESYSTEM, FAN_OPEN_EXEC_PERM, AT_FDCWD, "/") < 0) {
                perror("/");
                return 1;
        }
        if (notify_ready() < 0)
                fprintf(stderr, "hips-bench-responder: cannot send READY=1\n");

        /* SIGTERM kills us; closing the group allows whatever is pending. */
        for (;;) {
                const struct fanotify_event_metadata *m;
                ssize_t len = read(fd, buf, sizeof(buf));

                if (len < 0) {
                        if (errno == EINTR)
                                continue;
                        perror("read");
                        return 1;
                }
                for (m = (const void *) buf; FAN_EVENT_OK(m, len); m = FAN_EVENT_NEXT(m, len)) {
                        struct fanotify_response resp = { .fd = m->fd, .response = FAN_ALLOW };

                        if (m->fd < 0)
                                continue;
                        if (m->mask & FAN_OPEN_EXEC_PERM)
                                (void) !write(fd, &resp, sizeof(resp));
                        (void) close(m->fd);
                }
        }
}

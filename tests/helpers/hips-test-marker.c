/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A program the tests exec under various names: it proves it ran by writing
 * a marker file. Usage: hips-test-marker [--scrub-argv] [--delay-ms N] MARKER [ARGS...]
 * --scrub-argv overwrites its own argv in memory first (what /proc/PID/cmdline
 * then shows), as malware hiding its command line would. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char *argv[]) {
        int i = 1, fd;

        if (i < argc && strcmp(argv[i], "--scrub-argv") == 0) {
                /* Keep the marker path: scrub only what follows it and the flag itself. */
                memset(argv[i], 'x', strlen(argv[i]));
                for (int k = i + 1; k < argc; k++)
                        if (strncmp(argv[k], "--evil", 6) == 0)
                                memset(argv[k], 'x', strlen(argv[k]));
                i++;
        }
        if (i + 1 < argc && strcmp(argv[i], "--delay-ms") == 0) {
                long ms = strtol(argv[i + 1], NULL, 10);
                struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

                nanosleep(&ts, NULL);
                i += 2;
        }
        if (i >= argc) {
                fprintf(stderr, "usage: %s [--delay-ms N] MARKER [ARGS...]\n", argv[0]);
                return 2;
        }
        fd = open(argv[i], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd < 0) {
                perror(argv[i]);
                return 1;
        }
        (void) write(fd, "ran\n", 4);
        close(fd);
        return 0;
}

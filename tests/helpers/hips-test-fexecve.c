/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Exec a file through an fd (execveat(fd, "", ..., AT_EMPTY_PATH)).
 * Usage: hips-test-fexecve FILE ARGV0 [ARGS...] */
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

extern char **environ;

int main(int argc, char *argv[]) {
        int fd;

        if (argc < 3) {
                fprintf(stderr, "usage: %s FILE ARGV0 [ARGS...]\n", argv[0]);
                return 2;
        }
        fd = open(argv[1], O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
                perror(argv[1]);
                return 1;
        }
        fexecve(fd, argv + 2, environ);
        perror("fexecve");
        return 126;
}

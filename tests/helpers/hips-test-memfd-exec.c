/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Exec a copy of a file from a memfd, which no fanotify mark can see.
 * Usage: hips-test-memfd-exec FILE ARGV0 [ARGS...] */
#include <fcntl.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

extern char **environ;

int main(int argc, char *argv[]) {
        struct stat st;
        int src, mfd;

        if (argc < 3) {
                fprintf(stderr, "usage: %s FILE ARGV0 [ARGS...]\n", argv[0]);
                return 2;
        }
        src = open(argv[1], O_RDONLY | O_CLOEXEC);
        if (src < 0 || fstat(src, &st) < 0) {
                perror(argv[1]);
                return 1;
        }
        mfd = memfd_create("hips-test", MFD_CLOEXEC);
        if (mfd < 0) {
                perror("memfd_create");
                return 1;
        }
        for (off_t done = 0; done < st.st_size;) {
                ssize_t k = sendfile(mfd, src, NULL, (size_t) (st.st_size - done));
                if (k <= 0) {
                        perror("sendfile");
                        return 1;
                }
                done += k;
        }
        fexecve(mfd, argv + 2, environ);
        perror("fexecve");
        return 126;
}

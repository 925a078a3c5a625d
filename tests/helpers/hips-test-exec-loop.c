/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Exec a program N times as fast as possible (vfork+execv+wait), for load
 * and leak tests. Usage: hips-test-exec-loop N PATH [ARGS...]
 * Exits 0 when every child exited 0. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char *argv[]) {
        /* volatile: vfork() shares the stack until the child execs. */
        volatile long n, failed = 0;

        if (argc < 3) {
                fprintf(stderr, "usage: %s N PATH [ARGS...]\n", argv[0]);
                return 2;
        }
        n = strtol(argv[1], NULL, 10);
        for (volatile long i = 0; i < n; i++) {
                int status;
                pid_t pid = vfork();

                if (pid < 0) {
                        perror("vfork");
                        return 1;
                }
                if (pid == 0) {
                        execv(argv[2], argv + 2);
                        _exit(127);
                }
                if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
                        failed++;
        }
        if (failed)
                fprintf(stderr, "%ld of %ld execs failed\n", failed, n);
        return failed ? 1 : 0;
}

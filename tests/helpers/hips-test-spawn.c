/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* hips-test-spawn PROGRAM [ARGS...]: fork, exec PROGRAM, wait, exit with its
 * status. Copied under a server's name, it is the parent (an "ancestor") the
 * tests' lineage rules key on. */
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char *argv[]) {
        int status;
        pid_t pid;

        if (argc < 2) {
                fprintf(stderr, "usage: %s PROGRAM [ARGS...]\n", argv[0]);
                return 2;
        }
        pid = fork();
        if (pid < 0) {
                perror("fork");
                return 1;
        }
        if (pid == 0) {
                execv(argv[1], argv + 1);
                perror(argv[1]);
                _exit(126);
        }
        if (waitpid(pid, &status, 0) < 0)
                return 1;
        if (WIFSIGNALED(status))
                return 128 + WTERMSIG(status);
        return WEXITSTATUS(status);
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Loops that the monitors see, for measuring what they cost: each runs N
 * operations and prints "per_second=R".
 *
 *   hips-test-workload open PATH N      open(O_RDONLY) + close
 *   hips-test-workload fork N           fork + _exit + waitpid
 *   hips-test-workload exec PROGRAM N   fork + execv(PROGRAM) + waitpid
 *   hips-test-workload setuid-same N    setresuid(-1, -1, -1): changes nothing
 *   hips-test-workload setuid-flip N    as root: seteuid(65534), seteuid(0) (2 calls, each a change)
 *   hips-test-workload resolve NAME N   getaddrinfo(NAME) + freeaddrinfo
 */
#include <fcntl.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

static int one(const char *mode, const char *arg) {
        if (strcmp(mode, "open") == 0) {
                int fd = open(arg, O_RDONLY | O_CLOEXEC);

                if (fd < 0)
                        return -1;
                close(fd);
                return 0;
        }
        if (strcmp(mode, "fork") == 0 || strcmp(mode, "exec") == 0) {
                pid_t pid = fork();
                int status;

                if (pid < 0)
                        return -1;
                if (pid == 0) {
                        if (mode[0] == 'e') {
                                char *argv[] = { (char *) arg, NULL };

                                execv(arg, argv);
                        }
                        _exit(0);
                }
                return waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
        }
        if (strcmp(mode, "setuid-same") == 0)
                return setresuid((uid_t) -1, (uid_t) -1, (uid_t) -1);
        if (strcmp(mode, "setuid-flip") == 0)
                return seteuid(65534) < 0 || seteuid(0) < 0 ? -1 : 0;
        if (strcmp(mode, "resolve") == 0) {
                struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res;

                if (getaddrinfo(arg, NULL, &hints, &res) != 0)
                        return -1;
                freeaddrinfo(res);
                return 0;
        }
        return -2;
}

int main(int argc, char *argv[]) {
        const char *mode, *arg = NULL;
        long n;
        double t0;

        if (argc < 3) {
                fprintf(stderr, "usage: %s open PATH N | fork N | exec PROGRAM N | setuid-same N | setuid-flip N | resolve NAME N\n",
                        argv[0]);
                return 2;
        }
        mode = argv[1];
        if (argc >= 4) {
                arg = argv[2];
                n = strtol(argv[3], NULL, 10);
        } else
                n = strtol(argv[2], NULL, 10);
        if (n <= 0)
                return 2;

        t0 = now();
        for (long i = 0; i < n; i++) {
                int r = one(mode, arg);

                if (r == -2) {
                        fprintf(stderr, "unknown mode %s\n", mode);
                        return 2;
                }
                if (r < 0) {
                        perror(mode);
                        return 1;
                }
        }
        printf("per_second=%.0f\n", (double) n / (now() - t0));
        return 0;
}

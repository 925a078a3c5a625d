/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Network activity for the monitor tests, with what it did on stdout as
 * "key=value" words, so that a test can compare the logged event with it.
 *
 *   hips-test-net tcp ADDR [HOLD_MS]   listen on ADDR (port chosen by the
 *                                      kernel), connect to it, accept; print
 *                                      "pid=PID listen=PORT client=PORT"; keep the
 *                                      connection HOLD_MS ms, then exit 0
 *   hips-test-net udp ADDR             a receiver on ADDR, one datagram sent
 *                                      to it with sendto(); "pid=PID port=PORT client=PORT"
 *   hips-test-net resolve NAME         getaddrinfo(NAME); "pid=PID", "addr=..." each; exit 0 if resolved
 *   hips-test-net tcp-loop ADDR N      N connect/accept/close cycles; "per_second=R"
 *   hips-test-net udp-loop ADDR N      N datagrams; "per_second=R"
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static int parse_addr(const char *s, struct sockaddr_storage *ss, socklen_t *len) {
        struct sockaddr_in *in = (struct sockaddr_in *) ss;
        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *) ss;

        memset(ss, 0, sizeof(*ss));
        if (inet_pton(AF_INET, s, &in->sin_addr) == 1) {
                in->sin_family = AF_INET;
                *len = sizeof(*in);
                return 0;
        }
        if (inet_pton(AF_INET6, s, &in6->sin6_addr) == 1) {
                in6->sin6_family = AF_INET6;
                *len = sizeof(*in6);
                return 0;
        }
        fprintf(stderr, "not an address: %s\n", s);
        return -1;
}

static unsigned port_of(int fd) {
        struct sockaddr_storage ss;
        socklen_t len = sizeof(ss);

        if (getsockname(fd, (struct sockaddr *) &ss, &len) < 0)
                return 0;
        return ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *) &ss)->sin6_port :
                                                ((struct sockaddr_in *) &ss)->sin_port);
}

static int listener(const struct sockaddr_storage *ss, socklen_t len, int type) {
        int fd = socket(ss->ss_family, type | SOCK_CLOEXEC, 0);

        if (fd < 0 || bind(fd, (const struct sockaddr *) ss, len) < 0 ||
            (type == SOCK_STREAM && listen(fd, 64) < 0)) {
                perror("listener");
                exit(1);
        }
        return fd;
}

static void to_port(struct sockaddr_storage *ss, unsigned port) {
        if (ss->ss_family == AF_INET6)
                ((struct sockaddr_in6 *) ss)->sin6_port = htons((uint16_t) port);
        else
                ((struct sockaddr_in *) ss)->sin_port = htons((uint16_t) port);
}

static double now(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

/* One connection: returns the client's port; *ret_client and *ret_server stay open. */
static unsigned tcp_once(int lfd, struct sockaddr_storage *dst, socklen_t len, int *ret_client, int *ret_server) {
        int c = socket(dst->ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0), s;

        if (c < 0 || connect(c, (struct sockaddr *) dst, len) < 0) {
                perror("connect");
                exit(1);
        }
        s = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
        if (s < 0) {
                perror("accept");
                exit(1);
        }
        *ret_client = c;
        *ret_server = s;
        return port_of(c);
}

int main(int argc, char *argv[]) {
        struct sockaddr_storage ss;
        socklen_t len;

        if (argc >= 3 && strcmp(argv[1], "resolve") == 0) {
                struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res, *p;
                int r = getaddrinfo(argv[2], NULL, &hints, &res);

                if (r != 0) {
                        printf("pid=%d error=%d\n", (int) getpid(), r);
                        return 1;
                }
                printf("pid=%d\n", (int) getpid());
                for (p = res; p; p = p->ai_next) {
                        char buf[INET6_ADDRSTRLEN];
                        const void *a = p->ai_family == AF_INET6 ? (const void *) &((struct sockaddr_in6 *) p->ai_addr)->sin6_addr :
                                                                   (const void *) &((struct sockaddr_in *) p->ai_addr)->sin_addr;

                        if (inet_ntop(p->ai_family, a, buf, sizeof(buf)))
                                printf("addr=%s\n", buf);
                }
                freeaddrinfo(res);
                return 0;
        }

        if (argc < 3 || parse_addr(argv[2], &ss, &len) < 0) {
                fprintf(stderr, "usage: %s tcp|udp|tcp-loop|udp-loop ADDR [N] | resolve NAME\n", argv[0]);
                return 2;
        }

        if (strcmp(argv[1], "tcp") == 0) {
                int lfd = listener(&ss, len, SOCK_STREAM), c, s;
                unsigned lport = port_of(lfd), cport;
                long hold = argc > 3 ? strtol(argv[3], NULL, 10) : 0;

                to_port(&ss, lport);
                cport = tcp_once(lfd, &ss, len, &c, &s);
                printf("pid=%d listen=%u client=%u\n", (int) getpid(), lport, cport);
                fflush(stdout);
                if (hold > 0) {
                        struct timespec ts = { hold / 1000, (hold % 1000) * 1000000L };

                        nanosleep(&ts, NULL);
                        /* Still alive: a kill rule did not fire. */
                        (void) write(c, "x", 1);
                }
                return 0;
        }

        if (strcmp(argv[1], "udp") == 0) {
                int rfd = listener(&ss, len, SOCK_DGRAM);
                int sfd = socket(ss.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
                unsigned port = port_of(rfd);
                struct sockaddr_storage src = ss;

                /* Bound first, so that the source port is known when the send is seen. */
                to_port(&src, 0);
                if (sfd < 0 || bind(sfd, (struct sockaddr *) &src, len) < 0) {
                        perror("udp socket");
                        return 1;
                }
                to_port(&ss, port);
                if (sendto(sfd, "ping", 4, 0, (struct sockaddr *) &ss, len) != 4) {
                        perror("sendto");
                        return 1;
                }
                printf("pid=%d port=%u client=%u\n", (int) getpid(), port, port_of(sfd));
                return 0;
        }

        if (strcmp(argv[1], "tcp-loop") == 0 || strcmp(argv[1], "udp-loop") == 0) {
                long n = argc > 3 ? strtol(argv[3], NULL, 10) : 1000;
                bool tcp = strcmp(argv[1], "tcp-loop") == 0;
                int lfd = listener(&ss, len, tcp ? SOCK_STREAM : SOCK_DGRAM), sfd = -1;
                double t0;

                to_port(&ss, port_of(lfd));
                if (!tcp)
                        sfd = socket(ss.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
                t0 = now();
                for (long i = 0; i < n; i++) {
                        if (tcp) {
                                int c, s;

                                (void) tcp_once(lfd, &ss, len, &c, &s);
                                close(c);
                                close(s);
                        } else {
                                char buf[8];

                                if (sendto(sfd, "ping", 4, 0, (struct sockaddr *) &ss, len) != 4 ||
                                    recv(lfd, buf, sizeof(buf), 0) < 0) {
                                        perror("udp");
                                        return 1;
                                }
                        }
                }
                printf("per_second=%.0f\n", (double) n / (now() - t0));
                return 0;
        }

        fprintf(stderr, "unknown mode %s\n", argv[1]);
        return 2;
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* hipsd: command line, then one sd-event loop until SIGTERM. */

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>

#include <systemd/sd-daemon.h>

#include "config.h"
#include "hips-abi.h"
#include "hips-build.h"
#include "log.h"
#include "manager.h"
#include "util.h"

static const char *arg_config = HIPS_DEFAULT_CONFIG;
static const char *arg_log_file = HIPS_DEFAULT_LOGFILE;
static bool arg_functional = false;
static bool arg_check_config = false;
static uint32_t arg_ringbuf_size = 0;

static void help(void) {
        printf("Usage: hipsd [OPTIONS]\n\n"
               "Host intrusion prevention: judges every exec against the rules in the config.\n\n"
               "  -c --config PATH     rules and settings (default %s)\n"
               "  -l --log-file PATH   JSON-lines decision log (default %s)\n"
               "  -f --functional      start in functional mode (judge after the fact, never hold)\n"
               "     --check-config    validate the config, print problems, exit 0 if usable\n"
               "     --ring-buffer-size BYTES\n"
               "                       size of each event ring buffer (power of two, >= 4096;\n"
               "                       default %u); for tuning and overload tests\n"
               "  -h --help            this text\n"
               "     --version         print the version\n",
               HIPS_DEFAULT_CONFIG, HIPS_DEFAULT_LOGFILE, HIPS_GATE_RINGBUF_SIZE);
}

static int parse_argv(int argc, char *argv[]) {
        enum { ARG_VERSION = 0x100, ARG_CHECK_CONFIG, ARG_RINGBUF_SIZE };
        static const struct option options[] = {
                { "config",       required_argument, NULL, 'c'              },
                { "log-file",     required_argument, NULL, 'l'              },
                { "functional",   no_argument,       NULL, 'f'              },
                { "check-config", no_argument,       NULL, ARG_CHECK_CONFIG },
                { "ring-buffer-size", required_argument, NULL, ARG_RINGBUF_SIZE },
                { "help",         no_argument,       NULL, 'h'              },
                { "version",      no_argument,       NULL, ARG_VERSION      },
                {}
        };
        int c;

        while ((c = getopt_long(argc, argv, "c:l:fh", options, NULL)) >= 0)
                switch (c) {
                case 'c':
                        arg_config = optarg;
                        break;
                case 'l':
                        arg_log_file = optarg;
                        break;
                case 'f':
                        arg_functional = true;
                        break;
                case ARG_CHECK_CONFIG:
                        arg_check_config = true;
                        break;
                case ARG_RINGBUF_SIZE: {
                        char *end;
                        unsigned long v;

                        errno = 0;
                        v = strtoul(optarg, &end, 0);
                        if (errno != 0 || *end || v < 4096 || v > (1ul << 30) || (v & (v - 1)) != 0) {
                                fprintf(stderr, "hipsd: --ring-buffer-size: expected a power of two from 4096 to 1 GiB, got '%s'\n",
                                        optarg);
                                return -EINVAL;
                        }
                        arg_ringbuf_size = (uint32_t) v;
                        break;
                }
                case 'h':
                        help();
                        return 0;
                case ARG_VERSION:
                        printf("hipsd %s\n", HIPS_VERSION);
                        return 0;
                default:
                        return -EINVAL;
                }
        if (optind < argc) {
                fprintf(stderr, "hipsd: unexpected argument '%s' (see --help)\n", argv[optind]);
                return -EINVAL;
        }
        return 1;
}

/* Problems go to stderr, one per line; the first error also makes the exit line. */
static int load_config(HipsConfig **ret) {
        ConfigProblems problems = {};
        _cleanup_free_ char *text = NULL;
        int r;

        r = config_load_file(arg_config, ret, &problems);
        if (r >= 0)
                config_check_paths(*ret, &problems);
        text = config_problems_to_string(&problems);
        if (text && *text)
                fprintf(stderr, "%s\n", text);
        config_problems_done(&problems);
        if (r < 0)
                fprintf(stderr, "hipsd: %s: invalid configuration, not starting.\n", arg_config);
        return r;
}

/* One hipsd per pid namespace: two would each take the other's SIGCONT for
 * tampering and the other's stopped processes for their own. The lock lives
 * as long as the process (the fd is never closed). */
static int take_instance_lock(void) {
        char path[128], buf[32], ns[64] = "";
        struct stat st;
        int fd;
        ssize_t n;

        if (stat("/proc/self/ns/pid", &st) == 0 && st.st_ino != 0xEFFFFFFCU)
                (void) snprintf(ns, sizeof(ns), "-pidns-%lu", (unsigned long) st.st_ino);
        (void) mkdir(HIPS_RUNTIME_DIR, 0755);
        (void) snprintf(path, sizeof(path), "%s/hipsd%s.lock", HIPS_RUNTIME_DIR, ns);

        fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
        if (fd < 0) {
                fprintf(stderr, "hipsd: cannot open %s: %m\n", path);
                return -errno;
        }
        if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
                int e = errno;

                n = pread(fd, buf, sizeof(buf) - 1, 0);
                buf[n > 0 ? n : 0] = '\0';
                buf[strcspn(buf, "\n")] = '\0';
                if (e == EWOULDBLOCK)
                        fprintf(stderr, "hipsd: another hipsd (pid %s) is already running in this pid namespace.\n",
                                *buf ? buf : "?");
                else
                        fprintf(stderr, "hipsd: cannot lock %s: %s\n", path, strerror(e));
                (void) close(fd);
                return -e;
        }
        n = snprintf(buf, sizeof(buf), "%d\n", (int) getpid());
        /* The pid in the file is only informative. */
        if (ftruncate(fd, 0) == 0)
                (void) !pwrite(fd, buf, (size_t) n, 0);
        return 0;
}

int main(int argc, char *argv[]) {
        _cleanup_(manager_freep) Manager *m = NULL;
        HipsConfig *config = NULL;
        sigset_t mask;
        int r;

        r = parse_argv(argc, argv);
        if (r <= 0)
                return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;

        r = load_config(&config);
        if (arg_check_config) {
                config_free(config);
                return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
        }
        if (r < 0)
                return EXIT_FAILURE;

        if (geteuid() != 0) {
                config_free(config);
                fprintf(stderr, "hipsd: must run as root (loads BPF programs, holds execs).\n");
                return EXIT_FAILURE;
        }

        r = take_instance_lock();
        if (r < 0) {
                config_free(config);
                return EXIT_FAILURE;
        }

        /* sd-event takes signals through signalfd: block them first. */
        sigemptyset(&mask);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        sigaddset(&mask, SIGHUP);
        (void) sigprocmask(SIG_BLOCK, &mask, NULL);

        r = manager_new(arg_config, arg_log_file, &m);
        if (r < 0) {
                config_free(config);
                return EXIT_FAILURE;
        }
        m->config = config;
        m->ringbuf_size = arg_ringbuf_size;

        r = manager_start(m, arg_functional);
        if (r < 0) {
                manager_stop(m);
                return EXIT_FAILURE;
        }

        (void) manager_arm_ready(m);

        r = sd_event_loop(m->event);
        manager_stop(m);
        (void) sd_notify(false, "STOPPING=1");
        if (r < 0) {
                log_error_errno(r, "Event loop failed: %m");
                return EXIT_FAILURE;
        }
        return EXIT_SUCCESS;
}

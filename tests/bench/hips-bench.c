/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* hips-bench: what hipsd costs the execs of a machine, measured against no
 * hipsd on the same machine in the same run. tests/bench/RESULTS.md says what
 * each row means and holds the latest figures.
 *
 * The bench starts hipsd itself, on configs it writes to a temporary
 * directory, and learns the moment hipsd is ready from READY=1 on a
 * NOTIFY_SOCKET it binds. Blocks without hipsd (the baseline) and blocks with
 * it alternate, in rounds, because these shared 2-core machines move by 2x
 * from one minute to the next.
 *
 * Exec latency is measured from just before execve() in the forked child to
 * the first thing main() of the new image does (hips-bench-stamp writes
 * CLOCK_MONOTONIC to fd 3); "added" is hipsd's percentile minus the
 * baseline's, per percentile. Only timings are reported: nothing here fails
 * on a slow figure. It does fail (exit 1) when a process was left stopped or
 * a ring-buffer event was dropped, which are bugs, not costs. */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <json-c/json.h>

#include "hips-abi.h"
#include "util.h"

#ifndef HIPS_BENCH_HIPSD
#define HIPS_BENCH_HIPSD "hipsd"
#endif
#ifndef HIPS_BENCH_STAMP
#define HIPS_BENCH_STAMP "hips-bench-stamp"
#endif
#ifndef HIPS_BENCH_RESPONDER
#define HIPS_BENCH_RESPONDER "hips-bench-responder"
#endif
#ifndef HIPS_BENCH_BASE_CONFIG
#define HIPS_BENCH_BASE_CONFIG "config.json"
#endif

#define NSEC_PER_USEC UINT64_C(1000)
#define NSEC_PER_MSEC UINT64_C(1000000)
#define NSEC_PER_SEC UINT64_C(1000000000)

#define STORM_WORKERS 4
#define STORM_BINARIES 4
#define COLD_SIZE (50u * 1024u * 1024u)
#define WARMUP_EXECS 5
/* hipsd decides within decision_timeout_ms (2 s shipped): a child not done by then is stuck. */
#define CHILD_TIMEOUT_NS (5 * NSEC_PER_SEC)
#define READY_TIMEOUT_NS (20 * NSEC_PER_SEC)
/* hipsd's hash cache keeps only files whose ctime is this old (hash.c), plus margin. */
#define HASH_SETTLE_NS (2200 * NSEC_PER_MSEC)
/* A gated exec started this long after a cold 50 MiB one meets hipsd busy hashing. */
#define HOL_DELAY_NS (2 * NSEC_PER_MSEC)

extern char **environ;

enum {
        SECTION_FASTPATH = 1 << 0,
        SECTION_GATED = 1 << 1,
        SECTION_COLD = 1 << 2,
        SECTION_STORM = 1 << 3,
        SECTION_STARTUP = 1 << 4,
        SECTION_ALL = (1 << 5) - 1,
};

static const struct {
        const char *name;
        unsigned bit;
} section_names[] = {
        { "fastpath", SECTION_FASTPATH },
        { "gated", SECTION_GATED },
        { "cold", SECTION_COLD },
        { "storm", SECTION_STORM },
        { "startup", SECTION_STARTUP },
};

/* A hipsd configuration: the shipped config.json with "mode" and "gate" set
 * (and, for one fast-path variant, ld.so added to the kernel allowlist). */
typedef struct Setup {
        const char *name;
        const char *mode;       /* config "mode" */
        const char *gate;       /* config "gate" */
        bool safe;
        bool allow_ldso;
        int responder;          /* instead of hipsd: 1 hips-bench-responder, 2 the same with ld.so ignored */
} Setup;

static const Setup setup_safe_auto = { .name = "safe/auto", .mode = "safe", .gate = "auto", .safe = true };
static const Setup setup_safe_auto_ldso = {
        .name = "safe/auto+ld.so", .mode = "safe", .gate = "auto", .safe = true, .allow_ldso = true,
};
static const Setup setup_safe_sigstop = { .name = "safe/sigstop", .mode = "safe", .gate = "sigstop", .safe = true };
static const Setup setup_functional_auto = { .name = "functional/auto", .mode = "functional", .gate = "auto" };
static const Setup setup_functional_sigstop = { .name = "functional/sigstop", .mode = "functional", .gate = "sigstop" };
/* The floor: what a hold costs here when answering takes no time at all.
 * hipsd holds a gated exec once (its file; ld.so has an ignore mark): "1
 * bare hold" is its floor; "2 bare holds" is what one hold more would cost. */
static const Setup setup_floor_2 = { .name = "floor: 2 bare holds", .mode = "-", .gate = "-", .responder = 1 };
static const Setup setup_floor_1 = { .name = "floor: 1 bare hold", .mode = "-", .gate = "-", .responder = 2 };

static const Setup *const gated_setups[] = {
        &setup_safe_auto, &setup_safe_sigstop, &setup_functional_auto, &setup_functional_sigstop,
        &setup_floor_2, &setup_floor_1,
};
static const Setup *const safe_setups[] = { &setup_safe_auto, &setup_safe_sigstop };
/* In functional mode the gate setting only decides whether an unmarked
 * fanotify group exists: one storm for both. */
static const Setup *const storm_setups[] = { &setup_safe_auto, &setup_safe_sigstop, &setup_functional_auto };

static const char *arg_hipsd = HIPS_BENCH_HIPSD;
static const char *arg_stamp = HIPS_BENCH_STAMP;
static const char *arg_base_config = HIPS_BENCH_BASE_CONFIG;
static const char *arg_responder = HIPS_BENCH_RESPONDER;
static const char *arg_profile = NULL;
static const char *arg_hipsd_prefix = NULL;
static bool arg_json = false;
static const char *arg_json_out = NULL;
static bool arg_quick = false;
static bool arg_keep_tmp = false;
static unsigned arg_sections = SECTION_ALL;
static unsigned arg_n = 20000;
static unsigned arg_rounds = 10;
static unsigned arg_cold_rounds = 5;
static unsigned arg_startups = 10;
static double arg_storm_seconds = 10.0;
static double arg_wait_alone = 30.0;
static unsigned arg_block_tries = 4;      /* measure a block spoiled by a foreign hipsd again, up to this often */

/* Shared with the forked children (MAP_SHARED survives fork, not exec). */
typedef struct Shared {
        volatile uint64_t t0[2];                        /* per stamp slot: just before execve() */
        volatile int stop;                              /* storm: workers finish */
        volatile uint64_t storm_execs[STORM_WORKERS];
} Shared;

static Shared *shared = NULL;
static char tmpdir[] = "/tmp/hips-bench.XXXXXX";
static char notify_path[PATH_MAX];
static int notify_fd = -EBADF;
static char ldso_path[PATH_MAX];
static char true_path[PATH_MAX];
static char gated_path[PATH_MAX];
static char storm_paths[STORM_BINARIES][PATH_MAX];
static uint64_t binaries_ready_realtime_ns;     /* when the settle time of the test binaries is over */
static pid_t current_hipsd = 0;
static unsigned profile_runs = 0;

/* Problems that are bugs, not costs: they make the exit status 1. */
static unsigned total_left_stopped = 0;
/* Found stopped while another hipsd ran (or had run during the block): its
 * gate stops our execs too, and may be frozen by its own tests. Not ours. */
static unsigned total_left_stopped_foreign = 0;
static bool block_foreign = false;
static uint64_t total_drops = 0;
static unsigned blocks_total = 0;
static unsigned blocks_foreign = 0;
static unsigned blocks_redone = 0;

static void progress(const char *format, ...) __attribute__((format(printf, 1, 2)));
static void progress(const char *format, ...) {
        va_list ap;

        va_start(ap, format);
        (void) fputs("hips-bench: ", stderr);
        (void) vfprintf(stderr, format, ap);
        (void) fputc('\n', stderr);
        va_end(ap);
}

static uint64_t timespec_to_ns(const struct timespec *ts) {
        return (uint64_t) ts->tv_sec * NSEC_PER_SEC + (uint64_t) ts->tv_nsec;
}

static uint64_t now_ns(void) {
        struct timespec ts;

        (void) clock_gettime(CLOCK_MONOTONIC, &ts);
        return timespec_to_ns(&ts);
}

static uint64_t realtime_ns(void) {
        struct timespec ts;

        (void) clock_gettime(CLOCK_REALTIME, &ts);
        return timespec_to_ns(&ts);
}

/* The SIGALRM watchdog (below) interrupts sleeps: sleep the rest. */
static void sleep_ns(uint64_t ns) {
        struct timespec ts = { .tv_sec = (time_t) (ns / NSEC_PER_SEC), .tv_nsec = (long) (ns % NSEC_PER_SEC) };

        while (clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, &ts) == EINTR)
                ;
}

/* A SIGALRM every 250 ms, without SA_RESTART, so that a waitpid() on a child
 * that stays stopped returns (EINTR) and its deadline can be checked. Timers
 * are not inherited by fork(), so the children never see it. */
static void on_alarm(int sig) {
}

/* SIGINT/SIGTERM: stop our hipsd (it would keep gating the machine) and the
 * storm workers, then go. The temporary directory is left behind. */
static void on_terminate(int sig) {
        if (current_hipsd > 0)
                (void) kill(current_hipsd, SIGTERM);
        if (shared)
                shared->stop = 1;
        _exit(128 + sig);
}

static int watchdog_start(void) {
        struct sigaction sa = { .sa_handler = on_alarm };
        struct itimerval it = {
                .it_interval = { .tv_usec = 250000 },
                .it_value = { .tv_usec = 250000 },
        };

        struct sigaction term = { .sa_handler = on_terminate };

        (void) sigemptyset(&sa.sa_mask);
        (void) sigemptyset(&term.sa_mask);
        if (sigaction(SIGALRM, &sa, NULL) < 0 ||
            sigaction(SIGINT, &term, NULL) < 0 ||
            sigaction(SIGTERM, &term, NULL) < 0 ||
            setitimer(ITIMER_REAL, &it, NULL) < 0)
                return negative_errno();
        return 0;
}

/* Returns 0 with the wait status, or -ETIME when the child did not end by the
 * deadline (it is still there: stopped, or hung). */
static int wait_child(pid_t pid, uint64_t timeout_ns, int *ret_status) {
        uint64_t start = now_ns();
        int status;

        for (;;) {
                pid_t p = waitpid(pid, &status, 0);

                if (p == pid) {
                        if (ret_status)
                                *ret_status = status;
                        return 0;
                }
                if (p < 0 && errno != EINTR)
                        return negative_errno();
                if (now_ns() - start >= timeout_ns)
                        return -ETIME;
        }
}

static void kill_and_reap(pid_t pid) {
        (void) kill(pid, SIGKILL);
        (void) wait_child(pid, CHILD_TIMEOUT_NS, NULL);
}

/* ---- samples ---------------------------------------------------------- */

typedef struct Samples {
        uint64_t *v;
        size_t n;
        size_t allocated;
} Samples;

static int samples_add(Samples *s, uint64_t x) {
        if (s->n == s->allocated) {
                size_t m = s->allocated ? s->allocated * 2 : 1024;
                uint64_t *t = realloc(s->v, m * sizeof(uint64_t));

                if (!t)
                        return -ENOMEM;
                s->v = t;
                s->allocated = m;
        }
        s->v[s->n++] = x;
        return 0;
}

static void samples_done(Samples *s) {
        free(s->v);
        *s = (Samples) {};
}

static int cmp_u64(const void *a, const void *b) {
        uint64_t x = *(const uint64_t *) a, y = *(const uint64_t *) b;

        return x < y ? -1 : x > y;
}

static void samples_sort(Samples *s) {
        if (s->n > 0)
                qsort(s->v, s->n, sizeof(uint64_t), cmp_u64);
}

/* Nearest rank on sorted samples, in µs; NAN without samples. */
static double samples_pct_us(const Samples *s, double q) {
        size_t i;

        if (s->n == 0)
                return NAN;
        i = (size_t) ceil(q * (double) s->n);
        i = i > 0 ? i - 1 : 0;
        if (i >= s->n)
                i = s->n - 1;
        return (double) s->v[i] / (double) NSEC_PER_USEC;
}

static double samples_mean_us(const Samples *s) {
        double sum = 0;

        if (s->n == 0)
                return NAN;
        for (size_t i = 0; i < s->n; i++)
                sum += (double) s->v[i];
        return sum / (double) s->n / (double) NSEC_PER_USEC;
}

static double samples_max_us(const Samples *s) {
        return s->n == 0 ? NAN : (double) s->v[s->n - 1] / (double) NSEC_PER_USEC;
}

/* ---- result rows ------------------------------------------------------ */

typedef struct Row {
        const char *section;
        char name[64];
        const char *unit;               /* of baseline and hipsd */
        double baseline;                /* NAN: not measured / not applicable */
        double hipsd;
        double added;
        const char *added_unit;
        char target[32];                /* "" without a target */
        int met;                        /* 1 yes, 0 no, -1 no target */
} Row;

static Row rows[128];
static size_t n_rows = 0;

static Row *row_add(const char *section, const char *unit, const char *format, ...) __attribute__((format(printf, 3, 4)));
static Row *row_add(const char *section, const char *unit, const char *format, ...) {
        static Row overflow;
        Row *r;
        va_list ap;

        r = n_rows < ELEMENTSOF(rows) ? &rows[n_rows++] : &overflow;
        *r = (Row) {
                .section = section,
                .unit = unit,
                .baseline = NAN,
                .hipsd = NAN,
                .added = NAN,
                .added_unit = unit,
                .met = -1,
        };
        va_start(ap, format);
        (void) vsnprintf(r->name, sizeof(r->name), format, ap);
        va_end(ap);
        return r;
}

/* Target "added < limit", judged only when the added value was measured. */
static void row_target_below(Row *r, double limit, const char *text) {
        (void) snprintf(r->target, sizeof(r->target), "%s", text);
        r->met = isnan(r->added) ? 0 : r->added < limit;
}

static void row_target_value_below(Row *r, double value, double limit, const char *text) {
        (void) snprintf(r->target, sizeof(r->target), "%s", text);
        r->met = isnan(value) ? 0 : value < limit;
}

static void format_number(char *buf, size_t size, double v, const char *unit, bool sign) {
        if (isnan(v))
                (void) snprintf(buf, size, "-");
        else if (fabs(v) >= 100000 || streq(unit, "") || streq(unit, "/s"))
                (void) snprintf(buf, size, sign ? "%+.0f%s%s" : "%.0f%s%s", v, *unit ? " " : "", unit);
        else if (fabs(v) >= 100)
                (void) snprintf(buf, size, sign ? "%+.1f %s" : "%.1f %s", v, unit);
        else
                (void) snprintf(buf, size, sign ? "%+.2f %s" : "%.2f %s", v, unit);
}

static void print_table(FILE *f) {
        const char *section = NULL;

        (void) fprintf(f, "%-50s %12s %12s %12s  %-20s %s\n", "row", "baseline", "hipsd", "added", "target", "met");
        for (size_t i = 0; i < n_rows; i++) {
                const Row *r = &rows[i];
                char b[32], h[32], a[32];

                if (!section || !streq(section, r->section))
                        (void) fprintf(f, "-- %s\n", r->section);
                section = r->section;

                format_number(b, sizeof(b), r->baseline, r->unit, false);
                format_number(h, sizeof(h), r->hipsd, r->unit, false);
                format_number(a, sizeof(a), r->added, r->added_unit, true);
                (void) fprintf(f, "%-50s %12s %12s %12s  %-20s %s\n", r->name, b, h, a, r->target,
                               r->met < 0 ? "" : r->met ? "yes" : "NO");
        }
}

static void json_string(FILE *f, const char *s) {
        (void) fputc('"', f);
        for (; *s; s++) {
                if (*s == '"' || *s == '\\')
                        (void) fprintf(f, "\\%c", *s);
                else if ((unsigned char) *s < 0x20)
                        (void) fprintf(f, "\\u%04x", *s);
                else
                        (void) fputc(*s, f);
        }
        (void) fputc('"', f);
}

static void json_number(FILE *f, double v) {
        if (isnan(v))
                (void) fputs("null", f);
        else
                (void) fprintf(f, "%.3f", v);
}

/* ---- machine ---------------------------------------------------------- */

typedef struct Machine {
        long cpus;
        char kernel[128];
        char cpu_model[128];
        char date[64];
} Machine;

static void machine_read(Machine *m) {
        struct utsname u;
        char line[512];
        time_t t = time(NULL);
        struct tm tm;
        FILE *f;

        *m = (Machine) { .cpus = sysconf(_SC_NPROCESSORS_ONLN) };
        if (uname(&u) == 0)
                (void) snprintf(m->kernel, sizeof(m->kernel), "%s", u.release);
        (void) snprintf(m->cpu_model, sizeof(m->cpu_model), "unknown");
        f = fopen("/proc/cpuinfo", "re");
        if (f) {
                while (fgets(line, sizeof(line), f))
                        if (strncmp(line, "model name", 10) == 0) {
                                char *p = strchr(line, ':');

                                if (p) {
                                        p += strspn(p + 1, " \t") + 1;
                                        p[strcspn(p, "\n")] = '\0';
                                        (void) snprintf(m->cpu_model, sizeof(m->cpu_model), "%s", p);
                                }
                                break;
                        }
                (void) fclose(f);
        }
        if (gmtime_r(&t, &tm))
                (void) strftime(m->date, sizeof(m->date), "%Y-%m-%d %H:%M UTC", &tm);
}

/* ---- /proc ------------------------------------------------------------ */

static int read_file(const char *path, char *buf, size_t size) {
        _cleanup_close_ int fd = -EBADF;
        ssize_t n;

        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return negative_errno();
        n = read(fd, buf, size - 1);
        if (n < 0)
                return negative_errno();
        buf[n] = '\0';
        return (int) n;
}

/* State and parent from /proc/PID/stat; comm may hold spaces and ')'. */
static int proc_stat_state(pid_t pid, char *ret_state, pid_t *ret_ppid) {
        char path[64], buf[1024], *p;
        int ppid, r;

        (void) snprintf(path, sizeof(path), "/proc/%d/stat", (int) pid);
        r = read_file(path, buf, sizeof(buf));
        if (r < 0)
                return r;
        p = strrchr(buf, ')');
        if (!p || sscanf(p + 1, " %c %d", ret_state, &ppid) != 2)
                return -EBADMSG;
        *ret_ppid = ppid;
        return 0;
}

typedef struct ProcEntry {
        pid_t pid;
        pid_t ppid;
        char state;
} ProcEntry;

static bool is_descendant(const ProcEntry *e, size_t n, pid_t pid, pid_t ancestor) {
        for (unsigned depth = 0; depth < 64 && pid > 1; depth++) {
                pid_t parent = 0;

                for (size_t i = 0; i < n; i++)
                        if (e[i].pid == pid) {
                                parent = e[i].ppid;
                                break;
                        }
                if (parent == ancestor)
                        return true;
                pid = parent;
        }
        return false;
}

/* Descendants of the bench in state T or t (stopped): a gate that forgot to
 * resume them. With kill_them they are killed, so the run can go on. */
static unsigned stopped_descendants(bool kill_them) {
        _cleanup_free_ ProcEntry *e = NULL;
        size_t n = 0, allocated = 0;
        unsigned found = 0;
        struct dirent *de;
        DIR *d;

        d = opendir("/proc");
        if (!d)
                return 0;
        while ((de = readdir(d))) {
                ProcEntry pe;
                char *end;
                long pid = strtol(de->d_name, &end, 10);

                if (*end || pid <= 0)
                        continue;
                pe.pid = (pid_t) pid;
                if (proc_stat_state(pe.pid, &pe.state, &pe.ppid) < 0)
                        continue;
                if (n == allocated) {
                        size_t m = allocated ? allocated * 2 : 512;
                        ProcEntry *t = realloc(e, m * sizeof(ProcEntry));

                        if (!t)
                                break;
                        e = t;
                        allocated = m;
                }
                e[n++] = pe;
        }
        (void) closedir(d);

        for (size_t i = 0; i < n; i++)
                if ((e[i].state == 'T' || e[i].state == 't') && is_descendant(e, n, e[i].pid, getpid())) {
                        progress("process %d left stopped (state %c)", (int) e[i].pid, e[i].state);
                        found++;
                        if (kill_them)
                                (void) kill(e[i].pid, SIGKILL);
                }
        return found;
}

/* hipsd instances this bench did not start: their gating would be in our baseline. */
static unsigned foreign_hipsd(void) {
        struct dirent *de;
        unsigned n = 0;
        DIR *d;

        d = opendir("/proc");
        if (!d)
                return 0;
        while ((de = readdir(d))) {
                char path[64], comm[64], state, *end;
                long pid = strtol(de->d_name, &end, 10);
                pid_t ppid;

                if (*end || pid <= 0 || (pid_t) pid == current_hipsd)
                        continue;
                (void) snprintf(path, sizeof(path), "/proc/%ld/comm", pid);
                if (read_file(path, comm, sizeof(comm)) <= 0 || !streq(comm, "hipsd\n"))
                        continue;
                /* A zombie, or one that is exiting (no cmdline: its memory is
                 * gone, and its files, BPF links and fanotify group with it),
                 * gates nothing. */
                if (proc_stat_state((pid_t) pid, &state, &ppid) < 0 || state == 'Z' || state == 'X')
                        continue;
                (void) snprintf(path, sizeof(path), "/proc/%ld/cmdline", pid);
                if (read_file(path, comm, sizeof(comm)) > 0)
                        n++;
        }
        (void) closedir(d);
        return n;
}

/* Every measured block starts here: wait a while for foreign hipsd
 * instances (other people's tests) to go. */
static void block_begin(void) {
        uint64_t deadline = now_ns() + (uint64_t) (arg_wait_alone * (double) NSEC_PER_SEC);
        unsigned n;
        bool said = false;

        while ((n = foreign_hipsd()) > 0 && now_ns() < deadline) {
                if (!said)
                        progress("another hipsd is running (%u); waiting up to %.0f s for it to go", n, arg_wait_alone);
                said = true;
                sleep_ns(200 * NSEC_PER_MSEC);
        }
        block_foreign = n > 0;
}

/* Between execs: note a foreign hipsd that came up in the middle of a block. */
static void block_poll(unsigned i) {
        if (i % 64 == 63 && !block_foreign && foreign_hipsd() > 0)
                block_foreign = true;
}

/* Whether the block must be measured again because a foreign hipsd ran
 * during it: its gate holds our execs too, and through the stopped map all
 * instances share, its resumes look like tampering to ours and the other
 * way round. After arg_block_tries the block is kept, and counted as spoiled. */
static bool block_redo(unsigned attempt) {
        if (!block_foreign && foreign_hipsd() > 0)
                block_foreign = true;
        if (block_foreign && arg_wait_alone > 0 && attempt + 1 < arg_block_tries) {
                blocks_redone++;
                progress("another hipsd ran during the block: measuring it again");
                return true;
        }
        blocks_total++;
        if (block_foreign)
                blocks_foreign++;
        return false;
}

/* Count processes found left stopped; returns how many are charged to our hipsd. */
static unsigned left_stopped_add(unsigned n) {
        if (n == 0)
                return 0;
        if (block_foreign || foreign_hipsd() > 0) {
                progress("%u processes left stopped while another hipsd was running: not counted against ours", n);
                total_left_stopped_foreign += n;
                return 0;
        }
        total_left_stopped += n;
        return n;
}

typedef struct Usage {
        uint64_t cpu_ns;                /* utime + stime */
        uint64_t hwm_kib;               /* VmHWM: peak resident set */
        uint64_t rss_kib;               /* VmRSS: resident set now */
} Usage;

static int proc_usage(pid_t pid, Usage *ret) {
        char path[64], buf[4096], *p;
        unsigned long long cpu;
        Usage u = {};
        int r;

        /* schedstat: on-CPU time in ns; stat's utime/stime are 10 ms ticks. */
        (void) snprintf(path, sizeof(path), "/proc/%d/schedstat", (int) pid);
        r = read_file(path, buf, sizeof(buf));
        if (r > 0 && sscanf(buf, "%llu", &cpu) == 1 && cpu > 0)
                u.cpu_ns = cpu;
        else {
                unsigned long utime, stime;

                (void) snprintf(path, sizeof(path), "/proc/%d/stat", (int) pid);
                r = read_file(path, buf, sizeof(buf));
                if (r < 0)
                        return r;
                p = strrchr(buf, ')');
                /* Fields 14 and 15; p points before field 3. */
                if (!p || sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &utime, &stime) != 2)
                        return -EBADMSG;
                u.cpu_ns = (uint64_t) (utime + stime) * (NSEC_PER_SEC / (uint64_t) sysconf(_SC_CLK_TCK));
        }

        (void) snprintf(path, sizeof(path), "/proc/%d/status", (int) pid);
        r = read_file(path, buf, sizeof(buf));
        if (r < 0)
                return r;
        p = strstr(buf, "\nVmHWM:");
        if (p)
                u.hwm_kib = strtoull(p + 7, NULL, 10);
        p = strstr(buf, "\nVmRSS:");
        if (p)
                u.rss_kib = strtoull(p + 7, NULL, 10);

        *ret = u;
        return 0;
}

/* Where hipsd's resident memory is: Rss per mapping name from
 * /proc/PID/smaps, the largest few, as one progress line. */
static void rss_breakdown(pid_t pid, const char *what) {
        struct { char name[96]; uint64_t kib; } top[64];
        char path[64], line[512], name[96] = "";
        size_t n = 0;
        FILE *f;

        (void) snprintf(path, sizeof(path), "/proc/%d/smaps", (int) pid);
        f = fopen(path, "re");
        if (!f)
                return;
        while (fgets(line, sizeof(line), f)) {
                unsigned long long kib;

                if (sscanf(line, "Rss: %llu kB", &kib) == 1) {
                        size_t i;

                        for (i = 0; i < n && !streq(top[i].name, name); i++)
                                ;
                        if (i == n && n < ELEMENTSOF(top)) {
                                (void) snprintf(top[n].name, sizeof(top[n].name), "%s", name);
                                top[n++].kib = 0;
                        }
                        if (i < n)
                                top[i].kib += kib;
                        continue;
                }
                /* A mapping line, "start-end perms offset dev inode [name]"
                 * (field lines start with a capital letter). */
                if (!((line[0] >= '0' && line[0] <= '9') || (line[0] >= 'a' && line[0] <= 'f')))
                        continue;
                {
                        const char *p = line;
                        size_t k;

                        for (int fields = 0; *p && fields < 5; fields++) {
                                p += strcspn(p, " ");
                                p += strspn(p, " ");
                        }
                        k = strcspn(p, "\n");
                        if (k == 0) {
                                p = "[anon]";
                                k = strlen(p);
                        }
                        k = k < sizeof(name) - 1 ? k : sizeof(name) - 1;
                        memcpy(name, p, k);
                        name[k] = '\0';
                }
        }
        (void) fclose(f);

        for (size_t i = 0; i < n; i++)
                for (size_t j = i + 1; j < n; j++)
                        if (top[j].kib > top[i].kib) {
                                __typeof__(top[0]) t = top[i];
                                top[i] = top[j];
                                top[j] = t;
                        }
        {
                char out[1024];
                size_t o = 0;

                for (size_t i = 0; i < n && i < 8 && o + 128 < sizeof(out); i++) {
                        const char *base = strrchr(top[i].name, '/');

                        o += (size_t) snprintf(out + o, sizeof(out) - o, "%s%s %.1f", i ? ", " : "",
                                               base && top[i].name[0] == '/' ? base + 1 : top[i].name,
                                               (double) top[i].kib / 1024.0);
                }
                progress("%s: hipsd RSS by mapping (MiB): %s", what, o ? out : "?");
        }
}

/* ---- hipsd's BPF counters ---------------------------------------------- */

/* The per-CPU "counters" map of one hipsd instance, found through its fds
 * (two instances may run at once, so the name alone is not enough). The fd
 * we return keeps the map readable after hipsd exits. */
static int counters_map_open(pid_t pid) {
        char dir[64];
        struct dirent *de;
        int found = -ENOENT;
        DIR *d;

        (void) snprintf(dir, sizeof(dir), "/proc/%d/fd", (int) pid);
        d = opendir(dir);
        if (!d)
                return negative_errno();
        while (found < 0 && (de = readdir(d))) {
                char path[PATH_MAX], link[64], info_text[1024], *p;
                struct bpf_map_info info = {};
                uint32_t len = sizeof(info);
                unsigned id;
                ssize_t n;
                int fd;

                if (de->d_name[0] == '.')
                        continue;
                (void) snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
                n = readlink(path, link, sizeof(link) - 1);
                if (n < 0)
                        continue;
                link[n] = '\0';
                if (!streq(link, "anon_inode:bpf-map"))
                        continue;
                (void) snprintf(path, sizeof(path), "/proc/%d/fdinfo/%s", (int) pid, de->d_name);
                if (read_file(path, info_text, sizeof(info_text)) < 0)
                        continue;
                p = strstr(info_text, "map_id:");
                if (!p || sscanf(p + 7, "%u", &id) != 1)
                        continue;
                fd = bpf_map_get_fd_by_id(id);
                if (fd < 0)
                        continue;
                if (bpf_obj_get_info_by_fd(fd, &info, &len) == 0 &&
                    streq(info.name, "counters") &&
                    info.type == BPF_MAP_TYPE_PERCPU_ARRAY &&
                    info.max_entries == _HIPS_CNT_MAX)
                        found = fd;
                else
                        (void) close(fd);
        }
        (void) closedir(d);
        return found;
}

static int counters_read(int fd, uint64_t ret[_HIPS_CNT_MAX]) {
        _cleanup_free_ uint64_t *per_cpu = NULL;
        int n_cpus = libbpf_num_possible_cpus();

        if (fd < 0)
                return -EBADF;
        if (n_cpus <= 0)
                return n_cpus < 0 ? n_cpus : -EINVAL;
        per_cpu = calloc((size_t) n_cpus, sizeof(uint64_t));
        if (!per_cpu)
                return -ENOMEM;
        for (uint32_t i = 0; i < _HIPS_CNT_MAX; i++) {
                uint64_t sum = 0;

                if (bpf_map_lookup_elem(fd, &i, per_cpu) < 0)
                        return negative_errno();
                for (int c = 0; c < n_cpus; c++)
                        sum += per_cpu[c];
                ret[i] = sum;
        }
        return 0;
}

/* ---- hipsd ------------------------------------------------------------ */

typedef struct Hipsd {
        pid_t pid;
        const Setup *setup;
        uint64_t startup_ns;            /* fork() to READY=1 */
        Usage ready;                    /* right after READY=1 */
        int counters_fd;
        pid_t profiler;
} Hipsd;

typedef struct HipsdResult {
        Usage usage;                    /* just before SIGTERM */
        uint64_t counters[_HIPS_CNT_MAX];
        bool have_counters;
} HipsdResult;

static bool json_array_has_string(struct json_object *a, const char *v) {
        for (size_t i = 0; i < json_object_array_length(a); i++) {
                const char *e = json_object_get_string(json_object_array_get_idx(a, i));

                if (e && streq(e, v))
                        return true;
        }
        return false;
}

/* The shipped config.json (--base-config) with the setup's mode and gate:
 * its rules, which match none of the bench's binaries, so every gated exec
 * is judged in full and allowed. /bin/true is made sure to be on the kernel
 * allowlist, which the fast-path rows need. */
static int write_config(const Setup *s, char *ret_path, size_t size) {
        struct json_object *o, *list;
        int r = 0;

        o = json_object_from_file(arg_base_config);
        if (!o || !json_object_is_type(o, json_type_object)) {
                progress("cannot read %s as a JSON object: %s", arg_base_config, json_util_get_last_err() ?: "?");
                json_object_put(o);
                return -EINVAL;
        }
        if (!json_object_object_get_ex(o, "kernel_allowlist", &list) || !json_object_is_type(list, json_type_array)) {
                list = json_object_new_array();
                json_object_object_add(o, "kernel_allowlist", list);
        }
        if (!json_array_has_string(list, true_path) && !json_array_has_string(list, "/bin/true"))
                json_object_array_add(list, json_object_new_string(true_path));
        if (s->allow_ldso && !json_array_has_string(list, ldso_path))
                json_object_array_add(list, json_object_new_string(ldso_path));
        json_object_object_add(o, "mode", json_object_new_string(s->mode));
        /* Costs nothing without tampering; spares other hipsd instances' execs
         * (they share the stopped map, so their resumes look like tampering). */
        json_object_object_add(o, "tamper_action", json_object_new_string("log"));
        json_object_object_add(o, "gate", json_object_new_string(s->gate));

        (void) snprintf(ret_path, size, "%s/config-%s-%s%s.json", tmpdir, s->mode, s->gate, s->allow_ldso ? "-ldso" : "");
        if (json_object_to_file_ext(ret_path, o, JSON_C_TO_STRING_PRETTY) < 0)
                r = -EIO;
        json_object_put(o);
        return r;
}

static void dump_hipsd_output(void) {
        char path[PATH_MAX], buf[8192];

        (void) snprintf(path, sizeof(path), "%s/hipsd.out", tmpdir);
        if (read_file(path, buf, sizeof(buf)) > 0)
                (void) fprintf(stderr, "---- hipsd output:\n%s----\n", buf);
}

static void notify_drain(void) {
        char buf[4096];

        while (recv(notify_fd, buf, sizeof(buf), MSG_DONTWAIT) >= 0)
                ;
}

/* READY=1 from pid, on the NOTIFY_SOCKET. */
static int wait_ready(pid_t pid, uint64_t timeout_ns) {
        uint64_t deadline = now_ns() + timeout_ns;

        for (;;) {
                union {
                        struct cmsghdr h;
                        char buf[CMSG_SPACE(sizeof(struct ucred))];
                } control;
                char buf[4096];
                struct iovec iov = { buf, sizeof(buf) - 1 };
                struct msghdr mh = {
                        .msg_iov = &iov,
                        .msg_iovlen = 1,
                        .msg_control = &control,
                        .msg_controllen = sizeof(control),
                };
                struct pollfd p = { .fd = notify_fd, .events = POLLIN };
                struct ucred *cred = NULL;
                ssize_t n;
                int status;

                if (waitpid(pid, &status, WNOHANG) == pid)
                        return -ECHILD;
                if (now_ns() >= deadline)
                        return -ETIME;
                if (poll(&p, 1, 50) <= 0)
                        continue;
                n = recvmsg(notify_fd, &mh, MSG_DONTWAIT);
                if (n < 0)
                        continue;
                buf[n] = '\0';
                for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c))
                        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_CREDENTIALS)
                                cred = (struct ucred *) CMSG_DATA(c);
                if (cred && cred->pid != pid)
                        continue;
                if (strncmp(buf, "READY=1\n", 8) == 0 || streq(buf, "READY=1") || strstr(buf, "\nREADY=1"))
                        return 0;
        }
}

/* Split a command prefix at spaces (no quoting: for tools like valgrind). */
static size_t split_prefix(char *s, char **argv, size_t max) {
        size_t n = 0;

        for (char *tok = strtok(s, " "); tok && n < max; tok = strtok(NULL, " "))
                argv[n++] = tok;
        return n;
}

static void profiler_start(Hipsd *h) {
        char cmd[4096];
        size_t o = 0;

        if (!arg_profile)
                return;
        /* %p: hipsd's pid, %n: a counter, so that several runs keep their files. */
        for (const char *p = arg_profile; *p && o + 32 < sizeof(cmd); p++) {
                if (p[0] == '%' && p[1] == 'p') {
                        o += (size_t) snprintf(cmd + o, sizeof(cmd) - o, "%d", (int) h->pid);
                        p++;
                } else if (p[0] == '%' && p[1] == 'n') {
                        o += (size_t) snprintf(cmd + o, sizeof(cmd) - o, "%u", profile_runs);
                        p++;
                } else
                        cmd[o++] = *p;
        }
        cmd[o] = '\0';
        profile_runs++;

        h->profiler = fork();
        if (h->profiler == 0) {
                (void) setpgid(0, 0);
                (void) execl("/bin/sh", "sh", "-c", cmd, (char *) NULL);
                _exit(127);
        }
        if (h->profiler < 0)
                h->profiler = 0;
        else
                sleep_ns(300 * NSEC_PER_MSEC);  /* let perf attach */
}

static void profiler_stop(Hipsd *h) {
        if (h->profiler <= 0)
                return;
        (void) kill(-h->profiler, SIGINT);
        if (wait_child(h->profiler, 30 * NSEC_PER_SEC, NULL) < 0)
                kill_and_reap(h->profiler);
        h->profiler = 0;
}

static void binaries_settle(void);

static bool hipsd_output_has(const char *what) {
        char path[PATH_MAX], buf[8192];

        (void) snprintf(path, sizeof(path), "%s/hipsd.out", tmpdir);
        return read_file(path, buf, sizeof(buf)) > 0 && strstr(buf, what);
}

static int hipsd_start_once(const Setup *s, Hipsd *ret) {
        char config[PATH_MAX], out[PATH_MAX], log_path[PATH_MAX];
        uint64_t t0;
        pid_t pid;
        int r;

        if (!s->responder) {
                r = write_config(s, config, sizeof(config));
                if (r < 0)
                        return r;
        }
        (void) snprintf(out, sizeof(out), "%s/hipsd.out", tmpdir);
        (void) snprintf(log_path, sizeof(log_path), "%s/hips.log.json", tmpdir);
        (void) unlink(log_path);
        notify_drain();

        t0 = now_ns();
        pid = fork();
        if (pid < 0)
                return negative_errno();
        if (pid == 0) {
                char prefix[4096], *argv[64];
                size_t n = 0;
                int fd;

                /* A bench that dies must not leave a gate behind. */
                (void) prctl(PR_SET_PDEATHSIG, SIGTERM);
                fd = open(out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
                if (fd >= 0) {
                        (void) dup2(fd, STDOUT_FILENO);
                        (void) dup2(fd, STDERR_FILENO);
                }
                (void) setenv("NOTIFY_SOCKET", notify_path, 1);
                if (s->responder) {
                        argv[n++] = (char *) arg_responder;
                        if (s->responder == 2) {
                                argv[n++] = (char *) "--ignore";
                                argv[n++] = ldso_path;
                        }
                        argv[n] = NULL;
                        (void) execv(argv[0], argv);
                        _exit(127);
                }
                if (arg_hipsd_prefix) {
                        (void) snprintf(prefix, sizeof(prefix), "%s", arg_hipsd_prefix);
                        n = split_prefix(prefix, argv, ELEMENTSOF(argv) - 8);
                }
                argv[n++] = (char *) arg_hipsd;
                argv[n++] = (char *) "--config";
                argv[n++] = config;
                argv[n++] = (char *) "--log-file";
                argv[n++] = log_path;
                argv[n] = NULL;
                (void) execvp(argv[0], argv);
                _exit(127);
        }

        r = wait_ready(pid, arg_hipsd_prefix ? 10 * READY_TIMEOUT_NS : READY_TIMEOUT_NS);
        if (r == -ECHILD && hipsd_output_has("already running"))
                /* One hipsd per pid namespace: someone else's holds the lock. */
                return -EBUSY;
        if (r < 0) {
                progress("hipsd (%s) did not get ready: %s", s->name,
                         r == -ECHILD ? "it exited" : r == -ETIME ? "timeout" : strerror(-r));
                if (r != -ECHILD)
                        kill_and_reap(pid);
                dump_hipsd_output();
                return r;
        }

        *ret = (Hipsd) {
                .pid = pid,
                .setup = s,
                .startup_ns = now_ns() - t0,
                .counters_fd = s->responder ? -EBADF : counters_map_open(pid),
        };
        if (ret->counters_fd < 0 && !s->responder)
                progress("cannot find the counters map of hipsd %d: %s", (int) pid, strerror(-ret->counters_fd));
        (void) proc_usage(pid, &ret->ready);
        current_hipsd = pid;
        return 0;
}

/* Start hipsd; while another hipsd holds the one-per-pid-namespace lock,
 * wait for it (up to 2 min, 20 s with --quick). */
static int hipsd_start(const Setup *s, Hipsd *ret) {
        uint64_t deadline = now_ns() + (arg_quick ? 20 : 120) * NSEC_PER_SEC;
        bool said = false;
        int r;

        for (;;) {
                r = hipsd_start_once(s, ret);
                if (r != -EBUSY)
                        return r;
                if (now_ns() >= deadline) {
                        progress("another hipsd kept the instance lock: cannot start ours (%s)", s->name);
                        return r;
                }
                if (!said)
                        progress("another hipsd holds the instance lock; waiting for it to go");
                said = true;
                sleep_ns(500 * NSEC_PER_MSEC);
        }
}

/* Usage and counters, then SIGTERM. A hipsd that died on its own is an error. */
static int hipsd_stop(Hipsd *h, HipsdResult *ret) {
        HipsdResult res = {};
        int status, r, q;

        profiler_stop(h);
        r = proc_usage(h->pid, &res.usage);
        if (waitpid(h->pid, &status, WNOHANG) == h->pid) {
                progress("hipsd (%s) died during the run (status 0x%x)", h->setup->name, (unsigned) status);
                dump_hipsd_output();
                r = -ECHILD;
        } else {
                (void) kill(h->pid, SIGTERM);
                q = wait_child(h->pid, CHILD_TIMEOUT_NS, &status);
                if (q < 0) {
                        progress("hipsd (%s) did not stop on SIGTERM in 10 s: killing it", h->setup->name);
                        kill_and_reap(h->pid);
                        r = q;
                } else if (h->setup->responder ? !WIFSIGNALED(status) || WTERMSIG(status) != SIGTERM :
                           !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
                        progress("hipsd (%s) exited with status 0x%x", h->setup->name, (unsigned) status);
                        dump_hipsd_output();
                }
        }
        current_hipsd = 0;

        /* Read after exit: our fd keeps the map, and shutdown's events count too. */
        res.have_counters = counters_read(h->counters_fd, res.counters) >= 0;
        if (h->counters_fd >= 0)
                (void) close(h->counters_fd);
        h->counters_fd = -EBADF;
        if (res.have_counters)
                total_drops += res.counters[HIPS_CNT_DROPS];
        if (ret)
                *ret = res;
        return r;
}

/* ---- test binaries ----------------------------------------------------- */

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t rng_next(void) {
        uint64_t x = rng_state;

        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        return (rng_state = x);
}

/* A copy of hips-bench-stamp with a unique tail (its own sha256), padded with
 * random bytes up to size when size > 0. Synced, so that no writeback runs
 * under the measurement. */
static int make_binary(const char *path, uint64_t size) {
        _cleanup_close_ int in = -EBADF, out = -EBADF;
        _cleanup_free_ uint8_t *buf = NULL;
        const size_t chunk = 1024 * 1024;
        uint64_t written = 0;
        char tag[64];
        ssize_t n;

        buf = malloc(chunk);
        if (!buf)
                return -ENOMEM;
        in = open(arg_stamp, O_RDONLY | O_CLOEXEC);
        if (in < 0)
                return negative_errno();
        (void) unlink(path);
        out = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0755);
        if (out < 0)
                return negative_errno();
        while ((n = read(in, buf, chunk)) > 0) {
                if (write(out, buf, (size_t) n) != n)
                        return -EIO;
                written += (uint64_t) n;
        }
        if (n < 0)
                return negative_errno();
        n = snprintf(tag, sizeof(tag), "hips-bench %" PRIu64 " %" PRIu64 "\n", now_ns(), rng_next());
        if (write(out, tag, (size_t) n) != n)
                return -EIO;
        written += (uint64_t) n;

        while (written < size) {
                size_t k = size - written < chunk ? (size_t) (size - written) : chunk;

                for (size_t i = 0; i + 8 <= k; i += 8) {
                        uint64_t x = rng_next();
                        memcpy(buf + i, &x, 8);
                }
                if (write(out, buf, k) != (ssize_t) k)
                        return -EIO;
                written += k;
        }
        if (fsync(out) < 0)
                return negative_errno();
        return 0;
}

/* The hash cache keeps a file only once its ctime is 2 s old. */
static void binaries_settle(void) {
        uint64_t now = realtime_ns();

        if (now < binaries_ready_realtime_ns)
                sleep_ns(binaries_ready_realtime_ns - now);
}

static int make_test_binaries(void) {
        char dir[sizeof(tmpdir) + 8];
        int r;

        (void) snprintf(dir, sizeof(dir), "%s/bin", tmpdir);
        if (mkdir(dir, 0755) < 0)
                return negative_errno();
        (void) snprintf(gated_path, sizeof(gated_path), "%s/gated", dir);
        r = make_binary(gated_path, 0);
        for (unsigned i = 0; r >= 0 && i < STORM_BINARIES; i++) {
                (void) snprintf(storm_paths[i], sizeof(storm_paths[i]), "%s/storm-%u", dir, i);
                r = make_binary(storm_paths[i], 0);
        }
        binaries_ready_realtime_ns = realtime_ns() + HASH_SETTLE_NS;
        return r;
}

/* ---- single execs ------------------------------------------------------ */

typedef struct StampPipe {
        int rfd;
        int wfd;
} StampPipe;

static int stamp_pipe_open(StampPipe *p) {
        int fds[2];

        if (pipe2(fds, O_CLOEXEC | O_NONBLOCK) < 0)
                return negative_errno();
        *p = (StampPipe) { fds[0], fds[1] };
        return 0;
}

static void stamp_pipe_close(StampPipe *p) {
        if (p->rfd >= 0)
                (void) close(p->rfd);
        if (p->wfd >= 0)
                (void) close(p->wfd);
        *p = (StampPipe) { -EBADF, -EBADF };
}

/* Fork a child that execs path with fd 3 = the pipe; it notes the time right
 * before execve() in shared->t0[slot]. */
static void stamp_pipe_drain(const StampPipe *p);

static pid_t spawn_stamped(const char *path, const StampPipe *p, unsigned slot) {
        pid_t pid;

        stamp_pipe_drain(p);
        pid = fork();

        if (pid == 0) {
                char *argv[] = { (char *) path, NULL };

                if (p->wfd == 3 ? fcntl(3, F_SETFD, 0) < 0 : dup2(p->wfd, 3) < 0)
                        _exit(126);
                shared->t0[slot] = now_ns();
                (void) execve(path, argv, environ);
                _exit(127);
        }
        return pid;
}

/* Wait for a stamped child; returns its exec latency. -ETIME: the child did
 * not end in time (it is killed and counted as left stopped). */
/* What an exec killed after its write left in the pipe must not be read as
 * the next exec's time stamp. */
static void stamp_pipe_drain(const StampPipe *p) {
        struct timespec ts[16];

        while (read(p->rfd, ts, sizeof(ts)) > 0)
                ;
}

static int collect_stamped(pid_t pid, const StampPipe *p, unsigned slot, uint64_t *ret_ns) {
        struct timespec ts;
        uint64_t t1;
        int status, r;

        r = wait_child(pid, CHILD_TIMEOUT_NS, &status);
        if (r == -ETIME) {
                char state;
                pid_t ppid;

                if (proc_stat_state(pid, &state, &ppid) >= 0 && (state == 'T' || state == 't')) {
                        progress("exec of %d left stopped", (int) pid);
                        (void) left_stopped_add(1);
                }
                kill_and_reap(pid);
                return r;
        }
        if (r < 0)
                return r;
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
                stamp_pipe_drain(p);
                return -EPROTO;
        }
        if (read(p->rfd, &ts, sizeof(ts)) != sizeof(ts))
                return -ENODATA;
        t1 = timespec_to_ns(&ts);
        if (t1 < shared->t0[slot]) {
                /* Not this exec's stamp: something is off, drop the sample. */
                stamp_pipe_drain(p);
                return -ENODATA;
        }
        *ret_ns = t1 - shared->t0[slot];
        return 0;
}

static int exec_stamped(const char *path, const StampPipe *p, uint64_t *ret_ns) {
        pid_t pid = spawn_stamped(path, p, 0);

        if (pid < 0)
                return negative_errno();
        return collect_stamped(pid, p, 0, ret_ns);
}

/* fork + exec + wait, timed in the parent. */
static int fork_exec_wait(const char *path, char *const *argv, bool quiet, uint64_t *ret_ns) {
        uint64_t t0 = now_ns();
        int status, r;
        pid_t pid;

        pid = fork();
        if (pid < 0)
                return negative_errno();
        if (pid == 0) {
                if (quiet) {
                        int fd = open("/dev/null", O_WRONLY | O_CLOEXEC);

                        if (fd >= 0)
                                (void) dup2(fd, STDOUT_FILENO);
                }
                (void) execve(path, argv, environ);
                _exit(127);
        }
        r = wait_child(pid, CHILD_TIMEOUT_NS, &status);
        if (r == -ETIME) {
                kill_and_reap(pid);
                (void) left_stopped_add(1);
                return r;
        }
        if (r < 0)
                return r;
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
                return -EPROTO;
        *ret_ns = now_ns() - t0;
        return 0;
}

/* Reap children orphaned to us (we are their subreaper) without touching hipsd. */
static void reap_orphans(void) {
        siginfo_t si;

        for (;;) {
                si.si_pid = 0;
                if (waitid(P_ALL, 0, &si, WEXITED | WNOHANG | WNOWAIT) < 0 || si.si_pid == 0)
                        return;
                if (si.si_pid == current_hipsd)
                        return;
                (void) waitpid(si.si_pid, NULL, 0);
        }
}

/* ---- measured blocks --------------------------------------------------- */

typedef int (*block_fn)(Samples *s, unsigned n, void *userdata);

/* fn(s, n) as one block, measured again while a foreign hipsd spoils it.
 * With hipsd_pid, its CPU time over the kept attempt is added to *cpu_ns. */
static int measured_block(block_fn fn, void *userdata, Samples *s, unsigned n, pid_t hipsd_pid, uint64_t *cpu_ns) {
        for (unsigned attempt = 0;; attempt++) {
                size_t before = s->n;
                Usage u0 = {}, u1 = {};
                int r;

                block_begin();
                if (hipsd_pid > 0)
                        (void) proc_usage(hipsd_pid, &u0);
                r = fn(s, n, userdata);
                if (hipsd_pid > 0)
                        (void) proc_usage(hipsd_pid, &u1);
                if (r < 0)
                        return r;
                if (!block_redo(attempt)) {
                        if (cpu_ns)
                                *cpu_ns += u1.cpu_ns - u0.cpu_ns;
                        return 0;
                }
                s->n = before;
        }
}

/* ---- 1. fast path ------------------------------------------------------ */

static int fastpath_block(Samples *s, unsigned n, void *userdata) {
        char *argv[] = { (char *) "/bin/true", NULL };
        uint64_t ns;
        int r;

        for (unsigned i = 0; i < n; i++) {
                block_poll(i);
                r = fork_exec_wait("/bin/true", argv, false, &ns);
                if (r < 0)
                        return r;
                r = samples_add(s, ns);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* The shipped config does not allowlist ld.so (that would let "ld.so ./prog"
 * run anything unjudged); hipsd gives the dynamic loader only a fanotify
 * ignore mark, so loading it for /bin/true costs no hold. The second setup,
 * ld.so on the kernel allowlist as well, shows that nothing is left to gain. */
static const Setup *const fastpath_setups[] = { &setup_safe_auto, &setup_safe_auto_ldso };

typedef struct FastpathResult {
        Samples samples;
        uint64_t fast;
        uint64_t holds;
        uint64_t cpu_ns;
        uint64_t probe_ns;              /* BPF programs' run time in the probe-time blocks */
        uint64_t probe_execs;
} FastpathResult;

/* The run time of every tracing program on the machine (in a bench, hipsd's),
 * summed; the kernel counts it only while run-time stats are switched on. */
static uint64_t bpf_tracing_run_ns(void) {
        uint64_t sum = 0;
        uint32_t id = 0;

        while (bpf_prog_get_next_id(id, &id) == 0) {
                struct bpf_prog_info info = {};
                uint32_t len = sizeof(info);
                _cleanup_close_ int fd = bpf_prog_get_fd_by_id(id);

                if (fd < 0)
                        continue;
                if (bpf_obj_get_info_by_fd(fd, &info, &len) == 0 &&
                    (info.type == BPF_PROG_TYPE_TRACEPOINT || info.type == BPF_PROG_TYPE_TRACING ||
                     info.type == BPF_PROG_TYPE_KPROBE))
                        sum += info.run_time_ns;
        }
        return sum;
}

/* How much of the fast path's cost is hipsd's BPF programs themselves: a
 * separate, untimed block, because counting costs two clock reads per
 * program run. */
#define PROBE_TIME_EXECS 2000u

static int probe_time_block(FastpathResult *f) {
        _cleanup_close_ int stats = bpf_enable_stats(BPF_STATS_RUN_TIME);
        Samples s = {};
        uint64_t t0;
        int r;

        if (stats < 0) {
                static bool told = false;

                if (!told)
                        progress("cannot switch on BPF run-time stats: %s", strerror(errno));
                told = true;
                return 0;
        }
        t0 = bpf_tracing_run_ns();
        r = fastpath_block(&s, arg_quick ? PROBE_TIME_EXECS / 10 : PROBE_TIME_EXECS, NULL);
        f->probe_ns += bpf_tracing_run_ns() - t0;
        f->probe_execs += s.n;
        samples_done(&s);
        return r;
}

static int bench_fastpath(void) {
        const char *section = "1. fast path: fork+exec+wait of kernel-allowlisted /bin/true";
        FastpathResult f[ELEMENTSOF(fastpath_setups)] = {};
        Samples base = {};
        unsigned per_round = (arg_n + arg_rounds - 1) / arg_rounds, left_before = total_left_stopped;
        Row *row;
        int r = 0;

        for (unsigned round = 0; round < arg_rounds && r >= 0; round++) {
                progress("fast path: round %u/%u", round + 1, arg_rounds);
                r = measured_block(fastpath_block, NULL, &base, per_round, 0, NULL);

                for (size_t k = 0; k < ELEMENTSOF(fastpath_setups) && r >= 0; k++) {
                        size_t i = (round + k) % ELEMENTSOF(fastpath_setups);
                        Samples warm = {};
                        HipsdResult res;
                        Hipsd h;

                        r = hipsd_start(fastpath_setups[i], &h);
                        if (r < 0)
                                break;
                        r = fastpath_block(&warm, WARMUP_EXECS, NULL);
                        samples_done(&warm);
                        profiler_start(&h);
                        if (r >= 0)
                                r = measured_block(fastpath_block, NULL, &f[i].samples, per_round, h.pid, &f[i].cpu_ns);
                        if (r >= 0)
                                r = probe_time_block(&f[i]);
                        if (hipsd_stop(&h, &res) < 0 && r >= 0)
                                r = -ECHILD;
                        f[i].fast += res.counters[HIPS_CNT_FAST_PATH];
                        f[i].holds += res.counters[HIPS_CNT_HOLD_PASSED];
                        (void) left_stopped_add(stopped_descendants(true));
                }
        }
        if (r < 0)
                progress("fast path failed: %s", strerror(-r));

        samples_sort(&base);
        for (size_t i = 0; i < ELEMENTSOF(fastpath_setups); i++) {
                const Setup *s = fastpath_setups[i];
                Samples *h = &f[i].samples;
                uint64_t execs = h->n + f[i].probe_execs;     /* measured and probe-time blocks */

                /* A fast path that did not happen would make this a lie. */
                if (f[i].fast < execs)
                        progress("WARNING: %s: the kernel fast path was hit %" PRIu64 " times for %" PRIu64 " execs of /bin/true",
                                 s->name, f[i].fast, execs);
                progress("fast path %s: %" PRIu64 " execs, %" PRIu64 " fast-path hits", s->name, execs, f[i].fast);

                samples_sort(h);
                row = row_add(section, "us", "%s mean", s->name);
                row->baseline = samples_mean_us(&base);
                row->hipsd = samples_mean_us(h);
                row->added = (row->hipsd - row->baseline) / row->baseline * 100.0;
                row->added_unit = "%";
                row_target_below(row, 3.0, "< 3 %");
                row = row_add(section, "us", "%s p50", s->name);
                row->baseline = samples_pct_us(&base, 0.5);
                row->hipsd = samples_pct_us(h, 0.5);
                row->added = (row->hipsd - row->baseline) / row->baseline * 100.0;
                row->added_unit = "%";
                row_target_below(row, 3.0, "< 3 %");
                row = row_add(section, "us", "%s p99", s->name);
                row->baseline = samples_pct_us(&base, 0.99);
                row->hipsd = samples_pct_us(h, 0.99);
                row->added = row->hipsd - row->baseline;
                row = row_add(section, "us", "%s hipsd CPU per exec", s->name);
                row->hipsd = h->n ? (double) f[i].cpu_ns / (double) h->n / (double) NSEC_PER_USEC : NAN;
                row = row_add(section, "us", "%s BPF programs' run time per exec", s->name);
                row->hipsd = f[i].probe_execs ? (double) f[i].probe_ns / (double) f[i].probe_execs / (double) NSEC_PER_USEC : NAN;
                row->added = row->hipsd / samples_mean_us(&base) * 100.0;
                row->added_unit = "%";
                row = row_add(section, "", "%s fast-path hits / execs (machine-wide)", s->name);
                row->hipsd = execs ? (double) f[i].fast / (double) execs : NAN;
                samples_done(h);
        }
        row = row_add(section, "", "processes left stopped");
        row->hipsd = (double) (total_left_stopped - left_before);
        row_target_value_below(row, row->hipsd, 0.5, "0");
        samples_done(&base);
        return r;
}

/* ---- 2. gated exec ----------------------------------------------------- */

typedef struct GatedResult {
        Samples samples;
        uint64_t cpu_ns;
        uint64_t execs;
        uint64_t hold_passed;
        uint64_t stops;
        uint64_t events;
        unsigned failed;
} GatedResult;

typedef struct GatedCtx {
        const StampPipe *pipe;
        unsigned failed;                /* in the last attempt of the block */
} GatedCtx;

static int gated_block(Samples *s, unsigned n, void *userdata) {
        GatedCtx *c = userdata;
        uint64_t ns;
        int r;

        c->failed = 0;
        for (unsigned i = 0; i < n; i++) {
                block_poll(i);
                r = exec_stamped(gated_path, c->pipe, &ns);
                if (r == -ETIME || r == -EPROTO || r == -ENODATA) {
                        /* Counted (left stopped) or reported below, the run goes on. */
                        if (c->failed++ < 5)
                                progress("exec of %s failed: %s", gated_path,
                                         r == -ETIME ? "did not finish" : r == -EPROTO ? "exit status not 0" : "wrote no time stamp");
                        continue;
                }
                if (r < 0)
                        return r;
                r = samples_add(s, ns);
                if (r < 0)
                        return r;
        }
        return 0;
}

static void gated_rows(const char *section, const Setup *setup, Samples *base, GatedResult *g) {
        static const struct {
                const char *name;
                double q;
                double limit_us;
                const char *target;
        } pcts[] = {
                { "p50", 0.5, 150, "< 150 us" },
                { "p99", 0.99, 1000, "< 1000 us" },
                { "p99.9", 0.999, NAN, "" },
        };
        Row *row;

        samples_sort(&g->samples);
        for (size_t i = 0; i < ELEMENTSOF(pcts); i++) {
                row = row_add(section, "us", "%s %s", setup->name, pcts[i].name);
                row->baseline = samples_pct_us(base, pcts[i].q);
                row->hipsd = samples_pct_us(&g->samples, pcts[i].q);
                row->added = row->hipsd - row->baseline;
                if (setup->safe && !isnan(pcts[i].limit_us))
                        row_target_below(row, pcts[i].limit_us, pcts[i].target);
        }
        row = row_add(section, "us", "%s hipsd CPU per exec", setup->name);
        row->hipsd = g->execs ? (double) g->cpu_ns / (double) g->execs / (double) NSEC_PER_USEC : NAN;
        if (g->failed > 0) {
                row = row_add(section, "", "%s execs that failed or hung", setup->name);
                row->hipsd = g->failed;
        }
}

static int bench_gated(void) {
        GatedResult g[ELEMENTSOF(gated_setups)] = {};
        Samples base = {};
        StampPipe p = { -EBADF, -EBADF };
        unsigned per_round = (arg_n + arg_rounds - 1) / arg_rounds, base_failed = 0;
        const char *section = "2. gated exec: warm hash cache, latency from execve() to main()";
        Row *row;
        int r;

        r = stamp_pipe_open(&p);
        if (r < 0)
                return r;
        binaries_settle();

        for (unsigned round = 0; round < arg_rounds && r >= 0; round++) {
                GatedCtx c = { .pipe = &p };
                Samples warm = {};

                progress("gated exec: round %u/%u", round + 1, arg_rounds);
                r = gated_block(&warm, WARMUP_EXECS, &c);
                samples_done(&warm);
                if (r >= 0)
                        r = measured_block(gated_block, &c, &base, per_round, 0, NULL);
                base_failed += c.failed;

                /* Rotate the order, so that no setup always runs right after the baseline. */
                for (size_t k = 0; k < ELEMENTSOF(gated_setups) && r >= 0; k++) {
                        size_t i = (round + k) % ELEMENTSOF(gated_setups);
                        const Setup *s = gated_setups[i];
                        size_t before = g[i].samples.n;
                        HipsdResult res;
                        Hipsd h;

                        r = hipsd_start(s, &h);
                        if (r < 0)
                                break;
                        /* The first execs put the binary in the hash cache. */
                        r = gated_block(&warm, WARMUP_EXECS, &c);
                        samples_done(&warm);
                        profiler_start(&h);
                        if (r >= 0)
                                r = measured_block(gated_block, &c, &g[i].samples, per_round, h.pid, &g[i].cpu_ns);
                        g[i].failed += c.failed;
                        if (hipsd_stop(&h, &res) < 0 && r >= 0)
                                r = -ECHILD;
                        g[i].execs += g[i].samples.n - before;
                        g[i].hold_passed += res.counters[HIPS_CNT_HOLD_PASSED];
                        g[i].stops += res.counters[HIPS_CNT_STOPS];
                        g[i].events += res.counters[HIPS_CNT_EVENTS];
                        (void) left_stopped_add(stopped_descendants(true));
                }
        }
        stamp_pipe_close(&p);
        if (r < 0)
                progress("gated exec failed: %s", strerror(-r));

        samples_sort(&base);
        for (size_t i = 0; i < ELEMENTSOF(gated_setups); i++) {
                const Setup *s = gated_setups[i];

                /* The gate must really have held (hold), stopped (sigstop) or
                 * reported (functional) each exec, or the numbers mean nothing. */
                if (s->responder)
                        ;
                else if (s->safe && streq(s->gate, "auto") && g[i].hold_passed < g[i].execs)
                        progress("WARNING: %s: %" PRIu64 " execs passed the hold for %" PRIu64 " measured",
                                 s->name, g[i].hold_passed, g[i].execs);
                else if (s->safe && streq(s->gate, "sigstop") && g[i].stops < g[i].execs)
                        progress("WARNING: %s: %" PRIu64 " stops for %" PRIu64 " measured execs", s->name, g[i].stops, g[i].execs);
                else if (!s->safe && g[i].events < g[i].execs)
                        progress("WARNING: %s: %" PRIu64 " events for %" PRIu64 " measured execs", s->name, g[i].events, g[i].execs);
                progress("gated %s: %" PRIu64 " execs, hold-passed %" PRIu64 ", stops %" PRIu64 ", events %" PRIu64,
                         s->name, g[i].execs, g[i].hold_passed, g[i].stops, g[i].events);
                gated_rows(section, s, &base, &g[i]);
                samples_done(&g[i].samples);
        }
        if (base_failed > 0) {
                row = row_add(section, "", "baseline execs that failed");
                row->baseline = base_failed;
        }
        samples_done(&base);
        return r;
}

/* ---- 3. cold hash ------------------------------------------------------ */

typedef struct ColdSide {
        Samples exec;                   /* first exec of a new 50 MiB binary */
        Samples hol;                    /* small gated exec started 2 ms after it */
} ColdSide;

/* A new 50 MiB binary's first exec; then the same with a small warm exec
 * behind it, which meets the daemon while it hashes. */
static int cold_sample(ColdSide *side, const StampPipe *p, const StampPipe *q) {
        char big[PATH_MAX];
        uint64_t ns_a, ns_b;
        pid_t a, b;
        int r;

        (void) snprintf(big, sizeof(big), "%s/bin/cold", tmpdir);
        r = make_binary(big, COLD_SIZE);
        if (r < 0)
                return r;
        r = exec_stamped(big, p, &ns_a);
        (void) unlink(big);
        if (r < 0)
                return r;
        r = samples_add(&side->exec, ns_a);
        if (r < 0)
                return r;

        r = make_binary(big, COLD_SIZE);
        if (r < 0)
                return r;
        a = spawn_stamped(big, p, 0);
        if (a < 0) {
                (void) unlink(big);
                return negative_errno();
        }
        sleep_ns(HOL_DELAY_NS);
        b = spawn_stamped(gated_path, q, 1);
        r = collect_stamped(a, p, 0, &ns_a);
        if (b > 0) {
                int k = collect_stamped(b, q, 1, &ns_b);

                if (k >= 0 && r >= 0)
                        r = samples_add(&side->hol, ns_b);
                else if (r >= 0)
                        r = k;
        }
        (void) unlink(big);
        return r;
}

static int sha256sum_sample(Samples *s) {
        char big[PATH_MAX];
        char *argv[] = { (char *) "sha256sum", big, NULL };
        uint64_t ns;
        int r;

        (void) snprintf(big, sizeof(big), "%s/bin/cold-sum", tmpdir);
        r = make_binary(big, COLD_SIZE);
        if (r < 0)
                return r;
        r = fork_exec_wait("/usr/bin/sha256sum", argv, true, &ns);
        (void) unlink(big);
        if (r < 0)
                return r;
        return samples_add(s, ns);
}

/* One cold sample (and sha256sum's time with sum), measured again while a
 * foreign hipsd spoils it. */
static int cold_measured(ColdSide *side, Samples *sum, const StampPipe *p, const StampPipe *q) {
        for (unsigned attempt = 0;; attempt++) {
                size_t n_exec = side->exec.n, n_hol = side->hol.n, n_sum = sum ? sum->n : 0;
                int r;

                block_begin();
                r = cold_sample(side, p, q);
                if (r == -EPROTO || r == -ENODATA || r == -ETIME) {
                        /* Killed or stuck (counted): the sample is lost, the run goes on. */
                        progress("cold exec failed: %s", r == -ETIME ? "did not finish" :
                                 r == -EPROTO ? "exit status not 0" : "wrote no time stamp");
                        r = 0;
                }
                if (r >= 0 && sum)
                        r = sha256sum_sample(sum);
                if (r < 0)
                        return r;
                if (!block_redo(attempt))
                        return 0;
                side->exec.n = n_exec;
                side->hol.n = n_hol;
                if (sum)
                        sum->n = n_sum;
        }
}

static int bench_cold(void) {
        ColdSide base = {}, hips[ELEMENTSOF(safe_setups)] = {};
        Samples sum = {};
        StampPipe p = { -EBADF, -EBADF }, q = { -EBADF, -EBADF };
        const char *section = "3. cold hash: first exec of a new 50 MiB binary (page cache warm)";
        Row *row;
        int r;

        r = stamp_pipe_open(&p);
        if (r >= 0)
                r = stamp_pipe_open(&q);
        if (r < 0)
                goto finish;
        binaries_settle();

        for (unsigned round = 0; round < arg_cold_rounds && r >= 0; round++) {
                progress("cold hash: round %u/%u", round + 1, arg_cold_rounds);
                r = cold_measured(&base, &sum, &p, &q);

                for (size_t i = 0; i < ELEMENTSOF(safe_setups) && r >= 0; i++) {
                        GatedCtx c = { .pipe = &p };
                        Samples warm = {};
                        Hipsd h;

                        r = hipsd_start(safe_setups[i], &h);
                        if (r < 0)
                                break;
                        /* The small binary's hash is cached; the big ones are new. */
                        r = gated_block(&warm, WARMUP_EXECS, &c);
                        samples_done(&warm);
                        profiler_start(&h);
                        if (r >= 0)
                                r = cold_measured(&hips[i], NULL, &p, &q);
                        if (hipsd_stop(&h, NULL) < 0 && r >= 0)
                                r = -ECHILD;
                        (void) left_stopped_add(stopped_descendants(true));
                }
        }
        if (r < 0)
                progress("cold hash failed: %s", strerror(-r));

finish:
        stamp_pipe_close(&p);
        stamp_pipe_close(&q);
        samples_sort(&base.exec);
        samples_sort(&base.hol);
        samples_sort(&sum);

        row = row_add(section, "ms", "sha256sum of a new 50 MiB file, p50");
        row->baseline = samples_pct_us(&sum, 0.5) / 1000.0;
        for (size_t i = 0; i < ELEMENTSOF(safe_setups); i++) {
                samples_sort(&hips[i].exec);
                samples_sort(&hips[i].hol);

                row = row_add(section, "ms", "%s first exec, p50", safe_setups[i]->name);
                row->baseline = samples_pct_us(&base.exec, 0.5) / 1000.0;
                row->hipsd = samples_pct_us(&hips[i].exec, 0.5) / 1000.0;
                row->added = row->hipsd - row->baseline;
                row_target_below(row, 1.2 * samples_pct_us(&sum, 0.5) / 1000.0, "<= 1.2 x sha256sum");

                row = row_add(section, "x", "%s added / sha256sum", safe_setups[i]->name);
                row->hipsd = (samples_pct_us(&hips[i].exec, 0.5) - samples_pct_us(&base.exec, 0.5)) /
                        samples_pct_us(&sum, 0.5);

                row = row_add(section, "ms", "%s small exec behind it, p50", safe_setups[i]->name);
                row->baseline = samples_pct_us(&base.hol, 0.5) / 1000.0;
                row->hipsd = samples_pct_us(&hips[i].hol, 0.5) / 1000.0;
                row->added = row->hipsd - row->baseline;

                samples_done(&hips[i].exec);
                samples_done(&hips[i].hol);
        }
        samples_done(&base.exec);
        samples_done(&base.hol);
        samples_done(&sum);
        return r;
}

/* ---- 4. storm ---------------------------------------------------------- */

static void storm_worker(unsigned idx) {
        uint64_t n = 0;

        while (!shared->stop) {
                const char *path = storm_paths[(idx + n) % STORM_BINARIES];
                char *argv[] = { (char *) path, NULL };
                pid_t pid = fork();

                if (pid == 0) {
                        (void) execve(path, argv, environ);
                        _exit(127);
                }
                if (pid < 0)
                        _exit(1);
                if (waitpid(pid, NULL, 0) < 0)
                        _exit(1);
                shared->storm_execs[idx] = ++n;
        }
        _exit(0);
}

typedef struct StormResult {
        double execs_per_sec;
        uint64_t execs;
        unsigned left_stopped;
        uint64_t drops;
        double cpu_us_per_exec;
        double hwm_mib;
        double hwm_ready_mib;
        double rss_mib;
        bool ran;
} StormResult;

/* Wait until hipsd has worked through its backlog: CPU time standing still for 300 ms. */
static void hipsd_wait_idle(pid_t pid) {
        uint64_t deadline = now_ns() + 15 * NSEC_PER_SEC;
        Usage a, b;

        if (proc_usage(pid, &a) < 0)
                return;
        while (now_ns() < deadline) {
                sleep_ns(300 * NSEC_PER_MSEC);
                if (proc_usage(pid, &b) < 0 || b.cpu_ns - a.cpu_ns < 3 * NSEC_PER_MSEC)
                        return;
                a = b;
        }
}

static int storm_once(const Setup *s, unsigned attempt, StormResult *ret, bool *ret_redo) {
        pid_t workers[STORM_WORKERS] = {};
        StormResult res = { .ran = true };
        HipsdResult hr = {};
        Usage u0 = {};
        Hipsd h = {};
        uint64_t t0, t1, total = 0;
        int r = 0;

        if (s) {
                r = hipsd_start(s, &h);
                if (r < 0)
                        return r;
                /* Warm the hash cache for every storm binary. */
                for (unsigned i = 0; i < STORM_BINARIES; i++) {
                        char *argv[] = { storm_paths[i], NULL };
                        uint64_t ns;

                        (void) fork_exec_wait(storm_paths[i], argv, false, &ns);
                }
        }
        block_begin();
        if (s) {
                profiler_start(&h);
                (void) proc_usage(h.pid, &u0);
        }

        shared->stop = 0;
        for (unsigned i = 0; i < STORM_WORKERS; i++)
                shared->storm_execs[i] = 0;
        t0 = now_ns();
        for (unsigned i = 0; i < STORM_WORKERS; i++) {
                workers[i] = fork();
                if (workers[i] == 0) {
                        (void) prctl(PR_SET_PDEATHSIG, SIGKILL);
                        storm_worker(i);
                }
                if (workers[i] < 0) {
                        r = negative_errno();
                        workers[i] = 0;
                }
        }
        for (uint64_t end = t0 + (uint64_t) (arg_storm_seconds * (double) NSEC_PER_SEC), now; (now = now_ns()) < end;) {
                sleep_ns(end - now < 250 * NSEC_PER_MSEC ? end - now : 250 * NSEC_PER_MSEC);
                if (!block_foreign && foreign_hipsd() > 0)
                        block_foreign = true;
        }
        shared->stop = 1;
        t1 = now_ns();
        for (unsigned i = 0; i < STORM_WORKERS; i++)
                total += shared->storm_execs[i];

        /* Workers end after their current exec; one stuck behind a stopped
         * child does not. Whatever is still stopped after 5 s was left so. */
        for (unsigned i = 0; i < STORM_WORKERS; i++)
                if (workers[i] > 0 && wait_child(workers[i], 5 * NSEC_PER_SEC, NULL) == 0)
                        workers[i] = 0;
        res.left_stopped = left_stopped_add(stopped_descendants(true));
        for (unsigned i = 0; i < STORM_WORKERS; i++)
                if (workers[i] > 0) {
                        progress("storm worker %d did not finish", (int) workers[i]);
                        kill_and_reap(workers[i]);
                }
        reap_orphans();

        res.execs = total;
        res.execs_per_sec = (double) total / ((double) (t1 - t0) / (double) NSEC_PER_SEC);

        if (s) {
                hipsd_wait_idle(h.pid);
                rss_breakdown(h.pid, s->name);
                if (hipsd_stop(&h, &hr) < 0 && r >= 0)
                        r = -ECHILD;
                res.drops = hr.counters[HIPS_CNT_DROPS];
                res.cpu_us_per_exec = total ? (double) (hr.usage.cpu_ns - u0.cpu_ns) / (double) total / (double) NSEC_PER_USEC : NAN;
                res.hwm_mib = (double) hr.usage.hwm_kib / 1024.0;
                res.rss_mib = (double) hr.usage.rss_kib / 1024.0;
                res.hwm_ready_mib = (double) h.ready.hwm_kib / 1024.0;
                if (!hr.have_counters)
                        res.drops = UINT64_MAX;
        }
        progress("storm %s: %" PRIu64 " execs, %.0f/s, %u left stopped, %" PRIu64 " drops",
                 s ? s->name : "baseline", total, res.execs_per_sec, res.left_stopped, s ? res.drops : 0);
        *ret_redo = block_redo(attempt);
        *ret = res;
        return r;
}

static int storm_run(const Setup *s, StormResult *ret) {
        for (unsigned attempt = 0;; attempt++) {
                bool redo = false;
                int r = storm_once(s, attempt, ret, &redo);

                if (r < 0 || !redo)
                        return r;
        }
}

static int bench_storm(void) {
        StormResult base[2] = {}, hips[ELEMENTSOF(storm_setups)] = {};
        static char section[128];
        double base_rate;
        Row *row;
        int r;

        (void) snprintf(section, sizeof(section), "4. storm: %d workers exec'ing non-allowlisted binaries for %.0f s",
                        STORM_WORKERS, arg_storm_seconds);
        binaries_settle();

        r = storm_run(NULL, &base[0]);
        for (size_t i = 0; i < ELEMENTSOF(storm_setups) && r >= 0; i++)
                r = storm_run(storm_setups[i], &hips[i]);
        if (r >= 0)
                r = storm_run(NULL, &base[1]);
        if (r < 0)
                progress("storm failed: %s", strerror(-r));

        base_rate = base[1].ran ? (base[0].execs_per_sec + base[1].execs_per_sec) / 2 : base[0].execs_per_sec;
        row = row_add(section, "/s", "baseline execs/s (before, after)");
        row->baseline = base[0].execs_per_sec;
        row->hipsd = base[1].ran ? base[1].execs_per_sec : NAN;
        for (size_t i = 0; i < ELEMENTSOF(storm_setups); i++) {
                const Setup *s = storm_setups[i];

                if (!hips[i].ran)
                        continue;
                row = row_add(section, "/s", "%s execs/s", s->name);
                row->baseline = base_rate;
                row->hipsd = hips[i].execs_per_sec;
                row->added = (row->hipsd - row->baseline) / row->baseline * 100.0;
                row->added_unit = "%";
                row = row_add(section, "", "%s ring-buffer drops", s->name);
                row->hipsd = hips[i].drops == UINT64_MAX ? NAN : (double) hips[i].drops;
                row_target_value_below(row, row->hipsd, 0.5, "0");
                row = row_add(section, "", "%s processes left stopped", s->name);
                row->hipsd = hips[i].left_stopped;
                row_target_value_below(row, row->hipsd, 0.5, "0");
                row = row_add(section, "us", "%s hipsd CPU per exec", s->name);
                row->hipsd = hips[i].cpu_us_per_exec;
                row = row_add(section, "MiB", "%s hipsd peak RSS (VmHWM)", s->name);
                row->hipsd = hips[i].hwm_mib;
                row_target_value_below(row, row->hipsd, 16, "< 16 MiB");
                row = row_add(section, "MiB", "%s   of which peak by READY=1", s->name);
                row->hipsd = hips[i].hwm_ready_mib;
                row = row_add(section, "MiB", "%s   RSS after the storm", s->name);
                row->hipsd = hips[i].rss_mib;
        }
        return r;
}

/* ---- 5. start-up ------------------------------------------------------- */

static int bench_startup(void) {
        const char *section = "5. start-up: hipsd exec to READY=1";
        int r = 0;

        for (size_t i = 0; i < ELEMENTSOF(safe_setups); i++) {
                Samples s = {};
                Row *row;

                progress("start-up: %s x %u", safe_setups[i]->name, arg_startups);
                for (unsigned k = 0, attempt = 0; k < arg_startups && r >= 0;) {
                        uint64_t ns;
                        Hipsd h;

                        block_begin();
                        r = hipsd_start(safe_setups[i], &h);
                        if (r < 0)
                                break;
                        ns = h.startup_ns;
                        if (hipsd_stop(&h, NULL) < 0)
                                r = -ECHILD;
                        if (r >= 0 && block_redo(attempt)) {
                                attempt++;
                                continue;
                        }
                        if (r >= 0)
                                r = samples_add(&s, ns);
                        k++;
                        attempt = 0;
                }
                samples_sort(&s);
                row = row_add(section, "ms", "%s p50", safe_setups[i]->name);
                row->hipsd = samples_pct_us(&s, 0.5) / 1000.0;
                row_target_value_below(row, row->hipsd, 300, "< 300 ms");
                row = row_add(section, "ms", "%s max", safe_setups[i]->name);
                row->hipsd = samples_max_us(&s) / 1000.0;
                row_target_value_below(row, row->hipsd, 300, "< 300 ms");
                samples_done(&s);
        }
        if (r < 0)
                progress("start-up failed: %s", strerror(-r));
        return r;
}

/* ---- output ------------------------------------------------------------ */

static void print_text(const Machine *m) {
        (void) printf("hips-bench: hipsd's cost per exec, against no hipsd on the same machine in the same run\n");
        (void) printf("machine: %ld CPUs, %s, Linux %s, %s\n", m->cpus, m->cpu_model, m->kernel, m->date);
        (void) printf("run: %s, N=%u per side in %u interleaved rounds, storm %d workers x %.0f s, cold %u x 50 MiB\n",
                      arg_quick ? "--quick" : "full", arg_n, arg_rounds, STORM_WORKERS, arg_storm_seconds, arg_cold_rounds);
        (void) printf("blocks measured again because another hipsd ran: %u; kept anyway after %u tries: %u of %u\n\n",
                      blocks_redone, arg_block_tries, blocks_foreign, blocks_total);
        print_table(stdout);
        (void) printf("\nprocesses left stopped: %u, ring-buffer drops: %" PRIu64 " (both must be 0)\n",
                      total_left_stopped, total_drops);
        if (total_left_stopped_foreign > 0)
                (void) printf("processes found stopped while another hipsd was running (not counted): %u\n",
                              total_left_stopped_foreign);
}

static void print_json(FILE *f, const Machine *m) {
        (void) fprintf(f, "{\n  \"machine\": { \"cpus\": %ld, \"cpu_model\": ", m->cpus);
        json_string(f, m->cpu_model);
        (void) fprintf(f, ", \"kernel\": ");
        json_string(f, m->kernel);
        (void) fprintf(f, ", \"date\": ");
        json_string(f, m->date);
        (void) fprintf(f, " },\n  \"run\": { \"quick\": %s, \"n\": %u, \"rounds\": %u, \"storm_workers\": %d, "
                      "\"storm_seconds\": %.1f, \"cold_rounds\": %u, \"blocks\": %u, \"blocks_redone\": %u, \"blocks_with_foreign_hipsd\": %u },\n",
                      arg_quick ? "true" : "false", arg_n, arg_rounds, STORM_WORKERS, arg_storm_seconds,
                      arg_cold_rounds, blocks_total, blocks_redone, blocks_foreign);
        (void) fprintf(f, "  \"left_stopped\": %u,\n  \"left_stopped_while_foreign_hipsd\": %u,\n  \"drops\": %" PRIu64 ",\n  \"rows\": [\n",
                      total_left_stopped, total_left_stopped_foreign, total_drops);
        for (size_t i = 0; i < n_rows; i++) {
                const Row *r = &rows[i];

                (void) fprintf(f, "    { \"section\": ");
                json_string(f, r->section);
                (void) fprintf(f, ", \"name\": ");
                json_string(f, r->name);
                (void) fprintf(f, ", \"unit\": ");
                json_string(f, r->unit);
                (void) fprintf(f, ", \"baseline\": ");
                json_number(f, r->baseline);
                (void) fprintf(f, ", \"hipsd\": ");
                json_number(f, r->hipsd);
                (void) fprintf(f, ", \"added\": ");
                json_number(f, r->added);
                (void) fprintf(f, ", \"added_unit\": ");
                json_string(f, r->added_unit);
                (void) fprintf(f, ", \"target\": ");
                json_string(f, r->target);
                (void) fprintf(f, ", \"met\": %s }%s\n", r->met < 0 ? "null" : r->met ? "true" : "false",
                              i + 1 < n_rows ? "," : "");
        }
        (void) fprintf(f, "  ]\n}\n");
}

/* ---- setup ------------------------------------------------------------- */

static void help(void) {
        printf("Usage: hips-bench [OPTIONS]\n\n"
               "What hipsd costs per exec, against no hipsd, in one run. Needs root.\n\n"
               "  --json               print the results as JSON\n"
               "  --json-out FILE      also write them as JSON to FILE\n"
               "  --quick              smoke run: N=500, 2 rounds, 2 s storm, 1 cold round\n"
               "  --only LIST          sections, comma-separated: fastpath,gated,cold,storm,startup\n"
               "  --n N                execs per side for fast path and gated exec (default 20000)\n"
               "  --rounds R           interleaved baseline/hipsd rounds (default 10)\n"
               "  --storm-seconds S    length of each storm (default 10)\n"
               "  --wait-alone S       wait up to S s for other hipsd instances before a block (default 30)\n"
               "  --hipsd PATH         hipsd binary (default %s)\n"
               "  --stamp PATH         hips-bench-stamp binary (default %s)\n"
               "  --base-config PATH   config the setups are made from (default %s)\n"
               "  --responder PATH     hips-bench-responder binary (default %s)\n"
               "  --hipsd-prefix CMD   run hipsd under CMD (split at spaces), e.g. 'valgrind --tool=callgrind'\n"
               "  --profile CMD        run 'sh -c CMD' during each measured hipsd block, %%p = hipsd's pid,\n"
               "                       %%n = a counter; stopped with SIGINT (e.g. 'perf record -g -p %%p -o /tmp/p%%n')\n"
               "  --keep-tmp           keep the temporary directory\n",
               HIPS_BENCH_HIPSD, HIPS_BENCH_STAMP, HIPS_BENCH_BASE_CONFIG, HIPS_BENCH_RESPONDER);
}

static int parse_sections(const char *s) {
        _cleanup_free_ char *copy = strdup(s);
        unsigned bits = 0;

        if (!copy)
                return -ENOMEM;
        for (char *tok = strtok(copy, ","); tok; tok = strtok(NULL, ",")) {
                bool found = false;

                for (size_t i = 0; i < ELEMENTSOF(section_names); i++)
                        if (streq(tok, section_names[i].name)) {
                                bits |= section_names[i].bit;
                                found = true;
                        }
                if (!found) {
                        fprintf(stderr, "hips-bench: unknown section '%s' (fastpath, gated, cold, storm, startup)\n", tok);
                        return -EINVAL;
                }
        }
        arg_sections = bits;
        return 0;
}

static int parse_argv(int argc, char *argv[]) {
        enum {
                ARG_JSON = 0x100, ARG_JSON_OUT, ARG_QUICK, ARG_ONLY, ARG_N, ARG_ROUNDS, ARG_STORM_SECONDS, ARG_WAIT_ALONE,
                ARG_HIPSD, ARG_STAMP, ARG_BASE_CONFIG, ARG_RESPONDER, ARG_HIPSD_PREFIX, ARG_PROFILE, ARG_KEEP_TMP,
        };
        static const struct option options[] = {
                { "json",          no_argument,       NULL, ARG_JSON          },
                { "json-out",      required_argument, NULL, ARG_JSON_OUT      },
                { "quick",         no_argument,       NULL, ARG_QUICK         },
                { "only",          required_argument, NULL, ARG_ONLY          },
                { "n",             required_argument, NULL, ARG_N             },
                { "rounds",        required_argument, NULL, ARG_ROUNDS        },
                { "storm-seconds", required_argument, NULL, ARG_STORM_SECONDS },
                { "wait-alone",    required_argument, NULL, ARG_WAIT_ALONE    },
                { "hipsd",         required_argument, NULL, ARG_HIPSD         },
                { "stamp",         required_argument, NULL, ARG_STAMP         },
                { "base-config",   required_argument, NULL, ARG_BASE_CONFIG   },
                { "responder",     required_argument, NULL, ARG_RESPONDER     },
                { "hipsd-prefix",  required_argument, NULL, ARG_HIPSD_PREFIX  },
                { "profile",       required_argument, NULL, ARG_PROFILE       },
                { "keep-tmp",      no_argument,       NULL, ARG_KEEP_TMP      },
                { "help",          no_argument,       NULL, 'h'               },
                {}
        };
        bool n_set = false, rounds_set = false, storm_set = false, wait_set = false;
        int c;

        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0)
                switch (c) {
                case ARG_JSON:
                        arg_json = true;
                        break;
                case ARG_JSON_OUT:
                        arg_json_out = optarg;
                        break;
                case ARG_QUICK:
                        arg_quick = true;
                        break;
                case ARG_ONLY:
                        if (parse_sections(optarg) < 0)
                                return -EINVAL;
                        break;
                case ARG_N:
                        arg_n = (unsigned) strtoul(optarg, NULL, 10);
                        n_set = true;
                        break;
                case ARG_ROUNDS:
                        arg_rounds = (unsigned) strtoul(optarg, NULL, 10);
                        rounds_set = true;
                        break;
                case ARG_STORM_SECONDS:
                        arg_storm_seconds = strtod(optarg, NULL);
                        storm_set = true;
                        break;
                case ARG_WAIT_ALONE:
                        arg_wait_alone = strtod(optarg, NULL);
                        wait_set = true;
                        break;
                case ARG_HIPSD:
                        arg_hipsd = optarg;
                        break;
                case ARG_STAMP:
                        arg_stamp = optarg;
                        break;
                case ARG_BASE_CONFIG:
                        arg_base_config = optarg;
                        break;
                case ARG_RESPONDER:
                        arg_responder = optarg;
                        break;
                case ARG_HIPSD_PREFIX:
                        arg_hipsd_prefix = optarg;
                        break;
                case ARG_PROFILE:
                        arg_profile = optarg;
                        break;
                case ARG_KEEP_TMP:
                        arg_keep_tmp = true;
                        break;
                case 'h':
                        help();
                        return 0;
                default:
                        return -EINVAL;
                }
        if (optind < argc) {
                fprintf(stderr, "hips-bench: unexpected argument '%s'\n", argv[optind]);
                return -EINVAL;
        }
        if (arg_quick) {
                if (!n_set)
                        arg_n = 500;
                if (!rounds_set)
                        arg_rounds = 2;
                if (!storm_set)
                        arg_storm_seconds = 2;
                if (!wait_set)
                        arg_wait_alone = 2;
                arg_block_tries = 1;
                arg_cold_rounds = 1;
                arg_startups = 2;
        }
        if (arg_n == 0 || arg_rounds == 0 || arg_rounds > arg_n || !(arg_storm_seconds > 0) || arg_wait_alone < 0) {
                fprintf(stderr, "hips-bench: --n, --rounds and --storm-seconds must be positive, rounds <= n\n");
                return -EINVAL;
        }
        return 1;
}

/* Without root or BTF the bench cannot run: skip (77), except under CI=true. */
static int skip_or_fail(const char *why) {
        const char *ci = getenv("CI");

        if (ci && streq(ci, "true")) {
                fprintf(stderr, "hips-bench: FAIL: cannot run under CI: %s\n", why);
                return 1;
        }
        fprintf(stderr, "hips-bench: SKIP: %s\n", why);
        return 77;
}

static int setup_notify_socket(void) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        int one = 1;

        (void) snprintf(notify_path, sizeof(notify_path), "%s/notify", tmpdir);
        if (strlen(notify_path) >= sizeof(sa.sun_path))
                return -ENAMETOOLONG;
        memcpy(sa.sun_path, notify_path, strlen(notify_path) + 1);
        notify_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (notify_fd < 0)
                return negative_errno();
        if (setsockopt(notify_fd, SOL_SOCKET, SO_PASSCRED, &one, sizeof(one)) < 0 ||
            bind(notify_fd, (struct sockaddr *) &sa, sizeof(sa)) < 0)
                return negative_errno();
        return 0;
}

static void rm_rf_tmpdir(void) {
        char path[PATH_MAX];
        struct dirent *de;
        const char *subs[] = { "/bin", "" };

        for (size_t i = 0; i < ELEMENTSOF(subs); i++) {
                DIR *d;

                (void) snprintf(path, sizeof(path), "%s%s", tmpdir, subs[i]);
                d = opendir(path);
                if (!d)
                        continue;
                while ((de = readdir(d))) {
                        char p[PATH_MAX * 2];

                        if (de->d_name[0] == '.' || (i == 1 && streq(de->d_name, "bin")))
                                continue;
                        (void) snprintf(p, sizeof(p), "%s/%s", path, de->d_name);
                        (void) unlink(p);
                }
                (void) closedir(d);
                (void) rmdir(path);
        }
}

int main(int argc, char *argv[]) {
        Machine machine;
        char *p;
        int r, ret = 0;

        r = parse_argv(argc, argv);
        if (r <= 0)
                return r < 0 ? 2 : 0;

        if (geteuid() != 0)
                return skip_or_fail("needs root (starts hipsd, which loads BPF programs)");
        if (access("/sys/kernel/btf/vmlinux", R_OK) < 0)
                return skip_or_fail("kernel has no BTF (/sys/kernel/btf/vmlinux)");
        if (access(arg_hipsd, X_OK) < 0 || access(arg_stamp, R_OK) < 0) {
                fprintf(stderr, "hips-bench: %s or %s missing (see --hipsd, --stamp)\n", arg_hipsd, arg_stamp);
                return 2;
        }

        /* Nothing inherited may be fd 3 of the execs (hips-bench-stamp writes there). */
        (void) close_range(3, ~0U, 0);
        (void) setvbuf(stdout, NULL, _IOLBF, 0);
        /* Children of killed storm workers come back to us, not to init. */
        (void) prctl(PR_SET_CHILD_SUBREAPER, 1);

        shared = mmap(NULL, sizeof(Shared), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
        if (shared == MAP_FAILED) {
                perror("hips-bench: mmap");
                return 1;
        }
        if (!mkdtemp(tmpdir)) {
                perror("hips-bench: mkdtemp");
                return 1;
        }
        (void) chmod(tmpdir, 0755);
        rng_state ^= now_ns();

        r = setup_notify_socket();
        if (r >= 0)
                r = watchdog_start();
        if (r >= 0)
                r = make_test_binaries();
        if (r < 0) {
                fprintf(stderr, "hips-bench: setup failed: %s\n", strerror(-r));
                ret = 1;
                goto out;
        }
        p = realpath("/bin/true", NULL);
        (void) snprintf(true_path, sizeof(true_path), "%s", p ? p : "/usr/bin/true");
        free(p);
        p = realpath("/lib64/ld-linux-x86-64.so.2", NULL);
        (void) snprintf(ldso_path, sizeof(ldso_path), "%s", p ? p : "/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2");
        free(p);

        machine_read(&machine);
        progress("%ld CPUs, %s, Linux %s; temporary files in %s", machine.cpus, machine.cpu_model, machine.kernel, tmpdir);

        if (arg_sections & SECTION_FASTPATH)
                ret |= bench_fastpath() < 0;
        if (arg_sections & SECTION_GATED)
                ret |= bench_gated() < 0;
        if (arg_sections & SECTION_COLD)
                ret |= bench_cold() < 0;
        if (arg_sections & SECTION_STORM)
                ret |= bench_storm() < 0;
        if (arg_sections & SECTION_STARTUP)
                ret |= bench_startup() < 0;

        (void) left_stopped_add(stopped_descendants(true));
        if (arg_json)
                print_json(stdout, &machine);
        else
                print_text(&machine);
        if (arg_json_out) {
                FILE *f = fopen(arg_json_out, "we");

                if (f) {
                        print_json(f, &machine);
                        (void) fclose(f);
                } else
                        progress("cannot write %s: %m", arg_json_out);
        }

        if (total_left_stopped > 0 || total_drops > 0) {
                fprintf(stderr, "hips-bench: FAIL: %u processes left stopped, %" PRIu64 " ring-buffer drops\n",
                        total_left_stopped, total_drops);
                ret = 1;
        }
        if (blocks_foreign > 0)
                progress("note: %u of %u blocks ran while another hipsd was running; their baseline includes its cost",
                         blocks_foreign, blocks_total);

out:
        if (arg_keep_tmp)
                progress("kept %s", tmpdir);
        else
                rm_rf_tmpdir();
        return ret;
}

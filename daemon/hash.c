/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <gcrypt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "hash.h"
#include "util.h"

#define NSEC_PER_SEC INT64_C(1000000000)

/* pread() size. 1 MiB keeps the per-syscall overhead negligible while the
 * buffer stays in L2 for the hash to read right after the copy. pread() into
 * a reused buffer was measured against mmap() (50 MiB, warm cache: 29 ms
 * against 31 ms), and it is safe against a file being truncated while we
 * hash it, where reading an mmap() would kill the daemon with SIGBUS. */
#define HASH_CHUNK_SIZE (1024u * 1024u)

/* Plenty for every executable a machine has; bounds the allocation. */
#define HASH_CACHE_MAX_SLOTS (UINT32_C(1) << 20)

/* A file whose ctime is this close to the moment of our fstat() may still be
 * written within the same timestamp granule (a jiffy with coarse kernel
 * timestamps, a second on ext4 with small inodes, two seconds on FAT) without
 * its stamp changing: caching its hash could serve the old hash for new
 * contents. Such files are hashed every time until they have settled. ctime
 * and not mtime because only the kernel sets ctime. */
#define HASH_CACHE_SETTLE_NS (2 * NSEC_PER_SEC)

static bool hash_initialized = false;

int hash_init(void) {
        if (hash_initialized)
                return 0;

        /* Someone else in the process may have initialised libgcrypt already;
         * the control calls below are only allowed before that. */
        if (!gcry_control(GCRYCTL_INITIALIZATION_FINISHED_P)) {
                if (!gcry_check_version(GCRYPT_VERSION))
                        return -EIO;

                /* We hash public file contents, no keys: secure memory would
                 * only cost an mlock()ed pool and warnings without privileges. */
                (void) gcry_control(GCRYCTL_DISABLE_SECMEM, 0);
                (void) gcry_control(GCRYCTL_INITIALIZATION_FINISHED, 0);
        }

        hash_initialized = true;
        return 0;
}

static void gcry_md_closep(gcry_md_hd_t *h) {
        if (*h)
                gcry_md_close(*h);
}

static int errno_from_gcry(gcry_error_t e) {
        int r = gcry_err_code_to_errno(gcry_err_code(e));

        return r > 0 ? -r : -EIO;
}

/* One buffer per thread, allocated at the first hash and kept: hashing runs
 * for every exec, and a 1 MiB malloc() would be an mmap()/munmap() pair with
 * page faults each time. */
static _Thread_local uint8_t *hash_chunk = NULL;

static uint8_t *hash_chunk_get(void) {
        void *p;

        if (hash_chunk)
                return hash_chunk;

        if (posix_memalign(&p, 4096, HASH_CHUNK_SIZE) != 0)
                return NULL;

        return (hash_chunk = p);
}

void hash_release_buffer(void) {
        free(hash_chunk);
        hash_chunk = NULL;
}

static void hex_encode(const uint8_t *digest, size_t n, char *ret) {
        static const char digits[] = "0123456789abcdef";

        for (size_t i = 0; i < n; i++) {
                ret[2 * i] = digits[digest[i] >> 4];
                ret[2 * i + 1] = digits[digest[i] & 0xf];
        }
        ret[2 * n] = '\0';
}

/* sha256_fd() with the fstat() already done, so that the cache path does not
 * stat twice. */
static int sha256_fd_stat(int fd, const struct stat *st, uint64_t max_bytes, const volatile int *cancel,
                          char ret_hex[SHA256_HEX_SIZE]) {
        _cleanup_(gcry_md_closep) gcry_md_hd_t h = NULL;
        gcry_error_t e;
        uint64_t offset = 0;
        uint8_t *buf;
        int r;

        if (st->st_size < 0 || (uint64_t) st->st_size > max_bytes)
                return -EFBIG;

        r = hash_init();
        if (r < 0)
                return r;

        buf = hash_chunk_get();
        if (!buf)
                return -ENOMEM;

        e = gcry_md_open(&h, GCRY_MD_SHA256, 0);
        if (e)
                return errno_from_gcry(e);

        /* Only a hint for readahead on a cold file; failure changes nothing. */
        (void) posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);

        for (;;) {
                ssize_t n;

                n = pread(fd, buf, HASH_CHUNK_SIZE, (off_t) offset);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return negative_errno();
                }
                if (n == 0)
                        break;
                if (cancel && *cancel)
                        return -ECANCELED;

                /* The file may have grown since fstat(): the limit is on
                 * what we hash, not on what fstat() said. */
                offset += (uint64_t) n;
                if (offset > max_bytes)
                        return -EFBIG;

                gcry_md_write(h, buf, (size_t) n);
        }

        hex_encode(gcry_md_read(h, GCRY_MD_SHA256), 32, ret_hex);
        return 0;
}

int sha256_fd(int fd, uint64_t max_bytes, char ret_hex[SHA256_HEX_SIZE]) {
        struct stat st;

        if (fd < 0)
                return -EBADF;

        if (fstat(fd, &st) < 0)
                return negative_errno();

        return sha256_fd_stat(fd, &st, max_bytes, NULL, ret_hex);
}

int sha256_fd_cancellable(int fd, uint64_t max_bytes, const volatile int *cancel, char ret_hex[SHA256_HEX_SIZE]) {
        struct stat st;

        if (fd < 0)
                return -EBADF;
        if (fstat(fd, &st) < 0)
                return negative_errno();
        return sha256_fd_stat(fd, &st, max_bytes, cancel, ret_hex);
}

/* In nanoseconds, wrapping instead of overflowing for absurd times (anyone can
 * set an mtime far in the future). Distinct real timestamps stay distinct. */
static int64_t timespec_ns(const struct timespec *ts) {
        return (int64_t) ((uint64_t) ts->tv_sec * (uint64_t) NSEC_PER_SEC + (uint64_t) ts->tv_nsec);
}

void file_stamp_from_stat(const struct stat *st, FileStamp *ret) {
        *ret = (FileStamp) {
                .dev = (uint64_t) st->st_dev,
                .ino = (uint64_t) st->st_ino,
                .size = (uint64_t) st->st_size,
                .mtime_ns = timespec_ns(&st->st_mtim),
                .ctime_ns = timespec_ns(&st->st_ctim),
        };
}

static bool file_stamp_equal(const FileStamp *a, const FileStamp *b) {
        return a->dev == b->dev &&
                a->ino == b->ino &&
                a->size == b->size &&
                a->mtime_ns == b->mtime_ns &&
                a->ctime_ns == b->ctime_ns;
}

typedef struct HashCacheEntry {
        FileStamp stamp;
        bool used;
        char hex[SHA256_HEX_SIZE];
} HashCacheEntry;

struct HashCache {
        HashCacheEntry *slots;
        size_t mask;                    /* number of slots - 1 */
        uint64_t hits;
        uint64_t misses;
};

int hash_cache_new(size_t n_slots, HashCache **ret) {
        HashCache *c;
        size_t n = 1;

        if (n_slots == 0 || n_slots > HASH_CACHE_MAX_SLOTS)
                return -EINVAL;

        while (n < n_slots)
                n <<= 1;

        c = malloc(sizeof(*c));
        if (!c)
                return -ENOMEM;

        *c = (HashCache) {
                .slots = calloc(n, sizeof(HashCacheEntry)),
                .mask = n - 1,
        };
        if (!c->slots) {
                free(c);
                return -ENOMEM;
        }

        *ret = c;
        return 0;
}

HashCache *hash_cache_free(HashCache *c) {
        if (!c)
                return NULL;

        free(c->slots);
        free(c);
        return NULL;
}

/* The MurmurHash3 finaliser: every input bit affects every output bit, so
 * that inode numbers handed out in sequence spread over all slots. */
static uint64_t mix64(uint64_t x) {
        x ^= x >> 33;
        x *= UINT64_C(0xff51afd7ed558ccd);
        x ^= x >> 33;
        x *= UINT64_C(0xc4ceb9fe1a85ec53);
        x ^= x >> 33;
        return x;
}

static HashCacheEntry *hash_cache_slot(HashCache *c, const FileStamp *s) {
        uint64_t h;

        h = mix64(s->dev);
        h = mix64(h ^ s->ino);
        h = mix64(h ^ s->size);
        h = mix64(h ^ (uint64_t) s->mtime_ns);
        h = mix64(h ^ (uint64_t) s->ctime_ns);

        return &c->slots[h & c->mask];
}

bool hash_cache_lookup(HashCache *c, const FileStamp *stamp, char ret_hex[SHA256_HEX_SIZE]) {
        HashCacheEntry *e = hash_cache_slot(c, stamp);

        if (!e->used || !file_stamp_equal(&e->stamp, stamp)) {
                c->misses++;
                return false;
        }

        memcpy(ret_hex, e->hex, SHA256_HEX_SIZE);
        c->hits++;
        return true;
}

void hash_cache_store(HashCache *c, const FileStamp *stamp, const char hex[SHA256_HEX_SIZE]) {
        HashCacheEntry *e = hash_cache_slot(c, stamp);

        e->stamp = *stamp;
        memcpy(e->hex, hex, SHA256_HEX_SIZE - 1);
        e->hex[SHA256_HEX_SIZE - 1] = '\0';
        e->used = true;
}

/* Drops the entries; the counters are statistics over the cache's life and stay. */
void hash_cache_clear(HashCache *c) {
        memset(c->slots, 0, (c->mask + 1) * sizeof(HashCacheEntry));
}

uint64_t hash_cache_hits(const HashCache *c) {
        return c->hits;
}

uint64_t hash_cache_misses(const HashCache *c) {
        return c->misses;
}

static bool file_stamp_settled(const FileStamp *s, const struct timespec *now) {
        return s->ctime_ns <= timespec_ns(now) - HASH_CACHE_SETTLE_NS;
}

int hash_cache_sha256_fd(HashCache *c, int fd, uint64_t max_bytes, char ret_hex[SHA256_HEX_SIZE], struct stat *ret_stat) {
        char hex[SHA256_HEX_SIZE];
        struct timespec now;
        FileStamp stamp;
        struct stat st;
        int r;

        if (fd < 0)
                return -EBADF;

        if (fstat(fd, &st) < 0)
                return negative_errno();

        file_stamp_from_stat(&st, &stamp);

        if (!hash_cache_lookup(c, &stamp, hex)) {
                /* The time of the fstat(), not of the end of hashing: what
                 * matters is whether a write after the fstat() could still
                 * carry the same ctime. */
                if (clock_gettime(CLOCK_REALTIME, &now) < 0)
                        return negative_errno();

                r = sha256_fd_stat(fd, &st, max_bytes, NULL, hex);
                if (r < 0)
                        return r;

                /* Only regular files: a device's contents change without
                 * its timestamps doing so. */
                if (S_ISREG(st.st_mode) && file_stamp_settled(&stamp, &now))
                        hash_cache_store(c, &stamp, hex);
        }

        memcpy(ret_hex, hex, SHA256_HEX_SIZE);
        if (ret_stat)
                *ret_stat = st;
        return 0;
}

bool hash_cache_lookup_stat(HashCache *c, const struct stat *st, char ret_hex[SHA256_HEX_SIZE]) {
        FileStamp stamp;

        file_stamp_from_stat(st, &stamp);
        return hash_cache_lookup(c, &stamp, ret_hex);
}

void hash_cache_store_stat(HashCache *c, const struct stat *st, const struct timespec *stat_time,
                           const char hex[SHA256_HEX_SIZE]) {
        FileStamp stamp;

        file_stamp_from_stat(st, &stamp);
        if (S_ISREG(st->st_mode) && file_stamp_settled(&stamp, stat_time))
                hash_cache_store(c, &stamp, hex);
}

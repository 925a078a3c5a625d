/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* SHA256 of executed files (libgcrypt), and a bounded cache keyed by file
 * identity and change stamps, so that an unchanged binary is hashed once. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <time.h>

#define SHA256_HEX_SIZE 65   /* 64 hex digits + NUL */

/* Initialise libgcrypt once (version check, no secure memory). Returns 0 or -EIO. */
int hash_init(void);

/* Free the calling thread's read buffer (at thread or process exit). */
void hash_release_buffer(void);

/* Hash the whole file behind fd with pread() from offset 0 (the fd's offset is
 * not used or changed). Returns 0, -EFBIG when the file is larger than
 * max_bytes (nothing hashed), or a negative errno from reading. */
int sha256_fd(int fd, uint64_t max_bytes, char ret_hex[SHA256_HEX_SIZE]);

/* sha256_fd() that gives up with -ECANCELED once *cancel is set (checked
 * between chunks); for hashing in a worker thread. */
int sha256_fd_cancellable(int fd, uint64_t max_bytes, const volatile int *cancel, char ret_hex[SHA256_HEX_SIZE]);

typedef struct FileStamp {
        uint64_t dev;
        uint64_t ino;
        uint64_t size;
        int64_t mtime_ns;
        int64_t ctime_ns;
} FileStamp;

void file_stamp_from_stat(const struct stat *st, FileStamp *ret);

typedef struct HashCache HashCache;

/* n_slots: capacity, rounded up to a power of two; entries are replaced on collision. */
int hash_cache_new(size_t n_slots, HashCache **ret);
HashCache *hash_cache_free(HashCache *c);
bool hash_cache_lookup(HashCache *c, const FileStamp *stamp, char ret_hex[SHA256_HEX_SIZE]);
void hash_cache_store(HashCache *c, const FileStamp *stamp, const char hex[SHA256_HEX_SIZE]);
void hash_cache_clear(HashCache *c);
uint64_t hash_cache_hits(const HashCache *c);
uint64_t hash_cache_misses(const HashCache *c);

/* Hash through fd with the cache: fstat, lookup, else sha256_fd and store.
 * *ret_stat gets the fstat result when non-NULL. */
int hash_cache_sha256_fd(HashCache *c, int fd, uint64_t max_bytes, char ret_hex[SHA256_HEX_SIZE], struct stat *ret_stat);

/* The cache by fstat(2) result, for callers that hash elsewhere (a worker):
 * stat_time is CLOCK_REALTIME taken right before that fstat(); files changed
 * less than 2 s before it are not stored (their stamp may not change yet). */
bool hash_cache_lookup_stat(HashCache *c, const struct stat *st, char ret_hex[SHA256_HEX_SIZE]);
void hash_cache_store_stat(HashCache *c, const struct stat *st, const struct timespec *stat_time,
                           const char hex[SHA256_HEX_SIZE]);

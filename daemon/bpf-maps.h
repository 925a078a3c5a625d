/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Map chores both BPF objects (the gate's and the monitors') share. */

#include <stddef.h>
#include <stdint.h>

/* The key of a map of files by kernel identity: hips_file_id and
 * hips_mon_file_id have this layout (checked where they are used). */
typedef struct BpfFileKey {
        uint64_t dev;
        uint64_t ino;
} BpfFileKey;

/* ret[i] = the sum over CPUs of key i of a per-CPU array of u64, i < n. */
int bpf_percpu_counters_read(int map_fd, uint32_t n, uint64_t *ret);

/* Make the hash map at map_fd hold exactly keys[i] -> values[i] (each
 * value_size bytes), i < n. The new set goes in first and only then is the
 * rest deleted, so a file that stays in the set is never briefly missing. */
int bpf_file_map_replace(int map_fd, const BpfFileKey *keys, const void *values, size_t value_size, size_t n);

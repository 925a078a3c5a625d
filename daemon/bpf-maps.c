/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "bpf-maps.h"
#include "util.h"

int bpf_percpu_counters_read(int map_fd, uint32_t n, uint64_t *ret) {
        _cleanup_free_ uint64_t *per_cpu = NULL;
        int n_cpus = libbpf_num_possible_cpus();

        if (n_cpus <= 0)
                return n_cpus < 0 ? n_cpus : -EINVAL;
        per_cpu = calloc((size_t) n_cpus, sizeof(uint64_t));
        if (!per_cpu)
                return -ENOMEM;
        for (uint32_t i = 0; i < n; i++) {
                uint64_t sum = 0;

                if (bpf_map_lookup_elem(map_fd, &i, per_cpu) < 0)
                        return negative_errno();
                for (int c = 0; c < n_cpus; c++)
                        sum += per_cpu[c];
                ret[i] = sum;
        }
        return 0;
}

int bpf_file_map_replace(int map_fd, const BpfFileKey *keys, const void *values, size_t value_size, size_t n) {
        BpfFileKey key, next;
        bool more;

        for (size_t i = 0; i < n; i++)
                if (bpf_map_update_elem(map_fd, &keys[i], (const char *) values + i * value_size, BPF_ANY) < 0)
                        return negative_errno();

        more = bpf_map_get_next_key(map_fd, NULL, &key) == 0;
        while (more) {
                bool keep = false;

                more = bpf_map_get_next_key(map_fd, &key, &next) == 0;
                for (size_t i = 0; i < n && !keep; i++)
                        keep = keys[i].dev == key.dev && keys[i].ino == key.ino;
                if (!keep && bpf_map_delete_elem(map_fd, &key) < 0 && errno != ENOENT)
                        return negative_errno();
                key = next;
        }
        return 0;
}

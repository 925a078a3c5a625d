/* SPDX-License-Identifier: (LGPL-2.1-or-later OR BSD-2-Clause) */
#pragma once

/* Shared by the BPF objects: pids as hipsd sees them. A hipsd in a pid
 * namespace (a container) may act only on processes it can see, and every
 * pid it is given must be one it can signal. The including file defines
 * `const volatile __u32 hips_pidns_ino` (0 for the initial namespace) first. */

#define HIPS_MAX_PIDNS_LEVEL 8

/* The number of pid in hipsd's pid namespace; 0 when not visible there. */
static __always_inline __u32 pid_nr_seen(struct pid *pid) {
        unsigned int level;

        if (!pid)
                return 0;
        level = BPF_CORE_READ(pid, level);
        for (unsigned int i = 0; i < HIPS_MAX_PIDNS_LEVEL; i++) {
                struct upid up;

                if (i > level)
                        break;
                if (bpf_probe_read_kernel(&up, sizeof(up), &pid->numbers[i]) < 0)
                        return 0;
                if (BPF_CORE_READ(up.ns, ns.inum) == hips_pidns_ino)
                        return (__u32) up.nr;
        }
        return 0;
}

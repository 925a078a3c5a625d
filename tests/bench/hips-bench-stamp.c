/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The program hips-bench execs to time an exec: the first thing main() does
 * is read CLOCK_MONOTONIC and write it to fd 3 (a pipe the bench passes in),
 * so the bench sees when the new image really started running. Without fd 3
 * (storm workers) the write fails with EBADF and the program just exits. */
#include <time.h>
#include <unistd.h>

int main(void) {
        struct timespec ts;

        (void) clock_gettime(CLOCK_MONOTONIC, &ts);
        (void) !write(3, &ts, sizeof(ts));
        return 0;
}

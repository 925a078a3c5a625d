/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Privilege changes for the monitor tests.
 *
 *   hips-test-setuid UID            setuid(UID) (as root: drops to UID); prints
 *                                   "pid=P uid=R euid=E" after; exit 0 if it worked
 *   hips-test-setuid --become-root  setuid(0) (a set-user-ID root copy run by
 *                                   a user: gains root); exit 0 if uid is 0 after
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char *argv[]) {
        uid_t want;

        if (argc != 2) {
                fprintf(stderr, "usage: %s UID | --become-root\n", argv[0]);
                return 2;
        }
        want = strcmp(argv[1], "--become-root") == 0 ? 0 : (uid_t) strtoul(argv[1], NULL, 10);
        if (setuid(want) < 0) {
                perror("setuid");
                return 1;
        }
        printf("pid=%d uid=%u euid=%u\n", (int) getpid(), (unsigned) getuid(), (unsigned) geteuid());
        return getuid() == want && geteuid() == want ? 0 : 1;
}

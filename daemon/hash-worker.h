/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Hashing a large file off the event loop: one worker thread, a queue, and
 * an eventfd that brings results back to the loop. While a big binary is
 * hashed, every other exec is still judged; the exec waiting on the hash
 * has its own deadline. */

#include <stdbool.h>
#include <stdint.h>

#include <systemd/sd-event.h>

#include "hash.h"

typedef struct HashWorker HashWorker;
typedef struct HashJob HashJob;

/* Called on the event loop. r: 0, -EFBIG, or a read error. hex valid when r == 0. */
typedef void (*hash_job_done_fn)(int r, const char *hex, void *userdata);

int hash_worker_new(sd_event *event, HashWorker **ret);
/* Cancels what is queued, waits for the running job to stop, joins. */
HashWorker *hash_worker_free(HashWorker *w);

/* Takes ownership of fd. */
int hash_worker_submit(HashWorker *w, int fd, uint64_t max_bytes, hash_job_done_fn done, void *userdata, HashJob **ret);

/* done will not be called; the job is freed when the worker lets go of it. */
void hash_job_cancel(HashJob *job);

unsigned hash_worker_queued(const HashWorker *w);

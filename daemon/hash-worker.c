/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "hash-worker.h"
#include "log.h"
#include "util.h"

struct HashJob {
        HashJob *next;
        int fd;
        uint64_t max_bytes;
        volatile int cancelled;         /* read by the worker between chunks */
        int result;
        char hex[SHA256_HEX_SIZE];
        hash_job_done_fn done;
        void *userdata;
};

struct HashWorker {
        pthread_t thread;
        bool thread_started;
        pthread_mutex_t lock;
        pthread_cond_t wake;
        bool quit;
        HashJob *queue_head, *queue_tail;      /* waiting for the worker */
        HashJob *finished;                     /* back to the loop */
        HashJob *running;
        unsigned n_queued;
        int eventfd;
        sd_event_source *source;
};

static void job_free(HashJob *j) {
        if (!j)
                return;
        if (j->fd >= 0)
                (void) close(j->fd);
        free(j);
}

static void *worker_main(void *arg) {
        HashWorker *w = arg;

        pthread_mutex_lock(&w->lock);
        for (;;) {
                HashJob *j;
                uint64_t one = 1;

                while (!w->quit && !w->queue_head)
                        pthread_cond_wait(&w->wake, &w->lock);
                if (w->quit)
                        break;

                j = w->queue_head;
                w->queue_head = j->next;
                if (!w->queue_head)
                        w->queue_tail = NULL;
                w->n_queued--;
                w->running = j;
                pthread_mutex_unlock(&w->lock);

                j->result = j->cancelled ? -ECANCELED :
                        sha256_fd_cancellable(j->fd, j->max_bytes, &j->cancelled, j->hex);

                pthread_mutex_lock(&w->lock);
                w->running = NULL;
                j->next = w->finished;
                w->finished = j;
                (void) write(w->eventfd, &one, sizeof(one));
        }
        pthread_mutex_unlock(&w->lock);
        hash_release_buffer();
        return NULL;
}

static int on_finished(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        HashWorker *w = userdata;
        HashJob *list;
        uint64_t n;

        (void) read(w->eventfd, &n, sizeof(n));

        pthread_mutex_lock(&w->lock);
        list = TAKE_PTR(w->finished);
        pthread_mutex_unlock(&w->lock);

        while (list) {
                HashJob *j = list;

                list = j->next;
                if (!j->cancelled)
                        j->done(j->result, j->result == 0 ? j->hex : NULL, j->userdata);
                job_free(j);
        }
        return 0;
}

int hash_worker_new(sd_event *event, HashWorker **ret) {
        HashWorker *w;
        int r;

        w = calloc(1, sizeof(*w));
        if (!w)
                return -ENOMEM;
        pthread_mutex_init(&w->lock, NULL);
        pthread_cond_init(&w->wake, NULL);

        w->eventfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (w->eventfd < 0) {
                r = negative_errno();
                goto fail;
        }
        r = sd_event_add_io(event, &w->source, w->eventfd, EPOLLIN, on_finished, w);
        if (r < 0)
                goto fail;
        (void) sd_event_source_set_priority(w->source, SD_EVENT_PRIORITY_IMPORTANT);
        (void) sd_event_source_set_description(w->source, "hash-worker");

        r = -pthread_create(&w->thread, NULL, worker_main, w);
        if (r < 0)
                goto fail;
        w->thread_started = true;

        *ret = w;
        return 0;

fail:
        hash_worker_free(w);
        return r;
}

HashWorker *hash_worker_free(HashWorker *w) {
        if (!w)
                return NULL;

        pthread_mutex_lock(&w->lock);
        w->quit = true;
        for (HashJob *j = w->queue_head; j; j = j->next)
                j->cancelled = 1;
        if (w->running)
                w->running->cancelled = 1;
        pthread_cond_signal(&w->wake);
        pthread_mutex_unlock(&w->lock);

        if (w->thread_started)
                (void) pthread_join(w->thread, NULL);

        for (HashJob *j = w->queue_head, *n; j; j = n) {
                n = j->next;
                job_free(j);
        }
        for (HashJob *j = w->finished, *n; j; j = n) {
                n = j->next;
                job_free(j);
        }
        sd_event_source_disable_unref(w->source);
        if (w->eventfd >= 0)
                (void) close(w->eventfd);
        pthread_mutex_destroy(&w->lock);
        pthread_cond_destroy(&w->wake);
        free(w);
        return NULL;
}

int hash_worker_submit(HashWorker *w, int fd, uint64_t max_bytes, hash_job_done_fn done, void *userdata, HashJob **ret) {
        HashJob *j;

        j = calloc(1, sizeof(*j));
        if (!j) {
                (void) close(fd);
                return -ENOMEM;
        }
        j->fd = fd;
        j->max_bytes = max_bytes;
        j->done = done;
        j->userdata = userdata;

        pthread_mutex_lock(&w->lock);
        if (w->queue_tail)
                w->queue_tail->next = j;
        else
                w->queue_head = j;
        w->queue_tail = j;
        w->n_queued++;
        pthread_cond_signal(&w->wake);
        pthread_mutex_unlock(&w->lock);

        *ret = j;
        return 0;
}

void hash_job_cancel(HashJob *job) {
        /* The job stays owned by the worker (queue, running or finished
         * list) and is freed on the loop once it comes back. */
        if (job)
                __atomic_store_n(&job->cancelled, 1, __ATOMIC_RELAXED);
}

unsigned hash_worker_queued(const HashWorker *w) {
        return w ? w->n_queued : 0;
}

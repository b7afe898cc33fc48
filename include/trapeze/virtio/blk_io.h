/*
 * virtio/blk_io: a small pool of worker threads that run a disk's requests
 * (preadv/pwritev/fdatasync/fallocate), so file I/O never runs on a vCPU
 * thread or on the I/O thread that pops the queue. Jobs run in parallel and
 * finish in any order.
 *
 * A job is embedded in the caller's request; the pool only links it, runs
 * job->run on one of its threads, and counts it until run returns. Nothing
 * is allocated per job.
 *
 * Lock: io->lock is a leaf (job->run is called without it).
 */
#ifndef TRAPEZE_VIRTIO_BLK_IO_H
#define TRAPEZE_VIRTIO_BLK_IO_H

#include <pthread.h>

#include "trapeze/types.h"

#define BLK_IO_MAX_THREADS 16

struct blk_io_job {
	void (*run)(struct blk_io_job *job);	/* on a worker thread */
	struct blk_io_job *next;		/* the pool's queue link */
};

struct blk_io {
	pthread_mutex_t lock;
	pthread_cond_t work;		/* a job was queued, or stopping */
	pthread_cond_t idle;		/* in_flight reached 0 */
	struct blk_io_job *head, *tail;	/* queued, not yet running */
	unsigned int in_flight;		/* queued + running */
	bool stopping;
	pthread_t threads[BLK_IO_MAX_THREADS];
	unsigned int nr_threads;
};

/*
 * Starts nr_threads workers (1 to BLK_IO_MAX_THREADS) named name (at most 15
 * characters are kept). 0 or -errno; on failure nothing is left running.
 */
int blk_io_init(struct blk_io *io, unsigned int nr_threads, const char *name);

/* Queues job; a worker calls job->run(job) soon. Never blocks on I/O. */
void blk_io_submit(struct blk_io *io, struct blk_io_job *job);

/*
 * Waits until every job submitted so far has returned from run. Must not be
 * called from a job. Jobs submitted meanwhile are waited for too.
 */
void blk_io_drain(struct blk_io *io);

/* Drains, then stops and joins the workers. */
void blk_io_destroy(struct blk_io *io);

#endif

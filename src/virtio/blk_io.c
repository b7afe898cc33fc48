/*
 * The disk worker pool (a FIFO of jobs, a condition variable, N threads) and
 * the work its threads do for virtio-blk: preadv/pwritev between the image
 * and the guest's buffers, fdatasync, holes and zeroes with fallocate.
 */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "trapeze/virtio/blk.h"
#include "trapeze/virtio/blk_io.h"

#define BLK_ZERO_CHUNK 65536	/* bytes per write when zeroes must be written */

static void *blk_io_worker(void *arg)
{
	struct blk_io *io = arg;
	struct blk_io_job *job;

	pthread_mutex_lock(&io->lock);
	for (;;) {
		while (!io->head && !io->stopping)
			pthread_cond_wait(&io->work, &io->lock);
		if (!io->head)
			break;	/* stopping, and nothing left to run */
		job = io->head;
		io->head = job->next;
		if (!io->head)
			io->tail = NULL;
		pthread_mutex_unlock(&io->lock);

		job->run(job);	/* the job may be reused as soon as this returns */

		pthread_mutex_lock(&io->lock);
		if (--io->in_flight == 0)
			pthread_cond_broadcast(&io->idle);
	}
	pthread_mutex_unlock(&io->lock);
	return NULL;
}

static void blk_io_stop(struct blk_io *io)
{
	pthread_mutex_lock(&io->lock);
	io->stopping = true;
	pthread_cond_broadcast(&io->work);
	pthread_mutex_unlock(&io->lock);
	for (unsigned int i = 0; i < io->nr_threads; i++)
		pthread_join(io->threads[i], NULL);
	io->nr_threads = 0;
}

int blk_io_init(struct blk_io *io, unsigned int nr_threads, const char *name)
{
	char tname[16];
	int r;

	memset(io, 0, sizeof(*io));
	if (nr_threads < 1 || nr_threads > BLK_IO_MAX_THREADS)
		return -EINVAL;
	pthread_mutex_init(&io->lock, NULL);
	pthread_cond_init(&io->work, NULL);
	pthread_cond_init(&io->idle, NULL);
	snprintf(tname, sizeof(tname), "%s", name ? name : "blk-io");
	for (unsigned int i = 0; i < nr_threads; i++) {
		r = -pthread_create(&io->threads[i], NULL, blk_io_worker, io);
		if (r)
			goto out_stop;
		pthread_setname_np(io->threads[i], tname);
		io->nr_threads++;
	}
	return 0;

out_stop:
	blk_io_stop(io);
	pthread_cond_destroy(&io->idle);
	pthread_cond_destroy(&io->work);
	pthread_mutex_destroy(&io->lock);
	return r;
}

void blk_io_submit(struct blk_io *io, struct blk_io_job *job)
{
	job->next = NULL;
	pthread_mutex_lock(&io->lock);
	if (io->tail)
		io->tail->next = job;
	else
		io->head = job;
	io->tail = job;
	io->in_flight++;
	pthread_cond_signal(&io->work);
	pthread_mutex_unlock(&io->lock);
}

void blk_io_drain(struct blk_io *io)
{
	pthread_mutex_lock(&io->lock);
	while (io->in_flight)
		pthread_cond_wait(&io->idle, &io->lock);
	pthread_mutex_unlock(&io->lock);
}

void blk_io_destroy(struct blk_io *io)
{
	if (!io->nr_threads)
		return;
	blk_io_drain(io);
	blk_io_stop(io);
	pthread_cond_destroy(&io->idle);
	pthread_cond_destroy(&io->work);
	pthread_mutex_destroy(&io->lock);
}

/* ---- virtio-blk requests, on a worker thread ---- */

/* preadv/pwritev until all of iov is done. 0, or -errno (-EIO: end of file). */
static int blk_rw(int fd, struct iovec *iov, unsigned int n, u64 off, bool write)
{
	while (n) {
		ssize_t got = write ? pwritev(fd, iov, (int)n, (off_t)off)
				    : preadv(fd, iov, (int)n, (off_t)off);

		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0)
			return -errno;
		if (got == 0)
			return -EIO;	/* the file shrank under us */
		off += (u64)got;
		/* Step over what was transferred; iov is the request's own copy. */
		while (n && (size_t)got >= iov->iov_len) {
			got -= (ssize_t)iov->iov_len;
			iov++;
			n--;
		}
		if (n) {
			iov->iov_base = (u8 *)iov->iov_base + got;
			iov->iov_len -= (size_t)got;
		}
	}
	return 0;
}

int virtio_blk_sync(struct virtio_blk *blk)
{
	while (fdatasync(blk->fd) < 0) {
		if (errno != EINTR)
			return -errno;
	}
	return 0;
}

static int blk_write_zeroes_plain(struct virtio_blk *blk, u64 off, u64 len)
{
	static const u8 zeroes[BLK_ZERO_CHUNK];

	while (len) {
		size_t n = len < sizeof(zeroes) ? (size_t)len : sizeof(zeroes);
		ssize_t w = pwrite(blk->fd, zeroes, n, (off_t)off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return w < 0 ? -errno : -EIO;
		off += (u64)w;
		len -= (u64)w;
	}
	return 0;
}

/* One discard or write-zeroes segment, already checked against the capacity. */
static int blk_dwz_segment(struct virtio_blk *blk, u32 type,
			   const struct virtio_blk_discard_write_zeroes *seg)
{
	u64 off = le64toh(seg->sector) * VIRTIO_BLK_SECTOR;
	u64 len = (u64)le32toh(seg->num_sectors) * VIRTIO_BLK_SECTOR;
	bool unmap = le32toh(seg->flags) & VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP;

	if (!len)
		return 0;
	/* Discard, or write-zeroes that may unmap: a hole reads back as zeroes. */
	if (type == VIRTIO_BLK_T_DISCARD || unmap) {
		if (!fallocate(blk->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)off,
			       (off_t)len))
			return 0;
		if (type == VIRTIO_BLK_T_DISCARD)
			return -errno;
	}
	if (atomic_load(&blk->can_zero_range)) {
		if (!fallocate(blk->fd, FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE, (off_t)off,
			       (off_t)len))
			return 0;
		if (errno != EOPNOTSUPP)
			return -errno;
		atomic_store(&blk->can_zero_range, false);	/* e.g. tmpfs: write them */
	}
	return blk_write_zeroes_plain(blk, off, len);
}

void virtio_blk_req_run(struct blk_io_job *job)
{
	struct virtio_blk_req *req = (struct virtio_blk_req *)job;
	struct virtio_blk *blk = req->blk;
	bool durable = false;	/* a write the driver cannot flush: sync it now */
	int r = 0;

	switch (req->type) {
	case VIRTIO_BLK_T_IN:
		r = blk_rw(blk->fd, req->iov, req->nr_iov, req->sector * VIRTIO_BLK_SECTOR, false);
		break;
	case VIRTIO_BLK_T_OUT:
		r = blk_rw(blk->fd, req->iov, req->nr_iov, req->sector * VIRTIO_BLK_SECTOR, true);
		durable = !blk->writeback;
		break;
	case VIRTIO_BLK_T_FLUSH:
		durable = true;
		break;
	case VIRTIO_BLK_T_DISCARD:
	case VIRTIO_BLK_T_WRITE_ZEROES:
		for (unsigned int i = 0; !r && i < req->nr_iov; i++)
			r = blk_dwz_segment(blk, req->type, &req->seg[i]);
		durable = !blk->writeback;
		break;
	}
	if (!r && durable && !blk->ro)
		r = virtio_blk_sync(blk);
	virtio_blk_req_complete(req, r ? VIRTIO_BLK_S_IOERR : VIRTIO_BLK_S_OK);
}

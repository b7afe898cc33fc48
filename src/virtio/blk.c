/*
 * virtio-blk: the image file, the device's features and configuration, the
 * request queue and its pool of requests. Requests are checked on the I/O
 * thread (virtio/blk_req.c) and run by the worker pool (virtio/blk_io.c);
 * see virtio/blk.h for the rules.
 */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "trapeze/virtio/blk.h"

_Static_assert(offsetof(struct virtio_blk_config, max_secure_erase_sectors) ==
	       VIRTIO_BLK_CONFIG_SIZE, "config layout up to unused1");
/* ---- the image file ---- */

__attribute__((format(printf, 4, 5)))
static int blk_fail(char *err, size_t err_len, int r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, err_len, fmt, ap);
	va_end(ap);
	return r;
}

/* open() failed with e: say why in the user's terms. */
static int blk_open_error(const char *path, bool ro, int e, char *err, size_t err_len)
{
	int fd;

	if (e == ENOENT || e == ENOTDIR)
		return blk_fail(err, err_len, -e, "disk image '%s' does not exist", path);
	if (e == EISDIR)
		return blk_fail(err, err_len, -e, "disk image '%s' is a directory", path);
	if (!ro && (e == EACCES || e == EPERM || e == EROFS)) {
		/* Readable but not writable: the user forgot ",ro". */
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd >= 0) {
			close(fd);
			return blk_fail(err, err_len, -e, "disk image '%s' is read-only; add ,ro",
					path);
		}
		e = errno;
	}
	if (e == EACCES || e == EPERM)
		return blk_fail(err, err_len, -e, "disk image '%s' is not readable (%s)", path,
				strerror(e));
	return blk_fail(err, err_len, -e, "cannot open disk image '%s': %s", path, strerror(e));
}

/*
 * Whether the file system punches holes in this file: a hole past the end
 * of the file changes nothing (KEEP_SIZE) and fails with EOPNOTSUPP where
 * holes are not supported.
 */
static bool blk_probe_punch(int fd, u64 size)
{
	return fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)size,
			 (off_t)VIRTIO_BLK_SECTOR) == 0;
}

static int blk_open(struct virtio_blk *blk, char *err, size_t err_len)
{
	struct stat st;
	int fd, r;

	fd = open(blk->path, (blk->ro ? O_RDONLY : O_RDWR) | O_CLOEXEC);
	if (fd < 0)
		return blk_open_error(blk->path, blk->ro, errno, err, err_len);
	if (fstat(fd, &st) < 0) {
		r = blk_fail(err, err_len, -errno, "cannot stat disk image '%s': %s", blk->path,
			     strerror(errno));
		goto out_close;
	}
	if (S_ISDIR(st.st_mode)) {
		r = blk_fail(err, err_len, -EISDIR, "disk image '%s' is a directory", blk->path);
		goto out_close;
	}
	if (!S_ISREG(st.st_mode)) {
		r = blk_fail(err, err_len, -EINVAL, "disk image '%s' is not a regular file",
			     blk->path);
		goto out_close;
	}
	/* Shared for readers, exclusive for a writer: never two writers, never a reader beside one. */
	if (flock(fd, (blk->ro ? LOCK_SH : LOCK_EX) | LOCK_NB) < 0) {
		if (errno == EWOULDBLOCK)
			r = blk_fail(err, err_len, -EBUSY,
				     "disk image '%s' is in use by another process (locked)",
				     blk->path);
		else
			r = blk_fail(err, err_len, -errno, "cannot lock disk image '%s': %s",
				     blk->path, strerror(errno));
		goto out_close;
	}
	blk->fd = fd;
	blk->capacity = (u64)st.st_size / VIRTIO_BLK_SECTOR;
	if ((u64)st.st_size % VIRTIO_BLK_SECTOR)
		fprintf(stderr, "trapeze: warning: disk image '%s' is %llu bytes, not a multiple "
			"of 512: the guest sees %llu sectors and not the last %llu bytes\n",
			blk->path, (unsigned long long)st.st_size,
			(unsigned long long)blk->capacity,
			(unsigned long long)((u64)st.st_size % VIRTIO_BLK_SECTOR));
	blk->can_punch = !blk->ro && blk_probe_punch(fd, (u64)st.st_size);
	atomic_init(&blk->can_zero_range, blk->can_punch);
	return 0;

out_close:
	close(fd);
	return r;
}

/* ---- features and configuration (5.2.3, 5.2.4) ---- */

static u64 blk_features(struct virtio_dev *vd)
{
	struct virtio_blk *blk = vd->priv;
	u64 f = (1ULL << VIRTIO_BLK_F_SIZE_MAX) | (1ULL << VIRTIO_BLK_F_SEG_MAX) |
		(1ULL << VIRTIO_BLK_F_BLK_SIZE) | (1ULL << VIRTIO_BLK_F_FLUSH);

	if (blk->ro)
		f |= 1ULL << VIRTIO_BLK_F_RO;
	if (blk->can_punch)
		f |= (1ULL << VIRTIO_BLK_F_DISCARD) | (1ULL << VIRTIO_BLK_F_WRITE_ZEROES);
	return f;
}

static void blk_build_config(struct virtio_blk *blk)
{
	struct virtio_blk_config c;

	memset(&c, 0, sizeof(c));	/* geometry, topology, unused0/1 stay 0 (5.2.5.2) */
	c.capacity = htole64(blk->capacity);
	c.size_max = htole32(VIRTIO_BLK_SIZE_MAX);
	c.seg_max = htole32(VIRTIO_BLK_SEG_MAX);
	c.blk_size = htole32((u32)VIRTIO_BLK_SECTOR);
	if (blk->can_punch) {
		c.max_discard_sectors = htole32(VIRTIO_BLK_DWZ_MAX_SECTORS);
		c.max_discard_seg = htole32(VIRTIO_BLK_DISCARD_MAX_SEG);
		c.discard_sector_alignment = htole32(VIRTIO_BLK_DISCARD_ALIGN);
		c.max_write_zeroes_sectors = htole32(VIRTIO_BLK_DWZ_MAX_SECTORS);
		c.max_write_zeroes_seg = htole32(VIRTIO_BLK_WZ_MAX_SEG);
		c.write_zeroes_may_unmap = 1;	/* with unmap set, a hole is punched */
	}
	memcpy(blk->config, &c, sizeof(blk->config));
}

static void blk_config_read(struct virtio_dev *vd, u32 off, void *data, u32 len)
{
	struct virtio_blk *blk = vd->priv;

	/* The core checked off + len <= config_size; check again, it costs nothing. */
	if (off > sizeof(blk->config) || len > sizeof(blk->config) - off) {
		memset(data, 0, len);
		return;
	}
	memcpy(data, blk->config + off, len);
}

static void blk_config_write(struct virtio_dev *vd, u32 off, const void *data, u32 len)
{
	/* No writable field: writeback needs VIRTIO_BLK_F_CONFIG_WCE, not offered. */
	(void)vd, (void)off, (void)data, (void)len;
}
/* ---- request pool ---- */

static struct virtio_blk_req *blk_req_alloc(struct virtio_blk *blk)
{
	struct virtio_blk_req *req;

	pthread_mutex_lock(&blk->pool_lock);
	req = blk->free;
	if (req)
		blk->free = req->next_free;
	pthread_mutex_unlock(&blk->pool_lock);
	return req;
}

static void blk_req_free(struct virtio_blk *blk, struct virtio_blk_req *req)
{
	pthread_mutex_lock(&blk->pool_lock);
	req->next_free = blk->free;
	blk->free = req;
	pthread_mutex_unlock(&blk->pool_lock);
}

/*
 * Writes the status byte and gives the chain back. The request goes back to
 * the pool before the push: once the driver sees the used entry it may reuse
 * the descriptors at once, and a request still counted then would make a
 * well-behaved driver look like it had more chains out than its queue holds.
 */
void virtio_blk_req_complete(struct virtio_blk_req *req, u8 status)
{
	struct virtio_blk *blk = req->blk;
	u16 head = req->head;
	u32 used_len = req->used_len;

	if (req->status)
		*req->status = status;
	blk_req_free(blk, req);
	/* After a reset began nobody wants the completion: the rings are going away. */
	if (atomic_load(&blk->active))
		virtio_dev_push_used(&blk->vd, 0, head, used_len);
}

/* Takes one popped chain: to a worker, or completed here when it is bad or trivial. */
static void blk_req_start(struct virtio_blk *blk, struct virtio_blk_req *req,
			  const struct virtq_chain *c)
{
	bool done;
	u8 st;

	req->blk = blk;
	req->head = c->head;
	req->nr_iov = 0;
	req->len = 0;
	/* What the driver may look at: the whole writable part ends with the status. */
	req->used_len = c->in_len > UINT32_MAX ? UINT32_MAX : (u32)c->in_len;
	if (!c->nr_in) {
		/* Nowhere to put a status: give the chain back with nothing written. */
		req->status = NULL;
		req->used_len = 0;
		if (!blk->warned_bad_req)
			fprintf(stderr, "trapeze: virtio-blk %u: request without a status byte "
				"(logged once)\n", blk->index);
		blk->warned_bad_req = true;
		virtio_blk_req_complete(req, 0);
		return;
	}
	{
		const struct virtq_iov *last = &c->iov[c->nr_out + c->nr_in - 1];

		req->status = (u8 *)last->base + last->len - 1;
	}
	st = virtio_blk_req_prepare(blk, req, c, &done);
	if (done) {
		virtio_blk_req_complete(req, st);
		return;
	}
	req->job.run = virtio_blk_req_run;
	blk_io_submit(&blk->io, &req->job);
}

/* ---- the queue, on the I/O thread ---- */

static int blk_pop(struct virtio_blk *blk, struct virtio_queue_state *qs)
{
	int r;

	pthread_mutex_lock(&qs->push_lock);
	r = virtq_pop(&qs->vq, blk->vd.mem, blk->chain);
	pthread_mutex_unlock(&qs->push_lock);
	return r;
}

static bool blk_rearm(struct virtio_blk *blk, struct virtio_queue_state *qs, bool enable)
{
	bool more;

	pthread_mutex_lock(&qs->push_lock);
	virtq_set_notify(&qs->vq, blk->vd.mem, enable);
	more = enable && virtq_has_work(&qs->vq, blk->vd.mem);
	pthread_mutex_unlock(&qs->push_lock);
	return more;
}

/*
 * Pops every available chain (the drain/re-arm loop of virtio/queue.h).
 * Returns 0, or -EINVAL when the ring is malformed or the driver has more
 * chains out than any queue can hold. Called with blk->lock held.
 */
static int blk_process(struct virtio_blk *blk)
{
	struct virtio_queue_state *qs = &blk->vd.queues[0];
	struct virtio_blk_req *req;
	int r;

	do {
		blk_rearm(blk, qs, false);
		for (;;) {
			req = blk_req_alloc(blk);
			if (!req) {
				pthread_mutex_lock(&qs->push_lock);
				r = virtq_has_work(&qs->vq, blk->vd.mem) ? -EINVAL : 0;
				pthread_mutex_unlock(&qs->push_lock);
				if (r) {
					fprintf(stderr, "trapeze: virtio-blk %u: driver has more "
						"requests out than its queue holds\n", blk->index);
					return r;
				}
				break;	/* every request is in flight; nothing waits */
			}
			r = blk_pop(blk, qs);
			if (r <= 0) {
				blk_req_free(blk, req);
				if (r < 0)
					return r;
				break;
			}
			blk_req_start(blk, req, blk->chain);
		}
	} while (blk_rearm(blk, qs, true));
	return 0;
}

static void blk_queue_notify(struct virtio_dev *vd, unsigned int q)
{
	struct virtio_blk *blk = vd->priv;
	bool broken = false;

	if (q != 0)
		return;
	/* A device that asked for a reset does nothing more until it gets one. */
	if (virtio_dev_status(vd) & VIRTIO_CONFIG_S_NEEDS_RESET)
		return;
	pthread_mutex_lock(&blk->lock);
	if (atomic_load(&blk->active))
		broken = blk_process(blk) < 0;
	pthread_mutex_unlock(&blk->lock);
	/* Outside blk->lock: it calls into the transport. */
	if (broken)
		virtio_dev_needs_reset(vd);
}

/*
 * DRIVER_OK. Requests the driver queued before it (3.1.1 step 7 allows
 * filling queues, not notifying) are taken now; no kick runs until this
 * returns. A malformed ring makes the core set NEEDS_RESET.
 */
static int blk_activate(struct virtio_dev *vd)
{
	struct virtio_blk *blk = vd->priv;
	int r;

	pthread_mutex_lock(&blk->lock);
	blk->writeback = vd->driver_features & (1ULL << VIRTIO_BLK_F_FLUSH);
	atomic_store(&blk->active, true);
	r = vd->queues[0].vq.ready ? blk_process(blk) : 0;
	pthread_mutex_unlock(&blk->lock);
	return r;
}

static void blk_reset(struct virtio_dev *vd)
{
	struct virtio_blk *blk = vd->priv;

	pthread_mutex_lock(&blk->lock);
	atomic_store(&blk->active, false);
	pthread_mutex_unlock(&blk->lock);
	/* In-flight requests finish (their data reaches the file) before the rings go. */
	blk_io_drain(&blk->io);
}

const struct virtio_dev_ops virtio_blk_ops = {
	.name = "virtio-blk",
	.device_id = VIRTIO_ID_BLOCK,
	.nr_queues = 1,
	.config_size = VIRTIO_BLK_CONFIG_SIZE,
	.features = blk_features,
	.config_read = blk_config_read,
	.config_write = blk_config_write,
	.activate = blk_activate,
	.queue_notify = blk_queue_notify,
	.reset = blk_reset,
};

/* ---- life cycle ---- */

int virtio_blk_create(struct virtio_blk *blk, const char *path, bool ro,
		      unsigned int index, const struct guest_mem *mem,
		      char *err, size_t err_len)
{
	char tname[16];
	int r;

	memset(blk, 0, sizeof(*blk));
	blk->path = path;
	blk->ro = ro;
	blk->index = index;
	blk->fd = -1;
	pthread_mutex_init(&blk->lock, NULL);
	pthread_mutex_init(&blk->pool_lock, NULL);
	atomic_init(&blk->active, false);
	r = blk_open(blk, err, err_len);
	if (r)
		goto out_locks;

	/* strncpy on purpose: the serial is NUL-padded, and 20 bytes need no NUL (5.2.6). */
	snprintf(tname, sizeof(tname), "trapeze-%u", index);
	strncpy(blk->id, tname, sizeof(blk->id));
	blk_build_config(blk);

	r = -ENOMEM;
	blk->chain = malloc(sizeof(*blk->chain));
	blk->reqs = calloc(VIRTIO_QUEUE_MAX_SIZE, sizeof(*blk->reqs));
	if (!blk->chain || !blk->reqs)
		goto out_mem;
	for (unsigned int i = VIRTIO_QUEUE_MAX_SIZE; i-- > 0;)
		blk_req_free(blk, &blk->reqs[i]);

	snprintf(tname, sizeof(tname), "blk%u-io", index);
	r = blk_io_init(&blk->io, VIRTIO_BLK_IO_THREADS, tname);
	if (r)
		goto out_mem;
	blk->io_ready = true;
	r = virtio_dev_init(&blk->vd, &virtio_blk_ops, blk, mem);
	if (r)
		goto out_io;
	return 0;

out_io:
	blk_io_destroy(&blk->io);
	blk->io_ready = false;
out_mem:
	free(blk->reqs);
	free(blk->chain);
	blk->reqs = NULL;
	blk->chain = NULL;
	snprintf(err, err_len, "disk image '%s': cannot set up the device: %s", path,
		 strerror(-r));
	close(blk->fd);
	blk->fd = -1;
out_locks:
	pthread_mutex_destroy(&blk->pool_lock);
	pthread_mutex_destroy(&blk->lock);
	return r;
}

void virtio_blk_quiesce(struct virtio_blk *blk)
{
	if (blk->fd < 0)
		return;
	/* Under blk->lock: no kick is popping now, and none will after. */
	pthread_mutex_lock(&blk->lock);
	atomic_store(&blk->active, false);
	pthread_mutex_unlock(&blk->lock);
	blk_io_drain(&blk->io);
}

void virtio_blk_destroy(struct virtio_blk *blk)
{
	int r;

	if (blk->fd < 0)
		return;
	/*
	 * Every accepted request completes (writes reach the file) without
	 * touching the rings, before the core state goes; then the data is
	 * made durable and the file closed.
	 */
	virtio_blk_quiesce(blk);
	virtio_dev_destroy(&blk->vd);
	blk_io_destroy(&blk->io);
	blk->io_ready = false;
	r = blk->ro ? 0 : virtio_blk_sync(blk);
	if (r)
		fprintf(stderr, "trapeze: disk image '%s': fdatasync failed: %s\n", blk->path,
			strerror(-r));
	close(blk->fd);
	blk->fd = -1;
	free(blk->reqs);
	free(blk->chain);
	blk->reqs = NULL;
	blk->chain = NULL;
	pthread_mutex_destroy(&blk->pool_lock);
	pthread_mutex_destroy(&blk->lock);
}

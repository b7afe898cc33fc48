/*
 * virtio/blk: a virtio block device (virtio 1.2, section 5.2) on a raw image
 * file, one request queue.
 *
 * Opening: O_RDWR (O_RDONLY for a read-only disk) and an advisory flock,
 * LOCK_EX for read-write and LOCK_SH for read-only, so two trapeze processes
 * never write one image and a reader never sees a writer's image change.
 *
 * Capacity is the file size in 512-byte sectors, rounded down: a size that
 * is not a multiple of 512 leaves its last (size % 512) bytes invisible to
 * the guest (one warning on stderr at open), so no request ever reads past
 * or grows the file.
 *
 * Features (5.2.3): SEG_MAX, SIZE_MAX, BLK_SIZE (512), FLUSH, RO for read-only
 * disks, DISCARD and WRITE_ZEROES when the file system can punch holes
 * (probed once at open; write-zeroes uses FALLOC_FL_ZERO_RANGE, a hole when
 * the driver allows unmapping, or plain zero writes where the file system has
 * no ZERO_RANGE). GET_ID answers "trapeze-N", N the disk's index.
 *
 * Requests (5.2.6) are checked on the I/O thread: a 16-byte header at the
 * start of the device-readable part, the status byte as the last
 * device-writable byte, data a multiple of 512 bytes in the direction the
 * type needs and nothing else, sector + length inside the capacity
 * (overflow-checked), at most seg_max data segments, discard/write-zeroes
 * segments well-formed. A bad request completes with VIRTIO_BLK_S_IOERR, an
 * unknown type with VIRTIO_BLK_S_UNSUPP; a chain without a writable byte has
 * nowhere to put a status and completes with length 0. A malformed ring
 * (virtq_pop() failing), or more chains in flight than a queue can hold,
 * sets DEVICE_NEEDS_RESET; the device then ignores kicks until reset.
 *
 * Good requests go to a worker pool (virtio/blk_io.h) and run in parallel,
 * preadv/pwritev straight between the file and the chain's guest buffers,
 * completing in any order. A flush is fdatasync() before completion; when the
 * driver did not accept VIRTIO_BLK_F_FLUSH every write is followed by
 * fdatasync() (5.2.6.2: its writes must then be stable on completion).
 *
 * Threads and locks: queue_notify runs on the I/O thread and takes blk->lock,
 * under which it pops with the queue's push_lock held (so pops never race a
 * worker's push). Workers take only blk->pool_lock (a leaf) and then
 * virtio_dev_push_used (push_lock). Reset (vCPU thread, vd->lock held) takes
 * blk->lock, stops accepting requests and waits for the in-flight ones.
 * Lock order: vd->lock -> blk->lock -> push_lock; pool_lock is a leaf.
 */
#ifndef TRAPEZE_VIRTIO_BLK_H
#define TRAPEZE_VIRTIO_BLK_H

#include <linux/virtio_blk.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/uio.h>

#include "trapeze/guest_mem.h"
#include "trapeze/types.h"
#include "trapeze/virtio/blk_io.h"
#include "trapeze/virtio/device.h"

#define VIRTIO_BLK_SECTOR 512ULL
#define VIRTIO_BLK_SEG_MAX (VIRTIO_QUEUE_MAX_SIZE - 2)	/* data segments: the queue less header and status */
#define VIRTIO_BLK_SIZE_MAX (1U << 20)	/* bytes in one data segment */
#define VIRTIO_BLK_DWZ_MAX_SECTORS (1U << 21)	/* 1 GiB per discard/write-zeroes segment */
#define VIRTIO_BLK_DISCARD_MAX_SEG 32
#define VIRTIO_BLK_WZ_MAX_SEG 1
#define VIRTIO_BLK_DISCARD_ALIGN 8	/* sectors: 4 KiB, the usual file-system block */
#define VIRTIO_BLK_IO_THREADS 4
#define VIRTIO_BLK_CONFIG_SIZE 60	/* virtio_blk_config up to write_zeroes_may_unmap + unused1 */

struct virtio_blk;

/* One request, from pop to completion. The pool holds VIRTIO_QUEUE_MAX_SIZE. */
struct virtio_blk_req {
	struct blk_io_job job;		/* first: the worker gets us back from it */
	struct virtio_blk *blk;
	struct virtio_blk_req *next_free;
	u16 head;			/* chain head, for the used ring */
	u32 type;			/* VIRTIO_BLK_T_* */
	u64 sector;
	u64 len;			/* data bytes (IN/OUT) */
	u8 *status;			/* the chain's last writable byte */
	u32 used_len;			/* what the used ring reports */
	unsigned int nr_iov;		/* data segments (IN/OUT) or segments (DISCARD/WZ) */
	union {
		struct iovec iov[VIRTIO_BLK_SEG_MAX];
		struct virtio_blk_discard_write_zeroes seg[VIRTIO_BLK_DISCARD_MAX_SEG];
	};
};

struct virtio_blk {
	struct virtio_dev vd;		/* the transport drives this */
	const char *path;		/* for messages; the caller's string */
	int fd;
	bool ro;
	unsigned int index;		/* N of the serial "trapeze-N" */
	u64 capacity;			/* 512-byte sectors the guest sees */
	bool can_punch;			/* FALLOC_FL_PUNCH_HOLE works on this file */
	atomic_bool can_zero_range;	/* FALLOC_FL_ZERO_RANGE not yet refused */
	char id[VIRTIO_BLK_ID_BYTES];	/* NUL-padded serial */
	u8 config[VIRTIO_BLK_CONFIG_SIZE];	/* struct virtio_blk_config, little-endian */

	pthread_mutex_t lock;		/* active, popping; see the lock order above */
	atomic_bool active;		/* DRIVER_OK and not reset: completions are pushed */
	bool writeback;			/* driver accepted VIRTIO_BLK_F_FLUSH */
	bool warned_bad_req;		/* a chain without a status byte was logged */
	struct virtq_chain *chain;	/* pop scratch, used under lock */

	pthread_mutex_t pool_lock;	/* free list */
	struct virtio_blk_req *reqs;	/* VIRTIO_QUEUE_MAX_SIZE of them */
	struct virtio_blk_req *free;

	struct blk_io io;
	bool io_ready;
};

/*
 * Opens path (read-only when ro) as disk number index and sets up blk->vd
 * over mem. The transport is attached afterwards (virtio_pci_create). 0 or
 * -errno with one line in err naming the image: missing, unreadable, a
 * directory or not a regular file, read-only without ro, or locked by
 * another process.
 */
int virtio_blk_create(struct virtio_blk *blk, const char *path, bool ro,
		      unsigned int index, const struct guest_mem *mem,
		      char *err, size_t err_len);

/*
 * Stops completions from reaching the rings (and so the transport) and waits
 * for the requests in flight; their data reaches the file. For shutdown:
 * call it before the transport goes. Kicks after it do nothing.
 */
void virtio_blk_quiesce(struct virtio_blk *blk);

/*
 * Quiesces, makes the file's data durable (fdatasync) and closes it. Call
 * it before the guest memory goes away.
 */
void virtio_blk_destroy(struct virtio_blk *blk);

extern const struct virtio_dev_ops virtio_blk_ops;

/* ---- shared by virtio/blk.c, blk_req.c and blk_io.c only ---- */

/*
 * blk_req.c: checks the request in chain c and fills req. Returns
 * VIRTIO_BLK_S_OK with *done false when a worker must run it, else (*done
 * true) the status to complete it with right away; GET_ID is answered there,
 * as it touches no file.
 */
u8 virtio_blk_req_prepare(struct virtio_blk *blk, struct virtio_blk_req *req,
			  const struct virtq_chain *c, bool *done);

/* blk_io.c: runs a prepared request (its job.run) and completes it. */
void virtio_blk_req_run(struct blk_io_job *job);

/* blk_io.c: fdatasync, retried on EINTR. 0 or -errno. */
int virtio_blk_sync(struct virtio_blk *blk);

/* blk.c: writes the status byte, frees req, pushes the chain (unless resetting). */
void virtio_blk_req_complete(struct virtio_blk_req *req, u8 status);

#endif

/*
 * virtio/rng: a virtio entropy device (virtio 1.2, section 5.4): one request
 * queue whose device-writable buffers are filled from getrandom(2).
 *
 * Each chain gets at most VIRTIO_RNG_MAX_REQUEST bytes, so a driver asking
 * for huge buffers costs bounded work per request; the spec lets the device
 * use less than the whole buffer (5.4.6.2), and the used length says how
 * much was filled. Readable buffers (a driver error, 5.4.6.1) are ignored.
 *
 * Threads: the queue is popped and pushed only by queue_notify (the I/O
 * thread), and the core never resets the device during a kick, so the device
 * needs no lock of its own.
 */
#ifndef TRAPEZE_VIRTIO_RNG_H
#define TRAPEZE_VIRTIO_RNG_H

#include "trapeze/guest_mem.h"
#include "trapeze/virtio/device.h"
#include "trapeze/virtio/queue.h"

#define VIRTIO_RNG_MAX_REQUEST 65536	/* bytes filled per chain at most */

struct virtio_rng {
	struct virtio_dev vd;		/* the transport drives this */
	struct virtq_chain *chain;	/* pop scratch (I/O thread) */
	bool warned;			/* a getrandom failure was logged */
};

/* Sets up rng->vd over mem. 0 or -errno. */
int virtio_rng_create(struct virtio_rng *rng, const struct guest_mem *mem);
void virtio_rng_destroy(struct virtio_rng *rng);

extern const struct virtio_dev_ops virtio_rng_ops;

#endif

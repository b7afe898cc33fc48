/*
 * virtio-rng: random bytes from the host's getrandom() into the guest's
 * buffers, bounded per request (see virtio/rng.h).
 */
#include <errno.h>
#include <linux/virtio_rng.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "trapeze/virtio/rng.h"

/* Fills buf completely: getrandom may return less (signals, > 256 bytes). 0 or -errno. */
static int rng_fill(u8 *buf, size_t len)
{
	while (len) {
		ssize_t n = getrandom(buf, len, 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Fills the chain's writable buffers, up to the cap; returns the bytes written. */
static u32 rng_serve(struct virtio_rng *rng, const struct virtq_chain *c)
{
	u32 left = VIRTIO_RNG_MAX_REQUEST, done = 0;

	for (unsigned int i = c->nr_out; i < c->nr_out + c->nr_in && left; i++) {
		u32 n = c->iov[i].len < left ? c->iov[i].len : left;
		int r = rng_fill(c->iov[i].base, n);

		if (r) {
			if (!rng->warned)
				fprintf(stderr, "trapeze: virtio-rng: getrandom: %s (logged once)\n",
					strerror(-r));
			rng->warned = true;
			break;
		}
		done += n;
		left -= n;
	}
	return done;
}

static void rng_queue_notify(struct virtio_dev *vd, unsigned int q)
{
	struct virtio_rng *rng = vd->priv;
	struct virtq *vq = &vd->queues[0].vq;
	int r = 0;

	if (q != 0 || !vq->ready || vq->broken)
		return;
	/* The drain/re-arm loop of virtio/queue.h. */
	do {
		virtq_set_notify(vq, vd->mem, false);
		while ((r = virtq_pop(vq, vd->mem, rng->chain)) == 1)
			virtio_dev_push_used(vd, 0, rng->chain->head, rng_serve(rng, rng->chain));
		if (r < 0)
			break;
		virtq_set_notify(vq, vd->mem, true);
	} while (virtq_has_work(vq, vd->mem));
	if (r < 0)
		virtio_dev_needs_reset(vd);
}

/* Chains the driver put in the queue before DRIVER_OK (3.1.1) are served now. */
static int rng_activate(struct virtio_dev *vd)
{
	rng_queue_notify(vd, 0);
	return 0;
}

static void rng_reset(struct virtio_dev *vd)
{
	/* Nothing in flight: every request is served inside its kick. */
	(void)vd;
}

const struct virtio_dev_ops virtio_rng_ops = {
	.name = "virtio-rng",
	.device_id = VIRTIO_ID_RNG,
	.nr_queues = 1,
	.config_size = 0,	/* no configuration (5.4.4) */
	.activate = rng_activate,
	.queue_notify = rng_queue_notify,
	.reset = rng_reset,
};

int virtio_rng_create(struct virtio_rng *rng, const struct guest_mem *mem)
{
	int r;

	memset(rng, 0, sizeof(*rng));
	rng->chain = malloc(sizeof(*rng->chain));
	if (!rng->chain)
		return -ENOMEM;
	r = virtio_dev_init(&rng->vd, &virtio_rng_ops, rng, mem);
	if (r) {
		free(rng->chain);
		rng->chain = NULL;
	}
	return r;
}

void virtio_rng_destroy(struct virtio_rng *rng)
{
	if (!rng->chain)
		return;
	virtio_dev_destroy(&rng->vd);
	free(rng->chain);
	rng->chain = NULL;
}

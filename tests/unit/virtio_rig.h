/*
 * virtio_rig: drives a virtio device through the real core (virtio/device.c)
 * the way a driver does over a transport, for the device unit tests: feature
 * negotiation, queue registers, DRIVER_OK, kicks. Rings are laid out by
 * fake drivers (fake_driver.h); the transport is a recorder that counts
 * interrupts.
 */
#ifndef TRAPEZE_TESTS_VIRTIO_RIG_H
#define TRAPEZE_TESTS_VIRTIO_RIG_H

#include <check.h>
#include <stdatomic.h>
#include <time.h>

#include "fake_driver.h"
#include "trapeze/virtio/device.h"

struct vrig_irqs {
	atomic_int queue[VIRTIO_MAX_QUEUES];	/* used-buffer notifications per queue */
	atomic_int config;			/* configuration change notifications */
};

static inline void vrig_notify_queue(struct virtio_dev *vd, unsigned int q)
{
	struct vrig_irqs *irqs = vd->transport_priv;

	if (q < VIRTIO_MAX_QUEUES)
		atomic_fetch_add(&irqs->queue[q], 1);
}

static inline void vrig_notify_config(struct virtio_dev *vd)
{
	struct vrig_irqs *irqs = vd->transport_priv;

	atomic_fetch_add(&irqs->config, 1);
}

static const struct virtio_transport_ops vrig_transport = {
	.notify_queue = vrig_notify_queue,
	.notify_config = vrig_notify_config,
};

static inline void vrig_attach(struct virtio_dev *vd, struct vrig_irqs *irqs)
{
	memset(irqs, 0, sizeof(*irqs));
	vd->transport = &vrig_transport;
	vd->transport_priv = irqs;
}

/*
 * A second ring in the same guest memory as base: a copy of the driver whose
 * rings and buffers sit at other addresses. Only base is fd_destroy()ed.
 */
static inline void vrig_second_ring(struct fake_driver *fd, const struct fake_driver *base)
{
	*fd = *base;
	fd->desc = FD_RING_BASE + 0x80000;
	fd->avail = fd->desc + VIRTQ_DESC_BYTES(fd->size);
	fd->used = (fd->avail + VIRTQ_AVAIL_BYTES(fd->size) + 4095) & ~4095ULL;
	fd->data = FD_DATA_BASE + 0x400000;
	fd->tables = FD_TABLE_BASE + 0x200000;
	fd->next_desc = 0;
	fd->avail_idx = 0;
}

/*
 * Negotiates every offered feature except drop (and EVENT_IDX unless the
 * drivers use it), sets queues 0..n-1 up on fds[q] and sets DRIVER_OK, as a
 * driver does through the transport (with vd->lock held).
 */
static inline void vrig_start(struct virtio_dev *vd, struct fake_driver **fds,
			      unsigned int n, u64 drop)
{
	const u8 s1 = VIRTIO_CONFIG_S_ACKNOWLEDGE, s2 = s1 | VIRTIO_CONFIG_S_DRIVER,
		 s3 = s2 | VIRTIO_CONFIG_S_FEATURES_OK, s4 = s3 | VIRTIO_CONFIG_S_DRIVER_OK;
	u64 f = vd->device_features & ~drop;

	if (!fds[0]->event_idx)
		f &= ~(1ULL << VIRTIO_RING_F_EVENT_IDX);
	pthread_mutex_lock(&vd->lock);
	virtio_dev_set_status(vd, s1);
	virtio_dev_set_status(vd, s2);
	virtio_dev_set_driver_features(vd, 0, (u32)f);
	virtio_dev_set_driver_features(vd, 1, (u32)(f >> 32));
	virtio_dev_set_status(vd, s3);
	for (unsigned int q = 0; q < n; q++) {
		ck_assert_int_eq(virtio_dev_queue_set_size(vd, q, fds[q]->size), 0);
		ck_assert_int_eq(virtio_dev_queue_set_rings(vd, q, fds[q]->desc, fds[q]->avail,
							    fds[q]->used), 0);
		ck_assert_int_eq(virtio_dev_queue_enable(vd, q, 1), 0);
	}
	virtio_dev_set_status(vd, s4);
	pthread_mutex_unlock(&vd->lock);
	ck_assert_uint_eq(virtio_dev_status(vd), s4);
}

/* The driver writes 0 to the status: a device reset. */
static inline void vrig_reset(struct virtio_dev *vd)
{
	pthread_mutex_lock(&vd->lock);
	virtio_dev_set_status(vd, 0);
	pthread_mutex_unlock(&vd->lock);
}

static inline bool vrig_negotiated(struct virtio_dev *vd, unsigned int bit)
{
	return vd->driver_features & (1ULL << bit);
}

/* Waits (up to 10 s) until the device has used `want` chains in total. */
static inline void vrig_wait_used(struct fake_driver *fd, u16 want)
{
	struct timespec ms = { .tv_nsec = 1000000 };

	for (int i = 0; i < 10000 && fd_used_idx(fd) != want; i++)
		nanosleep(&ms, NULL);
	ck_assert_uint_eq(fd_used_idx(fd), want);
}

#endif

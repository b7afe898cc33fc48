/*
 * virtio/device: the transport-neutral state of one virtio device (virtio
 * 1.2, sections 2 and 3): offered and accepted features, the status machine,
 * the queue registers the driver writes, config generation, and reset.
 *
 * The status byte is changed by the driver (under vd->lock) and by the device
 * (DEVICE_NEEDS_RESET, from any thread, without vd->lock), so every change
 * is a compare-and-swap and every read an atomic load.
 */
#include <errno.h>
#include <linux/virtio_pci.h>	/* VIRTIO_MSI_NO_VECTOR */
#include <stdio.h>
#include <string.h>

#include "trapeze/virtio/device.h"

/* Bits a driver may set (spec 2.1); DEVICE_NEEDS_RESET is the device's alone. */
#define STATUS_DRIVER_BITS (VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER | \
			    VIRTIO_CONFIG_S_FEATURES_OK | VIRTIO_CONFIG_S_DRIVER_OK | \
			    VIRTIO_CONFIG_S_FAILED)

/* Feature bits 28-41 are the transport's and the ring's (spec 6): never taken from a device. */
#define TRANSPORT_FEATURE_MASK (((1ULL << (VIRTIO_TRANSPORT_F_END + 1)) - 1) & \
				~((1ULL << VIRTIO_TRANSPORT_F_START) - 1))

static bool has_feature(u64 features, unsigned int bit)
{
	return features & (1ULL << bit);
}

int virtio_dev_init(struct virtio_dev *vd, const struct virtio_dev_ops *ops,
		    void *priv, const struct guest_mem *mem)
{
	if (!ops || !ops->name || !ops->queue_notify || !ops->reset ||
	    ops->nr_queues == 0 || ops->nr_queues > VIRTIO_MAX_QUEUES)
		return -EINVAL;

	memset(vd, 0, sizeof(*vd));
	vd->ops = ops;
	vd->priv = priv;
	vd->mem = mem;
	pthread_mutex_init(&vd->lock, NULL);
	pthread_cond_init(&vd->kicks_done, NULL);
	for (unsigned int q = 0; q < VIRTIO_MAX_QUEUES; q++) {
		struct virtio_queue_state *qs = &vd->queues[q];

		pthread_mutex_init(&qs->push_lock, NULL);
		snprintf(qs->name, sizeof(qs->name), "%s.%u", ops->name, q);
		qs->vq.name = qs->name;
		qs->size = VIRTIO_QUEUE_MAX_SIZE;
		qs->msix_vector = VIRTIO_MSI_NO_VECTOR;
	}
	vd->device_features = (ops->features ? ops->features(vd) : 0) & ~TRANSPORT_FEATURE_MASK;
	vd->device_features |= VIRTIO_DEV_CORE_FEATURES;
	vd->config_read_since_bump = true;
	return 0;
}

void virtio_dev_destroy(struct virtio_dev *vd)
{
	if (!vd->ops)
		return;
	for (unsigned int q = 0; q < VIRTIO_MAX_QUEUES; q++)
		pthread_mutex_destroy(&vd->queues[q].push_lock);
	pthread_cond_destroy(&vd->kicks_done);
	pthread_mutex_destroy(&vd->lock);
	vd->ops = NULL;
}

u8 virtio_dev_status(struct virtio_dev *vd)
{
	return __atomic_load_n(&vd->status, __ATOMIC_ACQUIRE);
}

/* Replaces the driver's bits of the status, keeping a concurrent NEEDS_RESET. */
static void store_driver_status(struct virtio_dev *vd, u8 bits)
{
	u8 old = virtio_dev_status(vd), new;

	do {
		new = (old & VIRTIO_CONFIG_S_NEEDS_RESET) | (bits & STATUS_DRIVER_BITS);
	} while (!__atomic_compare_exchange_n(&vd->status, &old, new, false,
					      __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE));
}

/*
 * Spec 2.2.2 and 3.1.1: the device fails FEATURES_OK for features it did not
 * offer; VERSION_1 is required of a modern driver (6.1: "A device MAY fail to
 * operate further if VIRTIO_F_VERSION_1 is not accepted").
 */
static bool features_acceptable(const struct virtio_dev *vd)
{
	if (vd->driver_features & ~vd->device_features)
		return false;
	return has_feature(vd->driver_features, VIRTIO_F_VERSION_1);
}

/*
 * DRIVER_OK: set up every enabled queue's ring with the negotiated ring
 * features, then let the device start. 0, or -errno when a ring is bad or
 * the device refuses.
 */
static int activate(struct virtio_dev *vd)
{
	bool event_idx = has_feature(vd->driver_features, VIRTIO_RING_F_EVENT_IDX);
	bool indirect = has_feature(vd->driver_features, VIRTIO_RING_F_INDIRECT_DESC);
	int r;

	for (unsigned int q = 0; q < vd->ops->nr_queues; q++) {
		struct virtio_queue_state *qs = &vd->queues[q];

		if (!qs->enabled)
			continue;
		pthread_mutex_lock(&qs->push_lock);
		r = virtq_init(&qs->vq, vd->mem, qs->size, qs->desc, qs->avail, qs->used,
			       event_idx, indirect);
		pthread_mutex_unlock(&qs->push_lock);
		if (r) {
			fprintf(stderr, "trapeze: %s: queue %u: ring (size %u, desc 0x%llx, avail 0x%llx, used 0x%llx) is not in RAM or misaligned\n",
				vd->ops->name, q, qs->size, (unsigned long long)qs->desc,
				(unsigned long long)qs->avail, (unsigned long long)qs->used);
			return r;
		}
	}
	return vd->ops->activate ? vd->ops->activate(vd) : 0;
}

/*
 * Spec 2.1 and 3.1.1: each bit needs the ones before it in the init order
 * (ACKNOWLEDGE, DRIVER, FEATURES_OK, DRIVER_OK), in the old status or in the
 * same write; a bit whose turn has not come is dropped. The driver may not
 * clear bits (2.1.1) except by writing 0: a write that tries is ignored.
 */
void virtio_dev_set_status(struct virtio_dev *vd, u8 status)
{
	u8 old = virtio_dev_status(vd) & STATUS_DRIVER_BITS;
	u8 want = status & STATUS_DRIVER_BITS;
	u8 s = old;

	if (status == 0) {
		virtio_dev_reset(vd);
		return;
	}
	if ((want & old) != old)
		return;

	if (want & VIRTIO_CONFIG_S_ACKNOWLEDGE)
		s |= VIRTIO_CONFIG_S_ACKNOWLEDGE;
	if ((want & VIRTIO_CONFIG_S_DRIVER) && (s & VIRTIO_CONFIG_S_ACKNOWLEDGE))
		s |= VIRTIO_CONFIG_S_DRIVER;
	if ((want & VIRTIO_CONFIG_S_FEATURES_OK) && (s & VIRTIO_CONFIG_S_DRIVER) &&
	    ((old & VIRTIO_CONFIG_S_FEATURES_OK) || features_acceptable(vd)))
		s |= VIRTIO_CONFIG_S_FEATURES_OK;
	if ((want & VIRTIO_CONFIG_S_DRIVER_OK) && (s & VIRTIO_CONFIG_S_FEATURES_OK))
		s |= VIRTIO_CONFIG_S_DRIVER_OK;
	if (want & VIRTIO_CONFIG_S_FAILED)
		s |= VIRTIO_CONFIG_S_FAILED;
	store_driver_status(vd, s);

	if ((s & VIRTIO_CONFIG_S_DRIVER_OK) && !(old & VIRTIO_CONFIG_S_DRIVER_OK)) {
		int r = activate(vd);

		if (r) {
			fprintf(stderr, "trapeze: %s: cannot start the device: %s\n",
				vd->ops->name, strerror(-r));
			virtio_dev_needs_reset(vd);
			return;
		}
		vd->live = true;
	}
}

void virtio_dev_reset(struct virtio_dev *vd)
{
	/* No new kick starts once live is false; wait out the ones running. */
	vd->live = false;
	store_driver_status(vd, 0);
	while (vd->kicks_running)
		pthread_cond_wait(&vd->kicks_done, &vd->lock);

	vd->ops->reset(vd);

	for (unsigned int q = 0; q < VIRTIO_MAX_QUEUES; q++) {
		struct virtio_queue_state *qs = &vd->queues[q];

		pthread_mutex_lock(&qs->push_lock);
		virtq_reset(&qs->vq);
		qs->size = VIRTIO_QUEUE_MAX_SIZE;
		__atomic_store_n(&qs->msix_vector, VIRTIO_MSI_NO_VECTOR, __ATOMIC_RELAXED);
		qs->enabled = false;
		qs->desc = qs->avail = qs->used = 0;
		pthread_mutex_unlock(&qs->push_lock);
	}
	vd->driver_features = 0;
	/* The device may have raised NEEDS_RESET while we waited: a reset clears it too. */
	__atomic_store_n(&vd->status, 0, __ATOMIC_RELEASE);
	__atomic_store_n(&vd->needs_reset_logged, false, __ATOMIC_RELAXED);
	if (vd->transport && vd->transport->reset)
		vd->transport->reset(vd);
}

u32 virtio_dev_device_features(struct virtio_dev *vd, u32 sel)
{
	return sel < 2 ? (u32)(vd->device_features >> (32 * sel)) : 0;
}

u32 virtio_dev_driver_features(struct virtio_dev *vd, u32 sel)
{
	return sel < 2 ? (u32)(vd->driver_features >> (32 * sel)) : 0;
}

void virtio_dev_set_driver_features(struct virtio_dev *vd, u32 sel, u32 val)
{
	u64 mask;

	if (sel >= 2 || (virtio_dev_status(vd) & VIRTIO_CONFIG_S_FEATURES_OK))
		return;
	mask = 0xffffffffULL << (32 * sel);
	vd->driver_features = (vd->driver_features & ~mask) | ((u64)val << (32 * sel));
}

/* The queue's registers may change: it exists, is not enabled, and DRIVER_OK is not set. */
static int queue_writable(struct virtio_dev *vd, unsigned int q)
{
	if (q >= vd->ops->nr_queues)
		return -EINVAL;
	if (vd->queues[q].enabled || (virtio_dev_status(vd) & VIRTIO_CONFIG_S_DRIVER_OK))
		return -EBUSY;
	return 0;
}

u16 virtio_dev_queue_size(struct virtio_dev *vd, unsigned int q)
{
	return q < vd->ops->nr_queues ? vd->queues[q].size : 0;
}

int virtio_dev_queue_set_size(struct virtio_dev *vd, unsigned int q, u16 size)
{
	int r = queue_writable(vd, q);

	if (r)
		return r;
	/* Spec 4.1.4.3.2: a power of 2 (the split ring has no other sizes); at most what we offered. */
	if (!size || (size & (size - 1)) || size > VIRTIO_QUEUE_MAX_SIZE)
		return -EINVAL;
	vd->queues[q].size = size;
	return 0;
}

int virtio_dev_queue_set_rings(struct virtio_dev *vd, unsigned int q, u64 desc,
			       u64 avail, u64 used)
{
	int r = queue_writable(vd, q);

	if (r)
		return r;
	vd->queues[q].desc = desc;
	vd->queues[q].avail = avail;
	vd->queues[q].used = used;
	return 0;
}

int virtio_dev_queue_enable(struct virtio_dev *vd, unsigned int q, u16 val)
{
	int r = queue_writable(vd, q);

	if (r)
		return r;
	/* Spec 4.1.4.3.2: "The driver MUST NOT write a 0 to queue_enable." */
	if (val != 1)
		return -EINVAL;
	vd->queues[q].enabled = true;
	return 0;
}

static bool config_in_bounds(const struct virtio_dev *vd, u32 off, u32 len)
{
	return len && off <= vd->ops->config_size && len <= vd->ops->config_size - off;
}

int virtio_dev_config_read(struct virtio_dev *vd, u32 off, void *data, u32 len)
{
	memset(data, 0, len);
	if (!config_in_bounds(vd, off, len) || !vd->ops->config_read)
		return -EINVAL;
	__atomic_store_n(&vd->config_read_since_bump, true, __ATOMIC_SEQ_CST);
	vd->ops->config_read(vd, off, data, len);
	return 0;
}

int virtio_dev_config_write(struct virtio_dev *vd, u32 off, const void *data, u32 len)
{
	if (!config_in_bounds(vd, off, len) || !vd->ops->config_write)
		return -EINVAL;
	vd->ops->config_write(vd, off, data, len);
	return 0;
}

u32 virtio_dev_config_generation(struct virtio_dev *vd)
{
	return __atomic_load_n(&vd->config_generation, __ATOMIC_SEQ_CST);
}

void virtio_dev_config_changed(struct virtio_dev *vd)
{
	if (__atomic_exchange_n(&vd->config_read_since_bump, false, __ATOMIC_SEQ_CST))
		__atomic_add_fetch(&vd->config_generation, 1, __ATOMIC_SEQ_CST);
	/* Spec 2.1.2: no notification before DRIVER_OK. */
	if ((virtio_dev_status(vd) & VIRTIO_CONFIG_S_DRIVER_OK) && vd->transport &&
	    vd->transport->notify_config)
		vd->transport->notify_config(vd);
}

void virtio_dev_kick(struct virtio_dev *vd, unsigned int q)
{
	pthread_mutex_lock(&vd->lock);
	if (!vd->live || q >= vd->ops->nr_queues || !vd->queues[q].vq.ready) {
		pthread_mutex_unlock(&vd->lock);
		return;
	}
	vd->kicks_running++;
	pthread_mutex_unlock(&vd->lock);

	vd->ops->queue_notify(vd, q);

	pthread_mutex_lock(&vd->lock);
	if (--vd->kicks_running == 0)
		pthread_cond_broadcast(&vd->kicks_done);
	pthread_mutex_unlock(&vd->lock);
}

int virtio_dev_push_used(struct virtio_dev *vd, unsigned int q, u16 head, u32 written)
{
	struct virtio_queue_state *qs;
	bool notify;
	int r;

	if (q >= vd->ops->nr_queues)
		return -EINVAL;
	qs = &vd->queues[q];
	pthread_mutex_lock(&qs->push_lock);
	r = virtq_push(&qs->vq, vd->mem, head, written);
	notify = !r && virtq_should_notify(&qs->vq, vd->mem);
	pthread_mutex_unlock(&qs->push_lock);
	if (notify && vd->transport && vd->transport->notify_queue)
		vd->transport->notify_queue(vd, q);
	return r;
}

void virtio_dev_needs_reset(struct virtio_dev *vd)
{
	u8 old = __atomic_fetch_or(&vd->status, VIRTIO_CONFIG_S_NEEDS_RESET, __ATOMIC_ACQ_REL);

	if (old & VIRTIO_CONFIG_S_NEEDS_RESET)
		return;
	if (!__atomic_exchange_n(&vd->needs_reset_logged, true, __ATOMIC_RELAXED))
		fprintf(stderr, "trapeze: %s: device error: DEVICE_NEEDS_RESET set; the driver must reset it\n",
			vd->ops->name);
	/* Spec 2.1.2: with DRIVER_OK set, tell the driver through a config change notification. */
	if ((old & VIRTIO_CONFIG_S_DRIVER_OK) && vd->transport && vd->transport->notify_config)
		vd->transport->notify_config(vd);
}

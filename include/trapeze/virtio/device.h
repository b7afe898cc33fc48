/*
 * virtio device core (virtio 1.2, section 2 and 3): the transport-neutral
 * state of one device (features, status, config generation, queues, reset)
 * and the interface devices implement. Devices never see register offsets;
 * transports (virtio/pci.c) never see requests.
 *
 * Threads: register accesses arrive on vCPU threads, through the transport,
 * which takes vd->lock. Queue notifications arrive on the I/O thread (the
 * event loop that watches the queues' ioeventfds) and call ops->queue_notify
 * without vd->lock held; a device may hand requests to its own workers. Each
 * queue has one consumer (virtio/queue.h); used-ring pushes from several
 * threads must be serialised by the device (virtio_dev_push_used does it
 * with the queue's push lock).
 *
 * What runs off the vCPU threads (ops->queue_notify, device workers) must
 * never take vd->lock: a reset holds it while it waits for them. The calls
 * meant for them (virtio_dev_push_used, virtio_dev_needs_reset,
 * virtio_dev_config_changed) take no vd->lock; they read the status and the
 * vectors with atomic loads.
 *
 * Reset (status 0) runs on the vCPU thread that wrote it, with vd->lock held:
 * it clears DRIVER_OK so no new ops->queue_notify starts, waits on
 * kicks_done until none is running (kicks_running counts them under
 * vd->lock), calls ops->reset (which stops the device's workers), then
 * forgets the rings, features, vectors and ISR. A device whose queue_notify
 * blocks holds up that vCPU until it returns.
 *
 * Lock order: pci_bus.lock -> vd->lock -> queue push_lock -> transport
 * locks (ISR) -> pci MSI-X/INTx state -> vm stop_lock.
 */
#ifndef TRAPEZE_VIRTIO_DEVICE_H
#define TRAPEZE_VIRTIO_DEVICE_H

#include <linux/virtio_config.h>
#include <linux/virtio_ids.h>
#include <linux/virtio_ring.h>
#include <pthread.h>

#include "trapeze/guest_mem.h"
#include "trapeze/types.h"
#include "trapeze/virtio/queue.h"

#define VIRTIO_MAX_QUEUES 8
#define VIRTIO_QUEUE_MAX_SIZE 256	/* what we offer as queue_size */

struct virtio_dev;

struct virtio_dev_ops {
	const char *name;		/* "virtio-blk", for messages */
	u32 device_id;			/* VIRTIO_ID_BLOCK, VIRTIO_ID_RNG, VIRTIO_ID_CONSOLE */
	unsigned int nr_queues;
	u32 config_size;		/* bytes of device-specific configuration */
	/* Device feature bits (VIRTIO_F_VERSION_1 and ring features are added by the core). */
	u64 (*features)(struct virtio_dev *vd);
	/* Device configuration accesses; off + len <= config_size, checked by the core. */
	void (*config_read)(struct virtio_dev *vd, u32 off, void *data, u32 len);
	void (*config_write)(struct virtio_dev *vd, u32 off, const void *data, u32 len);
	/* DRIVER_OK was set with these features; queues are set up. 0 or -errno (-> NEEDS_RESET). */
	int (*activate)(struct virtio_dev *vd);
	/* The driver notified queue q (I/O thread). */
	void (*queue_notify)(struct virtio_dev *vd, unsigned int q);
	/* The driver reset the device: stop all work on the queues before returning. */
	void (*reset)(struct virtio_dev *vd);
};

/* How a device's transport raises interrupts; set by the transport. */
struct virtio_transport_ops {
	void (*notify_queue)(struct virtio_dev *vd, unsigned int q);	/* used buffers */
	void (*notify_config)(struct virtio_dev *vd);			/* config changed */
	/* The device was reset: forget transport state (vectors, ISR, INTx). Optional. */
	void (*reset)(struct virtio_dev *vd);
};

struct virtio_queue_state {
	struct virtq vq;
	u16 size;			/* driver's queue_size (<= VIRTIO_QUEUE_MAX_SIZE) */
	u16 msix_vector;		/* VIRTIO_MSI_NO_VECTOR when none */
	bool enabled;			/* queue_enable written 1 */
	u64 desc, avail, used;		/* ring addresses the driver wrote */
	pthread_mutex_t push_lock;	/* serialises used-ring pushes */
	char name[32];			/* "virtio-blk.0": vq.name points here */
};

struct virtio_dev {
	const struct virtio_dev_ops *ops;
	void *priv;			/* the device's own state */
	const struct guest_mem *mem;
	pthread_mutex_t lock;		/* status, features, queue registers */
	u64 device_features;		/* offered: ops->features() | core bits */
	u64 driver_features;		/* accepted by the driver */
	u8 status;			/* VIRTIO_CONFIG_S_* */
	u32 config_generation;
	struct virtio_queue_state queues[VIRTIO_MAX_QUEUES];
	const struct virtio_transport_ops *transport;
	void *transport_priv;
	/* Under vd->lock: */
	bool live;			/* DRIVER_OK accepted, rings set up, activate succeeded */
	unsigned int kicks_running;	/* ops->queue_notify calls in progress */
	pthread_cond_t kicks_done;	/* signalled when kicks_running drops to 0 */
	/* Atomic: */
	bool config_read_since_bump;	/* driver read device config since the last generation bump */
	bool needs_reset_logged;	/* the NEEDS_RESET message was printed */
};

/* Feature bits the core offers on top of ops->features() (spec 6, 2.7.5.3, 2.7.10). */
#define VIRTIO_DEV_CORE_FEATURES ((1ULL << VIRTIO_F_VERSION_1) | \
				  (1ULL << VIRTIO_RING_F_INDIRECT_DESC) | \
				  (1ULL << VIRTIO_RING_F_EVENT_IDX))

/*
 * 0, or -EINVAL when ops lacks a name, queue_notify or reset, or nr_queues is
 * not in [1, VIRTIO_MAX_QUEUES]. Offers ops->features() without the
 * transport/ring range (bits 28-41, spec 6) plus VIRTIO_DEV_CORE_FEATURES.
 */
int virtio_dev_init(struct virtio_dev *vd, const struct virtio_dev_ops *ops,
		    void *priv, const struct guest_mem *mem);
void virtio_dev_destroy(struct virtio_dev *vd);

/*
 * Status register write (2.1): enforces the order ACKNOWLEDGE -> DRIVER ->
 * FEATURES_OK (refused when the accepted features are not a subset of the
 * offered ones or lack VERSION_1) -> DRIVER_OK (initialises the enabled
 * queues through virtq_init and calls ops->activate); 0 resets. Call with
 * vd->lock held.
 */
void virtio_dev_set_status(struct virtio_dev *vd, u8 status);

/*
 * Device reset (spec 2.1, 2.4): see the header comment for how it waits for
 * the I/O thread. Status, features, queue registers and rings, vectors and
 * the transport's ISR return to their reset values. Call with vd->lock held.
 */
void virtio_dev_reset(struct virtio_dev *vd);

/* The status as the driver reads it (atomic; no lock needed). */
u8 virtio_dev_status(struct virtio_dev *vd);

/*
 * Feature windows (spec 2.2): 32 bits starting at bit 32 * sel; 0 beyond bit
 * 63. Driver features are ignored once FEATURES_OK is set (the negotiation is
 * over) and stored as written otherwise: FEATURES_OK checks them. Call with
 * vd->lock held.
 */
u32 virtio_dev_device_features(struct virtio_dev *vd, u32 sel);
u32 virtio_dev_driver_features(struct virtio_dev *vd, u32 sel);
void virtio_dev_set_driver_features(struct virtio_dev *vd, u32 sel, u32 val);

/*
 * Queue registers, with vd->lock held. Reads of a queue q >= nr_queues give
 * 0 (spec 4.1.4.3: "queue_size 0: unavailable"). Writes return 0, -EINVAL
 * (no such queue; a size that is 0, not a power of 2 or over
 * VIRTIO_QUEUE_MAX_SIZE; enable with a value other than 1) or -EBUSY (the
 * queue is enabled or DRIVER_OK is set: the ring is the device's now, and
 * without VIRTIO_F_RING_RESET the driver may not change it). Ring addresses
 * are checked when DRIVER_OK sets the ring up.
 */
u16 virtio_dev_queue_size(struct virtio_dev *vd, unsigned int q);
int virtio_dev_queue_set_size(struct virtio_dev *vd, unsigned int q, u16 size);
int virtio_dev_queue_set_rings(struct virtio_dev *vd, unsigned int q, u64 desc,
			       u64 avail, u64 used);
int virtio_dev_queue_enable(struct virtio_dev *vd, unsigned int q, u16 val);

/*
 * Device configuration space (spec 2.5), with vd->lock held: accesses must lie
 * wholly inside [0, ops->config_size); others read as zeros and are not
 * written (-EINVAL). A read arms the next virtio_dev_config_changed() to bump
 * config_generation.
 */
int virtio_dev_config_read(struct virtio_dev *vd, u32 off, void *data, u32 len);
int virtio_dev_config_write(struct virtio_dev *vd, u32 off, const void *data, u32 len);

/* config_generation as the driver sees it (atomic). */
u32 virtio_dev_config_generation(struct virtio_dev *vd);

/*
 * The driver notified queue q (I/O thread; the vCPU thread when there is no
 * event loop): calls ops->queue_notify if the device is live and q is set
 * up, counted in kicks_running so a reset can wait for it. Takes vd->lock
 * briefly, never across the call.
 */
void virtio_dev_kick(struct virtio_dev *vd, unsigned int q);

/* Device-side: push a used chain on queue q and interrupt the driver if it wants one. */
int virtio_dev_push_used(struct virtio_dev *vd, unsigned int q, u16 head, u32 written);

/* Device-side: the device hit a fatal error; sets NEEDS_RESET, tells the driver. */
void virtio_dev_needs_reset(struct virtio_dev *vd);

/*
 * Device-side: the device changed its configuration space (call after the
 * change). Bumps config_generation when the driver has read the config since
 * the last bump (so it cannot wrap between two driver reads: spec 4.1.4.3.1's
 * note), and sends a configuration change notification once DRIVER_OK is set.
 * No vd->lock taken.
 */
void virtio_dev_config_changed(struct virtio_dev *vd);

#endif

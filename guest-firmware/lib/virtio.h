/*
 * virtio: a minimal virtio 1.x driver library for the tiny guests: PCI
 * discovery through configuration mechanism #1 (ports 0xCF8/0xCFC), the
 * virtio-pci modern transport (virtio 1.2, 4.1), device initialisation
 * (3.1.1) and one split virtqueue per device (2.7) driven by polling the
 * used ring. Interrupts are never enabled: MSI-X stays off and INTx goes
 * nowhere (the guest runs with IF=0 and an unprogrammed I/O APIC).
 *
 * Written from the specification, on purpose independent of trapeze's own
 * headers, so a misreading of the spec on one side shows up as a failing
 * guest instead of cancelling out.
 *
 * Costs on the kvm_pvm host (PLATFORM.md): every CPL-0 instruction is
 * emulated (~1 us), a port access ~8 us, an MMIO access ~25 us. The
 * library therefore touches registers only during set-up, notifies through
 * the first (preferred) notify capability, which trapeze makes the I/O-port
 * one, and waits for the used ring in RAM.
 *
 * One request is in flight per queue at a time: vq_submit() places a chain
 * in descriptors 0..n-1, publishes it, notifies and polls until the device
 * returns it (or a TSC-based time limit passes).
 */
#ifndef RT_VIRTIO_H
#define RT_VIRTIO_H

#include <stdint.h>

/* PCI configuration space (PCI Local Bus 3.0, 6.1, 6.2.5, 6.7). */
#define PCI_VENDOR_ID		0x00
#define PCI_COMMAND		0x04	/* 16 bits */
#define PCI_STATUS		0x06	/* 16 bits, write-1-to-clear: never write it */
#define PCI_HEADER_TYPE		0x0e
#define PCI_BAR0		0x10
#define PCI_CAP_PTR		0x34
#define PCI_COMMAND_IO		0x1
#define PCI_COMMAND_MEMORY	0x2
#define PCI_COMMAND_MASTER	0x4
#define PCI_STATUS_CAP_LIST	0x10
#define PCI_CAP_ID_VNDR		0x09
#define PCI_BAR_IO		0x1	/* bit 0: I/O space BAR */
#define PCI_BAR_MEM_TYPE_64	0x4	/* bits 2:1 = 10b: 64-bit memory BAR */

/* virtio-pci (virtio 1.2, 4.1.2, 4.1.4). */
#define VIRTIO_PCI_VENDOR	0x1af4
#define VIRTIO_PCI_DEVICE_BASE	0x1040	/* + device id: modern devices */
#define VIRTIO_CAP_COMMON	1
#define VIRTIO_CAP_NOTIFY	2
#define VIRTIO_CAP_ISR		3
#define VIRTIO_CAP_DEVICE	4

/* Device ids (5). */
#define VIRTIO_ID_BLOCK		2
#define VIRTIO_ID_CONSOLE	3
#define VIRTIO_ID_RNG		4

/* Device status (2.1). */
#define VIRTIO_STATUS_ACK	1
#define VIRTIO_STATUS_DRIVER	2
#define VIRTIO_STATUS_DRIVER_OK	4
#define VIRTIO_STATUS_FEATURES_OK 8
#define VIRTIO_STATUS_NEEDS_RESET 0x40
#define VIRTIO_STATUS_FAILED	0x80

/* Feature bits (6, 5.2.3). */
#define VIRTIO_F_VERSION_1	32
#define VIRTIO_BLK_F_RO		5
#define VIRTIO_BLK_F_FLUSH	9
#define VIRTIO_RING_F_INDIRECT_DESC 28

/* virtio_pci_common_cfg field offsets (4.1.4.3). */
#define VCOMMON_DFSELECT	0x00	/* 32 */
#define VCOMMON_DF		0x04	/* 32 */
#define VCOMMON_GFSELECT	0x08	/* 32 */
#define VCOMMON_GF		0x0c	/* 32 */
#define VCOMMON_MSIX_CONFIG	0x10	/* 16 */
#define VCOMMON_NUM_QUEUES	0x12	/* 16 */
#define VCOMMON_STATUS		0x14	/* 8 */
#define VCOMMON_CONFIG_GEN	0x15	/* 8 */
#define VCOMMON_Q_SELECT	0x16	/* 16 */
#define VCOMMON_Q_SIZE		0x18	/* 16 */
#define VCOMMON_Q_MSIX		0x1a	/* 16 */
#define VCOMMON_Q_ENABLE	0x1c	/* 16 */
#define VCOMMON_Q_NOTIFY_OFF	0x1e	/* 16 */
#define VCOMMON_Q_DESC		0x20	/* 64, as two 32-bit halves */
#define VCOMMON_Q_AVAIL		0x28
#define VCOMMON_Q_USED		0x30

/* Split virtqueue descriptor flags (2.7.5). */
#define VRING_DESC_F_NEXT	1
#define VRING_DESC_F_WRITE	2
#define VRING_DESC_F_INDIRECT	4

/* The queue size this library asks for (a power of 2 no larger than the device's). */
#define VQ_SIZE			8

/*
 * How long the device may take to answer, in TSC ticks: 2^34 is 5 s at
 * 3.4 GHz and 17 s at 1 GHz, far beyond any request to a small image, and
 * short of the test harnesses' watchdogs (60 s and more).
 */
#define VIO_TIMEOUT_TICKS	(1ull << 34)

static inline uint64_t vio_rdtsc(void)
{
	uint32_t lo, hi;

	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return ((uint64_t)hi << 32) | lo;
}

/* Why a call failed: each maps to its own exit value in the guests. */
enum vio_err {
	VIO_OK = 0,
	VIO_ERR_CAPS,		/* a needed capability or BAR is missing or bad */
	VIO_ERR_FEATURES,	/* no VERSION_1, or FEATURES_OK refused */
	VIO_ERR_QUEUE,		/* the queue is unavailable or would not enable */
	VIO_ERR_TIMEOUT,	/* the device did not return the chain in time */
	VIO_ERR_DEVICE,		/* the device set NEEDS_RESET, or a bad used entry */
};

/* A register window: a BAR region, in I/O space or memory. */
struct vio_region {
	uint64_t base;		/* port number or guest-physical address */
	uint32_t len;
	int io;
};

struct vring_desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};

struct vring_avail {
	uint16_t flags;
	uint16_t idx;
	uint16_t ring[VQ_SIZE];
	uint16_t used_event;
};

struct vring_used_elem {
	uint32_t id;
	uint32_t len;
};

struct vring_used {
	uint16_t flags;
	uint16_t idx;
	struct vring_used_elem ring[VQ_SIZE];
	uint16_t avail_event;
};

/* One split virtqueue: one 4 KiB page of rings, owned by the caller. */
struct vq {
	struct vio_dev *dev;
	uint16_t index;		/* queue number */
	uint16_t size;		/* what the driver wrote to queue_size */
	uint16_t next_avail;	/* our copy of avail->idx */
	uint16_t last_used;	/* used->idx we have consumed up to */
	struct vring_desc *desc;
	struct vring_avail *avail;
	volatile struct vring_used *used;
	struct vio_region notify;	/* where this queue's notify write goes */
};

/* One buffer of a chain. */
struct vq_buf {
	void *addr;
	uint32_t len;
	int writable;		/* device-writable (else device-readable) */
};

struct vio_dev {
	uint8_t slot;		/* PCI device number on bus 0 */
	uint16_t device_id;	/* virtio device id */
	struct vio_region common, isr, device, notify;
	uint32_t notify_mult;	/* notify_off_multiplier */
	uint64_t features;	/* negotiated */
	uint16_t num_queues;
};

/* Register accesses of the region's own kind (port I/O or MMIO), at off. */
uint8_t vio_read8(const struct vio_region *r, uint32_t off);
uint16_t vio_read16(const struct vio_region *r, uint32_t off);
uint32_t vio_read32(const struct vio_region *r, uint32_t off);
void vio_write8(const struct vio_region *r, uint32_t off, uint8_t v);
void vio_write16(const struct vio_region *r, uint32_t off, uint16_t v);
void vio_write32(const struct vio_region *r, uint32_t off, uint32_t v);

/* PCI configuration reads and writes through 0xCF8/0xCFC, bus 0, function 0. */
uint32_t pci_read32(uint8_t slot, uint8_t off);
uint16_t pci_read16(uint8_t slot, uint8_t off);
uint8_t pci_read8(uint8_t slot, uint8_t off);
void pci_write16(uint8_t slot, uint8_t off, uint16_t v);

/*
 * Finds the next virtio-pci device on bus 0 in a slot >= *slot: returns its
 * virtio device id and sets *slot, or returns 0 when there is none.
 */
uint16_t vio_find_next(uint8_t *slot);

/*
 * Probes the device in slot: walks its vendor capabilities, reads (never
 * moves) the BARs trapeze assigned, and switches on I/O, memory decoding
 * and bus mastering. VIO_OK or VIO_ERR_CAPS.
 */
enum vio_err vio_probe(struct vio_dev *d, uint8_t slot, uint16_t device_id);

/*
 * Device initialisation (3.1.1) up to FEATURES_OK: reset, ACKNOWLEDGE,
 * DRIVER, then accepts VERSION_1 and the bits of `want` the device offers.
 * VIO_OK or VIO_ERR_FEATURES. The accepted set is in d->features.
 */
enum vio_err vio_negotiate(struct vio_dev *d, uint64_t want);

/*
 * Sets queue `index` up with its rings in `page` (4 KiB, 4 KiB-aligned, in
 * RAM) and enables it. Call between vio_negotiate and vio_driver_ok.
 */
enum vio_err vq_setup(struct vq *q, struct vio_dev *d, uint16_t index, void *page);

/* Sets DRIVER_OK; VIO_ERR_DEVICE when the device refuses it. */
enum vio_err vio_driver_ok(struct vio_dev *d);

/* Device status register as read now. */
uint8_t vio_status(struct vio_dev *d);

/*
 * Waits until the status has every bit of `bits` (e.g. NEEDS_RESET after a
 * malformed request). VIO_OK or VIO_ERR_TIMEOUT.
 */
enum vio_err vio_wait_status(struct vio_dev *d, uint8_t bits);

/* Device-specific configuration reads (4.1.4.6). */
uint32_t vio_config_read32(struct vio_dev *d, uint32_t off);
uint64_t vio_config_read64(struct vio_dev *d, uint32_t off);

/*
 * Places the n buffers as one chain, notifies, and waits for the device to
 * return it. *written gets the used length. VIO_OK, VIO_ERR_TIMEOUT or
 * VIO_ERR_DEVICE (a used entry for another chain, or NEEDS_RESET).
 */
enum vio_err vq_submit(struct vq *q, const struct vq_buf *bufs, unsigned int n,
		       uint32_t *written);

/*
 * The parts of vq_submit, for drivers that build descriptors themselves:
 * vq_publish puts head in the available ring, bumps its index and
 * notifies; vq_wait_used waits for the next used entry and checks it is
 * head's; vq_notify only notifies.
 */
void vq_publish(struct vq *q, uint16_t head);
enum vio_err vq_wait_used(struct vq *q, uint16_t head, uint32_t *written);
void vq_notify(struct vq *q);

/* A short name for an error, for messages. */
const char *vio_err_name(enum vio_err e);

#endif

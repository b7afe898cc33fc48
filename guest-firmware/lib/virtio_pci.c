/*
 * virtio_pci: PCI discovery and the virtio-pci modern transport for the tiny
 * guests (virtio 1.2, 4.1; see virtio.h). Everything the device reports is
 * checked before use: capability pointers stay inside the 256-byte header
 * and the walk is bounded, BARs must be assigned, and regions must fit in
 * their BAR and, for memory, below 4 GiB (the identity map trapeze gives
 * 64-bit guests ends there).
 */
#include "io.h"
#include "rt.h"
#include "virtio.h"

#define PCI_CONFIG_ADDRESS	0xcf8	/* PCI 3.0, 3.2.2.3.2: mechanism #1 */
#define PCI_CONFIG_DATA		0xcfc
#define PCI_CONFIG_ENABLE	0x80000000u
#define PCI_MAX_SLOTS		32
#define PCI_MAX_CAPS		48	/* (256 - 64) / 4: more means a loop */
#define FOUR_GIB		0x100000000ull

/* virtio_pci_cap fields (4.1.4), as offsets from the capability. */
#define VCAP_CFG_TYPE		3
#define VCAP_BAR		4
#define VCAP_OFFSET		8
#define VCAP_LENGTH		12
#define VCAP_NOTIFY_MULT	16	/* virtio_pci_notify_cap only */
#define VCAP_LEN_MIN		16
#define VCAP_NOTIFY_LEN_MIN	20

static void pci_select(uint8_t slot, uint8_t off)
{
	/* Bus 0, function 0; the register number's low two bits are 0 here. */
	outl(PCI_CONFIG_ADDRESS, PCI_CONFIG_ENABLE | ((uint32_t)slot << 11) | (off & 0xfcu));
}

uint32_t pci_read32(uint8_t slot, uint8_t off)
{
	pci_select(slot, off);
	return inl(PCI_CONFIG_DATA);
}

uint16_t pci_read16(uint8_t slot, uint8_t off)
{
	pci_select(slot, off);
	return inw(PCI_CONFIG_DATA + (off & 2));
}

uint8_t pci_read8(uint8_t slot, uint8_t off)
{
	pci_select(slot, off);
	return inb(PCI_CONFIG_DATA + (off & 3));
}

void pci_write16(uint8_t slot, uint8_t off, uint16_t v)
{
	pci_select(slot, off);
	outw(PCI_CONFIG_DATA + (off & 2), v);
}

uint16_t vio_find_next(uint8_t *slot)
{
	for (unsigned int s = *slot; s < PCI_MAX_SLOTS; s++) {
		uint32_t id = pci_read32((uint8_t)s, PCI_VENDOR_ID);
		uint16_t device = (uint16_t)(id >> 16);

		if ((id & 0xffff) != VIRTIO_PCI_VENDOR || device < VIRTIO_PCI_DEVICE_BASE ||
		    device > VIRTIO_PCI_DEVICE_BASE + 0x3f)
			continue;
		*slot = (uint8_t)s;
		return (uint16_t)(device - VIRTIO_PCI_DEVICE_BASE);
	}
	return 0;
}

/* ---- register windows ---- */

uint8_t vio_read8(const struct vio_region *r, uint32_t off)
{
	if (r->io)
		return inb((uint16_t)(r->base + off));
	return *(volatile uint8_t *)(uintptr_t)(r->base + off);
}

uint16_t vio_read16(const struct vio_region *r, uint32_t off)
{
	if (r->io)
		return inw((uint16_t)(r->base + off));
	return *(volatile uint16_t *)(uintptr_t)(r->base + off);
}

uint32_t vio_read32(const struct vio_region *r, uint32_t off)
{
	if (r->io)
		return inl((uint16_t)(r->base + off));
	return *(volatile uint32_t *)(uintptr_t)(r->base + off);
}

void vio_write8(const struct vio_region *r, uint32_t off, uint8_t v)
{
	if (r->io)
		outb((uint16_t)(r->base + off), v);
	else
		*(volatile uint8_t *)(uintptr_t)(r->base + off) = v;
}

void vio_write16(const struct vio_region *r, uint32_t off, uint16_t v)
{
	if (r->io)
		outw((uint16_t)(r->base + off), v);
	else
		*(volatile uint16_t *)(uintptr_t)(r->base + off) = v;
}

void vio_write32(const struct vio_region *r, uint32_t off, uint32_t v)
{
	if (r->io)
		outl((uint16_t)(r->base + off), v);
	else
		*(volatile uint32_t *)(uintptr_t)(r->base + off) = v;
}

/* ---- probing ---- */

/*
 * BAR bar's address and kind as trapeze (our firmware) assigned it; the
 * size is not probed: sizing writes all-ones into a live BAR, and the
 * capabilities already say how much of it is used. 0 when unassigned.
 */
static uint64_t bar_address(uint8_t slot, uint8_t bar, int *io)
{
	uint32_t lo, hi = 0;

	if (bar > 5)
		return 0;
	lo = pci_read32(slot, (uint8_t)(PCI_BAR0 + 4 * bar));
	*io = lo & PCI_BAR_IO;
	if (*io)
		return lo & ~3u;
	if ((lo & 6u) == PCI_BAR_MEM_TYPE_64) {
		if (bar == 5)
			return 0;
		hi = pci_read32(slot, (uint8_t)(PCI_BAR0 + 4 * (bar + 1)));
	}
	return ((uint64_t)hi << 32) | (lo & ~0xfu);
}

/* Fills r from the capability at cap; 0 on success, -1 when unusable. */
static int cap_region(uint8_t slot, uint8_t cap, struct vio_region *r)
{
	uint8_t bar = pci_read8(slot, (uint8_t)(cap + VCAP_BAR));
	uint32_t off = pci_read32(slot, (uint8_t)(cap + VCAP_OFFSET));
	uint32_t len = pci_read32(slot, (uint8_t)(cap + VCAP_LENGTH));
	int io = 0;
	uint64_t base = bar_address(slot, bar, &io);

	if (!base || !len)
		return -1;
	if (io && base + off + len > 0x10000)
		return -1;
	if (!io && base + off + len > FOUR_GIB)
		return -1;
	r->base = base + off;
	r->len = len;
	r->io = io;
	return 0;
}

enum vio_err vio_probe(struct vio_dev *d, uint8_t slot, uint16_t device_id)
{
	int have_common = 0, have_notify = 0, have_isr = 0;
	uint8_t cap;

	memset(d, 0, sizeof(*d));
	d->slot = slot;
	d->device_id = device_id;
	if (!(pci_read16(slot, PCI_STATUS) & PCI_STATUS_CAP_LIST))
		return VIO_ERR_CAPS;
	cap = pci_read8(slot, PCI_CAP_PTR) & 0xfc;
	for (int n = 0; cap >= 0x40 && n < PCI_MAX_CAPS; n++) {
		uint8_t id = pci_read8(slot, cap);
		uint8_t next = pci_read8(slot, (uint8_t)(cap + 1)) & 0xfc;
		uint8_t len = pci_read8(slot, (uint8_t)(cap + 2));

		if (id == PCI_CAP_ID_VNDR && len >= VCAP_LEN_MIN && cap + len <= 0x100) {
			uint8_t type = pci_read8(slot, (uint8_t)(cap + VCAP_CFG_TYPE));

			/*
			 * 4.1.4: of several capabilities of one type the first
			 * is the device's preference; a driver takes the first
			 * it can use.
			 */
			if (type == VIRTIO_CAP_COMMON && !have_common)
				have_common = !cap_region(slot, cap, &d->common);
			else if (type == VIRTIO_CAP_NOTIFY && !have_notify &&
				 len >= VCAP_NOTIFY_LEN_MIN && !cap_region(slot, cap, &d->notify)) {
				d->notify_mult = pci_read32(slot, (uint8_t)(cap + VCAP_NOTIFY_MULT));
				have_notify = 1;
			} else if (type == VIRTIO_CAP_ISR && !have_isr)
				have_isr = !cap_region(slot, cap, &d->isr);
			else if (type == VIRTIO_CAP_DEVICE && !d->device.len)
				cap_region(slot, cap, &d->device);
		}
		cap = next;
	}
	/* 4.1.4.3: the common configuration is 56 bytes (0x38) in virtio 1.x. */
	if (!have_common || !have_notify || !have_isr || d->common.len < 0x38 ||
	    d->common.io)
		return VIO_ERR_CAPS;
	pci_write16(slot, PCI_COMMAND, (uint16_t)(pci_read16(slot, PCI_COMMAND) | PCI_COMMAND_IO |
						 PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER));
	d->num_queues = vio_read16(&d->common, VCOMMON_NUM_QUEUES);
	return VIO_OK;
}

/* ---- initialisation (3.1.1) ---- */

uint8_t vio_status(struct vio_dev *d)
{
	return vio_read8(&d->common, VCOMMON_STATUS);
}

enum vio_err vio_wait_status(struct vio_dev *d, uint8_t bits)
{
	uint64_t start = vio_rdtsc();

	while ((vio_status(d) & bits) != bits)
		if (vio_rdtsc() - start > VIO_TIMEOUT_TICKS)
			return VIO_ERR_TIMEOUT;
	return VIO_OK;
}

static void vio_set_status(struct vio_dev *d, uint8_t bits)
{
	vio_write8(&d->common, VCOMMON_STATUS, bits);
}

enum vio_err vio_negotiate(struct vio_dev *d, uint64_t want)
{
	uint64_t offered, accept;

	/* Reset (2.4.1: the driver waits until status reads 0 again). */
	vio_set_status(d, 0);
	for (int i = 0; vio_status(d) != 0; i++)
		if (i > 1000)
			return VIO_ERR_FEATURES;
	vio_set_status(d, VIRTIO_STATUS_ACK);
	vio_set_status(d, VIRTIO_STATUS_ACK | VIRTIO_STATUS_DRIVER);

	vio_write32(&d->common, VCOMMON_DFSELECT, 0);
	offered = vio_read32(&d->common, VCOMMON_DF);
	vio_write32(&d->common, VCOMMON_DFSELECT, 1);
	offered |= (uint64_t)vio_read32(&d->common, VCOMMON_DF) << 32;
	/* 6.1: a modern driver must accept VERSION_1; without it we stop. */
	if (!(offered & (1ull << VIRTIO_F_VERSION_1))) {
		vio_set_status(d, VIRTIO_STATUS_FAILED);
		return VIO_ERR_FEATURES;
	}
	accept = (want | (1ull << VIRTIO_F_VERSION_1)) & offered;
	vio_write32(&d->common, VCOMMON_GFSELECT, 0);
	vio_write32(&d->common, VCOMMON_GF, (uint32_t)accept);
	vio_write32(&d->common, VCOMMON_GFSELECT, 1);
	vio_write32(&d->common, VCOMMON_GF, (uint32_t)(accept >> 32));
	vio_set_status(d, VIRTIO_STATUS_ACK | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK);
	/* 3.1.1 step 6: re-read; a device that does not keep FEATURES_OK refused them. */
	if (!(vio_status(d) & VIRTIO_STATUS_FEATURES_OK)) {
		vio_set_status(d, VIRTIO_STATUS_FAILED);
		return VIO_ERR_FEATURES;
	}
	d->features = accept;
	return VIO_OK;
}

enum vio_err vio_driver_ok(struct vio_dev *d)
{
	uint8_t s;

	vio_set_status(d, VIRTIO_STATUS_ACK | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK |
			  VIRTIO_STATUS_DRIVER_OK);
	s = vio_status(d);
	if (!(s & VIRTIO_STATUS_DRIVER_OK) || (s & VIRTIO_STATUS_NEEDS_RESET))
		return VIO_ERR_DEVICE;
	return VIO_OK;
}

/* 64-bit ring addresses as two 32-bit writes (4.1.3.1: no 64-bit accesses needed). */
static void write_addr(struct vio_dev *d, uint32_t off, const void *p)
{
	uint64_t a = (uint64_t)(uintptr_t)p;

	vio_write32(&d->common, off, (uint32_t)a);
	vio_write32(&d->common, off + 4, (uint32_t)(a >> 32));
}

enum vio_err vq_setup(struct vq *q, struct vio_dev *d, uint16_t index, void *page)
{
	uint8_t *p = page;
	uint16_t max, notify_off;
	uint64_t notify_at;

	if (index >= d->num_queues)
		return VIO_ERR_QUEUE;
	vio_write16(&d->common, VCOMMON_Q_SELECT, index);
	max = vio_read16(&d->common, VCOMMON_Q_SIZE);
	/* 4.1.4.3.2: a size of 0 means the queue does not exist. */
	if (max == 0 || vio_read16(&d->common, VCOMMON_Q_ENABLE))
		return VIO_ERR_QUEUE;
	memset(q, 0, sizeof(*q));
	q->dev = d;
	q->index = index;
	q->size = max < VQ_SIZE ? max : VQ_SIZE;
	/* 2.7: descriptor table 16-, available ring 2-, used ring 4-byte aligned. */
	q->desc = (struct vring_desc *)p;
	q->avail = (struct vring_avail *)(p + 128);
	q->used = (volatile struct vring_used *)(p + 256);
	memset(page, 0, 512);

	vio_write16(&d->common, VCOMMON_Q_SIZE, q->size);
	write_addr(d, VCOMMON_Q_DESC, q->desc);
	write_addr(d, VCOMMON_Q_AVAIL, q->avail);
	write_addr(d, VCOMMON_Q_USED, (const void *)q->used);
	notify_off = vio_read16(&d->common, VCOMMON_Q_NOTIFY_OFF);
	/* 4.1.4.4: queue_notify_off * notify_off_multiplier into the notify region. */
	notify_at = (uint64_t)notify_off * d->notify_mult;
	if (notify_at + 2 > d->notify.len)
		return VIO_ERR_QUEUE;
	q->notify = d->notify;
	q->notify.base += notify_at;
	q->notify.len = 2;
	vio_write16(&d->common, VCOMMON_Q_ENABLE, 1);
	if (vio_read16(&d->common, VCOMMON_Q_ENABLE) != 1)
		return VIO_ERR_QUEUE;
	return VIO_OK;
}

/* ---- device configuration (4.1.4.6) ---- */

uint32_t vio_config_read32(struct vio_dev *d, uint32_t off)
{
	if (off + 4 > d->device.len)
		return 0;
	return vio_read32(&d->device, off);
}

/*
 * A 64-bit field read as two halves, retried while config_generation changes
 * (4.1.4.3.1: the device may update the field between the two reads).
 */
uint64_t vio_config_read64(struct vio_dev *d, uint32_t off)
{
	uint8_t gen;
	uint64_t v;

	if (off + 8 > d->device.len)
		return 0;
	for (int tries = 0;; tries++) {
		gen = vio_read8(&d->common, VCOMMON_CONFIG_GEN);
		v = vio_read32(&d->device, off);
		v |= (uint64_t)vio_read32(&d->device, off + 4) << 32;
		/* Bounded: a device that never settles gets the last value. */
		if (gen == vio_read8(&d->common, VCOMMON_CONFIG_GEN) || tries == 8)
			return v;
	}
}

const char *vio_err_name(enum vio_err e)
{
	switch (e) {
	case VIO_OK:
		return "ok";
	case VIO_ERR_CAPS:
		return "capabilities or BARs unusable";
	case VIO_ERR_FEATURES:
		return "feature negotiation failed";
	case VIO_ERR_QUEUE:
		return "queue set-up failed";
	case VIO_ERR_TIMEOUT:
		return "no answer from the device";
	case VIO_ERR_DEVICE:
		return "device error";
	}
	return "?";
}

/*
 * virtio/pci: the virtio 1.x PCI transport (virtio 1.2, section 4.1):
 * capabilities, the common configuration structure, ISR, device
 * configuration, notifications and interrupts. See virtio/pci.h for the
 * layout and the choices behind it.
 *
 * Every register value comes from the guest: widths and offsets are checked
 * against the structure, selectors are kept as written and checked on use,
 * and an access the structure does not define reads as zeros and writes
 * nothing (logged once per device).
 */
#include <endian.h>
#include <errno.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "trapeze/event_loop.h"
#include "trapeze/kvm.h"
#include "trapeze/virtio/pci.h"
#include "trapeze/vm.h"

/* ISR status bits (4.1.4.5). */
#define ISR_QUEUE	0x1
#define ISR_CONFIG	0x2

/* kick.ioevent[] index: the notify region in the memory BAR, or in the I/O BAR. */
#define NOTIFY_MEM	0
#define NOTIFY_IO	1

/* PCI_CFG capability fields, as offsets from the capability (4.1.4.9). */
#define CFG_CAP_BAR	offsetof(struct virtio_pci_cap, bar)
#define CFG_CAP_OFFSET	offsetof(struct virtio_pci_cap, offset)
#define CFG_CAP_LENGTH	offsetof(struct virtio_pci_cap, length)
#define CFG_CAP_DATA	offsetof(struct virtio_pci_cfg_cap, pci_cfg_data)
#define CFG_CAP_END	sizeof(struct virtio_pci_cfg_cap)

static const struct virtio_pci_irq_ops pci_irq_ops = {
	.msix_enabled = pci_msix_enabled,
	.msix_notify = pci_msix_notify,
	.set_intx = pci_dev_set_intx,
};

u32 virtio_pci_class_code(u32 device_id)
{
	switch (device_id) {
	case VIRTIO_ID_NET:
		return 0x020000;	/* network, Ethernet */
	case VIRTIO_ID_BLOCK:
		return 0x018000;	/* mass storage, other */
	case VIRTIO_ID_CONSOLE:
		return 0x078000;	/* communication, other */
	default:
		return 0x00ff00;	/* unclassified, other (QEMU's virtio-rng) */
	}
}

static struct virtio_pci *to_vp(struct virtio_dev *vd)
{
	return vd->transport_priv;
}

/* Logs the first access a device's registers do not define; guests may repeat it. */
static void log_bad_access(struct virtio_pci *vp, const char *what, u64 off, u32 len,
			   bool write)
{
	if (__atomic_exchange_n(&vp->bad_access_logged, true, __ATOMIC_RELAXED))
		return;
	fprintf(stderr, "trapeze: %s: ignored %u-byte %s at %s offset 0x%llx (logged once)\n",
		vp->vd->ops->name, len, write ? "write" : "read", what,
		(unsigned long long)off);
}

static u64 load_le(const void *data, u32 len)
{
	u64 v = 0;

	memcpy(&v, data, len < sizeof(v) ? len : sizeof(v));
	return le64toh(v);
}

/* ---- interrupts (4.1.5.3, 4.1.5.4) ---- */

/* Sets ISR bits and, with MSI-X off, asserts INTx, under isr_lock so a read-to-clear cannot interleave. */
static void isr_raise(struct virtio_pci *vp, u8 bits, bool intx)
{
	pthread_mutex_lock(&vp->isr_lock);
	vp->isr |= bits;
	if (intx)
		vp->irq->set_intx(&vp->pci, 1);
	pthread_mutex_unlock(&vp->isr_lock);
}

/* Reads the ISR; unless peek, clears it and deasserts INTx (4.1.4.5: reading resets it). */
static u8 isr_read(struct virtio_pci *vp, bool peek)
{
	u8 v;

	pthread_mutex_lock(&vp->isr_lock);
	v = vp->isr;
	if (!peek && v) {
		vp->isr = 0;
		vp->irq->set_intx(&vp->pci, 0);
	}
	pthread_mutex_unlock(&vp->isr_lock);
	return v;
}

static void transport_notify_queue(struct virtio_dev *vd, unsigned int q)
{
	struct virtio_pci *vp = to_vp(vd);

	if (vp->irq->msix_enabled(&vp->pci)) {
		u16 v = __atomic_load_n(&vd->queues[q].msix_vector, __ATOMIC_RELAXED);

		/* 4.1.5.3.1: MSI-X on and NO_VECTOR: no interrupt at all. */
		if (v == VIRTIO_MSI_NO_VECTOR || !vp->irq->msix_notify(&vp->pci, v))
			return;
		/* MSI-X was switched off meanwhile: the driver now polls the ISR. */
	}
	isr_raise(vp, ISR_QUEUE, true);
}

static void transport_notify_config(struct virtio_dev *vd)
{
	struct virtio_pci *vp = to_vp(vd);

	if (vp->irq->msix_enabled(&vp->pci)) {
		u16 v = __atomic_load_n(&vp->config_msix_vector, __ATOMIC_RELAXED);

		/* 4.1.4.5.1: the config bit is set before any config notification. */
		isr_raise(vp, ISR_CONFIG, false);
		if (v == VIRTIO_MSI_NO_VECTOR || !vp->irq->msix_notify(&vp->pci, v))
			return;
	}
	isr_raise(vp, ISR_CONFIG, true);
}

/* Called by virtio_dev_reset() with vd->lock held. */
static void transport_reset(struct virtio_dev *vd)
{
	struct virtio_pci *vp = to_vp(vd);

	__atomic_store_n(&vp->config_msix_vector, VIRTIO_MSI_NO_VECTOR, __ATOMIC_RELAXED);
	vp->device_feature_select = 0;
	vp->driver_feature_select = 0;
	vp->queue_select = 0;
	isr_read(vp, false);
}

static const struct virtio_transport_ops pci_transport_ops = {
	.notify_queue = transport_notify_queue,
	.notify_config = transport_notify_config,
	.reset = transport_reset,
};

/* ---- common configuration (4.1.4.3) ---- */

/* A vector the driver maps: one of our MSI-X table entries, or NO_VECTOR (4.1.5.1.2). */
static u16 checked_vector(const struct virtio_pci *vp, u64 v)
{
	return v < vp->nr_vectors ? (u16)v : VIRTIO_MSI_NO_VECTOR;
}

/* The structure as the driver would read it now, little-endian. Under vd->lock. */
static void common_image(struct virtio_pci *vp, struct virtio_pci_common_cfg *c)
{
	struct virtio_dev *vd = vp->vd;
	unsigned int q = vp->queue_select;
	bool have_q = q < vd->ops->nr_queues;
	const struct virtio_queue_state *qs = have_q ? &vd->queues[q] : NULL;

	memset(c, 0, sizeof(*c));
	c->device_feature_select = htole32(vp->device_feature_select);
	c->device_feature = htole32(virtio_dev_device_features(vd, vp->device_feature_select));
	c->guest_feature_select = htole32(vp->driver_feature_select);
	c->guest_feature = htole32(virtio_dev_driver_features(vd, vp->driver_feature_select));
	c->msix_config = htole16(__atomic_load_n(&vp->config_msix_vector, __ATOMIC_RELAXED));
	c->num_queues = htole16(vd->ops->nr_queues);
	c->device_status = virtio_dev_status(vd);
	c->config_generation = (u8)virtio_dev_config_generation(vd);
	c->queue_select = htole16(vp->queue_select);
	c->queue_size = htole16(virtio_dev_queue_size(vd, q));
	c->queue_msix_vector = htole16(have_q ? __atomic_load_n(&qs->msix_vector, __ATOMIC_RELAXED) :
				       VIRTIO_MSI_NO_VECTOR);
	if (!have_q)
		return;
	c->queue_enable = htole16(qs->enabled);
	c->queue_notify_off = htole16(q);
	c->queue_desc_lo = htole32((u32)qs->desc);
	c->queue_desc_hi = htole32((u32)(qs->desc >> 32));
	c->queue_avail_lo = htole32((u32)qs->avail);
	c->queue_avail_hi = htole32((u32)(qs->avail >> 32));
	c->queue_used_lo = htole32((u32)qs->used);
	c->queue_used_hi = htole32((u32)(qs->used >> 32));
}

/* Reads have no side effects here, so any width and alignment inside the structure works. */
static void common_read(struct virtio_pci *vp, u64 off, void *data, u32 len)
{
	struct virtio_pci_common_cfg c;

	memset(data, 0, len);
	if (off >= VIRTIO_PCI_COMMON_LEN || len > VIRTIO_PCI_COMMON_LEN - off) {
		log_bad_access(vp, "common config", off, len, false);
		return;
	}
	common_image(vp, &c);
	memcpy(data, (const u8 *)&c + off, len);
}

/*
 * Writes one 32-bit half (or, at the low half, all 64 bits) of a ring
 * address of the selected queue. Returns false when the width is wrong.
 */
static bool write_ring_addr(struct virtio_pci *vp, unsigned int part, bool high, u64 val,
			    u32 len)
{
	struct virtio_dev *vd = vp->vd;
	unsigned int q = vp->queue_select;
	u64 addr[3];

	if (len != 4 && !(len == 8 && !high))
		return false;
	if (q >= vd->ops->nr_queues)
		return true;	/* 4.1.4.3: nothing is there; not a malformed access */
	addr[0] = vd->queues[q].desc;
	addr[1] = vd->queues[q].avail;
	addr[2] = vd->queues[q].used;
	if (len == 8)
		addr[part] = val;
	else if (high)
		addr[part] = (addr[part] & 0xffffffffULL) | (val << 32);
	else
		addr[part] = (addr[part] & ~0xffffffffULL) | (val & 0xffffffffULL);
	/* -EBUSY (enabled, or DRIVER_OK) is the spec's "ignore". */
	virtio_dev_queue_set_rings(vd, q, addr[0], addr[1], addr[2]);
	return true;
}

/* One register write, exact width only (4.1.3.1: drivers use the fields' own widths). */
static void common_write(struct virtio_pci *vp, u64 off, const void *data, u32 len)
{
	struct virtio_dev *vd = vp->vd;
	unsigned int q = vp->queue_select;
	u64 val = load_le(data, len);
	u32 want;

	switch (off) {
	case VIRTIO_PCI_COMMON_DFSELECT:
	case VIRTIO_PCI_COMMON_GFSELECT:
	case VIRTIO_PCI_COMMON_GF:
		want = 4;
		break;
	case VIRTIO_PCI_COMMON_MSIX:
	case VIRTIO_PCI_COMMON_Q_SELECT:
	case VIRTIO_PCI_COMMON_Q_SIZE:
	case VIRTIO_PCI_COMMON_Q_MSIX:
	case VIRTIO_PCI_COMMON_Q_ENABLE:
		want = 2;
		break;
	case VIRTIO_PCI_COMMON_STATUS:
		want = 1;
		break;
	case VIRTIO_PCI_COMMON_Q_DESCLO:
	case VIRTIO_PCI_COMMON_Q_DESCHI:
	case VIRTIO_PCI_COMMON_Q_AVAILLO:
	case VIRTIO_PCI_COMMON_Q_AVAILHI:
	case VIRTIO_PCI_COMMON_Q_USEDLO:
	case VIRTIO_PCI_COMMON_Q_USEDHI: {
		unsigned int part = (off - VIRTIO_PCI_COMMON_Q_DESCLO) / 8;
		bool high = (off - VIRTIO_PCI_COMMON_Q_DESCLO) % 8;

		if (!write_ring_addr(vp, part, high, val, len))
			log_bad_access(vp, "common config", off, len, true);
		return;
	}
	default:
		/* Read-only fields (device_feature, num_queues, ...) and holes. */
		log_bad_access(vp, "common config", off, len, true);
		return;
	}
	if (len != want) {
		log_bad_access(vp, "common config", off, len, true);
		return;
	}

	switch (off) {
	case VIRTIO_PCI_COMMON_DFSELECT:
		vp->device_feature_select = (u32)val;
		break;
	case VIRTIO_PCI_COMMON_GFSELECT:
		vp->driver_feature_select = (u32)val;
		break;
	case VIRTIO_PCI_COMMON_GF:
		virtio_dev_set_driver_features(vd, vp->driver_feature_select, (u32)val);
		break;
	case VIRTIO_PCI_COMMON_MSIX:
		__atomic_store_n(&vp->config_msix_vector, checked_vector(vp, val), __ATOMIC_RELAXED);
		break;
	case VIRTIO_PCI_COMMON_STATUS:
		virtio_dev_set_status(vd, (u8)val);
		break;
	case VIRTIO_PCI_COMMON_Q_SELECT:
		vp->queue_select = (u16)val;
		break;
	case VIRTIO_PCI_COMMON_Q_SIZE:
		virtio_dev_queue_set_size(vd, q, (u16)val);
		break;
	case VIRTIO_PCI_COMMON_Q_MSIX:
		if (q < vd->ops->nr_queues)
			__atomic_store_n(&vd->queues[q].msix_vector, checked_vector(vp, val),
					 __ATOMIC_RELAXED);
		break;
	case VIRTIO_PCI_COMMON_Q_ENABLE:
		virtio_dev_queue_enable(vd, q, (u16)val);
		break;
	}
}

/* ---- notifications (4.1.4.4, 4.1.5.2) ---- */

/* The driver notified queue q: through the queue's eventfd when there is one. */
static void kick(struct virtio_pci *vp, unsigned int q)
{
	const struct virtio_pci_kick *k = &vp->kicks[q];
	u64 one = 1;

	if (k->watched) {
		/* Fails only when the counter is at its maximum: a kick is pending anyway. */
		if (write(k->fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
			fprintf(stderr, "trapeze: %s: notify eventfd: %s\n", vp->vd->ops->name,
				strerror(errno));
		return;
	}
	virtio_dev_kick(vp->vd, q);
}

/* A write at offset off of a notify region: queue q at VIRTIO_PCI_NOTIFY_MULT * q. */
static void notify_write(struct virtio_pci *vp, u64 off, u32 len)
{
	u64 q = off / VIRTIO_PCI_NOTIFY_MULT;

	if (off % VIRTIO_PCI_NOTIFY_MULT || q >= vp->vd->ops->nr_queues) {
		log_bad_access(vp, "notify", off, len, true);
		return;
	}
	kick(vp, (unsigned int)q);
}

/* Event loop callback: a queue's eventfd fired (ioeventfd, or a BAR write above). */
static void kick_ready(void *opaque, u32 events)
{
	struct virtio_pci_kick *k = opaque;
	u64 count;

	(void)events;
	if (read(k->fd, &count, sizeof(count)) != sizeof(count))
		return;	/* EAGAIN: someone else drained it */
	virtio_dev_kick(k->vp->vd, k->q);
}

/* ---- BAR accesses ---- */

static u32 notify_len(const struct virtio_pci *vp)
{
	return VIRTIO_PCI_NOTIFY_MULT * vp->vd->ops->nr_queues;
}

/* Memory BAR reads; peek: no side effects (the PCI_CFG window's snapshot). */
static void mem_access_read(struct virtio_pci *vp, u64 off, void *data, u32 len, bool peek)
{
	struct virtio_dev *vd = vp->vd;
	u32 cfg_size = vd->ops->config_size;

	if (off >= VIRTIO_PCI_MSIX_TABLE_OFF && vp->msix_ready &&
	    pci_msix_access(&vp->pci, off, data, len, false))
		return;
	memset(data, 0, len);
	if (off < VIRTIO_PCI_ISR_OFF) {
		pthread_mutex_lock(&vd->lock);
		common_read(vp, off, data, len);
		pthread_mutex_unlock(&vd->lock);
	} else if (off == VIRTIO_PCI_ISR_OFF) {
		/* Any width: the ISR is the first byte, the rest reads 0. */
		*(u8 *)data = isr_read(vp, peek);
	} else if (off >= VIRTIO_PCI_DEVICE_OFF && off < VIRTIO_PCI_DEVICE_OFF + cfg_size) {
		pthread_mutex_lock(&vd->lock);
		if (virtio_dev_config_read(vd, off - VIRTIO_PCI_DEVICE_OFF, data, len))
			log_bad_access(vp, "device config", off - VIRTIO_PCI_DEVICE_OFF, len, false);
		pthread_mutex_unlock(&vd->lock);
	}
	/* The notify region and the holes read as 0. */
}

static void mem_access_write(struct virtio_pci *vp, u64 off, const void *data, u32 len)
{
	struct virtio_dev *vd = vp->vd;
	u32 cfg_size = vd->ops->config_size;

	if (off >= VIRTIO_PCI_MSIX_TABLE_OFF && vp->msix_ready &&
	    pci_msix_access(&vp->pci, off, (void *)data, len, true))
		return;
	if (off < VIRTIO_PCI_ISR_OFF) {
		pthread_mutex_lock(&vd->lock);
		common_write(vp, off, data, len);
		pthread_mutex_unlock(&vd->lock);
	} else if (off >= VIRTIO_PCI_DEVICE_OFF && off < VIRTIO_PCI_DEVICE_OFF + cfg_size) {
		pthread_mutex_lock(&vd->lock);
		if (virtio_dev_config_write(vd, off - VIRTIO_PCI_DEVICE_OFF, data, len))
			log_bad_access(vp, "device config", off - VIRTIO_PCI_DEVICE_OFF, len, true);
		pthread_mutex_unlock(&vd->lock);
	} else if (off >= VIRTIO_PCI_NOTIFY_OFF && off < VIRTIO_PCI_NOTIFY_OFF + notify_len(vp)) {
		notify_write(vp, off - VIRTIO_PCI_NOTIFY_OFF, len);
	} else {
		log_bad_access(vp, "BAR 0", off, len, true);
	}
}

static void mem_read(void *dev, u64 off, void *data, u32 len)
{
	mem_access_read(dev, off, data, len, false);
}

static void mem_write(void *dev, u64 off, const void *data, u32 len)
{
	mem_access_write(dev, off, data, len);
}

/* The I/O BAR holds only the port notify region. */
static void io_read(void *dev, u64 off, void *data, u32 len)
{
	(void)dev;
	(void)off;
	memset(data, 0, len);
}

static void io_write(void *dev, u64 off, const void *data, u32 len)
{
	struct virtio_pci *vp = dev;

	(void)data;
	if (off < notify_len(vp))
		notify_write(vp, off, len);
	else
		log_bad_access(vp, "BAR 1", off, len, true);
}

const struct bus_ops virtio_pci_mem_ops = { .read = mem_read, .write = mem_write };
const struct bus_ops virtio_pci_io_ops = { .read = io_read, .write = io_write };

/* ---- PCI configuration access capability (4.1.4.9) ---- */

/*
 * The window the driver set up: bar, offset, length (1, 2 or 4), aligned and
 * inside one of our BARs. Returns false when it is not usable.
 */
static bool cfg_window(const struct virtio_pci *vp, u8 *bar, u32 *off, u32 *len)
{
	const u8 *cap = vp->pci.cfg + vp->cfg_cap;
	u32 size;

	*bar = cap[CFG_CAP_BAR];
	*off = (u32)load_le(cap + CFG_CAP_OFFSET, 4);
	*len = (u32)load_le(cap + CFG_CAP_LENGTH, 4);
	if (*len != 1 && *len != 2 && *len != 4)
		return false;
	if (*off % *len)
		return false;	/* 4.1.4.9.2: accesses are aligned */
	if (*bar == VIRTIO_PCI_MEM_BAR)
		size = VIRTIO_PCI_MEM_BAR_SIZE;
	else if (*bar == VIRTIO_PCI_IO_BAR)
		size = vp->io_bar_size;
	else
		return false;
	return *off < size && *len <= size - *off;
}

/*
 * The driver wrote into the PCI_CFG capability. A write to pci_cfg_data is
 * executed on the BAR (4.1.4.9.1). pci_cfg_data then holds what a read of
 * the window returns now: the PCI model has no hook for config reads, so the
 * read is done here, after every write to the capability, without side
 * effects (an ISR read through the window does not clear it).
 */
static void config_written(struct pci_dev *d, u32 off, u32 len)
{
	struct virtio_pci *vp = d->opaque;
	u8 *cap = d->cfg + vp->cfg_cap;
	u8 bar, buf[4] = { 0 };
	u32 woff, wlen;
	bool ok;

	if (off + len <= vp->cfg_cap || off >= vp->cfg_cap + CFG_CAP_END)
		return;
	ok = cfg_window(vp, &bar, &woff, &wlen);
	if (ok && off + len > vp->cfg_cap + CFG_CAP_DATA) {
		memcpy(buf, cap + CFG_CAP_DATA, wlen);
		if (bar == VIRTIO_PCI_MEM_BAR)
			mem_access_write(vp, woff, buf, wlen);
		else
			io_write(vp, woff, buf, wlen);
	}
	memset(buf, 0, sizeof(buf));
	if (ok && bar == VIRTIO_PCI_MEM_BAR)
		mem_access_read(vp, woff, buf, wlen, true);
	memcpy(cap + CFG_CAP_DATA, buf, sizeof(buf));
}

/* ---- ioeventfds ---- */

static int ioevent_ioctl(struct virtio_pci *vp, const struct virtio_pci_kick *k, int kind,
			 u64 addr, bool assign)
{
	struct kvm_ioeventfd io = {
		.addr = addr,
		/* 0: any width matches (KVM's fast MMIO path); else Linux's 16-bit notify. */
		.len = vp->host.ioeventfd_any_length ? 0 : 2,
		.fd = k->fd,
		.flags = (kind == NOTIFY_IO ? KVM_IOEVENTFD_FLAG_PIO : 0) |
			 (assign ? 0 : KVM_IOEVENTFD_FLAG_DEASSIGN),
	};

	return ioctl(vp->host.vm_fd, KVM_IOEVENTFD, &io) < 0 ? -errno : 0;
}

/*
 * Moves the notify ioeventfds of one BAR: drops those registered, and when the
 * BAR decodes at base, registers one per queue there. A failure leaves that
 * queue on the BAR handlers, which signal the same eventfd.
 */
static void ioevents_place(struct virtio_pci *vp, int kind, u64 base, bool decoding)
{
	u64 region = kind == NOTIFY_IO ? 0 : VIRTIO_PCI_NOTIFY_OFF;

	for (unsigned int q = 0; q < vp->vd->ops->nr_queues; q++) {
		struct virtio_pci_kick *k = &vp->kicks[q];
		u64 addr = base + region + (u64)VIRTIO_PCI_NOTIFY_MULT * q;
		int r;

		if (!k->watched)
			continue;
		if (k->ioevent[kind]) {
			ioevent_ioctl(vp, k, kind, k->ioevent_addr[kind], false);
			k->ioevent[kind] = false;
		}
		if (!decoding || !vp->host.ioeventfd)
			continue;
		r = ioevent_ioctl(vp, k, kind, addr, true);
		if (r) {
			if (!vp->ioevent_failure_logged)
				fprintf(stderr, "trapeze: %s: KVM_IOEVENTFD at %s 0x%llx: %s; notifications exit to userspace\n",
					vp->vd->ops->name, kind == NOTIFY_IO ? "port" : "address",
					(unsigned long long)addr, strerror(-r));
			vp->ioevent_failure_logged = true;
			continue;
		}
		k->ioevent[kind] = true;
		k->ioevent_addr[kind] = addr;
	}
}

static void bar_changed(struct pci_dev *d, unsigned int idx, u64 old_addr, u64 new_addr,
			bool decoding)
{
	(void)old_addr;
	if (idx == VIRTIO_PCI_MEM_BAR)
		ioevents_place(d->opaque, NOTIFY_MEM, new_addr, decoding);
	else if (idx == VIRTIO_PCI_IO_BAR)
		ioevents_place(d->opaque, NOTIFY_IO, new_addr, decoding);
}

const struct pci_dev_ops virtio_pci_dev_ops = {
	.config_written = config_written,
	.bar_changed = bar_changed,
};

/* ---- creation ---- */

/* Appends a virtio structure capability (4.1.4) with extra bytes after it. Offset or -errno. */
static int add_cap(struct virtio_pci *vp, u8 cfg_type, u8 bar, u32 off, u32 len,
		   const void *extra, u8 extra_len)
{
	u8 buf[sizeof(struct virtio_pci_cap) + 8];
	struct virtio_pci_cap cap = {
		.cap_vndr = PCI_CAP_ID_VNDR,
		.cap_len = (u8)(sizeof(cap) + extra_len),
		.cfg_type = cfg_type,
		.bar = bar,
		.offset = htole32(off),
		.length = htole32(len),
	};

	memcpy(buf, &cap, sizeof(cap));
	memcpy(buf + sizeof(cap), extra, extra_len);
	/* pci_dev_add_cap fills the id and next bytes itself. */
	return pci_dev_add_cap(&vp->pci, PCI_CAP_ID_VNDR, buf + 2, (u8)(sizeof(cap) - 2 + extra_len));
}

static int add_notify_cap(struct virtio_pci *vp, bool io)
{
	u32 mult = htole32(VIRTIO_PCI_NOTIFY_MULT);

	return add_cap(vp, VIRTIO_PCI_CAP_NOTIFY_CFG, io ? VIRTIO_PCI_IO_BAR : VIRTIO_PCI_MEM_BAR,
		       io ? 0 : VIRTIO_PCI_NOTIFY_OFF, notify_len(vp), &mult, sizeof(mult));
}

static int add_caps(struct virtio_pci *vp)
{
	const struct virtio_dev_ops *ops = vp->vd->ops;
	u32 zero = 0;
	int r;

	r = add_cap(vp, VIRTIO_PCI_CAP_COMMON_CFG, VIRTIO_PCI_MEM_BAR, VIRTIO_PCI_COMMON_OFF,
		    VIRTIO_PCI_COMMON_LEN, NULL, 0);
	/* The preferred notify capability first (4.1.4: order is preference). */
	if (r >= 0)
		r = add_notify_cap(vp, vp->host.pio_notify_first);
	if (r >= 0)
		r = add_notify_cap(vp, !vp->host.pio_notify_first);
	if (r >= 0)
		r = add_cap(vp, VIRTIO_PCI_CAP_ISR_CFG, VIRTIO_PCI_MEM_BAR, VIRTIO_PCI_ISR_OFF, 1,
			    NULL, 0);
	/* 4.1.4.6: only devices that have a device configuration present one. */
	if (r >= 0 && ops->config_size)
		r = add_cap(vp, VIRTIO_PCI_CAP_DEVICE_CFG, VIRTIO_PCI_MEM_BAR,
			    VIRTIO_PCI_DEVICE_OFF, ops->config_size, NULL, 0);
	if (r >= 0)
		r = add_cap(vp, VIRTIO_PCI_CAP_PCI_CFG, 0, 0, 0, &zero, sizeof(zero));
	if (r < 0)
		return r;
	/* bar, offset, length and pci_cfg_data are the driver's to write (4.1.4.9). */
	vp->cfg_cap = (u8)r;
	vp->pci.wmask[r + CFG_CAP_BAR] = 0xff;
	memset(vp->pci.wmask + r + CFG_CAP_OFFSET, 0xff, 4);
	memset(vp->pci.wmask + r + CFG_CAP_LENGTH, 0xff, 4);
	memset(vp->pci.wmask + r + CFG_CAP_DATA, 0xff, 4);
	return 0;
}

/* The smallest power-of-2 I/O BAR (>= 16 ports) that holds every queue's notify port. */
static u32 io_bar_size(unsigned int nr_queues)
{
	u32 size = 16;

	while (size < VIRTIO_PCI_NOTIFY_MULT * nr_queues)
		size *= 2;
	return size;
}

static int open_kicks(struct virtio_pci *vp)
{
	for (unsigned int q = 0; q < vp->vd->ops->nr_queues; q++) {
		struct virtio_pci_kick *k = &vp->kicks[q];
		int r;

		k->fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		if (k->fd < 0)
			return -errno;
		r = event_loop_add(vp->host.loop, k->fd, EPOLLIN, kick_ready, k);
		if (r)
			return r;
		k->watched = true;
	}
	return 0;
}

int virtio_pci_init(struct virtio_pci *vp, struct virtio_dev *vd,
		    const struct virtio_pci_host *host, char *err, size_t err_len)
{
	const struct virtio_dev_ops *ops = vd->ops;
	u16 id = (u16)(VIRTIO_PCI_DEVICE_BASE + ops->device_id);
	const char *what;
	int r;

	memset(vp, 0, sizeof(*vp));
	for (unsigned int q = 0; q < VIRTIO_MAX_QUEUES; q++) {
		vp->kicks[q].vp = vp;
		vp->kicks[q].q = q;
		vp->kicks[q].fd = -1;
	}
	pthread_mutex_init(&vp->isr_lock, NULL);
	vp->vd = vd;
	vp->host = *host;
	vp->irq = host->irq ? host->irq : &pci_irq_ops;
	vp->nr_vectors = ops->nr_queues + 1;
	vp->io_bar_size = io_bar_size(ops->nr_queues);
	vp->config_msix_vector = VIRTIO_MSI_NO_VECTOR;

	what = "device configuration";
	r = -EINVAL;
	if (ops->device_id > 0x3f || ops->config_size > VIRTIO_PCI_DEVICE_MAX)
		goto out_err;

	pci_dev_init(&vp->pci, ops->name, VIRTIO_PCI_VENDOR, id, virtio_pci_class_code(ops->device_id),
		     VIRTIO_PCI_REVISION, VIRTIO_PCI_VENDOR, id);
	vp->pci.ops = &virtio_pci_dev_ops;
	vp->pci.opaque = vp;
	what = "BARs";
	r = pci_dev_add_bar(&vp->pci, VIRTIO_PCI_MEM_BAR, VIRTIO_PCI_MEM_BAR_SIZE, false, false,
			    &virtio_pci_mem_ops, vp);
	if (!r)
		r = pci_dev_add_bar(&vp->pci, VIRTIO_PCI_IO_BAR, vp->io_bar_size, true, false,
				    &virtio_pci_io_ops, vp);
	if (r)
		goto out_err;
	what = "capabilities";
	r = add_caps(vp);
	if (r)
		goto out_err;
	what = "MSI-X";
	r = pci_msix_init(&vp->pci, vp->nr_vectors, VIRTIO_PCI_MEM_BAR, VIRTIO_PCI_MSIX_TABLE_OFF,
			  VIRTIO_PCI_MSIX_PBA_OFF);
	if (r)
		goto out_err;
	vp->msix_ready = true;
	if (host->loop) {
		what = "notify eventfds";
		r = open_kicks(vp);
		if (r)
			goto out_err;
	}
	vd->transport = &pci_transport_ops;
	vd->transport_priv = vp;
	return 0;

out_err:
	snprintf(err, err_len, "%s: cannot set up its PCI function (%s): %s", ops->name, what,
		 strerror(-r));
	virtio_pci_destroy(vp);
	return r;
}

int virtio_pci_create(struct virtio_pci *vp, struct vm *vm, struct virtio_dev *vd,
		      char *err, size_t err_len)
{
	struct virtio_pci_host host = {
		.vm_fd = vm->fd,
		.ioeventfd = kvm_check_cap(vm->kvm, KVM_CAP_IOEVENTFD) > 0,
		.ioeventfd_any_length = kvm_check_cap(vm->kvm, KVM_CAP_IOEVENTFD_ANY_LENGTH) > 0,
		.loop = vm->loop,
		/* Port notifies are the cheaper ones on every host we measured (virtio/pci.h). */
		.pio_notify_first = true,
	};
	int r;

	r = virtio_pci_init(vp, vd, &host, err, err_len);
	if (r)
		return r;
	r = vm->pci ? pci_bus_add(vm->pci, &vp->pci) : -ENODEV;
	if (r) {
		snprintf(err, err_len, "%s: cannot add it to the PCI bus: %s", vd->ops->name,
			 strerror(-r));
		virtio_pci_destroy(vp);
		return r;
	}
	/* BARs the bus placed with decoding already on get their ioeventfds now; later moves come through bar_changed. */
	if (vp->pci.bars[VIRTIO_PCI_MEM_BAR].decoding)
		ioevents_place(vp, NOTIFY_MEM, vp->pci.bars[VIRTIO_PCI_MEM_BAR].addr, true);
	if (vp->pci.bars[VIRTIO_PCI_IO_BAR].decoding)
		ioevents_place(vp, NOTIFY_IO, vp->pci.bars[VIRTIO_PCI_IO_BAR].addr, true);
	return 0;
}

void virtio_pci_destroy(struct virtio_pci *vp)
{
	if (!vp->vd)
		return;
	for (unsigned int q = 0; q < VIRTIO_MAX_QUEUES; q++) {
		struct virtio_pci_kick *k = &vp->kicks[q];

		if (k->watched)
			event_loop_remove(vp->host.loop, k->fd);
		for (int kind = NOTIFY_MEM; kind <= NOTIFY_IO; kind++)
			if (k->ioevent[kind])
				ioevent_ioctl(vp, k, kind, k->ioevent_addr[kind], false);
		if (k->fd >= 0)
			close(k->fd);
		memset(k, 0, sizeof(*k));
		k->fd = -1;
	}
	if (vp->msix_ready)
		pci_msix_destroy(&vp->pci);
	vp->msix_ready = false;
	if (vp->vd->transport_priv == vp) {
		vp->vd->transport = NULL;
		vp->vd->transport_priv = NULL;
	}
	pthread_mutex_destroy(&vp->isr_lock);
	vp->vd = NULL;
}

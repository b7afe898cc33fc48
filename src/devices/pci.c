/*
 * pci: the host bridge of bus 0. See include/trapeze/devices/pci.h for the
 * model (slots, BAR rules, locking). Register names are <linux/pci_regs.h>'s;
 * section numbers are PCI Local Bus 3.0's unless marked PCIe.
 *
 * Everything the guest sends here is hostile: the configuration address it
 * latches, the offsets and widths of its accesses, the values it writes into
 * BARs and the command register. Config writes go through the function's
 * wmask and w1cmask only; BARs decode only where the rules allow.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "trapeze/arch/x86/layout.h"
#include "trapeze/devices/pci.h"

/*
 * Configuration mechanism #1 (3.2.2.3.2): CONFIG_ADDRESS 0xCF8, CONFIG_DATA
 * 0xCFC. Bits 27-24 carry register bits 11-8 as on AMD chipsets ("IO space
 * extended configuration"): Linux uses them for extended config space on
 * AMD family 10h and later (arch/x86/pci/direct.c, PCI_CONF1_EXT_ADDRESS).
 */
#define PCI_CONF1_PORT		0xcf8
#define PCI_CONF1_LEN		8
#define PCI_CONF1_ADDR_OFF	0	/* CONFIG_ADDRESS: dword accesses only */
#define PCI_CONF1_CF9_OFF	1	/* 0xCF9, the chipset's reset control */
#define PCI_CONF1_DATA_OFF	4	/* CONFIG_DATA: any width inside 0xCFC-0xCFF */
#define PCI_CONF1_ENABLE	(1u << 31)
#define PCI_CONF1_MASK		0x8ffffffcu	/* reserved bits 30-28 and 1-0 read 0 */
#define PCI_CONF1_BUS(a)	(((a) >> 16) & 0xff)
#define PCI_CONF1_DEV(a)	(((a) >> 11) & 0x1f)
#define PCI_CONF1_FN(a)		(((a) >> 8) & 0x7)
#define PCI_CONF1_REG(a)	((((a) >> 16) & 0xf00) | ((a) & 0xfc))

/* ECAM (PCIe 4.0, 7.2.2): offset = bus << 20 | device << 15 | function << 12 | register. */
#define PCI_ECAM_BUS(o)		((o) >> 20)
#define PCI_ECAM_DEV(o)		(((o) >> 15) & 0x1f)
#define PCI_ECAM_FN(o)		(((o) >> 12) & 0x7)
#define PCI_ECAM_REG(o)		((u32)(o) & 0xfff)

#define PCI_STD_CFG_SIZE	256	/* conventional space: the header and capabilities */
#define PCI_MAX_CAPS		48	/* (256 - 64) / 4: bounds a capability-list walk */

/* Command bits a function lets the guest change (6.2.2). */
#define PCI_COMMAND_WRITABLE	(PCI_COMMAND_IO | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER | \
				 PCI_COMMAND_INTX_DISABLE)
/* Status error bits, write-1-to-clear (6.2.3). */
#define PCI_STATUS_W1C		(PCI_STATUS_PARITY | PCI_STATUS_SIG_TARGET_ABORT | \
				 PCI_STATUS_REC_TARGET_ABORT | PCI_STATUS_REC_MASTER_ABORT | \
				 PCI_STATUS_SIG_SYSTEM_ERROR | PCI_STATUS_DETECTED_PARITY)
#define PCI_INTX_PIN_A		1	/* Interrupt Pin register value for INTA# */
#define PCI_BAR_IO_ADDR_MASK	((u32)PCI_BASE_ADDRESS_IO_MASK)
#define PCI_BAR_MEM_ADDR_MASK	((u32)PCI_BASE_ADDRESS_MEM_MASK)
#define PCI_MIN_IO_BAR		16
#define PCI_MIN_MEM_BAR		4096

static u16 get16(const u8 *p)
{
	return (u16)(p[0] | p[1] << 8);
}

static u32 get32(const u8 *p)
{
	return (u32)get16(p) | (u32)get16(p + 2) << 16;
}

static void put16(u8 *p, u16 v)
{
	p[0] = (u8)v;
	p[1] = (u8)(v >> 8);
}

static void put32(u8 *p, u32 v)
{
	put16(p, (u16)v);
	put16(p + 2, (u16)(v >> 16));
}

/* [a, a + alen) and [b, b + blen) share a byte (no wrap: config offsets). */
static bool ranges_meet(u32 a, u32 alen, u32 b, u32 blen)
{
	return a < b + blen && b < a + alen;
}

void pci_dev_init(struct pci_dev *d, const char *name, u16 vendor, u16 device,
		  u32 class_code, u8 revision, u16 subsys_vendor, u16 subsys_id)
{
	memset(d->cfg, 0, sizeof(d->cfg));
	memset(d->wmask, 0, sizeof(d->wmask));
	memset(d->w1cmask, 0, sizeof(d->w1cmask));
	memset(d->bars, 0, sizeof(d->bars));
	d->name = name;
	d->msix = NULL;
	d->bus = NULL;
	d->slot = 0;
	d->intx_gsi = 0;
	d->intx_level = 0;
	d->cap_next = PCI_STD_HEADER_SIZEOF;
	d->intx_disabled = false;
	d->intx_out = false;

	put16(d->cfg + PCI_VENDOR_ID, vendor);
	put16(d->cfg + PCI_DEVICE_ID, device);
	d->cfg[PCI_REVISION_ID] = revision;
	d->cfg[PCI_CLASS_PROG] = (u8)class_code;
	put16(d->cfg + PCI_CLASS_DEVICE, (u16)(class_code >> 8));
	d->cfg[PCI_HEADER_TYPE] = PCI_HEADER_TYPE_NORMAL;	/* single function */
	put16(d->cfg + PCI_SUBSYSTEM_VENDOR_ID, subsys_vendor);
	put16(d->cfg + PCI_SUBSYSTEM_ID, subsys_id);
	d->cfg[PCI_INTERRUPT_PIN] = PCI_INTX_PIN_A;

	put16(d->wmask + PCI_COMMAND, PCI_COMMAND_WRITABLE);
	put16(d->w1cmask + PCI_STATUS, PCI_STATUS_W1C);
	d->wmask[PCI_CACHE_LINE_SIZE] = 0xff;	/* Linux writes these two; */
	d->wmask[PCI_LATENCY_TIMER] = 0xff;	/* they mean nothing here */
	d->wmask[PCI_INTERRUPT_LINE] = 0xff;	/* scratch for the OS (6.2.4) */
}

/* BAR idx is in use, as a BAR or as the upper half of a 64-bit one. */
static bool pci_bar_taken(const struct pci_dev *d, unsigned int idx)
{
	return d->bars[idx].size || (idx > 0 && d->bars[idx - 1].mem64);
}

int pci_dev_add_bar(struct pci_dev *d, unsigned int idx, u64 size, bool io,
		    bool mem64, const struct bus_ops *ops, void *opaque)
{
	u32 off = PCI_BASE_ADDRESS_0 + 4 * idx;
	u64 addr_mask;

	if (idx >= PCI_NR_BARS || !ops || size == 0 || (size & (size - 1)))
		return -EINVAL;
	if (io && (mem64 || size < PCI_MIN_IO_BAR || size > X86_PCI_IO_SIZE))
		return -EINVAL;
	if (!io && (size < PCI_MIN_MEM_BAR ||
		    size > (mem64 ? X86_PCI_MMIO64_SIZE : X86_PCI_MMIO32_SIZE)))
		return -EINVAL;
	if (mem64 && idx + 1 >= PCI_NR_BARS)
		return -EINVAL;
	if (pci_bar_taken(d, idx) || (mem64 && pci_bar_taken(d, idx + 1)))
		return -EINVAL;

	d->bars[idx] = (struct pci_bar){
		.size = size, .io = io, .mem64 = mem64, .ops = ops, .opaque = opaque,
	};
	/* 6.2.5.1: the low bits say the kind; the size bits read back 0 when sized. */
	addr_mask = ~(size - 1);
	if (io) {
		put32(d->cfg + off, PCI_BASE_ADDRESS_SPACE_IO);
		put32(d->wmask + off, (u32)addr_mask & PCI_BAR_IO_ADDR_MASK);
	} else {
		put32(d->cfg + off, mem64 ? PCI_BASE_ADDRESS_MEM_TYPE_64
					  : PCI_BASE_ADDRESS_MEM_TYPE_32);
		put32(d->wmask + off, (u32)addr_mask & PCI_BAR_MEM_ADDR_MASK);
		if (mem64)
			put32(d->wmask + off + 4, (u32)(addr_mask >> 32));
	}
	return 0;
}

int pci_dev_add_cap(struct pci_dev *d, u8 cap_id, const void *body, u8 len)
{
	u32 off = ((u32)d->cap_next + 3) & ~3u;
	u8 *link = &d->cfg[PCI_CAPABILITY_LIST];
	unsigned int n = 0;

	if (len && !body)
		return -EINVAL;
	if (off < PCI_STD_HEADER_SIZEOF || off + 2 + len > PCI_STD_CFG_SIZE)
		return -ENOSPC;
	d->cfg[off] = cap_id;
	d->cfg[off + PCI_CAP_LIST_NEXT] = 0;
	if (len)
		memcpy(d->cfg + off + 2, body, len);
	while (*link && n++ < PCI_MAX_CAPS)
		link = &d->cfg[*link + PCI_CAP_LIST_NEXT];
	*link = (u8)off;
	put16(d->cfg + PCI_STATUS, get16(d->cfg + PCI_STATUS) | PCI_STATUS_CAP_LIST);
	d->cap_next = (u16)(off + 2 + len);
	return (int)off;
}

/* Takes the capability at off out of the list (its bytes stay, unreachable). */
static void pci_dev_unlink_cap(struct pci_dev *d, u8 off)
{
	u8 *link = &d->cfg[PCI_CAPABILITY_LIST];
	unsigned int n = 0;

	while (*link && n++ < PCI_MAX_CAPS) {
		if (*link == off) {
			*link = d->cfg[off + PCI_CAP_LIST_NEXT];
			break;
		}
		link = &d->cfg[*link + PCI_CAP_LIST_NEXT];
	}
	if (!d->cfg[PCI_CAPABILITY_LIST])
		put16(d->cfg + PCI_STATUS, get16(d->cfg + PCI_STATUS) & ~PCI_STATUS_CAP_LIST);
}

/* ---- INTx ---- */

/* Drives d's pin to what its state asks for; pins are shared, so count. intx_lock held. */
static void pci_intx_drive(struct pci_dev *d)
{
	struct pci_bus *pb = d->bus;
	bool out = d->intx_level && !d->intx_disabled && !pci_msix_enabled(d) &&
		   d->cfg[PCI_INTERRUPT_PIN];
	unsigned int pin = d->intx_gsi - X86_PCI_INTX_GSI_BASE;
	struct irq_line line = pb->intx;

	if (out == d->intx_out || pin >= PCI_NR_INTX_PINS)
		return;
	d->intx_out = out;
	line.gsi = d->intx_gsi;
	if (out) {
		if (pb->intx_count[pin]++ == 0)
			irq_line_set(&line, 1);
	} else if (pb->intx_count[pin] && --pb->intx_count[pin] == 0) {
		irq_line_set(&line, 0);
	}
}

void pci_dev_set_intx(struct pci_dev *d, int level)
{
	struct pci_bus *pb = d->bus;

	if (!pb) {
		__atomic_store_n(&d->intx_level, level != 0, __ATOMIC_RELAXED);
		return;
	}
	pthread_mutex_lock(&pb->intx_lock);
	__atomic_store_n(&d->intx_level, level != 0, __ATOMIC_RELAXED);
	pci_intx_drive(d);
	pthread_mutex_unlock(&pb->intx_lock);
}

/* After a command or MSI-X control write: INTx-disable may have changed. */
static void pci_intx_update(struct pci_bus *pb, struct pci_dev *d)
{
	pthread_mutex_lock(&pb->intx_lock);
	d->intx_disabled = get16(d->cfg + PCI_COMMAND) & PCI_COMMAND_INTX_DISABLE;
	pci_intx_drive(d);
	pthread_mutex_unlock(&pb->intx_lock);
}

/* ---- BAR decoding ---- */

static u64 pci_bar_reg_addr(const struct pci_dev *d, unsigned int idx)
{
	const struct pci_bar *b = &d->bars[idx];
	u32 off = PCI_BASE_ADDRESS_0 + 4 * idx;
	u32 lo = get32(d->cfg + off);

	if (b->io)
		return lo & PCI_BAR_IO_ADDR_MASK;
	if (b->mem64)
		return (u64)get32(d->cfg + off + 4) << 32 | (lo & PCI_BAR_MEM_ADDR_MASK);
	return lo & PCI_BAR_MEM_ADDR_MASK;
}

/* [addr, addr + size) lies wholly inside w (without wrapping). */
static bool pci_window_holds(const struct pci_window *w, u64 addr, u64 size)
{
	return w->size && size <= w->size && addr >= w->base && addr - w->base <= w->size - size;
}

/* Where a BAR may decode: aligned, inside a claimed window of its kind. */
static bool pci_bar_placeable(const struct pci_bus *pb, const struct pci_bar *b, u64 addr)
{
	if (addr & (b->size - 1))
		return false;
	if (b->io)
		return pb->io_win.claimed && pci_window_holds(&pb->io_win, addr, b->size);
	if (pb->mmio32_win.claimed && pci_window_holds(&pb->mmio32_win, addr, b->size))
		return true;
	return b->mem64 && pb->mmio64_win.claimed &&
	       pci_window_holds(&pb->mmio64_win, addr, b->size);
}

/* Another decoding BAR of the same space shares a byte with [addr, addr + size). */
static bool pci_bar_collides(const struct pci_bus *pb, const struct pci_bar *self, u64 addr)
{
	for (unsigned int s = 0; s < PCI_MAX_SLOTS; s++) {
		const struct pci_dev *d = pb->devs[s];

		for (unsigned int i = 0; d && i < PCI_NR_BARS; i++) {
			const struct pci_bar *b = &d->bars[i];

			if (b == self || !b->size || !b->decoding || b->io != self->io)
				continue;
			if (addr < b->addr + b->size && b->addr < addr + self->size)
				return true;
		}
	}
	return false;
}

/*
 * Recomputes where d's BARs decode after a write to its command register or
 * BARs, in BAR order, and tells the device. pb->lock held exclusively.
 */
static void pci_update_bars(struct pci_bus *pb, struct pci_dev *d)
{
	u16 cmd = get16(d->cfg + PCI_COMMAND);

	for (unsigned int idx = 0; idx < PCI_NR_BARS; idx++) {
		struct pci_bar *b = &d->bars[idx];
		u64 addr, old;
		bool on, dec, was;

		if (!b->size)
			continue;
		addr = pci_bar_reg_addr(d, idx);
		on = cmd & (b->io ? PCI_COMMAND_IO : PCI_COMMAND_MEMORY);
		dec = on && pci_bar_placeable(pb, b, addr) && !pci_bar_collides(pb, b, addr);
		if (on && !dec && !pb->logged_bar_refused) {
			pb->logged_bar_refused = true;
			fprintf(stderr, "trapeze: pci: %s BAR %u at 0x%llx (0x%llx bytes) is outside "
				"the PCI windows or overlaps another BAR: not decoding "
				"(reported once)\n", d->name ? d->name : "?", idx,
				(unsigned long long)addr, (unsigned long long)b->size);
		}
		old = b->addr;
		was = b->decoding;
		b->addr = addr;
		b->decoding = dec;
		if ((was || dec) && (old != addr || was != dec) && d->ops && d->ops->bar_changed)
			d->ops->bar_changed(d, idx, old, addr, dec);
	}
}

/* The decoding BAR that wholly holds [addr, addr + len) in this space. Lock held. */
static const struct pci_bar *pci_find_bar(const struct pci_bus *pb, bool io, u64 addr, u32 len)
{
	for (unsigned int s = 0; s < PCI_MAX_SLOTS; s++) {
		const struct pci_dev *d = pb->devs[s];

		for (unsigned int i = 0; d && i < PCI_NR_BARS; i++) {
			const struct pci_bar *b = &d->bars[i];

			if (b->decoding && b->io == io && len <= b->size && addr >= b->addr &&
			    addr - b->addr <= b->size - len)
				return b;
		}
	}
	return NULL;
}

static void pci_window_access(struct pci_window *w, u64 offset, void *data, u32 len,
			      bool write)
{
	struct pci_bus *pb = w->pb;
	u64 addr = w->base + offset;
	const struct pci_bar *b;

	pthread_rwlock_rdlock(&pb->lock);
	b = pci_find_bar(pb, w->io, addr, len);
	if (write) {
		if (b && b->ops->write)
			b->ops->write(b->opaque, addr - b->addr, data, len);
	} else if (b && b->ops->read) {
		b->ops->read(b->opaque, addr - b->addr, data, len);
	} else {
		memset(data, 0xff, len);	/* nothing decodes here: master abort */
	}
	pthread_rwlock_unlock(&pb->lock);
}

static void pci_window_read(void *dev, u64 offset, void *data, u32 len)
{
	pci_window_access(dev, offset, data, len, false);
}

static void pci_window_write(void *dev, u64 offset, const void *data, u32 len)
{
	pci_window_access(dev, offset, (void *)data, len, true);
}

static const struct bus_ops pci_window_ops = {
	.read = pci_window_read,
	.write = pci_window_write,
};

static int pci_window_claim(struct pci_window *w)
{
	struct pci_bus *pb = w->pb;
	int r;

	if (w->claimed || !w->size)
		return 0;
	r = bus_register(w->io ? pb->pio : pb->mmio, w->base, w->size, &pci_window_ops, w,
			 w->name);
	if (!r)
		w->claimed = true;
	return r;
}

/* ---- configuration space ---- */

static struct pci_dev *pci_lookup(struct pci_bus *pb, u32 bus, u32 slot, u32 fn)
{
	/* Bus 0 only; every function is single-function: 1-7 are absent. */
	if (bus != 0 || fn != 0 || slot >= PCI_MAX_SLOTS)
		return NULL;
	return pb->devs[slot];
}

/* off + len <= PCI_CFG_SIZE, checked by the callers. */
static void pci_config_read(struct pci_bus *pb, u32 bus, u32 slot, u32 fn, u32 off,
			    u8 *out, u32 len)
{
	struct pci_dev *d;

	pthread_rwlock_rdlock(&pb->lock);
	d = pci_lookup(pb, bus, slot, fn);
	if (!d) {
		memset(out, 0xff, len);	/* no function: vendor ID 0xFFFF */
	} else {
		memcpy(out, d->cfg + off, len);
		/* Interrupt Status follows the function's INTx state (6.2.3). */
		if (ranges_meet(off, len, PCI_STATUS, 1) &&
		    __atomic_load_n(&d->intx_level, __ATOMIC_RELAXED))
			out[PCI_STATUS - off] |= PCI_STATUS_INTERRUPT;
	}
	pthread_rwlock_unlock(&pb->lock);
}

static void pci_config_write(struct pci_bus *pb, u32 bus, u32 slot, u32 fn, u32 off,
			     const u8 *in, u32 len)
{
	struct pci_dev *d;
	u8 msix;

	pthread_rwlock_wrlock(&pb->lock);
	d = pci_lookup(pb, bus, slot, fn);
	if (!d)
		goto out_unlock;
	for (u32 i = 0; i < len; i++) {
		u32 o = off + i;
		u8 v = (u8)((d->cfg[o] & ~d->wmask[o]) | (in[i] & d->wmask[o]));

		d->cfg[o] = v & (u8)~(in[i] & d->w1cmask[o]);
	}
	if (ranges_meet(off, len, PCI_COMMAND, 2) ||
	    ranges_meet(off, len, PCI_BASE_ADDRESS_0, 4 * PCI_NR_BARS))
		pci_update_bars(pb, d);
	msix = pci_msix_cap_offset(d);
	if (msix && ranges_meet(off, len, msix + PCI_MSIX_FLAGS, 2))
		pci_msix_config_written(d);
	if (ranges_meet(off, len, PCI_COMMAND, 2) ||
	    (msix && ranges_meet(off, len, msix + PCI_MSIX_FLAGS, 2)))
		pci_intx_update(pb, d);
	if (d->ops && d->ops->config_written)
		d->ops->config_written(d, off, len);
out_unlock:
	pthread_rwlock_unlock(&pb->lock);
}

/* ECAM: naturally aligned 1, 2 or 4 bytes inside one function's 4 KiB. */
static bool pci_ecam_ok(u64 offset, u32 len)
{
	return (len == 1 || len == 2 || len == 4) && (offset & (len - 1)) == 0;
}

static void pci_ecam_read(void *dev, u64 offset, void *data, u32 len)
{
	if (!pci_ecam_ok(offset, len)) {
		memset(data, 0xff, len);
		return;
	}
	pci_config_read(dev, (u32)PCI_ECAM_BUS(offset), PCI_ECAM_DEV(offset),
			PCI_ECAM_FN(offset), PCI_ECAM_REG(offset), data, len);
}

static void pci_ecam_write(void *dev, u64 offset, const void *data, u32 len)
{
	if (!pci_ecam_ok(offset, len))
		return;
	pci_config_write(dev, (u32)PCI_ECAM_BUS(offset), PCI_ECAM_DEV(offset),
			 PCI_ECAM_FN(offset), PCI_ECAM_REG(offset), data, len);
}

static const struct bus_ops pci_ecam_ops = {
	.read = pci_ecam_read,
	.write = pci_ecam_write,
};

/*
 * 0xCF8-0xCFF: CONFIG_ADDRESS takes dword accesses only (a byte at 0xCF8 or
 * 0xCFB is not the latch: Linux's type-1 probe writes 0xCFB and expects the
 * latch unchanged); CONFIG_DATA takes any access that stays in its dword.
 */
static void pci_conf1_read(void *dev, u64 offset, void *data, u32 len)
{
	struct pci_bus *pb = dev;
	u32 a = __atomic_load_n(&pb->config_address, __ATOMIC_RELAXED);

	if (offset == PCI_CONF1_ADDR_OFF && len == 4) {
		memcpy(data, &a, 4);
	} else if (offset == PCI_CONF1_CF9_OFF && len == 1 && pb->cf9_ops &&
		   pb->cf9_ops->read) {
		pb->cf9_ops->read(pb->cf9_dev, offset, data, len);
	} else if (offset >= PCI_CONF1_DATA_OFF && offset - PCI_CONF1_DATA_OFF + len <= 4 &&
		   (a & PCI_CONF1_ENABLE)) {
		pci_config_read(pb, PCI_CONF1_BUS(a), PCI_CONF1_DEV(a), PCI_CONF1_FN(a),
				PCI_CONF1_REG(a) + (u32)(offset - PCI_CONF1_DATA_OFF), data, len);
	} else {
		memset(data, 0xff, len);
	}
}

static void pci_conf1_write(void *dev, u64 offset, const void *data, u32 len)
{
	struct pci_bus *pb = dev;
	u32 a = __atomic_load_n(&pb->config_address, __ATOMIC_RELAXED);

	if (offset == PCI_CONF1_ADDR_OFF && len == 4) {
		u32 v;

		memcpy(&v, data, 4);
		__atomic_store_n(&pb->config_address, v & PCI_CONF1_MASK, __ATOMIC_RELAXED);
	} else if (offset == PCI_CONF1_CF9_OFF && len == 1) {
		if (pb->cf9_ops && pb->cf9_ops->write)
			pb->cf9_ops->write(pb->cf9_dev, offset, data, len);
	} else if (offset >= PCI_CONF1_DATA_OFF && offset - PCI_CONF1_DATA_OFF + len <= 4 &&
		   (a & PCI_CONF1_ENABLE)) {
		pci_config_write(pb, PCI_CONF1_BUS(a), PCI_CONF1_DEV(a), PCI_CONF1_FN(a),
				 PCI_CONF1_REG(a) + (u32)(offset - PCI_CONF1_DATA_OFF), data, len);
	}
}

static const struct bus_ops pci_conf1_ops = {
	.read = pci_conf1_read,
	.write = pci_conf1_write,
};

/* ---- the bus ---- */

static void pci_window_init(struct pci_window *w, struct pci_bus *pb, const char *name,
			    u64 base, u64 size, bool io)
{
	*w = (struct pci_window){ .pb = pb, .name = name, .base = base, .size = size, .io = io };
}

static void pci_host_bridge_init(struct pci_bus *pb)
{
	struct pci_dev *h = &pb->host;

	pci_dev_init(h, "host-bridge", PCI_HOST_BRIDGE_VENDOR, PCI_HOST_BRIDGE_DEVICE,
		     PCI_HOST_BRIDGE_CLASS, 0, 0, 0);
	h->cfg[PCI_INTERRUPT_PIN] = 0;		/* no INTx */
	h->wmask[PCI_INTERRUPT_LINE] = 0;
	h->bus = pb;
	h->slot = 0;
	pb->devs[0] = h;
}

int pci_bus_init(struct pci_bus *pb, struct bus *pio, struct bus *mmio,
		 struct irq_line intx, struct msi_router *msi,
		 const struct bus_ops *cf9_ops, void *cf9_dev)
{
	pthread_rwlockattr_t attr;
	int r;

	memset(pb, 0, sizeof(*pb));
	pb->pio = pio;
	pb->mmio = mmio;
	pb->intx = intx;
	pb->msi = msi;
	pb->cf9_ops = cf9_ops;
	pb->cf9_dev = cf9_dev;
	pci_window_init(&pb->io_win, pb, "pci-io", X86_PCI_IO_BASE, X86_PCI_IO_SIZE, true);
	pci_window_init(&pb->mmio32_win, pb, "pci-mmio32", X86_PCI_MMIO32_BASE,
			X86_PCI_MMIO32_SIZE, false);
	pci_window_init(&pb->mmio64_win, pb, "pci-mmio64", X86_PCI_MMIO64_BASE,
			X86_PCI_MMIO64_SIZE, false);
	pb->io_next = X86_PCI_IO_BASE;
	pb->mmio32_next = X86_PCI_MMIO32_BASE;
	pb->mmio64_next = X86_PCI_MMIO64_BASE;

	/* Writer-preferring: a config write is not starved by a stream of BAR accesses. */
	pthread_rwlockattr_init(&attr);
	pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
	r = pthread_rwlock_init(&pb->lock, &attr);
	pthread_rwlockattr_destroy(&attr);
	if (r)
		return -r;
	pthread_mutex_init(&pb->intx_lock, NULL);
	pci_host_bridge_init(pb);

	r = bus_register(pio, PCI_CONF1_PORT, PCI_CONF1_LEN, &pci_conf1_ops, pb, "pci-config");
	if (!r)
		r = bus_register(mmio, X86_PCI_ECAM_BASE, X86_PCI_ECAM_SIZE, &pci_ecam_ops, pb,
				 "pci-ecam");
	if (r) {
		pthread_mutex_destroy(&pb->intx_lock);
		pthread_rwlock_destroy(&pb->lock);
		return r;
	}
	return 0;
}

void pci_bus_destroy(struct pci_bus *pb)
{
	for (unsigned int s = PCI_FIRST_DEV_SLOT; s < PCI_MAX_SLOTS; s++) {
		struct pci_dev *d = pb->devs[s];

		if (d && d->msix)
			pci_msix_detach(d);
	}
	pthread_mutex_destroy(&pb->intx_lock);
	pthread_rwlock_destroy(&pb->lock);
}

void pci_bus_limit_phys_bits(struct pci_bus *pb, unsigned int phys_bits)
{
	struct pci_window *w = &pb->mmio64_win;

	if (phys_bits >= 64 || w->claimed)
		return;
	if (w->base >= (1ULL << phys_bits) || w->size > (1ULL << phys_bits) - w->base)
		w->size = 0;
}

static u64 align_up(u64 v, u64 align)
{
	return (v + align - 1) & ~(align - 1);
}

/* Where each of d's BARs goes, from the cursors. 0 or -ENOSPC. Lock held. */
static int pci_place_bars(struct pci_bus *pb, struct pci_dev *d, u64 addrs[PCI_NR_BARS],
			  u64 *io_next, u64 *m32_next, u64 *m64_next)
{
	for (unsigned int i = 0; i < PCI_NR_BARS; i++) {
		const struct pci_bar *b = &d->bars[i];
		const struct pci_window *w;
		u64 *cursor;

		if (!b->size)
			continue;
		if (b->io) {
			w = &pb->io_win;
			cursor = io_next;
		} else if (b->mem64 && pb->mmio64_win.size) {
			w = &pb->mmio64_win;
			cursor = m64_next;
		} else {
			w = &pb->mmio32_win;
			cursor = m32_next;
		}
		addrs[i] = align_up(*cursor, b->size);
		if (addrs[i] < *cursor || !pci_window_holds(w, addrs[i], b->size))
			return -ENOSPC;
		*cursor = addrs[i] + b->size;
	}
	return 0;
}

/* Writes addr into BAR i's register(s), keeping the read-only kind bits. */
static void pci_set_bar_reg(struct pci_dev *d, unsigned int i, u64 addr)
{
	u32 off = PCI_BASE_ADDRESS_0 + 4 * i;
	u32 m = get32(d->wmask + off);

	put32(d->cfg + off, (get32(d->cfg + off) & ~m) | ((u32)addr & m));
	if (d->bars[i].mem64) {
		m = get32(d->wmask + off + 4);
		put32(d->cfg + off + 4, (get32(d->cfg + off + 4) & ~m) | ((u32)(addr >> 32) & m));
	}
}

static int pci_claim_windows(struct pci_bus *pb, const struct pci_dev *d)
{
	bool io = false, mem = false;
	int r = 0;

	for (unsigned int i = 0; i < PCI_NR_BARS; i++) {
		io |= d->bars[i].size && d->bars[i].io;
		mem |= d->bars[i].size && !d->bars[i].io;
	}
	if (io)
		r = pci_window_claim(&pb->io_win);
	/* Both memory windows: a 64-bit BAR may be moved into either. */
	if (!r && mem)
		r = pci_window_claim(&pb->mmio32_win);
	if (!r && mem)
		r = pci_window_claim(&pb->mmio64_win);
	return r;
}

int pci_bus_add(struct pci_bus *pb, struct pci_dev *d)
{
	u64 addrs[PCI_NR_BARS] = { 0 };
	u64 io_next = pb->io_next, m32_next = pb->mmio32_next, m64_next = pb->mmio64_next;
	unsigned int slot;
	int r;

	pthread_rwlock_wrlock(&pb->lock);
	if (d->bus) {
		r = -EINVAL;
		goto out_unlock;
	}
	for (slot = PCI_FIRST_DEV_SLOT; slot < PCI_MAX_SLOTS && pb->devs[slot]; slot++)
		;
	r = slot < PCI_MAX_SLOTS ? 0 : -ENOSPC;
	if (!r)
		r = pci_place_bars(pb, d, addrs, &io_next, &m32_next, &m64_next);
	if (!r)
		r = pci_claim_windows(pb, d);
	if (r)
		goto out_unlock;

	d->slot = (u8)slot;
	d->intx_gsi = X86_PCI_INTX_GSI_BASE + pci_intx_swizzle(slot, 0);
	d->cfg[PCI_INTERRUPT_LINE] = (u8)d->intx_gsi;	/* what firmware would leave */
	d->intx_disabled = get16(d->cfg + PCI_COMMAND) & PCI_COMMAND_INTX_DISABLE;
	d->intx_out = false;
	if (d->msix) {
		if (pb->msi) {
			r = pci_msix_attach(d, pb->msi);
			if (r)
				goto out_unlock;
		} else {
			u8 cap = pci_msix_cap_offset(d);

			/* No MSI delivery on this host: offer none. */
			pci_dev_unlink_cap(d, cap);
			d->wmask[cap + PCI_MSIX_FLAGS + 1] = 0;
		}
	}
	for (unsigned int i = 0; i < PCI_NR_BARS; i++) {
		if (!d->bars[i].size)
			continue;
		pci_set_bar_reg(d, i, addrs[i]);
		d->bars[i].addr = addrs[i];
		d->bars[i].decoding = false;
	}
	pb->io_next = io_next;
	pb->mmio32_next = m32_next;
	pb->mmio64_next = m64_next;
	d->bus = pb;
	pb->devs[slot] = d;
	/* Decoding and INTx as the command register says (0 after pci_dev_init: off). */
	pci_update_bars(pb, d);
	pci_intx_update(pb, d);
out_unlock:
	pthread_rwlock_unlock(&pb->lock);
	return r;
}

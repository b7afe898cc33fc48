/*
 * Unit tests for the PCI host bridge (devices/pci.c) on two plain struct bus
 * instances, the way a guest sees it: configuration space through 0xCF8/0xCFC
 * (dwords, bytes and words) and through ECAM, the host bridge in slot 0 and
 * absent slots and functions, wmask/W1C write semantics, BAR sizing and
 * placement, decode enable, BAR moves (good, masked to alignment, outside the
 * windows, overlapping another BAR), the 0xCF9 hand-off, INTx with its
 * disable bit and pin sharing, and capability lists. Register offsets are
 * written out from the PCI 3.0 specification, not taken from pci.c.
 */
#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "trapeze/arch/x86/layout.h"
#include "trapeze/bus.h"
#include "trapeze/devices/pci.h"

#define CF8 0xcf8
#define CFC 0xcfc
#define ECAM X86_PCI_ECAM_BASE

/* Config header offsets (PCI 3.0, 6.1). */
#define R_VENDOR 0x00
#define R_DEVICE 0x02
#define R_COMMAND 0x04
#define R_STATUS 0x06
#define R_CLASS 0x08	/* revision in the low byte */
#define R_HEADER 0x0e
#define R_BAR0 0x10
#define R_ROM 0x30
#define R_CAP 0x34
#define R_INT_LINE 0x3c
#define R_INT_PIN 0x3d

struct fake_fn {
	struct pci_dev pci;
	int reads, writes;
	u64 last_offset;
	u32 last_len;
	u32 last_value;
	unsigned int nr_changes;	/* bar_changed calls */
	unsigned int chg_idx;
	u64 chg_old, chg_new;
	bool chg_dec;
	u32 written_off, written_len;	/* last config_written */
	int nr_written;
};

static void fn_read(void *opaque, u64 offset, void *data, u32 len)
{
	struct fake_fn *f = opaque;

	f->reads++;
	f->last_offset = offset;
	f->last_len = len;
	memset(data, 0x5a, len);
}

static void fn_write(void *opaque, u64 offset, const void *data, u32 len)
{
	struct fake_fn *f = opaque;

	f->writes++;
	f->last_offset = offset;
	f->last_len = len;
	f->last_value = 0;
	memcpy(&f->last_value, data, len < 4 ? len : 4);
}

static const struct bus_ops fn_ops = { .read = fn_read, .write = fn_write };

static void fn_bar_changed(struct pci_dev *d, unsigned int idx, u64 old, u64 new_addr,
			   bool decoding)
{
	struct fake_fn *f = (struct fake_fn *)d;

	f->nr_changes++;
	f->chg_idx = idx;
	f->chg_old = old;
	f->chg_new = new_addr;
	f->chg_dec = decoding;
}

static void fn_config_written(struct pci_dev *d, u32 off, u32 len)
{
	struct fake_fn *f = (struct fake_fn *)d;

	f->nr_written++;
	f->written_off = off;
	f->written_len = len;
}

static const struct pci_dev_ops fn_dev_ops = {
	.config_written = fn_config_written,
	.bar_changed = fn_bar_changed,
};

/* INTx recorder. */
struct intx_log {
	int n;
	u32 gsi[32];
	int level[32];
};

static void intx_record(void *opaque, u32 gsi, int level)
{
	struct intx_log *l = opaque;

	if (l->n < 32) {
		l->gsi[l->n] = gsi;
		l->level[l->n] = level;
	}
	l->n++;
}

/* 0xCF9 recorder. */
struct cf9_log {
	int reads, writes;
	u64 offset;
	u8 value;
};

static void cf9_read(void *opaque, u64 offset, void *data, u32 len)
{
	struct cf9_log *c = opaque;

	c->reads++;
	c->offset = offset;
	memset(data, 0x42, len);
}

static void cf9_write(void *opaque, u64 offset, const void *data, u32 len)
{
	struct cf9_log *c = opaque;

	(void)len;
	c->writes++;
	c->offset = offset;
	c->value = *(const u8 *)data;
}

static const struct bus_ops cf9_ops = { .read = cf9_read, .write = cf9_write };

static struct bus pio, mmio;
static struct pci_bus pb;
static struct intx_log intx;
static struct cf9_log cf9;
static struct fake_fn fns[PCI_MAX_SLOTS];

static void setup(void)
{
	struct irq_line line = { .set = intx_record, .opaque = &intx, .gsi = 0 };

	memset(&intx, 0, sizeof(intx));
	memset(&cf9, 0, sizeof(cf9));
	memset(fns, 0, sizeof(fns));
	ck_assert_int_eq(bus_init(&pio, "pio"), 0);
	ck_assert_int_eq(bus_init(&mmio, "mmio"), 0);
	pio.quiet = mmio.quiet = true;
	ck_assert_int_eq(pci_bus_init(&pb, &pio, &mmio, line, NULL, &cf9_ops, &cf9), 0);
}

static void teardown(void)
{
	pci_bus_destroy(&pb);
	bus_destroy(&mmio);
	bus_destroy(&pio);
}

/* A function with vendor 0x1234, device 0x10 + i, class 0xff0000. */
static struct fake_fn *make_fn(unsigned int i)
{
	struct fake_fn *f = &fns[i];

	pci_dev_init(&f->pci, "fake", 0x1234, (u16)(0x10 + i), 0xff0000, 3, 0x5678, 0x9a);
	f->pci.ops = &fn_dev_ops;
	f->pci.opaque = f;
	return f;
}

/* A function with BAR 0 (16 KiB memory), BAR 1 (32 ports), BAR 2-3 (64-bit, 1 MiB). */
static struct fake_fn *make_fn_bars(unsigned int i)
{
	struct fake_fn *f = make_fn(i);

	ck_assert_int_eq(pci_dev_add_bar(&f->pci, 0, 0x4000, false, false, &fn_ops, f), 0);
	ck_assert_int_eq(pci_dev_add_bar(&f->pci, 1, 32, true, false, &fn_ops, f), 0);
	ck_assert_int_eq(pci_dev_add_bar(&f->pci, 2, 0x100000, false, true, &fn_ops, f), 0);
	return f;
}

static u32 conf1_addr(u32 bus, u32 slot, u32 fn, u32 reg)
{
	return 0x80000000u | bus << 16 | slot << 11 | fn << 8 | (reg & 0xfc);
}

static u32 cfg_read(u32 slot, u32 reg, u32 len)
{
	u32 a = conf1_addr(0, slot, 0, reg), v = 0;

	bus_write(&pio, CF8, &a, 4);
	bus_read(&pio, CFC + (reg & 3), &v, len);
	return v;
}

static void cfg_write(u32 slot, u32 reg, u32 v, u32 len)
{
	u32 a = conf1_addr(0, slot, 0, reg);

	bus_write(&pio, CF8, &a, 4);
	bus_write(&pio, CFC + (reg & 3), &v, len);
}

static u32 ecam_read(u32 slot, u32 fn, u32 reg, u32 len)
{
	u32 v = 0;

	bus_read(&mmio, ECAM + ((u64)slot << 15 | fn << 12 | reg), &v, len);
	return v;
}

static void ecam_write(u32 slot, u32 fn, u32 reg, u32 v, u32 len)
{
	bus_write(&mmio, ECAM + ((u64)slot << 15 | fn << 12 | reg), &v, len);
}

static u32 mmio_read32(u64 addr)
{
	u32 v = 0;

	bus_read(&mmio, addr, &v, 4);
	return v;
}

static u8 pio_read8(u64 port)
{
	u8 v = 0;

	bus_read(&pio, port, &v, 1);
	return v;
}

START_TEST(test_host_bridge_slot0)
{
	ck_assert_uint_eq(cfg_read(0, R_VENDOR, 2), PCI_HOST_BRIDGE_VENDOR);
	ck_assert_uint_eq(cfg_read(0, R_DEVICE, 2), PCI_HOST_BRIDGE_DEVICE);
	/* Class 06/00/00 (host bridge), header type 0, no interrupt pin. */
	ck_assert_uint_eq(cfg_read(0, R_CLASS, 4) >> 8, 0x060000);
	ck_assert_uint_eq(cfg_read(0, R_HEADER, 1), 0);
	ck_assert_uint_eq(cfg_read(0, R_INT_PIN, 1), 0);
	/* The same through ECAM. */
	ck_assert_uint_eq(ecam_read(0, 0, R_VENDOR, 4),
			  PCI_HOST_BRIDGE_DEVICE << 16 | PCI_HOST_BRIDGE_VENDOR);
}
END_TEST

START_TEST(test_absent_slots_and_functions)
{
	u32 a, v;

	make_fn(1);
	ck_assert_int_eq(pci_bus_add(&pb, &fns[1].pci), 0);
	for (u32 slot = 2; slot < PCI_MAX_SLOTS; slot++) {
		ck_assert_uint_eq(cfg_read(slot, R_VENDOR, 4), 0xffffffffu);
		ck_assert_uint_eq(cfg_read(slot, R_VENDOR, 2), 0xffff);
		ck_assert_uint_eq(ecam_read(slot, 0, R_VENDOR, 2), 0xffff);
	}
	/* Functions 1-7 of a present device, and bus 1, are absent. */
	for (u32 fn = 1; fn < 8; fn++) {
		a = conf1_addr(0, 1, fn, 0);
		bus_write(&pio, CF8, &a, 4);
		bus_read(&pio, CFC, &v, 4);
		ck_assert_uint_eq(v, 0xffffffffu);
		ck_assert_uint_eq(ecam_read(1, fn, R_VENDOR, 4), 0xffffffffu);
		ck_assert_uint_eq(ecam_read(1, fn, 0xffc, 4), 0xffffffffu);
	}
	a = conf1_addr(1, 1, 0, 0);
	bus_write(&pio, CF8, &a, 4);
	bus_read(&pio, CFC, &v, 4);
	ck_assert_uint_eq(v, 0xffffffffu);
	/* Enable bit clear: CONFIG_DATA reads all-ones, writes go nowhere. */
	a = conf1_addr(0, 1, 0, R_COMMAND) & ~0x80000000u;
	bus_write(&pio, CF8, &a, 4);
	bus_read(&pio, CFC, &v, 4);
	ck_assert_uint_eq(v, 0xffffffffu);
	v = 0x7;
	bus_write(&pio, CFC, &v, 2);
	ck_assert_uint_eq(cfg_read(1, R_COMMAND, 2), 0);
	/* Writes to an absent slot change nothing anywhere. */
	cfg_write(5, R_COMMAND, 0x7, 2);
	ck_assert_uint_eq(cfg_read(5, R_COMMAND, 2), 0xffff);
	ck_assert_uint_eq(cfg_read(1, R_COMMAND, 2), 0);
}
END_TEST

START_TEST(test_config_address_latch)
{
	u32 v = 0x80000000u, r = 0;
	u8 b = 0x01;

	bus_write(&pio, CF8, &v, 4);
	bus_read(&pio, CF8, &r, 4);
	ck_assert_uint_eq(r, 0x80000000u);
	/* Linux's type-1 probe: a byte at 0xCFB is not the latch. */
	bus_write(&pio, CF8 + 3, &b, 1);
	bus_read(&pio, CF8, &r, 4);
	ck_assert_uint_eq(r, 0x80000000u);
	/* Reserved bits 30-28 and 1-0 read 0 (27-24: AMD's extended register bits). */
	v = 0xffffffffu;
	bus_write(&pio, CF8, &v, 4);
	bus_read(&pio, CF8, &r, 4);
	ck_assert_uint_eq(r, 0x8ffffffcu);
	/* Byte and word reads of the latch's ports are not the latch. */
	ck_assert_uint_eq(pio_read8(CF8), 0xff);
	r = 0;
	bus_read(&pio, CF8 + 2, &r, 2);
	ck_assert_uint_eq(r, 0xffff);
	ck_assert_int_eq(cf9.reads, 0);
}
END_TEST

START_TEST(test_cf9_forwarded)
{
	u8 v = 0x06;
	u16 w = 0x0606;

	ck_assert_uint_eq(pio_read8(0xcf9), 0x42);
	ck_assert_int_eq(cf9.reads, 1);
	ck_assert_uint_eq(cf9.offset, 1);
	bus_write(&pio, 0xcf9, &v, 1);
	ck_assert_int_eq(cf9.writes, 1);
	ck_assert_uint_eq(cf9.offset, 1);
	ck_assert_uint_eq(cf9.value, 0x06);
	/* Only byte accesses reach it. */
	bus_write(&pio, 0xcf9, &w, 2);
	ck_assert_int_eq(cf9.writes, 1);
}
END_TEST

START_TEST(test_conf1_byte_and_word)
{
	make_fn(1);
	ck_assert_int_eq(pci_bus_add(&pb, &fns[1].pci), 0);
	ck_assert_uint_eq(cfg_read(1, R_VENDOR, 4), 0x00111234u);
	ck_assert_uint_eq(cfg_read(1, R_VENDOR, 1), 0x34);
	ck_assert_uint_eq(cfg_read(1, R_VENDOR + 1, 1), 0x12);
	ck_assert_uint_eq(cfg_read(1, R_DEVICE, 2), 0x0011);
	ck_assert_uint_eq(cfg_read(1, R_DEVICE + 1, 1), 0x00);
	/* A word at 0xCFD: bytes 1-2 of the dword. */
	ck_assert_uint_eq(cfg_read(1, R_VENDOR + 1, 2), 0x1112);
	/* Revision, class, subsystem. */
	ck_assert_uint_eq(cfg_read(1, R_CLASS, 4), 0xff000003u);
	ck_assert_uint_eq(cfg_read(1, 0x2c, 4), 0x009a5678u);
	/* A byte write through 0xCFC+1 lands on register 0x3D? No: 0x3C's dword, byte 0. */
	cfg_write(1, R_INT_LINE, 0x0b, 1);
	ck_assert_uint_eq(cfg_read(1, R_INT_LINE, 1), 0x0b);
	ck_assert_uint_eq(cfg_read(1, R_INT_PIN, 1), 1);	/* INTA#, read-only */
	cfg_write(1, R_INT_PIN, 0x04, 1);
	ck_assert_uint_eq(cfg_read(1, R_INT_PIN, 1), 1);
	/* ECAM sees the same bytes. */
	ck_assert_uint_eq(ecam_read(1, 0, R_INT_LINE, 1), 0x0b);
	ck_assert_uint_eq(ecam_read(1, 0, R_CLASS, 4), 0xff000003u);
}
END_TEST

START_TEST(test_write_masks)
{
	struct fake_fn *f = make_fn(1);

	ck_assert_int_eq(pci_bus_add(&pb, &f->pci), 0);
	/* IDs and class are read-only. */
	cfg_write(1, R_VENDOR, 0xffffffffu, 4);
	ck_assert_uint_eq(cfg_read(1, R_VENDOR, 4), 0x00111234u);
	cfg_write(1, R_CLASS, 0, 4);
	ck_assert_uint_eq(cfg_read(1, R_CLASS, 4), 0xff000003u);
	/* Command: only I/O, memory, bus master and INTx-disable stick. */
	cfg_write(1, R_COMMAND, 0xffff, 2);
	ck_assert_uint_eq(cfg_read(1, R_COMMAND, 2), 0x0407);
	cfg_write(1, R_COMMAND, 0, 2);
	ck_assert_uint_eq(cfg_read(1, R_COMMAND, 2), 0);
	/* Status error bits are write-1-to-clear; others ignore writes. */
	f->pci.cfg[R_STATUS + 1] = 0xa0;	/* received master abort, detected parity */
	cfg_write(1, R_STATUS, 0x2000u, 2);
	ck_assert_uint_eq(cfg_read(1, R_STATUS, 2), 0x8000);
	cfg_write(1, R_STATUS, 0x0000, 2);
	ck_assert_uint_eq(cfg_read(1, R_STATUS, 2), 0x8000);
	cfg_write(1, R_STATUS, 0xffff, 2);
	ck_assert_uint_eq(cfg_read(1, R_STATUS, 2), 0);
	/* A dword write at 0x04 touches both; the callback sees the write. */
	cfg_write(1, R_COMMAND, 0xffff0002u, 4);
	ck_assert_uint_eq(cfg_read(1, R_COMMAND, 4), 0x00000002u);
	ck_assert_int_ge(f->nr_written, 1);
	ck_assert_uint_eq(f->written_off, R_COMMAND);
	ck_assert_uint_eq(f->written_len, 4);
	/* Through ECAM as well. */
	ecam_write(1, 0, R_COMMAND, 0x0001, 2);
	ck_assert_uint_eq(cfg_read(1, R_COMMAND, 2), 0x0001);
}
END_TEST

START_TEST(test_bar_sizing)
{
	struct fake_fn *f = make_fn_bars(1);

	ck_assert_int_eq(pci_bus_add(&pb, &f->pci), 0);
	/* 32-bit memory, 16 KiB: size bits, type 0 (32-bit, not prefetchable). */
	cfg_write(1, R_BAR0, 0xffffffffu, 4);
	ck_assert_uint_eq(cfg_read(1, R_BAR0, 4), 0xffffc000u);
	/* I/O, 32 ports: bit 0 set. */
	cfg_write(1, R_BAR0 + 4, 0xffffffffu, 4);
	ck_assert_uint_eq(cfg_read(1, R_BAR0 + 4, 4), 0xffffffe1u);
	/* 64-bit memory, 1 MiB: type bits 10b, upper half all size bits. */
	cfg_write(1, R_BAR0 + 8, 0xffffffffu, 4);
	cfg_write(1, R_BAR0 + 12, 0xffffffffu, 4);
	ck_assert_uint_eq(cfg_read(1, R_BAR0 + 8, 4), 0xfff00004u);
	ck_assert_uint_eq(cfg_read(1, R_BAR0 + 12, 4), 0xffffffffu);
	/* Unused BARs and the expansion ROM read 0 when sized. */
	cfg_write(1, R_BAR0 + 16, 0xffffffffu, 4);
	cfg_write(1, R_BAR0 + 20, 0xffffffffu, 4);
	cfg_write(1, R_ROM, 0xffffffffu, 4);
	ck_assert_uint_eq(cfg_read(1, R_BAR0 + 16, 4), 0);
	ck_assert_uint_eq(cfg_read(1, R_BAR0 + 20, 4), 0);
	ck_assert_uint_eq(cfg_read(1, R_ROM, 4), 0);
	/* Sizing is not decoding, even with decode enabled. */
	cfg_write(1, R_COMMAND, 0x3, 2);
	ck_assert(!f->pci.bars[0].decoding);
	ck_assert(!f->pci.bars[1].decoding);
	ck_assert(!f->pci.bars[2].decoding);
}
END_TEST

START_TEST(test_bar_placement_and_decode)
{
	struct fake_fn *f = make_fn_bars(1);
	struct fake_fn *g = make_fn_bars(2);

	/* No BAR device yet: the 32-bit hole is not claimed. */
	ck_assert_ptr_null(bus_find(&mmio, 0xd0000000, 4));
	ck_assert_int_eq(pci_bus_add(&pb, &f->pci), 0);
	ck_assert_int_eq(pci_bus_add(&pb, &g->pci), 0);
	ck_assert_str_eq(bus_find(&mmio, 0xd0000000, 4)->name, "pci-mmio32");
	ck_assert_str_eq(bus_find(&pio, X86_PCI_IO_BASE, 1)->name, "pci-io");
	ck_assert_str_eq(bus_find(&mmio, X86_PCI_MMIO64_BASE, 4)->name, "pci-mmio64");
	/* Placed in order, naturally aligned, in their windows. */
	ck_assert_uint_eq(cfg_read(1, R_BAR0, 4), X86_PCI_MMIO32_BASE);
	ck_assert_uint_eq(cfg_read(1, R_BAR0 + 4, 4), X86_PCI_IO_BASE | 1);
	ck_assert_uint_eq(cfg_read(1, R_BAR0 + 8, 4), (u32)X86_PCI_MMIO64_BASE | 4);
	ck_assert_uint_eq(cfg_read(1, R_BAR0 + 12, 4), (u32)(X86_PCI_MMIO64_BASE >> 32));
	ck_assert_uint_eq(cfg_read(2, R_BAR0, 4), X86_PCI_MMIO32_BASE + 0x4000);
	ck_assert_uint_eq(cfg_read(2, R_BAR0 + 4, 4), (X86_PCI_IO_BASE + 32) | 1);
	ck_assert_uint_eq(cfg_read(2, R_BAR0 + 8, 4), (u32)(X86_PCI_MMIO64_BASE + 0x100000) | 4);

	/* Command 0: nothing decodes, reads are all-ones, writes go nowhere. */
	ck_assert_uint_eq(mmio_read32(X86_PCI_MMIO32_BASE + 8), 0xffffffffu);
	ck_assert_uint_eq(pio_read8(X86_PCI_IO_BASE), 0xff);
	ck_assert_int_eq(f->reads, 0);

	/* Memory decode on: the BAR answers with offsets inside it; I/O still off. */
	cfg_write(1, R_COMMAND, 0x2, 2);
	ck_assert_uint_eq(mmio_read32(X86_PCI_MMIO32_BASE + 8), 0x5a5a5a5au);
	ck_assert_int_eq(f->reads, 1);
	ck_assert_uint_eq(f->last_offset, 8);
	ck_assert_uint_eq(mmio_read32(X86_PCI_MMIO64_BASE + 0xffffc), 0x5a5a5a5au);
	ck_assert_uint_eq(f->last_offset, 0xffffc);
	ck_assert_uint_eq(pio_read8(X86_PCI_IO_BASE), 0xff);
	/* An access straddling the BAR's end reaches nobody. */
	ck_assert_uint_eq(mmio_read32(X86_PCI_MMIO32_BASE + 0x3ffe), 0xffffffffu);
	/* Function 2's BAR is right behind and still off. */
	ck_assert_uint_eq(mmio_read32(X86_PCI_MMIO32_BASE + 0x4000), 0xffffffffu);
	ck_assert_int_eq(g->reads, 0);

	/* I/O on, memory off. */
	cfg_write(1, R_COMMAND, 0x1, 2);
	ck_assert_uint_eq(pio_read8(X86_PCI_IO_BASE + 3), 0x5a);
	ck_assert_uint_eq(f->last_offset, 3);
	ck_assert_uint_eq(mmio_read32(X86_PCI_MMIO32_BASE + 8), 0xffffffffu);
	/* Writes reach the device only while it decodes. */
	{
		u32 v = 0xabcd;

		bus_write(&pio, X86_PCI_IO_BASE + 4, &v, 2);
		ck_assert_int_eq(f->writes, 1);
		ck_assert_uint_eq(f->last_offset, 4);
		ck_assert_uint_eq(f->last_value, 0xabcd);
		bus_write(&mmio, X86_PCI_MMIO32_BASE, &v, 4);
		ck_assert_int_eq(f->writes, 1);
	}
	/* bar_changed told the device about each switch. */
	ck_assert_uint_ge(f->nr_changes, 4);
	ck_assert_uint_eq(f->chg_idx, 2);
	ck_assert(!f->chg_dec);
}
END_TEST

START_TEST(test_bar_moves)
{
	struct fake_fn *f = make_fn_bars(1);
	const u64 old = X86_PCI_MMIO32_BASE, good = X86_PCI_MMIO32_BASE + 0x100000;

	ck_assert_int_eq(pci_bus_add(&pb, &f->pci), 0);
	cfg_write(1, R_COMMAND, 0x3, 2);
	ck_assert(f->pci.bars[0].decoding);

	/* A good move: decodes at the new address only; the device is told. */
	f->nr_changes = 0;
	cfg_write(1, R_BAR0, (u32)good, 4);
	ck_assert_uint_eq(cfg_read(1, R_BAR0, 4), good);
	ck_assert_uint_eq(mmio_read32(good + 4), 0x5a5a5a5au);
	ck_assert_uint_eq(mmio_read32(old + 4), 0xffffffffu);
	ck_assert_uint_eq(f->nr_changes, 1);
	ck_assert_uint_eq(f->chg_idx, 0);
	ck_assert_uint_eq(f->chg_old, old);
	ck_assert_uint_eq(f->chg_new, good);
	ck_assert(f->chg_dec);

	/* Misaligned: the size bits are not writable, so the BAR lands aligned. */
	cfg_write(1, R_BAR0, (u32)(good + 0x1234), 4);
	ck_assert_uint_eq(cfg_read(1, R_BAR0, 4), good);
	ck_assert(f->pci.bars[0].decoding);

	/* Outside the window (below it, and over the ECAM window above it): off,
	 * the register keeps what was written, nothing answers anywhere. */
	cfg_write(1, R_BAR0, 0xb0000000u, 4);
	ck_assert_uint_eq(cfg_read(1, R_BAR0, 4), 0xb0000000u);
	ck_assert(!f->pci.bars[0].decoding);
	ck_assert(!f->chg_dec);
	ck_assert_uint_eq(mmio_read32(good), 0xffffffffu);
	cfg_write(1, R_BAR0, (u32)X86_PCI_ECAM_BASE, 4);
	ck_assert(!f->pci.bars[0].decoding);
	/* ECAM still answers as ECAM. */
	ck_assert_uint_eq(ecam_read(1, 0, R_VENDOR, 2), 0x1234);
	/* The last 16 KiB of the window is fine. */
	cfg_write(1, R_BAR0, (u32)(X86_PCI_MMIO32_BASE + X86_PCI_MMIO32_SIZE - 0x4000), 4);
	ck_assert(f->pci.bars[0].decoding);

	/* I/O BARs: outside the I/O window (and above 64K) is refused. */
	cfg_write(1, R_BAR0 + 4, 0x1000, 4);
	ck_assert(!f->pci.bars[1].decoding);
	cfg_write(1, R_BAR0 + 4, 0x1c000, 4);
	ck_assert(!f->pci.bars[1].decoding);
	cfg_write(1, R_BAR0 + 4, X86_PCI_IO_BASE + 0x100, 4);
	ck_assert(f->pci.bars[1].decoding);
	ck_assert_uint_eq(pio_read8(X86_PCI_IO_BASE + 0x101), 0x5a);

	/* A 64-bit BAR may move into the 32-bit window... */
	cfg_write(1, R_BAR0 + 12, 0, 4);
	cfg_write(1, R_BAR0 + 8, 0xd0000000u, 4);
	ck_assert(f->pci.bars[2].decoding);
	ck_assert_uint_eq(f->pci.bars[2].addr, 0xd0000000u);
	ck_assert_uint_eq(mmio_read32(0xd0000010), 0x5a5a5a5au);
	/* ...but not to an address no window holds. */
	cfg_write(1, R_BAR0 + 12, 0x100, 4);
	ck_assert(!f->pci.bars[2].decoding);
	ck_assert_uint_eq(mmio_read32(0xd0000010), 0xffffffffu);
}
END_TEST

START_TEST(test_bar_overlap_refused)
{
	struct fake_fn *f = make_fn_bars(1), *g = make_fn_bars(2);
	const u64 fa = X86_PCI_MMIO32_BASE, ga = X86_PCI_MMIO32_BASE + 0x4000;

	ck_assert_int_eq(pci_bus_add(&pb, &f->pci), 0);
	ck_assert_int_eq(pci_bus_add(&pb, &g->pci), 0);
	cfg_write(1, R_COMMAND, 0x3, 2);
	cfg_write(2, R_COMMAND, 0x3, 2);
	ck_assert(f->pci.bars[0].decoding && g->pci.bars[0].decoding);

	/* g's BAR moved onto f's: refused, f keeps answering there. */
	cfg_write(2, R_BAR0, (u32)fa, 4);
	ck_assert_uint_eq(cfg_read(2, R_BAR0, 4), fa);
	ck_assert(!g->pci.bars[0].decoding);
	ck_assert(f->pci.bars[0].decoding);
	ck_assert_uint_eq(mmio_read32(fa), 0x5a5a5a5au);
	ck_assert_int_eq(f->reads, 1);
	ck_assert_int_eq(g->reads, 0);
	ck_assert_uint_eq(mmio_read32(ga), 0xffffffffu);

	/* Partial overlap with f's 64-bit BAR (1 MiB) in the 32-bit window. */
	cfg_write(1, R_BAR0 + 12, 0, 4);
	cfg_write(1, R_BAR0 + 8, 0xd0000000u, 4);
	ck_assert(f->pci.bars[2].decoding);
	cfg_write(2, R_BAR0, 0xd00fc000u, 4);
	ck_assert(!g->pci.bars[0].decoding);
	/* I/O BARs of both: same rule. */
	cfg_write(2, R_BAR0 + 4, X86_PCI_IO_BASE, 4);
	ck_assert(!g->pci.bars[1].decoding);
	ck_assert(f->pci.bars[1].decoding);

	/* f stops decoding memory; g's refused BAR stays off until g is written again. */
	cfg_write(1, R_COMMAND, 0x1, 2);
	cfg_write(2, R_BAR0, (u32)fa, 4);
	ck_assert(g->pci.bars[0].decoding);
	ck_assert_uint_eq(mmio_read32(fa), 0x5a5a5a5au);
	ck_assert_int_eq(g->reads, 1);
	/* And now f cannot turn its own BAR 0 back on over g's. */
	cfg_write(1, R_COMMAND, 0x3, 2);
	ck_assert(!f->pci.bars[0].decoding);
	ck_assert(f->pci.bars[2].decoding);
	/* Different spaces never collide: an I/O and a memory BAR at "the same" number. */
	ck_assert(f->pci.bars[1].decoding);
}
END_TEST

START_TEST(test_64bit_sizing_while_decoding)
{
	struct fake_fn *f = make_fn_bars(1);
	u32 lo, hi;

	ck_assert_int_eq(pci_bus_add(&pb, &f->pci), 0);
	cfg_write(1, R_COMMAND, 0x2, 2);
	lo = cfg_read(1, R_BAR0 + 8, 4);
	hi = cfg_read(1, R_BAR0 + 12, 4);
	ck_assert(f->pci.bars[2].decoding);
	/*
	 * Sizing one half at a time with decode left on. With the low half all
	 * ones the BAR sits at 0x200fff00000: still aligned and inside the 64-bit
	 * window, so it decodes there, as hardware would; with both halves all
	 * ones it is outside every window and off.
	 */
	cfg_write(1, R_BAR0 + 8, 0xffffffffu, 4);
	ck_assert(f->pci.bars[2].decoding);
	ck_assert_uint_eq(f->pci.bars[2].addr, X86_PCI_MMIO64_BASE + 0xfff00000ULL);
	cfg_write(1, R_BAR0 + 12, 0xffffffffu, 4);
	ck_assert(!f->pci.bars[2].decoding);
	cfg_write(1, R_BAR0 + 8, lo, 4);
	ck_assert(!f->pci.bars[2].decoding);
	cfg_write(1, R_BAR0 + 12, hi, 4);
	ck_assert(f->pci.bars[2].decoding);
	ck_assert_uint_eq(f->pci.bars[2].addr, X86_PCI_MMIO64_BASE);
}
END_TEST

START_TEST(test_phys_bits_limit)
{
	struct fake_fn *f = make_fn_bars(1);

	/* A guest with 40 address bits cannot reach 2 TiB: 64-bit BARs go low. */
	pci_bus_limit_phys_bits(&pb, 40);
	ck_assert_uint_eq(pb.mmio64_win.size, 0);
	ck_assert_int_eq(pci_bus_add(&pb, &f->pci), 0);
	ck_assert_uint_eq(cfg_read(1, R_BAR0 + 12, 4), 0);
	ck_assert_uint_eq(cfg_read(1, R_BAR0 + 8, 4), (X86_PCI_MMIO32_BASE + 0x100000) | 4);
	ck_assert_ptr_null(bus_find(&mmio, X86_PCI_MMIO64_BASE, 4));
	/* The guest cannot move it up there either. */
	cfg_write(1, R_COMMAND, 0x2, 2);
	cfg_write(1, R_BAR0 + 8, (u32)X86_PCI_MMIO64_BASE, 4);
	cfg_write(1, R_BAR0 + 12, (u32)(X86_PCI_MMIO64_BASE >> 32), 4);
	ck_assert(!f->pci.bars[2].decoding);
}
END_TEST

START_TEST(test_intx)
{
	struct fake_fn *f = make_fn(1);

	ck_assert_int_eq(pci_bus_add(&pb, &f->pci), 0);
	/* Slot 1, INTA#: GSI 16 + (1 + 0) % 4, also in the interrupt line register. */
	ck_assert_uint_eq(f->pci.intx_gsi, 17);
	ck_assert_uint_eq(cfg_read(1, R_INT_LINE, 1), 17);

	pci_dev_set_intx(&f->pci, 1);
	ck_assert_int_eq(intx.n, 1);
	ck_assert_uint_eq(intx.gsi[0], 17);
	ck_assert_int_eq(intx.level[0], 1);
	ck_assert_uint_eq(cfg_read(1, R_STATUS, 2) & 0x08, 0x08);
	/* Asserting again changes nothing on the line. */
	pci_dev_set_intx(&f->pci, 1);
	ck_assert_int_eq(intx.n, 1);

	/* INTx-disable drops the line, the status bit stays (PCI 3.0 6.2.3). */
	cfg_write(1, R_COMMAND, 0x400, 2);
	ck_assert_int_eq(intx.n, 2);
	ck_assert_int_eq(intx.level[1], 0);
	ck_assert_uint_eq(cfg_read(1, R_STATUS, 2) & 0x08, 0x08);
	/* The status interrupt bit is read-only. */
	cfg_write(1, R_STATUS, 0x08, 2);
	ck_assert_uint_eq(cfg_read(1, R_STATUS, 2) & 0x08, 0x08);
	/* Enabled again: the pending level comes back. */
	cfg_write(1, R_COMMAND, 0x000, 2);
	ck_assert_int_eq(intx.n, 3);
	ck_assert_int_eq(intx.level[2], 1);
	pci_dev_set_intx(&f->pci, 0);
	ck_assert_int_eq(intx.n, 4);
	ck_assert_int_eq(intx.level[3], 0);
	ck_assert_uint_eq(cfg_read(1, R_STATUS, 2) & 0x08, 0);
	/* Disabled while low, raised: nothing on the line, status set. */
	cfg_write(1, R_COMMAND, 0x400, 2);
	pci_dev_set_intx(&f->pci, 1);
	ck_assert_int_eq(intx.n, 4);
	ck_assert_uint_eq(cfg_read(1, R_STATUS, 2) & 0x08, 0x08);
}
END_TEST

START_TEST(test_intx_shared_pin)
{
	/* Slots 1 and 5 share INTA# swizzle 1 (GSI 17); slot 2 is on GSI 18. */
	for (unsigned int i = 1; i <= 5; i++)
		ck_assert_int_eq(pci_bus_add(&pb, &make_fn(i)->pci), 0);
	ck_assert_uint_eq(fns[1].pci.slot, 1);
	ck_assert_uint_eq(fns[5].pci.slot, 5);
	ck_assert_uint_eq(fns[5].pci.intx_gsi, 17);
	ck_assert_uint_eq(fns[2].pci.intx_gsi, 18);
	ck_assert_uint_eq(fns[4].pci.intx_gsi, 16);

	pci_dev_set_intx(&fns[1].pci, 1);
	pci_dev_set_intx(&fns[5].pci, 1);
	ck_assert_int_eq(intx.n, 1);	/* already asserted */
	pci_dev_set_intx(&fns[1].pci, 0);
	ck_assert_int_eq(intx.n, 1);	/* slot 5 still holds it */
	pci_dev_set_intx(&fns[2].pci, 1);
	ck_assert_int_eq(intx.n, 2);
	ck_assert_uint_eq(intx.gsi[1], 18);
	pci_dev_set_intx(&fns[5].pci, 0);
	ck_assert_int_eq(intx.n, 3);
	ck_assert_uint_eq(intx.gsi[2], 17);
	ck_assert_int_eq(intx.level[2], 0);
}
END_TEST

START_TEST(test_conf1_extended_registers)
{
	struct fake_fn *f = make_fn(1);
	u32 a, v = 0;

	ck_assert_int_eq(pci_bus_add(&pb, &f->pci), 0);
	f->pci.cfg[0x104] = 0x11;
	f->pci.cfg[0xffc] = 0x22;
	/* Register 0x104: bits 11-8 (0x1) in CONFIG_ADDRESS bits 27-24. */
	a = conf1_addr(0, 1, 0, 0x04) | 0x1u << 24;
	bus_write(&pio, CF8, &a, 4);
	bus_read(&pio, CFC, &v, 4);
	ck_assert_uint_eq(v, 0x11);
	a = conf1_addr(0, 1, 0, 0xfc) | 0xfu << 24;
	bus_write(&pio, CF8, &a, 4);
	bus_read(&pio, CFC, &v, 1);
	ck_assert_uint_eq(v, 0x22);
	/* Without them, the same low bits are the standard register. */
	ck_assert_uint_eq(cfg_read(1, 0x04, 4), 0);
}
END_TEST

START_TEST(test_ecam_access_rules)
{
	struct fake_fn *f = make_fn(1);

	ck_assert_int_eq(pci_bus_add(&pb, &f->pci), 0);
	/* Extended space of a present function: up to 4 KiB, zeros here. */
	ck_assert_uint_eq(ecam_read(1, 0, 0x100, 4), 0);
	ck_assert_uint_eq(ecam_read(1, 0, 0xffc, 4), 0);
	f->pci.cfg[0xffe] = 0x77;
	ck_assert_uint_eq(ecam_read(1, 0, 0xffe, 1), 0x77);
	ck_assert_uint_eq(ecam_read(1, 0, 0xffe, 2), 0x0077);
	/* Misaligned or odd-sized: all-ones, writes dropped. */
	ck_assert_uint_eq(ecam_read(1, 0, R_VENDOR + 1, 2), 0xffff);
	ck_assert_uint_eq(ecam_read(1, 0, R_VENDOR + 2, 4), 0xffffffffu);
	{
		u64 q = 0;

		bus_read(&mmio, ECAM + (1 << 15), &q, 8);
		ck_assert_uint_eq(q, ~0ULL);
	}
	ecam_write(1, 0, R_COMMAND + 1, 0x0202, 2);
	ck_assert_uint_eq(cfg_read(1, R_COMMAND, 2), 0);
}
END_TEST

START_TEST(test_capabilities)
{
	struct fake_fn *f = make_fn(1);
	u8 body[6] = { 1, 2, 3, 4, 5, 6 };
	int a, b;

	ck_assert_uint_eq(f->pci.cfg[R_CAP], 0);
	a = pci_dev_add_cap(&f->pci, 0x09, body, 6);
	b = pci_dev_add_cap(&f->pci, 0x09, body, 3);
	ck_assert_int_eq(a, 0x40);
	ck_assert_int_eq(b, 0x48);	/* 0x40 + 8, dword aligned */
	ck_assert_int_eq(pci_bus_add(&pb, &f->pci), 0);
	/* Status says there is a list; the pointers chain and end in 0. */
	ck_assert_uint_eq(cfg_read(1, R_STATUS, 2) & 0x10, 0x10);
	ck_assert_uint_eq(cfg_read(1, R_CAP, 1), 0x40);
	ck_assert_uint_eq(cfg_read(1, 0x40, 4), 0x02014809u);
	ck_assert_uint_eq(cfg_read(1, 0x48, 4), 0x02010009u);
	/* Read-only for the guest unless the device says otherwise. */
	cfg_write(1, 0x40, 0xffffffffu, 4);
	ck_assert_uint_eq(cfg_read(1, 0x40, 4), 0x02014809u);
	/* Full: the standard 256 bytes hold no more. */
	while ((a = pci_dev_add_cap(&f->pci, 0x09, body, 6)) > 0)
		ck_assert_int_le(a + 8, 256);
	ck_assert_int_eq(a, -ENOSPC);
	ck_assert_int_eq(pci_dev_add_cap(&f->pci, 0x09, NULL, 4), -EINVAL);
}
END_TEST

START_TEST(test_add_bar_rules)
{
	struct fake_fn *f = make_fn(1);
	struct pci_dev *d = &f->pci;

	ck_assert_int_eq(pci_dev_add_bar(d, 6, 4096, false, false, &fn_ops, f), -EINVAL);
	ck_assert_int_eq(pci_dev_add_bar(d, 0, 4096 + 1, false, false, &fn_ops, f), -EINVAL);
	ck_assert_int_eq(pci_dev_add_bar(d, 0, 2048, false, false, &fn_ops, f), -EINVAL);
	ck_assert_int_eq(pci_dev_add_bar(d, 0, 8, true, false, &fn_ops, f), -EINVAL);
	ck_assert_int_eq(pci_dev_add_bar(d, 0, 16, true, true, &fn_ops, f), -EINVAL);
	ck_assert_int_eq(pci_dev_add_bar(d, 0, 4096, false, false, NULL, f), -EINVAL);
	ck_assert_int_eq(pci_dev_add_bar(d, 5, 4096, false, true, &fn_ops, f), -EINVAL);
	/* A 64-bit BAR takes its slot and the next. */
	ck_assert_int_eq(pci_dev_add_bar(d, 2, 4096, false, true, &fn_ops, f), 0);
	ck_assert_int_eq(pci_dev_add_bar(d, 3, 4096, false, false, &fn_ops, f), -EINVAL);
	ck_assert_int_eq(pci_dev_add_bar(d, 2, 4096, false, false, &fn_ops, f), -EINVAL);
	ck_assert_int_eq(pci_dev_add_bar(d, 1, 4096, false, true, &fn_ops, f), -EINVAL);
	ck_assert_int_eq(pci_dev_add_bar(d, 1, 4096, false, false, &fn_ops, f), 0);
	ck_assert_int_eq(pci_dev_add_bar(d, 4, 16, true, false, &fn_ops, f), 0);
}
END_TEST

START_TEST(test_slots_fill_up)
{
	struct fake_fn extra;

	for (unsigned int i = 1; i < PCI_MAX_SLOTS; i++) {
		ck_assert_int_eq(pci_bus_add(&pb, &make_fn(i)->pci), 0);
		ck_assert_uint_eq(fns[i].pci.slot, i);
	}
	memset(&extra, 0, sizeof(extra));
	pci_dev_init(&extra.pci, "extra", 1, 2, 0, 0, 0, 0);
	ck_assert_int_eq(pci_bus_add(&pb, &extra.pci), -ENOSPC);
	ck_assert_ptr_null(extra.pci.bus);
	/* A function cannot be added twice. */
	ck_assert_int_eq(pci_bus_add(&pb, &fns[3].pci), -EINVAL);
}
END_TEST

START_TEST(test_window_full)
{
	struct fake_fn *f = make_fn(1), *g = make_fn(2);

	/* Half the 32-bit window, twice, then one more page does not fit. */
	ck_assert_int_eq(pci_dev_add_bar(&f->pci, 0, X86_PCI_MMIO32_SIZE / 2, false, false,
					 &fn_ops, f), 0);
	ck_assert_int_eq(pci_dev_add_bar(&f->pci, 1, X86_PCI_MMIO32_SIZE / 2, false, false,
					 &fn_ops, f), 0);
	ck_assert_int_eq(pci_bus_add(&pb, &f->pci), 0);
	ck_assert_int_eq(pci_dev_add_bar(&g->pci, 0, 4096, false, false, &fn_ops, g), 0);
	ck_assert_int_eq(pci_bus_add(&pb, &g->pci), -ENOSPC);
	ck_assert_ptr_null(g->pci.bus);
	ck_assert_uint_eq(cfg_read(2, R_VENDOR, 2), 0xffff);
}
END_TEST

/* BAR reads on one thread while another moves the BAR and flips decoding. */
struct race {
	volatile bool stop;
	int bad;
};

static void *race_reader(void *opaque)
{
	struct race *r = opaque;

	while (!r->stop) {
		u32 v = mmio_read32(X86_PCI_MMIO32_BASE + 0x10);

		if (v != 0x5a5a5a5au && v != 0xffffffffu)
			r->bad++;
	}
	return NULL;
}

START_TEST(test_concurrent_access_and_moves)
{
	struct fake_fn *f = make_fn_bars(1);
	struct race r = { .stop = false, .bad = 0 };
	pthread_t t;

	ck_assert_int_eq(pci_bus_add(&pb, &f->pci), 0);
	ck_assert_int_eq(pthread_create(&t, NULL, race_reader, &r), 0);
	for (int i = 0; i < 2000; i++) {
		cfg_write(1, R_COMMAND, i & 1 ? 0x2 : 0x0, 2);
		cfg_write(1, R_BAR0, (u32)X86_PCI_MMIO32_BASE + (i & 2 ? 0x4000 : 0), 4);
	}
	r.stop = true;
	pthread_join(t, NULL);
	ck_assert_int_eq(r.bad, 0);
}
END_TEST

static Suite *pci_suite(void)
{
	Suite *s = suite_create("pci");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_host_bridge_slot0);
	tcase_add_test(tc, test_absent_slots_and_functions);
	tcase_add_test(tc, test_config_address_latch);
	tcase_add_test(tc, test_cf9_forwarded);
	tcase_add_test(tc, test_conf1_byte_and_word);
	tcase_add_test(tc, test_write_masks);
	tcase_add_test(tc, test_bar_sizing);
	tcase_add_test(tc, test_bar_placement_and_decode);
	tcase_add_test(tc, test_bar_moves);
	tcase_add_test(tc, test_bar_overlap_refused);
	tcase_add_test(tc, test_64bit_sizing_while_decoding);
	tcase_add_test(tc, test_phys_bits_limit);
	tcase_add_test(tc, test_intx);
	tcase_add_test(tc, test_intx_shared_pin);
	tcase_add_test(tc, test_conf1_extended_registers);
	tcase_add_test(tc, test_ecam_access_rules);
	tcase_add_test(tc, test_capabilities);
	tcase_add_test(tc, test_add_bar_rules);
	tcase_add_test(tc, test_slots_fill_up);
	tcase_add_test(tc, test_window_full);
	tcase_add_test(tc, test_concurrent_access_and_moves);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(pci_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

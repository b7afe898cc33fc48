/*
 * virtio_hostile: a virtio-blk driver that breaks the rules on purpose, to
 * check end to end that trapeze treats a malformed ring as the guest's
 * problem (virtio 1.2, 2.1.2 and 2.7): the device sets DEVICE_NEEDS_RESET,
 * trapeze logs one line and keeps running, and after a reset the same
 * device works again. For the first virtio-blk disk, which must be the test
 * image (tests/boot/virtio-disk.img, read-only is enough), in turn:
 *
 *   a buffer outside RAM            a descriptor loop (0 -> 1 -> 2 -> 1)
 *   a buffer running past RAM       a head index past the queue size
 *   the available index moved 100   an indirect table outside RAM
 *   ring addresses outside RAM at DRIVER_OK
 *   a notify for a queue the device does not have (ignored)
 *
 * each followed by a reset, a fresh set-up and a good read of sector 0;
 * then BAR moves while the device runs (check_bar_moves).
 * All as expected: debug-exit 0x71 (status 227); each failure prints
 * "virtio_hostile: FAIL ..." and has its own value (below).
 */
#include "io.h"
#include "rt.h"
#include "virtio.h"

#define VH_OK			0x71	/* status 227 */
#define VH_FAIL_NODEV		0x72	/* 229: no virtio-blk device */
#define VH_FAIL_SETUP		0x73	/* 231: probe, features, queue or DRIVER_OK failed */
#define VH_FAIL_READ		0x74	/* 233: a good read failed (no recovery after a reset) */
#define VH_FAIL_NO_RESET	0x75	/* 235: a malformed ring did not set NEEDS_RESET */
#define VH_FAIL_USED		0x76	/* 237: the device used a malformed chain */
#define VH_FAIL_STUCK		0x77	/* 239: NEEDS_RESET survived a reset */
#define VH_FAIL_BAR		0x78	/* 241: a BAR move went wrong */

/* trapeze's virtio-pci layout (docs/guest-abi.md): BAR 0 memory, BAR 1 I/O. */
#define VH_MEM_BAR		0
#define VH_IO_BAR		1
#define VH_IO_MOVE		0x100	/* inside the I/O window, past one disk's BAR */
#define VH_LAPIC		0xfee00000u

/* Never RAM: the top of the 32-bit hole (trapeze puts no memory there). */
#define NOT_RAM			0xfffff000ull
#define LABEL			"TRAPEZE VIRTIO TEST DISK 1\n"
#define LABEL_LEN		27

#define VIRTIO_BLK_T_IN		0	/* 5.2.6 */
#define VIRTIO_BLK_S_OK		0

struct blk_hdr {
	uint32_t type;
	uint32_t reserved;
	uint64_t sector;
};

static uint8_t ring_page[4096] __attribute__((aligned(4096)));
static struct vring_desc indirect[4] __attribute__((aligned(16)));
static uint8_t buf[512] __attribute__((aligned(512)));
static struct blk_hdr hdr;
static volatile uint8_t status;

int main(void);

__attribute__((noreturn)) static void fail(uint8_t code, const char *what)
{
	rt_puts("virtio_hostile: FAIL ");
	rt_puts(what);
	rt_putc('\n');
	rt_debug_exit(code);
}

static void say(const char *what)
{
	rt_puts("virtio_hostile: ");
	rt_puts(what);
	rt_putc('\n');
}

/* Reset, negotiate (with indirect descriptors, to misuse them), queue 0, DRIVER_OK. */
static void bring_up(struct vio_dev *d, struct vq *q)
{
	if (vio_negotiate(d, 1ull << VIRTIO_RING_F_INDIRECT_DESC) != VIO_OK ||
	    !(d->features & (1ull << VIRTIO_RING_F_INDIRECT_DESC)))
		fail(VH_FAIL_SETUP, "features (VERSION_1 and INDIRECT_DESC)");
	if (vio_status(d) & VIRTIO_STATUS_NEEDS_RESET)
		fail(VH_FAIL_STUCK, "NEEDS_RESET still set after a reset");
	if (vq_setup(q, d, 0, ring_page) != VIO_OK)
		fail(VH_FAIL_SETUP, "queue 0");
	if (vio_driver_ok(d) != VIO_OK)
		fail(VH_FAIL_SETUP, "DRIVER_OK");
}

/* A well-formed read of sector 0, which must hold the test image's label. */
static void good_read(struct vq *q, const char *after)
{
	struct vq_buf b[3] = {
		{ &hdr, sizeof(hdr), 0 }, { buf, sizeof(buf), 1 }, { (void *)&status, 1, 1 },
	};
	static const char label[] = LABEL;
	uint32_t written;

	hdr = (struct blk_hdr){ VIRTIO_BLK_T_IN, 0, 0 };
	status = 0xff;
	memset(buf, 0, sizeof(buf));
	if (vq_submit(q, b, 3, &written) != VIO_OK || status != VIRTIO_BLK_S_OK)
		fail(VH_FAIL_READ, after);
	for (int i = 0; i < LABEL_LEN; i++)
		if (buf[i] != (uint8_t)label[i])
			fail(VH_FAIL_READ, after);
}

/* Descriptor i as one buffer of a request: header, data or status. */
static void set_desc(struct vq *q, unsigned int i, uint64_t addr, uint32_t len, uint16_t flags,
		     uint16_t next)
{
	q->desc[i] = (struct vring_desc){ addr, len, flags, next };
}

/* A normal 3-descriptor read request at 0..2, for the cases to spoil. */
static void read_chain(struct vq *q)
{
	hdr = (struct blk_hdr){ VIRTIO_BLK_T_IN, 0, 0 };
	set_desc(q, 0, (uintptr_t)&hdr, sizeof(hdr), VRING_DESC_F_NEXT, 1);
	set_desc(q, 1, (uintptr_t)buf, sizeof(buf), VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 2);
	set_desc(q, 2, (uintptr_t)&status, 1, VRING_DESC_F_WRITE, 0);
}

/*
 * The device must answer the malformed ring with NEEDS_RESET, and must not
 * have returned the chain; then the driver resets and starts over.
 */
static void expect_needs_reset(struct vio_dev *d, struct vq *q, const char *what)
{
	if (vio_wait_status(d, VIRTIO_STATUS_NEEDS_RESET) != VIO_OK)
		fail(VH_FAIL_NO_RESET, what);
	if (q->used->idx != q->last_used)
		fail(VH_FAIL_USED, what);
	rt_puts("virtio_hostile: ");
	rt_puts(what);
	rt_puts(": NEEDS_RESET; reset, set up again, read: ");
	bring_up(d, q);
	good_read(q, what);
	rt_puts("ok\n");
}

/* Rewrites a BAR register (32 bits) and says whether it reads back as written. */
static int bar_write(uint8_t slot, uint8_t bar, uint32_t v)
{
	uint8_t off = (uint8_t)(PCI_BAR0 + 4 * bar);

	outl(0xcf8, 0x80000000u | ((uint32_t)slot << 11) | off);
	outl(0xcfc, v);
	return (pci_read32(slot, off) & ~0xfu) == (v & ~0xfu);
}

/*
 * BAR moves (PCI 3.0, 6.2.5.1) while the device runs: the I/O BAR to a free
 * place in the window (the notify follows it), onto COM1 (outside the
 * window: it must stop decoding, and the UART must stay the UART), and
 * back; the memory BAR onto the local APIC and back.
 */
static void check_bar_moves(struct vio_dev *d, struct vq *q)
{
	uint32_t io = pci_read32(d->slot, PCI_BAR0 + 4 * VH_IO_BAR);
	uint32_t mem = pci_read32(d->slot, PCI_BAR0 + 4 * VH_MEM_BAR);
	uint64_t notify_off;

	if (!(io & PCI_BAR_IO) || (mem & PCI_BAR_IO) || !q->notify.io)
		fail(VH_FAIL_SETUP, "BAR 1 is not the I/O BAR of the notify region");
	io &= ~3u;
	notify_off = q->notify.base - io;
	if (!bar_write(d->slot, VH_IO_BAR, io + VH_IO_MOVE))
		fail(VH_FAIL_BAR, "the I/O BAR did not take a new address");
	q->notify.base = io + VH_IO_MOVE + notify_off;
	good_read(q, "notify after the I/O BAR moved");
	say("I/O BAR moved by 0x100: notify at the new port, read ok");

	/* A BAR overlapping COM1 stays off: this line must still come out. */
	bar_write(d->slot, VH_IO_BAR, 0x3f8 | PCI_BAR_IO);
	say("I/O BAR written over COM1 (0x3f8): the UART still prints");
	bar_write(d->slot, VH_IO_BAR, io);
	q->notify.base = io + notify_off;
	good_read(q, "notify after the I/O BAR came back");
	say("I/O BAR back: read ok");

	bar_write(d->slot, VH_MEM_BAR, VH_LAPIC);
	bar_write(d->slot, VH_MEM_BAR, mem & ~0xfu);
	if (vio_status(d) & VIRTIO_STATUS_NEEDS_RESET)
		fail(VH_FAIL_BAR, "moving the memory BAR set NEEDS_RESET");
	good_read(q, "after the memory BAR went over the local APIC and back");
	say("memory BAR over the local APIC and back: read ok");
}

int main(void)
{
	static struct vio_dev d;
	static struct vq q;
	uint8_t slot = 0;
	uint16_t id;

	while ((id = vio_find_next(&slot)) != 0 && id != VIRTIO_ID_BLOCK)
		slot++;
	if (id != VIRTIO_ID_BLOCK)
		fail(VH_FAIL_NODEV, "no virtio-blk device");
	if (vio_probe(&d, slot, id) != VIO_OK)
		fail(VH_FAIL_SETUP, "probe");
	bring_up(&d, &q);
	good_read(&q, "first read");
	say("set up, sector 0 read");

	read_chain(&q);
	q.desc[1].addr = NOT_RAM;
	vq_publish(&q, 0);
	expect_needs_reset(&d, &q, "buffer outside RAM");

	/* Between the two writable buffers, so only the loop is wrong. */
	read_chain(&q);
	q.desc[2].flags = VRING_DESC_F_WRITE | VRING_DESC_F_NEXT;
	q.desc[2].next = 1;
	vq_publish(&q, 0);
	expect_needs_reset(&d, &q, "descriptor loop");

	read_chain(&q);
	q.desc[1].len = 0xffffffffu;	/* from 1 MiB-ish to past 4 GiB */
	vq_publish(&q, 0);
	expect_needs_reset(&d, &q, "buffer past the end of RAM");

	read_chain(&q);
	vq_publish(&q, 200);
	expect_needs_reset(&d, &q, "head index out of range");

	read_chain(&q);
	q.avail->ring[0] = 0;
	q.next_avail += 100;
	*(volatile uint16_t *)&q.avail->idx = q.next_avail;
	vq_notify(&q);
	expect_needs_reset(&d, &q, "available index moved by 100");

	indirect[0] = (struct vring_desc){ (uintptr_t)&hdr, sizeof(hdr), VRING_DESC_F_NEXT, 1 };
	set_desc(&q, 0, NOT_RAM, sizeof(indirect), VRING_DESC_F_INDIRECT, 0);
	vq_publish(&q, 0);
	expect_needs_reset(&d, &q, "indirect table outside RAM");

	/* Rings outside RAM: DRIVER_OK cannot start the queue. */
	if (vio_negotiate(&d, 0) != VIO_OK)
		fail(VH_FAIL_SETUP, "features");
	vio_write16(&d.common, VCOMMON_Q_SELECT, 0);
	vio_write16(&d.common, VCOMMON_Q_SIZE, VQ_SIZE);
	vio_write32(&d.common, VCOMMON_Q_DESC, (uint32_t)NOT_RAM);
	vio_write32(&d.common, VCOMMON_Q_DESC + 4, 0);
	vio_write16(&d.common, VCOMMON_Q_ENABLE, 1);
	vio_driver_ok(&d);
	q.last_used = q.used->idx;	/* nothing of ours can be used here */
	expect_needs_reset(&d, &q, "ring outside RAM at DRIVER_OK");

	/* Queue 3 does not exist: its notify lands past the queue's and is ignored. */
	q.notify.base += 3 * d.notify_mult;
	vq_notify(&q);
	q.notify.base -= 3 * d.notify_mult;
	good_read(&q, "notify for a missing queue");
	if (vio_status(&d) & VIRTIO_STATUS_NEEDS_RESET)
		fail(VH_FAIL_USED, "notify for a missing queue set NEEDS_RESET");
	say("notify for a missing queue: ignored, read ok");

	check_bar_moves(&d, &q);
	say("all checks passed");
	return VH_OK;
}

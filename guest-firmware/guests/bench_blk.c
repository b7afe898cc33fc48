/*
 * bench_blk: virtio-blk throughput and IOPS from a tiny guest driver
 * (bench/README.md, benchmark 4). An ELF32 image with a PVH note, like the
 * other bench guests, so trapeze and QEMU (q35, virtio-blk-pci) run the
 * same bytes in flat 32-bit protected mode, paging off, CPL 0.
 *
 * Set-up uses the tiny guests' virtio library (lib/virtio.h: PCI scan,
 * capabilities, feature negotiation). The timed part is a hand-written
 * driver loop (bench_blk_loop.S), made to execute as few CPL-0
 * instructions per request as it can, because on the kvm_pvm host every one
 * of them is emulated (about 1 us, PLATFORM.md):
 *   - one split queue of 256 entries, with up to MAX_SLOTS requests in
 *     flight; request slot s always uses descriptors 4s..4s+2 (header,
 *     data, status), built once per phase, and the blocks to read or write
 *     are listed before the clock starts, so (re)submitting a request is a
 *     few stores and one available-ring entry;
 *   - one notify per batch (all the requests that completed since the last
 *     look are resubmitted together), through an I/O-port notify region
 *     when the device offers one (trapeze always; QEMU with
 *     modern-pio-notify=on), since a port write that hits an ioeventfd is
 *     the cheapest exit on that host;
 *   - no interrupts: VRING_AVAIL_F_NO_INTERRUPT, and the used ring is
 *     polled. The poll loop is four instructions; the guest counts its
 *     iterations and times the loop alone (calib), so bench.py can tell
 *     time spent waiting for the device from time spent in the driver.
 *
 * The disk (bench.py makes it): its first half is the read area, where the
 * first 4 bytes of every 4 KiB block hold the block's number
 * (little-endian); every completed read checks that stamp, so a device that
 * returned success without data fails the run. Writes go to the second
 * half, so reads always see the stamps.
 *
 * Phases, in order, each timed with rdtsc (host TSC ticks on every VMM):
 *   calib       the poll loop alone, CALIB_POLLS times on an idle queue:
 *               what one poll costs on this host
 *   seq_read    the whole read area, SEQ_KIB requests, SEQ_QD in flight
 *   rand_read1  RAND_N 4 KiB reads at pseudo-random blocks, 1 in flight
 *   rand_readq  the same with RAND_QD in flight
 *   seq_write   the whole write area, like seq_read
 * Result lines: "bench_blk: PHASE n=0x.. bytes=0x.. tsc=0x.. polls=0x..
 * notifies=0x..". The parameters come from a patchable block (magic
 * BENCH_BLK_MAGIC, then SEQ_KIB, SEQ_QD, RAND_N, RAND_QD as 32-bit words).
 *
 * All done: debug-exit BENCH_OK (status 97). A failure prints
 * "bench_blk: FAIL ..." and exits with its own value (below).
 */
#include "bench.h"
#include "io.h"
#include "rt.h"
#include "virtio.h"

#define BB_FAIL_NODEV	0x31	/* status 99: no modern virtio-blk on PCI bus 0 */
#define BB_FAIL_SETUP	0x32	/* 101: capabilities, features or queue set-up */
#define BB_FAIL_PARAMS	0x33	/* 103: parameters out of range, disk too small */
#define BB_FAIL_IO	0x34	/* 105: a request failed (status byte not OK) */
#define BB_FAIL_DATA	0x35	/* 107: a read returned a block without its stamp */
#define BB_FAIL_USED	0x36	/* 109: a used entry for no request in flight */
#define BB_FAIL_TIMEOUT	0x37	/* 111: the device stopped answering */

/* bb_loop_run's results (bench_blk_loop.S). */
#define BB_LOOP_BAD_ID		1
#define BB_LOOP_BAD_STATUS	2
#define BB_LOOP_BAD_DATA	3
#define BB_LOOP_TIMEOUT		4

#define BENCH_BLK_MAGIC	"TRZBLKPR"
#define QSIZE		256	/* the loop indexes the rings with 8 bits */
#define MAX_SLOTS	64	/* QSIZE / 4: requests in flight at most */
#define MAX_REQS	65536	/* requests per phase at most */
#define BUF_BYTES	(4u << 20)	/* all slots' data buffers together */
#define BLOCK		4096
#define BLOCK_SHIFT	3	/* 512-byte sectors per block: 1 << 3 */
#define LCG_A		1664525u	/* Numerical Recipes' 32-bit LCG */
#define LCG_C		1013904223u
#define LCG_SEED	0x2545f491u
#define CALIB_POLLS	4096

/* virtio-blk (virtio 1.2, 5.2.6). */
#define VIRTIO_BLK_T_IN		0
#define VIRTIO_BLK_T_OUT	1
#define VIRTIO_BLK_CFG_CAPACITY	0
#define VRING_AVAIL_F_NO_INTERRUPT 1	/* 2.7.7 */

struct blk_hdr {
	uint32_t type;
	uint32_t reserved;
	uint64_t sector;
};

/* The patchable parameters (bench.py finds the magic and rewrites the words). */
struct bb_params {
	char magic[8];
	uint32_t seq_kib;	/* sequential request size, KiB */
	uint32_t seq_qd;	/* sequential requests in flight (a power of 2) */
	uint32_t rand_n;	/* random 4 KiB reads per random phase */
	uint32_t rand_qd;	/* in flight in the second random phase (a power of 2) */
};

static volatile const struct bb_params params __attribute__((used, aligned(4))) = {
	BENCH_BLK_MAGIC, 256, 4, 4096, 16,
};

/* What bb_loop_run reads and writes; the offsets are in bench_blk_loop.S. */
struct bb_loop {
	uint32_t n;		/* 0: requests */
	uint32_t qd;		/* 4: in flight at most */
	uint32_t bad_id;	/* 8: bits no valid head id has */
	uint32_t next_avail;	/* 12: in and out */
	uint32_t last_used;	/* 16: in and out */
	uint32_t notify_port;	/* 20: 0: notify by a store to notify_addr */
	volatile uint16_t *notify_addr;	/* 24 */
	uint32_t polls;		/* 28: out */
	uint32_t notifies;	/* 32: out */
	uint32_t bad;		/* 36: out: the id, status or block that failed */
};

/* Shared with bench_blk_loop.S, hence not static. */
struct bb_loop bb_loop;
uint64_t bb_stall_start;
struct vring_desc bb_desc[QSIZE] __attribute__((aligned(4096)));
struct {
	uint16_t flags;
	uint16_t idx;
	uint16_t ring[QSIZE];
	uint16_t used_event;
} bb_avail __attribute__((aligned(4096)));
volatile struct {
	uint16_t flags;
	uint16_t idx;
	struct vring_used_elem ring[QSIZE];
	uint16_t avail_event;
} bb_used __attribute__((aligned(4096)));
/* Per slot, indexed by head id (4 x slot): see bench_blk_loop.S. */
struct blk_hdr bb_hdr[MAX_SLOTS];
volatile uint8_t bb_status[4 * MAX_SLOTS];
uint32_t bb_expect[MAX_SLOTS];
volatile uint32_t *bb_bufptr[MAX_SLOTS];
uint32_t bb_blocks[MAX_REQS];

int bb_loop_run(void);
uint32_t bb_calib_poll(uint32_t n);
int bb_stalled(void);

static uint8_t bufs[BUF_BYTES] __attribute__((aligned(4096)));

/* One phase: what it does. */
struct phase {
	const char *name;
	uint32_t type;		/* VIRTIO_BLK_T_IN or _OUT */
	uint32_t n;		/* requests */
	uint32_t qd;		/* in flight */
	uint32_t bytes;		/* per request */
	uint32_t first_block;	/* sequential: where it starts */
	uint32_t blocks;	/* random: the read area's size, a power of 2 */
	int random;
};

__attribute__((noreturn)) static void fail(uint8_t code, const char *what, uint32_t v)
{
	rt_puts("bench_blk: FAIL ");
	rt_puts(what);
	rt_putc(' ');
	rt_put_hex(v);
	rt_putc('\n');
	rt_debug_exit(code);
}

/* Called by the loop every POLL_ROUND polls without progress. */
int bb_stalled(void)
{
	uint64_t now = vio_rdtsc();

	if (!bb_stall_start) {
		bb_stall_start = now;
		return 0;
	}
	return now - bb_stall_start > VIO_TIMEOUT_TICKS;
}

/*
 * An I/O-port notify capability (4.1.4.4), if the device has one: its port
 * and multiplier. The library's vio_probe takes the first (preferred) one,
 * which for QEMU is the memory one.
 */
static int find_pio_notify(uint8_t slot, uint16_t *port, uint32_t *mult)
{
	uint8_t cap = pci_read8(slot, PCI_CAP_PTR) & 0xfc;

	for (int n = 0; cap >= 0x40 && n < 48; n++) {
		uint8_t next = pci_read8(slot, (uint8_t)(cap + 1)) & 0xfc;

		if (pci_read8(slot, cap) == PCI_CAP_ID_VNDR &&
		    pci_read8(slot, (uint8_t)(cap + 2)) >= 20 &&
		    pci_read8(slot, (uint8_t)(cap + 3)) == VIRTIO_CAP_NOTIFY) {
			uint8_t bar = pci_read8(slot, (uint8_t)(cap + 4));
			uint32_t off = pci_read32(slot, (uint8_t)(cap + 8));
			uint32_t lo = bar < 6 ? pci_read32(slot, (uint8_t)(PCI_BAR0 + 4 * bar)) : 0;

			if ((lo & PCI_BAR_IO) && (lo & ~3u) && (lo & ~3u) + off < 0x10000) {
				*port = (uint16_t)((lo & ~3u) + off);
				*mult = pci_read32(slot, (uint8_t)(cap + 16));
				return 0;
			}
		}
		cap = next;
	}
	return -1;
}

static void write_addr(struct vio_dev *d, uint32_t off, const volatile void *p)
{
	vio_write32(&d->common, off, (uint32_t)(uintptr_t)p);
	vio_write32(&d->common, off + 4, 0);
}

/* Queue 0 with QSIZE entries in the rings above; the notify target into bb_loop. */
static void queue_setup(struct vio_dev *d, uint16_t pio_port, uint32_t pio_mult)
{
	uint16_t max, off;

	vio_write16(&d->common, VCOMMON_Q_SELECT, 0);
	max = vio_read16(&d->common, VCOMMON_Q_SIZE);
	if (max < QSIZE)
		fail(BB_FAIL_SETUP, "queue 0 smaller than 256 entries:", max);
	bb_avail.flags = VRING_AVAIL_F_NO_INTERRUPT;
	vio_write16(&d->common, VCOMMON_Q_SIZE, QSIZE);
	write_addr(d, VCOMMON_Q_DESC, bb_desc);
	write_addr(d, VCOMMON_Q_AVAIL, &bb_avail);
	write_addr(d, VCOMMON_Q_USED, &bb_used);
	off = vio_read16(&d->common, VCOMMON_Q_NOTIFY_OFF);
	if (pio_port) {
		bb_loop.notify_port = (uint16_t)(pio_port + off * pio_mult);
	} else {
		if ((uint64_t)off * d->notify_mult + 2 > d->notify.len || d->notify.io)
			fail(BB_FAIL_SETUP, "notify region", off);
		bb_loop.notify_addr = (volatile uint16_t *)(uintptr_t)(d->notify.base +
								     (uint64_t)off * d->notify_mult);
	}
	vio_write16(&d->common, VCOMMON_Q_ENABLE, 1);
	if (vio_read16(&d->common, VCOMMON_Q_ENABLE) != 1)
		fail(BB_FAIL_SETUP, "queue 0 would not enable", 0);
}

/*
 * Before the clock starts: every slot's three descriptors, its buffer
 * pointer for the stamp check (writes check a word against itself), and
 * the list of blocks, sequential or from the LCG's upper bits within the
 * read area (bench/blk_limit.c draws the same sequence).
 */
static void phase_prepare(const struct phase *p)
{
	uint32_t x = LCG_SEED;

	for (uint32_t s = 0; s < p->qd; s++) {
		struct vring_desc *d = &bb_desc[4 * s];
		uint8_t *buf = &bufs[s * p->bytes];

		bb_hdr[s] = (struct blk_hdr){ p->type, 0, 0 };
		d[0] = (struct vring_desc){ (uintptr_t)&bb_hdr[s], sizeof(bb_hdr[s]),
					    VRING_DESC_F_NEXT, (uint16_t)(4 * s + 1) };
		d[1] = (struct vring_desc){ (uintptr_t)buf, p->bytes,
					    (uint16_t)(VRING_DESC_F_NEXT |
						       (p->type == VIRTIO_BLK_T_IN ?
								VRING_DESC_F_WRITE : 0)),
					    (uint16_t)(4 * s + 2) };
		d[2] = (struct vring_desc){ (uintptr_t)&bb_status[4 * s], 1, VRING_DESC_F_WRITE, 0 };
		bb_bufptr[s] = p->type == VIRTIO_BLK_T_IN ? (volatile uint32_t *)buf :
							    &bb_expect[s];
	}
	for (uint32_t i = 0; i < p->n; i++) {
		if (p->random) {
			x = x * LCG_A + LCG_C;
			bb_blocks[i] = (x >> 8) & (p->blocks - 1);
		} else {
			bb_blocks[i] = p->first_block + i * (p->bytes / BLOCK);
		}
	}
	bb_loop.n = p->n;
	bb_loop.qd = p->qd;
	bb_loop.bad_id = ~(4 * (p->qd - 1));
	bb_loop.polls = 0;
	bb_loop.notifies = 0;
}

static void run_phase(const struct phase *p)
{
	uint64_t t0, t1;
	int r;

	phase_prepare(p);
	t0 = vio_rdtsc();
	r = bb_loop_run();
	t1 = vio_rdtsc();
	switch (r) {
	case 0:
		break;
	case BB_LOOP_BAD_ID:
		fail(BB_FAIL_USED, "used entry with head id", bb_loop.bad);
	case BB_LOOP_BAD_STATUS:
		fail(BB_FAIL_IO, "request status", bb_loop.bad);
	case BB_LOOP_BAD_DATA:
		fail(BB_FAIL_DATA, "a read of block without its stamp:", bb_loop.bad);
	default:
		fail(BB_FAIL_TIMEOUT, "no completion; completions so far", bb_loop.bad);
	}
	rt_puts("bench_blk: ");
	rt_puts(p->name);
	rt_puts(" n=");
	rt_put_hex(p->n);
	rt_puts(" qd=");
	rt_put_hex(p->qd);
	rt_puts(" bytes=");
	rt_put_hex((uint64_t)p->n * p->bytes);
	rt_puts(" tsc=");
	rt_put_hex(t1 - t0);
	rt_puts(" polls=");
	rt_put_hex(bb_loop.polls);
	rt_puts(" notifies=");
	rt_put_hex(bb_loop.notifies);
	rt_putc('\n');
}

static void calibrate(void)
{
	uint64_t t0, t1;

	t0 = vio_rdtsc();
	bb_calib_poll(CALIB_POLLS);
	t1 = vio_rdtsc();
	rt_puts("bench_blk: calib polls=");
	rt_put_hex(CALIB_POLLS);
	rt_puts(" tsc=");
	rt_put_hex(t1 - t0);
	rt_putc('\n');
}

static int power_of_2(uint32_t v)
{
	return v && !(v & (v - 1));
}

int main(void)
{
	static struct vio_dev dev;
	uint32_t seq_kib = params.seq_kib, seq_qd = params.seq_qd;
	uint32_t rand_n = params.rand_n, rand_qd = params.rand_qd;
	uint32_t pio_mult = 0, area, seq_n;
	uint16_t pio_port = 0;
	uint64_t cap;
	uint8_t slot = 0;

	outb(COM1_THR, BENCH_MARKER);
	while (vio_find_next(&slot) != VIRTIO_ID_BLOCK)
		if (slot++ >= 31)
			fail(BB_FAIL_NODEV, "no virtio-blk, slot", slot);
	if (vio_probe(&dev, slot, VIRTIO_ID_BLOCK) != VIO_OK)
		fail(BB_FAIL_SETUP, "probe", slot);
	if (find_pio_notify(slot, &pio_port, &pio_mult) < 0)
		pio_port = 0;
	/*
	 * FLUSH, as every Linux driver negotiates it: without it the device
	 * must be write-through (virtio 1.2, 5.2.6.2), and both trapeze and
	 * QEMU then fdatasync every write, so seq_write would time the disk
	 * under the host's page cache instead of the VMM.
	 */
	if (vio_negotiate(&dev, 1ull << VIRTIO_BLK_F_FLUSH) != VIO_OK)
		fail(BB_FAIL_SETUP, "features", 0);
	if (!(dev.features & (1ull << VIRTIO_BLK_F_FLUSH)))
		fail(BB_FAIL_SETUP, "no VIRTIO_BLK_F_FLUSH: the device is write-through", 0);
	queue_setup(&dev, pio_port, pio_mult);
	if (vio_driver_ok(&dev) != VIO_OK)
		fail(BB_FAIL_SETUP, "DRIVER_OK", 0);
	cap = vio_config_read64(&dev, VIRTIO_BLK_CFG_CAPACITY);

	/* The read area: the largest power-of-2 number of blocks in the first half. */
	area = 1;
	while (((uint64_t)area * 2 * 2) << BLOCK_SHIFT <= cap)
		area *= 2;
	seq_n = seq_kib / 4 ? area / (seq_kib / 4) : 0;
	if (seq_kib < 4 || seq_kib % 4 || !power_of_2(seq_qd) || !power_of_2(rand_qd) ||
	    seq_qd > MAX_SLOTS || rand_qd > MAX_SLOTS || rand_n < 1 || rand_n > MAX_REQS ||
	    (uint64_t)seq_kib * 1024 * seq_qd > BUF_BYTES || (uint64_t)BLOCK * rand_qd > BUF_BYTES ||
	    seq_n < 1 || seq_n > MAX_REQS || area < 16)
		fail(BB_FAIL_PARAMS, "parameters or disk size; capacity", (uint32_t)cap);
	rt_puts("bench_blk: disk sectors=");
	rt_put_hex(cap);
	rt_puts(" area_blocks=");
	rt_put_hex(area);
	rt_puts(pio_port ? " notify=pio\n" : " notify=mmio\n");

	const struct phase phases[] = {
		{ .name = "seq_read", .type = VIRTIO_BLK_T_IN, .n = seq_n, .qd = seq_qd,
		  .bytes = seq_kib * 1024, .first_block = 0 },
		{ .name = "rand_read1", .type = VIRTIO_BLK_T_IN, .n = rand_n, .qd = 1,
		  .bytes = BLOCK, .blocks = area, .random = 1 },
		{ .name = "rand_readq", .type = VIRTIO_BLK_T_IN, .n = rand_n, .qd = rand_qd,
		  .bytes = BLOCK, .blocks = area, .random = 1 },
		{ .name = "seq_write", .type = VIRTIO_BLK_T_OUT, .n = seq_n, .qd = seq_qd,
		  .bytes = seq_kib * 1024, .first_block = area },
	};

	calibrate();
	for (unsigned int i = 0; i < sizeof(phases) / sizeof(phases[0]); i++)
		run_phase(&phases[i]);
	return BENCH_OK;
}

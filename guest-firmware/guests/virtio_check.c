/*
 * virtio_check: a virtio-pci driver in a tiny guest. It scans PCI bus 0
 * through ports 0xCF8/0xCFC for virtio devices (vendor 0x1AF4, device
 * 0x1040 + id), sets each one up through its vendor capabilities (lib/
 * virtio.h: one split queue, polled) and checks what it does:
 *
 *   virtio-blk (every disk)  capacity and GET_ID (the serial is printed);
 *                            sector 0 holds the test image's label and
 *                            pattern, the last sector its pattern; a read
 *                            one sector past the end fails with IOERR;
 *                            read-write disks: a sector in the middle is
 *                            written, read back and compared, then FLUSH;
 *                            read-only disks (VIRTIO_BLK_F_RO): a write
 *                            fails with IOERR and the sector is unchanged
 *   virtio-rng               64 bytes, not all equal
 *   virtio-console           one line through the transmitq (port 0)
 *
 * The test image (tests/boot/virtio-disk.img, made by
 * tests/boot/make-virtio-disk.sh): byte i of sector s is (s * 13 + i) mod
 * 256, except that sector 0 starts with the 32-byte DISK_LABEL. The
 * written sector becomes WRITE_LABEL followed by the pattern XORed with
 * 0xa5, so the host can find it in the file afterwards.
 *
 * All passed: debug-exit 0x60 (status 193). Each failure prints
 * "virtio_check: FAIL ..." and exits with its own value (below).
 */
#include "io.h"
#include "rt.h"
#include "virtio.h"

#define VC_OK			0x60	/* status 193 */
#define VC_FAIL_NODEV		0x61	/* 195: no virtio device on bus 0 */
#define VC_FAIL_CAPS		0x62	/* 197: capabilities or BARs unusable */
#define VC_FAIL_FEATURES	0x63	/* 199: no VERSION_1, or FEATURES_OK refused */
#define VC_FAIL_QUEUE		0x64	/* 201: queue missing or would not enable */
#define VC_FAIL_TIMEOUT		0x65	/* 203: a request never came back */
#define VC_FAIL_DEVICE		0x66	/* 205: DRIVER_OK refused, NEEDS_RESET, bad used entry */
#define VC_FAIL_SECTOR0		0x67	/* 207: sector 0 unreadable or not the test image's */
#define VC_FAIL_LAST		0x68	/* 209: the last sector unreadable or wrong */
#define VC_FAIL_WRITE		0x69	/* 211: a write failed or did not read back */
#define VC_FAIL_FLUSH		0x6a	/* 213: FLUSH failed */
#define VC_FAIL_GETID		0x6b	/* 215: GET_ID failed or gave no printable serial */
#define VC_FAIL_BOUNDS		0x6c	/* 217: a read past the end did not fail */
#define VC_FAIL_RO		0x6d	/* 219: a read-only disk took a write */
#define VC_FAIL_RNG		0x6e	/* 221: no bytes, or all equal */
#define VC_FAIL_CONSOLE		0x6f	/* 223: the console line was not taken */
#define VC_FAIL_SIZE		0x70	/* 225: a disk too small to test (< 4 sectors) */

#define MAX_DEVS		8
#define SECTOR			512
#define LABEL_LEN		32
#define DISK_LABEL		"TRAPEZE VIRTIO TEST DISK 1\n"
#define WRITE_LABEL		"virtio_check wrote this sector\n"
#define RNG_BYTES		64

/* virtio-blk (5.2.6): request types, status values, config offsets (5.2.4). */
#define VIRTIO_BLK_T_IN		0
#define VIRTIO_BLK_T_OUT	1
#define VIRTIO_BLK_T_FLUSH	4
#define VIRTIO_BLK_T_GET_ID	8
#define VIRTIO_BLK_S_OK		0
#define VIRTIO_BLK_S_IOERR	1
#define VIRTIO_BLK_ID_BYTES	20
#define VIRTIO_BLK_CFG_CAPACITY	0
#define VIRTIO_CONSOLE_TXQ	1	/* port 0's transmitq (5.3.2) */

struct blk_hdr {
	uint32_t type;
	uint32_t reserved;
	uint64_t sector;
};

/* One ring page per device: a device keeps its rings until the VM ends. */
static uint8_t ring_pages[MAX_DEVS][4096] __attribute__((aligned(4096)));
static uint8_t buf[SECTOR] __attribute__((aligned(SECTOR)));
static struct blk_hdr hdr;
static volatile uint8_t blk_status;

int main(void);

static void say(const char *what, unsigned int n, const char *rest)
{
	rt_puts("virtio_check: ");
	rt_puts(what);
	rt_put_dec(n);
	rt_puts(rest);
}

__attribute__((noreturn)) static void fail(uint8_t code, const char *what)
{
	rt_puts("virtio_check: FAIL ");
	rt_puts(what);
	rt_putc('\n');
	rt_debug_exit(code);
}

static void check_vio(enum vio_err e, const char *what)
{
	static const uint8_t codes[] = {
		[VIO_ERR_CAPS] = VC_FAIL_CAPS, [VIO_ERR_FEATURES] = VC_FAIL_FEATURES,
		[VIO_ERR_QUEUE] = VC_FAIL_QUEUE, [VIO_ERR_TIMEOUT] = VC_FAIL_TIMEOUT,
		[VIO_ERR_DEVICE] = VC_FAIL_DEVICE,
	};

	if (e == VIO_OK)
		return;
	rt_puts("virtio_check: FAIL ");
	rt_puts(what);
	rt_puts(": ");
	rt_puts(vio_err_name(e));
	rt_putc('\n');
	rt_debug_exit(codes[e]);
}

static uint8_t pattern(uint64_t sector, unsigned int i)
{
	return (uint8_t)(sector * 13 + i);
}

/* What the test image holds in sector s, or what the write test puts there. */
static uint8_t expected(uint64_t s, unsigned int i, int written)
{
	static const char disk_label[LABEL_LEN] = DISK_LABEL;
	static const char write_label[LABEL_LEN] = WRITE_LABEL;

	if (written)
		return i < LABEL_LEN ? (uint8_t)write_label[i] : pattern(s, i) ^ 0xa5;
	if (s == 0 && i < LABEL_LEN)
		return (uint8_t)disk_label[i];
	return pattern(s, i);
}

/* The first byte of buf that differs from sector s's expected content, or -1. */
static int compare(uint64_t s, int written)
{
	for (unsigned int i = 0; i < SECTOR; i++)
		if (buf[i] != expected(s, i, written))
			return (int)i;
	return -1;
}

static void report_mismatch(uint64_t s, int at, int written)
{
	say("mismatch in sector ", (unsigned int)s, " at byte ");
	rt_put_dec((unsigned int)at);
	rt_puts(": ");
	rt_put_hex(buf[at]);
	rt_puts(", want ");
	rt_put_hex(expected(s, (unsigned int)at, written));
	rt_putc('\n');
}

/*
 * One request: header, optional data (len bytes of buf, device-writable
 * when `in`), status byte. Returns the status the device wrote, and checks
 * the used length: header and data readable bytes are not counted (2.7.8.2),
 * so a read reports data + status, anything else the status byte alone.
 */
static uint8_t blk_request(struct vq *q, uint32_t type, uint64_t sector, void *data,
			   uint32_t len, int in, const char *what)
{
	struct vq_buf b[3];
	unsigned int n = 0;
	uint32_t written = 0;

	hdr.type = type;
	hdr.reserved = 0;
	hdr.sector = sector;
	blk_status = 0xff;
	b[n++] = (struct vq_buf){ &hdr, sizeof(hdr), 0 };
	if (len)
		b[n++] = (struct vq_buf){ data, len, in };
	b[n++] = (struct vq_buf){ (void *)&blk_status, 1, 1 };
	check_vio(vq_submit(q, b, n, &written), what);
	if (blk_status == 0xff)
		fail(VC_FAIL_DEVICE, "the device did not write the status byte");
	if (blk_status == VIRTIO_BLK_S_OK && written != (in ? len : 0) + 1) {
		rt_puts("virtio_check: used length ");
		rt_put_dec(written);
		rt_puts(", want ");
		rt_put_dec((in ? len : 0) + 1);
		rt_putc('\n');
		fail(VC_FAIL_DEVICE, what);
	}
	return blk_status;
}

static void blk_read_check(struct vq *q, uint64_t s, int written, uint8_t code, const char *what)
{
	int at;

	memset(buf, 0, sizeof(buf));
	if (blk_request(q, VIRTIO_BLK_T_IN, s, buf, SECTOR, 1, what) != VIRTIO_BLK_S_OK)
		fail(code, what);
	at = compare(s, written);
	if (at >= 0) {
		report_mismatch(s, at, written);
		fail(code, what);
	}
}

static void blk_get_id(struct vq *q, unsigned int n)
{
	static char id[VIRTIO_BLK_ID_BYTES + 1];
	unsigned int len;

	memset(id, 0, sizeof(id));
	if (blk_request(q, VIRTIO_BLK_T_GET_ID, 0, id, VIRTIO_BLK_ID_BYTES, 1, "GET_ID") !=
	    VIRTIO_BLK_S_OK)
		fail(VC_FAIL_GETID, "GET_ID status");
	for (len = 0; len < VIRTIO_BLK_ID_BYTES && id[len]; len++)
		if (id[len] < 0x20 || id[len] > 0x7e)
			fail(VC_FAIL_GETID, "GET_ID: unprintable serial");
	if (!len)
		fail(VC_FAIL_GETID, "GET_ID: empty serial");
	say("blk", n, ": serial ");
	rt_puts(id);
	rt_putc('\n');
}

static void blk_write_test(struct vq *q, unsigned int n, uint64_t s)
{
	for (unsigned int i = 0; i < SECTOR; i++)
		buf[i] = expected(s, i, 1);
	if (blk_request(q, VIRTIO_BLK_T_OUT, s, buf, SECTOR, 0, "write") != VIRTIO_BLK_S_OK)
		fail(VC_FAIL_WRITE, "write status");
	blk_read_check(q, s, 1, VC_FAIL_WRITE, "read back the written sector");
	say("blk", n, ": wrote sector ");
	rt_put_dec(s);
	rt_puts(", read it back: ok\n");
	if (!(q->dev->features & (1ull << VIRTIO_BLK_F_FLUSH))) {
		say("blk", n, ": no VIRTIO_BLK_F_FLUSH: flush skipped\n");
		return;
	}
	if (blk_request(q, VIRTIO_BLK_T_FLUSH, 0, (void *)0, 0, 0, "flush") != VIRTIO_BLK_S_OK)
		fail(VC_FAIL_FLUSH, "flush status");
	say("blk", n, ": flush ok\n");
}

/* 5.2.6.2: a device offering VIRTIO_BLK_F_RO fails writes and changes nothing. */
static void blk_ro_test(struct vq *q, unsigned int n)
{
	uint8_t st;

	for (unsigned int i = 0; i < SECTOR; i++)
		buf[i] = expected(1, i, 1);
	st = blk_request(q, VIRTIO_BLK_T_OUT, 1, buf, SECTOR, 0, "write to a read-only disk");
	if (st != VIRTIO_BLK_S_IOERR)
		fail(VC_FAIL_RO, "a read-only disk did not refuse a write with IOERR");
	blk_read_check(q, 1, 0, VC_FAIL_RO, "sector 1 of a read-only disk after a refused write");
	say("blk", n, ": read-only: write refused (IOERR), sector unchanged\n");
}

static void check_blk(struct vio_dev *d, void *page, unsigned int n)
{
	struct vq q;
	uint64_t cap;
	int ro;

	check_vio(vio_negotiate(d, (1ull << VIRTIO_BLK_F_FLUSH) | (1ull << VIRTIO_BLK_F_RO)),
		  "virtio-blk features");
	check_vio(vq_setup(&q, d, 0, page), "virtio-blk queue 0");
	check_vio(vio_driver_ok(d), "virtio-blk DRIVER_OK");
	ro = !!(d->features & (1ull << VIRTIO_BLK_F_RO));
	cap = vio_config_read64(d, VIRTIO_BLK_CFG_CAPACITY);
	say("blk", n, ": capacity ");
	rt_put_dec(cap);
	rt_puts(ro ? " sectors, read-only\n" : " sectors\n");
	if (cap < 4)
		fail(VC_FAIL_SIZE, "disk too small for the checks");
	blk_get_id(&q, n);

	blk_read_check(&q, 0, 0, VC_FAIL_SECTOR0, "sector 0");
	say("blk", n, ": sector 0: test-image label and pattern ok\n");
	blk_read_check(&q, cap - 1, 0, VC_FAIL_LAST, "last sector");
	say("blk", n, ": sector ");
	rt_put_dec(cap - 1);
	rt_puts(" (the last): pattern ok\n");
	if (blk_request(&q, VIRTIO_BLK_T_IN, cap, buf, SECTOR, 1, "read past the end") !=
	    VIRTIO_BLK_S_IOERR)
		fail(VC_FAIL_BOUNDS, "a read past the end did not fail with IOERR");
	say("blk", n, ": read past the end: IOERR\n");

	if (ro)
		blk_ro_test(&q, n);
	else
		blk_write_test(&q, n, cap / 2);
}

static void check_rng(struct vio_dev *d, void *page)
{
	static uint8_t bytes[RNG_BYTES];
	struct vq q;
	struct vq_buf b = { bytes, sizeof(bytes), 1 };
	uint32_t got = 0;
	unsigned int same = 0;

	check_vio(vio_negotiate(d, 0), "virtio-rng features");
	check_vio(vq_setup(&q, d, 0, page), "virtio-rng queue 0");
	check_vio(vio_driver_ok(d), "virtio-rng DRIVER_OK");
	check_vio(vq_submit(&q, &b, 1, &got), "virtio-rng request");
	if (got == 0 || got > sizeof(bytes))
		fail(VC_FAIL_RNG, "virtio-rng used length");
	for (unsigned int i = 1; i < got; i++)
		same += bytes[i] == bytes[0];
	/* 64 equal random bytes: about 2^-504. */
	if (got > 1 && same == got - 1)
		fail(VC_FAIL_RNG, "virtio-rng bytes all equal");
	rt_puts("virtio_check: rng: ");
	rt_put_dec(got);
	rt_puts(" bytes, not all equal\n");
}

static void check_console(struct vio_dev *d, void *page)
{
	static const char line[] = "virtio-console: hello from virtio_check\n";
	struct vq q;
	struct vq_buf b = { (void *)line, sizeof(line) - 1, 0 };
	uint32_t got = 0;

	check_vio(vio_negotiate(d, 0), "virtio-console features");
	/* Only the transmitq: nothing is read from the host. */
	check_vio(vq_setup(&q, d, VIRTIO_CONSOLE_TXQ, page), "virtio-console transmitq");
	check_vio(vio_driver_ok(d), "virtio-console DRIVER_OK");
	check_vio(vq_submit(&q, &b, 1, &got), "virtio-console line");
	if (got != 0)
		fail(VC_FAIL_CONSOLE, "virtio-console wrote into a read-only buffer");
	rt_puts("virtio_check: console: line sent\n");
}

int main(void)
{
	static struct vio_dev devs[MAX_DEVS];
	unsigned int nr = 0, disks = 0;
	uint8_t slot = 0;
	uint16_t id;

	rt_puts("virtio_check: scanning PCI bus 0\n");
	while (nr < MAX_DEVS && (id = vio_find_next(&slot)) != 0) {
		struct vio_dev *d = &devs[nr];

		say("slot ", slot, ": virtio device id ");
		rt_put_dec(id);
		rt_putc('\n');
		check_vio(vio_probe(d, slot, id), "probe");
		switch (id) {
		case VIRTIO_ID_BLOCK:
			check_blk(d, ring_pages[nr], disks++);
			break;
		case VIRTIO_ID_RNG:
			check_rng(d, ring_pages[nr]);
			break;
		case VIRTIO_ID_CONSOLE:
			check_console(d, ring_pages[nr]);
			break;
		default:
			rt_puts("virtio_check: (not tested)\n");
		}
		nr++;
		slot++;
	}
	if (!nr)
		fail(VC_FAIL_NODEV, "no virtio device on PCI bus 0");
	say("", nr, " virtio devices: all checks passed\n");
	return VC_OK;
}

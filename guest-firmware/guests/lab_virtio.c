/*
 * lab_virtio: the paravirtual half of lab 4, device emulation versus
 * paravirtualization (docs/labs/04-emulation-vs-paravirt). Run it with
 * `--console virtio`.
 *
 * It sends the same PAYLOAD_LINES lines as lab_uart, but through
 * virtio-console's port-0 transmitq (virtio 1.2, 5.3.2) with the tiny
 * guests' driver library (lib/virtio.h), each phase opened by a POST code
 * on port 0x80 and the report closed by POST code 8:
 *   5  the whole payload as one buffer: one notify;
 *   6  each line as its own submission: one notify per line;
 *   7  the lines as one chain of PAYLOAD_LINES buffers: one notify.
 * Device set-up (PCI scan, capabilities, feature negotiation, queue set-up)
 * happens before phase 5, so the phases hold only the transfers: writes to
 * the rings in RAM, one notify write each, and polling of the used ring.
 * The report goes to the UART (rt_puts), never to the virtio console.
 * Success: debug-exit LAB_VIRTIO_OK (status 111).
 */
#include "io.h"
#include "rt.h"
#include "virtio.h"

#define LAB_VIRTIO_OK		0x37	/* status 111 */
#define LAB_VIRTIO_FAIL		0x38	/* status 113: no console, or a driver error */
#define POST_PORT		0x80
#define PAYLOAD_LINES		4
#define VIRTIO_CONSOLE_TXQ	1	/* port 0's transmitq (5.3.2) */

int main(void);

static const char line[] = "lab4: the quick brown fox jumps over the lazy dog 0123456789\n";
#define LINE_LEN		(sizeof(line) - 1)

static char payload[PAYLOAD_LINES * LINE_LEN];
static uint8_t ring_page[4096] __attribute__((aligned(4096)));

__attribute__((noreturn)) static void fail(const char *what, enum vio_err e)
{
	rt_puts("lab4v: FAIL ");
	rt_puts(what);
	rt_puts(": ");
	rt_puts(vio_err_name(e));
	rt_putc('\n');
	rt_debug_exit(LAB_VIRTIO_FAIL);
}

static void submit(struct vq *q, const struct vq_buf *b, unsigned int n)
{
	uint32_t written = 0;
	enum vio_err e = vq_submit(q, b, n, &written);

	if (e != VIO_OK)
		fail("transmit", e);
}

/* Finds the console, negotiates VERSION_1 only and sets up the transmitq. */
static void console_setup(struct vio_dev *d, struct vq *q)
{
	uint8_t slot = 0;
	uint16_t id;
	enum vio_err e;

	while ((id = vio_find_next(&slot)) != 0 && id != VIRTIO_ID_CONSOLE)
		slot++;
	if (id != VIRTIO_ID_CONSOLE) {
		rt_puts("lab4v: FAIL no virtio-console on PCI bus 0 (run with --console virtio)\n");
		rt_debug_exit(LAB_VIRTIO_FAIL);
	}
	e = vio_probe(d, slot, id);
	if (e == VIO_OK)
		e = vio_negotiate(d, 0);
	if (e == VIO_OK)
		e = vq_setup(q, d, VIRTIO_CONSOLE_TXQ, ring_page);
	if (e == VIO_OK)
		e = vio_driver_ok(d);
	if (e != VIO_OK)
		fail("set-up", e);
}

int main(void)
{
	static struct vio_dev dev;
	static struct vq q;
	struct vq_buf b[PAYLOAD_LINES];
	unsigned int k;

	rt_puts("lab4v: start\n");
	for (k = 0; k < PAYLOAD_LINES; k++)
		memcpy(payload + k * LINE_LEN, line, LINE_LEN);
	console_setup(&dev, &q);

	/* Phase 5: one buffer holding every line, one notify. */
	outb(POST_PORT, 5);
	b[0] = (struct vq_buf){ payload, sizeof(payload), 0 };
	submit(&q, b, 1);

	/* Phase 6: one submission, and one notify, per line. */
	outb(POST_PORT, 6);
	for (k = 0; k < PAYLOAD_LINES; k++) {
		b[0] = (struct vq_buf){ (void *)line, LINE_LEN, 0 };
		submit(&q, b, 1);
	}

	/* Phase 7: one chain of a buffer per line, one notify. */
	outb(POST_PORT, 7);
	for (k = 0; k < PAYLOAD_LINES; k++)
		b[k] = (struct vq_buf){ (void *)line, LINE_LEN, 0 };
	submit(&q, b, PAYLOAD_LINES);

	outb(POST_PORT, 8);
	rt_puts("lab4v: payload ");
	rt_put_dec(PAYLOAD_LINES * LINE_LEN);
	rt_puts(" bytes per method (");
	rt_put_dec(PAYLOAD_LINES);
	rt_puts(" lines of ");
	rt_put_dec(LINE_LEN);
	rt_puts("), notifies 1, ");
	rt_put_dec(PAYLOAD_LINES);
	rt_puts(", 1\nlab4v: done\n");
	rt_debug_exit(LAB_VIRTIO_OK);
}

/*
 * Unit tests for virtio-console (one port): transmitq chains from a fake
 * driver come out of a pipe, host input goes into receiveq buffers (at once,
 * or from the backlog once buffers arrive), emergency writes, reset; the
 * console thread feeding the device through a console_sink; --console and
 * the kernel command line it implies.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "check_main.h"
#include "fake_driver.h"
#include "trapeze/boot.h"
#include "trapeze/config.h"
#include "trapeze/console.h"
#include "trapeze/virtio/console.h"
#include "virtio_rig.h"

struct rig {
	struct fake_driver rx, tx;	/* queue 0 and queue 1, one guest memory */
	struct virtio_console con;
	struct vrig_irqs irqs;
	int out[2];			/* pipe: the device writes out[1] */
	u16 rx_used, tx_used;
	char tapped[256];		/* what the tap saw */
	size_t nr_tapped;
};

static void tap_byte(void *opaque, u8 byte)
{
	struct rig *r = opaque;

	if (r->nr_tapped < sizeof(r->tapped))
		r->tapped[r->nr_tapped++] = (char)byte;
}

static void rig_create(struct rig *r, bool event_idx, u16 cols, u16 rows)
{
	memset(r, 0, sizeof(*r));
	fd_init(&r->rx, 16, event_idx);
	vrig_second_ring(&r->tx, &r->rx);
	ck_assert_int_eq(pipe2(r->out, O_NONBLOCK), 0);
	ck_assert_int_eq(virtio_console_create(&r->con, r->out[1], cols, rows, &r->rx.mem), 0);
	r->con.tap = (struct virtio_console_tap){ .byte = tap_byte, .opaque = r };
	vrig_attach(&r->con.vd, &r->irqs);
}

static void rig_start(struct rig *r)
{
	struct fake_driver *fds[2] = { &r->rx, &r->tx };

	vrig_start(&r->con.vd, fds, 2, 0);
}

static void rig_init(struct rig *r, bool event_idx)
{
	rig_create(r, event_idx, 0, 0);
	rig_start(r);
}

static void rig_destroy(struct rig *r)
{
	virtio_console_destroy(&r->con);
	close(r->out[0]);
	close(r->out[1]);
	fd_destroy(&r->rx);
}

/* Reads what the device has written to the pipe so far. */
static size_t drain_out(struct rig *r, char *buf, size_t len)
{
	ssize_t n = read(r->out[0], buf, len);

	return n < 0 ? 0 : (size_t)n;
}

/* The guest prints: a transmitq chain of the given texts. */
static void guest_print(struct rig *r, const char *const *texts, unsigned int n)
{
	struct fd_buf bufs[8];
	u64 gpas[8];
	u16 head;

	for (unsigned int i = 0; i < n; i++)
		bufs[i] = (struct fd_buf){ (u32)strlen(texts[i]), false };
	head = fd_add(&r->tx, bufs, n, gpas);
	for (unsigned int i = 0; i < n; i++)
		memcpy(fd_host(&r->tx, gpas[i], bufs[i].len), texts[i], bufs[i].len);
	fd_publish(&r->tx, head);
	virtio_dev_kick(&r->con.vd, VIRTIO_CONSOLE_TX_QUEUE);
	vrig_wait_used(&r->tx, ++r->tx_used);
	ck_assert_uint_eq(fd_used_elem(&r->tx, (u16)(r->tx_used - 1)).len, 0);
}

/*
 * The guest's port comes up: it prints, and (settle time 0) input opens at
 * once. Its output is read off the pipe.
 */
static void open_input(struct rig *r)
{
	static const char *const dot[] = { "." };
	char out[8];

	r->con.settle_ns = 0;
	guest_print(r, dot, 1);
	ck_assert_uint_eq(drain_out(r, out, sizeof(out)), 1);
}

/* Zeroes both rings and the fake drivers' indices, as a new driver after a reset. */
static void fresh_rings(struct rig *r)
{
	struct fake_driver *fds[2] = { &r->rx, &r->tx };

	for (int i = 0; i < 2; i++) {
		struct fake_driver *fd = fds[i];

		memset(fd_host(fd, fd->avail, VIRTQ_AVAIL_BYTES(fd->size)), 0,
		       VIRTQ_AVAIL_BYTES(fd->size));
		memset(fd_host(fd, fd->used, VIRTQ_USED_BYTES(fd->size)), 0,
		       VIRTQ_USED_BYTES(fd->size));
		fd->avail_idx = 0;
		fd->next_desc = 0;
	}
	r->rx_used = r->tx_used = 0;
}

/* The driver offers a receive buffer of len bytes; returns its gpa. */
static u64 add_rx_buffer(struct rig *r, u32 len, bool kick)
{
	struct fd_buf buf = { len, true };
	u64 gpa;

	fd_publish(&r->rx, fd_add(&r->rx, &buf, 1, &gpa));
	if (kick)
		virtio_dev_kick(&r->con.vd, VIRTIO_CONSOLE_RX_QUEUE);
	return gpa;
}

/* Checks that rx chain number n came back holding text. */
static void check_rx(struct rig *r, u16 n, u64 gpa, const char *text)
{
	size_t len = strlen(text);

	ck_assert_uint_gt(fd_used_idx(&r->rx), n);
	ck_assert_uint_eq(fd_used_elem(&r->rx, n).len, len);
	ck_assert_mem_eq(fd_host(&r->rx, gpa, len), text, len);
}

START_TEST(test_device)
{
	struct rig r;
	struct virtio_console_config c;

	rig_create(&r, false, 0, 0);
	ck_assert_uint_eq(virtio_console_ops.device_id, VIRTIO_ID_CONSOLE);
	ck_assert_uint_eq(virtio_console_ops.nr_queues, 2);
	ck_assert(r.con.vd.device_features & (1ULL << VIRTIO_CONSOLE_F_EMERG_WRITE));
	ck_assert(!(r.con.vd.device_features & (1ULL << VIRTIO_CONSOLE_F_MULTIPORT)));
	ck_assert(!(r.con.vd.device_features & (1ULL << VIRTIO_CONSOLE_F_SIZE)));
	rig_destroy(&r);

	/* With a terminal size: F_SIZE, cols then rows as Linux reads them. */
	rig_create(&r, false, 132, 43);
	ck_assert(r.con.vd.device_features & (1ULL << VIRTIO_CONSOLE_F_SIZE));
	pthread_mutex_lock(&r.con.vd.lock);
	ck_assert_int_eq(virtio_dev_config_read(&r.con.vd, 0, &c, sizeof(c)), 0);
	pthread_mutex_unlock(&r.con.vd.lock);
	ck_assert_uint_eq(c.cols, 132);
	ck_assert_uint_eq(c.rows, 43);
	ck_assert_uint_eq(c.max_nr_ports, 1);
	ck_assert_uint_eq(c.emerg_wr, 0);
	rig_destroy(&r);
}
END_TEST

START_TEST(test_transmit)
{
	struct rig r;
	static const char *const one[] = { "hello, ", "hvc0", "\n" };
	static const char *const two[] = { "second line\n" };
	char out[256];
	size_t n;

	rig_init(&r, false);
	guest_print(&r, one, 3);
	guest_print(&r, two, 1);
	n = drain_out(&r, out, sizeof(out));
	ck_assert_uint_eq(n, strlen("hello, hvc0\nsecond line\n"));
	ck_assert_mem_eq(out, "hello, hvc0\nsecond line\n", n);
	/* The tap saw the same bytes in the same order. */
	ck_assert_uint_eq(r.nr_tapped, n);
	ck_assert_mem_eq(r.tapped, out, n);
	ck_assert_int_gt(atomic_load(&r.irqs.queue[VIRTIO_CONSOLE_TX_QUEUE]), 0);
	rig_destroy(&r);
}
END_TEST

START_TEST(test_transmit_ignores_writable)
{
	struct rig r;
	struct fd_buf bufs[2] = { { 3, false }, { 8, true } };
	u64 gpas[2];
	char out[32];
	u16 head;

	rig_init(&r, false);
	head = fd_add(&r.tx, bufs, 2, gpas);
	memcpy(fd_host(&r.tx, gpas[0], 3), "ok\n", 3);
	fd_publish(&r.tx, head);
	virtio_dev_kick(&r.con.vd, VIRTIO_CONSOLE_TX_QUEUE);
	vrig_wait_used(&r.tx, 1);
	ck_assert_uint_eq(drain_out(&r, out, sizeof(out)), 3);
	ck_assert_mem_eq(out, "ok\n", 3);
	rig_destroy(&r);
}
END_TEST

START_TEST(test_receive)
{
	struct rig r;
	u64 a, b, c;

	rig_init(&r, false);
	open_input(&r);
	a = add_rx_buffer(&r, 4, true);
	b = add_rx_buffer(&r, 4, true);
	c = add_rx_buffer(&r, 64, true);
	ck_assert_uint_eq(fd_used_idx(&r.rx), 0);	/* no input yet: buffers kept */
	/* Ten bytes: the first two buffers fill, the third takes the rest. */
	ck_assert_uint_eq(virtio_console_receive(&r.con, (const u8 *)"abcdefghij", 10), 10);
	ck_assert_uint_eq(fd_used_idx(&r.rx), 3);
	check_rx(&r, 0, a, "abcd");
	check_rx(&r, 1, b, "efgh");
	check_rx(&r, 2, c, "ij");
	ck_assert_int_gt(atomic_load(&r.irqs.queue[VIRTIO_CONSOLE_RX_QUEUE]), 0);
	rig_destroy(&r);
}
END_TEST

START_TEST(test_receive_backlog)
{
	struct rig r;
	u8 big[VIRTIO_CONSOLE_BACKLOG + 100];
	u64 a, b;

	rig_init(&r, false);
	open_input(&r);
	/* No buffers: input waits, up to the backlog's size. */
	ck_assert_uint_eq(virtio_console_receive(&r.con, (const u8 *)"ls\r", 3), 3);
	ck_assert_uint_eq(fd_used_idx(&r.rx), 0);
	memset(big, 'x', sizeof(big));
	ck_assert_uint_eq(virtio_console_receive(&r.con, big, sizeof(big)),
			  VIRTIO_CONSOLE_BACKLOG - 3);
	ck_assert_uint_eq(virtio_console_receive(&r.con, big, 1), 0);
	/* The driver's buffers arrive with a kick: the oldest bytes first. */
	a = add_rx_buffer(&r, 2, true);
	check_rx(&r, 0, a, "ls");
	b = add_rx_buffer(&r, 4, true);
	check_rx(&r, 1, b, "\rxxx");
	ck_assert_uint_eq(virtio_console_receive(&r.con, big, sizeof(big)), 6);
	rig_destroy(&r);
}
END_TEST

START_TEST(test_input_held_until_port_ready)
{
	struct rig r;
	static const char *const hello[] = { "login: " };
	struct timespec ms = { .tv_nsec = 1000000 };
	char out[16];
	u64 a;

	rig_create(&r, false, 0, 0);
	r.con.settle_ns = 50 * 1000000LL;
	/* Before the driver, and before the guest's port has printed: nothing taken. */
	ck_assert_uint_eq(virtio_console_receive(&r.con, (const u8 *)"root\n", 5), 0);
	rig_start(&r);
	a = add_rx_buffer(&r, 16, true);
	ck_assert_uint_eq(virtio_console_receive(&r.con, (const u8 *)"root\n", 5), 0);
	/* The port prints; input still waits for the settle time... */
	guest_print(&r, hello, 1);
	ck_assert_uint_eq(drain_out(&r, out, sizeof(out)), 7);
	ck_assert_uint_eq(virtio_console_receive(&r.con, (const u8 *)"root\n", 5), 0);
	ck_assert_uint_eq(fd_used_idx(&r.rx), 0);
	/* ...then goes straight into the posted buffer. */
	for (int i = 0; i < 60; i++)
		nanosleep(&ms, NULL);
	ck_assert_uint_eq(virtio_console_receive(&r.con, (const u8 *)"root\n", 5), 5);
	check_rx(&r, 0, a, "root\n");
	ck_assert_int_eq(VIRTIO_CONSOLE_SETTLE_NS, 500000000LL);
	rig_destroy(&r);
}
END_TEST

START_TEST(test_buffers_posted_before_driver_ready)
{
	struct rig r;
	u64 a;

	/*
	 * Linux posts its receive buffers before DRIVER_OK, when it may not
	 * notify (3.1.1): input goes into them without a kick, and with
	 * buffers used up the device asks for a kick at the next one.
	 */
	rig_create(&r, true, 0, 0);
	a = add_rx_buffer(&r, 4, false);
	rig_start(&r);
	open_input(&r);
	ck_assert_uint_eq(virtio_console_receive(&r.con, (const u8 *)"early\n", 6), 6);
	check_rx(&r, 0, a, "earl");
	ck_assert_uint_eq(fd_used_idx(&r.rx), 1);
	/* The rest waits; the next buffer must be kicked (avail_event moved). */
	{
		u16 old = r.rx.avail_idx;
		u64 b = add_rx_buffer(&r, 4, false);

		ck_assert(fd_kick_needed(&r.rx, old, r.rx.avail_idx));
		virtio_dev_kick(&r.con.vd, VIRTIO_CONSOLE_RX_QUEUE);
		check_rx(&r, 1, b, "y\n");
	}
	rig_destroy(&r);
}
END_TEST

START_TEST(test_receive_event_idx)
{
	struct rig r;
	u16 old;
	u64 a;

	rig_init(&r, true);
	open_input(&r);
	/* Input with no buffer: the device asks for a kick at the next buffer (2.7.10). */
	ck_assert_uint_eq(virtio_console_receive(&r.con, (const u8 *)"q", 1), 1);
	old = r.rx.avail_idx;
	a = add_rx_buffer(&r, 8, false);
	ck_assert(fd_kick_needed(&r.rx, old, r.rx.avail_idx));
	virtio_dev_kick(&r.con.vd, VIRTIO_CONSOLE_RX_QUEUE);
	check_rx(&r, 0, a, "q");
	rig_destroy(&r);
}
END_TEST

START_TEST(test_emergency_write)
{
	struct rig r;
	u32 v = 'E';
	u8 b = '!';
	char out[8];

	rig_create(&r, false, 0, 0);
	/* Allowed before the driver set anything up (5.3.5.1); only the low byte counts. */
	pthread_mutex_lock(&r.con.vd.lock);
	ck_assert_int_eq(virtio_dev_config_write(&r.con.vd, 8, &v, 4), 0);
	ck_assert_int_eq(virtio_dev_config_write(&r.con.vd, 8, &b, 1), 0);
	/* Writes elsewhere change nothing and print nothing. */
	ck_assert_int_eq(virtio_dev_config_write(&r.con.vd, 0, &v, 4), 0);
	pthread_mutex_unlock(&r.con.vd.lock);
	ck_assert_uint_eq(drain_out(&r, out, sizeof(out)), 2);
	ck_assert_mem_eq(out, "E!", 2);
	rig_destroy(&r);
}
END_TEST

START_TEST(test_reset)
{
	struct rig r;
	u64 a;

	rig_init(&r, false);
	open_input(&r);
	add_rx_buffer(&r, 8, true);
	ck_assert_uint_eq(virtio_console_receive(&r.con, (const u8 *)"zz", 2), 2);
	ck_assert_uint_eq(fd_used_idx(&r.rx), 1);
	vrig_reset(&r.con.vd);
	/* After a reset the old rings are not touched, and the next port must come up first. */
	ck_assert_uint_eq(virtio_console_receive(&r.con, (const u8 *)"yy", 2), 0);
	fresh_rings(&r);
	rig_start(&r);
	ck_assert_uint_eq(virtio_console_receive(&r.con, (const u8 *)"yy", 2), 0);
	open_input(&r);
	a = add_rx_buffer(&r, 8, true);
	ck_assert_uint_eq(virtio_console_receive(&r.con, (const u8 *)"yy", 2), 2);
	check_rx(&r, 0, a, "yy");
	rig_destroy(&r);
}
END_TEST

START_TEST(test_malformed_rings)
{
	struct rig r;

	rig_init(&r, false);
	fd_publish(&r.tx, 99);	/* head past the 16-entry queue */
	virtio_dev_kick(&r.con.vd, VIRTIO_CONSOLE_TX_QUEUE);
	ck_assert(virtio_dev_status(&r.con.vd) & VIRTIO_CONFIG_S_NEEDS_RESET);
	rig_destroy(&r);

	rig_init(&r, false);
	open_input(&r);
	fd_publish(&r.rx, 99);
	ck_assert_uint_eq(virtio_console_receive(&r.con, (const u8 *)"a", 1), 1);
	ck_assert(virtio_dev_status(&r.con.vd) & VIRTIO_CONFIG_S_NEEDS_RESET);
	rig_destroy(&r);
}
END_TEST

/* ---- the console thread feeding the device through its sink ---- */

START_TEST(test_console_thread_feeds_sink)
{
	struct rig r;
	struct console con;
	struct console_sink sink;
	struct timespec ms = { .tv_nsec = 1000000 };
	int in[2];
	u64 a;

	rig_init(&r, false);
	ck_assert_int_eq(pipe(in), 0);
	sink = (struct console_sink){ .receive = virtio_console_receive, .opaque = &r.con };
	ck_assert_int_eq(console_start_sink(&con, NULL, sink, in[0]), 0);
	a = add_rx_buffer(&r, 32, true);
	/*
	 * Typed before the guest's port is up: the console thread holds it (the
	 * device takes nothing yet)... Ctrl-A Ctrl-A is one Ctrl-A for the guest.
	 */
	ck_assert_int_eq(write(in[1], "echo hi\x01\x01\r", 10), 10);
	for (int i = 0; i < 50; i++)
		nanosleep(&ms, NULL);
	ck_assert_uint_eq(fd_used_idx(&r.rx), 0);
	/* ...and delivers it, retrying, once the port has printed. */
	open_input(&r);
	for (int i = 0; i < 5000 && fd_used_idx(&r.rx) == 0; i++)
		nanosleep(&ms, NULL);
	console_stop(&con);
	ck_assert_uint_eq(fd_used_idx(&r.rx), 1);
	check_rx(&r, 0, a, "echo hi\x01\r");
	close(in[0]);
	close(in[1]);
	rig_destroy(&r);
}
END_TEST

/* A sink that takes one byte per call: the console thread must retry the rest, in order. */
struct slow_sink {
	pthread_mutex_t lock;
	char got[64];
	size_t n;
};

static size_t slow_receive(void *opaque, const u8 *buf, size_t len)
{
	struct slow_sink *s = opaque;

	if (!len)
		return 0;
	pthread_mutex_lock(&s->lock);
	if (s->n < sizeof(s->got))
		s->got[s->n++] = (char)buf[0];
	pthread_mutex_unlock(&s->lock);
	return 1;
}

START_TEST(test_console_sink_partial)
{
	struct slow_sink s = { .n = 0 };
	struct console con;
	struct timespec ms = { .tv_nsec = 1000000 };
	int in[2];
	size_t n = 0;

	pthread_mutex_init(&s.lock, NULL);
	ck_assert_int_eq(pipe(in), 0);
	ck_assert_int_eq(console_start_sink(&con, NULL,
					    (struct console_sink){ slow_receive, &s }, in[0]), 0);
	ck_assert_int_eq(write(in[1], "abcdef", 6), 6);
	for (int i = 0; i < 5000 && n < 6; i++) {
		nanosleep(&ms, NULL);
		pthread_mutex_lock(&s.lock);
		n = s.n;
		pthread_mutex_unlock(&s.lock);
	}
	console_stop(&con);
	ck_assert_uint_eq(s.n, 6);
	ck_assert_mem_eq(s.got, "abcdef", 6);
	close(in[0]);
	close(in[1]);
}
END_TEST

/* ---- --console and the command line ---- */

START_TEST(test_console_option_and_cmdline)
{
	struct vm_config cfg;
	char err[CONFIG_ERR_LEN];
	char *plain[] = { "trapeze", "run", "-k", "k", "-p", "quiet", NULL };
	char *virtio[] = { "trapeze", "run", "-k", "k", "--console", "virtio", NULL };
	char *serial[] = { "trapeze", "run", "-k", "k", "--console=serial", NULL };
	char *bad[] = { "trapeze", "run", "-k", "k", "--console", "hvc", NULL };
	char *line;

	ck_assert_int_eq(config_parse(&cfg, 6, plain, err, sizeof(err)), 0);
	ck_assert_int_eq(cfg.console, CONFIG_CONSOLE_SERIAL);
	line = boot_cmdline(&cfg);
	ck_assert_str_eq(line, "console=ttyS0 quiet");
	free(line);

	ck_assert_int_eq(config_parse(&cfg, 6, virtio, err, sizeof(err)), 0);
	ck_assert_int_eq(cfg.console, CONFIG_CONSOLE_VIRTIO);
	line = boot_cmdline(&cfg);
	ck_assert_str_eq(line, "console=hvc0 earlycon=uart8250,io,0x3f8,115200");
	free(line);

	ck_assert_int_eq(config_parse(&cfg, 5, serial, err, sizeof(err)), 0);
	ck_assert_int_eq(cfg.console, CONFIG_CONSOLE_SERIAL);
	ck_assert_int_eq(config_parse(&cfg, 6, bad, err, sizeof(err)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "bad --console 'hvc' (serial or virtio)"));
	ck_assert_ptr_nonnull(strstr(config_run_usage(), "--console DEV"));
}
END_TEST

static Suite *virtio_console_suite(void)
{
	Suite *s = suite_create("virtio_console");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_device);
	tcase_add_test(tc, test_transmit);
	tcase_add_test(tc, test_transmit_ignores_writable);
	tcase_add_test(tc, test_receive);
	tcase_add_test(tc, test_receive_backlog);
	tcase_add_test(tc, test_input_held_until_port_ready);
	tcase_add_test(tc, test_buffers_posted_before_driver_ready);
	tcase_add_test(tc, test_receive_event_idx);
	tcase_add_test(tc, test_emergency_write);
	tcase_add_test(tc, test_reset);
	tcase_add_test(tc, test_malformed_rings);
	tcase_add_test(tc, test_console_thread_feeds_sink);
	tcase_add_test(tc, test_console_sink_partial);
	tcase_add_test(tc, test_console_option_and_cmdline);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return check_run(virtio_console_suite());
}

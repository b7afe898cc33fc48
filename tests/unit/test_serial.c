/*
 * Unit tests for the 16550A UART model: register semantics, transmit to a
 * pipe, receive through the FIFO and backlog, and the level the device
 * drives on a recording fake irq_line.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check_main.h"
#include "trapeze/devices/serial.h"

/* Register offsets and bits, spelled out from the PC16550D datasheet. */
#define RBR 0
#define THR 0
#define DLL 0
#define IER 1
#define DLM 1
#define IIR 2
#define FCR 2
#define LCR 3
#define MCR 4
#define LSR 5
#define MSR 6
#define SCR 7

#define IER_ERBFI 0x01
#define IER_ETBEI 0x02
#define IER_ELSI 0x04
#define IER_EDSSI 0x08
#define LCR_DLAB 0x80
#define MCR_DTR 0x01
#define MCR_RTS 0x02
#define MCR_OUT1 0x04
#define MCR_OUT2 0x08
#define MCR_LOOP 0x10
#define LSR_DR 0x01
#define LSR_OE 0x02
#define LSR_THRE 0x20
#define LSR_TEMT 0x40

#define TEST_GSI 4

/* The fake interrupt line: records every call the device makes. */
struct irq_rec {
	int level;
	int calls;
	int raises;
	u32 gsi;
};

static void irq_rec_set(void *opaque, u32 gsi, int level)
{
	struct irq_rec *rec = opaque;

	rec->calls++;
	if (level && !rec->level)
		rec->raises++;
	rec->level = level;
	rec->gsi = gsi;
}

/* A device wired to a recorder and a pipe whose read end we drain. */
struct fixture {
	struct serial s;
	struct irq_rec rec;
	int pipe_rd;
	int pipe_wr;
};

static void fixture_init(struct fixture *f)
{
	int fds[2];
	struct irq_line line;

	memset(f, 0, sizeof(*f));
	ck_assert_int_eq(pipe2(fds, O_NONBLOCK), 0);
	/* Only the read end is non-blocking; the device writes a blocking fd. */
	ck_assert_int_eq(fcntl(fds[1], F_SETFL, 0), 0);
	f->pipe_rd = fds[0];
	f->pipe_wr = fds[1];
	line.set = irq_rec_set;
	line.opaque = &f->rec;
	line.gsi = TEST_GSI;
	ck_assert_int_eq(serial_init(&f->s, f->pipe_wr, line), 0);
}

static void fixture_fini(struct fixture *f)
{
	serial_destroy(&f->s);
	close(f->pipe_rd);
	close(f->pipe_wr);
}

static void reg_write(struct fixture *f, u64 off, u8 val)
{
	serial_bus_ops.write(&f->s, off, &val, 1);
}

static u8 reg_read(struct fixture *f, u64 off)
{
	u8 val = 0x5a;

	serial_bus_ops.read(&f->s, off, &val, 1);
	return val;
}

/* Reads what the device wrote to out_fd; returns the byte count. */
static ssize_t pipe_drain(struct fixture *f, char *buf, size_t len)
{
	ssize_t n = read(f->pipe_rd, buf, len);

	if (n < 0 && errno == EAGAIN)
		return 0;
	return n;
}

static void receive_all(struct fixture *f, const char *text)
{
	size_t len = strlen(text);

	ck_assert_uint_eq(serial_receive(&f->s, (const u8 *)text, len), len);
}

START_TEST(test_reset_state)
{
	struct fixture f;

	fixture_init(&f);
	ck_assert_uint_eq(reg_read(&f, LSR), LSR_THRE | LSR_TEMT);
	ck_assert_uint_eq(reg_read(&f, IIR), 0x01);
	ck_assert_uint_eq(reg_read(&f, IER), 0);
	ck_assert_uint_eq(reg_read(&f, LCR), 0);
	ck_assert_uint_eq(reg_read(&f, MCR), 0);
	/* A connected terminal: CTS, DSR and DCD, no deltas. */
	ck_assert_uint_eq(reg_read(&f, MSR), 0xb0);
	ck_assert_int_eq(f.rec.calls, 0);
	fixture_fini(&f);
}
END_TEST

START_TEST(test_thr_write_reaches_out_fd)
{
	struct fixture f;
	char buf[16];
	const char *msg = "hi\n";

	fixture_init(&f);
	for (const char *p = msg; *p; p++)
		reg_write(&f, THR, (u8)*p);
	ck_assert_int_eq(pipe_drain(&f, buf, sizeof(buf)), 3);
	ck_assert_mem_eq(buf, msg, 3);
	/* Sent at once: holding and shift registers are empty again. */
	ck_assert_uint_eq(reg_read(&f, LSR), LSR_THRE | LSR_TEMT);
	fixture_fini(&f);
}
END_TEST

START_TEST(test_thr_write_to_no_fd_is_dropped)
{
	struct fixture f;
	struct irq_line line = { .set = irq_rec_set, .opaque = &f.rec };

	fixture_init(&f);
	serial_destroy(&f.s);
	ck_assert_int_eq(serial_init(&f.s, -1, line), 0);
	reg_write(&f, THR, 'x');
	ck_assert_uint_eq(reg_read(&f, LSR), LSR_THRE | LSR_TEMT);
	ck_assert_uint_eq(reg_read(&f, LSR) & LSR_DR, 0);
	fixture_fini(&f);
}
END_TEST

START_TEST(test_dlab_switches_divisor_latch)
{
	struct fixture f;
	char buf[4];

	fixture_init(&f);
	reg_write(&f, IER, IER_ERBFI | IER_ELSI);
	reg_write(&f, LCR, LCR_DLAB | 0x03);
	reg_write(&f, DLL, 0x0c);
	reg_write(&f, DLM, 0x01);
	ck_assert_uint_eq(reg_read(&f, DLL), 0x0c);
	ck_assert_uint_eq(reg_read(&f, DLM), 0x01);
	/* The DLL write was not a transmission. */
	ck_assert_int_eq(pipe_drain(&f, buf, sizeof(buf)), 0);

	reg_write(&f, LCR, 0x03);
	ck_assert_uint_eq(reg_read(&f, LCR), 0x03);
	ck_assert_uint_eq(reg_read(&f, IER), IER_ERBFI | IER_ELSI);
	/* With DLAB clear, offset 0 is THR/RBR again. */
	reg_write(&f, THR, 'z');
	ck_assert_int_eq(pipe_drain(&f, buf, sizeof(buf)), 1);
	ck_assert_int_eq(buf[0], 'z');
	receive_all(&f, "q");
	ck_assert_uint_eq(reg_read(&f, RBR), 'q');

	/* And the divisor survived. */
	reg_write(&f, LCR, LCR_DLAB);
	ck_assert_uint_eq(reg_read(&f, DLL), 0x0c);
	ck_assert_uint_eq(reg_read(&f, DLM), 0x01);
	fixture_fini(&f);
}
END_TEST

START_TEST(test_ier_and_mcr_reserved_bits_read_zero)
{
	struct fixture f;

	fixture_init(&f);
	reg_write(&f, IER, 0xff);
	ck_assert_uint_eq(reg_read(&f, IER), 0x0f);
	reg_write(&f, MCR, 0xff);
	ck_assert_uint_eq(reg_read(&f, MCR), 0x1f);
	fixture_fini(&f);
}
END_TEST

START_TEST(test_scratch_register)
{
	struct fixture f;

	fixture_init(&f);
	reg_write(&f, SCR, 0xa5);
	ck_assert_uint_eq(reg_read(&f, SCR), 0xa5);
	reg_write(&f, SCR, 0x3c);
	ck_assert_uint_eq(reg_read(&f, SCR), 0x3c);
	fixture_fini(&f);
}
END_TEST

START_TEST(test_receive_then_read_rbr)
{
	struct fixture f;

	fixture_init(&f);
	ck_assert_uint_eq(reg_read(&f, LSR) & LSR_DR, 0);
	receive_all(&f, "A");
	ck_assert_uint_eq(reg_read(&f, LSR) & LSR_DR, LSR_DR);
	ck_assert_uint_eq(reg_read(&f, RBR), 'A');
	ck_assert_uint_eq(reg_read(&f, LSR) & LSR_DR, 0);
	fixture_fini(&f);
}
END_TEST

/* Sends 100 bytes, reads them all back in order. */
static void check_fifo_order(bool fifo)
{
	struct fixture f;
	u8 in[100];
	size_t i;

	fixture_init(&f);
	if (fifo)
		reg_write(&f, FCR, 0x01);
	for (i = 0; i < sizeof(in); i++)
		in[i] = (u8)(i * 7 + 3);
	ck_assert_uint_eq(serial_receive(&f.s, in, sizeof(in)), sizeof(in));
	for (i = 0; i < sizeof(in); i++) {
		ck_assert_uint_eq(reg_read(&f, LSR) & LSR_DR, LSR_DR);
		ck_assert_uint_eq(reg_read(&f, RBR), in[i]);
	}
	ck_assert_uint_eq(reg_read(&f, LSR) & LSR_DR, 0);
	fixture_fini(&f);
}

START_TEST(test_fifo_backlog_order_fifo_mode)
{
	check_fifo_order(true);
}
END_TEST

START_TEST(test_fifo_backlog_order_character_mode)
{
	check_fifo_order(false);
}
END_TEST

START_TEST(test_receive_interleaved_keeps_order)
{
	struct fixture f;
	const char *expect = "abcdefghijklmnopqrstuvwxyz0123456789";
	char got[64];
	size_t n = 0;

	fixture_init(&f);
	reg_write(&f, FCR, 0x01);
	receive_all(&f, "abcdefghijklmnopqrst");	/* 16 in FIFO, 4 queued */
	got[n++] = (char)reg_read(&f, RBR);
	got[n++] = (char)reg_read(&f, RBR);
	receive_all(&f, "uvwxyz0123456789");	/* must land behind the queue */
	while (reg_read(&f, LSR) & LSR_DR)
		got[n++] = (char)reg_read(&f, RBR);
	ck_assert_uint_eq(n, strlen(expect));
	ck_assert_mem_eq(got, expect, n);
	fixture_fini(&f);
}
END_TEST

START_TEST(test_receive_stops_when_backlog_full)
{
	struct fixture f;
	static u8 big[SERIAL_FIFO_LEN + SERIAL_BACKLOG_LEN + 100];

	fixture_init(&f);
	reg_write(&f, FCR, 0x01);
	memset(big, 'b', sizeof(big));
	ck_assert_uint_eq(serial_receive(&f.s, big, sizeof(big)),
			  SERIAL_FIFO_LEN + SERIAL_BACKLOG_LEN);
	ck_assert_uint_eq(serial_receive(&f.s, big, 1), 0);
	/* Reading one byte makes room for exactly one more. */
	ck_assert_uint_eq(reg_read(&f, RBR), 'b');
	ck_assert_uint_eq(serial_receive(&f.s, big, 2), 1);
	/* The host never overruns the receiver. */
	ck_assert_uint_eq(reg_read(&f, LSR) & LSR_OE, 0);
	fixture_fini(&f);
}
END_TEST

/* The event-loop thread feeds input while a "vCPU" thread drains it. */
#define STRESS_LEN 50000

static void *stress_producer(void *arg)
{
	struct serial *s = arg;
	u8 chunk[37];
	size_t sent = 0, i, n, off;

	while (sent < STRESS_LEN) {
		n = STRESS_LEN - sent < sizeof(chunk) ? STRESS_LEN - sent :
							 sizeof(chunk);
		for (i = 0; i < n; i++)
			chunk[i] = (u8)((sent + i) % 251);
		for (off = 0; off < n;) {
			off += serial_receive(s, chunk + off, n - off);
			if (off < n)
				sched_yield();	/* full: wait for the reader */
		}
		sent += n;
	}
	return NULL;
}

START_TEST(test_concurrent_receive_and_read)
{
	struct fixture f;
	pthread_t producer;
	size_t got = 0;
	u8 byte;

	fixture_init(&f);
	reg_write(&f, FCR, 0x01);
	ck_assert_int_eq(pthread_create(&producer, NULL, stress_producer, &f.s), 0);
	while (got < STRESS_LEN) {
		if (!(reg_read(&f, LSR) & LSR_DR)) {
			sched_yield();
			continue;
		}
		byte = reg_read(&f, RBR);
		ck_assert_uint_eq(byte, got % 251);
		got++;
	}
	ck_assert_int_eq(pthread_join(producer, NULL), 0);
	ck_assert_uint_eq(reg_read(&f, LSR) & (LSR_DR | LSR_OE), 0);
	fixture_fini(&f);
}
END_TEST

START_TEST(test_rx_irq_raised_and_lowered)
{
	struct fixture f;
	int i;

	fixture_init(&f);
	reg_write(&f, MCR, MCR_OUT2);
	reg_write(&f, IER, IER_ERBFI);
	ck_assert_int_eq(f.rec.level, 0);
	ck_assert_int_eq(f.rec.calls, 0);

	receive_all(&f, "0123456789abcdefXYZ");	/* 16 + 3 in the backlog */
	ck_assert_int_eq(f.rec.level, 1);
	ck_assert_uint_eq(f.rec.gsi, TEST_GSI);
	ck_assert_uint_eq(reg_read(&f, IIR), 0x04);
	/* The line stays up while data remains, with no redundant calls. */
	for (i = 0; i < 18; i++) {
		reg_read(&f, RBR);
		ck_assert_int_eq(f.rec.level, 1);
	}
	ck_assert_uint_eq(reg_read(&f, RBR), 'Z');
	ck_assert_int_eq(f.rec.level, 0);
	ck_assert_int_eq(f.rec.calls, 2);
	ck_assert_uint_eq(reg_read(&f, IIR), 0x01);
	fixture_fini(&f);
}
END_TEST

START_TEST(test_rx_irq_follows_ier)
{
	struct fixture f;

	fixture_init(&f);
	reg_write(&f, MCR, MCR_OUT2);
	receive_all(&f, "k");
	ck_assert_int_eq(f.rec.level, 0);
	ck_assert_uint_eq(reg_read(&f, IIR), 0x01);
	reg_write(&f, IER, IER_ERBFI);
	ck_assert_int_eq(f.rec.level, 1);
	reg_write(&f, IER, 0);
	ck_assert_int_eq(f.rec.level, 0);
	fixture_fini(&f);
}
END_TEST

START_TEST(test_thre_irq_cleared_by_iir_read)
{
	struct fixture f;

	fixture_init(&f);
	reg_write(&f, MCR, MCR_OUT2);
	reg_write(&f, IER, IER_ETBEI);
	ck_assert_int_eq(f.rec.level, 1);
	ck_assert_uint_eq(reg_read(&f, IIR), 0x02);
	ck_assert_int_eq(f.rec.level, 0);
	ck_assert_uint_eq(reg_read(&f, IIR), 0x01);

	/* A THR write sends at once, so THRE is pending again. */
	reg_write(&f, THR, '.');
	ck_assert_int_eq(f.rec.level, 1);
	ck_assert_int_eq(f.rec.raises, 2);
	ck_assert_uint_eq(reg_read(&f, IIR), 0x02);
	ck_assert_int_eq(f.rec.level, 0);

	/* Re-enabling ETBEI re-asserts it (Linux's UART_BUG_THRE probe). */
	reg_write(&f, IER, 0);
	reg_write(&f, IER, IER_ETBEI);
	ck_assert_int_eq(f.rec.level, 1);
	ck_assert_uint_eq(reg_read(&f, IIR), 0x02);
	fixture_fini(&f);
}
END_TEST

START_TEST(test_iir_priority_rx_over_thre)
{
	struct fixture f;

	fixture_init(&f);
	reg_write(&f, MCR, MCR_OUT2);
	reg_write(&f, IER, IER_ERBFI | IER_ETBEI);
	receive_all(&f, "r");
	/* Received data outranks THRE; reading IIR then keeps THRE. */
	ck_assert_uint_eq(reg_read(&f, IIR), 0x04);
	ck_assert_uint_eq(reg_read(&f, IIR), 0x04);
	ck_assert_uint_eq(reg_read(&f, RBR), 'r');
	ck_assert_int_eq(f.rec.level, 1);
	ck_assert_uint_eq(reg_read(&f, IIR), 0x02);
	ck_assert_int_eq(f.rec.level, 0);
	fixture_fini(&f);
}
END_TEST

START_TEST(test_no_irq_without_out2)
{
	struct fixture f;

	fixture_init(&f);
	reg_write(&f, IER, IER_ERBFI | IER_ETBEI);
	receive_all(&f, "n");
	/* Pending inside the chip, but the PC's OUT2 gate is closed. */
	ck_assert_uint_eq(reg_read(&f, IIR), 0x04);
	ck_assert_int_eq(f.rec.calls, 0);
	reg_write(&f, MCR, MCR_OUT2);
	ck_assert_int_eq(f.rec.level, 1);
	reg_write(&f, MCR, 0);
	ck_assert_int_eq(f.rec.level, 0);
	ck_assert_int_eq(f.rec.calls, 2);
	fixture_fini(&f);
}
END_TEST

START_TEST(test_loopback)
{
	struct fixture f;
	char buf[4];

	fixture_init(&f);
	reg_write(&f, MCR, MCR_LOOP | MCR_RTS | MCR_OUT2);
	/* Linux's 8250 probe: RTS -> CTS, OUT2 -> DCD. */
	ck_assert_uint_eq(reg_read(&f, MSR) & 0xf0, 0x90);
	reg_write(&f, MCR, MCR_LOOP | MCR_DTR | MCR_OUT1);
	ck_assert_uint_eq(reg_read(&f, MSR) & 0xf0, 0x60);

	reg_write(&f, THR, 'L');
	ck_assert_int_eq(pipe_drain(&f, buf, sizeof(buf)), 0);
	ck_assert_uint_eq(reg_read(&f, LSR), LSR_DR | LSR_THRE | LSR_TEMT);
	ck_assert_uint_eq(reg_read(&f, RBR), 'L');

	/* Host input waits while the receiver is disconnected. */
	receive_all(&f, "h");
	ck_assert_uint_eq(reg_read(&f, LSR) & LSR_DR, 0);
	reg_write(&f, MCR, 0);
	ck_assert_uint_eq(reg_read(&f, LSR) & LSR_DR, LSR_DR);
	ck_assert_uint_eq(reg_read(&f, RBR), 'h');
	/* Out of loopback, output goes to out_fd again. */
	reg_write(&f, THR, 'o');
	ck_assert_int_eq(pipe_drain(&f, buf, sizeof(buf)), 1);
	ck_assert_int_eq(buf[0], 'o');
	fixture_fini(&f);
}
END_TEST

START_TEST(test_loopback_irq_gated)
{
	struct fixture f;

	fixture_init(&f);
	reg_write(&f, IER, IER_ERBFI);
	reg_write(&f, MCR, MCR_LOOP | MCR_OUT2);
	reg_write(&f, THR, 'g');
	/* Visible in IIR, but the OUT2 pin is forced inactive in loopback. */
	ck_assert_uint_eq(reg_read(&f, IIR), 0x04);
	ck_assert_int_eq(f.rec.level, 0);
	reg_write(&f, MCR, MCR_OUT2);
	ck_assert_int_eq(f.rec.level, 1);
	ck_assert_uint_eq(reg_read(&f, RBR), 'g');
	ck_assert_int_eq(f.rec.level, 0);
	fixture_fini(&f);
}
END_TEST

START_TEST(test_loopback_overrun)
{
	struct fixture f;
	int i;

	fixture_init(&f);
	reg_write(&f, FCR, 0x01);
	reg_write(&f, IER, IER_ELSI | IER_ERBFI);
	reg_write(&f, MCR, MCR_LOOP);
	for (i = 0; i < SERIAL_FIFO_LEN + 1; i++)
		reg_write(&f, THR, (u8)('a' + i));
	/* Line status outranks received data; reading LSR clears OE. */
	ck_assert_uint_eq(reg_read(&f, IIR), 0xc6);
	ck_assert_uint_eq(reg_read(&f, LSR) & (LSR_OE | LSR_DR), LSR_OE | LSR_DR);
	ck_assert_uint_eq(reg_read(&f, LSR) & LSR_OE, 0);
	ck_assert_uint_eq(reg_read(&f, IIR), 0xc4);
	/* In FIFO mode the character that overran is the one lost. */
	for (i = 0; i < SERIAL_FIFO_LEN; i++)
		ck_assert_uint_eq(reg_read(&f, RBR), (u8)('a' + i));
	ck_assert_uint_eq(reg_read(&f, LSR) & LSR_DR, 0);
	fixture_fini(&f);
}
END_TEST

START_TEST(test_loopback_overrun_character_mode)
{
	struct fixture f;

	fixture_init(&f);
	reg_write(&f, MCR, MCR_LOOP);
	reg_write(&f, THR, '1');
	reg_write(&f, THR, '2');
	ck_assert_uint_eq(reg_read(&f, LSR) & LSR_OE, LSR_OE);
	/* Without a FIFO the new character overwrites the unread one. */
	ck_assert_uint_eq(reg_read(&f, RBR), '2');
	ck_assert_uint_eq(reg_read(&f, LSR) & (LSR_DR | LSR_OE), 0);
	fixture_fini(&f);
}
END_TEST

START_TEST(test_modem_status_deltas)
{
	struct fixture f;

	fixture_init(&f);
	reg_write(&f, IER, IER_EDSSI);
	reg_write(&f, MCR, MCR_OUT2);
	ck_assert_int_eq(f.rec.level, 0);
	/* Loopback with all outputs low: CTS, DSR, DCD drop. */
	reg_write(&f, MCR, MCR_LOOP);
	ck_assert_uint_eq(reg_read(&f, IIR), 0x00);
	ck_assert_uint_eq(reg_read(&f, MSR), 0x0b);
	ck_assert_uint_eq(reg_read(&f, MSR), 0x00);
	ck_assert_uint_eq(reg_read(&f, IIR), 0x01);
	/* RI follows OUT1; only its trailing edge sets TERI. */
	reg_write(&f, MCR, MCR_LOOP | MCR_OUT1);
	ck_assert_uint_eq(reg_read(&f, MSR), 0x40);
	reg_write(&f, MCR, MCR_LOOP);
	ck_assert_uint_eq(reg_read(&f, MSR), 0x04);
	/* Leaving loopback with OUT2 set: lines come back, IRQ raised. */
	reg_write(&f, MCR, MCR_OUT2);
	ck_assert_int_eq(f.rec.level, 1);
	ck_assert_uint_eq(reg_read(&f, MSR), 0xbb);
	ck_assert_int_eq(f.rec.level, 0);
	fixture_fini(&f);
}
END_TEST

START_TEST(test_iir_fifo_bits)
{
	struct fixture f;

	fixture_init(&f);
	ck_assert_uint_eq(reg_read(&f, IIR), 0x01);
	reg_write(&f, FCR, 0x01);
	ck_assert_uint_eq(reg_read(&f, IIR), 0xc1);
	/* Bit 0 clear: FIFOs off, the other bits are not programmed. */
	reg_write(&f, FCR, 0xc6);
	ck_assert_uint_eq(reg_read(&f, IIR), 0x01);
	fixture_fini(&f);
}
END_TEST

START_TEST(test_fifo_trigger_level_and_timeout)
{
	struct fixture f;
	int i;

	fixture_init(&f);
	reg_write(&f, MCR, MCR_OUT2);
	reg_write(&f, IER, IER_ERBFI);
	reg_write(&f, FCR, 0x81);	/* FIFO on, trigger level 8 */
	receive_all(&f, "abc");
	/* Below the trigger: reported as a (timeless) character timeout. */
	ck_assert_uint_eq(reg_read(&f, IIR), 0xcc);
	ck_assert_int_eq(f.rec.level, 1);
	receive_all(&f, "defgh");
	ck_assert_uint_eq(reg_read(&f, IIR), 0xc4);
	reg_read(&f, RBR);
	ck_assert_uint_eq(reg_read(&f, IIR), 0xcc);
	for (i = 0; i < 7; i++)
		reg_read(&f, RBR);
	ck_assert_uint_eq(reg_read(&f, IIR), 0xc1);
	ck_assert_int_eq(f.rec.level, 0);
	fixture_fini(&f);
}
END_TEST

START_TEST(test_fcr_clear_rx)
{
	struct fixture f;

	fixture_init(&f);
	reg_write(&f, FCR, 0x01);
	receive_all(&f, "0123456789abcdefNEXT");
	/* Clearing drops the FIFO's 16; the queued input moves up. */
	reg_write(&f, FCR, 0x03);
	ck_assert_uint_eq(reg_read(&f, RBR), 'N');
	ck_assert_uint_eq(reg_read(&f, RBR), 'E');
	ck_assert_uint_eq(reg_read(&f, RBR), 'X');
	ck_assert_uint_eq(reg_read(&f, RBR), 'T');
	ck_assert_uint_eq(reg_read(&f, LSR) & LSR_DR, 0);
	fixture_fini(&f);
}
END_TEST

START_TEST(test_bad_lengths)
{
	struct fixture f;
	u32 val32 = 0;
	u16 val16 = 0;
	u16 w = 0x4142;
	u8 val8 = 0;
	char buf[4];

	fixture_init(&f);
	reg_write(&f, SCR, 0x11);
	serial_bus_ops.read(&f.s, SCR, &val16, 2);
	ck_assert_uint_eq(val16, 0xffff);
	serial_bus_ops.read(&f.s, RBR, &val32, 4);
	ck_assert_uint_eq(val32, 0xffffffff);
	serial_bus_ops.write(&f.s, SCR, &w, 2);
	ck_assert_uint_eq(reg_read(&f, SCR), 0x11);
	serial_bus_ops.write(&f.s, THR, &w, 2);
	ck_assert_int_eq(pipe_drain(&f, buf, sizeof(buf)), 0);
	/* Offsets past the 8 ports (the bus should never send them). */
	serial_bus_ops.read(&f.s, SERIAL_NR_PORTS, &val8, 1);
	ck_assert_uint_eq(val8, 0xff);
	serial_bus_ops.write(&f.s, 1000, &val8, 1);
	ck_assert_uint_eq(reg_read(&f, IER), 0);
	fixture_fini(&f);
}
END_TEST

static Suite *serial_suite(void)
{
	Suite *s = suite_create("serial");
	TCase *regs = tcase_create("registers");
	TCase *rx = tcase_create("receive");
	TCase *irq = tcase_create("interrupts");
	TCase *loop = tcase_create("loopback");

	tcase_add_test(regs, test_reset_state);
	tcase_add_test(regs, test_thr_write_reaches_out_fd);
	tcase_add_test(regs, test_thr_write_to_no_fd_is_dropped);
	tcase_add_test(regs, test_dlab_switches_divisor_latch);
	tcase_add_test(regs, test_ier_and_mcr_reserved_bits_read_zero);
	tcase_add_test(regs, test_scratch_register);
	tcase_add_test(regs, test_iir_fifo_bits);
	tcase_add_test(regs, test_bad_lengths);
	suite_add_tcase(s, regs);

	tcase_add_test(rx, test_receive_then_read_rbr);
	tcase_add_test(rx, test_fifo_backlog_order_fifo_mode);
	tcase_add_test(rx, test_fifo_backlog_order_character_mode);
	tcase_add_test(rx, test_receive_interleaved_keeps_order);
	tcase_add_test(rx, test_receive_stops_when_backlog_full);
	tcase_add_test(rx, test_fcr_clear_rx);
	tcase_add_test(rx, test_concurrent_receive_and_read);
	suite_add_tcase(s, rx);

	tcase_add_test(irq, test_rx_irq_raised_and_lowered);
	tcase_add_test(irq, test_rx_irq_follows_ier);
	tcase_add_test(irq, test_thre_irq_cleared_by_iir_read);
	tcase_add_test(irq, test_iir_priority_rx_over_thre);
	tcase_add_test(irq, test_no_irq_without_out2);
	tcase_add_test(irq, test_fifo_trigger_level_and_timeout);
	tcase_add_test(irq, test_modem_status_deltas);
	suite_add_tcase(s, irq);

	tcase_add_test(loop, test_loopback);
	tcase_add_test(loop, test_loopback_irq_gated);
	tcase_add_test(loop, test_loopback_overrun);
	tcase_add_test(loop, test_loopback_overrun_character_mode);
	suite_add_tcase(s, loop);
	return s;
}

int main(void)
{
	return check_run(serial_suite());
}

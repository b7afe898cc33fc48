/*
 * lab_uart: the emulated-device half of lab 4, device emulation versus
 * paravirtualization (docs/labs/04-emulation-vs-paravirt).
 *
 * It sends the same PAYLOAD_LINES lines through the 16550A UART three ways,
 * each phase opened by a POST code on port 0x80 (so a trace can be cut into
 * phases) and the report closed by POST code 4:
 *   1  polled, one byte at a time: read LSR until THRE, write THR
 *      (what the runtime's rt_putc does): two port exits per byte;
 *   2  FIFO-aware: one LSR read, then up to 16 bytes into the 16550A's
 *      transmit FIFO (THRE set means the FIFO is empty; 16550A datasheet);
 *   3  string I/O: `rep outsb` of each line to THR, one instruction.
 * Every exit is one trip guest -> KVM -> trapeze -> KVM -> guest. A virtio
 * console moves a whole buffer per notification instead: that half of the
 * lab is lab_virtio.c, phases 5-7.
 * Success: debug-exit LAB_UART_OK (status 105).
 */
#include "io.h"
#include "rt.h"

#define LAB_UART_OK		0x34
#define POST_PORT		0x80
#define COM1			0x3f8
#define UART_THR		0
#define UART_LSR		5
#define UART_LSR_THRE		0x20	/* 16550A: THR (and FIFO) empty */
#define UART_FIFO_DEPTH		16	/* 16550A transmit FIFO */
#define PAYLOAD_LINES		4

int main(void);

static const char line[] = "lab4: the quick brown fox jumps over the lazy dog 0123456789\n";
#define LINE_LEN		(sizeof(line) - 1)

static void send_polled(void)
{
	unsigned int i;

	for (i = 0; i < LINE_LEN; i++) {
		while (!(inb(COM1 + UART_LSR) & UART_LSR_THRE))
			;
		outb(COM1 + UART_THR, (uint8_t)line[i]);
	}
}

static void send_fifo(void)
{
	unsigned int i = 0, n;

	while (i < LINE_LEN) {
		while (!(inb(COM1 + UART_LSR) & UART_LSR_THRE))
			;
		for (n = 0; n < UART_FIFO_DEPTH && i < LINE_LEN; n++, i++)
			outb(COM1 + UART_THR, (uint8_t)line[i]);
	}
}

static void send_string(void)
{
	const void *src = line;
	unsigned long n = LINE_LEN;

	/* The emulated UART takes a byte whenever it comes: no THRE polling. */
	__asm__ volatile("rep outsb"
			 : "+S"(src), "+c"(n)
			 : "d"((uint16_t)(COM1 + UART_THR))
			 : "memory");
}

int main(void)
{
	static void (*const methods[3])(void) = { send_polled, send_fifo, send_string };
	unsigned int m, k;

	rt_puts("lab4: start\n");
	for (m = 0; m < 3; m++) {
		outb(POST_PORT, (uint8_t)(m + 1));
		for (k = 0; k < PAYLOAD_LINES; k++)
			methods[m]();
	}
	outb(POST_PORT, 4);
	rt_puts("lab4: payload ");
	rt_put_dec(PAYLOAD_LINES * LINE_LEN);
	rt_puts(" bytes per method (");
	rt_put_dec(PAYLOAD_LINES);
	rt_puts(" lines of ");
	rt_put_dec(LINE_LEN);
	rt_puts("), fifo depth ");
	rt_put_dec(UART_FIFO_DEPTH);
	rt_puts("\nlab4: done\n");
	rt_debug_exit(LAB_UART_OK);
}

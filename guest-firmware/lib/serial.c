/*
 * serial: polled output on COM1. No UART set-up: trapeze's 16550A needs
 * none, and every instruction at CPL 0 costs about 1 us on the kvm_pvm host.
 * Lines end in a bare "\n" (no "\r"), so captured output is plain text.
 */
#include "io.h"
#include "rt.h"

#define COM1		0x3f8
#define UART_THR	0	/* transmit holding register (DLAB = 0) */
#define UART_LSR	5	/* line status register */
#define UART_LSR_THRE	0x20	/* THR empty: 16550A datasheet, LSR bit 5 */

void rt_putc(char c)
{
	while (!(inb(COM1 + UART_LSR) & UART_LSR_THRE))
		;
	outb(COM1 + UART_THR, (uint8_t)c);
}

void rt_puts(const char *s)
{
	while (*s)
		rt_putc(*s++);
}

void rt_put_hex(uint64_t v)
{
	static const char digits[] = "0123456789abcdef";
	int shift = 60;

	rt_puts("0x");
	while (shift > 0 && !(v >> shift))
		shift -= 4;
	for (; shift >= 0; shift -= 4)
		rt_putc(digits[(v >> shift) & 0xf]);
}

void rt_put_dec(unsigned long v)
{
	char buf[24];
	int i = 0;

	do {
		buf[i++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	while (i > 0)
		rt_putc(buf[--i]);
}

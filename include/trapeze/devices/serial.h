/*
 * serial: a 16550A UART (the COM1 the guest's console uses).
 *
 * Full register set (RBR/THR, IER, IIR/FCR, LCR, MCR, LSR, MSR, SCR, DLL/DLM),
 * 16-byte receive FIFO, transmit straight to out_fd, interrupts on the
 * irq_line (level: raised while an enabled interrupt is pending).
 * Loopback mode (MCR bit 4) feeds transmitted bytes back to the receiver.
 *
 * Host input arrives through serial_receive() from the event loop thread;
 * register accesses arrive from vCPU threads through the bus. Both take
 * s->lock, which is a leaf lock (nothing else is taken while holding it).
 */
#ifndef TRAPEZE_DEVICES_SERIAL_H
#define TRAPEZE_DEVICES_SERIAL_H

#include <pthread.h>

#include "trapeze/bus.h"
#include "trapeze/irq.h"
#include "trapeze/types.h"

#define SERIAL_COM1_BASE 0x3f8
#define SERIAL_COM1_IRQ 4
#define SERIAL_NR_PORTS 8
#define SERIAL_FIFO_LEN 16
#define SERIAL_BACKLOG_LEN 4096	/* host input waiting for FIFO space */

/*
 * An observer of every transmitted byte (e.g. --stop-on). Called with the
 * serial lock held: it must not call back into the UART.
 */
struct serial_tap {
	void (*byte)(void *opaque, u8 byte);
	void *opaque;
};

struct serial {
	pthread_mutex_t lock;
	int out_fd;			/* where the guest's output goes; -1 drops it */
	struct serial_tap tap;		/* set before vCPUs run; may be empty */
	struct irq_line irq;
	int irq_level;			/* last level driven on irq */

	/* Registers (16550A datasheet names). */
	u8 ier, lcr, mcr, lsr, msr, scr, dll, dlm, fcr;
	bool thr_ipending;		/* THRE interrupt pending until IIR read or THR write */

	/* Receive FIFO (only the first byte is used with FIFOs disabled). */
	u8 rx_fifo[SERIAL_FIFO_LEN];
	unsigned int rx_head, rx_count;

	/* Host input not yet in the FIFO, so pasted text is not lost. */
	u8 backlog[SERIAL_BACKLOG_LEN];
	unsigned int bl_head, bl_count;
};

/* 0 or -errno. */
int serial_init(struct serial *s, int out_fd, struct irq_line irq);
void serial_destroy(struct serial *s);

/* Register accesses; offsets 0..7 from the base port, len 1 (others read all-ones). */
extern const struct bus_ops serial_bus_ops;

/*
 * Queues host input for the guest. Returns how many bytes were taken; fewer
 * than len when the FIFO and backlog are full (the caller may retry later).
 */
size_t serial_receive(struct serial *s, const u8 *buf, size_t len);

#endif

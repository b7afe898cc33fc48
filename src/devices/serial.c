/*
 * serial: a 16550A UART, modelled on the National Semiconductor PC16550D
 * datasheet (June 1995). Section numbers below refer to that datasheet:
 * Table II (summary of registers), Table IV (reset configuration),
 * 8.1 LCR, 8.4 LSR, 8.5 FCR, 8.6 IIR, 8.7 IER, 8.8 MCR, 8.9 MSR, 8.10 SCR,
 * 8.11 FIFO interrupt mode operation.
 *
 * What is modelled and what is not:
 * - Transmission takes no time: a THR write goes straight to out_fd, so the
 *   transmitter holding and shift registers are always empty (LSR THRE and
 *   TEMT always set) and the THRE interrupt is pending again right after
 *   every THR write. The transmit FIFO therefore never holds anything.
 * - Host input is a "wire" that never overruns: serial_receive() puts bytes
 *   into the receive FIFO while there is room and keeps the rest in a 4 KiB
 *   backlog, moved into the FIFO as the guest reads RBR. Only loopback (a
 *   guest talking to itself) can overrun, exactly as on hardware.
 * - There is no notion of time, so the character timeout interrupt (8.11)
 *   is taken to have expired at once: with FIFOs enabled, data below the
 *   trigger level is reported as a character timeout (IIR 0xC), data at or
 *   above it as received data available (IIR 0x4). Both are enabled by
 *   IER.ERBFI, so the guest is told about every byte, whatever trigger
 *   level it picked, and still sees the IIR codes a real part would give.
 * - No parity, framing or break errors (the wire is perfect); LSR bit 7
 *   (error in receiver FIFO) is never set. The divisor and LCR line
 *   settings are stored and read back but change nothing.
 * - The IRQ pin is the PC's: the chip's INTR output passes through a gate
 *   driven by the OUT2 pin. In loopback the datasheet (8.8) forces the
 *   modem control output pins inactive, so OUT2 is inactive and the gate is
 *   closed: loopback interrupts are visible in IIR but do not reach the
 *   interrupt controller, as on a real PC.
 *
 * Locking: s->lock (a leaf lock) guards all state. irq_line_set() is called
 * with it held: it is a KVM_IRQ_LINE ioctl (or a test recorder) that never
 * calls back into the device, and calling it under the lock keeps the level
 * seen by the interrupt controller in step with irq_level.
 */
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>

#include "trapeze/devices/serial.h"

/* Register offsets from the base port (Table II). */
#define UART_RBR 0	/* read, DLAB=0 */
#define UART_THR 0	/* write, DLAB=0 */
#define UART_DLL 0	/* DLAB=1 */
#define UART_IER 1	/* DLAB=0 */
#define UART_DLM 1	/* DLAB=1 */
#define UART_IIR 2	/* read */
#define UART_FCR 2	/* write */
#define UART_LCR 3
#define UART_MCR 4
#define UART_LSR 5
#define UART_MSR 6
#define UART_SCR 7

/* 8.7 Interrupt Enable Register; bits 7:4 always read 0. */
#define UART_IER_ERBFI 0x01	/* received data available (and timeout) */
#define UART_IER_ETBEI 0x02	/* transmitter holding register empty */
#define UART_IER_ELSI 0x04	/* receiver line status */
#define UART_IER_EDSSI 0x08	/* modem status */
#define UART_IER_MASK 0x0f

/* 8.6 Interrupt Identification Register. */
#define UART_IIR_NONE 0x01	/* bit 0 = 1: no interrupt pending */
#define UART_IIR_RLS 0x06	/* 1st: receiver line status */
#define UART_IIR_RDA 0x04	/* 2nd: received data available */
#define UART_IIR_CTI 0x0c	/* 2nd: character timeout (FIFO mode only) */
#define UART_IIR_THRE 0x02	/* 3rd: transmitter holding register empty */
#define UART_IIR_MS 0x00	/* 4th: modem status */
#define UART_IIR_FIFO 0xc0	/* bits 7:6 set when FCR0 = 1 */

/* 8.5 FIFO Control Register. */
#define UART_FCR_ENABLE 0x01	/* enable both FIFOs; changing it clears them */
#define UART_FCR_CLEAR_RX 0x02	/* self-clearing */
#define UART_FCR_CLEAR_TX 0x04	/* self-clearing */
#define UART_FCR_DMA 0x08	/* RXRDY/TXRDY mode: stored, no pins here */
#define UART_FCR_TRIGGER 0xc0	/* receiver trigger level: 1, 4, 8, 14 */
#define UART_FCR_KEEP (UART_FCR_ENABLE | UART_FCR_DMA | UART_FCR_TRIGGER)

/* 8.1 Line Control Register. */
#define UART_LCR_DLAB 0x80	/* divisor latch access bit */

/* 8.8 Modem Control Register; bits 7:5 always read 0. */
#define UART_MCR_DTR 0x01
#define UART_MCR_RTS 0x02
#define UART_MCR_OUT1 0x04
#define UART_MCR_OUT2 0x08	/* on the PC: gates INTR onto the IRQ line */
#define UART_MCR_LOOP 0x10
#define UART_MCR_MASK 0x1f

/* 8.4 Line Status Register. */
#define UART_LSR_DR 0x01	/* data ready */
#define UART_LSR_OE 0x02	/* overrun error; cleared by reading LSR */
#define UART_LSR_PE 0x04	/* parity error (never: perfect wire) */
#define UART_LSR_FE 0x08	/* framing error (never) */
#define UART_LSR_BI 0x10	/* break interrupt (never) */
#define UART_LSR_THRE 0x20	/* transmitter holding register empty */
#define UART_LSR_TEMT 0x40	/* transmitter empty */
#define UART_LSR_ERRORS (UART_LSR_OE | UART_LSR_PE | UART_LSR_FE | UART_LSR_BI)

/* 8.9 Modem Status Register: deltas in bits 3:0, line states in 7:4. */
#define UART_MSR_DCTS 0x01
#define UART_MSR_DDSR 0x02
#define UART_MSR_TERI 0x04	/* trailing edge of RI: 1 -> 0 */
#define UART_MSR_DDCD 0x08
#define UART_MSR_DELTAS 0x0f
#define UART_MSR_CTS 0x10
#define UART_MSR_DSR 0x20
#define UART_MSR_RI 0x40
#define UART_MSR_DCD 0x80
/*
 * The lines a connected terminal presents when not in loopback: clear to
 * send, data set ready and carrier detect, so a driver that waits for them
 * (Linux's 8250 with CRTSCTS or modem control) is never held up.
 */
#define UART_MSR_IDLE_LINES (UART_MSR_CTS | UART_MSR_DSR | UART_MSR_DCD)

static bool serial_fifo_enabled(const struct serial *s)
{
	return s->fcr & UART_FCR_ENABLE;
}

static bool serial_loopback(const struct serial *s)
{
	return s->mcr & UART_MCR_LOOP;
}

/* Receive buffer capacity: the 16-byte FIFO, or the single RBR (8.5). */
static unsigned int serial_rx_capacity(const struct serial *s)
{
	return serial_fifo_enabled(s) ? SERIAL_FIFO_LEN : 1;
}

/* Receiver FIFO trigger level from FCR bits 7:6 (8.5). */
static unsigned int serial_rx_trigger(const struct serial *s)
{
	static const u8 levels[4] = { 1, 4, 8, 14 };

	return levels[(s->fcr & UART_FCR_TRIGGER) >> 6];
}

static void serial_rx_clear(struct serial *s)
{
	s->rx_head = 0;
	s->rx_count = 0;
	s->lsr &= ~UART_LSR_DR;
}

/* Appends a byte to the receive buffer; the caller checks for room. */
static void serial_rx_push(struct serial *s, u8 byte)
{
	s->rx_fifo[(s->rx_head + s->rx_count) % SERIAL_FIFO_LEN] = byte;
	s->rx_count++;
	s->lsr |= UART_LSR_DR;
}

static u8 serial_rx_pop(struct serial *s)
{
	u8 byte;

	if (!s->rx_count)
		return 0;	/* RBR read with nothing received: no data */
	byte = s->rx_fifo[s->rx_head];
	s->rx_head = (s->rx_head + 1) % SERIAL_FIFO_LEN;
	if (!--s->rx_count) {
		s->rx_head = 0;
		s->lsr &= ~UART_LSR_DR;
	}
	return byte;
}

/*
 * Moves host input from the backlog into the receive buffer while it has
 * room. Not in loopback: there the receiver input is disconnected (8.8), so
 * host input waits on the wire until the guest leaves loopback.
 */
static void serial_rx_refill(struct serial *s)
{
	while (s->bl_count && s->rx_count < serial_rx_capacity(s) &&
	       !serial_loopback(s)) {
		serial_rx_push(s, s->backlog[s->bl_head]);
		s->bl_head = (s->bl_head + 1) % SERIAL_BACKLOG_LEN;
		s->bl_count--;
	}
	if (!s->bl_count)
		s->bl_head = 0;
}

/*
 * A byte that arrives at the receiver from the transmitter in loopback. With
 * the buffer full it is an overrun (8.4, LSR bit 1): in FIFO mode the new
 * character is lost; in character mode it overwrites the unread RBR.
 */
static void serial_rx_loopback(struct serial *s, u8 byte)
{
	if (s->rx_count < serial_rx_capacity(s)) {
		serial_rx_push(s, byte);
		return;
	}
	s->lsr |= UART_LSR_OE;
	if (!serial_fifo_enabled(s))
		s->rx_fifo[s->rx_head] = byte;
}

/* The highest-priority enabled interrupt, as IIR bits 3:0 (8.6, Table III). */
static u8 serial_iir_id(const struct serial *s)
{
	if ((s->ier & UART_IER_ELSI) && (s->lsr & UART_LSR_ERRORS))
		return UART_IIR_RLS;
	if ((s->ier & UART_IER_ERBFI) && s->rx_count) {
		/* No time here: the character timeout has always expired. */
		if (serial_fifo_enabled(s) && s->rx_count < serial_rx_trigger(s))
			return UART_IIR_CTI;
		return UART_IIR_RDA;
	}
	if ((s->ier & UART_IER_ETBEI) && s->thr_ipending)
		return UART_IIR_THRE;
	if ((s->ier & UART_IER_EDSSI) && (s->msr & UART_MSR_DELTAS))
		return UART_IIR_MS;
	return UART_IIR_NONE;
}

/*
 * Drives the IRQ line to the level of the chip's INTR pin as gated by OUT2.
 * OUT2 is the pin, not the MCR bit: loopback forces it inactive (8.8).
 * Called after every state change; the line is only touched when the level
 * changes, so a level-triggered controller sees honest edges.
 */
static void serial_update_irq(struct serial *s)
{
	bool gate = (s->mcr & UART_MCR_OUT2) && !serial_loopback(s);
	int level = gate && serial_iir_id(s) != UART_IIR_NONE;

	if (level == s->irq_level)
		return;
	s->irq_level = level;
	irq_line_set(&s->irq, level);
}

/*
 * Writes a byte to out_fd. Each THR write is one byte, so a write is never
 * partial: it either takes the byte or fails. EINTR retries; EAGAIN (out_fd
 * may share a non-blocking file description with stdin on a terminal) waits
 * until the fd is writable, as a blocking write would. Any other error drops
 * the byte: the guest's console must not stop the guest, and there is
 * nowhere to report it that the guest could not flood.
 */
static void serial_emit(struct serial *s, u8 byte)
{
	struct pollfd pfd = { .fd = s->out_fd, .events = POLLOUT };
	ssize_t n;

	if (s->tap.byte)
		s->tap.byte(s->tap.opaque, byte);
	if (s->out_fd < 0)
		return;
	for (;;) {
		n = write(s->out_fd, &byte, 1);
		if (n == 1)
			return;
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) &&
		    (poll(&pfd, 1, -1) >= 0 || errno == EINTR))
			continue;
		return;
	}
}

static void serial_write_thr(struct serial *s, u8 byte)
{
	/* Writing THR clears the THRE interrupt (8.6) ... */
	s->thr_ipending = false;
	if (serial_loopback(s))
		serial_rx_loopback(s, byte);	/* SOUT is held marking (8.8) */
	else
		serial_emit(s, byte);
	/* ... and, the byte being sent at once, THR is empty again. */
	s->lsr |= UART_LSR_THRE | UART_LSR_TEMT;
	s->thr_ipending = true;
}

static void serial_write_ier(struct serial *s, u8 val)
{
	u8 old = s->ier;

	s->ier = val & UART_IER_MASK;
	/*
	 * The THRE interrupt stands whenever THR is empty and has not been
	 * acknowledged (8.6), so enabling ETBEI while THR is empty interrupts
	 * at once, every time; Linux probes for this (its UART_BUG_THRE test)
	 * by clearing and setting IER.ETBEI and reading IIR. Disabling ETBEI
	 * drops the pending state.
	 */
	if (!(old & UART_IER_ETBEI) && (s->ier & UART_IER_ETBEI))
		s->thr_ipending = (s->lsr & UART_LSR_THRE) != 0;
	else if (!(s->ier & UART_IER_ETBEI))
		s->thr_ipending = false;
}

static void serial_write_fcr(struct serial *s, u8 val)
{
	bool enable = val & UART_FCR_ENABLE;

	/* Changing FCR0 clears both FIFOs (8.5). */
	if (enable != serial_fifo_enabled(s))
		serial_rx_clear(s);
	/* The other bits are only programmed while FCR0 is written as 1. */
	if (!enable) {
		s->fcr = 0;
	} else {
		if (val & UART_FCR_CLEAR_RX)
			serial_rx_clear(s);
		/* UART_FCR_CLEAR_TX: the transmit FIFO is always empty. */
		s->fcr = val & UART_FCR_KEEP;
	}
	serial_rx_refill(s);
}

/*
 * The modem status inputs (MSR bits 7:4): a connected, idle terminal, or in
 * loopback the modem control outputs wired back in (8.8): DTR -> DSR,
 * RTS -> CTS, OUT1 -> RI, OUT2 -> DCD.
 */
static u8 serial_msr_lines(const struct serial *s)
{
	u8 lines = 0;

	if (!serial_loopback(s))
		return UART_MSR_IDLE_LINES;
	if (s->mcr & UART_MCR_DTR)
		lines |= UART_MSR_DSR;
	if (s->mcr & UART_MCR_RTS)
		lines |= UART_MSR_CTS;
	if (s->mcr & UART_MCR_OUT1)
		lines |= UART_MSR_RI;
	if (s->mcr & UART_MCR_OUT2)
		lines |= UART_MSR_DCD;
	return lines;
}

/* Latches new modem status inputs, setting the delta bits (8.9). */
static void serial_msr_update(struct serial *s)
{
	u8 old = s->msr, lines = serial_msr_lines(s);
	u8 changed = old ^ lines, deltas = old & UART_MSR_DELTAS;

	if (changed & UART_MSR_CTS)
		deltas |= UART_MSR_DCTS;
	if (changed & UART_MSR_DSR)
		deltas |= UART_MSR_DDSR;
	if ((old & UART_MSR_RI) && !(lines & UART_MSR_RI))
		deltas |= UART_MSR_TERI;
	if (changed & UART_MSR_DCD)
		deltas |= UART_MSR_DDCD;
	s->msr = lines | deltas;
}

static void serial_write_mcr(struct serial *s, u8 val)
{
	s->mcr = val & UART_MCR_MASK;
	serial_msr_update(s);
	/* Leaving loopback reconnects the receiver to the host's input. */
	serial_rx_refill(s);
}

static u8 serial_read_reg(struct serial *s, u64 offset)
{
	bool dlab = s->lcr & UART_LCR_DLAB;
	u8 val;

	switch (offset) {
	case UART_RBR:
		if (dlab)
			return s->dll;
		val = serial_rx_pop(s);
		serial_rx_refill(s);
		return val;
	case UART_IER:
		return dlab ? s->dlm : s->ier;
	case UART_IIR:
		val = serial_iir_id(s);
		/* Reading IIR clears THRE when THRE is what it reports (8.6). */
		if (val == UART_IIR_THRE)
			s->thr_ipending = false;
		if (serial_fifo_enabled(s))
			val |= UART_IIR_FIFO;
		return val;
	case UART_LCR:
		return s->lcr;
	case UART_MCR:
		return s->mcr;
	case UART_LSR:
		/* Reading LSR clears the error bits (8.4). */
		val = s->lsr;
		s->lsr &= ~UART_LSR_ERRORS;
		return val;
	case UART_MSR:
		/* Reading MSR clears the delta bits (8.9). */
		val = s->msr;
		s->msr &= ~UART_MSR_DELTAS;
		return val;
	case UART_SCR:
		return s->scr;
	}
	return 0xff;
}

static void serial_write_reg(struct serial *s, u64 offset, u8 val)
{
	bool dlab = s->lcr & UART_LCR_DLAB;

	switch (offset) {
	case UART_THR:
		if (dlab)
			s->dll = val;
		else
			serial_write_thr(s, val);
		break;
	case UART_IER:
		if (dlab)
			s->dlm = val;
		else
			serial_write_ier(s, val);
		break;
	case UART_FCR:
		serial_write_fcr(s, val);
		break;
	case UART_LCR:
		s->lcr = val;
		break;
	case UART_MCR:
		serial_write_mcr(s, val);
		break;
	case UART_LSR:
	case UART_MSR:
		/* Read-only in normal use (8.4, 8.9: writes are for factory test). */
		break;
	case UART_SCR:
		s->scr = val;
		break;
	}
}

static void serial_bus_read(void *dev, u64 offset, void *data, u32 len)
{
	struct serial *s = dev;
	u8 val;

	/* The registers are bytes; anything else reads as an empty bus. */
	if (len != 1 || offset >= SERIAL_NR_PORTS) {
		memset(data, 0xff, len);
		return;
	}
	pthread_mutex_lock(&s->lock);
	val = serial_read_reg(s, offset);
	serial_update_irq(s);
	pthread_mutex_unlock(&s->lock);
	*(u8 *)data = val;
}

static void serial_bus_write(void *dev, u64 offset, const void *data, u32 len)
{
	struct serial *s = dev;

	if (len != 1 || offset >= SERIAL_NR_PORTS)
		return;
	pthread_mutex_lock(&s->lock);
	serial_write_reg(s, offset, *(const u8 *)data);
	serial_update_irq(s);
	pthread_mutex_unlock(&s->lock);
}

const struct bus_ops serial_bus_ops = {
	.read = serial_bus_read,
	.write = serial_bus_write,
};

size_t serial_receive(struct serial *s, const u8 *buf, size_t len)
{
	size_t taken = 0;

	pthread_mutex_lock(&s->lock);
	serial_rx_refill(s);
	for (; taken < len; taken++) {
		/* Straight into the FIFO only when nothing is queued before it. */
		if (!s->bl_count && !serial_loopback(s) &&
		    s->rx_count < serial_rx_capacity(s)) {
			serial_rx_push(s, buf[taken]);
			continue;
		}
		if (s->bl_count == SERIAL_BACKLOG_LEN)
			break;
		s->backlog[(s->bl_head + s->bl_count) % SERIAL_BACKLOG_LEN] =
			buf[taken];
		s->bl_count++;
	}
	serial_update_irq(s);
	pthread_mutex_unlock(&s->lock);
	return taken;
}

int serial_init(struct serial *s, int out_fd, struct irq_line irq)
{
	int err;

	/* Table IV reset values; DLL, DLM and SCR are left zero. */
	memset(s, 0, sizeof(*s));
	s->out_fd = out_fd;
	s->irq = irq;
	s->irq_level = 0;	/* the line starts low; nothing is pending */
	s->lsr = UART_LSR_THRE | UART_LSR_TEMT;
	s->msr = UART_MSR_IDLE_LINES;
	err = pthread_mutex_init(&s->lock, NULL);
	return -err;
}

void serial_destroy(struct serial *s)
{
	pthread_mutex_destroy(&s->lock);
}

/*
 * rtc: the PC's CMOS real-time clock, a Motorola MC146818A behind port 0x70
 * (index; bit 7 masks NMI on a PC) and 0x71 (data), with 128 bytes of CMOS.
 *
 * Time registers (seconds 0x00, minutes 0x02, hours 0x04, weekday 0x06,
 * day 0x07, month 0x08, year 0x09, and the PC's century byte 0x32) are
 * computed from the host clock in UTC on every read, in BCD unless the
 * guest sets register B's DM bit (binary), in 24-hour form unless it clears
 * the 24/12 bit (then 1-12 with bit 7 = PM). The update cycle is never in
 * progress (register A's UIP reads 0), so a reader's retry loop ends at once.
 *
 * Setting the clock: a guest sets register B's SET bit, writes the time
 * registers, and clears SET; trapeze then keeps the difference from the host
 * clock as an offset, so the guest's clock runs on from what it wrote. While
 * SET is on, reads return the values being written. A date that does not
 * exist (month 13, 31 February, BCD digits above 9) is ignored: the clock
 * keeps its old offset. A time register written with SET off takes effect
 * at once. The weekday written is ignored: it always follows the date.
 *
 * Not modelled: interrupts (periodic, alarm, update-ended: register C's
 * flags never set and IRQ 8 is never raised), the square-wave output,
 * daylight saving, and the divider chain (register A's bits are storage).
 * The alarm registers and every other CMOS byte are plain storage.
 *
 * Locking: rtc->lock, a leaf lock, guards everything below it.
 */
#ifndef TRAPEZE_DEVICES_RTC_H
#define TRAPEZE_DEVICES_RTC_H

#include <pthread.h>
#include <time.h>

#include "trapeze/bus.h"
#include "trapeze/types.h"

#define RTC_PORT_BASE 0x70	/* index; 0x71 is data */
#define RTC_NR_PORTS 2
#define RTC_IRQ 8		/* ISA IRQ of the MC146818 on a PC (never raised here) */
#define RTC_CMOS_SIZE 128
#define RTC_REG_CENTURY 0x32	/* IBM PC/AT convention; the FADT's CENTURY field */

struct rtc {
	pthread_mutex_t lock;
	time_t (*clock)(void *opaque);	/* host time, seconds since the epoch, UTC */
	void *clock_opaque;
	s64 offset;			/* guest time = host time + offset */
	u8 index;			/* selected CMOS byte, 0..127 */
	bool nmi_masked;		/* bit 7 of the last index write */
	/*
	 * Registers A-D and storage. The time bytes hold the time only while
	 * register B's SET is on (the guest is writing it); otherwise reads
	 * compute the time afresh.
	 */
	u8 cmos[RTC_CMOS_SIZE];
};

/*
 * Register A = 0x26 (32.768 kHz time base, 1024 Hz rate), B = 0x02 (24-hour,
 * BCD), C = 0, D = 0x80 (valid RAM and time), the rest of CMOS zero. clock
 * NULL reads the host's time(). 0 or -errno.
 */
int rtc_init(struct rtc *rtc, time_t (*clock)(void *opaque), void *clock_opaque);
void rtc_destroy(struct rtc *rtc);

/* dev: struct rtc; registered over RTC_PORT_BASE, RTC_NR_PORTS. len 1 only. */
extern const struct bus_ops rtc_ops;

#endif

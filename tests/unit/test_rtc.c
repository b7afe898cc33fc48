/*
 * Unit tests for the MC146818A RTC: every time register in BCD, binary and
 * 12-hour forms against a fake clock, the status registers, the guest
 * setting its clock, the NMI bit of the index port, odd accesses, and the
 * CMOS storage bytes. Accesses go through a real port-I/O bus at 0x70.
 */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "check_main.h"
#include "trapeze/bus.h"
#include "trapeze/devices/rtc.h"

/* Register numbers and bits, spelled out from the MC146818A data sheet. */
#define SEC 0x00
#define SEC_ALARM 0x01
#define MIN 0x02
#define HOUR 0x04
#define WDAY 0x06
#define MDAY 0x07
#define MON 0x08
#define YEAR 0x09
#define REG_A 0x0a
#define REG_B 0x0b
#define REG_C 0x0c
#define REG_D 0x0d
#define CENTURY 0x32

#define B_SET 0x80
#define B_UIE 0x10
#define B_DM 0x04
#define B_24H 0x02
#define NMI_OFF 0x80

/* Saturday 2026-11-21 12:34:56 UTC. */
#define T0 ((time_t)1795264496)

struct fake_clock {
	time_t now;
};

static time_t fake_now(void *opaque)
{
	return ((struct fake_clock *)opaque)->now;
}

struct fixture {
	struct fake_clock clock;
	struct rtc rtc;
	struct bus bus;
};

static struct fixture *f;

static void setup(void)
{
	f = calloc(1, sizeof(*f));
	ck_assert_ptr_nonnull(f);
	f->clock.now = T0;
	ck_assert_int_eq(rtc_init(&f->rtc, fake_now, &f->clock), 0);
	ck_assert_int_eq(bus_init(&f->bus, "pio"), 0);
	f->bus.quiet = true;
	ck_assert_int_eq(bus_register(&f->bus, RTC_PORT_BASE, RTC_NR_PORTS, &rtc_ops,
				      &f->rtc, "rtc"), 0);
}

static void teardown(void)
{
	bus_destroy(&f->bus);
	rtc_destroy(&f->rtc);
	free(f);
}

static void outb(u16 port, u8 v)
{
	ck_assert_int_eq(bus_write(&f->bus, port, &v, 1), 0);
}

static u8 inb(u16 port)
{
	u8 v = 0;

	ck_assert_int_eq(bus_read(&f->bus, port, &v, 1), 0);
	return v;
}

static u8 cmos_read(u8 index)
{
	outb(0x70, index);
	return inb(0x71);
}

static void cmos_write(u8 index, u8 v)
{
	outb(0x70, index);
	outb(0x71, v);
}

START_TEST(bcd_by_default)
{
	ck_assert_uint_eq(cmos_read(SEC), 0x56);
	ck_assert_uint_eq(cmos_read(MIN), 0x34);
	ck_assert_uint_eq(cmos_read(HOUR), 0x12);
	ck_assert_uint_eq(cmos_read(WDAY), 0x07);	/* Saturday; Sunday = 1 */
	ck_assert_uint_eq(cmos_read(MDAY), 0x21);
	ck_assert_uint_eq(cmos_read(MON), 0x11);
	ck_assert_uint_eq(cmos_read(YEAR), 0x26);
	ck_assert_uint_eq(cmos_read(CENTURY), 0x20);
}
END_TEST

START_TEST(binary_when_dm_set)
{
	cmos_write(REG_B, B_24H | B_DM);
	ck_assert_uint_eq(cmos_read(SEC), 56);
	ck_assert_uint_eq(cmos_read(MIN), 34);
	ck_assert_uint_eq(cmos_read(HOUR), 12);
	ck_assert_uint_eq(cmos_read(WDAY), 7);
	ck_assert_uint_eq(cmos_read(MDAY), 21);
	ck_assert_uint_eq(cmos_read(MON), 11);
	ck_assert_uint_eq(cmos_read(YEAR), 26);
	ck_assert_uint_eq(cmos_read(CENTURY), 20);
	/* And back to BCD. */
	cmos_write(REG_B, B_24H);
	ck_assert_uint_eq(cmos_read(MDAY), 0x21);
}
END_TEST

START_TEST(twelve_hour_mode)
{
	cmos_write(REG_B, 0);				/* 12-hour, BCD */
	ck_assert_uint_eq(cmos_read(HOUR), 0x80 | 0x12);	/* 12 PM */
	f->clock.now = T0 - 12 * 3600;			/* 00:34:56 */
	ck_assert_uint_eq(cmos_read(HOUR), 0x12);	/* 12 AM */
	f->clock.now = T0 + 11 * 3600;			/* 23:34:56 */
	ck_assert_uint_eq(cmos_read(HOUR), 0x80 | 0x11);
	f->clock.now = T0 - 3 * 3600;			/* 09:34:56 */
	ck_assert_uint_eq(cmos_read(HOUR), 0x09);
	cmos_write(REG_B, B_DM);			/* 12-hour, binary */
	f->clock.now = T0 + 11 * 3600;
	ck_assert_uint_eq(cmos_read(HOUR), 0x80 | 11);
}
END_TEST

/* Each read asks the clock afresh: the time moves with the host. */
START_TEST(reads_follow_the_clock)
{
	ck_assert_uint_eq(cmos_read(SEC), 0x56);
	f->clock.now++;
	ck_assert_uint_eq(cmos_read(SEC), 0x57);
	f->clock.now = T0 + 4;				/* 12:35:00 */
	ck_assert_uint_eq(cmos_read(SEC), 0x00);
	ck_assert_uint_eq(cmos_read(MIN), 0x35);
	/* New Year's Eve 2099 -> 2100: the century rolls. */
	f->clock.now = (time_t)4102444800LL;		/* 2100-01-01 00:00:00 */
	ck_assert_uint_eq(cmos_read(YEAR), 0x00);
	ck_assert_uint_eq(cmos_read(CENTURY), 0x21);
	ck_assert_uint_eq(cmos_read(MON), 0x01);
	ck_assert_uint_eq(cmos_read(MDAY), 0x01);
	ck_assert_uint_eq(cmos_read(WDAY), 0x06);	/* a Friday */
}
END_TEST

START_TEST(status_registers)
{
	ck_assert_uint_eq(cmos_read(REG_A), 0x26);	/* UIP 0, DV 010, RS 0110 */
	cmos_write(REG_A, 0xaf);			/* UIP is read-only */
	ck_assert_uint_eq(cmos_read(REG_A), 0x2f);
	ck_assert_uint_eq(cmos_read(REG_B), B_24H);
	ck_assert_uint_eq(cmos_read(REG_C), 0);
	cmos_write(REG_C, 0xff);			/* read-only */
	ck_assert_uint_eq(cmos_read(REG_C), 0);
	ck_assert_uint_eq(cmos_read(REG_D), 0x80);	/* VRT: battery good */
	cmos_write(REG_D, 0x00);			/* read-only */
	ck_assert_uint_eq(cmos_read(REG_D), 0x80);
	/* SET clears UIE (data sheet, register B). */
	cmos_write(REG_B, B_UIE | B_24H);
	ck_assert_uint_eq(cmos_read(REG_B), B_UIE | B_24H);
	cmos_write(REG_B, B_SET | B_UIE | B_24H);
	ck_assert_uint_eq(cmos_read(REG_B), B_SET | B_24H);
}
END_TEST

/* The sequence Linux's mc146818_set_time() uses: SET, write, clear SET. */
START_TEST(guest_sets_the_clock)
{
	cmos_write(REG_B, B_SET | B_24H);
	cmos_write(YEAR, 0x30);
	cmos_write(MON, 0x02);
	cmos_write(MDAY, 0x29);				/* 2030 is not a leap year... */
	cmos_write(HOUR, 0x23);
	cmos_write(MIN, 0x59);
	cmos_write(SEC, 0x58);
	cmos_write(MDAY, 0x28);				/* ...so the guest fixes it */
	/* While SET is on, the clock is stopped at what was written. */
	f->clock.now += 100;
	ck_assert_uint_eq(cmos_read(SEC), 0x58);
	ck_assert_uint_eq(cmos_read(MDAY), 0x28);
	cmos_write(REG_B, B_24H);

	ck_assert_uint_eq(cmos_read(SEC), 0x58);
	ck_assert_uint_eq(cmos_read(YEAR), 0x30);
	ck_assert_uint_eq(cmos_read(CENTURY), 0x20);	/* kept from before */
	/* And it runs on from there: two seconds later it is 1 March. */
	f->clock.now += 2;
	ck_assert_uint_eq(cmos_read(SEC), 0x00);
	ck_assert_uint_eq(cmos_read(MIN), 0x00);
	ck_assert_uint_eq(cmos_read(HOUR), 0x00);
	ck_assert_uint_eq(cmos_read(MDAY), 0x01);
	ck_assert_uint_eq(cmos_read(MON), 0x03);
	ck_assert_uint_eq(cmos_read(WDAY), 0x06);	/* 2030-03-01 is a Friday */
	/* The offset holds in binary mode too. */
	cmos_write(REG_B, B_24H | B_DM);
	ck_assert_uint_eq(cmos_read(YEAR), 30);
}
END_TEST

START_TEST(set_in_binary_and_12_hour)
{
	/* 12-hour binary: 11 PM = 0x80 | 11. */
	cmos_write(REG_B, B_SET | B_DM);
	cmos_write(HOUR, 0x80 | 11);
	cmos_write(REG_B, B_DM);
	ck_assert_uint_eq(cmos_read(HOUR), 0x80 | 11);
	cmos_write(REG_B, B_24H | B_DM);
	ck_assert_uint_eq(cmos_read(HOUR), 23);
	ck_assert_uint_eq(cmos_read(MIN), 34);		/* untouched fields stay */
	ck_assert_uint_eq(cmos_read(MDAY), 21);
}
END_TEST

/* Dates that do not exist, and BCD digits above 9, leave the clock alone. */
START_TEST(bad_dates_ignored)
{
	static const struct {
		u8 reg, v;
	} bad[] = {
		{ MON, 0x13 }, { MON, 0x00 }, { MDAY, 0x00 }, { MDAY, 0x32 },
		{ HOUR, 0x24 }, { MIN, 0x60 }, { SEC, 0x1a }, { YEAR, 0xa0 },
		{ CENTURY, 0xff },
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		cmos_write(REG_B, B_SET | B_24H);
		cmos_write(bad[i].reg, bad[i].v);
		cmos_write(REG_B, B_24H);
		ck_assert_uint_eq(cmos_read(SEC), 0x56);
		ck_assert_uint_eq(cmos_read(MIN), 0x34);
		ck_assert_uint_eq(cmos_read(HOUR), 0x12);
		ck_assert_uint_eq(cmos_read(MDAY), 0x21);
		ck_assert_uint_eq(cmos_read(MON), 0x11);
		ck_assert_uint_eq(cmos_read(YEAR), 0x26);
	}
	/* 31 November does not exist either. */
	cmos_write(REG_B, B_SET | B_24H);
	cmos_write(MDAY, 0x31);
	cmos_write(REG_B, B_24H);
	ck_assert_uint_eq(cmos_read(MDAY), 0x21);
	ck_assert_uint_eq(cmos_read(MON), 0x11);
}
END_TEST

/* A time register written while the clock runs takes effect at once. */
START_TEST(write_without_set)
{
	cmos_write(MIN, 0x00);
	ck_assert_uint_eq(cmos_read(MIN), 0x00);
	ck_assert_uint_eq(cmos_read(SEC), 0x56);
	ck_assert_uint_eq(cmos_read(HOUR), 0x12);
	f->clock.now += 10;
	ck_assert_uint_eq(cmos_read(SEC), 0x06);
	ck_assert_uint_eq(cmos_read(MIN), 0x01);
	/* The weekday follows the date, whatever is written. */
	cmos_write(WDAY, 0x02);
	ck_assert_uint_eq(cmos_read(WDAY), 0x07);
}
END_TEST

/* Bit 7 of the index is the PC's NMI mask, not part of the CMOS index. */
START_TEST(nmi_bit_masked)
{
	outb(0x70, NMI_OFF | SEC);
	ck_assert_uint_eq(inb(0x71), 0x56);
	ck_assert(f->rtc.nmi_masked);
	outb(0x70, NMI_OFF | 0x40);
	outb(0x71, 0xab);
	ck_assert_uint_eq(cmos_read(0x40), 0xab);	/* same byte without the bit */
	ck_assert(!f->rtc.nmi_masked);
	outb(0x70, NMI_OFF | REG_D);
	ck_assert_uint_eq(inb(0x71), 0x80);
}
END_TEST

/* Every index a guest can write selects one of the 128 bytes. */
START_TEST(index_range)
{
	cmos_write(0x7f, 0x11);
	outb(0x70, 0xff);				/* 0x7f with NMI off */
	ck_assert_uint_eq(inb(0x71), 0x11);
	ck_assert_uint_eq(f->rtc.index, 0x7f);
	/* The index port reads as all-ones (write-only on a PC). */
	ck_assert_uint_eq(inb(0x70), 0xff);
}
END_TEST

/* Wider accesses are not decoded: reads all-ones, writes dropped. */
START_TEST(odd_accesses)
{
	u16 w = 0;
	u8 direct;

	cmos_write(0x20, 0x42);
	ck_assert_int_eq(bus_read(&f->bus, 0x70, &w, 2), 0);
	ck_assert_uint_eq(w, 0xffff);
	w = 0x1234;
	ck_assert_int_eq(bus_write(&f->bus, 0x70, &w, 2), 0);
	ck_assert_uint_eq(f->rtc.index, 0x20);		/* index unchanged */
	ck_assert_uint_eq(inb(0x71), 0x42);
	/* Offsets past the range, called directly (the bus never would). */
	rtc_ops.read(&f->rtc, 2, &direct, 1);
	ck_assert_uint_eq(direct, 0xff);
	direct = 0x99;
	rtc_ops.write(&f->rtc, 2, &direct, 1);
	ck_assert_uint_eq(cmos_read(0x20), 0x42);
}
END_TEST

/* Bytes 0x0e-0x7f (but the century) are storage; alarms too. */
START_TEST(cmos_storage)
{
	unsigned int i;

	for (i = 0x0e; i < 0x80; i++)
		if (i != CENTURY)
			cmos_write((u8)i, (u8)(i * 7 + 3));
	cmos_write(SEC_ALARM, 0x45);
	for (i = 0x0e; i < 0x80; i++)
		if (i != CENTURY)
			ck_assert_uint_eq(cmos_read((u8)i), (u8)(i * 7 + 3));
	ck_assert_uint_eq(cmos_read(SEC_ALARM), 0x45);
	/* The time did not change under the stores. */
	ck_assert_uint_eq(cmos_read(SEC), 0x56);
	ck_assert_uint_eq(cmos_read(CENTURY), 0x20);
}
END_TEST

/* With no clock given, the RTC reads the host's time in UTC. */
START_TEST(host_clock)
{
	struct rtc rtc;
	struct tm tm;
	time_t now;
	u8 v, idx = YEAR;

	ck_assert_int_eq(rtc_init(&rtc, NULL, NULL), 0);
	now = time(NULL);
	gmtime_r(&now, &tm);
	rtc_ops.write(&rtc, 0, &idx, 1);
	rtc_ops.read(&rtc, 1, &v, 1);
	ck_assert_uint_eq(v, (u8)(((tm.tm_year % 100) / 10) << 4 | (tm.tm_year % 10)));
	rtc_destroy(&rtc);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("rtc");
	TCase *tc = tcase_create("mc146818");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, bcd_by_default);
	tcase_add_test(tc, binary_when_dm_set);
	tcase_add_test(tc, twelve_hour_mode);
	tcase_add_test(tc, reads_follow_the_clock);
	tcase_add_test(tc, status_registers);
	tcase_add_test(tc, guest_sets_the_clock);
	tcase_add_test(tc, set_in_binary_and_12_hour);
	tcase_add_test(tc, bad_dates_ignored);
	tcase_add_test(tc, write_without_set);
	tcase_add_test(tc, nmi_bit_masked);
	tcase_add_test(tc, index_range);
	tcase_add_test(tc, odd_accesses);
	tcase_add_test(tc, cmos_storage);
	tcase_add_test(tc, host_clock);
	suite_add_tcase(s, tc);

	return check_run(s);
}

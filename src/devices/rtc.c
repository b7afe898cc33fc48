/*
 * rtc: MC146818A real-time clock and CMOS RAM. See include/trapeze/devices/rtc.h.
 * Register numbers and bits from the Motorola MC146818A data sheet
 * ("Address Map", "Register A" to "Register D"); the century byte at 0x32
 * and the NMI mask in bit 7 of port 0x70 are IBM PC/AT conventions.
 */
#include <errno.h>
#include <string.h>

#include "trapeze/devices/rtc.h"

/* Time and alarm bytes (data sheet, "Time, Calendar and Alarm Locations"). */
#define RTC_SECONDS		0x00
#define RTC_MINUTES		0x02
#define RTC_HOURS		0x04
#define RTC_WEEKDAY		0x06	/* 1-7, Sunday = 1 */
#define RTC_DAY			0x07
#define RTC_MONTH		0x08
#define RTC_YEAR		0x09	/* 0-99 */
#define RTC_REG_A		0x0a
#define RTC_REG_B		0x0b
#define RTC_REG_C		0x0c
#define RTC_REG_D		0x0d

#define REG_A_UIP		0x80	/* update in progress; read-only */
#define REG_A_DEFAULT		0x26	/* DV = 010 (32.768 kHz), RS = 0110 (1024 Hz) */
#define REG_B_SET		0x80	/* updates stop; the guest is setting the time */
#define REG_B_UIE		0x10	/* update-ended interrupt enable */
#define REG_B_DM		0x04	/* data mode: 1 binary, 0 BCD */
#define REG_B_24H		0x02	/* 1: 24-hour, 0: 12-hour with bit 7 = PM */
#define REG_B_DEFAULT		REG_B_24H
#define REG_D_VRT		0x80	/* valid RAM and time: the battery is good */
#define HOUR_PM			0x80	/* 12-hour mode */

#define RTC_INDEX_MASK		0x7f	/* bit 7 of port 0x70 is the PC's NMI mask */
#define RTC_NMI_MASK		0x80
#define RTC_OFF_INDEX		0
#define RTC_OFF_DATA		1

static time_t rtc_host_clock(void *opaque)
{
	(void)opaque;
	return time(NULL);
}

int rtc_init(struct rtc *rtc, time_t (*clock)(void *opaque), void *clock_opaque)
{
	memset(rtc, 0, sizeof(*rtc));
	rtc->clock = clock ? clock : rtc_host_clock;
	rtc->clock_opaque = clock_opaque;
	rtc->cmos[RTC_REG_A] = REG_A_DEFAULT;
	rtc->cmos[RTC_REG_B] = REG_B_DEFAULT;
	rtc->cmos[RTC_REG_D] = REG_D_VRT;
	return -pthread_mutex_init(&rtc->lock, NULL);
}

void rtc_destroy(struct rtc *rtc)
{
	pthread_mutex_destroy(&rtc->lock);
}

static bool rtc_is_time_reg(u8 index)
{
	switch (index) {
	case RTC_SECONDS:
	case RTC_MINUTES:
	case RTC_HOURS:
	case RTC_WEEKDAY:
	case RTC_DAY:
	case RTC_MONTH:
	case RTC_YEAR:
	case RTC_REG_CENTURY:
		return true;
	default:
		return false;
	}
}

static bool rtc_binary(const struct rtc *rtc)
{
	return rtc->cmos[RTC_REG_B] & REG_B_DM;
}

/* v in 0..99, in the guest's chosen data mode. */
static u8 rtc_encode(const struct rtc *rtc, int v)
{
	return rtc_binary(rtc) ? (u8)v : (u8)(((v / 10) << 4) | (v % 10));
}

/* A register value back to a number, or -1 for a BCD digit above 9. */
static int rtc_decode(const struct rtc *rtc, u8 v)
{
	if (rtc_binary(rtc))
		return v;
	if ((v & 0xf) > 9 || (v >> 4) > 9)
		return -1;
	return (v >> 4) * 10 + (v & 0xf);
}

static u8 rtc_encode_hour(const struct rtc *rtc, int hour)
{
	int h12;

	if (rtc->cmos[RTC_REG_B] & REG_B_24H)
		return rtc_encode(rtc, hour);
	h12 = hour % 12 ? hour % 12 : 12;
	return rtc_encode(rtc, h12) | (hour >= 12 ? HOUR_PM : 0);
}

/* 0..23, or -1 when the value is not an hour in the current mode. */
static int rtc_decode_hour(const struct rtc *rtc, u8 v)
{
	int h;

	if (rtc->cmos[RTC_REG_B] & REG_B_24H)
		return rtc_decode(rtc, v);
	h = rtc_decode(rtc, v & (u8)~HOUR_PM);
	if (h < 1 || h > 12)
		return -1;
	return h % 12 + (v & HOUR_PM ? 12 : 0);
}

/* The guest's current time, broken down in UTC. */
static void rtc_guest_tm(struct rtc *rtc, struct tm *tm)
{
	time_t t = (time_t)((s64)rtc->clock(rtc->clock_opaque) + rtc->offset);

	if (!gmtime_r(&t, tm)) {
		t = 0;		/* out of gmtime's range: read as the epoch */
		gmtime_r(&t, tm);
	}
}

static u8 rtc_time_reg(const struct rtc *rtc, const struct tm *tm, u8 index)
{
	int year = tm->tm_year + 1900;

	switch (index) {
	case RTC_SECONDS:
		/* A leap second (60) does not exist on the MC146818. */
		return rtc_encode(rtc, tm->tm_sec > 59 ? 59 : tm->tm_sec);
	case RTC_MINUTES:
		return rtc_encode(rtc, tm->tm_min);
	case RTC_HOURS:
		return rtc_encode_hour(rtc, tm->tm_hour);
	case RTC_WEEKDAY:
		return rtc_encode(rtc, tm->tm_wday + 1);
	case RTC_DAY:
		return rtc_encode(rtc, tm->tm_mday);
	case RTC_MONTH:
		return rtc_encode(rtc, tm->tm_mon + 1);
	case RTC_YEAR:
		return rtc_encode(rtc, ((year % 100) + 100) % 100);
	default:	/* RTC_REG_CENTURY */
		return rtc_encode(rtc, year < 0 ? 0 : year / 100 % 100);
	}
}

/* Copies the running time into the time bytes, where the guest edits it. */
static void rtc_latch(struct rtc *rtc)
{
	static const u8 regs[] = {
		RTC_SECONDS, RTC_MINUTES, RTC_HOURS, RTC_WEEKDAY,
		RTC_DAY, RTC_MONTH, RTC_YEAR, RTC_REG_CENTURY,
	};
	struct tm tm;
	size_t i;

	rtc_guest_tm(rtc, &tm);
	for (i = 0; i < ARRAY_SIZE(regs); i++)
		rtc->cmos[regs[i]] = rtc_time_reg(rtc, &tm, regs[i]);
}

/*
 * Makes the time bytes the guest's clock from now on. A date that does not
 * exist is ignored (the old offset stays): the guest wrote garbage, and a
 * real chip would count from it to nowhere useful.
 */
static void rtc_commit(struct rtc *rtc)
{
	int sec = rtc_decode(rtc, rtc->cmos[RTC_SECONDS]);
	int min = rtc_decode(rtc, rtc->cmos[RTC_MINUTES]);
	int hour = rtc_decode_hour(rtc, rtc->cmos[RTC_HOURS]);
	int day = rtc_decode(rtc, rtc->cmos[RTC_DAY]);
	int mon = rtc_decode(rtc, rtc->cmos[RTC_MONTH]);
	int year = rtc_decode(rtc, rtc->cmos[RTC_YEAR]);
	int cent = rtc_decode(rtc, rtc->cmos[RTC_REG_CENTURY]);
	struct tm tm = { 0 }, check;
	time_t t;

	if (sec < 0 || sec > 59 || min < 0 || min > 59 || hour < 0 || hour > 23 ||
	    day < 1 || day > 31 || mon < 1 || mon > 12 || year < 0 || year > 99 ||
	    cent < 0 || cent > 99)
		return;
	tm.tm_sec = sec;
	tm.tm_min = min;
	tm.tm_hour = hour;
	tm.tm_mday = day;
	tm.tm_mon = mon - 1;
	tm.tm_year = cent * 100 + year - 1900;
	t = timegm(&tm);
	/* timegm() normalises 31 April to 1 May: such a date did not exist. */
	if (!gmtime_r(&t, &check) || check.tm_mday != day || check.tm_mon != mon - 1)
		return;
	rtc->offset = (s64)t - (s64)rtc->clock(rtc->clock_opaque);
}

static u8 rtc_read_reg(struct rtc *rtc, u8 index)
{
	struct tm tm;
	u8 v;

	if (rtc_is_time_reg(index)) {
		if (rtc->cmos[RTC_REG_B] & REG_B_SET)
			return rtc->cmos[index];	/* what the guest is writing */
		rtc_guest_tm(rtc, &tm);
		return rtc_time_reg(rtc, &tm, index);
	}
	switch (index) {
	case RTC_REG_A:
		return rtc->cmos[RTC_REG_A] & (u8)~REG_A_UIP;
	case RTC_REG_C:
		v = rtc->cmos[RTC_REG_C];	/* interrupt flags: reading clears */
		rtc->cmos[RTC_REG_C] = 0;
		return v;
	case RTC_REG_D:
		return REG_D_VRT;
	default:
		return rtc->cmos[index];
	}
}

static void rtc_write_reg(struct rtc *rtc, u8 index, u8 v)
{
	u8 old_b;

	if (rtc_is_time_reg(index)) {
		if (rtc->cmos[RTC_REG_B] & REG_B_SET) {
			rtc->cmos[index] = v;
		} else {
			/* One field changed while running: takes effect at once. */
			rtc_latch(rtc);
			rtc->cmos[index] = v;
			rtc_commit(rtc);
		}
		return;
	}
	switch (index) {
	case RTC_REG_A:
		rtc->cmos[RTC_REG_A] = v & (u8)~REG_A_UIP;
		break;
	case RTC_REG_B:
		old_b = rtc->cmos[RTC_REG_B];
		if (v & REG_B_SET)
			v &= (u8)~REG_B_UIE;	/* the data sheet: SET clears UIE */
		rtc->cmos[RTC_REG_B] = v;
		/*
		 * Latch and commit in the new data and hour modes: the
		 * guest writes and reads the bytes in the modes it just set.
		 */
		if (!(old_b & REG_B_SET) && (v & REG_B_SET))
			rtc_latch(rtc);
		if ((old_b & REG_B_SET) && !(v & REG_B_SET))
			rtc_commit(rtc);
		break;
	case RTC_REG_C:
	case RTC_REG_D:
		break;				/* read-only */
	default:
		rtc->cmos[index] = v;
		break;
	}
}

static void rtc_read(void *dev, u64 offset, void *data, u32 len)
{
	struct rtc *rtc = dev;
	u8 *out = data;

	if (len != 1 || offset != RTC_OFF_DATA) {
		/* The index port is write-only; wider accesses are not decoded. */
		memset(data, 0xff, len);
		return;
	}
	pthread_mutex_lock(&rtc->lock);
	*out = rtc_read_reg(rtc, rtc->index);
	pthread_mutex_unlock(&rtc->lock);
}

static void rtc_write(void *dev, u64 offset, const void *data, u32 len)
{
	struct rtc *rtc = dev;
	u8 v;

	if (len != 1 || offset > RTC_OFF_DATA)
		return;
	v = *(const u8 *)data;
	pthread_mutex_lock(&rtc->lock);
	if (offset == RTC_OFF_INDEX) {
		rtc->index = v & RTC_INDEX_MASK;
		rtc->nmi_masked = v & RTC_NMI_MASK;
	} else {
		rtc_write_reg(rtc, rtc->index, v);
	}
	pthread_mutex_unlock(&rtc->lock);
}

const struct bus_ops rtc_ops = {
	.read = rtc_read,
	.write = rtc_write,
};

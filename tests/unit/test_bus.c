/*
 * Unit tests for bus: range registration rules, lookup, forwarding with
 * offsets, all-ones for unclaimed reads, and the logged-once messages.
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check_main.h"
#include "trapeze/bus.h"

/* A fake device that records its last access and answers reads with a pattern. */
struct fake_dev {
	int reads, writes;
	u64 last_offset;
	u32 last_len;
	u8 last_data[8];
	u8 read_value;
};

static void fake_read(void *opaque, u64 offset, void *data, u32 len)
{
	struct fake_dev *d = opaque;

	d->reads++;
	d->last_offset = offset;
	d->last_len = len;
	memset(data, d->read_value, len);
}

static void fake_write(void *opaque, u64 offset, const void *data, u32 len)
{
	struct fake_dev *d = opaque;

	d->writes++;
	d->last_offset = offset;
	d->last_len = len;
	memcpy(d->last_data, data, len < sizeof(d->last_data) ? len : sizeof(d->last_data));
}

static const struct bus_ops fake_ops = {
	.read = fake_read,
	.write = fake_write,
};

static const struct bus_ops write_only_ops = {
	.write = fake_write,
};

static struct bus bus;

static void setup(void)
{
	ck_assert_int_eq(bus_init(&bus, "pio"), 0);
	bus.quiet = true;
}

static void teardown(void)
{
	bus_destroy(&bus);
}

START_TEST(test_register_and_find)
{
	struct fake_dev d = { 0 };
	const struct bus_range *r;

	ck_assert_int_eq(bus_register(&bus, 0x3f8, 8, &fake_ops, &d, "serial"), 0);
	r = bus_find(&bus, 0x3f8, 1);
	ck_assert_ptr_nonnull(r);
	ck_assert_uint_eq(r->base, 0x3f8);
	ck_assert_uint_eq(r->len, 8);
	ck_assert_ptr_eq(r->dev, &d);
	ck_assert_str_eq(r->name, "serial");
	ck_assert_ptr_eq(bus_find(&bus, 0x3ff, 1), r);
	ck_assert_ptr_eq(bus_find(&bus, 0x3f8, 8), r);
	ck_assert_ptr_null(bus_find(&bus, 0x3f7, 1));
	ck_assert_ptr_null(bus_find(&bus, 0x400, 1));
	ck_assert_ptr_null(bus_find(&bus, 0x3f8, 0));
}
END_TEST

START_TEST(test_overlap_rejected)
{
	struct fake_dev d = { 0 };

	ck_assert_int_eq(bus_register(&bus, 0x100, 0x10, &fake_ops, &d, "a"), 0);
	/* Overlapping the start, the end, inside, around, identical. */
	ck_assert_int_eq(bus_register(&bus, 0xf8, 0x10, &fake_ops, &d, "b"), -EEXIST);
	ck_assert_int_eq(bus_register(&bus, 0x10f, 0x10, &fake_ops, &d, "b"), -EEXIST);
	ck_assert_int_eq(bus_register(&bus, 0x104, 0x4, &fake_ops, &d, "b"), -EEXIST);
	ck_assert_int_eq(bus_register(&bus, 0x0, 0x1000, &fake_ops, &d, "b"), -EEXIST);
	ck_assert_int_eq(bus_register(&bus, 0x100, 0x10, &fake_ops, &d, "b"), -EEXIST);
	ck_assert_int_eq(bus_register(&bus, 0xff, 2, &fake_ops, &d, "b"), -EEXIST);
	ck_assert_uint_eq(bus.nr_ranges, 1);
}
END_TEST

START_TEST(test_adjacent_allowed)
{
	struct fake_dev a = { 0 }, b = { 0 }, c = { 0 };

	ck_assert_int_eq(bus_register(&bus, 0x100, 0x10, &fake_ops, &a, "a"), 0);
	ck_assert_int_eq(bus_register(&bus, 0x110, 0x10, &fake_ops, &b, "b"), 0);
	ck_assert_int_eq(bus_register(&bus, 0xf0, 0x10, &fake_ops, &c, "c"), 0);
	ck_assert_uint_eq(bus.nr_ranges, 3);
	ck_assert_ptr_eq(bus_find(&bus, 0x10f, 1)->dev, &a);
	ck_assert_ptr_eq(bus_find(&bus, 0x110, 1)->dev, &b);
	ck_assert_ptr_eq(bus_find(&bus, 0xff, 1)->dev, &c);
	ck_assert_ptr_eq(bus_find(&bus, 0x100, 1)->dev, &a);
}
END_TEST

START_TEST(test_bad_registrations)
{
	struct fake_dev d = { 0 };

	ck_assert_int_eq(bus_register(&bus, 0x100, 0, &fake_ops, &d, "zero"), -EINVAL);
	ck_assert_int_eq(bus_register(&bus, 0x100, 1, NULL, &d, "noops"), -EINVAL);
	/* One byte past the top of the 64-bit space. */
	ck_assert_int_eq(bus_register(&bus, 0xffffffffffffff01ULL, 0x100, &fake_ops,
				      &d, "wrap"), -EINVAL);
	ck_assert_int_eq(bus_register(&bus, UINT64_MAX, 2, &fake_ops, &d, "wrap"),
			 -EINVAL);
	ck_assert_int_eq(bus_register(&bus, 2, UINT64_MAX, &fake_ops, &d, "wrap"),
			 -EINVAL);
	ck_assert_uint_eq(bus.nr_ranges, 0);
	/* 1 + (2^64 - 1) is exactly 2^64: the top of the space, allowed. */
	ck_assert_int_eq(bus_register(&bus, 1, UINT64_MAX, &fake_ops, &d, "most"), 0);
}
END_TEST

START_TEST(test_range_ending_at_top)
{
	struct fake_dev d = { 0 }, e = { 0 };
	const struct bus_range *r;

	/* base + len == 2^64 exactly: the range ends at the top, no overflow. */
	ck_assert_int_eq(bus_register(&bus, 0xffffffffffffff00ULL, 0x100, &fake_ops,
				      &d, "top"), 0);
	r = bus_find(&bus, UINT64_MAX, 1);
	ck_assert_ptr_nonnull(r);
	ck_assert_ptr_eq(r->dev, &d);
	ck_assert_ptr_eq(bus_find(&bus, 0xffffffffffffff00ULL, 0x100), r);
	/* An access that would wrap past 2^64 is never claimed. */
	ck_assert_ptr_null(bus_find(&bus, UINT64_MAX, 2));
	ck_assert_ptr_null(bus_find(&bus, 0xffffffffffffff00ULL, UINT64_MAX));
	/* Overlap with the top range is still detected. */
	ck_assert_int_eq(bus_register(&bus, UINT64_MAX, 1, &fake_ops, &e, "x"), -EEXIST);
	/* The whole space as one range, on an empty bus. */
	bus_destroy(&bus);
	ck_assert_int_eq(bus_init(&bus, "mmio"), 0);
	ck_assert_int_eq(bus_register(&bus, 0, UINT64_MAX, &fake_ops, &d, "all"), 0);
	ck_assert_ptr_nonnull(bus_find(&bus, UINT64_MAX - 1, 1));
	ck_assert_ptr_null(bus_find(&bus, UINT64_MAX, 1));
	ck_assert_int_eq(bus_register(&bus, UINT64_MAX, 1, &fake_ops, &e, "last"), 0);
	ck_assert_ptr_eq(bus_find(&bus, UINT64_MAX, 1)->dev, &e);
}
END_TEST

START_TEST(test_straddling_unclaimed)
{
	struct fake_dev a = { 0 }, b = { 0 };
	u8 buf[4];

	ck_assert_int_eq(bus_register(&bus, 0x100, 4, &fake_ops, &a, "a"), 0);
	ck_assert_int_eq(bus_register(&bus, 0x104, 4, &fake_ops, &b, "b"), 0);
	/* Starts in a, ends in b: neither device sees it. */
	ck_assert_ptr_null(bus_find(&bus, 0x102, 4));
	ck_assert_int_eq(bus_read(&bus, 0x102, buf, 4), -ENOENT);
	ck_assert_int_eq(bus_write(&bus, 0x103, buf, 2), -ENOENT);
	/* Starts before a, ends in it. */
	ck_assert_ptr_null(bus_find(&bus, 0xff, 2));
	/* Starts in b, runs past its end into nothing. */
	ck_assert_ptr_null(bus_find(&bus, 0x106, 4));
	ck_assert_int_eq(a.reads + a.writes + b.reads + b.writes, 0);
	/* The last byte of each range is still fine. */
	ck_assert_ptr_eq(bus_find(&bus, 0x103, 1)->dev, &a);
	ck_assert_ptr_eq(bus_find(&bus, 0x106, 2)->dev, &b);
}
END_TEST

START_TEST(test_unclaimed_read_all_ones)
{
	u8 buf[8];
	u32 v32 = 0;
	size_t i;

	memset(buf, 0x5a, sizeof(buf));
	ck_assert_int_eq(bus_read(&bus, 0x1234, buf, 8), -ENOENT);
	for (i = 0; i < sizeof(buf); i++)
		ck_assert_uint_eq(buf[i], 0xff);
	ck_assert_int_eq(bus_read(&bus, 0xd0000000, &v32, sizeof(v32)), -ENOENT);
	ck_assert_uint_eq(v32, 0xffffffffu);
	/* Only len bytes are touched. */
	memset(buf, 0x5a, sizeof(buf));
	ck_assert_int_eq(bus_read(&bus, 0x1234, buf, 2), -ENOENT);
	ck_assert_uint_eq(buf[1], 0xff);
	ck_assert_uint_eq(buf[2], 0x5a);
	ck_assert_int_eq(bus_write(&bus, 0x1234, buf, 1), -ENOENT);
}
END_TEST

START_TEST(test_offsets_forwarded)
{
	struct fake_dev d = { .read_value = 0xab };
	u8 buf[4] = { 1, 2, 3, 4 };
	u16 v16 = 0;

	ck_assert_int_eq(bus_register(&bus, 0xfee00000, 0x1000, &fake_ops, &d, "dev"), 0);
	ck_assert_int_eq(bus_write(&bus, 0xfee00010, buf, 4), 0);
	ck_assert_int_eq(d.writes, 1);
	ck_assert_uint_eq(d.last_offset, 0x10);
	ck_assert_uint_eq(d.last_len, 4);
	ck_assert_mem_eq(d.last_data, buf, 4);

	ck_assert_int_eq(bus_read(&bus, 0xfee00ffe, &v16, 2), 0);
	ck_assert_int_eq(d.reads, 1);
	ck_assert_uint_eq(d.last_offset, 0xffe);
	ck_assert_uint_eq(d.last_len, 2);
	ck_assert_uint_eq(v16, 0xabab);

	ck_assert_int_eq(bus_read(&bus, 0xfee00000, &v16, 1), 0);
	ck_assert_uint_eq(d.last_offset, 0);
}
END_TEST

START_TEST(test_write_only_device)
{
	struct fake_dev d = { 0 };
	u8 v = 0x12;

	/* A device without a read handler reads as unclaimed (all-ones). */
	ck_assert_int_eq(bus_register(&bus, 0xf4, 1, &write_only_ops, &d, "exit"), 0);
	ck_assert_int_eq(bus_write(&bus, 0xf4, &v, 1), 0);
	ck_assert_int_eq(d.writes, 1);
	ck_assert_uint_eq(d.last_data[0], 0x12);
	ck_assert_int_eq(bus_read(&bus, 0xf4, &v, 1), -ENOENT);
	ck_assert_uint_eq(v, 0xff);
	ck_assert_int_eq(d.reads, 0);
}
END_TEST

START_TEST(test_many_out_of_order)
{
	enum { N = 200 };
	static struct fake_dev devs[N];
	const struct bus_range *r;
	size_t i;
	u8 v;

	/* Register ranges 0x10 apart, 8 long, in a scrambled order (37 is coprime to 200). */
	for (i = 0; i < N; i++) {
		size_t k = (i * 37) % N;

		ck_assert_int_eq(bus_register(&bus, 0x1000 + k * 0x10, 8, &fake_ops,
					      &devs[k], "d"), 0);
	}
	ck_assert_uint_eq(bus.nr_ranges, N);
	ck_assert_uint_ge(bus.cap_ranges, N);
	for (i = 1; i < N; i++)
		ck_assert_uint_lt(bus.ranges[i - 1].base, bus.ranges[i].base);
	for (i = 0; i < N; i++) {
		u64 base = 0x1000 + i * 0x10;

		r = bus_find(&bus, base + 7, 1);
		ck_assert_ptr_nonnull(r);
		ck_assert_ptr_eq(r->dev, &devs[i]);
		ck_assert_uint_eq(r->base, base);
		/* The gaps between ranges stay unclaimed. */
		ck_assert_ptr_null(bus_find(&bus, base + 8, 1));
		ck_assert_ptr_null(bus_find(&bus, base + 0xf, 1));
		ck_assert_int_eq(bus_read(&bus, base + 3, &v, 1), 0);
		ck_assert_uint_eq(devs[i].last_offset, 3);
	}
	ck_assert_ptr_null(bus_find(&bus, 0xfff, 1));
	/* Every slot is taken: a range overlapping any of them fails. */
	ck_assert_int_eq(bus_register(&bus, 0x1000 + 57 * 0x10 + 4, 8, &fake_ops,
				      &devs[0], "x"), -EEXIST);
}
END_TEST

/* Runs fn with stderr sent to a temporary file and returns what it printed. */
static char *capture_stderr(void (*fn)(void))
{
	FILE *tmp = tmpfile();
	int saved;
	long size;
	char *text;

	ck_assert_ptr_nonnull(tmp);
	fflush(stderr);
	saved = dup(STDERR_FILENO);
	ck_assert_int_ge(saved, 0);
	ck_assert_int_ge(dup2(fileno(tmp), STDERR_FILENO), 0);
	fn();
	fflush(stderr);
	ck_assert_int_ge(dup2(saved, STDERR_FILENO), 0);
	close(saved);

	ck_assert_int_eq(fseek(tmp, 0, SEEK_END), 0);
	size = ftell(tmp);
	ck_assert_int_ge(size, 0);
	rewind(tmp);
	text = calloc(1, (size_t)size + 1);
	ck_assert_ptr_nonnull(text);
	ck_assert_uint_eq(fread(text, 1, (size_t)size, tmp), (size_t)size);
	fclose(tmp);
	return text;
}

static unsigned int count_lines(const char *text)
{
	unsigned int n = 0;

	for (; *text; text++)
		n += *text == '\n';
	return n;
}

static void access_same_port_twice(void)
{
	u16 v = 0;

	bus.quiet = false;
	bus_write(&bus, 0x1234, &v, 2);
	bus_write(&bus, 0x1234, &v, 2);
	bus_read(&bus, 0x1234, &v, 2);
	bus_read(&bus, 0x99, &v, 1);
}

START_TEST(test_unclaimed_logged_once)
{
	char *text = capture_stderr(access_same_port_twice);

	ck_assert_uint_eq(count_lines(text), 2);
	ck_assert_ptr_nonnull(strstr(text,
		"trapeze: pio: unclaimed write of 2 bytes at 0x1234 (logged once)\n"));
	ck_assert_ptr_nonnull(strstr(text,
		"trapeze: pio: unclaimed read of 1 byte at 0x99 (logged once)\n"));
	free(text);
}
END_TEST

static void access_many_ports(void)
{
	u8 v = 0;
	u64 port;

	bus.quiet = false;
	for (port = 0; port < BUS_UNCLAIMED_LOG_MAX + 10; port++)
		bus_write(&bus, 0x5000 + port, &v, 1);
	/* Already logged addresses and new ones: silence either way. */
	bus_write(&bus, 0x5000, &v, 1);
	bus_write(&bus, 0x9000, &v, 1);
}

START_TEST(test_log_table_full)
{
	char *text = capture_stderr(access_many_ports);

	/* One line per address the table holds, then one line saying it is full. */
	ck_assert_uint_eq(count_lines(text), BUS_UNCLAIMED_LOG_MAX + 1);
	ck_assert_ptr_nonnull(strstr(text, "not logging more"));
	ck_assert_ptr_null(strstr(text, "0x9000"));
	free(text);
}
END_TEST

static void access_quiet(void)
{
	u8 v = 0;

	bus.quiet = true;
	bus_write(&bus, 0x1234, &v, 1);
	bus_read(&bus, 0x1235, &v, 1);
}

START_TEST(test_quiet_suppresses_log)
{
	char *text = capture_stderr(access_quiet);

	ck_assert_str_eq(text, "");
	free(text);
}
END_TEST

START_TEST(test_destroy_resets)
{
	struct fake_dev d = { 0 };

	ck_assert_int_eq(bus_register(&bus, 0x10, 1, &fake_ops, &d, "a"), 0);
	bus_destroy(&bus);
	ck_assert_ptr_null(bus.ranges);
	ck_assert_ptr_null(bus.log_lock);
	ck_assert_uint_eq(bus.nr_ranges, 0);
	/* A second destroy (teardown) of a destroyed bus is harmless. */
}
END_TEST

static Suite *bus_suite(void)
{
	Suite *s = suite_create("bus");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_register_and_find);
	tcase_add_test(tc, test_overlap_rejected);
	tcase_add_test(tc, test_adjacent_allowed);
	tcase_add_test(tc, test_bad_registrations);
	tcase_add_test(tc, test_range_ending_at_top);
	tcase_add_test(tc, test_straddling_unclaimed);
	tcase_add_test(tc, test_unclaimed_read_all_ones);
	tcase_add_test(tc, test_offsets_forwarded);
	tcase_add_test(tc, test_write_only_device);
	tcase_add_test(tc, test_many_out_of_order);
	tcase_add_test(tc, test_unclaimed_logged_once);
	tcase_add_test(tc, test_log_table_full);
	tcase_add_test(tc, test_quiet_suppresses_log);
	tcase_add_test(tc, test_destroy_resets);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return check_run(bus_suite());
}

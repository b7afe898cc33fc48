/*
 * Unit tests for debug/dirtylog: counting and finding runs of written pages
 * in bitmaps laid out as KVM_GET_DIRTY_LOG returns them (bit n of 64-bit
 * word n / 64 is page n), and the report against a VM fd that is not one.
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "check_main.h"
#include "trapeze/debug/dirtylog.h"

#define PAGE DIRTYLOG_PAGE_SIZE

static void set_bit(u64 *bitmap, u64 n)
{
	bitmap[n / 64] |= 1ULL << (n % 64);
}

START_TEST(count_empty_full_and_partial)
{
	u64 bm[3];

	memset(bm, 0, sizeof(bm));
	ck_assert_uint_eq(dirtylog_count(bm, 192), 0);
	memset(bm, 0xff, sizeof(bm));
	ck_assert_uint_eq(dirtylog_count(bm, 192), 192);
	/* Only the first npages bits count, also inside a word. */
	ck_assert_uint_eq(dirtylog_count(bm, 130), 130);
	ck_assert_uint_eq(dirtylog_count(bm, 1), 1);
	ck_assert_uint_eq(dirtylog_count(bm, 0), 0);
}
END_TEST

START_TEST(ranges_follow_runs_across_words)
{
	struct dirtylog_range r[8];
	u64 bm[3] = { 0 }, n, i;

	set_bit(bm, 0);				/* a single page at the start */
	for (i = 60; i < 70; i++)		/* a run across the first word boundary */
		set_bit(bm, i);
	for (i = 128; i < 192; i++)		/* a whole word, up to the end */
		set_bit(bm, i);
	n = dirtylog_ranges(bm, 192, 0x100000, r, 8);
	ck_assert_uint_eq(n, 3);
	ck_assert_uint_eq(r[0].gpa, 0x100000);
	ck_assert_uint_eq(r[0].pages, 1);
	ck_assert_uint_eq(r[1].gpa, 0x100000 + 60 * PAGE);
	ck_assert_uint_eq(r[1].pages, 10);
	ck_assert_uint_eq(r[2].gpa, 0x100000 + 128 * PAGE);
	ck_assert_uint_eq(r[2].pages, 64);
}
END_TEST

START_TEST(ranges_stop_at_npages)
{
	struct dirtylog_range r[2];
	u64 bm[2];

	/* Bits past npages (KVM rounds the bitmap up to a long) are ignored. */
	memset(bm, 0xff, sizeof(bm));
	ck_assert_uint_eq(dirtylog_ranges(bm, 70, 0, r, 2), 1);
	ck_assert_uint_eq(r[0].gpa, 0);
	ck_assert_uint_eq(r[0].pages, 70);
	ck_assert_uint_eq(dirtylog_ranges(bm, 0, 0, r, 2), 0);
}
END_TEST

START_TEST(ranges_beyond_max_are_counted_not_stored)
{
	struct dirtylog_range r[3];
	u64 bm[2] = { 0 }, i;

	for (i = 0; i < 128; i += 2)		/* 64 runs of one page */
		set_bit(bm, i);
	memset(r, 0xab, sizeof(r));
	ck_assert_uint_eq(dirtylog_ranges(bm, 128, 0x4000000, r, 2), 64);
	ck_assert_uint_eq(r[0].gpa, 0x4000000);
	ck_assert_uint_eq(r[1].gpa, 0x4000000 + 2 * PAGE);
	ck_assert_uint_eq(r[2].gpa, 0xababababababababULL);	/* untouched */
	ck_assert_uint_eq(dirtylog_ranges(bm, 128, 0, NULL, 0), 64);
}
END_TEST

START_TEST(report_refuses_a_non_vm_fd)
{
	struct guest_mem mem;
	char buf[256] = "";
	FILE *out = fmemopen(buf, sizeof(buf), "w");

	ck_assert_ptr_nonnull(out);
	memset(&mem, 0, sizeof(mem));
	mem.nr_regions = 1;
	mem.regions[0].size = 64 * PAGE;
	/* fd 0 is no VM: the ioctl fails and nothing is printed. */
	ck_assert_int_lt(dirtylog_report(0, &mem, out), 0);
	fclose(out);
	ck_assert_str_eq(buf, "");
}
END_TEST

int main(void)
{
	Suite *s = suite_create("dirtylog");
	TCase *tc = tcase_create("dirtylog");

	tcase_add_test(tc, count_empty_full_and_partial);
	tcase_add_test(tc, ranges_follow_runs_across_words);
	tcase_add_test(tc, ranges_stop_at_npages);
	tcase_add_test(tc, ranges_beyond_max_are_counted_not_stored);
	tcase_add_test(tc, report_refuses_a_non_vm_fd);
	suite_add_tcase(s, tc);
	return check_run(s);
}

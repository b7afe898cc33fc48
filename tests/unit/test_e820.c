/*
 * Unit tests for e820_build: the memory maps of small, hole-straddling and
 * large guests, and the refusals (too little RAM, too few entries, regions
 * out of order).
 */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "check_main.h"
#include "trapeze/arch/x86/e820.h"
#include "trapeze/arch/x86/layout.h"
#include "trapeze/guest_mem.h"

#define MiB (1ULL << 20)
#define GiB (1ULL << 30)

static void check_entry(const struct e820_entry *e, u64 addr, u64 size, u32 type)
{
	ck_assert_uint_eq(e->addr, addr);
	ck_assert_uint_eq(e->size, size);
	ck_assert_uint_eq(e->type, type);
}

/* Builds the map of a real guest_mem of ram bytes into out; returns the count. */
static int build_for(u64 ram, struct e820_entry *out, unsigned int max)
{
	struct guest_mem mem;
	int n;

	ck_assert_int_eq(guest_mem_init(&mem, ram), 0);
	n = e820_build(&mem, out, max);
	guest_mem_destroy(&mem);
	return n;
}

/* The low part every map starts with: conventional RAM, then the reserved EBDA/BIOS area. */
static void check_low(const struct e820_entry *map)
{
	check_entry(&map[0], 0, X86_EBDA_START, E820_RAM);
	check_entry(&map[1], X86_EBDA_START, 0x100000 - X86_EBDA_START,
		    E820_RESERVED);
}

START_TEST(map_256m)
{
	struct e820_entry map[8];

	memset(map, 0xa5, sizeof(map));
	ck_assert_int_eq(build_for(256 * MiB, map, ARRAY_SIZE(map)), 3);
	check_low(map);
	check_entry(&map[2], 1 * MiB, 255 * MiB, E820_RAM);
	/* Nothing past the count is touched. */
	ck_assert_uint_eq(map[3].addr, 0xa5a5a5a5a5a5a5a5ULL);
}
END_TEST

START_TEST(map_3g5)
{
	struct e820_entry map[8];

	/* 3.5 GiB: 3 GiB below the hole, the other 512 MiB from 4 GiB. */
	ck_assert_int_eq(build_for(3 * GiB + 512 * MiB, map, ARRAY_SIZE(map)), 4);
	check_low(map);
	check_entry(&map[2], 1 * MiB, 3 * GiB - 1 * MiB, E820_RAM);
	check_entry(&map[3], 4 * GiB, 512 * MiB, E820_RAM);
}
END_TEST

START_TEST(map_6g)
{
	struct e820_entry map[8];

	ck_assert_int_eq(build_for(6 * GiB, map, ARRAY_SIZE(map)), 4);
	check_low(map);
	check_entry(&map[2], 1 * MiB, 3 * GiB - 1 * MiB, E820_RAM);
	check_entry(&map[3], 4 * GiB, 3 * GiB, E820_RAM);
}
END_TEST

START_TEST(map_exactly_3g)
{
	struct e820_entry map[8];

	/* RAM that ends right at the hole needs no second region. */
	ck_assert_int_eq(build_for(3 * GiB, map, ARRAY_SIZE(map)), 3);
	check_entry(&map[2], 1 * MiB, 3 * GiB - 1 * MiB, E820_RAM);
}
END_TEST

START_TEST(map_minimum)
{
	struct e820_entry map[8];

	ck_assert_int_eq(build_for(E820_MIN_RAM, map, ARRAY_SIZE(map)), 3);
	check_entry(&map[2], 1 * MiB, E820_MIN_RAM - 1 * MiB, E820_RAM);
	/* One page less than the minimum is refused. */
	ck_assert_int_eq(build_for(E820_MIN_RAM - 4096, map, ARRAY_SIZE(map)),
			 -EINVAL);
	ck_assert_int_eq(build_for(1 * MiB, map, ARRAY_SIZE(map)), -EINVAL);
}
END_TEST

START_TEST(map_too_few_entries)
{
	struct e820_entry map[4];

	ck_assert_int_eq(build_for(256 * MiB, map, 2), -ENOSPC);
	ck_assert_int_eq(build_for(256 * MiB, map, 3), 3);
	ck_assert_int_eq(build_for(6 * GiB, map, 3), -ENOSPC);
	ck_assert_int_eq(build_for(6 * GiB, map, 4), 4);
	ck_assert_int_eq(build_for(256 * MiB, map, 0), -ENOSPC);
}
END_TEST

START_TEST(map_bad_regions)
{
	struct guest_mem mem;
	struct e820_entry map[8];

	/* e820_build reads only gpa and size: regions need no backing here. */
	memset(&mem, 0, sizeof(mem));
	ck_assert_int_eq(e820_build(&mem, map, ARRAY_SIZE(map)), -EINVAL);

	/* Region 0 must start at 0. */
	mem.nr_regions = 1;
	mem.regions[0] = (struct guest_region){ .gpa = 1 * MiB, .size = 64 * MiB };
	ck_assert_int_eq(e820_build(&mem, map, ARRAY_SIZE(map)), -EINVAL);

	/* A later region overlapping region 0, or out of order, is refused. */
	mem.nr_regions = 3;
	mem.regions[0] = (struct guest_region){ .gpa = 0, .size = 64 * MiB };
	mem.regions[1] = (struct guest_region){ .gpa = 4 * GiB, .size = 1 * GiB };
	mem.regions[2] = (struct guest_region){ .gpa = 32 * MiB, .size = 1 * MiB };
	ck_assert_int_eq(e820_build(&mem, map, ARRAY_SIZE(map)), -EINVAL);
	mem.regions[2] = (struct guest_region){ .gpa = 5 * GiB - 4096, .size = 8192 };
	ck_assert_int_eq(e820_build(&mem, map, ARRAY_SIZE(map)), -EINVAL);
	/* Empty, or wrapping past 2^64. */
	mem.regions[2] = (struct guest_region){ .gpa = 6 * GiB, .size = 0 };
	ck_assert_int_eq(e820_build(&mem, map, ARRAY_SIZE(map)), -EINVAL);
	mem.regions[2] = (struct guest_region){ .gpa = 6 * GiB, .size = UINT64_MAX };
	ck_assert_int_eq(e820_build(&mem, map, ARRAY_SIZE(map)), -EINVAL);

	/* Sorted and disjoint: accepted, in order. */
	mem.regions[2] = (struct guest_region){ .gpa = 6 * GiB, .size = 1 * GiB };
	ck_assert_int_eq(e820_build(&mem, map, ARRAY_SIZE(map)), 5);
	check_entry(&map[3], 4 * GiB, 1 * GiB, E820_RAM);
	check_entry(&map[4], 6 * GiB, 1 * GiB, E820_RAM);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("e820");
	TCase *tc = tcase_create("e820");

	tcase_add_test(tc, map_256m);
	tcase_add_test(tc, map_3g5);
	tcase_add_test(tc, map_6g);
	tcase_add_test(tc, map_exactly_3g);
	tcase_add_test(tc, map_minimum);
	tcase_add_test(tc, map_too_few_entries);
	tcase_add_test(tc, map_bad_regions);
	suite_add_tcase(s, tc);

	return check_run(s);
}

/*
 * Unit tests for guest_mem: the layout around the 32-bit hole and the
 * overflow-checked (gpa, len) translation.
 */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "check_main.h"
#include "trapeze/guest_mem.h"

#define MiB (1ULL << 20)
#define GiB (1ULL << 30)

START_TEST(test_bad_sizes)
{
	struct guest_mem mem;

	ck_assert_int_eq(guest_mem_init(&mem, 0), -EINVAL);
	ck_assert_int_eq(guest_mem_init(&mem, 4095), -EINVAL);
	ck_assert_int_eq(guest_mem_init(&mem, 4097), -EINVAL);
	ck_assert_int_eq(guest_mem_init(&mem, 64 * MiB + 512), -EINVAL);
	ck_assert_int_eq(guest_mem_init(&mem, GUEST_MEM_MAX_SIZE + 4096), -EINVAL);
	ck_assert_int_eq(guest_mem_init(&mem, UINT64_MAX & ~4095ULL), -EINVAL);
	/* A failed init leaves nothing to free. */
	ck_assert_ptr_null(mem.map);
	ck_assert_uint_eq(mem.nr_regions, 0);
	guest_mem_destroy(&mem);
}
END_TEST

START_TEST(test_small_layout)
{
	struct guest_mem mem;

	ck_assert_int_eq(guest_mem_init(&mem, 64 * MiB), 0);
	ck_assert_uint_eq(mem.nr_regions, 1);
	ck_assert_uint_eq(mem.ram_size, 64 * MiB);
	ck_assert_uint_eq(mem.regions[0].gpa, 0);
	ck_assert_uint_eq(mem.regions[0].size, 64 * MiB);
	ck_assert_ptr_eq(mem.regions[0].host, mem.map);
	ck_assert_uint_eq(guest_mem_end(&mem), 64 * MiB);
	guest_mem_destroy(&mem);
	ck_assert_ptr_null(mem.map);
	ck_assert_uint_eq(mem.nr_regions, 0);
}
END_TEST

START_TEST(test_one_page)
{
	struct guest_mem mem;

	ck_assert_int_eq(guest_mem_init(&mem, 4096), 0);
	ck_assert_ptr_nonnull(guest_mem_ptr(&mem, 0, 4096));
	ck_assert_ptr_null(guest_mem_ptr(&mem, 0, 4097));
	ck_assert_ptr_null(guest_mem_ptr(&mem, 4096, 1));
	guest_mem_destroy(&mem);
}
END_TEST

START_TEST(test_exactly_below_hole)
{
	struct guest_mem mem;

	ck_assert_int_eq(guest_mem_init(&mem, GUEST_MEM_HOLE_START), 0);
	ck_assert_uint_eq(mem.nr_regions, 1);
	ck_assert_uint_eq(guest_mem_end(&mem), GUEST_MEM_HOLE_START);
	ck_assert_ptr_null(guest_mem_ptr(&mem, GUEST_MEM_HOLE_END, 1));
	guest_mem_destroy(&mem);
}
END_TEST

START_TEST(test_layout_around_hole)
{
	struct guest_mem mem;
	u8 *base;

	/* 3.5 GiB: 3 GiB below the hole, 512 MiB from 4 GiB on. */
	ck_assert_int_eq(guest_mem_init(&mem, 3 * GiB + 512 * MiB), 0);
	base = mem.map;
	ck_assert_uint_eq(mem.nr_regions, 2);
	ck_assert_uint_eq(mem.regions[0].gpa, 0);
	ck_assert_uint_eq(mem.regions[0].size, GUEST_MEM_HOLE_START);
	ck_assert_ptr_eq(mem.regions[0].host, base);
	ck_assert_uint_eq(mem.regions[1].gpa, GUEST_MEM_HOLE_END);
	ck_assert_uint_eq(mem.regions[1].size, 512 * MiB);
	ck_assert_ptr_eq(mem.regions[1].host, base + GUEST_MEM_HOLE_START);
	ck_assert_uint_eq(guest_mem_end(&mem), GUEST_MEM_HOLE_END + 512 * MiB);

	/* Translation: low RAM, high RAM continuing in the same mapping. */
	ck_assert_ptr_eq(guest_mem_ptr(&mem, 0x1000, 16), base + 0x1000);
	ck_assert_ptr_eq(guest_mem_ptr(&mem, GUEST_MEM_HOLE_START - 4, 4),
			 base + GUEST_MEM_HOLE_START - 4);
	ck_assert_ptr_eq(guest_mem_ptr(&mem, GUEST_MEM_HOLE_END, 1),
			 base + GUEST_MEM_HOLE_START);
	ck_assert_ptr_eq(guest_mem_ptr(&mem, GUEST_MEM_HOLE_END + 512 * MiB - 8, 8),
			 base + 3 * GiB + 512 * MiB - 8);

	/* The hole is not RAM, at either edge or in the middle. */
	ck_assert_ptr_null(guest_mem_ptr(&mem, GUEST_MEM_HOLE_START, 1));
	ck_assert_ptr_null(guest_mem_ptr(&mem, 0xD0000000ULL, 4));
	ck_assert_ptr_null(guest_mem_ptr(&mem, GUEST_MEM_HOLE_END - 1, 1));
	/* A range running from low RAM into the hole, or from the hole into high RAM. */
	ck_assert_ptr_null(guest_mem_ptr(&mem, GUEST_MEM_HOLE_START - 4, 8));
	ck_assert_ptr_null(guest_mem_ptr(&mem, GUEST_MEM_HOLE_END - 4, 8));
	/* Spanning both regions (over the hole) is refused too. */
	ck_assert_ptr_null(guest_mem_ptr(&mem, 0, 5 * GiB));
	/* Past the end of RAM. */
	ck_assert_ptr_null(guest_mem_ptr(&mem, GUEST_MEM_HOLE_END + 512 * MiB, 1));
	ck_assert_ptr_null(guest_mem_ptr(&mem, GUEST_MEM_HOLE_END + 512 * MiB - 8, 9));
	guest_mem_destroy(&mem);
}
END_TEST

START_TEST(test_ptr_bounds)
{
	struct guest_mem mem;
	u8 *base;

	ck_assert_int_eq(guest_mem_init(&mem, 16 * MiB), 0);
	base = mem.map;
	ck_assert_ptr_eq(guest_mem_ptr(&mem, 0, 16 * MiB), base);
	ck_assert_ptr_eq(guest_mem_ptr(&mem, 16 * MiB - 1, 1), base + 16 * MiB - 1);
	ck_assert_ptr_null(guest_mem_ptr(&mem, 16 * MiB - 1, 2));
	ck_assert_ptr_null(guest_mem_ptr(&mem, 16 * MiB, 1));
	ck_assert_ptr_null(guest_mem_ptr(&mem, 0, 16 * MiB + 1));
	/* len 0 names no byte, even at a valid address. */
	ck_assert_ptr_null(guest_mem_ptr(&mem, 0, 0));
	ck_assert_ptr_null(guest_mem_ptr(&mem, 0x1000, 0));
	guest_mem_destroy(&mem);
}
END_TEST

START_TEST(test_ptr_overflow)
{
	struct guest_mem mem;

	ck_assert_int_eq(guest_mem_init(&mem, 16 * MiB), 0);
	/* gpa + len wraps to a small number that would look in bounds. */
	ck_assert_ptr_null(guest_mem_ptr(&mem, 0x1000, UINT64_MAX));
	ck_assert_ptr_null(guest_mem_ptr(&mem, 0x1000, UINT64_MAX - 0xfff + 0x10));
	ck_assert_ptr_null(guest_mem_ptr(&mem, UINT64_MAX, 2));
	ck_assert_ptr_null(guest_mem_ptr(&mem, UINT64_MAX - 0xf, 0x20));
	ck_assert_ptr_null(guest_mem_ptr(&mem, UINT64_MAX, 1));
	ck_assert_ptr_null(guest_mem_ptr(&mem, 0, UINT64_MAX));
	guest_mem_destroy(&mem);
}
END_TEST

START_TEST(test_read_write_round_trip)
{
	struct guest_mem mem;
	u8 out[256], in[256];
	u64 gpas[] = { 0, 0x7c00, 3 * GiB - sizeof(out), GUEST_MEM_HOLE_END,
		       GUEST_MEM_HOLE_END + 64 * MiB - sizeof(out) };
	size_t i, j;

	ck_assert_int_eq(guest_mem_init(&mem, 3 * GiB + 64 * MiB), 0);
	for (i = 0; i < ARRAY_SIZE(gpas); i++) {
		for (j = 0; j < sizeof(out); j++)
			out[j] = (u8)(i * 31 + j);
		ck_assert_int_eq(guest_mem_write(&mem, gpas[i], out, sizeof(out)), 0);
		memset(in, 0, sizeof(in));
		ck_assert_int_eq(guest_mem_read(&mem, gpas[i], in, sizeof(in)), 0);
		ck_assert_mem_eq(in, out, sizeof(out));
		/* The bytes landed where guest_mem_ptr says they are. */
		ck_assert_mem_eq(guest_mem_ptr(&mem, gpas[i], sizeof(out)), out,
				 sizeof(out));
	}
	/* High RAM at 4 GiB is the mapping right after low RAM's 3 GiB. */
	ck_assert_uint_eq(((u8 *)mem.map)[3 * GiB], (u8)(3 * 31));
	guest_mem_destroy(&mem);
}
END_TEST

START_TEST(test_read_write_faults)
{
	struct guest_mem mem;
	u8 buf[16];

	memset(buf, 0x77, sizeof(buf));
	ck_assert_int_eq(guest_mem_init(&mem, 3 * GiB + 64 * MiB), 0);
	ck_assert_int_eq(guest_mem_write(&mem, 0xD0000000ULL, buf, 4), -EFAULT);
	ck_assert_int_eq(guest_mem_read(&mem, 0xD0000000ULL, buf, 4), -EFAULT);
	/* Partly in RAM is wholly refused; nothing is copied. */
	ck_assert_int_eq(guest_mem_write(&mem, GUEST_MEM_HOLE_START - 8, buf, 16),
			 -EFAULT);
	ck_assert_uint_eq(((u8 *)guest_mem_ptr(&mem, GUEST_MEM_HOLE_START - 8, 8))[0], 0);
	ck_assert_int_eq(guest_mem_read(&mem, guest_mem_end(&mem) - 8, buf, 16),
			 -EFAULT);
	ck_assert_uint_eq(buf[0], 0x77);
	ck_assert_int_eq(guest_mem_read(&mem, UINT64_MAX - 3, buf, 8), -EFAULT);
	ck_assert_int_eq(guest_mem_write(&mem, 0x1000, buf, UINT64_MAX), -EFAULT);
	/* Copying nothing touches no byte, so it cannot fault. */
	ck_assert_int_eq(guest_mem_read(&mem, 0, buf, 0), 0);
	ck_assert_int_eq(guest_mem_write(&mem, 0xD0000000ULL, buf, 0), 0);
	guest_mem_destroy(&mem);
}
END_TEST

START_TEST(test_max_size)
{
	struct guest_mem mem;
	int ret;

	/*
	 * 1 TiB of address space with MAP_NORESERVE: allowed by the size
	 * check; the host may still refuse the mapping (address-space limits),
	 * which must then be -ENOMEM, not a crash.
	 */
	ret = guest_mem_init(&mem, GUEST_MEM_MAX_SIZE);
	ck_assert(ret == 0 || ret == -ENOMEM);
	if (ret == 0) {
		ck_assert_uint_eq(mem.nr_regions, 2);
		ck_assert_uint_eq(guest_mem_end(&mem),
				  GUEST_MEM_HOLE_END + GUEST_MEM_MAX_SIZE -
				  GUEST_MEM_HOLE_START);
		ck_assert_ptr_nonnull(guest_mem_ptr(&mem, guest_mem_end(&mem) - 1, 1));
		ck_assert_ptr_null(guest_mem_ptr(&mem, guest_mem_end(&mem), 1));
		guest_mem_destroy(&mem);
	}
}
END_TEST

static Suite *guest_mem_suite(void)
{
	Suite *s = suite_create("guest_mem");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_bad_sizes);
	tcase_add_test(tc, test_small_layout);
	tcase_add_test(tc, test_one_page);
	tcase_add_test(tc, test_exactly_below_hole);
	tcase_add_test(tc, test_layout_around_hole);
	tcase_add_test(tc, test_ptr_bounds);
	tcase_add_test(tc, test_ptr_overflow);
	tcase_add_test(tc, test_read_write_round_trip);
	tcase_add_test(tc, test_read_write_faults);
	tcase_add_test(tc, test_max_size);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return check_run(guest_mem_suite());
}

/*
 * Unit tests for the guest page-table walker: page tables built by hand in
 * a guest_mem for every paging mode (off, 32-bit with and without PSE,
 * PAE, 4-level, 5-level), large pages, rights accumulated over the levels,
 * and every way a walk can fail (not present, reserved bits, non-canonical,
 * tables outside RAM); page-crossing reads and writes; the printed walk.
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "trapeze/debug/pagewalk.h"

#define RAM (16ull << 20)

static struct guest_mem mem;

static void setup(void)
{
	ck_assert_int_eq(guest_mem_init(&mem, RAM), 0);
}

static void teardown(void)
{
	guest_mem_destroy(&mem);
}

static void put64(u64 gpa, u64 v)
{
	ck_assert_int_eq(guest_mem_write(&mem, gpa, &v, 8), 0);
}

static void put32(u64 gpa, u32 v)
{
	ck_assert_int_eq(guest_mem_write(&mem, gpa, &v, 4), 0);
}

#define PRW  (PW_P | PW_RW)
#define PRWU (PW_P | PW_RW | PW_US)

static const struct pagewalk_regs long4 = {
	.cr0 = PW_CR0_PG | 1, .cr3 = 0x1000, .cr4 = PW_CR4_PAE, .efer = PW_EFER_LMA | (1 << 8),
};

/* va 0x00007f8080201abc: PML4 255, PDPT 2, PD 1, PT 1, offset 0xabc. */
#define VA4 0x00007f8080201abcull

static void build_4level_4k(void)
{
	put64(0x1000 + 255 * 8, 0x2000 | PRWU);
	put64(0x2000 + 2 * 8, 0x3000 | PRWU);
	put64(0x3000 + 1 * 8, 0x4000 | PRWU);
	put64(0x4000 + 1 * 8, 0x567000 | PRWU | PW_A | PW_D);
}

START_TEST(test_mode_of)
{
	struct pagewalk_regs r = { 0 };

	ck_assert_int_eq(pagewalk_mode_of(&r), PW_MODE_OFF);
	r.cr0 = PW_CR0_PG;
	ck_assert_int_eq(pagewalk_mode_of(&r), PW_MODE_32);
	r.cr4 = PW_CR4_PAE;
	ck_assert_int_eq(pagewalk_mode_of(&r), PW_MODE_PAE);
	r.efer = PW_EFER_LMA;
	ck_assert_int_eq(pagewalk_mode_of(&r), PW_MODE_4LEVEL);
	r.cr4 |= PW_CR4_LA57;
	ck_assert_int_eq(pagewalk_mode_of(&r), PW_MODE_5LEVEL);
	ck_assert_str_eq(pagewalk_mode_name(PW_MODE_PAE), "PAE paging");
}
END_TEST

START_TEST(test_paging_off)
{
	struct pagewalk_regs r = { .cr0 = 1 };
	struct pagewalk w;

	ck_assert_int_eq(pagewalk(&mem, &r, 0xb8000, &w), 0);
	ck_assert(w.mapped);
	ck_assert_uint_eq(w.gpa, 0xb8000);
	ck_assert_uint_eq(w.nr_levels, 0);
	ck_assert_int_eq(pagewalk(&mem, &r, 0x100000000ull, &w), -EINVAL);
	ck_assert_ptr_nonnull(strstr(w.why, "beyond 32 bits"));
}
END_TEST

START_TEST(test_4level_4k)
{
	struct pagewalk w;

	build_4level_4k();
	ck_assert_int_eq(pagewalk(&mem, &long4, VA4, &w), 0);
	ck_assert(w.mapped);
	ck_assert_uint_eq(w.gpa, 0x567abc);
	ck_assert_uint_eq(w.page_size, 4096);
	ck_assert_uint_eq(w.nr_levels, 4);
	ck_assert_str_eq(w.levels[0].table, "PML4");
	ck_assert_uint_eq(w.levels[0].index, 255);
	ck_assert_uint_eq(w.levels[0].table_gpa, 0x1000);
	ck_assert_uint_eq(w.levels[0].entry_gpa, 0x1000 + 255 * 8);
	ck_assert_uint_eq(w.levels[0].entry, 0x2000 | PRWU);
	ck_assert_str_eq(w.levels[1].table, "PDPT");
	ck_assert_uint_eq(w.levels[1].index, 2);
	ck_assert_str_eq(w.levels[2].table, "PD");
	ck_assert_uint_eq(w.levels[2].index, 1);
	ck_assert_str_eq(w.levels[3].table, "PT");
	ck_assert_uint_eq(w.levels[3].index, 1);
	ck_assert(w.levels[3].leaf);
	ck_assert(!w.levels[2].leaf);
	ck_assert(w.writable);
	ck_assert(w.user);
	ck_assert(!w.nx);
}
END_TEST

START_TEST(test_cr3_low_bits_ignored)
{
	struct pagewalk_regs r = long4;
	struct pagewalk w;

	build_4level_4k();
	r.cr3 |= 0x18;	/* PWT/PCD (or a PCID) in CR3's low bits */
	ck_assert_int_eq(pagewalk(&mem, &r, VA4, &w), 0);
	ck_assert_uint_eq(w.gpa, 0x567abc);
}
END_TEST

START_TEST(test_4level_large_pages)
{
	struct pagewalk w;

	/* 2 MiB: PD entry with PS; bit 12 (PAT) of a large-page entry is not address. */
	put64(0x1000, 0x2000 | PRWU);
	put64(0x2000, 0x3000 | PRWU);
	put64(0x3000 + 3 * 8, 0x800000 | PRWU | PW_PS | (1ull << 12));
	ck_assert_int_eq(pagewalk(&mem, &long4, 0x600000 + 0x12345, &w), 0);
	ck_assert_uint_eq(w.gpa, 0x800000 + 0x12345);
	ck_assert_uint_eq(w.page_size, 2ull << 20);
	ck_assert_uint_eq(w.nr_levels, 3);
	ck_assert(w.levels[2].leaf);

	/* 1 GiB: PDPT entry with PS, va in the second GiB. */
	put64(0x2000 + 1 * 8, 0x0 | PRWU | PW_PS);
	ck_assert_int_eq(pagewalk(&mem, &long4, (1ull << 30) + 0xabcdef, &w), 0);
	ck_assert_uint_eq(w.gpa, 0xabcdef);
	ck_assert_uint_eq(w.page_size, 1ull << 30);
	ck_assert_uint_eq(w.nr_levels, 2);
}
END_TEST

START_TEST(test_not_present)
{
	struct pagewalk w;

	build_4level_4k();
	put64(0x3000 + 1 * 8, 0x4000 | PW_RW);	/* PD entry without P */
	ck_assert_int_eq(pagewalk(&mem, &long4, VA4, &w), -EFAULT);
	ck_assert(!w.mapped);
	ck_assert_uint_eq(w.nr_levels, 3);
	ck_assert_str_eq(w.why, "PD entry 1 not present");
	/* Nothing mapped at all: the PML4 entry. */
	ck_assert_int_eq(pagewalk(&mem, &long4, 0x1000, &w), -EFAULT);
	ck_assert_str_eq(w.why, "PML4 entry 0 not present");
}
END_TEST

START_TEST(test_non_canonical)
{
	struct pagewalk w;

	ck_assert_int_eq(pagewalk(&mem, &long4, 0x0000800000000000ull, &w), -EINVAL);
	ck_assert_ptr_nonnull(strstr(w.why, "not canonical"));
	ck_assert_int_eq(pagewalk(&mem, &long4, 0xffff7fffffffffffull, &w), -EINVAL);
	/* The top half is canonical: it walks (and here finds nothing). */
	ck_assert_int_eq(pagewalk(&mem, &long4, 0xffff800000000000ull, &w), -EFAULT);
	ck_assert_str_eq(w.why, "PML4 entry 256 not present");
}
END_TEST

START_TEST(test_table_outside_ram)
{
	struct pagewalk w;
	struct pagewalk_regs r = long4;

	/* A hostile PML4 entry pointing far past RAM, then one into the hole. */
	put64(0x1000, 0x000ffffffffff000ull | PRW);
	ck_assert_int_eq(pagewalk(&mem, &long4, 0x1000, &w), -EFAULT);
	ck_assert_ptr_nonnull(strstr(w.why, "PDPT at 0xffffffffff000 is outside guest RAM"));
	ck_assert_uint_eq(w.nr_levels, 1);
	put64(0x1000, 0xd0000000ull | PRW);
	ck_assert_int_eq(pagewalk(&mem, &long4, 0x1000, &w), -EFAULT);
	/* CR3 itself outside RAM. */
	r.cr3 = 0x7ffff000ull;
	ck_assert_int_eq(pagewalk(&mem, &r, 0x1000, &w), -EFAULT);
	ck_assert_ptr_nonnull(strstr(w.why, "PML4 at 0x7ffff000 is outside guest RAM"));
	ck_assert_uint_eq(w.nr_levels, 0);
}
END_TEST

START_TEST(test_reserved_bits)
{
	struct pagewalk_regs r = long4;
	struct pagewalk w;

	/* PS in a PML4 entry is reserved. */
	put64(0x1000, 0x2000 | PRW | PW_PS);
	ck_assert_int_eq(pagewalk(&mem, &long4, 0x1000, &w), -EFAULT);
	ck_assert_ptr_nonnull(strstr(w.why, "PS set (reserved"));
	/* NX without EFER.NXE is reserved; with it, it marks the page no-execute. */
	build_4level_4k();
	put64(0x4000 + 1 * 8, 0x567000 | PRWU | PW_NX);
	ck_assert_int_eq(pagewalk(&mem, &long4, VA4, &w), -EFAULT);
	ck_assert_ptr_nonnull(strstr(w.why, "NX set with EFER.NXE clear"));
	r.efer |= PW_EFER_NXE;
	ck_assert_int_eq(pagewalk(&mem, &r, VA4, &w), 0);
	ck_assert(w.nx);
}
END_TEST

START_TEST(test_rights_accumulate)
{
	struct pagewalk w;

	build_4level_4k();
	put64(0x2000 + 2 * 8, 0x3000 | PRW);	/* PDPT entry: supervisor only */
	put64(0x4000 + 1 * 8, 0x567000 | PW_P | PW_US);	/* PT entry: read-only */
	ck_assert_int_eq(pagewalk(&mem, &long4, VA4, &w), 0);
	ck_assert(!w.writable);
	ck_assert(!w.user);
}
END_TEST

START_TEST(test_5level)
{
	struct pagewalk_regs r = long4;
	struct pagewalk w;
	u64 va = 0x00ff000000000000ull | 0x5123;	/* PML5 index 0xff, all else 0 */

	r.cr4 |= PW_CR4_LA57;
	put64(0x1000 + 0xff * 8, 0x2000 | PRWU);
	put64(0x2000, 0x3000 | PRWU);
	put64(0x3000, 0x4000 | PRWU);
	put64(0x4000, 0x5000 | PRWU);
	put64(0x5000 + 5 * 8, 0x9000 | PRWU);
	ck_assert_int_eq(pagewalk(&mem, &r, va, &w), 0);
	ck_assert_uint_eq(w.nr_levels, 5);
	ck_assert_str_eq(w.levels[0].table, "PML5");
	ck_assert_uint_eq(w.levels[0].index, 0xff);
	ck_assert_str_eq(w.levels[4].table, "PT");
	ck_assert_uint_eq(w.gpa, 0x9123);
	/* 57-bit canonical: bit 56 set needs bits 63:57 set too. */
	ck_assert_int_eq(pagewalk(&mem, &r, 0x0100000000000000ull, &w), -EINVAL);
	/* An address only 48-bit paging would call non-canonical is fine here. */
	ck_assert_int_eq(pagewalk(&mem, &r, 0x0000800000000000ull, &w), -EFAULT);
}
END_TEST

START_TEST(test_pae)
{
	struct pagewalk_regs r = { .cr0 = PW_CR0_PG | 1, .cr3 = 0x1020, .cr4 = PW_CR4_PAE };
	struct pagewalk w;

	/* va 0xc0201123: PDPT 3, PD 1, PT 1. CR3 is 32-byte aligned. */
	put64(0x1020 + 3 * 8, 0x2000 | PW_P);
	put64(0x2000 + 1 * 8, 0x3000 | PRWU);
	put64(0x3000 + 1 * 8, 0x7000 | PRW);
	ck_assert_int_eq(pagewalk(&mem, &r, 0xc0201123, &w), 0);
	ck_assert_uint_eq(w.gpa, 0x7123);
	ck_assert_uint_eq(w.nr_levels, 3);
	ck_assert_str_eq(w.levels[0].table, "PDPT");
	ck_assert_uint_eq(w.levels[0].table_gpa, 0x1020);
	ck_assert_uint_eq(w.levels[0].index, 3);
	ck_assert_uint_eq(w.levels[0].entry_size, 8);
	/* PDPTEs carry no rights: supervisor-only comes from the PT entry. */
	ck_assert(w.writable);
	ck_assert(!w.user);
	/* 2 MiB page at PD level. */
	put64(0x2000 + 2 * 8, 0xa00000 | PRW | PW_PS);
	ck_assert_int_eq(pagewalk(&mem, &r, 0xc0400000 + 0x1234, &w), 0);
	ck_assert_uint_eq(w.gpa, 0xa01234);
	ck_assert_uint_eq(w.page_size, 2ull << 20);
	/* PDPT entry not present; an address beyond 32 bits. */
	ck_assert_int_eq(pagewalk(&mem, &r, 0x1000, &w), -EFAULT);
	ck_assert_str_eq(w.why, "PDPT entry 0 not present");
	ck_assert_int_eq(pagewalk(&mem, &r, 0x100000000ull, &w), -EINVAL);
}
END_TEST

START_TEST(test_32bit)
{
	struct pagewalk_regs r = { .cr0 = PW_CR0_PG | 1, .cr3 = 0x1000 };
	struct pagewalk w;

	/* va 0x00c01abc: PD 3, PT 1. 4-byte entries. */
	put32(0x1000 + 3 * 4, 0x2000 | PRWU);
	put32(0x2000 + 1 * 4, 0x345000 | PRWU);
	ck_assert_int_eq(pagewalk(&mem, &r, 0x00c01abc, &w), 0);
	ck_assert_uint_eq(w.gpa, 0x345abc);
	ck_assert_uint_eq(w.nr_levels, 2);
	ck_assert_uint_eq(w.levels[0].entry_size, 4);
	ck_assert_uint_eq(w.levels[1].entry_gpa, 0x2004);
	/* A 4 MiB page needs CR4.PSE: without it the PS bit is ignored. */
	put32(0x1000 + 4 * 4, 0x00400000 | PRW | PW_PS);
	ck_assert_int_eq(pagewalk(&mem, &r, 0x01000000 + 0x5678, &w), -EFAULT);
	ck_assert_uint_eq(w.nr_levels, 2);	/* walked on into a "page table" */
	r.cr4 = PW_CR4_PSE;
	ck_assert_int_eq(pagewalk(&mem, &r, 0x01000000 + 0x5678, &w), 0);
	ck_assert_uint_eq(w.gpa, 0x00405678);
	ck_assert_uint_eq(w.page_size, 4ull << 20);
	/* PSE-36: PDE bits 20:13 give physical bits 39:32. */
	put32(0x1000 + 5 * 4, 0x00800000 | (0x3u << 13) | PRW | PW_PS);
	ck_assert_int_eq(pagewalk(&mem, &r, 0x01400000, &w), 0);
	ck_assert_uint_eq(w.gpa, 0x300800000ull);
}
END_TEST

START_TEST(test_read_write_across_pages)
{
	u8 buf[32], back[32];
	u64 done;

	/* Two adjacent virtual pages backed by physical pages far apart. */
	put64(0x1000, 0x2000 | PRW);
	put64(0x2000, 0x3000 | PRW);
	put64(0x3000, 0x4000 | PRW);
	put64(0x4000 + 0x10 * 8, 0x600000 | PRW);
	put64(0x4000 + 0x11 * 8, 0x200000 | PRW);
	for (unsigned int i = 0; i < sizeof(buf); i++)
		buf[i] = (u8)(i + 1);
	ck_assert_int_eq(pagewalk_write(&mem, &long4, 0x10ff0, buf, sizeof(buf), &done), 0);
	ck_assert_uint_eq(done, 32);
	ck_assert_int_eq(guest_mem_read(&mem, 0x600ff0, back, 16), 0);
	ck_assert_mem_eq(back, buf, 16);
	ck_assert_int_eq(guest_mem_read(&mem, 0x200000, back, 16), 0);
	ck_assert_mem_eq(back, buf + 16, 16);
	memset(back, 0, sizeof(back));
	ck_assert_int_eq(pagewalk_read(&mem, &long4, 0x10ff0, back, sizeof(back), &done), 0);
	ck_assert_mem_eq(back, buf, sizeof(buf));
	/* The third page is not mapped: the read stops after what it got. */
	ck_assert_int_eq(pagewalk_read(&mem, &long4, 0x11ff8, back, 16, &done), -EFAULT);
	ck_assert_uint_eq(done, 8);
	/* A range that wraps past the top of the address space. */
	ck_assert_int_eq(pagewalk_read(&mem, &long4, 0xfffffffffffffff8ull, back, 16, &done),
			 -EINVAL);
}
END_TEST

START_TEST(test_flags_text)
{
	char buf[64];

	pagewalk_flags(PW_P | PW_RW | PW_US | PW_A | PW_D | PW_G | PW_NX, true, buf, sizeof(buf));
	ck_assert_str_eq(buf, "P RW US A D G NX");
	/* D and G are not shown for entries that point to a table. */
	pagewalk_flags(PW_P | PW_D | PW_G, false, buf, sizeof(buf));
	ck_assert_str_eq(buf, "P");
	pagewalk_flags(0, true, buf, sizeof(buf));
	ck_assert_str_eq(buf, "");
}
END_TEST

START_TEST(test_print)
{
	struct pagewalk w;
	char *text = NULL;
	size_t len = 0;
	FILE *f;

	build_4level_4k();
	ck_assert_int_eq(pagewalk(&mem, &long4, VA4, &w), 0);
	f = open_memstream(&text, &len);
	pagewalk_print(&w, f);
	fclose(f);
	ck_assert_ptr_nonnull(strstr(text, "walk 0x7f8080201abc: 4-level paging, first table at 0x1000\n"));
	ck_assert_ptr_nonnull(strstr(text, "  PML4[255] at 0x17f8"));
	ck_assert_ptr_nonnull(strstr(text, "= 0x0000000000002007  P RW US"));
	ck_assert_ptr_nonnull(strstr(text, "-> PDPT at 0x2000\n"));
	ck_assert_ptr_nonnull(strstr(text, "  PT  [  1] at 0x4008"));
	ck_assert_ptr_nonnull(strstr(text, "-> 4 KiB page\n"));
	ck_assert_ptr_nonnull(strstr(text, "  = guest-physical 0x567abc (4 KiB page, writable, user, executable)\n"));
	free(text);

	put64(0x3000 + 8, 0);
	pagewalk(&mem, &long4, VA4, &w);
	text = NULL;
	f = open_memstream(&text, &len);
	pagewalk_print(&w, f);
	fclose(f);
	ck_assert_ptr_nonnull(strstr(text, " not present\n"));
	ck_assert_ptr_nonnull(strstr(text, "  = not mapped: PD entry 1 not present\n"));
	free(text);
}
END_TEST

static Suite *pagewalk_suite(void)
{
	Suite *s = suite_create("pagewalk");
	TCase *tc = tcase_create("walk");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_mode_of);
	tcase_add_test(tc, test_paging_off);
	tcase_add_test(tc, test_4level_4k);
	tcase_add_test(tc, test_cr3_low_bits_ignored);
	tcase_add_test(tc, test_4level_large_pages);
	tcase_add_test(tc, test_not_present);
	tcase_add_test(tc, test_non_canonical);
	tcase_add_test(tc, test_table_outside_ram);
	tcase_add_test(tc, test_reserved_bits);
	tcase_add_test(tc, test_rights_accumulate);
	tcase_add_test(tc, test_5level);
	tcase_add_test(tc, test_pae);
	tcase_add_test(tc, test_32bit);
	tcase_add_test(tc, test_read_write_across_pages);
	tcase_add_test(tc, test_flags_text);
	tcase_add_test(tc, test_print);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(pagewalk_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

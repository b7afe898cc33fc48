/*
 * Unit tests for the x86 boot tables: the GDT descriptors bit by bit, the
 * identity page tables entry by entry and through a software page walk, what
 * is zeroed and what is left alone, and RAM too small to hold them.
 */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "check_main.h"
#include "trapeze/arch/x86/boot_tables.h"
#include "trapeze/arch/x86/layout.h"

#define RAM_SIZE (16ULL << 20)

static struct guest_mem mem;

static void setup(void)
{
	ck_assert_int_eq(guest_mem_init(&mem, RAM_SIZE), 0);
}

static void teardown(void)
{
	guest_mem_destroy(&mem);
}

static u64 ram_u64(u64 gpa)
{
	u64 v;

	ck_assert_int_eq(guest_mem_read(&mem, gpa, &v, sizeof(v)), 0);
	return v;
}

static unsigned int bits(u64 v, unsigned int lo, unsigned int n)
{
	return (unsigned int)((v >> lo) & ((1ULL << n) - 1));
}

/* Descriptor values worked out by hand from Intel SDM Vol. 3A, Figure 3-8. */
START_TEST(gdt_values)
{
	ck_assert_uint_eq(x86_gdt_entry(0), 0);
	ck_assert_uint_eq(x86_gdt_entry(X86_SEL_CODE64 >> 3), 0x00af9b000000ffffULL);
	ck_assert_uint_eq(x86_gdt_entry(X86_SEL_CODE32 >> 3), 0x00cf9b000000ffffULL);
	ck_assert_uint_eq(x86_gdt_entry(X86_SEL_DATA >> 3), 0x00cf93000000ffffULL);
	ck_assert_uint_eq(x86_gdt_entry(X86_GDT_ENTRIES), 0);
	ck_assert_uint_eq(x86_gdt_entry(~0u), 0);
}
END_TEST

/* The same descriptors decoded field by field: what each bit means for the guest. */
START_TEST(gdt_fields)
{
	static const struct {
		unsigned int sel, type, l, db;
	} want[] = {
		{ X86_SEL_CODE64, 0xb, 1, 0 },	/* execute/read, accessed; 64-bit */
		{ X86_SEL_CODE32, 0xb, 0, 1 },	/* execute/read, accessed; 32-bit */
		{ X86_SEL_DATA, 0x3, 0, 1 },	/* read/write, accessed; big */
	};
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(want); i++) {
		u64 d = x86_gdt_entry(want[i].sel >> 3);

		ck_assert_uint_eq(bits(d, 0, 16) | bits(d, 48, 4) << 16, 0xfffff); /* limit */
		ck_assert_uint_eq(bits(d, 16, 24) | bits(d, 56, 8) << 24, 0);	/* base */
		ck_assert_uint_eq(bits(d, 40, 4), want[i].type);
		ck_assert_uint_eq(bits(d, 44, 1), 1);	/* S: code/data */
		ck_assert_uint_eq(bits(d, 45, 2), 0);	/* DPL 0 */
		ck_assert_uint_eq(bits(d, 47, 1), 1);	/* present */
		ck_assert_uint_eq(bits(d, 52, 1), 0);	/* AVL */
		ck_assert_uint_eq(bits(d, 53, 1), want[i].l);
		ck_assert_uint_eq(bits(d, 54, 1), want[i].db);
		ck_assert_uint_eq(bits(d, 55, 1), 1);	/* 4 KiB granularity */
	}
}
END_TEST

START_TEST(tables_written)
{
	unsigned int i;

	/* Garbage in the whole area: everything not written must come back zero. */
	memset(guest_mem_ptr(&mem, X86_BOOT_GDT, X86_BOOT_TABLES_END - X86_BOOT_GDT),
	       0xaa, X86_BOOT_TABLES_END - X86_BOOT_GDT);
	ck_assert_int_eq(x86_write_boot_tables(&mem), 0);

	for (i = 0; i < X86_GDT_ENTRIES; i++)
		ck_assert_uint_eq(ram_u64(X86_BOOT_GDT + 8 * i), x86_gdt_entry(i));
	for (i = X86_GDT_ENTRIES; i < 512; i++)
		ck_assert_uint_eq(ram_u64(X86_BOOT_GDT + 8 * i), 0);

	/* P | RW | US | A = 0x27 on the tables; PS | D added on the 2 MiB leaves = 0xe7. */
	ck_assert_uint_eq(ram_u64(X86_BOOT_PML4), X86_BOOT_PDPT | 0x27);
	for (i = 1; i < 512; i++)
		ck_assert_uint_eq(ram_u64(X86_BOOT_PML4 + 8 * i), 0);
	for (i = 0; i < 4; i++)
		ck_assert_uint_eq(ram_u64(X86_BOOT_PDPT + 8 * i),
				  (X86_BOOT_PD + 0x1000 * i) | 0x27);
	for (i = 4; i < 512; i++)
		ck_assert_uint_eq(ram_u64(X86_BOOT_PDPT + 8 * i), 0);
	for (i = 0; i < 4 * 512; i++)
		ck_assert_uint_eq(ram_u64(X86_BOOT_PD + 8 * i), ((u64)i << 21) | 0xe7);
}
END_TEST

/*
 * A 4-level walk as the MMU does it (SDM Vol. 3A, 4.5): returns the physical
 * address for va, or ~0 on a not-present entry; *flags gets the AND of the
 * R/W and U/S bits over all levels (the effective permissions).
 */
static u64 walk(u64 va, u64 *flags)
{
	u64 cr3 = X86_BOOT_PML4, e;

	*flags = 0x6;
	e = ram_u64(cr3 + 8 * ((va >> 39) & 511));
	if (!(e & 1))
		return ~0ULL;
	*flags &= e;
	ck_assert_uint_eq(e & 0x80, 0);	/* PS is reserved in a PML4E */
	e = ram_u64((e & 0xffffffffff000ULL) + 8 * ((va >> 30) & 511));
	if (!(e & 1))
		return ~0ULL;
	*flags &= e;
	ck_assert_uint_eq(e & 0x80, 0);	/* no 1 GiB pages: PDPTE points to a PD */
	e = ram_u64((e & 0xffffffffff000ULL) + 8 * ((va >> 21) & 511));
	if (!(e & 1))
		return ~0ULL;
	*flags &= e;
	ck_assert_uint_eq(e & 0x80, 0x80);	/* a 2 MiB page */
	ck_assert_uint_eq(e & 0x1fe000, 0);	/* reserved bits 20:13 clear */
	return (e & 0xfffffffe00000ULL) | (va & 0x1fffff);
}

START_TEST(identity_map_walk)
{
	static const u64 vas[] = { 0, 0x1234, 0x100000, 0x7fffffff, 0xbfffffff,
				   0xc0000000, 0xfee00000, 0xffffffff };
	u64 flags;
	unsigned int i;

	ck_assert_int_eq(x86_write_boot_tables(&mem), 0);
	for (i = 0; i < ARRAY_SIZE(vas); i++) {
		ck_assert_uint_eq(walk(vas[i], &flags), vas[i]);
		ck_assert_uint_eq(flags, 0x6);	/* writable and user at every level */
	}
	/* The map ends at 4 GiB, and nothing is mapped in the upper half. */
	ck_assert_uint_eq(walk(0x100000000ULL, &flags), ~0ULL);
	ck_assert_uint_eq(walk(0xffffffff80000000ULL, &flags), ~0ULL);
}
END_TEST

/* Bytes on either side of [X86_BOOT_GDT, X86_BOOT_TABLES_END) are not touched. */
START_TEST(neighbours_untouched)
{
	u8 *lo = guest_mem_ptr(&mem, 0, X86_BOOT_GDT);
	u8 *hi = guest_mem_ptr(&mem, X86_BOOT_TABLES_END, 0x1000);
	unsigned int i;

	memset(lo, 0x55, X86_BOOT_GDT);
	memset(hi, 0x66, 0x1000);
	ck_assert_int_eq(x86_write_boot_tables(&mem), 0);
	for (i = 0; i < X86_BOOT_GDT; i++)
		ck_assert_uint_eq(lo[i], 0x55);
	for (i = 0; i < 0x1000; i++)
		ck_assert_uint_eq(hi[i], 0x66);
}
END_TEST

START_TEST(ram_too_small)
{
	guest_mem_destroy(&mem);
	ck_assert_int_eq(guest_mem_init(&mem, X86_BOOT_TABLES_END - 0x1000), 0);
	ck_assert_int_eq(x86_write_boot_tables(&mem), -EFAULT);
	ck_assert(*(u8 *)guest_mem_ptr(&mem, X86_BOOT_GDT, 1) == 0);	/* nothing written */

	guest_mem_destroy(&mem);
	ck_assert_int_eq(guest_mem_init(&mem, X86_BOOT_TABLES_END), 0);
	ck_assert_int_eq(x86_write_boot_tables(&mem), 0);
	ck_assert_uint_eq(ram_u64(X86_BOOT_TABLES_END - 8), (2047ULL << 21) | 0xe7);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("boot_tables");
	TCase *tc = tcase_create("x86");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, gdt_values);
	tcase_add_test(tc, gdt_fields);
	tcase_add_test(tc, tables_written);
	tcase_add_test(tc, identity_map_walk);
	tcase_add_test(tc, neighbours_untouched);
	tcase_add_test(tc, ram_too_small);
	suite_add_tcase(s, tc);

	return check_run(s);
}

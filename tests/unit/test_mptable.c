/*
 * Unit tests for the MP tables: the floating pointer and the configuration
 * table parsed back as an OS would (Intel MultiProcessor Specification 1.4,
 * chapter 4): signatures, checksums, lengths, entry counts and every entry,
 * for 1, 4 and the most CPUs that fit, plus the limits.
 */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "check_main.h"
#include "table_bytes.h"
#include "trapeze/arch/x86/layout.h"
#include "trapeze/arch/x86/mptable.h"

#define RAM_SIZE (16ULL << 20)
#define IOAPIC_ADDR 0xfec00000u

static struct guest_mem mem;

static void setup(void)
{
	ck_assert_int_eq(guest_mem_init(&mem, RAM_SIZE), 0);
}

static void teardown(void)
{
	guest_mem_destroy(&mem);
}

static const u8 *ram(u64 gpa, u64 len)
{
	const u8 *p = guest_mem_ptr(&mem, gpa, len);

	ck_assert_ptr_nonnull(p);
	return p;
}

/* Parses everything at X86_MPTABLE for nr_cpus CPUs and an I/O APIC ioapic_id. */
static void check_tables(unsigned int nr_cpus, u8 ioapic_id)
{
	const u8 *mpf = ram(X86_MPTABLE, 16), *mpc, *e;
	unsigned int nr_cpu = 0, nr_bus = 0, nr_ioapic = 0, nr_ioint = 0, nr_lint = 0;
	int pin_of_irq[16];
	unsigned int i, count, last_type = 0;
	u32 mpc_addr;
	u16 len;

	/* Floating pointer, 4.1. */
	ck_assert(memcmp(mpf, "_MP_", 4) == 0);
	ck_assert_uint_eq(mpf[8], 1);			/* length: 1 paragraph */
	ck_assert_uint_eq(mpf[9], 4);			/* spec 1.4 */
	ck_assert_uint_eq(sum8(mpf, 16), 0);
	ck_assert_uint_eq(mpf[11], 0);			/* config table present */
	ck_assert_uint_eq(mpf[12], 0);			/* virtual wire, no IMCR */
	mpc_addr = le32(mpf + 4);
	ck_assert_uint_eq(mpc_addr, X86_MPTABLE + 16);

	/* Configuration table header, 4.2. */
	mpc = ram(mpc_addr, 44);
	ck_assert(memcmp(mpc, "PCMP", 4) == 0);
	len = le16(mpc + 4);
	ck_assert_uint_eq(len, 44 + 20 * nr_cpus + 8 * (1 + 1 + 15 + 2));
	ck_assert_uint_le(mpc_addr + len, X86_MPTABLE + MPTABLE_SIZE);
	mpc = ram(mpc_addr, len);
	ck_assert_uint_eq(sum8(mpc, len), 0);
	ck_assert_uint_eq(mpc[6], 4);
	ck_assert_uint_eq(le32(mpc + 28), 0);		/* no OEM table */
	ck_assert_uint_eq(le32(mpc + 36), 0xfee00000);	/* local APIC */
	ck_assert_uint_eq(le16(mpc + 40), 0);		/* no extended table */
	count = le16(mpc + 34);
	ck_assert_uint_eq(count, nr_cpus + 19);

	for (i = 0; i < 16; i++)
		pin_of_irq[i] = -1;
	e = mpc + 44;
	for (i = 0; i < count; i++) {
		ck_assert_uint_ge(e[0], last_type);	/* sorted by type (4.3) */
		last_type = e[0];
		switch (e[0]) {
		case 0:		/* processor, 4.3.1 */
			ck_assert_uint_eq(e[1], nr_cpu);		/* APIC ID */
			ck_assert_uint_ge(e[2], 0x10);		/* integrated APIC */
			ck_assert_uint_eq(e[3], nr_cpu == 0 ? 0x3 : 0x1);	/* EN, BP */
			nr_cpu++;
			e += 20;
			break;
		case 1:		/* bus, 4.3.2 */
			ck_assert_uint_eq(e[1], 0);
			ck_assert(memcmp(e + 2, "ISA   ", 6) == 0);
			nr_bus++;
			e += 8;
			break;
		case 2:		/* I/O APIC, 4.3.3 */
			ck_assert_uint_eq(e[1], ioapic_id);
			ck_assert_uint_eq(e[3] & 1, 1);		/* enabled */
			ck_assert_uint_eq(le32(e + 4), IOAPIC_ADDR);
			nr_ioapic++;
			e += 8;
			break;
		case 3:		/* I/O interrupt, 4.3.4 */
			ck_assert_uint_eq(e[1], 0);		/* INT */
			ck_assert_uint_eq(e[4], 0);		/* source: the ISA bus */
			ck_assert_uint_lt(e[5], 16);
			ck_assert_int_eq(pin_of_irq[e[5]], -1);	/* once per IRQ */
			ck_assert_uint_eq(e[6], ioapic_id);
			pin_of_irq[e[5]] = e[7];
			nr_ioint++;
			e += 8;
			break;
		case 4:		/* local interrupt, 4.3.5 */
			ck_assert_uint_eq(e[6], 0xff);		/* every local APIC */
			if (e[1] == 3)
				ck_assert_uint_eq(e[7], 0);	/* ExtINT -> LINT0 */
			else if (e[1] == 1)
				ck_assert_uint_eq(e[7], 1);	/* NMI -> LINT1 */
			else
				ck_abort_msg("local interrupt type %u", e[1]);
			nr_lint++;
			e += 8;
			break;
		default:
			ck_abort_msg("entry type %u", e[0]);
		}
		ck_assert_uint_le(e - mpc, len);
	}
	ck_assert_uint_eq(e - mpc, len);
	ck_assert_uint_eq(nr_cpu, nr_cpus);
	ck_assert_uint_eq(nr_bus, 1);
	ck_assert_uint_eq(nr_ioapic, 1);
	ck_assert_uint_eq(nr_ioint, 15);
	ck_assert_uint_eq(nr_lint, 2);
	ck_assert_int_eq(pin_of_irq[0], 0);		/* the PIT on pin 0, as KVM routes it */
	ck_assert_int_eq(pin_of_irq[2], -1);		/* the cascade: no entry */
	for (i = 1; i < 16; i++)
		if (i != 2)
			ck_assert_int_eq(pin_of_irq[i], (int)i);
}

START_TEST(one_cpu)
{
	ck_assert_int_eq(mptable_build(&mem, 1, 1, IOAPIC_ADDR), 0);
	check_tables(1, 1);
}
END_TEST

START_TEST(four_cpus)
{
	ck_assert_int_eq(mptable_build(&mem, 4, 4, IOAPIC_ADDR), 0);
	check_tables(4, 4);
}
END_TEST

/* MPTABLE_MAX_CPUS fits the KiB; one more is refused with nothing written. */
START_TEST(cpu_limit)
{
	const u8 *p;
	size_t i;

	ck_assert_int_eq(mptable_build(&mem, MPTABLE_MAX_CPUS, MPTABLE_MAX_CPUS,
				       IOAPIC_ADDR), 0);
	check_tables(MPTABLE_MAX_CPUS, MPTABLE_MAX_CPUS);

	guest_mem_destroy(&mem);
	ck_assert_int_eq(guest_mem_init(&mem, RAM_SIZE), 0);
	ck_assert_int_eq(mptable_build(&mem, MPTABLE_MAX_CPUS + 1, 0, IOAPIC_ADDR),
			 -ENOSPC);
	p = ram(X86_MPTABLE, MPTABLE_SIZE);
	for (i = 0; i < MPTABLE_SIZE; i++)
		ck_assert_uint_eq(p[i], 0);
	ck_assert_int_eq(mptable_build(&mem, 0, 0, IOAPIC_ADDR), -EINVAL);
}
END_TEST

/* The tables stay inside their KiB; the bytes around it are not touched. */
START_TEST(neighbours_untouched)
{
	u8 *before = guest_mem_ptr(&mem, X86_MPTABLE - 1, 1);
	u8 *after = guest_mem_ptr(&mem, X86_MPTABLE + MPTABLE_SIZE, 1);
	u8 *inside = guest_mem_ptr(&mem, X86_MPTABLE + MPTABLE_SIZE - 1, 1);

	*before = 0x5a;
	*after = 0xa5;
	*inside = 0x77;
	ck_assert_int_eq(mptable_build(&mem, 2, 2, IOAPIC_ADDR), 0);
	ck_assert_uint_eq(*before, 0x5a);
	ck_assert_uint_eq(*after, 0xa5);
	ck_assert_uint_eq(*inside, 0);			/* the KiB is zeroed */
}
END_TEST

START_TEST(ram_too_small)
{
	guest_mem_destroy(&mem);
	ck_assert_int_eq(guest_mem_init(&mem, X86_MPTABLE & ~0xfffULL), 0);
	ck_assert_int_eq(mptable_build(&mem, 1, 1, IOAPIC_ADDR), -EFAULT);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("mptable");
	TCase *tc = tcase_create("mptable");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, one_cpu);
	tcase_add_test(tc, four_cpus);
	tcase_add_test(tc, cpu_limit);
	tcase_add_test(tc, neighbours_untouched);
	tcase_add_test(tc, ram_too_small);
	suite_add_tcase(s, tc);

	return check_run(s);
}

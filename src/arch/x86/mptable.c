/*
 * mptable: Intel MultiProcessor Specification 1.4 tables. See
 * include/trapeze/arch/x86/mptable.h; section numbers below are the spec's.
 */
#include <errno.h>
#include <string.h>

#include "trapeze/arch/x86/fw_table.h"
#include "trapeze/arch/x86/layout.h"
#include "trapeze/arch/x86/mptable.h"

#define MP_SPEC_REV		4		/* version 1.4 */

/* MP floating pointer structure, 4.1 (Table 4-1). */
#define MPF_LEN			16
#define MPF_PHYSPTR		4
#define MPF_LENGTH		8		/* in 16-byte paragraphs: 1 */
#define MPF_SPEC_REV		9
#define MPF_CHECKSUM		10
#define MPF_FEATURE1		11		/* 0: a config table is present */
#define MPF_FEATURE2		12		/* bit 7 IMCRP clear: virtual wire */

/* MP configuration table header, 4.2 (Table 4-2). */
#define MPC_HDR_LEN		44
#define MPC_LENGTH		4
#define MPC_SPEC_REV		6
#define MPC_CHECKSUM		7
#define MPC_OEM_ID		8		/* 8 bytes, space padded */
#define MPC_PRODUCT_ID		16		/* 12 bytes, space padded */
#define MPC_ENTRY_COUNT		34
#define MPC_LAPIC_ADDR		36

/* Base table entries, 4.3 (Table 4-3): type, then a fixed length. */
#define MP_PROCESSOR		0
#define MP_PROCESSOR_LEN	20
#define MP_BUS			1
#define MP_IOAPIC		2
#define MP_IOINTR		3
#define MP_LINTR		4
#define MP_ENTRY_LEN		8		/* every type but the processor */

#define MP_CPU_EN		(1u << 0)	/* 4.3.1: usable */
#define MP_CPU_BP		(1u << 1)	/* 4.3.1: the bootstrap processor */
#define MP_IOAPIC_EN		(1u << 0)	/* 4.3.3 */
#define MP_INT_INT		0		/* 4.3.4: vectored interrupt */
#define MP_INT_NMI		1
#define MP_INT_EXTINT		3
#define MP_FLAGS_CONFORMING	0		/* polarity and trigger of the bus */
#define MP_ALL_LAPICS		0xff		/* 4.3.5: destination "all" */

/*
 * Values a guest only reads back: an integrated local APIC (version 0x14,
 * what KVM's LAPIC reports; >= 0x10 means integrated), the I/O APIC version
 * of KVM's in-kernel I/O APIC, a family-6 CPU signature and the CPUID.1 EDX
 * bits FPU and APIC.
 */
#define MP_LAPIC_VERSION	0x14
#define MP_IOAPIC_VERSION	0x11
#define MP_CPU_SIGNATURE	0x600
#define MP_CPU_FEATURES		((1u << 0) | (1u << 9))
#define MP_LAPIC_ADDR		0xfee00000u

#define ISA_BUS_ID		0
#define ISA_NR_IRQS		16
#define ISA_IRQ_CASCADE		2		/* the slave 8259; no I/O APIC pin */
#define MP_NR_IOINTR		(ISA_NR_IRQS - 1)
#define MP_NR_LINTR		2

#define MP_OTHER_ENTRIES	(1 + 1 + MP_NR_IOINTR + MP_NR_LINTR)

static u64 mp_table_len(unsigned int nr_cpus)
{
	return MPC_HDR_LEN + (u64)nr_cpus * MP_PROCESSOR_LEN +
	       MP_OTHER_ENTRIES * MP_ENTRY_LEN;
}

/* An 8-byte I/O (MP_IOINTR) or local (MP_LINTR) interrupt entry, 4.3.4/4.3.5. */
static u8 *mp_intr(u8 *p, u8 kind, u8 int_type, u8 src_irq, u8 dst_apic, u8 dst_pin)
{
	p[0] = kind;
	p[1] = int_type;
	fw_put16(p + 2, MP_FLAGS_CONFORMING);
	p[4] = ISA_BUS_ID;
	p[5] = src_irq;
	p[6] = dst_apic;
	p[7] = dst_pin;
	return p + MP_ENTRY_LEN;
}

static unsigned int mp_write_entries(u8 *p, unsigned int nr_cpus, u8 ioapic_id,
				     u32 ioapic_addr)
{
	unsigned int i, count = 0;

	for (i = 0; i < nr_cpus; i++, count++, p += MP_PROCESSOR_LEN) {
		p[0] = MP_PROCESSOR;
		p[1] = (u8)i;		/* local APIC ID */
		p[2] = MP_LAPIC_VERSION;
		p[3] = MP_CPU_EN | (i == 0 ? MP_CPU_BP : 0);
		fw_put32(p + 4, MP_CPU_SIGNATURE);
		fw_put32(p + 8, MP_CPU_FEATURES);
	}

	p[0] = MP_BUS;			/* 4.3.2; bus type strings, Table 4-8 */
	p[1] = ISA_BUS_ID;
	memcpy(p + 2, "ISA   ", 6);
	p += MP_ENTRY_LEN;
	count++;

	p[0] = MP_IOAPIC;		/* 4.3.3 */
	p[1] = ioapic_id;
	p[2] = MP_IOAPIC_VERSION;
	p[3] = MP_IOAPIC_EN;
	fw_put32(p + 4, ioapic_addr);
	p += MP_ENTRY_LEN;
	count++;

	/*
	 * ISA IRQ n arrives on I/O APIC pin n, the PIT's IRQ 0 included: KVM's
	 * in-kernel PIT raises GSI 0, which KVM's default routing sends to
	 * pin 0 (not pin 2 as on many PC boards).
	 */
	for (i = 0; i < ISA_NR_IRQS; i++) {
		if (i == ISA_IRQ_CASCADE)
			continue;
		p = mp_intr(p, MP_IOINTR, MP_INT_INT, (u8)i, ioapic_id, (u8)i);
		count++;
	}

	/* The 8259 reaches the CPUs through LINT0 (virtual wire mode, 3.6.2.2). */
	p = mp_intr(p, MP_LINTR, MP_INT_EXTINT, 0, MP_ALL_LAPICS, 0);
	p = mp_intr(p, MP_LINTR, MP_INT_NMI, 0, MP_ALL_LAPICS, 1);
	count += MP_NR_LINTR;
	return count;
}

int mptable_build(const struct guest_mem *mem, unsigned int nr_cpus, u8 ioapic_id,
		  u32 ioapic_addr)
{
	u64 table_len = mp_table_len(nr_cpus);
	unsigned int count;
	u8 *base, *mpc;

	if (nr_cpus == 0)
		return -EINVAL;
	if (nr_cpus > MPTABLE_MAX_CPUS || MPF_LEN + table_len > MPTABLE_SIZE)
		return -ENOSPC;
	base = guest_mem_ptr(mem, X86_MPTABLE, MPTABLE_SIZE);
	if (!base)
		return -EFAULT;
	memset(base, 0, MPTABLE_SIZE);

	mpc = base + MPF_LEN;
	count = mp_write_entries(mpc + MPC_HDR_LEN, nr_cpus, ioapic_id, ioapic_addr);
	memcpy(mpc, "PCMP", 4);
	fw_put16(mpc + MPC_LENGTH, (u16)table_len);
	mpc[MPC_SPEC_REV] = MP_SPEC_REV;
	memcpy(mpc + MPC_OEM_ID, "TRAPEZE ", 8);
	memcpy(mpc + MPC_PRODUCT_ID, "TRAPEZE VM  ", 12);
	fw_put16(mpc + MPC_ENTRY_COUNT, (u16)count);
	fw_put32(mpc + MPC_LAPIC_ADDR, MP_LAPIC_ADDR);
	mpc[MPC_CHECKSUM] = fw_table_checksum(mpc, table_len);

	memcpy(base, "_MP_", 4);
	fw_put32(base + MPF_PHYSPTR, (u32)(X86_MPTABLE + MPF_LEN));
	base[MPF_LENGTH] = 1;
	base[MPF_SPEC_REV] = MP_SPEC_REV;
	base[MPF_FEATURE1] = 0;
	base[MPF_FEATURE2] = 0;
	base[MPF_CHECKSUM] = fw_table_checksum(base, MPF_LEN);
	return 0;
}

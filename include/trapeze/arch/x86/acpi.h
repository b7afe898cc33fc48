/*
 * acpi: the ACPI tables trapeze writes into guest RAM for a PC guest
 * (ACPI 6.5 chapter 5), at [X86_ACPI_BASE, X86_ACPI_END):
 *
 *   RSDP  revision 2, at X86_ACPI_BASE (16-byte aligned, inside the
 *         0xe0000-0xfffff range an OS scans), pointing at the RSDT and XSDT
 *   FACS  64 bytes, 64-byte aligned (required outside hardware-reduced ACPI)
 *   DSDT  \_S5 = Package { ACPI_S5_SLP_TYP, ACPI_S5_SLP_TYP, 0, 0 }, and in
 *         \_SB: COM1 (PNP0501, 0x3f8-0x3ff, IRQ 4) and the CMOS RTC
 *         (PNP0B00, 0x70-0x71, IRQ 8)
 *   FADT  revision 6.5, full (not hardware-reduced) ACPI: PM1a event and
 *         control blocks of devices/misc.h, no PM timer, no GPE blocks,
 *         no SMI command port (the platform is always in ACPI mode),
 *         RESET_REG in system I/O, CENTURY = CMOS 0x32
 *   MADT  one enabled local APIC per vCPU (APIC IDs 0..n-1), one I/O APIC
 *         at GSI 0, overrides ISA IRQ 0 -> GSI 2 and the SCI (active-high,
 *         level), local APIC NMI on LINT1 for all processors, PCAT_COMPAT
 *   extra tables from acpi_config (e.g. a later MCFG or SSDT)
 *   RSDT, XSDT  listing FADT, MADT and the extra tables, in that order
 *
 * Every table is checksummed; OEM ID "TRAPEZ", OEM table ID "TRAPEZE ".
 */
#ifndef TRAPEZE_ARCH_X86_ACPI_H
#define TRAPEZE_ARCH_X86_ACPI_H

#include "trapeze/guest_mem.h"
#include "trapeze/types.h"

/* Local APIC entries use 8-bit xAPIC IDs 0..n-1; 0xff is the broadcast ID. */
#define ACPI_MAX_CPUS 255
#define ACPI_MAX_EXTRA_TABLES 16

#define ACPI_TABLE_HEADER_LEN 36	/* ACPI 6.5 5.2.6, Table 5.4 */

/*
 * A table acpi_build() adds as is: it writes the 36-byte header (signature,
 * length, revision, checksum, OEM and creator IDs) and then body, and lists
 * the table in the RSDT and XSDT. Its contents may not depend on where it
 * lands (true of MCFG, HPET, SRAT, SSDT...).
 */
struct acpi_table {
	char signature[4];	/* e.g. "MCFG", "SSDT"; not NUL-terminated */
	u8 revision;
	const void *body;	/* what follows the header */
	u32 body_len;
};

struct acpi_config {
	unsigned int nr_cpus;		/* 1..ACPI_MAX_CPUS */
	u32 ioapic_addr;		/* 0xfec00000 */
	u8 ioapic_id;			/* e.g. nr_cpus */
	u32 lapic_addr;			/* 0xfee00000 */
	u16 reset_port;			/* FADT RESET_REG, system I/O: 0xcf9 */
	u8 reset_value;			/* 0x06 */
	u8 sci_irq;			/* ISA IRQ and GSI of the SCI: 9 */
	const struct acpi_table *extra_tables;	/* NULL when none */
	unsigned int nr_extra_tables;	/* at most ACPI_MAX_EXTRA_TABLES */
};

/*
 * Zeroes [X86_ACPI_BASE, X86_ACPI_END) and writes the tables there (pages
 * that already read as zero are not written, so fresh guest RAM past the
 * tables stays unbacked). Returns
 * 0 and the RSDP's guest-physical address in *rsdp_addr (X86_ACPI_BASE), or
 * -EINVAL for a bad config (no CPUs or more than ACPI_MAX_CPUS, too many
 * extra tables, an extra table with a length but no body), -ENOSPC when the tables
 * would pass X86_ACPI_END, -EFAULT when the range is not guest RAM. On
 * -ENOSPC the range is left zeroed: no half-written RSDP for a guest to find.
 */
int acpi_build(const struct guest_mem *mem, const struct acpi_config *cfg,
	       u64 *rsdp_addr);

#endif

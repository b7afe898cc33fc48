/*
 * acpi_pci: the ACPI description of trapeze's PCI host bridge, as two extra
 * tables for acpi_build() (acpi_config.extra_tables):
 *
 *   SSDT  \_SB.PCI0: _HID PNP0A08 (PCI Express root), _CID PNP0A03, _SEG 0,
 *         _BBN 0, _UID 0; _CRS with bus 0-0, the I/O ports 0xCF8-0xCFF and
 *         the bridge's windows (I/O, 32-bit memory, 64-bit memory when it has
 *         one); _PRT routing INTA#-INTD# of every slot straight to IOAPIC
 *         GSIs intx_gsi_base + pci_intx_swizzle(slot, pin) (devices/pci.h).
 *         \_SB.MRES: a PNP0C02 motherboard-resource device whose _CRS holds
 *         the ECAM window: Linux uses MMCONFIG only when the area is reserved
 *         in E820 or by such a device (arch/x86/pci/mmconfig-shared.c).
 *   MCFG  one allocation (PCI Firmware 3.0, 4.1.2): segment 0, buses 0-0,
 *         at the ECAM base.
 *
 * Section and table numbers are ACPI 6.5's unless marked otherwise.
 */
#ifndef TRAPEZE_ARCH_X86_ACPI_PCI_H
#define TRAPEZE_ARCH_X86_ACPI_PCI_H

#include "trapeze/arch/x86/acpi.h"
#include "trapeze/types.h"

#define ACPI_PCI_SSDT_MAX	4096	/* the SSDT body is ~2.3 KiB */
#define ACPI_PCI_MCFG_LEN	24	/* 8 reserved bytes + one 16-byte allocation */
#define ACPI_PCI_NR_TABLES	2
#define ACPI_PCI_SSDT_REVISION	2	/* 5.2.11.2: like the DSDT, 64-bit integers */
#define ACPI_PCI_MCFG_REVISION	1

struct acpi_pci_config {
	u64 ecam_base;			/* bus 0 only: 1 MiB */
	u64 ecam_size;
	u64 io_base, io_size;		/* I/O window: below 0x10000 */
	u64 mmio32_base, mmio32_size;	/* below 4 GiB */
	u64 mmio64_base, mmio64_size;	/* size 0: no 64-bit window */
	u32 intx_gsi_base;		/* GSI of swizzle 0 (INTA# of slot 0) */
	unsigned int nr_slots;		/* slots in _PRT, at most 32 */
};

/* The tables' bodies (what follows the 36-byte header) and their descriptions. */
struct acpi_pci_tables {
	u8 ssdt[ACPI_PCI_SSDT_MAX];
	u8 mcfg[ACPI_PCI_MCFG_LEN];
	struct acpi_table tables[ACPI_PCI_NR_TABLES];	/* SSDT, MCFG: point into the above */
};

/*
 * Builds both bodies into out and fills out->tables. 0, -EINVAL for a bad
 * config (a window that wraps, an I/O window above 0xFFFF, a 32-bit window
 * above 4 GiB, no ECAM, more than 32 slots), -ENOSPC if the SSDT does not fit.
 */
int acpi_pci_build(const struct acpi_pci_config *cfg, struct acpi_pci_tables *out);

#endif

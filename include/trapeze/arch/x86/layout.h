/*
 * Guest-physical layout of what trapeze itself writes into low guest RAM
 * before the first instruction. Images may not be loaded over any of it:
 * ELF segments must start at or above X86_LOW_RESERVED_END.
 */
#ifndef TRAPEZE_ARCH_X86_LAYOUT_H
#define TRAPEZE_ARCH_X86_LAYOUT_H

#define X86_BOOT_GDT		0x1000ULL	/* GDT used for protected and long mode */
#define X86_BOOT_PML4		0x2000ULL	/* long mode: one PML4 */
#define X86_BOOT_PDPT		0x3000ULL	/* one PDPT, 4 entries */
#define X86_BOOT_PD		0x4000ULL	/* 4 PDs of 2 MiB pages: identity 0..4 GiB */
#define X86_BOOT_TABLES_END	0x8000ULL
#define X86_BOOT_STACK_TOP	0x80000ULL	/* initial RSP for ELF guests */
#define X86_LOW_RESERVED_END	0x100000ULL	/* ELF segments start at or above 1 MiB */

/* GDT selectors (entries at X86_BOOT_GDT). */
#define X86_SEL_CODE64		0x08
#define X86_SEL_CODE32		0x10
#define X86_SEL_DATA		0x18
#define X86_GDT_ENTRIES		4

/*
 * Linux boot (Documentation/arch/x86/boot.rst, 64-bit protocol): the GDT
 * must hold a flat 64-bit code segment at __BOOT_CS (0x10) and flat data at
 * __BOOT_DS (0x18), so Linux boots use their own GDT at X86_BOOT_GDT with
 * entry 2 as 64-bit code.
 */
#define X86_SEL_LINUX_CS	0x10
#define X86_SEL_LINUX_DS	0x18

/* What the Linux and PVH loaders place in low RAM. */
#define X86_ZERO_PAGE		0x8000ULL	/* struct boot_params, 4 KiB */
#define X86_PVH_START_INFO	0x9000ULL	/* hvm_start_info, modlist, memmap: 4 KiB */
#define X86_CMDLINE		0x20000ULL	/* kernel command line */
#define X86_CMDLINE_MAX		0x10000ULL	/* bytes available at X86_CMDLINE, NUL included */
#define X86_EBDA_START		0x9fc00ULL	/* e820: reserved from here to 1 MiB */
#define X86_MPTABLE		0x9fc00ULL	/* MP floating pointer and table (1 KiB) */
#define X86_ACPI_BASE		0xe0000ULL	/* ACPI tables, RSDP first: 0xe0000-0xfffff */
#define X86_ACPI_END		0x100000ULL

/*
 * PCI (bus 0 only) inside the 32-bit hole [3 GiB, 4 GiB), which also holds
 * the IOAPIC (0xFEC00000) and LAPIC (0xFEE00000) that KVM emulates, and
 * KVM's real-mode TSS pages near 0xFFFBC000.
 */
#define X86_PCI_MMIO32_BASE	0xC0000000ULL	/* 32-bit memory BARs */
#define X86_PCI_MMIO32_SIZE	0x20000000ULL	/* 512 MiB */
#define X86_PCI_ECAM_BASE	0xE0000000ULL	/* MMCONFIG for bus 0: 1 MiB */
#define X86_PCI_ECAM_SIZE	0x100000ULL
#define X86_PCI_MMIO64_BASE	0x20000000000ULL	/* 2 TiB: above any guest RAM */
#define X86_PCI_MMIO64_SIZE	0x1000000000ULL		/* 64 GiB */
#define X86_PCI_IO_BASE		0xC000ULL	/* I/O BARs */
#define X86_PCI_IO_SIZE		0x4000ULL
#define X86_PCI_INTX_GSI_BASE	16		/* INTA#-INTD# swizzle onto IOAPIC pins 16-19 */

/* Flat real-mode images live in [X86_FLAT_MIN, X86_FLAT_MAX). */
#define X86_FLAT_MIN		0x500ULL
#define X86_FLAT_MAX		0xA0000ULL

#endif

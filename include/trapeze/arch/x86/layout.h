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

/* Flat real-mode images live in [X86_FLAT_MIN, X86_FLAT_MAX). */
#define X86_FLAT_MIN		0x500ULL
#define X86_FLAT_MAX		0xA0000ULL

#endif

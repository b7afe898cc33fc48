/*
 * boot_tables: the GDT and the long-mode identity page tables trapeze writes
 * into low guest RAM before an ELF guest's first instruction (addresses in
 * arch/x86/layout.h, guest view in docs/guest-abi.md).
 *
 * The GDT at X86_BOOT_GDT holds X86_GDT_ENTRIES descriptors:
 *   0x00 null
 *   0x08 X86_SEL_CODE64  64-bit code, DPL 0, L=1 D=0 G=1, execute/read
 *   0x10 X86_SEL_CODE32  32-bit code, DPL 0, base 0, limit 4 GiB, D=1 G=1
 *   0x18 X86_SEL_DATA    flat data, DPL 0, base 0, limit 4 GiB, read/write, B=1 G=1
 * Code and data descriptors are written with their accessed bit set, so the
 * CPU (or an emulator) never has to write the GDT when a selector is loaded.
 *
 * The page tables identity-map guest-physical 0..4 GiB with 2 MiB pages:
 * PML4[0] -> PDPT, PDPT[0..3] -> four PDs of 512 entries each. Every level is
 * present + writable + user, so a guest may drop to CPL 3 without building
 * its own tables; accessed (and, on the 2 MiB leaves, dirty) bits are preset.
 */
#ifndef TRAPEZE_ARCH_X86_BOOT_TABLES_H
#define TRAPEZE_ARCH_X86_BOOT_TABLES_H

#include "trapeze/guest_mem.h"
#include "trapeze/types.h"

/*
 * Zeroes [X86_BOOT_GDT, X86_BOOT_TABLES_END) and writes the GDT and the
 * identity page tables there. Returns 0, or -EFAULT when that range is not
 * guest RAM (RAM smaller than X86_BOOT_TABLES_END).
 */
int x86_write_boot_tables(const struct guest_mem *mem);

/*
 * The 8-byte descriptor of GDT entry index (selector >> 3) exactly as
 * x86_write_boot_tables() writes it, so vCPU setup can fill the hidden parts
 * of segment registers (base, limit, type, flags) consistently with the
 * table in memory. An index >= X86_GDT_ENTRIES gives 0 (a null descriptor).
 */
u64 x86_gdt_entry(unsigned int index);

#endif

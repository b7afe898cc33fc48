/*
 * fw_table: the byte-level pieces shared by the firmware tables trapeze
 * writes into guest RAM, ACPI (acpi.c) and the MP table (mptable.c): both
 * are little-endian byte layouts at unaligned offsets, protected by a
 * checksum byte that makes the structure sum to zero.
 */
#ifndef TRAPEZE_ARCH_X86_FW_TABLE_H
#define TRAPEZE_ARCH_X86_FW_TABLE_H

#include "trapeze/types.h"

/* Little-endian stores at any alignment. */
void fw_put16(u8 *p, u16 v);
void fw_put32(u8 *p, u32 v);
void fw_put64(u8 *p, u64 v);

/*
 * The checksum byte for p[0..len): stored in the structure's checksum
 * field, which must hold 0 while this runs, it makes all len bytes sum to
 * 0 mod 256.
 * ACPI 6.5 5.2.5.3 (RSDP) and 5.2.6 (table header); MP spec 1.4 4.1
 * (floating pointer) and 4.2 (configuration table header).
 */
u8 fw_table_checksum(const u8 *p, size_t len);

#endif

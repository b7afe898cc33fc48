/*
 * fw_table: little-endian stores and checksums for the ACPI and MP tables.
 * Contracts in include/trapeze/arch/x86/fw_table.h.
 */
#include "trapeze/arch/x86/fw_table.h"

void fw_put16(u8 *p, u16 v)
{
	p[0] = (u8)v;
	p[1] = (u8)(v >> 8);
}

void fw_put32(u8 *p, u32 v)
{
	fw_put16(p, (u16)v);
	fw_put16(p + 2, (u16)(v >> 16));
}

void fw_put64(u8 *p, u64 v)
{
	fw_put32(p, (u32)v);
	fw_put32(p + 4, (u32)(v >> 32));
}

u8 fw_table_checksum(const u8 *p, size_t len)
{
	u8 sum = 0;

	while (len--)
		sum += *p++;
	return (u8)-sum;
}

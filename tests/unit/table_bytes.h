/*
 * table_bytes: how the tests read the little-endian byte layouts trapeze
 * writes (ACPI and MP tables, image headers), written apart from the
 * product code (arch/x86/fw_table.c) so a test checks it rather than
 * repeating it.
 */
#ifndef TESTS_UNIT_TABLE_BYTES_H
#define TESTS_UNIT_TABLE_BYTES_H

#include "trapeze/types.h"

static inline u16 le16(const u8 *p)
{
	return (u16)(p[0] | p[1] << 8);
}

static inline u32 le32(const u8 *p)
{
	return le16(p) | (u32)le16(p + 2) << 16;
}

static inline u64 le64(const u8 *p)
{
	return le32(p) | (u64)le32(p + 4) << 32;
}

/* The sum of len bytes mod 256: 0 for a correctly checksummed structure. */
static inline u8 sum8(const u8 *p, size_t len)
{
	u8 s = 0;

	while (len--)
		s += *p++;
	return s;
}

#endif

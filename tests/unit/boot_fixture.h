/*
 * boot_fixture: the checked fixture the Linux boot loader tests share
 * (test_boot_linux.c for bzImages, test_boot_pvh.c for PVH vmlinux): 64 MiB
 * of guest RAM, a boot_state filled with 0x5a so a field the loader forgets
 * to set shows, and an error buffer. Each test file is its own binary, so
 * these statics belong to that binary alone.
 */
#ifndef TESTS_UNIT_BOOT_FIXTURE_H
#define TESTS_UNIT_BOOT_FIXTURE_H

#include <check.h>
#include <string.h>

#include "trapeze/guest_mem.h"
#include "trapeze/loader.h"

#define MiB (1ULL << 20)
#define GiB (1ULL << 30)

static struct guest_mem mem;
static struct boot_state bs;
static char err[256];

static void setup(void)
{
	ck_assert_int_eq(guest_mem_init(&mem, 64 * MiB), 0);
	memset(&bs, 0x5a, sizeof(bs));
	err[0] = '\0';
}

static void teardown(void)
{
	guest_mem_destroy(&mem);
}

/* Replaces the fixture's 64 MiB with ram bytes. */
static void remap(u64 ram)
{
	guest_mem_destroy(&mem);
	ck_assert_int_eq(guest_mem_init(&mem, ram), 0);
}

/* Every byte of guest RAM [gpa, gpa + len) is 0 (the range must be RAM). */
static bool ram_is_zero(u64 gpa, u64 len)
{
	const u8 *p = guest_mem_ptr(&mem, gpa, len);
	u64 i;

	for (i = 0; i < len; i++)
		if (p[i])
			return false;
	return true;
}

#endif

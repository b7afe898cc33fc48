/*
 * Unit tests for the bzImage loader: fake bzImages built in memory (a setup
 * header and recognisable kernel bytes), checked for what lands in guest RAM
 * (zero page, command line, kernel, initrd, GDT) and for the one-line error
 * of every malformed image; and the host's own /boot/vmlinuz-*, when there
 * is one, for detection, payload extraction and loading.
 */
#include <asm/bootparam.h>
#include <check.h>
#include <errno.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "boot_fixture.h"
#include "check_main.h"
#include "trapeze/arch/x86/boot_linux.h"
#include "trapeze/arch/x86/boot_tables.h"
#include "trapeze/arch/x86/e820.h"
#include "trapeze/arch/x86/layout.h"
#include "trapeze/loader.h"

#define SETUP_SECTS	4
#define SETUP_SIZE	((SETUP_SECTS + 1) * 512)
#define KERNEL_SIZE	0x3000
#define HDR_END		0x26c	/* 0x202 + jump byte 0x6a, as in a 6.x kernel */
#define PREF		0x1000000ULL	/* 16 MiB */
#define INIT_SIZE	(8 * MiB)
#define RSDP		0xe0000ULL

/* Protected-mode kernel byte k, so misplaced or shifted copies show. */
static u8 kbyte(size_t k)
{
	return (u8)(k * 7 + 3);
}

/* A well-formed image: protocol 2.15, relocatable, 64-bit, loaded high. */
static struct setup_header good_hdr(void)
{
	struct setup_header h;

	memset(&h, 0, sizeof(h));
	h.setup_sects = SETUP_SECTS;
	h.syssize = KERNEL_SIZE / 16;
	h.vid_mode = 0xffff;
	h.boot_flag = 0xaa55;
	h.jump = 0xeb | (HDR_END - 0x202) << 8;
	memcpy(&h.header, "HdrS", 4);
	h.version = 0x020f;
	h.kernel_version = 0x1234;
	h.loadflags = LOADED_HIGH;
	h.code32_start = 0x100000;
	h.initrd_addr_max = 0x7fffffff;
	h.kernel_alignment = 0x200000;
	h.relocatable_kernel = 1;
	h.min_alignment = 21;
	h.xloadflags = XLF_KERNEL_64 | XLF_CAN_BE_LOADED_ABOVE_4G;
	h.cmdline_size = 0x7ff;
	h.payload_offset = 0x100;
	h.payload_length = 0x200;
	h.pref_address = PREF;
	h.init_size = INIT_SIZE;
	h.handover_offset = 0x190;
	h.kernel_info_offset = 0x2000;
	return h;
}

/*
 * An image of (setup_sects' setup size) + kernel_size bytes with header h;
 * setup bytes are 0xcc so the copied header can be told from them.
 */
static u8 *build(const struct setup_header *h, size_t kernel_size, size_t *size)
{
	size_t sects = h->setup_sects ? h->setup_sects : 4;
	size_t setup = (sects + 1) * 512, k;
	u8 *buf;

	*size = setup + kernel_size;
	buf = malloc(*size);
	ck_assert_ptr_nonnull(buf);
	memset(buf, 0xcc, setup);
	memcpy(buf + 0x1f1, h, sizeof(*h));
	for (k = 0; k < kernel_size; k++)
		buf[setup + k] = kbyte(k);
	return buf;
}

static int load(const u8 *img, size_t size, const u8 *initrd, size_t initrd_size,
		const char *cmdline)
{
	struct linux_boot_args a = {
		.kernel = img, .kernel_size = size,
		.initrd = initrd, .initrd_size = initrd_size,
		.cmdline = cmdline, .rsdp_addr = RSDP,
	};

	return linux_load_bzimage(&mem, &a, &bs, err, sizeof(err));
}

static void read_zero_page(struct boot_params *bp)
{
	ck_assert_int_eq(guest_mem_read(&mem, X86_ZERO_PAGE, bp, sizeof(*bp)), 0);
}

static u64 gdt_entry(unsigned int i)
{
	u64 v;

	ck_assert_int_eq(guest_mem_read(&mem, X86_BOOT_GDT + 8 * i, &v, 8), 0);
	return v;
}

static void check_kernel_at(u64 gpa, size_t len)
{
	const u8 *p = guest_mem_ptr(&mem, gpa, len);
	size_t k;

	ck_assert_ptr_nonnull(p);
	for (k = 0; k < len; k++)
		ck_assert_uint_eq(p[k], kbyte(k));
}

START_TEST(bzimage_loads)
{
	struct setup_header h = good_hdr();
	static const char cmdline[] = "console=ttyS0 root=/dev/vda rw";
	const size_t initrd_size = 3 * MiB + 123;
	struct boot_params bp;
	u8 *img, *initrd, *zp;
	char got[sizeof(cmdline)];
	u64 initrd_at;
	size_t size, i;

	img = build(&h, KERNEL_SIZE, &size);
	initrd = malloc(initrd_size);
	ck_assert_ptr_nonnull(initrd);
	for (i = 0; i < initrd_size; i++)
		initrd[i] = (u8)(i ^ (i >> 8));

	ck_assert_int_eq(load(img, size, initrd, initrd_size, cmdline), 0);
	ck_assert_str_eq(err, "");

	/* 64-bit protocol entry: kernel + 0x200, RSI = zero page. */
	ck_assert_int_eq(bs.mode, BOOT_MODE_LINUX64);
	ck_assert_uint_eq(bs.entry, PREF + 0x200);
	ck_assert_uint_eq(bs.rsi, X86_ZERO_PAGE);
	ck_assert_uint_eq(bs.stack, X86_BOOT_STACK_TOP);
	ck_assert_uint_eq(bs.rbx, 0);
	check_kernel_at(PREF, KERNEL_SIZE);

	read_zero_page(&bp);
	zp = (u8 *)&bp;
	ck_assert_uint_eq(bp.hdr.type_of_loader, 0xff);
	ck_assert_uint_eq(bp.hdr.cmd_line_ptr, X86_CMDLINE);
	ck_assert_uint_eq(bp.ext_cmd_line_ptr, 0);
	ck_assert_uint_eq(bp.hdr.code32_start, PREF);
	ck_assert_uint_eq(bp.acpi_rsdp_addr, RSDP);
	ck_assert_uint_eq(bp.hdr.loadflags, LOADED_HIGH);

	/* The initrd: highest 4 KiB-aligned spot below 64 MiB. */
	initrd_at = (64 * MiB - initrd_size) & ~0xfffULL;
	ck_assert_uint_eq(bp.hdr.ramdisk_image, initrd_at);
	ck_assert_uint_eq(bp.hdr.ramdisk_size, initrd_size);
	ck_assert_uint_eq(bp.ext_ramdisk_image, 0);
	ck_assert_uint_eq(bp.ext_ramdisk_size, 0);
	ck_assert_int_eq(memcmp(guest_mem_ptr(&mem, initrd_at, initrd_size),
				initrd, initrd_size), 0);

	/* The header as the image has it, apart from the loader's fields. */
	ck_assert_uint_eq(bp.hdr.setup_sects, SETUP_SECTS);
	ck_assert_uint_eq(bp.hdr.version, 0x020f);
	ck_assert_uint_eq(bp.hdr.kernel_version, 0x1234);
	ck_assert_uint_eq(bp.hdr.xloadflags, h.xloadflags);
	ck_assert_uint_eq(bp.hdr.init_size, INIT_SIZE);
	ck_assert_uint_eq(bp.hdr.pref_address, PREF);
	ck_assert_uint_eq(bp.hdr.kernel_info_offset, 0x2000);
	ck_assert_int_eq(memcmp(zp + 0x1f1, img + 0x1f1, 0x210 - 0x1f1), 0);
	ck_assert_int_eq(memcmp(zp + 0x220, img + 0x220, 0x228 - 0x220), 0);
	ck_assert_int_eq(memcmp(zp + 0x22c, img + 0x22c, 0x250 - 0x22c), 0);
	ck_assert_int_eq(memcmp(zp + 0x258, img + 0x258, HDR_END - 0x258), 0);
	/* Nothing from the setup code around the header: not the sentinel at 0x1ef, nor 0xcc after the header. */
	ck_assert_uint_eq(zp[0x1ef], 0);
	for (i = HDR_END; i < 0x290; i++)
		ck_assert_uint_eq(zp[i], 0);

	/* The e820 map of 64 MiB. */
	ck_assert_uint_eq(bp.e820_entries, 3);
	ck_assert_uint_eq(bp.e820_table[0].addr, 0);
	ck_assert_uint_eq(bp.e820_table[0].size, X86_EBDA_START);
	ck_assert_uint_eq(bp.e820_table[0].type, E820_RAM);
	ck_assert_uint_eq(bp.e820_table[1].addr, X86_EBDA_START);
	ck_assert_uint_eq(bp.e820_table[1].size, 1 * MiB - X86_EBDA_START);
	ck_assert_uint_eq(bp.e820_table[1].type, E820_RESERVED);
	ck_assert_uint_eq(bp.e820_table[2].addr, 1 * MiB);
	ck_assert_uint_eq(bp.e820_table[2].size, 63 * MiB);
	ck_assert_uint_eq(bp.e820_table[2].type, E820_RAM);
	ck_assert_uint_eq(bp.e820_table[3].size, 0);

	ck_assert_int_eq(guest_mem_read(&mem, X86_CMDLINE, got, sizeof(got)), 0);
	ck_assert_str_eq(got, cmdline);

	/* GDT: 0x10 is flat 64-bit code (__BOOT_CS), 0x18 flat data (__BOOT_DS). */
	ck_assert_uint_eq(gdt_entry(0), 0);
	ck_assert_uint_eq(gdt_entry(2), 0x00af9b000000ffffULL);
	ck_assert_uint_eq(gdt_entry(3), x86_gdt_entry(3));
	ck_assert_uint_eq(gdt_entry(1), x86_gdt_entry(1));

	free(initrd);
	free(img);
}
END_TEST

START_TEST(bzimage_no_initrd_no_acpi)
{
	struct setup_header h = good_hdr();
	struct linux_boot_args a = { 0 };
	struct boot_params bp;
	size_t size;
	u8 *img = build(&h, KERNEL_SIZE, &size);

	/* NULL command line: an empty one. */
	a.kernel = img;
	a.kernel_size = size;
	ck_assert_int_eq(linux_load_bzimage(&mem, &a, &bs, err, sizeof(err)), 0);
	read_zero_page(&bp);
	ck_assert_uint_eq(bp.hdr.ramdisk_image, 0);
	ck_assert_uint_eq(bp.hdr.ramdisk_size, 0);
	ck_assert_uint_eq(bp.acpi_rsdp_addr, 0);
	ck_assert_uint_eq(*(u8 *)guest_mem_ptr(&mem, X86_CMDLINE, 1), 0);
	free(img);
}
END_TEST

START_TEST(bzimage_setup_sects_zero_means_4)
{
	struct setup_header h = good_hdr();
	struct boot_params bp;
	size_t size;
	u8 *img;

	h.setup_sects = 0;
	img = build(&h, KERNEL_SIZE, &size);
	ck_assert_uint_eq(size, 5 * 512 + KERNEL_SIZE);
	ck_assert_int_eq(load(img, size, NULL, 0, ""), 0);
	check_kernel_at(PREF, KERNEL_SIZE);
	read_zero_page(&bp);
	ck_assert_uint_eq(bp.hdr.setup_sects, 0);
	free(img);
}
END_TEST

START_TEST(bzimage_cmdline_at_limit)
{
	struct setup_header h = good_hdr();
	char line[17];
	size_t size;
	u8 *img;

	/* cmdline_size excludes the NUL: exactly that many bytes are fine. */
	h.cmdline_size = 16;
	img = build(&h, KERNEL_SIZE, &size);
	memset(line, 'x', 16);
	line[16] = '\0';
	ck_assert_int_eq(load(img, size, NULL, 0, line), 0);
	ck_assert_str_eq(guest_mem_ptr(&mem, X86_CMDLINE, 17), line);
	free(img);
}
END_TEST

START_TEST(bzimage_cmdline_capped_by_trapeze)
{
	struct setup_header h = good_hdr();
	char *line, want[128];
	size_t size;
	u8 *img;

	/* A kernel that would take 1 MiB is still held to X86_CMDLINE_MAX. */
	h.cmdline_size = 1 << 20;
	img = build(&h, KERNEL_SIZE, &size);
	line = malloc(X86_CMDLINE_MAX + 1);
	ck_assert_ptr_nonnull(line);
	memset(line, 'y', X86_CMDLINE_MAX);
	line[X86_CMDLINE_MAX] = '\0';
	ck_assert_int_eq(load(img, size, NULL, 0, line), -EINVAL);
	snprintf(want, sizeof(want),
		 "command line is %llu bytes; this kernel accepts at most %llu",
		 (unsigned long long)X86_CMDLINE_MAX,
		 (unsigned long long)X86_CMDLINE_MAX - 1);
	ck_assert_str_eq(err, want);
	line[X86_CMDLINE_MAX - 1] = '\0';
	ck_assert_int_eq(load(img, size, NULL, 0, line), 0);
	free(line);
	free(img);
}
END_TEST

START_TEST(bzimage_initrd_respects_initrd_addr_max)
{
	struct setup_header h = good_hdr();
	const size_t isz = 1 * MiB + 5;
	struct boot_params bp;
	u8 *img, *initrd;
	size_t size;

	h.initrd_addr_max = 48 * MiB - 1;	/* last byte the initrd may use */
	img = build(&h, KERNEL_SIZE, &size);
	initrd = calloc(1, isz);
	ck_assert_int_eq(load(img, size, initrd, isz, ""), 0);
	read_zero_page(&bp);
	ck_assert_uint_eq(bp.hdr.ramdisk_image, (48 * MiB - isz) & ~0xfffULL);
	ck_assert_uint_le(bp.hdr.ramdisk_image + isz, 48 * MiB);
	free(initrd);
	free(img);
}
END_TEST

START_TEST(bzimage_initrd_below_kernel)
{
	struct setup_header h = good_hdr();
	const size_t isz = 4 * MiB;
	struct boot_params bp;
	u8 *img, *initrd;
	size_t size;

	/* 26 MiB: only 2 MiB above the kernel's 16-24 MiB, so below it. */
	remap(26 * MiB);
	img = build(&h, KERNEL_SIZE, &size);
	initrd = calloc(1, isz);
	ck_assert_int_eq(load(img, size, initrd, isz, ""), 0);
	read_zero_page(&bp);
	ck_assert_uint_eq(bp.hdr.ramdisk_image, PREF - isz);
	free(initrd);
	free(img);
}
END_TEST

START_TEST(bzimage_6g_guest)
{
	struct setup_header h = good_hdr();
	const size_t isz = 2 * MiB;
	struct boot_params bp;
	u8 *img, *initrd;
	size_t size;

	/* initrd_addr_max 2 GiB - 1 keeps the initrd below 2 GiB; RAM above 4 GiB is mapped. */
	remap(6 * GiB);
	img = build(&h, KERNEL_SIZE, &size);
	initrd = calloc(1, isz);
	ck_assert_int_eq(load(img, size, initrd, isz, ""), 0);
	read_zero_page(&bp);
	ck_assert_uint_eq(bp.hdr.ramdisk_image, 2 * GiB - isz);
	ck_assert_uint_eq(bp.e820_entries, 4);
	ck_assert_uint_eq(bp.e820_table[2].size, 3 * GiB - 1 * MiB);
	ck_assert_uint_eq(bp.e820_table[3].addr, 4 * GiB);
	ck_assert_uint_eq(bp.e820_table[3].size, 3 * GiB);
	ck_assert_uint_eq(bs.entry, PREF + 0x200);
	free(initrd);
	free(img);
}
END_TEST

START_TEST(bzimage_not_relocatable)
{
	struct setup_header h = good_hdr();
	size_t size;
	u8 *img;

	/* No alignment demanded of a fixed-address kernel: it goes to pref_address. */
	h.relocatable_kernel = 0;
	h.kernel_alignment = 0;
	img = build(&h, KERNEL_SIZE, &size);
	ck_assert_int_eq(load(img, size, NULL, 0, ""), 0);
	ck_assert_uint_eq(bs.entry, PREF + 0x200);
	free(img);
}
END_TEST

START_TEST(bzimage_runtime_aligned_up)
{
	struct setup_header h = good_hdr();
	size_t size;
	u8 *img;

	/*
	 * Relocatable, pref_address 17 MiB, alignment 2 MiB: the kernel runs
	 * from 18 MiB, so init_size counts from there (to 26 MiB).
	 */
	h.pref_address = 17 * MiB;
	img = build(&h, KERNEL_SIZE, &size);
	remap(25 * MiB);
	ck_assert_int_eq(load(img, size, NULL, 0, ""), -EINVAL);
	ck_assert_str_eq(err, "guest RAM (25 MiB) is too small for this kernel: it needs 0x1100000-0x1a00000 (init_size 8 MiB) to decompress");
	remap(26 * MiB);
	ck_assert_int_eq(load(img, size, NULL, 0, ""), 0);
	ck_assert_uint_eq(bs.entry, 17 * MiB + 0x200);
	free(img);
}
END_TEST

/* ---- malformed images: each gives its own one-line error ---- */

enum bad_field { NONE, FLAG, MAGIC, VERSION, XLF, LOADFLAGS, SECTS, JUMP,
		 ALIGN, PREF_LOW, PREF_HOLE, CMDLINE_SIZE };

struct bad_case {
	const char *name;
	enum bad_field field;
	u64 value;
	size_t kernel_size;	/* KERNEL_SIZE unless set */
	size_t truncate;	/* non-zero: cut the file to this */
	size_t initrd_size;
	u64 ram;		/* 64 MiB unless set */
	int ret;
	const char *msg;
};

static const struct bad_case bad_cases[] = {
	{ "no HdrS", MAGIC, 0, .ret = -ENOEXEC,
	  .msg = "not a bzImage (no \"HdrS\" signature at 0x202)" },
	{ "bad boot flag", FLAG, 0x55aa, .ret = -ENOEXEC,
	  .msg = "not a bzImage (boot flag 0x55aa at 0x1fe, expected 0xaa55)" },
	{ "file too short for the magic", NONE, 0, .truncate = 0x204,
	  .ret = -ENOEXEC, .msg = "not a bzImage (no \"HdrS\" signature at 0x202)" },
	{ "protocol 2.11", VERSION, 0x020b, .ret = -EINVAL,
	  .msg = "boot protocol 2.11 is too old (trapeze needs 2.12)" },
	{ "protocol 2.02", VERSION, 0x0202, .ret = -EINVAL,
	  .msg = "boot protocol 2.02 is too old (trapeze needs 2.12)" },
	{ "no XLF_KERNEL_64", XLF, XLF_CAN_BE_LOADED_ABOVE_4G, .ret = -EINVAL,
	  .msg = "kernel has no 64-bit entry point (XLF_KERNEL_64 clear): trapeze boots 64-bit kernels only" },
	{ "zImage", LOADFLAGS, 0, .ret = -EINVAL,
	  .msg = "kernel is not loaded high (LOADED_HIGH clear): zImage kernels are not supported" },
	{ "setup_sects past the end", SECTS, 40, .ret = -EINVAL,
	  .msg = "truncated bzImage: 20992 bytes of setup code (setup_sects 40) but the file is 14848 bytes" },
	{ "setup only, no kernel", NONE, 0, .kernel_size = 0, .truncate = SETUP_SIZE,
	  .ret = -EINVAL,
	  .msg = "bzImage has no protected-mode kernel after its 2560 bytes of setup code" },
	{ "header cut by the file end", NONE, 0, .truncate = 0x240, .ret = -EINVAL,
	  .msg = "truncated bzImage: setup header ends at 0x26c, past the end of the file (576 bytes)" },
	{ "header too short for 2.12", JUMP, 0x30, .ret = -EINVAL,
	  .msg = "bzImage setup header ends at 0x232, before the protocol 2.15 fields it must hold (to 0x264)" },
	{ "alignment not a power of two", ALIGN, 0x300000, .ret = -EINVAL,
	  .msg = "kernel_alignment 0x300000 is not a power of two" },
	{ "alignment zero", ALIGN, 0, .ret = -EINVAL,
	  .msg = "kernel_alignment 0x0 is not a power of two" },
	{ "pref_address in low memory", PREF_LOW, 0x90000, .ret = -EINVAL,
	  .msg = "kernel's preferred load address 0x90000 is below 1 MiB" },
	{ "pref_address in the hole", PREF_HOLE, 0xc0000000, .ret = -EINVAL,
	  .msg = "kernel's preferred load address 0xc0000000 is not below the 32-bit hole at 3 GiB" },
	{ "command line too long", CMDLINE_SIZE, 16, .ret = -EINVAL,
	  .msg = "command line is 19 bytes; this kernel accepts at most 16" },
	{ "initrd too big", NONE, 0, .initrd_size = 60 * MiB, .ret = -EINVAL,
	  .msg = "initrd (60 MiB) does not fit in guest memory beside the kernel" },
	{ "RAM below init_size", NONE, 0, .ram = 20 * MiB, .ret = -EINVAL,
	  .msg = "guest RAM (20 MiB) is too small for this kernel: it needs 0x1000000-0x1800000 (init_size 8 MiB) to decompress" },
	{ "RAM smaller than the kernel file", NONE, 0, .kernel_size = 9 * MiB,
	  .ram = 24 * MiB, .ret = -EINVAL,
	  .msg = "guest RAM (24 MiB) is too small for this kernel: it needs 0x1000000-0x1900000 (init_size 8 MiB) to decompress" },
	{ "RAM below 2 MiB", NONE, 0, .ram = 1 * MiB, .ret = -EINVAL,
	  .msg = "guest RAM (1024 KiB) is too small: Linux needs at least 2 MiB" },
};

START_TEST(bzimage_malformed)
{
	const struct bad_case *c = &bad_cases[_i];
	struct setup_header h = good_hdr();
	size_t size, ksize = c->kernel_size ? c->kernel_size : KERNEL_SIZE;
	u8 *img, *initrd = NULL;
	int ret;

	if (c->truncate == SETUP_SIZE)
		ksize = 0;
	switch (c->field) {
	case NONE: break;
	case FLAG: h.boot_flag = (u16)c->value; break;
	case MAGIC: memcpy(&h.header, "HdrZ", 4); break;
	case VERSION: h.version = (u16)c->value; break;
	case XLF: h.xloadflags = (u16)c->value; break;
	case LOADFLAGS: h.loadflags = (u8)c->value; break;
	case SECTS: h.setup_sects = (u8)c->value; break;
	case JUMP: h.jump = (u16)(0xeb | c->value << 8); break;
	case ALIGN: h.kernel_alignment = (u32)c->value; break;
	case PREF_LOW:
	case PREF_HOLE: h.pref_address = c->value; break;
	case CMDLINE_SIZE: h.cmdline_size = (u32)c->value; break;
	}
	/* setup_sects past the end: build the image with the normal 4. */
	if (c->field == SECTS) {
		h.setup_sects = SETUP_SECTS;
		img = build(&h, ksize, &size);
		img[0x1f1] = (u8)c->value;
	} else {
		img = build(&h, ksize, &size);
	}
	if (c->truncate)
		size = c->truncate;
	if (c->ram)
		remap(c->ram);
	if (c->initrd_size) {
		initrd = calloc(1, c->initrd_size);
		ck_assert_ptr_nonnull(initrd);
	}

	ret = load(img, size, initrd, c->initrd_size, "console=ttyS0 quiet");
	ck_assert_msg(ret == c->ret, "%s: got %d, want %d (%s)", c->name, ret,
		      c->ret, err);
	ck_assert_str_eq(err, c->msg);
	/* A refused image leaves RAM as it was: no boot tables, no zero page. */
	ck_assert(ram_is_zero(0, 1 * MiB));
	if (mem.regions[0].size >= PREF + ksize)
		ck_assert(ram_is_zero(PREF, ksize));
	free(initrd);
	free(img);
}
END_TEST

START_TEST(bzimage_initrd_without_data)
{
	struct setup_header h = good_hdr();
	size_t size;
	u8 *img = build(&h, KERNEL_SIZE, &size);

	ck_assert_int_eq(load(img, size, NULL, 4096, ""), -EINVAL);
	ck_assert_str_eq(err, "initrd size given without initrd data");
	free(img);
}
END_TEST

/* ---- detection and the compressed payload ---- */

START_TEST(bzimage_detect)
{
	struct setup_header h = good_hdr();
	size_t size;
	u8 *img = build(&h, KERNEL_SIZE, &size);

	ck_assert(linux_is_bzimage(img, size));
	ck_assert(linux_is_bzimage(img, 0x206));
	ck_assert(!linux_is_bzimage(img, 0x205));
	ck_assert(!linux_is_bzimage(NULL, 0));
	img[0x1fe] = 0;
	ck_assert(!linux_is_bzimage(img, size));
	img[0x1fe] = 0x55;
	img[0x205] = 'T';
	ck_assert(!linux_is_bzimage(img, size));
	/* An ELF is not a bzImage. */
	ck_assert(!linux_is_bzimage((const u8 *)"\177ELF\2\1\1", 7));
	free(img);
}
END_TEST

START_TEST(bzimage_payload)
{
	struct setup_header h = good_hdr();
	const u8 *p = NULL;
	size_t size, len = 0;
	u8 *img = build(&h, KERNEL_SIZE, &size);

	ck_assert_int_eq(linux_bzimage_payload(img, size, &p, &len, err,
					       sizeof(err)), 0);
	ck_assert_ptr_eq(p, img + SETUP_SIZE + 0x100);
	ck_assert_uint_eq(len, 0x200);
	free(img);

	/* Payload up to the very end of the kernel: accepted. */
	h.payload_offset = KERNEL_SIZE - 0x200;
	img = build(&h, KERNEL_SIZE, &size);
	ck_assert_int_eq(linux_bzimage_payload(img, size, &p, &len, err,
					       sizeof(err)), 0);
	ck_assert_ptr_eq(p + len, img + size);
	free(img);

	/* One byte past it, or an offset that would wrap: refused. */
	h.payload_offset = KERNEL_SIZE - 0x1ff;
	img = build(&h, KERNEL_SIZE, &size);
	ck_assert_int_eq(linux_bzimage_payload(img, size, &p, &len, err,
					       sizeof(err)), -EINVAL);
	ck_assert_str_eq(err, "bzImage payload 0x2e01+0x200 does not lie inside its 12288-byte protected-mode kernel");
	free(img);
	h.payload_offset = 0xffffff00;
	img = build(&h, KERNEL_SIZE, &size);
	ck_assert_int_eq(linux_bzimage_payload(img, size, &p, &len, err,
					       sizeof(err)), -EINVAL);
	free(img);

	/* No payload at all. */
	h.payload_offset = 0;
	h.payload_length = 0;
	img = build(&h, KERNEL_SIZE, &size);
	ck_assert_int_eq(linux_bzimage_payload(img, size, &p, &len, err,
					       sizeof(err)), -EINVAL);
	free(img);

	/* 2.08 suffices for the payload (the loader needs 2.12); 2.07 does not. */
	h = good_hdr();
	h.version = 0x0208;
	img = build(&h, KERNEL_SIZE, &size);
	ck_assert_int_eq(linux_bzimage_payload(img, size, &p, &len, err,
					       sizeof(err)), 0);
	img[0x206] = 0x07;
	ck_assert_int_eq(linux_bzimage_payload(img, size, &p, &len, err,
					       sizeof(err)), -EINVAL);
	ck_assert_str_eq(err, "boot protocol 2.07 is too old (payload_offset needs 2.08)");
	free(img);

	ck_assert_int_eq(linux_bzimage_payload((const u8 *)"nope", 4, &p, &len,
					       err, sizeof(err)), -ENOEXEC);
}
END_TEST

/* ---- the host's own kernel ---- */

/* Magic numbers of the compressors a bzImage payload may use (arch/x86/boot/compressed). */
static const struct {
	const char *name;
	u8 magic[6];
	size_t len;
} compressors[] = {
	{ "xz", { 0xfd, '7', 'z', 'X', 'Z', 0x00 }, 6 },
	{ "gzip", { 0x1f, 0x8b }, 2 },
	{ "zstd", { 0x28, 0xb5, 0x2f, 0xfd }, 4 },
	{ "lz4", { 0x02, 0x21, 0x4c, 0x18 }, 4 },
	{ "bzip2", { 'B', 'Z', 'h' }, 3 },
	{ "lzo", { 0x89, 'L', 'Z', 'O' }, 4 },
	{ "lzma", { 0x5d, 0x00, 0x00 }, 3 },
};

/* Whether /boot/config-VERSION beside path says CONFIG_KERNEL_<name>=y; -1 if unknown. */
static int config_says(const char *path, const char *name)
{
	const char *ver = strstr(path, "vmlinuz-");
	char cfg[512], want[64], line[256];
	int found = 0;
	FILE *f;
	size_t i;

	if (!ver)
		return -1;
	snprintf(cfg, sizeof(cfg), "/boot/config-%s", ver + strlen("vmlinuz-"));
	f = fopen(cfg, "r");
	if (!f)
		return -1;
	snprintf(want, sizeof(want), "CONFIG_KERNEL_%s", name);
	for (i = 0; want[i]; i++)
		if (want[i] >= 'a' && want[i] <= 'z')
			want[i] = (char)(want[i] - 'a' + 'A');
	strcat(want, "=y");
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, want, strlen(want)))
			found = 1;
	fclose(f);
	return found;
}

START_TEST(host_kernel)
{
	struct boot_params bp;
	const u8 *p;
	glob_t g;
	size_t size, len, i;
	u8 *buf;
	int match = -1;

	if (glob("/boot/vmlinuz-*", 0, NULL, &g) != 0) {
		printf("host_kernel: skipped: no /boot/vmlinuz-* on this machine\n");
		return;
	}
	if (loader_read_file(g.gl_pathv[0], &buf, &size, err, sizeof(err))) {
		printf("host_kernel: skipped: %s\n", err);
		globfree(&g);
		return;
	}
	ck_assert_msg(linux_is_bzimage(buf, size), "%s is no bzImage",
		      g.gl_pathv[0]);
	ck_assert_int_eq(linux_bzimage_payload(buf, size, &p, &len, err,
					       sizeof(err)), 0);
	ck_assert_uint_gt(len, 1 * MiB);
	for (i = 0; i < ARRAY_SIZE(compressors); i++)
		if (!memcmp(p, compressors[i].magic, compressors[i].len))
			match = (int)i;
	ck_assert_msg(match >= 0, "%s: payload starts %02x %02x %02x %02x: no known compressor",
		      g.gl_pathv[0], p[0], p[1], p[2], p[3]);
	/* And it is the compressor the kernel's config names, where that is known. */
	ck_assert_int_ne(config_says(g.gl_pathv[0], compressors[match].name), 0);
	printf("host_kernel: %s: %s payload of %zu bytes\n", g.gl_pathv[0],
	       compressors[match].name, len);

	/* It loads into 256 MiB as any bzImage would. */
	remap(256 * MiB);
	ck_assert_msg(load(buf, size, NULL, 0, "console=ttyS0") == 0, "%s", err);
	ck_assert_int_eq(bs.mode, BOOT_MODE_LINUX64);
	read_zero_page(&bp);
	ck_assert_uint_eq(bs.entry, bp.hdr.pref_address + 0x200);
	ck_assert_uint_ge(bp.hdr.version, 0x020c);
	ck_assert_uint_eq(bp.hdr.type_of_loader, 0xff);
	ck_assert_int_eq(memcmp(guest_mem_ptr(&mem, bp.hdr.pref_address, 4096),
				buf + (bp.hdr.setup_sects + 1) * 512, 4096), 0);
	free(buf);
	globfree(&g);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("boot_linux");
	TCase *load_tc = tcase_create("bzimage"), *hdr = tcase_create("header");

	tcase_add_checked_fixture(load_tc, setup, teardown);
	tcase_set_timeout(load_tc, 30);
	tcase_add_test(load_tc, bzimage_loads);
	tcase_add_test(load_tc, bzimage_no_initrd_no_acpi);
	tcase_add_test(load_tc, bzimage_setup_sects_zero_means_4);
	tcase_add_test(load_tc, bzimage_cmdline_at_limit);
	tcase_add_test(load_tc, bzimage_cmdline_capped_by_trapeze);
	tcase_add_test(load_tc, bzimage_initrd_respects_initrd_addr_max);
	tcase_add_test(load_tc, bzimage_initrd_below_kernel);
	tcase_add_test(load_tc, bzimage_6g_guest);
	tcase_add_test(load_tc, bzimage_not_relocatable);
	tcase_add_test(load_tc, bzimage_runtime_aligned_up);
	tcase_add_loop_test(load_tc, bzimage_malformed, 0, ARRAY_SIZE(bad_cases));
	tcase_add_test(load_tc, bzimage_initrd_without_data);
	tcase_add_test(load_tc, host_kernel);
	suite_add_tcase(s, load_tc);
	tcase_add_test(hdr, bzimage_detect);
	tcase_add_test(hdr, bzimage_payload);
	suite_add_tcase(s, hdr);

	return check_run(s);
}

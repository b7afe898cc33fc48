/*
 * Unit tests for the loader: ELF32/ELF64 images built in memory (good ones and
 * one malformed case per header check), flat binaries, image detection and
 * reading image files.
 */
#include <check.h>
#include <elf.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check_main.h"
#include "trapeze/arch/x86/boot_tables.h"
#include "trapeze/arch/x86/layout.h"
#include "trapeze/loader.h"

#define RAM_SIZE (16ULL << 20)

static struct guest_mem mem;
static struct boot_state bs;
static char err[256];

static void setup(void)
{
	ck_assert_int_eq(guest_mem_init(&mem, RAM_SIZE), 0);
	memset(&bs, 0x5a, sizeof(bs));
	err[0] = '\0';
}

static void teardown(void)
{
	guest_mem_destroy(&mem);
}

/* ---- an ELF image described field by field, then serialized ---- */

struct tseg {
	u32 type, flags;
	u64 offset;	/* 0: the builder places filesz payload bytes itself */
	u64 paddr, filesz, memsz;
};

struct tspec {
	bool is64;	/* layout written: Elf64 or Elf32 structures */
	u8 magic0, class, data;
	u16 machine, type, phentsize, phnum;
	u64 phoff, entry;
	struct tseg segs[3];
	size_t truncate;	/* non-zero: cut the file to this many bytes */
};

/* Code (R+X) at 1 MiB with bss, data (R+W) at 2 MiB with bss, a note at 0 that must be ignored. */
static struct tspec default_spec(bool is64)
{
	struct tspec s = {
		.is64 = is64, .magic0 = ELFMAG0,
		.class = is64 ? ELFCLASS64 : ELFCLASS32, .data = ELFDATA2LSB,
		.machine = is64 ? EM_X86_64 : EM_386, .type = ET_EXEC,
		.phentsize = is64 ? sizeof(Elf64_Phdr) : sizeof(Elf32_Phdr),
		.phnum = 3, .phoff = is64 ? sizeof(Elf64_Ehdr) : sizeof(Elf32_Ehdr),
		.entry = 0x100010,
		.segs = {
			{ PT_LOAD, PF_R | PF_X, 0, 0x100000, 0x40, 0x1000 },
			{ PT_LOAD, PF_R | PF_W, 0, 0x200000, 0x20, 0x2000 },
			{ PT_NOTE, 0, 0, 0, 0x10, 0x10 },
		},
	};
	return s;
}

/* Payload byte k of segment i, so a test can tell where each byte came from. */
static u8 payload(unsigned int i, u64 k)
{
	return (u8)(0x11 * (i + 1) + k);
}

static u8 *build(const struct tspec *s, size_t *size)
{
	size_t eh = s->is64 ? sizeof(Elf64_Ehdr) : sizeof(Elf32_Ehdr);
	size_t ph = s->is64 ? sizeof(Elf64_Phdr) : sizeof(Elf32_Phdr);
	size_t pos = (eh + 3 * ph + 15) & ~(size_t)15, total = pos;
	u64 off[3];
	unsigned int i;
	u8 *buf;

	for (i = 0; i < 3; i++) {
		off[i] = s->segs[i].offset ? s->segs[i].offset : total;
		if (!s->segs[i].offset)
			total += s->segs[i].filesz;
	}
	buf = calloc(1, total);
	ck_assert_ptr_nonnull(buf);
	memcpy(buf, ELFMAG, SELFMAG);
	buf[EI_MAG0] = s->magic0;
	buf[EI_CLASS] = s->class;
	buf[EI_DATA] = s->data;
	buf[EI_VERSION] = EV_CURRENT;
	if (s->is64) {
		Elf64_Ehdr e = { .e_type = s->type, .e_machine = s->machine,
			.e_version = EV_CURRENT, .e_entry = s->entry, .e_phoff = s->phoff,
			.e_ehsize = eh, .e_phentsize = s->phentsize, .e_phnum = s->phnum };
		memcpy(e.e_ident, buf, EI_NIDENT);
		memcpy(buf, &e, sizeof(e));
	} else {
		Elf32_Ehdr e = { .e_type = s->type, .e_machine = s->machine,
			.e_version = EV_CURRENT, .e_entry = (u32)s->entry,
			.e_phoff = (u32)s->phoff, .e_ehsize = eh,
			.e_phentsize = s->phentsize, .e_phnum = s->phnum };
		memcpy(e.e_ident, buf, EI_NIDENT);
		memcpy(buf, &e, sizeof(e));
	}
	for (i = 0; i < 3; i++) {
		const struct tseg *g = &s->segs[i];
		u64 k;

		if (s->is64) {
			Elf64_Phdr p = { g->type, g->flags, off[i], g->paddr, g->paddr,
					 g->filesz, g->memsz, 0x1000 };
			memcpy(buf + eh + i * ph, &p, sizeof(p));
		} else {
			Elf32_Phdr p = { g->type, (u32)off[i], (u32)g->paddr,
					 (u32)g->paddr, (u32)g->filesz, (u32)g->memsz,
					 g->flags, 0x1000 };
			memcpy(buf + eh + i * ph, &p, sizeof(p));
		}
		for (k = 0; !g->offset && k < g->filesz; k++)
			buf[off[i] + k] = payload(i, k);
	}
	*size = s->truncate ? s->truncate : total;
	return buf;
}

static int load_spec(const struct tspec *s)
{
	size_t size;
	u8 *buf = build(s, &size);
	int ret = loader_load_elf(&mem, buf, size, &bs, err, sizeof(err));

	free(buf);
	return ret;
}

static u64 ram_u64(u64 gpa)
{
	u64 v;

	ck_assert_int_eq(guest_mem_read(&mem, gpa, &v, sizeof(v)), 0);
	return v;
}

static bool ram_is(u64 gpa, u64 len, u8 byte)
{
	const u8 *p = guest_mem_ptr(&mem, gpa, len);
	u64 i;

	ck_assert_ptr_nonnull(p);
	for (i = 0; i < len; i++)
		if (p[i] != byte)
			return false;
	return true;
}

/* Segment i landed at its paddr: its file bytes, then zeroed bss. */
static void assert_segment(const struct tspec *s, unsigned int i)
{
	const struct tseg *g = &s->segs[i];
	const u8 *p = guest_mem_ptr(&mem, g->paddr, g->memsz);
	u64 k;

	ck_assert_ptr_nonnull(p);
	for (k = 0; k < g->filesz; k++)
		ck_assert_uint_eq(p[k], payload(i, k));
	ck_assert(ram_is(g->paddr + g->filesz, g->memsz - g->filesz, 0));
}

static void assert_loaded(const struct tspec *s, enum boot_mode mode)
{
	ck_assert_msg(load_spec(s) == 0, "load failed: %s", err);
	ck_assert_int_eq(bs.mode, mode);
	ck_assert_uint_eq(bs.entry, s->entry);
	ck_assert_uint_eq(bs.stack, X86_BOOT_STACK_TOP);
	ck_assert_uint_eq(bs.rsi, 0);
	ck_assert_uint_eq(bs.rbx, 0);
	assert_segment(s, 0);
	assert_segment(s, 1);
	/* Boot tables in place (full bit patterns are checked in test_boot_tables). */
	ck_assert_uint_eq(ram_u64(X86_BOOT_GDT + X86_SEL_CODE64), 0x00af9b000000ffffULL);
	ck_assert_uint_eq(ram_u64(X86_BOOT_GDT + X86_SEL_DATA), 0x00cf93000000ffffULL);
	ck_assert_uint_eq(ram_u64(X86_BOOT_PML4), X86_BOOT_PDPT | 0x27);
}

START_TEST(elf64_loads)
{
	struct tspec s = default_spec(true);

	/* Garbage where the bss goes: the loader must zero it, not assume fresh RAM. */
	memset(guest_mem_ptr(&mem, 0x100000, 0x1000), 0xcc, 0x1000);
	memset(guest_mem_ptr(&mem, 0x200000, 0x2000), 0xcc, 0x2000);
	assert_loaded(&s, BOOT_MODE_LONG64);
}
END_TEST

START_TEST(elf32_loads)
{
	struct tspec s = default_spec(false);

	memset(guest_mem_ptr(&mem, 0x200000, 0x2000), 0xcc, 0x2000);
	assert_loaded(&s, BOOT_MODE_PROT32);
}
END_TEST

/* Limits that are still allowed: last byte of the exec segment, a segment ending at the end of RAM, empty PT_LOADs anywhere. */
START_TEST(elf64_edges_accepted)
{
	struct tspec s = default_spec(true);

	s.entry = 0x100fff;
	s.segs[1].paddr = RAM_SIZE - s.segs[1].memsz;
	s.segs[2] = (struct tseg){ PT_LOAD, PF_R | PF_X, 0, 0x10, 0, 0 };
	assert_loaded(&s, BOOT_MODE_LONG64);
}
END_TEST

enum field { F_NONE, F_TRUNC, F_MAGIC0, F_CLASS, F_DATA, F_MACHINE, F_TYPE,
	     F_PHENTSIZE, F_PHNUM, F_PHOFF, F_ENTRY, F_TYPE0, F_TYPE1,
	     F_OFFSET0, F_FILESZ0, F_MEMSZ0, F_PADDR0, F_PADDR1 };

struct edit { enum field f; u64 v; };

static const struct bad_case {
	bool is64;
	struct edit e[2];
	int ret;
	const char *msg;
} bad_cases[] = {
	{ true, { { F_TRUNC, 40 } }, -EINVAL, "truncated ELF header" },
	{ false, { { F_TRUNC, 51 } }, -EINVAL, "truncated ELF header" },
	{ true, { { F_TRUNC, 10 } }, -ENOEXEC, "not an ELF image" },
	{ true, { { F_MAGIC0, 'M' } }, -ENOEXEC, "not an ELF image" },
	{ true, { { F_CLASS, 3 } }, -ENOEXEC, "unknown ELF class 3" },
	{ true, { { F_DATA, ELFDATA2MSB } }, -ENOEXEC, "little-endian" },
	{ true, { { F_MACHINE, EM_386 } }, -ENOEXEC, "must be x86-64" },
	{ false, { { F_MACHINE, EM_X86_64 } }, -ENOEXEC, "must be i386" },
	{ true, { { F_MACHINE, EM_AARCH64 } }, -ENOEXEC, "machine 183" },
	{ true, { { F_CLASS, ELFCLASS32 } }, -ENOEXEC, "must be i386" },
	{ true, { { F_TYPE, ET_DYN } }, -ENOEXEC, "position-independent ELF not supported" },
	{ true, { { F_TYPE, ET_REL } }, -ENOEXEC, "not an executable" },
	{ true, { { F_PHENTSIZE, 32 } }, -EINVAL, "e_phentsize 32" },
	{ true, { { F_PHNUM, 0 } }, -EINVAL, "no program headers" },
	{ true, { { F_PHNUM, 0xffff } }, -EINVAL, "too many program headers" },
	{ true, { { F_PHNUM, 200 } }, -EINVAL, "past the end of the file" },
	{ true, { { F_PHOFF, 0x10000 } }, -EINVAL, "program headers (offset 0x10000" },
	{ true, { { F_PHOFF, UINT64_MAX - 7 } }, -EINVAL, "program headers" },
	{ true, { { F_TYPE0, PT_NOTE }, { F_TYPE1, PT_NOTE } }, -EINVAL, "no PT_LOAD" },
	{ true, { { F_FILESZ0, 0x2000 } }, -EINVAL, "exceeds p_memsz" },
	{ true, { { F_OFFSET0, 0x10000 } }, -EINVAL, "past the end of the file" },
	{ true, { { F_OFFSET0, UINT64_MAX - 0x10 } }, -EINVAL, "past the end of the file" },
	/* Start inside the file, end past it (the default file is 0x120 bytes after this edit). */
	{ true, { { F_OFFSET0, 0x100 } }, -EINVAL, "file bytes 0x100+0x40 extend past the end" },
	/* Cut in the middle of segment 1's bytes (it starts at 0x130 / 0xe0). */
	{ true, { { F_TRUNC, 0x140 } }, -EINVAL, "segment 1: file bytes 0x130+0x20 extend past the end of the file (320 bytes)" },
	{ false, { { F_TRUNC, 0xf0 } }, -EINVAL, "segment 1: file bytes 0xe0+0x20" },
	{ true, { { F_PADDR1, 0xfffffffffffff000ULL } }, -EINVAL, "wraps" },
	{ true, { { F_MEMSZ0, UINT64_MAX } }, -EINVAL, "wraps" },
	{ false, { { F_PADDR1, 0xfffff000 } }, -EINVAL, "beyond the 32-bit address space" },
	{ true, { { F_PADDR0, 0x8000 }, { F_ENTRY, 0x8010 } }, -EINVAL,
	  "segment at 0x8000 overlaps trapeze's boot structures below 1 MiB" },
	{ true, { { F_PADDR0, 0xff000 }, { F_ENTRY, 0xff010 } }, -EINVAL, "below 1 MiB" },
	{ true, { { F_PADDR1, 0x2000000 } }, -EINVAL,
	  "segment 0x2000000-0x2002000 lies outside guest RAM (16 MiB)" },
	{ true, { { F_PADDR1, RAM_SIZE - 0x1000 } }, -EINVAL, "outside guest RAM" },
	{ true, { { F_PADDR1, 0xc0000000 } }, -EINVAL, "32-bit hole" },
	{ true, { { F_PADDR1, 0xbffff000 } }, -EINVAL, "32-bit hole" },
	{ false, { { F_PADDR1, 0xc0000000 } }, -EINVAL, "32-bit hole" },
	{ true, { { F_PADDR1, 0x100000000ULL } }, -EINVAL, "beyond the boot identity map" },
	{ true, { { F_PADDR1, 0x100800 } }, -EINVAL, "overlap" },
	{ true, { { F_PADDR1, 0x100fff } }, -EINVAL, "overlap" },
	{ true, { { F_ENTRY, 0x300000 } }, -EINVAL,
	  "entry point 0x300000 is not inside a loaded executable segment" },
	{ true, { { F_ENTRY, 0x200000 } }, -EINVAL, "entry point" },	/* not PF_X */
	{ true, { { F_ENTRY, 0x101000 } }, -EINVAL, "entry point" },	/* one past the end */
	{ true, { { F_MEMSZ0, 0 }, { F_FILESZ0, 0 } }, -EINVAL, "entry point" },
	{ false, { { F_ENTRY, 0xfffffff0 } }, -EINVAL, "entry point" },
};

static void apply(struct tspec *s, const struct edit *e)
{
	switch (e->f) {
	case F_NONE: break;
	case F_TRUNC: s->truncate = e->v; break;
	case F_MAGIC0: s->magic0 = (u8)e->v; break;
	case F_CLASS: s->class = (u8)e->v; break;
	case F_DATA: s->data = (u8)e->v; break;
	case F_MACHINE: s->machine = (u16)e->v; break;
	case F_TYPE: s->type = (u16)e->v; break;
	case F_PHENTSIZE: s->phentsize = (u16)e->v; break;
	case F_PHNUM: s->phnum = (u16)e->v; break;
	case F_PHOFF: s->phoff = e->v; break;
	case F_ENTRY: s->entry = e->v; break;
	case F_TYPE0: s->segs[0].type = (u32)e->v; break;
	case F_TYPE1: s->segs[1].type = (u32)e->v; break;
	case F_OFFSET0: s->segs[0].offset = e->v; break;
	case F_FILESZ0: s->segs[0].filesz = e->v; break;
	case F_MEMSZ0: s->segs[0].memsz = e->v; break;
	case F_PADDR0: s->segs[0].paddr = e->v; break;
	case F_PADDR1: s->segs[1].paddr = e->v; break;
	}
}

/* Each malformed image is refused with its own message, and guest RAM stays all zero. */
START_TEST(elf_malformed)
{
	const struct bad_case *c = &bad_cases[_i];
	struct tspec s = default_spec(c->is64);
	struct boot_state before;

	apply(&s, &c->e[0]);
	apply(&s, &c->e[1]);
	before = bs;
	ck_assert_int_eq(load_spec(&s), c->ret);
	ck_assert_msg(strstr(err, c->msg), "case %d: message '%s' lacks '%s'", _i, err, c->msg);
	ck_assert(memcmp(&before, &bs, sizeof(bs)) == 0);
	ck_assert_msg(ram_is(0, RAM_SIZE, 0), "case %d wrote guest RAM", _i);
}
END_TEST

START_TEST(elf_ram_too_small)
{
	struct tspec s = default_spec(true);

	guest_mem_destroy(&mem);
	ck_assert_int_eq(guest_mem_init(&mem, 512 << 10), 0);
	ck_assert_int_eq(load_spec(&s), -EINVAL);
	ck_assert_str_eq(err, "guest RAM (512 KiB) is too small: ELF guests need at least 1 MiB");
}
END_TEST

/* RAM exists above 4 GiB, but the boot identity map does not reach it. */
START_TEST(elf64_above_4g_refused)
{
	struct tspec s = default_spec(true);

	guest_mem_destroy(&mem);
	ck_assert_int_eq(guest_mem_init(&mem, 5ULL << 30), 0);
	s.segs[1].paddr = 0x100000000ULL;
	ck_assert_ptr_nonnull(guest_mem_ptr(&mem, s.segs[1].paddr, s.segs[1].memsz));
	ck_assert_int_eq(load_spec(&s), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "beyond the boot identity map"));
}
END_TEST

START_TEST(detect_kinds)
{
	struct tspec s64 = default_spec(true), s32 = default_spec(false);
	size_t n64, n32;
	u8 *b64 = build(&s64, &n64), *b32 = build(&s32, &n32);

	ck_assert_int_eq(loader_detect(b64, n64), IMAGE_ELF64);
	ck_assert_int_eq(loader_detect(b32, n32), IMAGE_ELF32);
	ck_assert_int_eq(loader_detect(b64, sizeof(Elf64_Ehdr) - 1), IMAGE_UNKNOWN);
	ck_assert_int_eq(loader_detect(b32, sizeof(Elf32_Ehdr) - 1), IMAGE_UNKNOWN);
	ck_assert_int_eq(loader_detect(b32, sizeof(Elf32_Ehdr)), IMAGE_ELF32);
	ck_assert_int_eq(loader_detect(b64, 3), IMAGE_UNKNOWN);
	b64[EI_CLASS] = ELFCLASSNONE;
	ck_assert_int_eq(loader_detect(b64, n64), IMAGE_UNKNOWN);
	ck_assert_int_eq(loader_detect((const u8 *)"MZ\x90\0 not an elf, long enough to matter"
				       "..............................", 64), IMAGE_UNKNOWN);
	ck_assert_int_eq(loader_detect(NULL, 0), IMAGE_UNKNOWN);
	free(b64);
	free(b32);
}
END_TEST

/* ---- flat binaries ---- */

static u8 flat_img[0x10000];

static int load_flat(u64 addr, size_t size)
{
	return loader_load_flat(&mem, flat_img, size, addr, &bs, err, sizeof(err));
}

START_TEST(flat_loads)
{
	unsigned int i;

	for (i = 0; i < sizeof(flat_img); i++)
		flat_img[i] = (u8)(0xf0 ^ i);
	ck_assert_msg(load_flat(0x7c00, 100) == 0, "%s", err);
	ck_assert(memcmp(guest_mem_ptr(&mem, 0x7c00, 100), flat_img, 100) == 0);
	/* Nothing else written: no boot tables for real-mode guests. */
	ck_assert(ram_is(0, 0x7c00, 0));
	ck_assert(ram_is(0x7c00 + 100, 0x1000, 0));
	ck_assert_int_eq(bs.mode, BOOT_MODE_REAL);
	ck_assert_uint_eq(bs.real_cs, 0x7c0);
	ck_assert_uint_eq(bs.entry, 0);
	ck_assert_uint_eq(bs.stack, 0x7c00);

	/* The whole window, first and last byte included. */
	ck_assert_int_eq(load_flat(0x500, 16), 0);
	ck_assert_uint_eq(bs.real_cs, 0x50);
	ck_assert_int_eq(load_flat(0x90000, 0x10000), 0);
	ck_assert_uint_eq(bs.real_cs, 0x9000);
	ck_assert(memcmp(guest_mem_ptr(&mem, 0x90000, 0x10000), flat_img, 0x10000) == 0);
}
END_TEST

static const struct {
	u64 addr;
	size_t size;
	const char *msg;
} flat_bad[] = {
	{ 0x7c00, 0, "flat image is empty" },
	{ 0x7c01, 16, "flat load address 0x7c01 is not 16-byte aligned" },
	{ 0x7c08, 16, "not 16-byte aligned" },
	{ 0x400, 16, "flat image at 0x400 (16 bytes) must lie within [0x500, 0xa0000)" },
	{ 0x4f0, 0x100, "must lie within" },
	{ 0x90000, 0x10001, "must lie within" },
	{ 0xa0000, 16, "must lie within" },
	{ 0xfffffffffffffff0ULL, 16, "must lie within" },
	{ 0x7c00, SIZE_MAX, "must lie within" },	/* addr + size wraps */
};

START_TEST(flat_refused)
{
	ck_assert_int_eq(load_flat(flat_bad[_i].addr, flat_bad[_i].size), -EINVAL);
	ck_assert_msg(strstr(err, flat_bad[_i].msg), "'%s' lacks '%s'", err, flat_bad[_i].msg);
	ck_assert(ram_is(0, 1 << 20, 0));
}
END_TEST

START_TEST(flat_outside_ram)
{
	guest_mem_destroy(&mem);
	ck_assert_int_eq(guest_mem_init(&mem, 64 << 10), 0);
	ck_assert_int_eq(load_flat(0xfff0, 32), -EINVAL);
	ck_assert_str_eq(err, "flat image 0xfff0-0x10010 lies outside guest RAM (64 KiB)");
	ck_assert_int_eq(load_flat(0xffe0, 32), 0);
}
END_TEST

/* ---- loader_read_file ---- */

static char dir[] = "/tmp/trapeze-test-loader-XXXXXX";

static void file_setup(void)
{
	strcpy(dir, "/tmp/trapeze-test-loader-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	err[0] = '\0';
}

/* Removes what the tests may have created, then the directory itself. */
static void file_teardown(void)
{
	static const char *const names[] = { "kernel.elf", "empty", "fifo", "huge" };
	char path[128];
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(names); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		unlink(path);
	}
	ck_assert_int_eq(rmdir(dir), 0);
}

static int read_path(const char *path, u8 **buf, size_t *size)
{
	*buf = (u8 *)"poison";
	*size = 1;
	return loader_read_file(path, buf, size, err, sizeof(err));
}

/* Creates dir/name with len bytes of data (or a sparse file when data is NULL). */
static void make_file(char *path, size_t path_len, const char *name, const u8 *data, u64 len)
{
	FILE *f;

	snprintf(path, path_len, "%s/%s", dir, name);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	if (data)
		ck_assert_uint_eq(fwrite(data, 1, len, f), len);
	else
		ck_assert_int_eq(ftruncate(fileno(f), (off_t)len), 0);
	ck_assert_int_eq(fclose(f), 0);
}

START_TEST(read_good_file)
{
	char path[128], want[160];
	size_t n = 300000, size, i;
	u8 *data = malloc(n), *buf;

	for (i = 0; i < n; i++)
		data[i] = (u8)(i * 7 + (i >> 8));
	make_file(path, sizeof(path), "kernel.elf", data, n);
	ck_assert_int_eq(read_path(path, &buf, &size), 0);
	ck_assert_uint_eq(size, n);
	ck_assert(memcmp(buf, data, n) == 0);
	free(buf);

	make_file(path, sizeof(path), "empty", data, 0);
	ck_assert_int_eq(read_path(path, &buf, &size), -EINVAL);
	snprintf(want, sizeof(want), "kernel '%s' is empty", path);
	ck_assert_str_eq(err, want);
	ck_assert_ptr_null(buf);
	ck_assert_uint_eq(size, 0);
	free(data);
}
END_TEST

START_TEST(read_bad_paths)
{
	char path[128], want[200];
	size_t size;
	u8 *buf;

	snprintf(path, sizeof(path), "%s/missing", dir);
	ck_assert_int_eq(read_path(path, &buf, &size), -ENOENT);
	snprintf(want, sizeof(want), "kernel '%s': No such file or directory", path);
	ck_assert_str_eq(err, want);
	ck_assert_ptr_null(buf);

	ck_assert_int_eq(read_path(dir, &buf, &size), -EISDIR);
	snprintf(want, sizeof(want), "kernel '%s' is a directory", dir);
	ck_assert_str_eq(err, want);
	ck_assert_ptr_null(buf);

	/* A FIFO must be refused at once, not block waiting for a writer. */
	snprintf(path, sizeof(path), "%s/fifo", dir);
	ck_assert_int_eq(mkfifo(path, 0600), 0);
	ck_assert_int_eq(read_path(path, &buf, &size), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "is not a regular file"));
}
END_TEST

START_TEST(read_too_large)
{
	char path[128], want[200];
	size_t size;
	u8 *buf;

	/* Sparse: costs no disk, and the size is refused before any read. */
	make_file(path, sizeof(path), "huge", NULL, LOADER_MAX_IMAGE + 1);
	ck_assert_int_eq(read_path(path, &buf, &size), -EFBIG);
	snprintf(want, sizeof(want),
		 "kernel '%s' is too large (4294967297 bytes, limit 4 GiB)", path);
	ck_assert_str_eq(err, want);
	ck_assert_ptr_null(buf);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("loader");
	TCase *elf = tcase_create("elf"), *flat = tcase_create("flat");
	TCase *file = tcase_create("file");

	tcase_add_checked_fixture(elf, setup, teardown);
	tcase_add_test(elf, elf64_loads);
	tcase_add_test(elf, elf32_loads);
	tcase_add_test(elf, elf64_edges_accepted);
	tcase_add_loop_test(elf, elf_malformed, 0, ARRAY_SIZE(bad_cases));
	tcase_add_test(elf, elf_ram_too_small);
	tcase_add_test(elf, elf64_above_4g_refused);
	tcase_add_test(elf, detect_kinds);
	suite_add_tcase(s, elf);
	tcase_add_checked_fixture(flat, setup, teardown);
	tcase_add_test(flat, flat_loads);
	tcase_add_loop_test(flat, flat_refused, 0, ARRAY_SIZE(flat_bad));
	tcase_add_test(flat, flat_outside_ram);
	suite_add_tcase(s, flat);
	tcase_add_checked_fixture(file, file_setup, file_teardown);
	tcase_add_test(file, read_good_file);
	tcase_add_test(file, read_bad_paths);
	tcase_add_test(file, read_too_large);
	suite_add_tcase(s, file);

	return check_run(s);
}

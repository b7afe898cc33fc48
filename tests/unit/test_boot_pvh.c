/*
 * Unit tests for the PVH loader: ELF32/ELF64 images built in memory with
 * note segments (the Xen PHYS32_ENTRY note among others), checked for the
 * entry found, for what lands in guest RAM (segments, start info, memory
 * map, module list, command line) and for the one-line error of every
 * malformed note, segment or setting.
 */
#include <check.h>
#include <elf.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "boot_fixture.h"
#include "check_main.h"
#include "trapeze/arch/x86/boot_linux.h"
#include "trapeze/arch/x86/boot_tables.h"
#include "trapeze/arch/x86/e820.h"
#include "trapeze/arch/x86/layout.h"

#define ENTRY		0x1000040U
#define TEXT		0x1000000ULL
#define DATA		0x1200000ULL
#define TEXT_FILESZ	0x200
#define TEXT_MEMSZ	0x3000	/* the rest is bss */
#define DATA_SIZE	0x100
#define RSDP		0xe0000ULL

/* ---- note lists ---- */

struct notes {
	u8 buf[512];
	size_t len;
};

/* Appends one note; namesz may differ from the name's length to build bad ones. */
static void add_note(struct notes *n, const char *name, u32 namesz, u32 type,
		     const void *desc, u32 descsz, u32 align)
{
	u32 hdr[3] = { namesz, descsz, type };
	size_t name_pad = (namesz + align - 1) / align * align;
	size_t desc_pad = (descsz + align - 1) / align * align;

	ck_assert_uint_le(n->len + 12 + name_pad + desc_pad, sizeof(n->buf));
	memcpy(n->buf + n->len, hdr, 12);
	n->len += 12;
	memset(n->buf + n->len, 0, name_pad + desc_pad);
	memcpy(n->buf + n->len, name, strlen(name) + 1 < namesz ?
				       strlen(name) + 1 : namesz);
	n->len += name_pad;
	if (desc)
		memcpy(n->buf + n->len, desc, descsz);
	n->len += desc_pad;
}

/* Notes like vmlinux's: a GNU build id, Xen notes of other types, then the entry. */
static struct notes vmlinux_notes(bool desc64, u32 align)
{
	static const u8 build_id[20] = { 1, 2, 3, 4, 5 };
	static const char guest_os[] = "linux";	/* 6 bytes: needs padding */
	u64 entry64 = ENTRY;
	u32 entry32 = ENTRY;
	struct notes n = { .len = 0 };

	add_note(&n, "GNU", 4, NT_GNU_BUILD_ID, build_id, sizeof(build_id), align);
	add_note(&n, "Xen", 4, 6, guest_os, sizeof(guest_os), align);
	add_note(&n, "Xen", 4, 17, &entry32, 4, align);
	if (desc64)
		add_note(&n, "Xen", 4, 18, &entry64, 8, align);
	else
		add_note(&n, "Xen", 4, 18, &entry32, 4, align);
	return n;
}

/* ---- ELF images ---- */

struct tseg {
	u32 type, flags;
	u64 paddr, filesz, memsz, align;
	u64 offset;		/* 0: the builder places the bytes itself */
};

struct tspec {
	bool is64;
	u16 machine;
	unsigned int nsegs;
	struct tseg segs[4];
	struct notes notes;	/* the bytes of the first PT_NOTE segment */
	struct notes notes2;	/* and of any later one */
};

static u8 seg_byte(unsigned int i, u64 k)
{
	return (u8)(0x31 * (i + 1) + k);
}

/* Text (R+X) at 16 MiB with bss, data (R+W) at 18 MiB, then the notes. */
static struct tspec default_spec(bool is64)
{
	struct tspec s = {
		.is64 = is64,
		.machine = is64 ? EM_X86_64 : EM_386,
		.nsegs = 3,
		.segs = {
			{ PT_LOAD, PF_R | PF_X, TEXT, TEXT_FILESZ, TEXT_MEMSZ, 0x1000, 0 },
			{ PT_LOAD, PF_R | PF_W, DATA, DATA_SIZE, DATA_SIZE, 0x1000, 0 },
			{ PT_NOTE, PF_R, 0, 0, 0, 4, 0 },
		},
	};

	s.notes = vmlinux_notes(is64, 4);
	return s;
}

/* The note list of segment i: the first PT_NOTE segment gets notes, later ones notes2. */
static const struct notes *notes_of(const struct tspec *s, unsigned int i)
{
	unsigned int j;

	for (j = 0; j < i; j++)
		if (s->segs[j].type == PT_NOTE)
			return &s->notes2;
	return &s->notes;
}

static u8 *build(struct tspec *s, size_t *size)
{
	size_t ehsz = s->is64 ? sizeof(Elf64_Ehdr) : sizeof(Elf32_Ehdr);
	size_t phsz = s->is64 ? sizeof(Elf64_Phdr) : sizeof(Elf32_Phdr);
	size_t off = ehsz + s->nsegs * phsz, total;
	unsigned int i;
	u8 *buf;
	u64 k;

	/* Lay out file bytes: PT_NOTE segments take their note lists. */
	for (i = 0; i < s->nsegs; i++) {
		struct tseg *g = &s->segs[i];

		if (g->type == PT_NOTE && !g->filesz)
			g->filesz = g->memsz = notes_of(s, i)->len;
		if (!g->offset) {
			off = (off + 15) & ~(size_t)15;
			g->offset = off;
			off += g->filesz;
		}
	}
	total = off;
	buf = calloc(1, total);
	ck_assert_ptr_nonnull(buf);

	if (s->is64) {
		Elf64_Ehdr eh = { .e_type = ET_EXEC, .e_machine = s->machine,
			.e_version = EV_CURRENT, .e_entry = 0xffffffff81000000ULL,
			.e_phoff = ehsz, .e_ehsize = ehsz, .e_phentsize = phsz,
			.e_phnum = s->nsegs };

		memcpy(eh.e_ident, ELFMAG, SELFMAG);
		eh.e_ident[EI_CLASS] = ELFCLASS64;
		eh.e_ident[EI_DATA] = ELFDATA2LSB;
		eh.e_ident[EI_VERSION] = EV_CURRENT;
		memcpy(buf, &eh, sizeof(eh));
	} else {
		Elf32_Ehdr eh = { .e_type = ET_EXEC, .e_machine = s->machine,
			.e_version = EV_CURRENT, .e_entry = 0xc1000000U,
			.e_phoff = ehsz, .e_ehsize = ehsz, .e_phentsize = phsz,
			.e_phnum = s->nsegs };

		memcpy(eh.e_ident, ELFMAG, SELFMAG);
		eh.e_ident[EI_CLASS] = ELFCLASS32;
		eh.e_ident[EI_DATA] = ELFDATA2LSB;
		eh.e_ident[EI_VERSION] = EV_CURRENT;
		memcpy(buf, &eh, sizeof(eh));
	}

	for (i = 0; i < s->nsegs; i++) {
		const struct tseg *g = &s->segs[i];
		u8 *ph = buf + ehsz + i * phsz;

		if (s->is64) {
			Elf64_Phdr p = { g->type, g->flags, g->offset,
					 0xffffffff80000000ULL + g->paddr, g->paddr,
					 g->filesz, g->memsz, g->align };
			memcpy(ph, &p, sizeof(p));
		} else {
			Elf32_Phdr p = { g->type, (Elf32_Off)g->offset,
					 (Elf32_Addr)(0xc0000000U + g->paddr),
					 (Elf32_Addr)g->paddr, (Elf32_Word)g->filesz,
					 (Elf32_Word)g->memsz, g->flags,
					 (Elf32_Word)g->align };
			memcpy(ph, &p, sizeof(p));
		}
		/* File bytes only where they fit (some cases point past the end). */
		if (g->offset > total || g->filesz > total - g->offset)
			continue;
		if (g->type == PT_NOTE)
			memcpy(buf + g->offset, notes_of(s, i)->buf, g->filesz);
		else
			for (k = 0; k < g->filesz; k++)
				buf[g->offset + k] = seg_byte(i, k);
	}
	*size = total;
	return buf;
}

static int entry_of(struct tspec *s, u32 *entry)
{
	size_t size;
	u8 *img = build(s, &size);
	int ret = linux_pvh_entry(img, size, entry, err, sizeof(err));

	free(img);
	return ret;
}

static int load_spec(struct tspec *s, const u8 *initrd, size_t initrd_size,
		     const char *cmdline)
{
	size_t size;
	u8 *img = build(s, &size);
	struct linux_boot_args a = {
		.kernel = img, .kernel_size = size,
		.initrd = initrd, .initrd_size = initrd_size,
		.cmdline = cmdline, .rsdp_addr = RSDP,
	};
	int ret = linux_load_pvh(&mem, &a, &bs, err, sizeof(err));

	free(img);
	return ret;
}

/* ---- the note ---- */

START_TEST(entry_elf64_desc8)
{
	struct tspec s = default_spec(true);
	u32 entry = 0;

	ck_assert_int_eq(entry_of(&s, &entry), 0);
	ck_assert_uint_eq(entry, ENTRY);
}
END_TEST

START_TEST(entry_elf32_desc4)
{
	struct tspec s = default_spec(false);
	u32 entry = 0;

	ck_assert_int_eq(entry_of(&s, &entry), 0);
	ck_assert_uint_eq(entry, ENTRY);
}
END_TEST

START_TEST(entry_notes_aligned_8)
{
	struct tspec s = default_spec(true);
	u32 entry = 0;

	/* A PT_NOTE segment aligned to 8 pads names and descriptors to 8. */
	s.notes = vmlinux_notes(true, 8);
	s.segs[2].align = 8;
	ck_assert_int_eq(entry_of(&s, &entry), 0);
	ck_assert_uint_eq(entry, ENTRY);
}
END_TEST

START_TEST(entry_second_note_segment)
{
	struct tspec s = default_spec(true);
	u64 e = ENTRY;
	u32 entry = 0;

	/* The entry in a later PT_NOTE segment than the first. */
	s.notes.len = 0;
	add_note(&s.notes, "GNU", 4, NT_GNU_BUILD_ID, "abcd", 4, 4);
	add_note(&s.notes2, "Xen", 4, 18, &e, 8, 4);
	s.segs[3] = (struct tseg){ PT_NOTE, PF_R, 0, 0, 0, 4, 0 };
	s.nsegs = 4;
	ck_assert_int_eq(entry_of(&s, &entry), 0);
	ck_assert_uint_eq(entry, ENTRY);

	/* A bad note in the later segment fails the whole image. */
	s = default_spec(true);
	add_note(&s.notes2, "Xen", 4, 18, &e, 8, 4);
	s.notes2.len -= 1;
	s.segs[3] = (struct tseg){ PT_NOTE, PF_R, 0, 0, 0, 4, 0 };
	s.nsegs = 4;
	entry = 0;
	ck_assert_int_eq(entry_of(&s, &entry), -EINVAL);
	ck_assert_uint_eq(entry, 0);
}
END_TEST

START_TEST(entry_missing)
{
	struct tspec s = default_spec(true);
	u32 entry = 0, e32 = ENTRY;

	/* Only other notes: GNU, and Xen notes of other types. */
	s.notes.len = 0;
	add_note(&s.notes, "GNU", 4, NT_GNU_BUILD_ID, "abcdefgh", 8, 4);
	add_note(&s.notes, "Xen", 4, 17, &e32, 4, 4);
	/* Type 18 but named "Xe" or "Xenx": not the Xen note. */
	add_note(&s.notes, "Xe", 3, 18, &e32, 4, 4);
	add_note(&s.notes, "Xenx", 5, 18, &e32, 4, 4);
	ck_assert_int_eq(entry_of(&s, &entry), -ENOENT);
	ck_assert_str_eq(err, "ELF has no Xen PVH entry note (XEN_ELFNOTE_PHYS32_ENTRY): build the kernel with CONFIG_PVH=y");

	/* No PT_NOTE segment at all. */
	s = default_spec(true);
	s.nsegs = 2;
	ck_assert_int_eq(entry_of(&s, &entry), -ENOENT);
	ck_assert_uint_eq(entry, 0);
}
END_TEST

START_TEST(entry_malformed_notes)
{
	struct tspec s;
	u64 big = 0x100000000ULL;
	u32 entry = 0, e32 = ENTRY;
	u8 six[6] = { 0 };
	char want[200];

	/* namesz 0xffffffff: padded, it would wrap a u32. */
	s = default_spec(true);
	s.notes.len = 0;
	add_note(&s.notes, "Xen", 4, 18, &e32, 4, 4);
	memcpy(s.notes.buf, &(u32){ 0xffffffff }, 4);
	ck_assert_int_eq(entry_of(&s, &entry), -EINVAL);
	snprintf(want, sizeof(want), "ELF note at file offset 0x%llx: name (4294967295 bytes) and descriptor (4 bytes) run past the end of its PT_NOTE segment",
		 (unsigned long long)s.segs[2].offset);
	ck_assert_str_eq(err, want);

	/* descsz far beyond the segment. */
	s = default_spec(true);
	s.notes.len = 0;
	add_note(&s.notes, "Xen", 4, 18, &e32, 4, 4);
	memcpy(s.notes.buf + 4, &(u32){ 0xfffffff0 }, 4);
	ck_assert_int_eq(entry_of(&s, &entry), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "descriptor (4294967280 bytes) run past the end"));

	/* A descriptor one byte longer than what is left. */
	s = default_spec(true);
	s.notes.len = 0;
	add_note(&s.notes, "Xen", 4, 18, &e32, 4, 4);
	memcpy(s.notes.buf + 4, &(u32){ 5 }, 4);
	ck_assert_int_eq(entry_of(&s, &entry), -EINVAL);

	/* A segment too short for a note header. */
	s = default_spec(true);
	s.segs[2].filesz = s.segs[2].memsz = 8;
	ck_assert_int_eq(entry_of(&s, &entry), -EINVAL);
	snprintf(want, sizeof(want), "ELF note at file offset 0x%llx: truncated header (8 bytes left in its PT_NOTE segment)",
		 (unsigned long long)s.segs[2].offset);
	ck_assert_str_eq(err, want);

	/* Garbage after a good list: every note is checked, not just up to the entry. */
	s = default_spec(true);
	memset(s.notes.buf + s.notes.len, 0xff, 16);
	s.notes.len += 16;
	ck_assert_int_eq(entry_of(&s, &entry), -EINVAL);

	/* The entry note with a 6-byte descriptor. */
	s = default_spec(true);
	s.notes.len = 0;
	add_note(&s.notes, "Xen", 4, 18, six, 6, 4);
	ck_assert_int_eq(entry_of(&s, &entry), -EINVAL);
	ck_assert_str_eq(err, "Xen PHYS32_ENTRY note has a 6-byte descriptor (expected 4 or 8)");

	/* An 8-byte entry that is no 32-bit address. */
	s = default_spec(true);
	s.notes.len = 0;
	add_note(&s.notes, "Xen", 4, 18, &big, 8, 4);
	ck_assert_int_eq(entry_of(&s, &entry), -EINVAL);
	ck_assert_str_eq(err, "Xen PHYS32_ENTRY 0x100000000 is not a 32-bit address");

	/* The PT_NOTE segment runs past the end of the file. */
	s = default_spec(true);
	s.segs[2].offset = 0x200;
	s.segs[2].filesz = s.segs[2].memsz = 0x10000;
	ck_assert_int_eq(entry_of(&s, &entry), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "ELF segment 2: file bytes 0x200+0x10000 extend past the end of the file"));
	s.segs[2].offset = 0xffffffffffffff00ULL;
	s.segs[2].filesz = 0x200;
	ck_assert_int_eq(entry_of(&s, &entry), -EINVAL);
	ck_assert_uint_eq(entry, 0);
}
END_TEST

START_TEST(entry_not_an_x86_elf)
{
	struct tspec s = default_spec(true);
	u32 entry;
	size_t size;
	u8 *img;

	ck_assert_int_eq(linux_pvh_entry((const u8 *)"MZ\0\0", 4, &entry, err,
					 sizeof(err)), -ENOEXEC);
	ck_assert_str_eq(err, "not an ELF image (no \\177ELF magic)");
	ck_assert_int_eq(linux_pvh_entry(NULL, 0, &entry, err, sizeof(err)),
			 -ENOEXEC);

	s.machine = EM_AARCH64;
	ck_assert_int_eq(entry_of(&s, &entry), -ENOEXEC);
	ck_assert_str_eq(err, "ELF64 image for machine 183 is not an x86 kernel");

	/* Program headers past the end; a truncated ELF header. */
	s = default_spec(true);
	img = build(&s, &size);
	ck_assert_int_eq(linux_pvh_entry(img, sizeof(Elf64_Ehdr) + 8, &entry, err,
					 sizeof(err)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "ELF program headers"));
	ck_assert_int_eq(linux_pvh_entry(img, 40, &entry, err, sizeof(err)),
			 -EINVAL);
	ck_assert_str_eq(err, "truncated ELF header (40 bytes, need 64)");
	free(img);
}
END_TEST

/* ---- loading ---- */

START_TEST(pvh_loads)
{
	struct tspec s = default_spec(true);
	static const char cmdline[] = "console=ttyS0 clearcpuid=cx16 noxsave";
	const size_t initrd_size = 2 * MiB + 77;
	struct hvm_memmap_table_entry mm[4];
	struct hvm_modlist_entry mod;
	struct hvm_start_info si;
	char got[sizeof(cmdline)];
	u64 initrd_at, k;
	u8 *initrd;
	const u8 *p;

	initrd = malloc(initrd_size);
	ck_assert_ptr_nonnull(initrd);
	for (k = 0; k < initrd_size; k++)
		initrd[k] = (u8)(k * 13);
	/* Stale bytes where the bss goes: the loader must clear them. */
	memset(guest_mem_ptr(&mem, TEXT + TEXT_FILESZ, TEXT_MEMSZ - TEXT_FILESZ),
	       0xee, TEXT_MEMSZ - TEXT_FILESZ);

	ck_assert_int_eq(load_spec(&s, initrd, initrd_size, cmdline), 0);
	ck_assert_str_eq(err, "");

	ck_assert_int_eq(bs.mode, BOOT_MODE_PROT32);
	ck_assert_uint_eq(bs.entry, ENTRY);
	ck_assert_uint_eq(bs.rbx, X86_PVH_START_INFO);
	ck_assert_uint_eq(bs.rsi, 0);

	/* Segments at p_paddr (not p_vaddr), bss zeroed. */
	p = guest_mem_ptr(&mem, TEXT, TEXT_MEMSZ);
	for (k = 0; k < TEXT_FILESZ; k++)
		ck_assert_uint_eq(p[k], seg_byte(0, k));
	ck_assert(ram_is_zero(TEXT + TEXT_FILESZ, TEXT_MEMSZ - TEXT_FILESZ));
	p = guest_mem_ptr(&mem, DATA, DATA_SIZE);
	for (k = 0; k < DATA_SIZE; k++)
		ck_assert_uint_eq(p[k], seg_byte(1, k));

	ck_assert_int_eq(guest_mem_read(&mem, X86_PVH_START_INFO, &si, sizeof(si)), 0);
	ck_assert_uint_eq(si.magic, 0x336ec578);
	ck_assert_uint_eq(si.version, 1);
	ck_assert_uint_eq(si.flags, 0);
	ck_assert_uint_eq(si.cmdline_paddr, X86_CMDLINE);
	ck_assert_uint_eq(si.rsdp_paddr, RSDP);
	ck_assert_uint_eq(si.reserved, 0);

	/* One module, the initrd, as high as it goes below 64 MiB. */
	initrd_at = (64 * MiB - initrd_size) & ~0xfffULL;
	ck_assert_uint_eq(si.nr_modules, 1);
	ck_assert_uint_eq(si.modlist_paddr, X86_PVH_START_INFO + PVH_MODLIST_OFF);
	ck_assert_int_eq(guest_mem_read(&mem, si.modlist_paddr, &mod, sizeof(mod)), 0);
	ck_assert_uint_eq(mod.paddr, initrd_at);
	ck_assert_uint_eq(mod.size, initrd_size);
	ck_assert_uint_eq(mod.cmdline_paddr, 0);
	ck_assert_int_eq(memcmp(guest_mem_ptr(&mem, initrd_at, initrd_size),
				initrd, initrd_size), 0);

	/* The memory map, in hvm_memmap_table_entry form, right after. */
	ck_assert_uint_eq(si.memmap_paddr, X86_PVH_START_INFO + PVH_MEMMAP_OFF);
	ck_assert_uint_eq(si.memmap_entries, 3);
	ck_assert_int_eq(guest_mem_read(&mem, si.memmap_paddr, mm, sizeof(mm)), 0);
	ck_assert_uint_eq(mm[0].addr, 0);
	ck_assert_uint_eq(mm[0].size, X86_EBDA_START);
	ck_assert_uint_eq(mm[0].type, E820_RAM);
	ck_assert_uint_eq(mm[1].addr, X86_EBDA_START);
	ck_assert_uint_eq(mm[1].type, E820_RESERVED);
	ck_assert_uint_eq(mm[2].addr, 1 * MiB);
	ck_assert_uint_eq(mm[2].size, 63 * MiB);
	ck_assert_uint_eq(mm[2].type, E820_RAM);
	ck_assert_uint_eq(mm[2].reserved, 0);
	ck_assert_uint_eq(mm[3].size, 0);

	ck_assert_int_eq(guest_mem_read(&mem, X86_CMDLINE, got, sizeof(got)), 0);
	ck_assert_str_eq(got, cmdline);

	/* The boot GDT: flat 32-bit code at 0x10, flat data at 0x18. */
	{
		u64 gdt[4];

		ck_assert_int_eq(guest_mem_read(&mem, X86_BOOT_GDT, gdt, sizeof(gdt)), 0);
		ck_assert_uint_eq(gdt[X86_SEL_CODE32 >> 3], x86_gdt_entry(X86_SEL_CODE32 >> 3));
		ck_assert_uint_eq(gdt[X86_SEL_DATA >> 3], x86_gdt_entry(X86_SEL_DATA >> 3));
	}
	free(initrd);
}
END_TEST

START_TEST(pvh_loads_elf32_no_initrd)
{
	struct tspec s = default_spec(false);
	struct hvm_start_info si;

	ck_assert_int_eq(load_spec(&s, NULL, 0, NULL), 0);
	ck_assert_uint_eq(bs.entry, ENTRY);
	ck_assert_int_eq(guest_mem_read(&mem, X86_PVH_START_INFO, &si, sizeof(si)), 0);
	ck_assert_uint_eq(si.nr_modules, 0);
	ck_assert_uint_eq(si.modlist_paddr, 0);
	ck_assert_uint_eq(*(u8 *)guest_mem_ptr(&mem, X86_CMDLINE, 1), 0);
	ck_assert_uint_eq(*(u8 *)guest_mem_ptr(&mem, TEXT, 1), seg_byte(0, 0));
}
END_TEST

START_TEST(pvh_loads_6g)
{
	struct tspec s = default_spec(true);
	struct hvm_memmap_table_entry mm[4];
	struct hvm_modlist_entry mod;
	struct hvm_start_info si;
	u8 *initrd = calloc(1, 1 * MiB);

	/* The initrd stays below the hole; the map shows RAM above 4 GiB. */
	remap(6 * GiB);
	ck_assert_int_eq(load_spec(&s, initrd, 1 * MiB, ""), 0);
	ck_assert_int_eq(guest_mem_read(&mem, X86_PVH_START_INFO, &si, sizeof(si)), 0);
	ck_assert_int_eq(guest_mem_read(&mem, si.modlist_paddr, &mod, sizeof(mod)), 0);
	ck_assert_uint_eq(mod.paddr, 3 * GiB - 1 * MiB);
	ck_assert_uint_eq(si.memmap_entries, 4);
	ck_assert_int_eq(guest_mem_read(&mem, si.memmap_paddr, mm, sizeof(mm)), 0);
	ck_assert_uint_eq(mm[3].addr, 4 * GiB);
	ck_assert_uint_eq(mm[3].size, 3 * GiB);
	free(initrd);
}
END_TEST

START_TEST(pvh_initrd_below_kernel)
{
	struct tspec s = default_spec(true);
	struct hvm_modlist_entry mod;
	u8 *initrd = calloc(1, 8 * MiB);

	/* 24 MiB: no room above the kernel (16-18 MiB + data page) for 8 MiB. */
	remap(24 * MiB);
	ck_assert_int_eq(load_spec(&s, initrd, 8 * MiB, ""), 0);
	ck_assert_int_eq(guest_mem_read(&mem, X86_PVH_START_INFO + PVH_MODLIST_OFF,
					&mod, sizeof(mod)), 0);
	ck_assert_uint_eq(mod.paddr, TEXT - 8 * MiB);
	free(initrd);
}
END_TEST

/* ---- refusals: each leaves RAM untouched ---- */

enum pvh_bad { SEG_LOW, SEG_OVERLAP, SEG_OUTSIDE, SEG_FILESZ, SEG_PAST_EOF,
	       SEG_WRAP, ENTRY_IN_DATA, NO_LOAD, RAM_TINY, INITRD_BIG,
	       CMDLINE_LONG, SEG_IN_HOLE };

static const struct {
	const char *name;
	enum pvh_bad what;
	int ret;
	const char *msg;	/* NULL: checked by prefix below */
} pvh_bad_cases[] = {
	{ "segment below 1 MiB", SEG_LOW, -EINVAL,
	  "ELF segment at 0x9f000 overlaps trapeze's boot structures below 1 MiB" },
	{ "overlapping segments", SEG_OVERLAP, -EINVAL,
	  "ELF segments 0x1000000-0x1003000 and 0x1002000-0x1002100 overlap" },
	{ "segment past RAM", SEG_OUTSIDE, -EINVAL,
	  "ELF segment 0x3fff000-0x4000100 lies outside guest RAM below 3 GiB (64 MiB there)" },
	{ "filesz > memsz", SEG_FILESZ, -EINVAL,
	  "ELF segment 1: p_filesz 0x101 exceeds p_memsz 0x100" },
	{ "segment bytes past EOF", SEG_PAST_EOF, -EINVAL, NULL },
	{ "segment wraps", SEG_WRAP, -EINVAL,
	  "ELF segment 1: 0xfffffffffffff000 + 0x100000 wraps around the address space" },
	{ "entry in a data segment", ENTRY_IN_DATA, -EINVAL,
	  "PVH entry 0x1200010 is not inside a loaded executable segment" },
	{ "no PT_LOAD", NO_LOAD, -EINVAL, "ELF has no PT_LOAD segment" },
	{ "RAM below 2 MiB", RAM_TINY, -EINVAL,
	  "guest RAM (1024 KiB) is too small: Linux needs at least 2 MiB" },
	{ "initrd too big", INITRD_BIG, -EINVAL,
	  "initrd (62 MiB) does not fit in guest memory beside the kernel" },
	{ "command line too long", CMDLINE_LONG, -EINVAL,
	  "command line is 65536 bytes; this kernel accepts at most 65535" },
	{ "segment above the hole", SEG_IN_HOLE, -EINVAL,
	  "ELF segment 0x100000000-0x100001000 lies outside guest RAM below 3 GiB (3072 MiB there)" },
};

START_TEST(pvh_refused)
{
	struct tspec s = default_spec(true);
	size_t initrd_size = 0;
	char *cmdline = NULL;
	u8 *initrd = NULL;
	u64 entry = ENTRY;
	int ret;

	switch (pvh_bad_cases[_i].what) {
	case SEG_LOW: s.segs[1].paddr = 0x9f000; break;
	case SEG_OVERLAP: s.segs[1].paddr = TEXT + 0x2000; break;
	case SEG_OUTSIDE:
		s.segs[1].paddr = 64 * MiB - 0x1000;
		s.segs[1].memsz = 0x1100;
		break;
	case SEG_FILESZ: s.segs[1].filesz = DATA_SIZE + 1; break;
	case SEG_PAST_EOF: s.segs[1].offset = 0x10000; break;
	case SEG_WRAP:
		s.segs[1].paddr = 0xfffffffffffff000ULL;
		s.segs[1].memsz = 0x100000;
		break;
	case ENTRY_IN_DATA:
		entry = DATA + 0x10;
		s.notes.len = 0;
		add_note(&s.notes, "Xen", 4, 18, &entry, 8, 4);
		break;
	case NO_LOAD:
		s.segs[0].type = PT_NULL;
		s.segs[1].type = PT_NULL;
		break;
	case RAM_TINY: remap(1 * MiB); break;
	case INITRD_BIG:
		initrd_size = 62 * MiB;
		initrd = calloc(1, initrd_size);
		break;
	case CMDLINE_LONG:
		cmdline = malloc(X86_CMDLINE_MAX + 1);
		memset(cmdline, 'c', X86_CMDLINE_MAX);
		cmdline[X86_CMDLINE_MAX] = '\0';
		break;
	case SEG_IN_HOLE:
		remap(6 * GiB);
		s.segs[1].paddr = 4 * GiB;
		s.segs[1].memsz = s.segs[1].filesz = 0x1000;
		break;
	}

	ret = load_spec(&s, initrd, initrd_size, cmdline);
	ck_assert_msg(ret == pvh_bad_cases[_i].ret, "%s: got %d (%s)",
		      pvh_bad_cases[_i].name, ret, err);
	if (pvh_bad_cases[_i].msg)
		ck_assert_str_eq(err, pvh_bad_cases[_i].msg);
	else
		ck_assert_ptr_nonnull(strstr(err, "ELF segment 1: file bytes 0x10000+0x100 extend past the end of the file"));
	ck_assert(ram_is_zero(0, 1 * MiB));
	if (mem.regions[0].size > TEXT + TEXT_MEMSZ)
		ck_assert(ram_is_zero(TEXT, TEXT_MEMSZ));
	free(initrd);
	free(cmdline);
}
END_TEST

START_TEST(pvh_no_note_refused)
{
	struct tspec s = default_spec(true);

	s.nsegs = 2;
	ck_assert_int_eq(load_spec(&s, NULL, 0, ""), -ENOENT);
	ck_assert_ptr_nonnull(strstr(err, "no Xen PVH entry note"));
	ck_assert(ram_is_zero(0, 1 * MiB));
}
END_TEST

START_TEST(place_initrd)
{
	u64 a = 0;

	ck_assert_int_eq(linux_place_initrd(&mem, 0, 64 * MiB, TEXT, TEXT + MiB, &a), -EINVAL);
	/* Highest first, 4 KiB aligned, clipped to the limit. */
	ck_assert_int_eq(linux_place_initrd(&mem, 4097, 64 * MiB, TEXT, TEXT + MiB, &a), 0);
	ck_assert_uint_eq(a, 64 * MiB - 8192);
	ck_assert_int_eq(linux_place_initrd(&mem, 4096, 40 * MiB + 100, TEXT, TEXT + MiB, &a), 0);
	ck_assert_uint_eq(a, 40 * MiB - 4096);
	/* A limit beyond RAM is clipped to RAM. */
	ck_assert_int_eq(linux_place_initrd(&mem, 4096, UINT64_MAX, TEXT, TEXT + MiB, &a), 0);
	ck_assert_uint_eq(a, 64 * MiB - 4096);
	/* No room above the kernel: just below it, not below 1 MiB. */
	ck_assert_int_eq(linux_place_initrd(&mem, 8 * MiB, 20 * MiB, TEXT, 17 * MiB, &a), 0);
	ck_assert_uint_eq(a, 8 * MiB);
	ck_assert_int_eq(linux_place_initrd(&mem, 15 * MiB, 20 * MiB, TEXT, 17 * MiB, &a), 0);
	ck_assert_uint_eq(a, 1 * MiB);
	ck_assert_int_eq(linux_place_initrd(&mem, 15 * MiB + 1, 20 * MiB, TEXT, 17 * MiB, &a), -ENOSPC);
	ck_assert_int_eq(linux_place_initrd(&mem, UINT64_MAX, 64 * MiB, TEXT, 17 * MiB, &a), -ENOSPC);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("boot_pvh");
	TCase *note = tcase_create("note"), *load = tcase_create("load");

	tcase_add_test(note, entry_elf64_desc8);
	tcase_add_test(note, entry_elf32_desc4);
	tcase_add_test(note, entry_notes_aligned_8);
	tcase_add_test(note, entry_second_note_segment);
	tcase_add_test(note, entry_missing);
	tcase_add_test(note, entry_malformed_notes);
	tcase_add_test(note, entry_not_an_x86_elf);
	suite_add_tcase(s, note);

	tcase_add_checked_fixture(load, setup, teardown);
	tcase_set_timeout(load, 30);
	tcase_add_test(load, pvh_loads);
	tcase_add_test(load, pvh_loads_elf32_no_initrd);
	tcase_add_test(load, pvh_loads_6g);
	tcase_add_test(load, pvh_initrd_below_kernel);
	tcase_add_loop_test(load, pvh_refused, 0, ARRAY_SIZE(pvh_bad_cases));
	tcase_add_test(load, pvh_no_note_refused);
	tcase_add_test(load, place_initrd);
	suite_add_tcase(s, load);

	return check_run(s);
}

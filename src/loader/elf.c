/*
 * loader elf: ELF32 (EM_386) and ELF64 (EM_X86_64) executables.
 *
 * Segments are placed at their physical address p_paddr, not p_vaddr: that
 * is how kernels are linked (a higher-half kernel has p_vaddr
 * 0xffffffff81000000 but p_paddr 0x1000000), and the guest starts with
 * paging off or under an identity map, so e_entry must be a physical address
 * inside a loaded executable segment.
 *
 * The whole image is validated before a byte is written to guest RAM, so a
 * refused image leaves RAM untouched. Every check reads sizes and offsets
 * as hostile and is written so that no sum can wrap.
 */
#include <elf.h>
#include <errno.h>
#include <string.h>

#include "trapeze/arch/x86/boot_tables.h"
#include "trapeze/arch/x86/layout.h"
#include "trapeze/errmsg.h"
#include "trapeze/loader.h"

#define ELF_MAX_PHNUM	256
#define SZ_4G		0x100000000ULL

/*
 * The fields trapeze uses, independent of the ELF class. Headers are read
 * with memcpy (buf has no alignment promise) in host byte order, which is
 * little-endian: trapeze runs on x86 hosts only, and ELFDATA2LSB is checked.
 */
struct elf_image {
	bool is64;
	u16 type;
	u16 machine;
	u16 phentsize;
	u16 phnum;
	u64 entry;
	u64 phoff;
};

struct elf_seg {
	u32 type;
	u32 flags;
	u64 offset;
	u64 paddr;
	u64 filesz;
	u64 memsz;
};

/* Every checker below has err and err_len in scope. */
#define ERR(...) errmsg_set(err, err_len, __VA_ARGS__)

/* e_ident and the class-dependent header: -ENOEXEC for what is no x86 executable. */
static int elf_parse_ehdr(const u8 *buf, size_t size, struct elf_image *img,
			  char *err, size_t err_len)
{
	size_t need;

	if (size < EI_NIDENT || memcmp(buf, ELFMAG, SELFMAG) != 0) {
		ERR("not an ELF image (no \\177ELF magic)");
		return -ENOEXEC;
	}
	if (buf[EI_CLASS] != ELFCLASS32 && buf[EI_CLASS] != ELFCLASS64) {
		ERR("unknown ELF class %u", buf[EI_CLASS]);
		return -ENOEXEC;
	}
	img->is64 = buf[EI_CLASS] == ELFCLASS64;
	need = img->is64 ? sizeof(Elf64_Ehdr) : sizeof(Elf32_Ehdr);
	if (size < need) {
		ERR("truncated ELF header (%zu bytes, need %zu)", size, need);
		return -EINVAL;
	}
	if (buf[EI_DATA] != ELFDATA2LSB) {
		ERR("ELF data encoding %u not supported: x86 images are little-endian",
		    buf[EI_DATA]);
		return -ENOEXEC;
	}

	if (img->is64) {
		Elf64_Ehdr eh;

		memcpy(&eh, buf, sizeof(eh));
		img->type = eh.e_type;
		img->machine = eh.e_machine;
		img->phentsize = eh.e_phentsize;
		img->phnum = eh.e_phnum;
		img->entry = eh.e_entry;
		img->phoff = eh.e_phoff;
	} else {
		Elf32_Ehdr eh;

		memcpy(&eh, buf, sizeof(eh));
		img->type = eh.e_type;
		img->machine = eh.e_machine;
		img->phentsize = eh.e_phentsize;
		img->phnum = eh.e_phnum;
		img->entry = eh.e_entry;
		img->phoff = eh.e_phoff;
	}

	if (img->is64 && img->machine != EM_X86_64) {
		ERR("ELF64 image for machine %u: 64-bit images must be x86-64 (EM_X86_64)",
		    img->machine);
		return -ENOEXEC;
	}
	if (!img->is64 && img->machine != EM_386) {
		ERR("ELF32 image for machine %u: 32-bit images must be i386 (EM_386)",
		    img->machine);
		return -ENOEXEC;
	}
	if (img->type == ET_DYN) {
		ERR("position-independent ELF not supported (ET_DYN): link the image at a fixed address");
		return -ENOEXEC;
	}
	if (img->type != ET_EXEC) {
		ERR("ELF type %u is not an executable (ET_EXEC)", img->type);
		return -ENOEXEC;
	}
	return 0;
}

/* Where the program header table lies: inside the file, sane count and entry size. */
static int elf_check_phdrs(const struct elf_image *img, size_t size,
			   char *err, size_t err_len)
{
	size_t want = img->is64 ? sizeof(Elf64_Phdr) : sizeof(Elf32_Phdr);
	u64 table;

	if (img->phentsize != want) {
		ERR("ELF e_phentsize %u, expected %zu", img->phentsize, want);
		return -EINVAL;
	}
	if (img->phnum == 0) {
		ERR("ELF has no program headers");
		return -EINVAL;
	}
	if (img->phnum > ELF_MAX_PHNUM) {
		ERR("ELF has too many program headers (%u, limit %u)", img->phnum,
		    ELF_MAX_PHNUM);
		return -EINVAL;
	}
	/* table is at most 256 * 56 bytes: only phoff + table can wrap. */
	table = (u64)img->phnum * img->phentsize;
	if (img->phoff > size || table > size - img->phoff) {
		ERR("ELF program headers (offset 0x%llx, %llu bytes) extend past the end of the file (%zu bytes)",
		    ull(img->phoff), ull(table), size);
		return -EINVAL;
	}
	return 0;
}

/* Program header i, already known to lie inside buf. */
static void elf_read_seg(const struct elf_image *img, const u8 *buf,
			 unsigned int i, struct elf_seg *seg)
{
	const u8 *p = buf + img->phoff + (u64)i * img->phentsize;

	if (img->is64) {
		Elf64_Phdr ph;

		memcpy(&ph, p, sizeof(ph));
		seg->type = ph.p_type;
		seg->flags = ph.p_flags;
		seg->offset = ph.p_offset;
		seg->paddr = ph.p_paddr;
		seg->filesz = ph.p_filesz;
		seg->memsz = ph.p_memsz;
	} else {
		Elf32_Phdr ph;

		memcpy(&ph, p, sizeof(ph));
		seg->type = ph.p_type;
		seg->flags = ph.p_flags;
		seg->offset = ph.p_offset;
		seg->paddr = ph.p_paddr;
		seg->filesz = ph.p_filesz;
		seg->memsz = ph.p_memsz;
	}
}

/* A PT_LOAD segment that occupies guest memory (memsz 0 ones are skipped). */
static bool elf_seg_loaded(const struct elf_seg *seg)
{
	return seg->type == PT_LOAD && seg->memsz > 0;
}

/* One loaded segment: its file bytes exist, its memory is RAM trapeze may use. */
static int elf_check_seg(const struct guest_mem *mem, const struct elf_image *img,
			 const struct elf_seg *seg, unsigned int i, size_t size,
			 char *err, size_t err_len)
{
	u64 start = seg->paddr, end;

	if (seg->filesz > seg->memsz) {
		ERR("ELF segment %u: p_filesz 0x%llx exceeds p_memsz 0x%llx", i,
		    ull(seg->filesz), ull(seg->memsz));
		return -EINVAL;
	}
	if (seg->offset > size || seg->filesz > size - seg->offset) {
		ERR("ELF segment %u: file bytes 0x%llx+0x%llx extend past the end of the file (%zu bytes)",
		    i, ull(seg->offset), ull(seg->filesz), size);
		return -EINVAL;
	}
	if (seg->memsz > UINT64_MAX - start) {
		ERR("ELF segment %u: 0x%llx + 0x%llx wraps around the address space",
		    i, ull(start), ull(seg->memsz));
		return -EINVAL;
	}
	end = start + seg->memsz;
	if (start < X86_LOW_RESERVED_END) {
		ERR("ELF segment at 0x%llx overlaps trapeze's boot structures below 1 MiB",
		    ull(start));
		return -EINVAL;
	}
	/* Long mode starts under the 0..4 GiB identity map; ELF32 cannot address more. */
	if (end > SZ_4G) {
		ERR("ELF segment 0x%llx-0x%llx ends above 4 GiB, beyond %s", ull(start),
		    ull(end), img->is64 ? "the boot identity map" :
		    "the 32-bit address space");
		return -EINVAL;
	}
	if (start < GUEST_MEM_HOLE_END && end > GUEST_MEM_HOLE_START) {
		ERR("ELF segment 0x%llx-0x%llx lies in the 32-bit hole (3-4 GiB) reserved for devices",
		    ull(start), ull(end));
		return -EINVAL;
	}
	if (!guest_mem_ptr(mem, start, seg->memsz)) {
		ERR("ELF segment 0x%llx-0x%llx lies outside guest RAM (%llu MiB)",
		    ull(start), ull(end), ull(mem->ram_size >> 20));
		return -EINVAL;
	}
	return 0;
}

/* Every loaded segment valid, none overlapping another. */
static int elf_check_segs(const struct guest_mem *mem, const struct elf_image *img,
			  const u8 *buf, size_t size, char *err, size_t err_len)
{
	struct elf_seg a, b;
	unsigned int i, j, nr_load = 0;
	int ret;

	for (i = 0; i < img->phnum; i++) {
		elf_read_seg(img, buf, i, &a);
		if (a.type == PT_LOAD)
			nr_load++;
		if (!elf_seg_loaded(&a))
			continue;
		ret = elf_check_seg(mem, img, &a, i, size, err, err_len);
		if (ret)
			return ret;
		/* At most 256 headers: the quadratic scan is cheap. */
		for (j = 0; j < i; j++) {
			elf_read_seg(img, buf, j, &b);
			if (!elf_seg_loaded(&b))
				continue;
			if (a.paddr < b.paddr + b.memsz && b.paddr < a.paddr + a.memsz) {
				ERR("ELF segments 0x%llx-0x%llx and 0x%llx-0x%llx overlap",
				    ull(b.paddr), ull(b.paddr + b.memsz), ull(a.paddr),
				    ull(a.paddr + a.memsz));
				return -EINVAL;
			}
		}
	}
	if (!nr_load) {
		ERR("ELF has no PT_LOAD segment");
		return -EINVAL;
	}
	return 0;
}

/* e_entry inside a loaded segment marked executable (PF_X). */
static int elf_check_entry(const struct elf_image *img, const u8 *buf,
			   char *err, size_t err_len)
{
	struct elf_seg seg;
	unsigned int i;

	for (i = 0; i < img->phnum; i++) {
		elf_read_seg(img, buf, i, &seg);
		if (elf_seg_loaded(&seg) && (seg.flags & PF_X) &&
		    img->entry >= seg.paddr &&
		    img->entry - seg.paddr < seg.memsz)
			return 0;
	}
	ERR("ELF entry point 0x%llx is not inside a loaded executable segment",
	    ull(img->entry));
	return -EINVAL;
}

int loader_load_elf(const struct guest_mem *mem, const u8 *buf, size_t size,
		    struct boot_state *out, char *err, size_t err_len)
{
	struct elf_image img;
	struct elf_seg seg;
	unsigned int i;
	int ret;

	ret = elf_parse_ehdr(buf, size, &img, err, err_len);
	if (ret)
		return ret;
	ret = elf_check_phdrs(&img, size, err, err_len);
	if (ret)
		return ret;
	/* The GDT, page tables and stack all live in the first MiB. */
	if (!guest_mem_ptr(mem, 0, X86_LOW_RESERVED_END)) {
		ERR("guest RAM (%llu KiB) is too small: ELF guests need at least 1 MiB",
		    ull(mem->ram_size >> 10));
		return -EINVAL;
	}
	ret = elf_check_segs(mem, &img, buf, size, err, err_len);
	if (ret)
		return ret;
	ret = elf_check_entry(&img, buf, err, err_len);
	if (ret)
		return ret;

	/* Everything checked: nothing below can fail halfway through. */
	for (i = 0; i < img.phnum; i++) {
		u8 *dst;

		elf_read_seg(&img, buf, i, &seg);
		if (!elf_seg_loaded(&seg))
			continue;
		dst = guest_mem_ptr(mem, seg.paddr, seg.memsz);
		memcpy(dst, buf + seg.offset, seg.filesz);
		memset(dst + seg.filesz, 0, seg.memsz - seg.filesz);	/* bss */
	}
	ret = x86_write_boot_tables(mem);
	if (ret) {
		ERR("cannot write the boot GDT and page tables into guest RAM");
		return ret;
	}

	memset(out, 0, sizeof(*out));
	out->mode = img.is64 ? BOOT_MODE_LONG64 : BOOT_MODE_PROT32;
	out->entry = img.entry;
	out->stack = X86_BOOT_STACK_TOP;
	out->rsi = 0;
	out->rbx = 0;
	return 0;
}

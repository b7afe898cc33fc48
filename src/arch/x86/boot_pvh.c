/*
 * boot_pvh: an uncompressed Linux vmlinux entered through the Xen x86/HVM
 * direct boot ABI ("PVH", xen docs/misc/pvh.pandoc).
 *
 * The kernel advertises the ABI with an ELF note, name "Xen", type
 * XEN_ELFNOTE_PHYS32_ENTRY (18), whose descriptor is the physical address
 * of its 32-bit entry. The loader places the PT_LOAD segments at p_paddr
 * (vmlinux's e_entry is a virtual address and is not used), writes an
 * hvm_start_info, and starts the vCPU in flat 32-bit protected mode with
 * paging off and EBX = the start info's physical address.
 *
 * The whole image is validated before anything is written to guest RAM.
 */
#include <elf.h>
#include <errno.h>
#include <string.h>

#include "trapeze/arch/x86/boot_linux.h"
#include "trapeze/arch/x86/boot_tables.h"
#include "trapeze/arch/x86/e820.h"
#include "trapeze/arch/x86/layout.h"
#include "trapeze/errmsg.h"

#define XEN_ELFNOTE_PHYS32_ENTRY	18	/* xen/include/public/elfnote.h */
#define PVH_NOTE_NAME			"Xen"	/* with its NUL: namesz 4 */
#define PVH_NOTE_NAMESZ			4
#define ELF_NOTE_HDR			12	/* namesz, descsz, type: 3 x u32 */
#define PVH_MAX_PHNUM			256
#define PVH_START_INFO_SIZE		0x1000ULL

_Static_assert(PVH_MODLIST_OFF >= sizeof(struct hvm_start_info),
	       "PVH module list overlaps the start info");
_Static_assert(PVH_MEMMAP_OFF >= PVH_MODLIST_OFF + sizeof(struct hvm_modlist_entry),
	       "PVH memory map overlaps the module list");
_Static_assert(X86_PVH_START_INFO + PVH_START_INFO_SIZE <= X86_CMDLINE,
	       "PVH start info block overlaps the command line");

/* The ELF header fields used here, for either class. */
struct pvh_elf {
	bool is64;
	u16 phentsize;
	u16 phnum;
	u64 phoff;
};

struct pvh_seg {
	u32 type;
	u32 flags;
	u64 offset;
	u64 paddr;
	u64 filesz;
	u64 memsz;
	u64 align;
};

#define ERR(...) errmsg_set(err, err_len, __VA_ARGS__)

static u32 get_u32(const u8 *p)
{
	u32 v;

	memcpy(&v, p, sizeof(v));	/* x86 hosts: little-endian like the image */
	return v;
}

/* An x86 ELF executable with a program header table inside the file. */
static int pvh_parse_elf(const u8 *buf, size_t size, struct pvh_elf *img,
			 char *err, size_t err_len)
{
	u16 type, machine;
	size_t want;
	u64 table;

	if (!buf || size < EI_NIDENT || memcmp(buf, ELFMAG, SELFMAG) != 0) {
		ERR("not an ELF image (no \\177ELF magic)");
		return -ENOEXEC;
	}
	if (buf[EI_CLASS] != ELFCLASS32 && buf[EI_CLASS] != ELFCLASS64) {
		ERR("unknown ELF class %u", buf[EI_CLASS]);
		return -ENOEXEC;
	}
	img->is64 = buf[EI_CLASS] == ELFCLASS64;
	want = img->is64 ? sizeof(Elf64_Ehdr) : sizeof(Elf32_Ehdr);
	if (size < want) {
		ERR("truncated ELF header (%zu bytes, need %zu)", size, want);
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
		type = eh.e_type;
		machine = eh.e_machine;
		img->phentsize = eh.e_phentsize;
		img->phnum = eh.e_phnum;
		img->phoff = eh.e_phoff;
	} else {
		Elf32_Ehdr eh;

		memcpy(&eh, buf, sizeof(eh));
		type = eh.e_type;
		machine = eh.e_machine;
		img->phentsize = eh.e_phentsize;
		img->phnum = eh.e_phnum;
		img->phoff = eh.e_phoff;
	}
	if (machine != (img->is64 ? EM_X86_64 : EM_386)) {
		ERR("ELF%s image for machine %u is not an x86 kernel",
		    img->is64 ? "64" : "32", machine);
		return -ENOEXEC;
	}
	if (type != ET_EXEC) {
		ERR("ELF type %u is not an executable (ET_EXEC)", type);
		return -ENOEXEC;
	}

	want = img->is64 ? sizeof(Elf64_Phdr) : sizeof(Elf32_Phdr);
	if (img->phentsize != want) {
		ERR("ELF e_phentsize %u, expected %zu", img->phentsize, want);
		return -EINVAL;
	}
	if (!img->phnum || img->phnum > PVH_MAX_PHNUM) {
		ERR("ELF has %u program headers (1 to %u allowed)", img->phnum,
		    PVH_MAX_PHNUM);
		return -EINVAL;
	}
	table = (u64)img->phnum * img->phentsize;	/* at most 256 * 56 */
	if (img->phoff > size || table > size - img->phoff) {
		ERR("ELF program headers (offset 0x%llx, %llu bytes) extend past the end of the file (%zu bytes)",
		    ull(img->phoff), ull(table), size);
		return -EINVAL;
	}
	return 0;
}

/* Program header i, known to lie inside buf. */
static void pvh_read_seg(const struct pvh_elf *img, const u8 *buf,
			 unsigned int i, struct pvh_seg *seg)
{
	const u8 *p = buf + img->phoff + (u64)i * img->phentsize;

	if (img->is64) {
		Elf64_Phdr ph;

		memcpy(&ph, p, sizeof(ph));
		*seg = (struct pvh_seg){ ph.p_type, ph.p_flags, ph.p_offset,
					 ph.p_paddr, ph.p_filesz, ph.p_memsz,
					 ph.p_align };
	} else {
		Elf32_Phdr ph;

		memcpy(&ph, p, sizeof(ph));
		*seg = (struct pvh_seg){ ph.p_type, ph.p_flags, ph.p_offset,
					 ph.p_paddr, ph.p_filesz, ph.p_memsz,
					 ph.p_align };
	}
}

/* The file bytes of segment i lie inside the file. */
static int pvh_check_file_range(const struct pvh_seg *seg, unsigned int i,
				size_t size, char *err, size_t err_len)
{
	if (seg->offset > size || seg->filesz > size - seg->offset) {
		ERR("ELF segment %u: file bytes 0x%llx+0x%llx extend past the end of the file (%zu bytes)",
		    i, ull(seg->offset), ull(seg->filesz), size);
		return -EINVAL;
	}
	return 0;
}

/* x rounded up to a multiple of align (a power of two); x < 2^32 here. */
static u64 pad(u64 x, u64 align)
{
	return (x + align - 1) & ~(align - 1);
}

/*
 * Walks every note of one PT_NOTE segment (ELF gABI "Note Section": namesz,
 * descsz, type, then name and descriptor, each padded to the alignment),
 * recording the first PVH entry note in *entry. Every note must lie inside
 * the segment; a PVH note must have a 4- or 8-byte descriptor that holds a
 * 32-bit address.
 */
static int pvh_scan_notes(const u8 *buf, const struct pvh_seg *seg,
			  bool *found, u32 *entry, char *err, size_t err_len)
{
	/* Notes are 4-byte aligned, except in segments aligned to 8. */
	u64 align = seg->align == 8 ? 8 : 4;
	const u8 *notes = buf + seg->offset;
	u64 pos = 0, len = seg->filesz;

	while (pos < len) {
		u64 namesz, descsz, body, left = len - pos;
		const u8 *n = notes + pos;
		u32 type;

		if (left < ELF_NOTE_HDR) {
			ERR("ELF note at file offset 0x%llx: truncated header (%llu bytes left in its PT_NOTE segment)",
			    ull(seg->offset + pos), ull(left));
			return -EINVAL;
		}
		namesz = get_u32(n);
		descsz = get_u32(n + 4);
		type = get_u32(n + 8);
		/* Sums of two padded u32 values and 12: no u64 wrap. */
		body = pad(namesz, align) + descsz;
		if (body > left - ELF_NOTE_HDR) {
			ERR("ELF note at file offset 0x%llx: name (%llu bytes) and descriptor (%llu bytes) run past the end of its PT_NOTE segment",
			    ull(seg->offset + pos), ull(namesz), ull(descsz));
			return -EINVAL;
		}
		if (namesz == PVH_NOTE_NAMESZ &&
		    memcmp(n + ELF_NOTE_HDR, PVH_NOTE_NAME, PVH_NOTE_NAMESZ) == 0 &&
		    type == XEN_ELFNOTE_PHYS32_ENTRY) {
			const u8 *desc = n + ELF_NOTE_HDR + pad(namesz, align);
			u64 addr;

			if (descsz == 4) {
				addr = get_u32(desc);
			} else if (descsz == 8) {
				memcpy(&addr, desc, sizeof(addr));
			} else {
				ERR("Xen PHYS32_ENTRY note has a %llu-byte descriptor (expected 4 or 8)",
				    ull(descsz));
				return -EINVAL;
			}
			if (addr > UINT32_MAX) {
				ERR("Xen PHYS32_ENTRY 0x%llx is not a 32-bit address",
				    ull(addr));
				return -EINVAL;
			}
			if (!*found)
				*entry = (u32)addr;
			*found = true;
		}
		/* The last descriptor's padding may be left out. */
		pos += ELF_NOTE_HDR + pad(namesz, align) + pad(descsz, align);
	}
	return 0;
}

static int pvh_find_entry(const struct pvh_elf *img, const u8 *buf, size_t size,
			  u32 *entry, char *err, size_t err_len)
{
	struct pvh_seg seg;
	bool found = false;
	unsigned int i;
	u32 addr = 0;
	int ret;

	for (i = 0; i < img->phnum; i++) {
		pvh_read_seg(img, buf, i, &seg);
		if (seg.type != PT_NOTE)
			continue;
		ret = pvh_check_file_range(&seg, i, size, err, err_len);
		if (!ret)
			ret = pvh_scan_notes(buf, &seg, &found, &addr, err,
					     err_len);
		if (ret)
			return ret;
	}
	if (!found) {
		ERR("ELF has no Xen PVH entry note (XEN_ELFNOTE_PHYS32_ENTRY): build the kernel with CONFIG_PVH=y");
		return -ENOENT;
	}
	*entry = addr;	/* only once every note has passed */
	return 0;
}

int linux_pvh_entry(const u8 *elf, size_t size, u32 *entry, char *err,
		    size_t err_len)
{
	struct pvh_elf img;
	int ret;

	ret = pvh_parse_elf(elf, size, &img, err, err_len);
	if (ret)
		return ret;
	return pvh_find_entry(&img, elf, size, entry, err, err_len);
}

static bool pvh_seg_loaded(const struct pvh_seg *seg)
{
	return seg->type == PT_LOAD && seg->memsz > 0;
}

/*
 * One PT_LOAD segment: file bytes inside the file, memory at or above 1 MiB
 * (trapeze's boot data lies below) and inside RAM below the 32-bit hole (the
 * kernel starts with paging off in 32-bit mode).
 */
static int pvh_check_seg(const struct guest_mem *mem, const struct pvh_seg *seg,
			 unsigned int i, size_t size, char *err, size_t err_len)
{
	u64 ram_end = mem->regions[0].size;	/* region 0 starts at 0 (e820_build) */
	int ret;

	if (seg->filesz > seg->memsz) {
		ERR("ELF segment %u: p_filesz 0x%llx exceeds p_memsz 0x%llx", i,
		    ull(seg->filesz), ull(seg->memsz));
		return -EINVAL;
	}
	ret = pvh_check_file_range(seg, i, size, err, err_len);
	if (ret)
		return ret;
	if (seg->memsz > UINT64_MAX - seg->paddr) {
		ERR("ELF segment %u: 0x%llx + 0x%llx wraps around the address space",
		    i, ull(seg->paddr), ull(seg->memsz));
		return -EINVAL;
	}
	if (seg->paddr < X86_LOW_RESERVED_END) {
		ERR("ELF segment at 0x%llx overlaps trapeze's boot structures below 1 MiB",
		    ull(seg->paddr));
		return -EINVAL;
	}
	if (seg->paddr >= ram_end || seg->memsz > ram_end - seg->paddr) {
		ERR("ELF segment 0x%llx-0x%llx lies outside guest RAM below 3 GiB (%llu MiB there)",
		    ull(seg->paddr), ull(seg->paddr + seg->memsz),
		    ull(ram_end >> 20));
		return -EINVAL;
	}
	return 0;
}

/*
 * Every loaded segment valid and disjoint from the others, the entry inside
 * an executable one; [*lo, *hi) spans them all.
 */
static int pvh_check_segs(const struct guest_mem *mem, const struct pvh_elf *img,
			  const u8 *buf, size_t size, u32 entry, u64 *lo,
			  u64 *hi, char *err, size_t err_len)
{
	bool entry_ok = false;
	struct pvh_seg a, b;
	unsigned int i, j;
	int ret;

	*lo = UINT64_MAX;
	*hi = 0;
	for (i = 0; i < img->phnum; i++) {
		pvh_read_seg(img, buf, i, &a);
		if (!pvh_seg_loaded(&a))
			continue;
		ret = pvh_check_seg(mem, &a, i, size, err, err_len);
		if (ret)
			return ret;
		/* At most 256 headers: the quadratic scan is cheap. */
		for (j = 0; j < i; j++) {
			pvh_read_seg(img, buf, j, &b);
			if (pvh_seg_loaded(&b) && a.paddr < b.paddr + b.memsz &&
			    b.paddr < a.paddr + a.memsz) {
				ERR("ELF segments 0x%llx-0x%llx and 0x%llx-0x%llx overlap",
				    ull(b.paddr), ull(b.paddr + b.memsz),
				    ull(a.paddr), ull(a.paddr + a.memsz));
				return -EINVAL;
			}
		}
		if ((a.flags & PF_X) && entry >= a.paddr &&
		    entry - a.paddr < a.memsz)
			entry_ok = true;
		if (a.paddr < *lo)
			*lo = a.paddr;
		if (a.paddr + a.memsz > *hi)
			*hi = a.paddr + a.memsz;
	}
	if (*hi == 0) {
		ERR("ELF has no PT_LOAD segment");
		return -EINVAL;
	}
	if (!entry_ok) {
		ERR("PVH entry 0x%x is not inside a loaded executable segment",
		    entry);
		return -EINVAL;
	}
	return 0;
}

/* hvm_start_info, its module list and memory map, in one 4 KiB block. */
static int pvh_write_start_info(const struct guest_mem *mem,
				const struct linux_boot_args *a, u64 initrd,
				const struct e820_entry *map, unsigned int nr_map)
{
	u8 *block = guest_mem_ptr(mem, X86_PVH_START_INFO, PVH_START_INFO_SIZE);
	struct hvm_start_info si = {
		.magic = HVM_START_MAGIC,
		.version = HVM_START_VERSION,
		.cmdline_paddr = X86_CMDLINE,
		.rsdp_paddr = a->rsdp_addr,
		.memmap_paddr = X86_PVH_START_INFO + PVH_MEMMAP_OFF,
		.memmap_entries = nr_map,
	};
	unsigned int i;

	if (!block)
		return -EFAULT;
	memset(block, 0, PVH_START_INFO_SIZE);
	if (a->initrd_size) {
		struct hvm_modlist_entry mod = {
			.paddr = initrd,
			.size = a->initrd_size,
		};

		si.nr_modules = 1;
		si.modlist_paddr = X86_PVH_START_INFO + PVH_MODLIST_OFF;
		memcpy(block + PVH_MODLIST_OFF, &mod, sizeof(mod));
	}
	for (i = 0; i < nr_map; i++) {
		struct hvm_memmap_table_entry e = {
			.addr = map[i].addr,
			.size = map[i].size,
			.type = map[i].type,
		};

		memcpy(block + PVH_MEMMAP_OFF + i * sizeof(e), &e, sizeof(e));
	}
	memcpy(block, &si, sizeof(si));
	return 0;
}

/* Copies every loaded segment to p_paddr and zeroes its bss. Already checked. */
static void pvh_copy_segs(const struct guest_mem *mem, const struct pvh_elf *img,
			  const u8 *buf)
{
	struct pvh_seg seg;
	unsigned int i;

	for (i = 0; i < img->phnum; i++) {
		u8 *dst;

		pvh_read_seg(img, buf, i, &seg);
		if (!pvh_seg_loaded(&seg))
			continue;
		dst = guest_mem_ptr(mem, seg.paddr, seg.memsz);
		memcpy(dst, buf + seg.offset, seg.filesz);
		memset(dst + seg.filesz, 0, seg.memsz - seg.filesz);
	}
}

int linux_load_pvh(const struct guest_mem *mem, const struct linux_boot_args *a,
		   struct boot_state *bs, char *err, size_t err_len)
{
	struct e820_entry map[PVH_MEMMAP_MAX];
	const char *cmdline = a->cmdline ? a->cmdline : "";
	size_t cmdline_len = strlen(cmdline);
	u64 lo, hi, initrd = 0;
	struct pvh_elf img;
	int nr_map, ret;
	u32 entry;

	ret = pvh_parse_elf(a->kernel, a->kernel_size, &img, err, err_len);
	if (ret)
		return ret;
	ret = pvh_find_entry(&img, a->kernel, a->kernel_size, &entry, err,
			     err_len);
	if (ret)
		return ret;
	if (cmdline_len >= X86_CMDLINE_MAX) {
		ERR("command line is %zu bytes; this kernel accepts at most %llu",
		    cmdline_len, ull(X86_CMDLINE_MAX - 1));
		return -EINVAL;
	}
	nr_map = e820_build(mem, map, ARRAY_SIZE(map));
	if (nr_map < 0) {
		ERR("guest RAM (%llu KiB) is too small: Linux needs at least %llu MiB",
		    ull(mem->ram_size >> 10), ull(E820_MIN_RAM >> 20));
		return -EINVAL;
	}
	ret = pvh_check_segs(mem, &img, a->kernel, a->kernel_size, entry, &lo,
			     &hi, err, err_len);
	if (ret)
		return ret;
	if (a->initrd_size && !a->initrd) {
		ERR("initrd size given without initrd data");
		return -EINVAL;
	}
	if (a->initrd_size &&
	    linux_place_initrd(mem, a->initrd_size, GUEST_MEM_HOLE_START, lo,
			       hi, &initrd)) {
		ERR("initrd (%llu MiB) does not fit in guest memory beside the kernel",
		    ull((a->initrd_size + (1U << 20) - 1) >> 20));
		return -EINVAL;
	}

	/* All checked: what follows writes only RAM validated above. */
	ret = x86_write_boot_tables(mem);
	if (!ret)
		ret = pvh_write_start_info(mem, a, initrd, map,
					   (unsigned int)nr_map);
	if (!ret)
		ret = guest_mem_write(mem, X86_CMDLINE, cmdline, cmdline_len + 1);
	if (!ret && a->initrd_size)
		ret = guest_mem_write(mem, initrd, a->initrd, a->initrd_size);
	if (ret) {
		ERR("cannot write the kernel's boot data into guest RAM");
		return ret;
	}
	pvh_copy_segs(mem, &img, a->kernel);

	memset(bs, 0, sizeof(*bs));
	bs->mode = BOOT_MODE_PROT32;	/* flat 4 GiB segments, paging off */
	bs->entry = entry;
	bs->rbx = X86_PVH_START_INFO;	/* the ABI: EBX = start info address */
	bs->stack = X86_BOOT_STACK_TOP;	/* the ABI leaves ESP unspecified */
	return 0;
}

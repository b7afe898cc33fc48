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
#include "trapeze/elf_parse.h"
#include "trapeze/errmsg.h"

#define XEN_ELFNOTE_PHYS32_ENTRY	18	/* xen/include/public/elfnote.h */
#define PVH_NOTE_NAME			"Xen"	/* with its NUL: namesz 4 */
#define PVH_NOTE_NAMESZ			4
#define ELF_NOTE_HDR			12	/* namesz, descsz, type: 3 x u32 */
#define PVH_START_INFO_SIZE		0x1000ULL

_Static_assert(PVH_MODLIST_OFF >= sizeof(struct hvm_start_info),
	       "PVH module list overlaps the start info");
_Static_assert(PVH_MEMMAP_OFF >= PVH_MODLIST_OFF + sizeof(struct hvm_modlist_entry),
	       "PVH memory map overlaps the module list");
_Static_assert(X86_PVH_START_INFO + PVH_START_INFO_SIZE <= X86_CMDLINE,
	       "PVH start info block overlaps the command line");

#define ERR(...) errmsg_set(err, err_len, __VA_ARGS__)

static u32 get_u32(const u8 *p)
{
	u32 v;

	memcpy(&v, p, sizeof(v));	/* x86 hosts: little-endian like the image */
	return v;
}

/* An x86 ELF executable with a program header table inside the file. */
static int pvh_parse_elf(const u8 *buf, size_t size, struct elf_image *img,
			 char *err, size_t err_len)
{
	int ret;

	ret = elf_parse_header(buf, size, img, err, err_len);
	if (ret)
		return ret;
	if (!elf_machine_is_x86(img)) {
		ERR("ELF%s image for machine %u is not an x86 kernel",
		    img->is64 ? "64" : "32", img->machine);
		return -ENOEXEC;
	}
	ret = elf_check_exec_type(img, err, err_len);
	if (!ret)
		ret = elf_check_phentsize(img, err, err_len);
	if (ret)
		return ret;
	if (!img->phnum || img->phnum > ELF_MAX_PHNUM) {
		ERR("ELF has %u program headers (1 to %u allowed)", img->phnum,
		    ELF_MAX_PHNUM);
		return -EINVAL;
	}
	return elf_check_phtable(img, err, err_len);
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
static int pvh_scan_notes(const u8 *buf, const struct elf_seg *seg,
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

static int pvh_find_entry(const struct elf_image *img, u32 *entry, char *err,
			  size_t err_len)
{
	struct elf_seg seg;
	bool found = false;
	unsigned int i;
	u32 addr = 0;
	int ret;

	for (i = 0; i < img->phnum; i++) {
		elf_read_seg(img, i, &seg);
		if (seg.type != PT_NOTE)
			continue;
		ret = elf_check_seg_file(img, &seg, i, err, err_len);
		if (!ret)
			ret = pvh_scan_notes(img->buf, &seg, &found, &addr, err,
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
	struct elf_image img;
	int ret;

	ret = pvh_parse_elf(elf, size, &img, err, err_len);
	if (ret)
		return ret;
	return pvh_find_entry(&img, entry, err, err_len);
}

/* What pvh_place_seg needs, and the span [lo, hi) of the loaded segments. */
struct pvh_place {
	const struct guest_mem *mem;
	u64 lo, hi;
};

/*
 * A loaded segment lies inside RAM below the 32-bit hole (the kernel starts
 * with paging off in 32-bit mode); elf_check_loaded_segs has checked the
 * rest (file bytes, no wrap, at or above 1 MiB).
 */
static int pvh_place_seg(void *ctx, const struct elf_seg *seg, char *err,
			 size_t err_len)
{
	struct pvh_place *p = ctx;
	u64 ram_end = p->mem->regions[0].size;	/* region 0 starts at 0 (e820_build) */

	if (seg->paddr >= ram_end || seg->memsz > ram_end - seg->paddr) {
		ERR("ELF segment 0x%llx-0x%llx lies outside guest RAM below 3 GiB (%llu MiB there)",
		    ull(seg->paddr), ull(seg->paddr + seg->memsz),
		    ull(ram_end >> 20));
		return -EINVAL;
	}
	if (seg->paddr < p->lo)
		p->lo = seg->paddr;
	if (seg->paddr + seg->memsz > p->hi)
		p->hi = seg->paddr + seg->memsz;
	return 0;
}

/*
 * Every loaded segment valid and disjoint from the others, the entry inside
 * an executable one; [*lo, *hi) spans them all.
 */
static int pvh_check_segs(const struct guest_mem *mem,
			  const struct elf_image *img, u32 entry, u64 *lo,
			  u64 *hi, char *err, size_t err_len)
{
	struct pvh_place place = { .mem = mem, .lo = UINT64_MAX, .hi = 0 };
	int ret;

	ret = elf_check_loaded_segs(img, pvh_place_seg, &place, err, err_len);
	if (ret)
		return ret;
	if (place.hi == 0) {
		ERR("ELF has no PT_LOAD segment");
		return -EINVAL;
	}
	if (!elf_entry_in_exec_seg(img, entry)) {
		ERR("PVH entry 0x%x is not inside a loaded executable segment",
		    entry);
		return -EINVAL;
	}
	*lo = place.lo;
	*hi = place.hi;
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

int linux_load_pvh(const struct guest_mem *mem, const struct linux_boot_args *a,
		   struct boot_state *bs, char *err, size_t err_len)
{
	struct e820_entry map[PVH_MEMMAP_MAX];
	const char *cmdline = a->cmdline ? a->cmdline : "";
	size_t cmdline_len = strlen(cmdline);
	u64 lo, hi, initrd = 0;
	struct elf_image img;
	int nr_map, ret;
	u32 entry;

	ret = pvh_parse_elf(a->kernel, a->kernel_size, &img, err, err_len);
	if (ret)
		return ret;
	ret = pvh_find_entry(&img, &entry, err, err_len);
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
	ret = pvh_check_segs(mem, &img, entry, &lo, &hi, err, err_len);
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
	elf_copy_loaded_segs(mem, &img);

	memset(bs, 0, sizeof(*bs));
	bs->mode = BOOT_MODE_PROT32;	/* flat 4 GiB segments, paging off */
	bs->entry = entry;
	bs->rbx = X86_PVH_START_INFO;	/* the ABI: EBX = start info address */
	bs->stack = X86_BOOT_STACK_TOP;	/* the ABI leaves ESP unspecified */
	return 0;
}

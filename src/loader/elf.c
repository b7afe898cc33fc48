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
 * refused image leaves RAM untouched. Parsing and the checks every x86 ELF
 * loader makes are in elf_parse.c; this file adds what a plain ELF guest
 * needs: its segments under the boot identity map and in RAM, the entry
 * point, and the boot GDT and page tables.
 */
#include <elf.h>
#include <errno.h>
#include <string.h>

#include "trapeze/arch/x86/boot_tables.h"
#include "trapeze/arch/x86/layout.h"
#include "trapeze/elf_parse.h"
#include "trapeze/errmsg.h"
#include "trapeze/loader.h"

#define SZ_4G		0x100000000ULL

/* Every checker below has err and err_len in scope. */
#define ERR(...) errmsg_set(err, err_len, __VA_ARGS__)

/* ELF header and program header table: -ENOEXEC for what is no x86 executable. */
static int elf_parse(const u8 *buf, size_t size, struct elf_image *img,
		     char *err, size_t err_len)
{
	int ret;

	ret = elf_parse_header(buf, size, img, err, err_len);
	if (ret)
		return ret;
	if (img->is64 && !elf_machine_is_x86(img)) {
		ERR("ELF64 image for machine %u: 64-bit images must be x86-64 (EM_X86_64)",
		    img->machine);
		return -ENOEXEC;
	}
	if (!img->is64 && !elf_machine_is_x86(img)) {
		ERR("ELF32 image for machine %u: 32-bit images must be i386 (EM_386)",
		    img->machine);
		return -ENOEXEC;
	}
	if (img->type == ET_DYN) {
		ERR("position-independent ELF not supported (ET_DYN): link the image at a fixed address");
		return -ENOEXEC;
	}
	ret = elf_check_exec_type(img, err, err_len);
	if (ret)
		return ret;

	ret = elf_check_phentsize(img, err, err_len);
	if (ret)
		return ret;
	if (img->phnum == 0) {
		ERR("ELF has no program headers");
		return -EINVAL;
	}
	if (img->phnum > ELF_MAX_PHNUM) {
		ERR("ELF has too many program headers (%u, limit %u)", img->phnum,
		    ELF_MAX_PHNUM);
		return -EINVAL;
	}
	return elf_check_phtable(img, err, err_len);
}

/* What elf_place_seg needs to know. */
struct elf_place {
	const struct guest_mem *mem;
	bool is64;
};

/* A loaded segment's memory is RAM trapeze may use (elf_check_loaded_segs rule). */
static int elf_place_seg(void *ctx, const struct elf_seg *seg, char *err,
			 size_t err_len)
{
	const struct elf_place *p = ctx;
	u64 start = seg->paddr, end = start + seg->memsz;	/* checked: no wrap */

	/* Long mode starts under the 0..4 GiB identity map; ELF32 cannot address more. */
	if (end > SZ_4G) {
		ERR("ELF segment 0x%llx-0x%llx ends above 4 GiB, beyond %s", ull(start),
		    ull(end), p->is64 ? "the boot identity map" :
		    "the 32-bit address space");
		return -EINVAL;
	}
	if (start < GUEST_MEM_HOLE_END && end > GUEST_MEM_HOLE_START) {
		ERR("ELF segment 0x%llx-0x%llx lies in the 32-bit hole (3-4 GiB) reserved for devices",
		    ull(start), ull(end));
		return -EINVAL;
	}
	if (!guest_mem_ptr(p->mem, start, seg->memsz)) {
		ERR("ELF segment 0x%llx-0x%llx lies outside guest RAM (%llu MiB)",
		    ull(start), ull(end), ull(p->mem->ram_size >> 20));
		return -EINVAL;
	}
	return 0;
}

int loader_load_elf(const struct guest_mem *mem, const u8 *buf, size_t size,
		    struct boot_state *out, char *err, size_t err_len)
{
	struct elf_place place;
	struct elf_image img;
	int ret;

	ret = elf_parse(buf, size, &img, err, err_len);
	if (ret)
		return ret;
	/* The GDT, page tables and stack all live in the first MiB. */
	if (!guest_mem_ptr(mem, 0, X86_LOW_RESERVED_END)) {
		ERR("guest RAM (%llu KiB) is too small: ELF guests need at least 1 MiB",
		    ull(mem->ram_size >> 10));
		return -EINVAL;
	}
	place = (struct elf_place){ .mem = mem, .is64 = img.is64 };
	ret = elf_check_loaded_segs(&img, elf_place_seg, &place, err, err_len);
	if (ret)
		return ret;
	if (!elf_count_segs(&img, PT_LOAD)) {
		ERR("ELF has no PT_LOAD segment");
		return -EINVAL;
	}
	if (!elf_entry_in_exec_seg(&img, img.entry)) {
		ERR("ELF entry point 0x%llx is not inside a loaded executable segment",
		    ull(img.entry));
		return -EINVAL;
	}

	/* Everything checked: nothing below can fail halfway through. */
	elf_copy_loaded_segs(mem, &img);
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

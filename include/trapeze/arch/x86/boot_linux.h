/*
 * boot_linux: loading a stock Linux kernel without firmware.
 *
 * Two ways in:
 *   bzImage  the Linux/x86 64-bit boot protocol (Documentation/arch/x86/
 *            boot.rst): the protected-mode kernel is placed at its preferred
 *            address, a zero page (struct boot_params) at X86_ZERO_PAGE, and
 *            the vCPU starts in long mode at load address + 0x200 with RSI
 *            pointing at the zero page (BOOT_MODE_LINUX64).
 *   PVH      the Xen x86/HVM direct boot ABI (xen docs/misc/pvh.pandoc): an
 *            uncompressed vmlinux ELF whose XEN_ELFNOTE_PHYS32_ENTRY note
 *            names a 32-bit entry; an hvm_start_info at X86_PVH_START_INFO,
 *            EBX pointing at it, flat protected mode, paging off
 *            (BOOT_MODE_PROT32).
 *
 * Both write the boot GDT (and page tables) at X86_BOOT_GDT, the command line
 * at X86_CMDLINE, an e820 map (arch/x86/e820.h) and the initrd, placed as high
 * in RAM below the 32-bit hole as the kernel allows. Every header field of
 * the image is hostile: all sizes and offsets are checked, with overflow,
 * before a byte is written to guest RAM, and each refusal is one line in err.
 */
#ifndef TRAPEZE_ARCH_X86_BOOT_LINUX_H
#define TRAPEZE_ARCH_X86_BOOT_LINUX_H

#include "trapeze/guest_mem.h"
#include "trapeze/loader.h"
#include "trapeze/types.h"

struct linux_boot_args {
	const u8 *kernel;	/* bzImage, or vmlinux ELF for PVH */
	size_t kernel_size;
	const u8 *initrd;	/* may be NULL when initrd_size is 0 */
	size_t initrd_size;
	const char *cmdline;	/* the whole command line; NULL means empty */
	u64 rsdp_addr;		/* guest-physical ACPI RSDP, 0 if no ACPI */
};

/*
 * The PVH start info and what it points to (Xen public header
 * arch-x86/hvm/start_info.h; little-endian, naturally aligned, no padding).
 * Version 1 adds the memory map fields.
 */
#define HVM_START_MAGIC		0x336ec578U
#define HVM_START_VERSION	1

struct hvm_start_info {
	u32 magic;		/* HVM_START_MAGIC */
	u32 version;		/* HVM_START_VERSION */
	u32 flags;		/* SIF_xxx; 0 here */
	u32 nr_modules;		/* entries at modlist_paddr */
	u64 modlist_paddr;	/* struct hvm_modlist_entry[nr_modules] */
	u64 cmdline_paddr;	/* NUL-terminated kernel command line */
	u64 rsdp_paddr;		/* ACPI RSDP, 0 if none */
	u64 memmap_paddr;	/* struct hvm_memmap_table_entry[memmap_entries] */
	u32 memmap_entries;
	u32 reserved;		/* must be 0 */
};

struct hvm_modlist_entry {
	u64 paddr;		/* module (the initrd) */
	u64 size;
	u64 cmdline_paddr;	/* 0: no module command line */
	u64 reserved;
};

/* type uses the e820 values (XEN_HVM_MEMMAP_TYPE_RAM 1, _RESERVED 2, _ACPI 3). */
struct hvm_memmap_table_entry {
	u64 addr;
	u64 size;
	u32 type;
	u32 reserved;
};

_Static_assert(sizeof(struct hvm_start_info) == 56, "hvm_start_info size");
_Static_assert(offsetof(struct hvm_start_info, modlist_paddr) == 16,
	       "hvm_start_info.modlist_paddr");
_Static_assert(offsetof(struct hvm_start_info, rsdp_paddr) == 32,
	       "hvm_start_info.rsdp_paddr");
_Static_assert(offsetof(struct hvm_start_info, memmap_paddr) == 40,
	       "hvm_start_info.memmap_paddr");
_Static_assert(offsetof(struct hvm_start_info, memmap_entries) == 48,
	       "hvm_start_info.memmap_entries");
_Static_assert(sizeof(struct hvm_modlist_entry) == 32, "hvm_modlist_entry size");
_Static_assert(sizeof(struct hvm_memmap_table_entry) == 24,
	       "hvm_memmap_table_entry size");

/* Inside the 4 KiB at X86_PVH_START_INFO: start info, one module, memory map. */
#define PVH_MODLIST_OFF		0x40
#define PVH_MEMMAP_OFF		0x80
#define PVH_MEMMAP_MAX		((0x1000 - PVH_MEMMAP_OFF) / \
				 sizeof(struct hvm_memmap_table_entry))

/* True when buf holds a bzImage: boot flag 0xAA55 at 0x1fe and "HdrS" at 0x202. */
bool linux_is_bzimage(const u8 *buf, size_t size);

/*
 * Loads a bzImage for the 64-bit boot protocol (needs protocol 2.12+ and
 * XLF_KERNEL_64). Returns 0 with *bs filled, -ENOEXEC when buf is no
 * bzImage, -EINVAL for a malformed or unsupported image, a command line or
 * initrd that does not fit, or guest RAM too small for the kernel; err holds
 * one line saying which.
 */
int linux_load_bzimage(const struct guest_mem *mem,
		       const struct linux_boot_args *a, struct boot_state *bs,
		       char *err, size_t err_len);

/*
 * The compressed kernel inside a bzImage (setup_header payload_offset and
 * payload_length, protocol 2.08+), for decompression on the host. *payload
 * points into buf. 0, -ENOEXEC (no bzImage) or -EINVAL.
 */
int linux_bzimage_payload(const u8 *buf, size_t size, const u8 **payload,
			  size_t *len, char *err, size_t err_len);

/*
 * The PVH entry point: the XEN_ELFNOTE_PHYS32_ENTRY note (name "Xen", type
 * 18, a 4- or 8-byte descriptor) in a PT_NOTE segment of an ELF32/ELF64
 * x86 executable. Every note in every PT_NOTE segment is checked.
 * 0 with *entry set, -ENOENT when the image has no such note, -ENOEXEC when
 * buf is no x86 ELF executable, -EINVAL for malformed headers or notes.
 */
int linux_pvh_entry(const u8 *elf, size_t size, u32 *entry, char *err,
		    size_t err_len);

/*
 * Where an initrd of size bytes goes, shared by both loaders: the highest
 * 4 KiB-aligned address such that [addr, addr + size) lies in RAM region 0,
 * at or above 1 MiB, ends at or below limit, and stays clear of
 * [avoid_start, avoid_end) (the kernel). Above the kernel if it fits there,
 * else below it. 0 with *addr set, -EINVAL for size 0, -ENOSPC if no room.
 */
int linux_place_initrd(const struct guest_mem *mem, u64 size, u64 limit,
		       u64 avoid_start, u64 avoid_end, u64 *addr);

/*
 * Loads a vmlinux with a PVH note: its PT_LOAD segments at p_paddr (at or
 * above 1 MiB, below the 32-bit hole), the initrd as module 0, the e820 map
 * as the start info's memory map. Errors as linux_load_bzimage, plus
 * -ENOENT when the ELF has no PVH note.
 */
int linux_load_pvh(const struct guest_mem *mem, const struct linux_boot_args *a,
		   struct boot_state *bs, char *err, size_t err_len);

#endif

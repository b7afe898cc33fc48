/*
 * loader: reads guest images and places them in guest RAM, producing the
 * boot_state a vCPU starts from. Knows nothing about KVM.
 *
 * Formats in this issue:
 *   ELF64 (EM_X86_64)  entered in 64-bit long mode at e_entry
 *   ELF32 (EM_386)     entered in 32-bit protected mode (paging off) at e_entry
 *   flat binary        loaded at a given address below 1 MiB, entered in real mode
 *
 * Every header field is hostile: truncated files, segments past the file end,
 * segments outside RAM, inside the 32-bit hole or overlapping trapeze's boot
 * structures below 1 MiB (see arch/x86/layout.h), filesz > memsz, absurd
 * counts and sizes, wrapping address arithmetic - each gives -EINVAL (or
 * -ENOEXEC for "not a known image") with a one-line message in err.
 */
#ifndef TRAPEZE_LOADER_H
#define TRAPEZE_LOADER_H

#include "trapeze/guest_mem.h"
#include "trapeze/types.h"

#define LOADER_MAX_IMAGE (1ULL << 32)	/* refuse image files above 4 GiB */

enum boot_mode {
	BOOT_MODE_REAL,		/* 16-bit real mode, CS:IP = real_cs:entry */
	BOOT_MODE_PROT32,	/* flat 32-bit protected mode, paging off */
	BOOT_MODE_LONG64,	/* 64-bit long mode, identity paging of the low 4 GiB */
	BOOT_MODE_LINUX64,	/* as LONG64, but CS = 0x10 and DS = 0x18 (Linux 64-bit boot protocol) */
};

struct boot_state {
	enum boot_mode mode;
	u64 entry;	/* RIP; in real mode the IP offset within real_cs */
	u16 real_cs;	/* real mode only: code (and data/stack) segment selector */
	u64 stack;	/* initial RSP (real mode: SP with SS = 0) */
	u64 rsi;	/* initial RSI (Linux boot protocol: zero page) */
	u64 rbx;	/* initial RBX (PVH: start info) */
};

enum image_kind {
	IMAGE_UNKNOWN,
	IMAGE_ELF64,
	IMAGE_ELF32,
};

/*
 * Reads a whole file into a malloc'd buffer. Errors name the problem:
 * missing, unreadable, a directory, empty, larger than LOADER_MAX_IMAGE.
 * Returns 0 or -errno (the message is in err).
 */
int loader_read_file(const char *path, u8 **buf, size_t *size, char *err,
		     size_t err_len);

/* What kind of image buf holds, judged by its magic only. */
enum image_kind loader_detect(const u8 *buf, size_t size);

/* Loads an ELF32 or ELF64 executable. 0, -ENOEXEC (not ELF / wrong type), -EINVAL. */
int loader_load_elf(const struct guest_mem *mem, const u8 *buf, size_t size,
		    struct boot_state *out, char *err, size_t err_len);

/* Loads a raw binary at addr (16-byte aligned, the image within [0x500, 0xA0000)). */
int loader_load_flat(const struct guest_mem *mem, const u8 *buf, size_t size,
		     u64 addr, struct boot_state *out, char *err, size_t err_len);

#endif

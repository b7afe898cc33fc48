/*
 * elf_parse: the ELF layer the two x86 ELF loaders share, loader/elf.c
 * (plain ELF guests) and arch/x86/boot_pvh.c (a PVH vmlinux): the ELF
 * header and program headers of either class read into class-independent
 * structs, the checks every x86 ELF executable must pass, and the copy of
 * its loaded segments into guest RAM.
 *
 * What differs stays with each loader: how it words a wrong machine, type
 * or program header count, where in guest memory a segment may go, which
 * entry point it uses, notes and boot data.
 *
 * Headers are read with memcpy (buf has no alignment promise) in host byte
 * order, which is little-endian: trapeze runs on x86 hosts only, and
 * ELFDATA2LSB is checked. Every size and offset is hostile, and every check
 * is written so that no sum can wrap. Each refusal returns -ENOEXEC (no x86
 * executable) or -EINVAL with a one-line message in err.
 */
#ifndef TRAPEZE_ELF_PARSE_H
#define TRAPEZE_ELF_PARSE_H

#include "trapeze/guest_mem.h"
#include "trapeze/types.h"

/* Program headers a loader accepts: keeps the pairwise overlap scan cheap. */
#define ELF_MAX_PHNUM	256

/* The ELF header fields trapeze uses, whatever the class. */
struct elf_image {
	const u8 *buf;		/* the whole file */
	size_t size;
	bool is64;		/* ELFCLASS64, else ELFCLASS32 */
	u16 type;
	u16 machine;
	u16 phentsize;
	u16 phnum;
	u64 entry;
	u64 phoff;
};

/* One program header, whatever the class. */
struct elf_seg {
	u32 type;
	u32 flags;
	u64 offset;
	u64 paddr;
	u64 filesz;
	u64 memsz;
	u64 align;
};

/*
 * e_ident (magic, class, data encoding) and the whole ELF header of that
 * class, read into img. Machine, type and the program header table are
 * left to the checks below. 0, -ENOEXEC (no ELF magic, unknown class,
 * big-endian) or -EINVAL (header truncated).
 */
int elf_parse_header(const u8 *buf, size_t size, struct elf_image *img,
		     char *err, size_t err_len);

/* e_machine matches the class: EM_X86_64 for ELF64, EM_386 for ELF32. */
bool elf_machine_is_x86(const struct elf_image *img);

/* e_type is ET_EXEC. 0 or -ENOEXEC. */
int elf_check_exec_type(const struct elf_image *img, char *err, size_t err_len);

/* e_phentsize is the program header size of the class. 0 or -EINVAL. */
int elf_check_phentsize(const struct elf_image *img, char *err,
			size_t err_len);

/* The program header table lies inside the file. 0 or -EINVAL. */
int elf_check_phtable(const struct elf_image *img, char *err, size_t err_len);

/* Program header i; the table must have passed elf_check_phtable(). */
void elf_read_seg(const struct elf_image *img, unsigned int i,
		  struct elf_seg *seg);

/* How many program headers have type p_type. */
unsigned int elf_count_segs(const struct elf_image *img, u32 type);

/* A PT_LOAD segment that occupies guest memory (p_memsz 0 ones are skipped). */
bool elf_seg_loaded(const struct elf_seg *seg);

/* The file bytes of segment i lie inside the file. 0 or -EINVAL. */
int elf_check_seg_file(const struct elf_image *img, const struct elf_seg *seg,
		       unsigned int i, char *err, size_t err_len);

/*
 * Every loaded segment, in table order: p_filesz <= p_memsz, file bytes
 * inside the file, no address wrap, nothing below X86_LOW_RESERVED_END
 * (trapeze's boot structures), then the loader's own rule place(ctx, seg)
 * for where in guest memory it may lie (returning 0 or -errno with its
 * message), then no overlap with an earlier loaded segment. Stops at the
 * first refusal and returns it; 0 when all pass (also when none is loaded).
 */
int elf_check_loaded_segs(const struct elf_image *img,
			  int (*place)(void *ctx, const struct elf_seg *seg,
				       char *err, size_t err_len),
			  void *ctx, char *err, size_t err_len);

/* entry lies inside a loaded segment marked executable (PF_X). */
bool elf_entry_in_exec_seg(const struct elf_image *img, u64 entry);

/*
 * Copies every loaded segment to p_paddr and zeroes its bss. Only for an
 * image whose segments passed elf_check_loaded_segs() with a place rule
 * that requires guest_mem_ptr() to succeed: it cannot fail.
 */
void elf_copy_loaded_segs(const struct guest_mem *mem,
			  const struct elf_image *img);

#endif

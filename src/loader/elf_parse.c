/*
 * elf_parse: ELF32/ELF64 headers, program headers and loaded segments for
 * the x86 ELF loaders. Contracts in include/trapeze/elf_parse.h.
 */
#include <elf.h>
#include <errno.h>
#include <string.h>

#include "trapeze/arch/x86/layout.h"
#include "trapeze/elf_parse.h"
#include "trapeze/errmsg.h"

/* Every checker below has err and err_len in scope. */
#define ERR(...) errmsg_set(err, err_len, __VA_ARGS__)

int elf_parse_header(const u8 *buf, size_t size, struct elf_image *img,
		     char *err, size_t err_len)
{
	size_t need;

	if (!buf || size < EI_NIDENT || memcmp(buf, ELFMAG, SELFMAG) != 0) {
		ERR("not an ELF image (no \\177ELF magic)");
		return -ENOEXEC;
	}
	if (buf[EI_CLASS] != ELFCLASS32 && buf[EI_CLASS] != ELFCLASS64) {
		ERR("unknown ELF class %u", buf[EI_CLASS]);
		return -ENOEXEC;
	}
	img->buf = buf;
	img->size = size;
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
	return 0;
}

bool elf_machine_is_x86(const struct elf_image *img)
{
	return img->machine == (img->is64 ? EM_X86_64 : EM_386);
}

int elf_check_exec_type(const struct elf_image *img, char *err, size_t err_len)
{
	if (img->type != ET_EXEC) {
		ERR("ELF type %u is not an executable (ET_EXEC)", img->type);
		return -ENOEXEC;
	}
	return 0;
}

int elf_check_phentsize(const struct elf_image *img, char *err,
			size_t err_len)
{
	size_t want = img->is64 ? sizeof(Elf64_Phdr) : sizeof(Elf32_Phdr);

	if (img->phentsize != want) {
		ERR("ELF e_phentsize %u, expected %zu", img->phentsize, want);
		return -EINVAL;
	}
	return 0;
}

int elf_check_phtable(const struct elf_image *img, char *err, size_t err_len)
{
	/* Two u16 factors: table < 2^32, so only phoff + table can wrap. */
	u64 table = (u64)img->phnum * img->phentsize;

	if (img->phoff > img->size || table > img->size - img->phoff) {
		ERR("ELF program headers (offset 0x%llx, %llu bytes) extend past the end of the file (%zu bytes)",
		    ull(img->phoff), ull(table), img->size);
		return -EINVAL;
	}
	return 0;
}

void elf_read_seg(const struct elf_image *img, unsigned int i,
		  struct elf_seg *seg)
{
	const u8 *p = img->buf + img->phoff + (u64)i * img->phentsize;

	if (img->is64) {
		Elf64_Phdr ph;

		memcpy(&ph, p, sizeof(ph));
		*seg = (struct elf_seg){ ph.p_type, ph.p_flags, ph.p_offset,
					 ph.p_paddr, ph.p_filesz, ph.p_memsz,
					 ph.p_align };
	} else {
		Elf32_Phdr ph;

		memcpy(&ph, p, sizeof(ph));
		*seg = (struct elf_seg){ ph.p_type, ph.p_flags, ph.p_offset,
					 ph.p_paddr, ph.p_filesz, ph.p_memsz,
					 ph.p_align };
	}
}

unsigned int elf_count_segs(const struct elf_image *img, u32 type)
{
	struct elf_seg seg;
	unsigned int i, n = 0;

	for (i = 0; i < img->phnum; i++) {
		elf_read_seg(img, i, &seg);
		if (seg.type == type)
			n++;
	}
	return n;
}

bool elf_seg_loaded(const struct elf_seg *seg)
{
	return seg->type == PT_LOAD && seg->memsz > 0;
}

int elf_check_seg_file(const struct elf_image *img, const struct elf_seg *seg,
		       unsigned int i, char *err, size_t err_len)
{
	if (seg->offset > img->size || seg->filesz > img->size - seg->offset) {
		ERR("ELF segment %u: file bytes 0x%llx+0x%llx extend past the end of the file (%zu bytes)",
		    i, ull(seg->offset), ull(seg->filesz), img->size);
		return -EINVAL;
	}
	return 0;
}

/* The rules for loaded segment i that do not depend on the loader. */
static int elf_check_seg(const struct elf_image *img, const struct elf_seg *seg,
			 unsigned int i, char *err, size_t err_len)
{
	int ret;

	if (seg->filesz > seg->memsz) {
		ERR("ELF segment %u: p_filesz 0x%llx exceeds p_memsz 0x%llx", i,
		    ull(seg->filesz), ull(seg->memsz));
		return -EINVAL;
	}
	ret = elf_check_seg_file(img, seg, i, err, err_len);
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
	return 0;
}

/* Loaded segment a (number i) against every loaded segment before it. */
static int elf_check_overlap(const struct elf_image *img,
			     const struct elf_seg *a, unsigned int i,
			     char *err, size_t err_len)
{
	struct elf_seg b;
	unsigned int j;

	/* The loaders allow ELF_MAX_PHNUM headers: the quadratic scan is cheap. */
	for (j = 0; j < i; j++) {
		elf_read_seg(img, j, &b);
		if (!elf_seg_loaded(&b))
			continue;
		if (a->paddr < b.paddr + b.memsz && b.paddr < a->paddr + a->memsz) {
			ERR("ELF segments 0x%llx-0x%llx and 0x%llx-0x%llx overlap",
			    ull(b.paddr), ull(b.paddr + b.memsz), ull(a->paddr),
			    ull(a->paddr + a->memsz));
			return -EINVAL;
		}
	}
	return 0;
}

int elf_check_loaded_segs(const struct elf_image *img,
			  int (*place)(void *ctx, const struct elf_seg *seg,
				       char *err, size_t err_len),
			  void *ctx, char *err, size_t err_len)
{
	struct elf_seg seg;
	unsigned int i;
	int ret;

	for (i = 0; i < img->phnum; i++) {
		elf_read_seg(img, i, &seg);
		if (!elf_seg_loaded(&seg))
			continue;
		ret = elf_check_seg(img, &seg, i, err, err_len);
		if (!ret)
			ret = place(ctx, &seg, err, err_len);
		if (!ret)
			ret = elf_check_overlap(img, &seg, i, err, err_len);
		if (ret)
			return ret;
	}
	return 0;
}

bool elf_entry_in_exec_seg(const struct elf_image *img, u64 entry)
{
	struct elf_seg seg;
	unsigned int i;

	for (i = 0; i < img->phnum; i++) {
		elf_read_seg(img, i, &seg);
		if (elf_seg_loaded(&seg) && (seg.flags & PF_X) &&
		    entry >= seg.paddr && entry - seg.paddr < seg.memsz)
			return true;
	}
	return false;
}

void elf_copy_loaded_segs(const struct guest_mem *mem,
			  const struct elf_image *img)
{
	struct elf_seg seg;
	unsigned int i;

	for (i = 0; i < img->phnum; i++) {
		u8 *dst;

		elf_read_seg(img, i, &seg);
		if (!elf_seg_loaded(&seg))
			continue;
		dst = guest_mem_ptr(mem, seg.paddr, seg.memsz);
		memcpy(dst, img->buf + seg.offset, seg.filesz);
		memset(dst + seg.filesz, 0, seg.memsz - seg.filesz);	/* bss */
	}
}

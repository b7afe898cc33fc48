/*
 * boot_linux: bzImage loading for the Linux/x86 64-bit boot protocol
 * (Documentation/arch/x86/boot.rst, "The Real-Mode Kernel Header",
 * "Details of Header Fields" and "64-bit Boot Protocol").
 *
 * A bzImage is (setup_sects + 1) * 512 bytes of real-mode setup code, which
 * trapeze never runs, followed by the protected-mode kernel, which it loads
 * at pref_address and enters in long mode at its start + 0x200. The setup
 * header at 0x1f1 describes the image; its bytes are copied into a zeroed
 * struct boot_params (the "zero page"), then the loader's fields are filled.
 *
 * Everything is validated before anything is written to guest RAM.
 */
#include <asm/bootparam.h>
#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "trapeze/arch/x86/boot_linux.h"
#include "trapeze/arch/x86/boot_tables.h"
#include "trapeze/arch/x86/e820.h"
#include "trapeze/arch/x86/layout.h"
#include "trapeze/errmsg.h"

/* Offsets in the image file (boot.rst, "The Real-Mode Kernel Header"). */
#define BZ_HDR_OFF		0x1f1	/* struct setup_header */
#define BZ_BOOT_FLAG_OFF	0x1fe
#define BZ_JUMP_OFF		0x200	/* 2-byte short jump; byte 0x201 sizes the header */
#define BZ_MAGIC_OFF		0x202
#define BZ_BOOT_FLAG		0xaa55
#define BZ_MAGIC		"HdrS"
#define BZ_SECTOR		512
#define BZ_DEFAULT_SETUP_SECTS	4	/* "if the field contains 0, the real value is 4" */
#define BZ_ENTRY64_OFF		0x200	/* 64-bit entry: protected-mode kernel + 0x200 */
#define BZ_LOADER_UNDEFINED	0xff	/* type_of_loader: "no assigned ID" */

#define BZ_PROTO(maj, min)	(((maj) << 8) | (min))
#define BZ_PROTO_PAYLOAD	BZ_PROTO(2, 8)	/* payload_offset, payload_length */
#define BZ_PROTO_NEEDED		BZ_PROTO(2, 12)	/* xloadflags (XLF_KERNEL_64) */

/* Image offset where a setup_header field ends: the header must reach it. */
#define BZ_FIELD_END(f)							\
	(BZ_HDR_OFF + offsetof(struct setup_header, f) +		\
	 sizeof(((struct setup_header *)0)->f))

#define SZ_1M			0x100000ULL
#define INITRD_ALIGN		0x1000ULL

/*
 * The layout the zero page must have (boot.rst, "The Zero Page"; zero-page.rst
 * offsets): catches a libc header that disagrees with the protocol.
 */
_Static_assert(sizeof(struct boot_params) == 4096, "boot_params is not 4 KiB");
_Static_assert(offsetof(struct boot_params, acpi_rsdp_addr) == 0x070, "acpi_rsdp_addr");
_Static_assert(offsetof(struct boot_params, ext_ramdisk_image) == 0x0c0, "ext_ramdisk_image");
_Static_assert(offsetof(struct boot_params, ext_ramdisk_size) == 0x0c4, "ext_ramdisk_size");
_Static_assert(offsetof(struct boot_params, ext_cmd_line_ptr) == 0x0c8, "ext_cmd_line_ptr");
_Static_assert(offsetof(struct boot_params, e820_entries) == 0x1e8, "e820_entries");
_Static_assert(offsetof(struct boot_params, hdr) == BZ_HDR_OFF, "hdr");
_Static_assert(offsetof(struct boot_params, e820_table) == 0x2d0, "e820_table");
_Static_assert(sizeof(struct boot_e820_entry) == 20, "boot_e820_entry");
_Static_assert(BZ_FIELD_END(boot_flag) == BZ_JUMP_OFF, "boot_flag");
_Static_assert(BZ_FIELD_END(version) == 0x208, "version");
_Static_assert(BZ_FIELD_END(xloadflags) == 0x238, "xloadflags");
_Static_assert(BZ_FIELD_END(payload_length) == 0x250, "payload_length");
_Static_assert(BZ_FIELD_END(init_size) == 0x264, "init_size");

/* What bz_parse learnt from an image. */
struct bzimage {
	struct setup_header hdr;	/* fields past the declared header end are 0 */
	size_t hdr_end;			/* image offset where the setup header ends */
	const u8 *kernel;		/* the protected-mode kernel */
	size_t kernel_size;
};

#define ERR(...) errmsg_set(err, err_len, __VA_ARGS__)

/* a + b, or UINT64_MAX where that would wrap. */
static u64 sat_add(u64 a, u64 b)
{
	return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

static u16 get_u16(const u8 *p)
{
	return (u16)(p[0] | p[1] << 8);
}

bool linux_is_bzimage(const u8 *buf, size_t size)
{
	if (!buf || size < BZ_MAGIC_OFF + 4)
		return false;
	return get_u16(buf + BZ_BOOT_FLAG_OFF) == BZ_BOOT_FLAG &&
	       memcmp(buf + BZ_MAGIC_OFF, BZ_MAGIC, 4) == 0;
}

/*
 * Signature, protocol version at least min_proto, a header long enough to
 * hold every field up to hdr_need, the setup code inside the file and a
 * non-empty kernel after it.
 */
static int bz_parse(const u8 *buf, size_t size, u16 min_proto, size_t hdr_need,
		    const char *why, struct bzimage *bz, char *err, size_t err_len)
{
	size_t copy, setup_sects, setup_size;

	memset(bz, 0, sizeof(*bz));
	if (!buf || size < BZ_MAGIC_OFF + 4 ||
	    memcmp(buf + BZ_MAGIC_OFF, BZ_MAGIC, 4) != 0) {
		ERR("not a bzImage (no \"HdrS\" signature at 0x202)");
		return -ENOEXEC;
	}
	if (get_u16(buf + BZ_BOOT_FLAG_OFF) != BZ_BOOT_FLAG) {
		ERR("not a bzImage (boot flag 0x%04x at 0x1fe, expected 0xaa55)",
		    get_u16(buf + BZ_BOOT_FLAG_OFF));
		return -ENOEXEC;
	}

	/* "The end of setup header can be calculated as 0x0202 + byte at 0x0201." */
	bz->hdr_end = BZ_MAGIC_OFF + buf[BZ_JUMP_OFF + 1];
	if (bz->hdr_end > size) {
		ERR("truncated bzImage: setup header ends at 0x%zx, past the end of the file (%zu bytes)",
		    bz->hdr_end, size);
		return -EINVAL;
	}
	copy = bz->hdr_end - BZ_HDR_OFF;
	if (copy > sizeof(bz->hdr))
		copy = sizeof(bz->hdr);
	memcpy(&bz->hdr, buf + BZ_HDR_OFF, copy);

	if (bz->hdr.version < min_proto) {
		ERR("boot protocol %u.%02u is too old (%s %u.%02u)",
		    bz->hdr.version >> 8, bz->hdr.version & 0xff, why,
		    min_proto >> 8, min_proto & 0xff);
		return -EINVAL;
	}
	if (bz->hdr_end < hdr_need) {
		ERR("bzImage setup header ends at 0x%zx, before the protocol %u.%02u fields it must hold (to 0x%zx)",
		    bz->hdr_end, bz->hdr.version >> 8, bz->hdr.version & 0xff,
		    hdr_need);
		return -EINVAL;
	}

	setup_sects = bz->hdr.setup_sects ? bz->hdr.setup_sects :
					    BZ_DEFAULT_SETUP_SECTS;
	setup_size = (setup_sects + 1) * BZ_SECTOR;	/* at most 256 * 512 */
	if (setup_size > size) {
		ERR("truncated bzImage: %zu bytes of setup code (setup_sects %zu) but the file is %zu bytes",
		    setup_size, setup_sects, size);
		return -EINVAL;
	}
	if (setup_size == size) {
		ERR("bzImage has no protected-mode kernel after its %zu bytes of setup code",
		    setup_size);
		return -EINVAL;
	}
	bz->kernel = buf + setup_size;
	bz->kernel_size = size - setup_size;
	return 0;
}

int linux_bzimage_payload(const u8 *buf, size_t size, const u8 **payload,
			  size_t *len, char *err, size_t err_len)
{
	struct bzimage bz;
	u64 off, plen;
	int ret;

	ret = bz_parse(buf, size, BZ_PROTO_PAYLOAD, BZ_FIELD_END(payload_length),
		       "payload_offset needs", &bz, err, err_len);
	if (ret)
		return ret;
	/* payload_offset counts from the start of the protected-mode kernel. */
	off = bz.hdr.payload_offset;
	plen = bz.hdr.payload_length;
	if (!plen || off > bz.kernel_size || plen > bz.kernel_size - off) {
		ERR("bzImage payload 0x%llx+0x%llx does not lie inside its %zu-byte protected-mode kernel",
		    ull(off), ull(plen), bz.kernel_size);
		return -EINVAL;
	}
	*payload = bz.kernel + off;
	*len = plen;
	return 0;
}

/* 64-bit entry, loaded-high kernel, sane alignment and preferred address. */
static int bz_check_kernel(const struct bzimage *bz, char *err, size_t err_len)
{
	const struct setup_header *h = &bz->hdr;

	if (!(h->xloadflags & XLF_KERNEL_64)) {
		ERR("kernel has no 64-bit entry point (XLF_KERNEL_64 clear): trapeze boots 64-bit kernels only");
		return -EINVAL;
	}
	if (!(h->loadflags & LOADED_HIGH)) {
		ERR("kernel is not loaded high (LOADED_HIGH clear): zImage kernels are not supported");
		return -EINVAL;
	}
	if (h->relocatable_kernel &&
	    (!h->kernel_alignment ||
	     (h->kernel_alignment & (h->kernel_alignment - 1)))) {
		ERR("kernel_alignment 0x%x is not a power of two",
		    h->kernel_alignment);
		return -EINVAL;
	}
	/* Below 1 MiB lie the boot tables, zero page and command line. */
	if (h->pref_address < SZ_1M) {
		ERR("kernel's preferred load address 0x%llx is below 1 MiB",
		    ull(h->pref_address));
		return -EINVAL;
	}
	/* The 64-bit entry runs under the boot identity map of low RAM. */
	if (h->pref_address >= GUEST_MEM_HOLE_START) {
		ERR("kernel's preferred load address 0x%llx is not below the 32-bit hole at 3 GiB",
		    ull(h->pref_address));
		return -EINVAL;
	}
	return 0;
}

/*
 * Where the protected-mode kernel goes and how much RAM it occupies until it
 * can read the memory map. A relocatable kernel that is loaded below
 * pref_address moves itself up to pref_address before decompressing
 * (boot.rst, init_size: runtime start = pref_address if the load address is
 * lower, else the load address aligned up to kernel_alignment), so loading it
 * lower saves no RAM: trapeze always loads it at pref_address, and needs
 * [runtime start, + init_size) as well as the file bytes in low RAM.
 */
static int bz_place_kernel(const struct guest_mem *mem, const struct bzimage *bz,
			   u64 *load, u64 *end, char *err, size_t err_len)
{
	const struct setup_header *h = &bz->hdr;
	u64 ram_end = mem->regions[0].size;	/* region 0 starts at 0 (e820_build) */
	u64 start = h->pref_address, runtime = start, last;

	/* start < 3 GiB (bz_check_kernel) and the alignment a u32: no wrap. */
	if (h->relocatable_kernel)
		runtime = (start + h->kernel_alignment - 1) &
			  ~((u64)h->kernel_alignment - 1);
	last = sat_add(runtime, h->init_size);
	if (sat_add(start, bz->kernel_size) > last)
		last = sat_add(start, bz->kernel_size);
	if (last > ram_end) {
		ERR("guest RAM (%llu MiB) is too small for this kernel: it needs 0x%llx-0x%llx (init_size %u MiB) to decompress",
		    ull(mem->ram_size >> 20), ull(start), ull(last),
		    (h->init_size + (1U << 20) - 1) >> 20);
		return -EINVAL;
	}
	*load = start;
	*end = last;
	return 0;
}

int linux_place_initrd(const struct guest_mem *mem, u64 size, u64 limit,
		       u64 avoid_start, u64 avoid_end, u64 *addr)
{
	u64 ram_end = mem->nr_regions && !mem->regions[0].gpa ?
		      mem->regions[0].size : 0;
	u64 tops[2];
	unsigned int i;

	if (!size)
		return -EINVAL;
	if (limit > ram_end)
		limit = ram_end;
	/* Highest first: right below limit, then right below the kernel. */
	tops[0] = limit;
	tops[1] = avoid_start < limit ? avoid_start : limit;
	for (i = 0; i < ARRAY_SIZE(tops); i++) {
		u64 a;

		if (size > tops[i])
			continue;
		a = (tops[i] - size) & ~(INITRD_ALIGN - 1);
		if (a < SZ_1M)
			continue;
		if (a + size <= avoid_start || a >= avoid_end) {
			*addr = a;
			return 0;
		}
	}
	return -ENOSPC;
}

/* Protocol 2.06+: cmdline_size is the longest command line, NUL excluded. */
static int bz_check_cmdline(const struct bzimage *bz, const char *cmdline,
			    size_t *len, char *err, size_t err_len)
{
	u64 max = bz->hdr.cmdline_size;

	if (max > X86_CMDLINE_MAX - 1)
		max = X86_CMDLINE_MAX - 1;
	*len = strlen(cmdline);
	if (*len > max) {
		ERR("command line is %zu bytes; this kernel accepts at most %llu",
		    *len, ull(max));
		return -EINVAL;
	}
	return 0;
}

/* The zero page: the image's setup header, then the loader's fields. */
static void bz_fill_zero_page(struct boot_params *bp, const u8 *image,
			      const struct bzimage *bz, u64 load, u64 initrd,
			      u64 initrd_size, const struct e820_entry *map,
			      unsigned int nr_map, u64 rsdp)
{
	size_t end = bz->hdr_end, i;

	memset(bp, 0, sizeof(*bp));
	/*
	 * Copy the whole declared header, fields newer than struct
	 * setup_header included, but never past the room the zero page
	 * gives it (it ends where edd_mbr_sig_buffer starts).
	 */
	if (end > offsetof(struct boot_params, edd_mbr_sig_buffer))
		end = offsetof(struct boot_params, edd_mbr_sig_buffer);
	memcpy((u8 *)bp + BZ_HDR_OFF, image + BZ_HDR_OFF, end - BZ_HDR_OFF);

	bp->hdr.type_of_loader = BZ_LOADER_UNDEFINED;
	bp->hdr.code32_start = (u32)load;
	bp->hdr.cmd_line_ptr = (u32)X86_CMDLINE;
	bp->ext_cmd_line_ptr = (u32)(X86_CMDLINE >> 32);
	bp->hdr.ramdisk_image = (u32)initrd;
	bp->ext_ramdisk_image = (u32)(initrd >> 32);
	bp->hdr.ramdisk_size = (u32)initrd_size;
	bp->ext_ramdisk_size = (u32)(initrd_size >> 32);
	bp->hdr.setup_data = 0;	/* no setup_data list */
	bp->acpi_rsdp_addr = rsdp;

	bp->e820_entries = (u8)nr_map;
	for (i = 0; i < nr_map; i++) {
		bp->e820_table[i].addr = map[i].addr;
		bp->e820_table[i].size = map[i].size;
		bp->e820_table[i].type = map[i].type;
	}
}

/*
 * The boot GDT with entry 2 as flat 64-bit code: the 64-bit protocol wants
 * __BOOT_CS = 0x10 to be 64-bit code and __BOOT_DS = 0x18 flat data
 * (boot.rst, "64-bit Boot Protocol").
 */
static int bz_write_gdt(const struct guest_mem *mem)
{
	u64 code64 = x86_gdt_entry(X86_SEL_CODE64 >> 3);
	int ret;

	ret = x86_write_boot_tables(mem);
	if (ret)
		return ret;
	return guest_mem_write(mem, X86_BOOT_GDT + X86_SEL_LINUX_CS, &code64,
			       sizeof(code64));
}

int linux_load_bzimage(const struct guest_mem *mem,
		       const struct linux_boot_args *a, struct boot_state *bs,
		       char *err, size_t err_len)
{
	struct e820_entry map[E820_MAX_ENTRIES_ZEROPAGE];
	const char *cmdline = a->cmdline ? a->cmdline : "";
	struct boot_params bp;
	struct bzimage bz;
	u64 load, kernel_end, initrd = 0;
	size_t cmdline_len;
	int nr_map, ret;

	ret = bz_parse(a->kernel, a->kernel_size, BZ_PROTO_NEEDED,
		       BZ_FIELD_END(init_size), "trapeze needs", &bz, err, err_len);
	if (ret)
		return ret;
	ret = bz_check_kernel(&bz, err, err_len);
	if (ret)
		return ret;
	ret = bz_check_cmdline(&bz, cmdline, &cmdline_len, err, err_len);
	if (ret)
		return ret;

	nr_map = e820_build(mem, map, ARRAY_SIZE(map));
	if (nr_map < 0) {
		ERR("guest RAM (%llu KiB) is too small: Linux needs at least %llu MiB",
		    ull(mem->ram_size >> 10), ull(E820_MIN_RAM >> 20));
		return -EINVAL;
	}
	ret = bz_place_kernel(mem, &bz, &load, &kernel_end, err, err_len);
	if (ret)
		return ret;
	if (a->initrd_size && !a->initrd) {
		ERR("initrd size given without initrd data");
		return -EINVAL;
	}
	if (a->initrd_size) {
		/* initrd_addr_max: the highest address the initrd may occupy. */
		ret = linux_place_initrd(mem, a->initrd_size,
					 (u64)bz.hdr.initrd_addr_max + 1, load,
					 kernel_end, &initrd);
		if (ret) {
			ERR("initrd (%llu MiB) does not fit in guest memory beside the kernel",
			    ull((a->initrd_size + (1U << 20) - 1) >> 20));
			return -EINVAL;
		}
	}

	/* All checked: the writes below stay in low RAM region 0. */
	bz_fill_zero_page(&bp, a->kernel, &bz, load, initrd, a->initrd_size,
			  map, (unsigned int)nr_map, a->rsdp_addr);
	ret = bz_write_gdt(mem);
	if (!ret)
		ret = guest_mem_write(mem, X86_ZERO_PAGE, &bp, sizeof(bp));
	if (!ret)
		ret = guest_mem_write(mem, X86_CMDLINE, cmdline, cmdline_len + 1);
	if (!ret)
		ret = guest_mem_write(mem, load, bz.kernel, bz.kernel_size);
	if (!ret && a->initrd_size)
		ret = guest_mem_write(mem, initrd, a->initrd, a->initrd_size);
	if (ret) {
		ERR("cannot write the kernel's boot data into guest RAM");
		return ret;
	}

	memset(bs, 0, sizeof(*bs));
	bs->mode = BOOT_MODE_LINUX64;
	bs->entry = load + BZ_ENTRY64_OFF;
	bs->rsi = X86_ZERO_PAGE;
	bs->stack = X86_BOOT_STACK_TOP;	/* the kernel sets its own at once */
	return 0;
}

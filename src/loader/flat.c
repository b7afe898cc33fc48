/*
 * loader flat: a raw binary copied below 1 MiB and entered in real mode at
 * its first byte (docs/guest-abi.md): CS = DS = ES = addr >> 4, IP = 0,
 * SS = 0, SP = addr, so the stack grows down from just below the image.
 */
#include <errno.h>
#include <string.h>

#include "trapeze/arch/x86/layout.h"
#include "trapeze/errmsg.h"
#include "trapeze/loader.h"

int loader_load_flat(const struct guest_mem *mem, const u8 *buf, size_t size,
		     u64 addr, struct boot_state *out, char *err, size_t err_len)
{
	u8 *dst;

	if (size == 0) {
		errmsg_set(err, err_len, "flat image is empty");
		return -EINVAL;
	}
	/* CS:IP = (addr >> 4):0 reaches addr only when the low nibble is 0. */
	if (addr & 0xf) {
		errmsg_set(err, err_len,
			"flat load address 0x%llx is not 16-byte aligned",
			(unsigned long long)addr);
		return -EINVAL;
	}
	/*
	 * Below X86_FLAT_MIN are the real-mode IVT and BIOS data area; from
	 * X86_FLAT_MAX on, the legacy VGA and ROM space. Written so that a
	 * huge size cannot wrap addr + size.
	 */
	if (addr < X86_FLAT_MIN || addr >= X86_FLAT_MAX ||
	    (u64)size > X86_FLAT_MAX - addr) {
		errmsg_set(err, err_len,
			"flat image at 0x%llx (%llu bytes) must lie within [0x%llx, 0x%llx)",
			(unsigned long long)addr, (unsigned long long)size,
			X86_FLAT_MIN, X86_FLAT_MAX);
		return -EINVAL;
	}
	dst = guest_mem_ptr(mem, addr, size);
	if (!dst) {
		errmsg_set(err, err_len,
			"flat image 0x%llx-0x%llx lies outside guest RAM (%llu KiB)",
			(unsigned long long)addr,
			(unsigned long long)(addr + size),
			(unsigned long long)(mem->ram_size >> 10));
		return -EINVAL;
	}

	memcpy(dst, buf, size);
	memset(out, 0, sizeof(*out));
	out->mode = BOOT_MODE_REAL;
	out->real_cs = (u16)(addr >> 4);
	out->entry = 0;
	out->stack = addr;
	return 0;
}

/*
 * gdb_regs: the x86-64 register file as the GDB stub presents it, with no
 * ioctls: the target description (target.xml) it serves through
 * qXfer:features:read, the byte layout of 'g'/'G'/'p'/'P' that the
 * description defines, and the conversion from and to KVM's structs.
 *
 * Serving our own target.xml means we, not gdb's defaults, fix the layout
 * (the GDB manual, "Target Descriptions" and "i386 Features"):
 *
 *   0-15   rax rbx rcx rdx rsi rdi rbp rsp r8 ... r15   8 bytes   org.gnu.gdb.i386.core
 *   16     rip                                          8
 *   17     eflags                                       4
 *   18-23  cs ss ds es fs gs  (selectors)               4
 *   24-31  st0 ... st7  (x87, 80-bit)                   10
 *   32-39  fctrl fstat ftag fiseg fioff foseg fooff fop 4
 *   40-55  xmm0 ... xmm15                               16        org.gnu.gdb.i386.sse
 *   56     mxcsr                                        4
 *   57-58  fs_base gs_base                              8         org.gnu.gdb.i386.segments
 *
 * Every value is little-endian, as gdb expects for x86. 'g' sends all of
 * them: 2 * GDB_REGS_BYTES hex digits.
 */
#ifndef TRAPEZE_DEBUG_GDB_REGS_H
#define TRAPEZE_DEBUG_GDB_REGS_H

#include <linux/kvm.h>

#include "trapeze/types.h"

#define GDB_REG_RIP	16
#define GDB_REG_EFLAGS	17
#define GDB_REG_CS	18
#define GDB_REG_GS	23
#define GDB_REG_ST0	24
#define GDB_REG_FCTRL	32
#define GDB_REG_FOP	39
#define GDB_REG_XMM0	40
#define GDB_REG_MXCSR	56
#define GDB_REG_FS_BASE	57
#define GDB_REG_GS_BASE	58
#define GDB_NR_REGS	59

/* Bytes of the whole 'g' block. */
#define GDB_REGS_BYTES	(17 * 8 + 7 * 4 + 8 * 10 + 8 * 4 + 16 * 16 + 4 + 2 * 8)

/* One vCPU's registers in the layout above. */
struct gdb_x86_regs {
	u64 gpr[16];		/* rax rbx rcx rdx rsi rdi rbp rsp r8..r15 */
	u64 rip;
	u32 eflags;
	u32 seg[6];		/* cs ss ds es fs gs */
	u8 st[8][10];		/* ST(0)..ST(7), 80-bit extended */
	u32 fctrl, fstat, ftag, fiseg, fioff, foseg, fooff, fop;
	u8 xmm[16][16];
	u32 mxcsr;
	u64 fs_base, gs_base;
};

/* The target description, a NUL-terminated XML document. */
const char *gdb_regs_target_xml(void);

/* Size in bytes of register n, or 0 when there is no such register. */
size_t gdb_reg_size(unsigned int n);
/* Offset of register n in the 'g' block (n < GDB_NR_REGS). */
size_t gdb_reg_offset(unsigned int n);

/* Packs r into the GDB_REGS_BYTES bytes of the 'g' block. */
void gdb_regs_pack(const struct gdb_x86_regs *r, u8 *out);
/* The reverse, for 'G'. */
void gdb_regs_unpack(struct gdb_x86_regs *r, const u8 *in);

/* Register n alone: copies gdb_reg_size(n) bytes out/in. -EINVAL for no such register. */
int gdb_reg_get(const struct gdb_x86_regs *r, unsigned int n, u8 *out);
int gdb_reg_set(struct gdb_x86_regs *r, unsigned int n, const u8 *in);

/*
 * From KVM's structs (fpu may be NULL: the x87 and SSE registers read as
 * empty/zero). The x87 tag word is rebuilt from FXSAVE's abridged tag and
 * the register contents, as FSAVE would report it (SDM Vol. 1, 8.1.7 and
 * Vol. 2A FXSAVE, "x87 FPU tag word").
 */
void gdb_regs_from_kvm(struct gdb_x86_regs *r, const struct kvm_regs *regs,
		       const struct kvm_sregs *sregs, const struct kvm_fpu *fpu);

/*
 * Into KVM's structs: general registers, RIP and RFLAGS into regs; the
 * x87/SSE state into fpu (when non-NULL); fs_base/gs_base into sregs. The
 * segment selectors are not written back (loading a selector would need the
 * descriptor too): gdb_regs_selectors_changed() tells the caller to refuse.
 */
void gdb_regs_to_kvm(const struct gdb_x86_regs *r, struct kvm_regs *regs,
		     struct kvm_sregs *sregs, struct kvm_fpu *fpu);
bool gdb_regs_selectors_changed(const struct gdb_x86_regs *a, const struct gdb_x86_regs *b);

#endif

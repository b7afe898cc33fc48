/*
 * The x86-64 register file of the GDB stub: target.xml, the 'g' block
 * layout it defines, and conversions from and to KVM's register structs.
 */
#include <errno.h>
#include <string.h>

#include "trapeze/debug/gdb_regs.h"

/*
 * The description. Register names and groups are those the GDB manual lists
 * for the i386 features; types are gdb's predefined ones (int64, code_ptr,
 * data_ptr, i387_ext, uint128, int32) plus an eflags flags type, so
 * `info registers eflags` names the set flags (SDM Vol. 1, 3.4.3).
 */
static const char gdb_target_xml[] =
	"<?xml version=\"1.0\"?>\n"
	"<!DOCTYPE target SYSTEM \"gdb-target.dtd\">\n"
	"<target version=\"1.0\">\n"
	"<architecture>i386:x86-64</architecture>\n"
	"<feature name=\"org.gnu.gdb.i386.core\">\n"
	"<flags id=\"trapeze_eflags\" size=\"4\">\n"
	"<field name=\"CF\" start=\"0\" end=\"0\"/><field name=\"\" start=\"1\" end=\"1\"/>\n"
	"<field name=\"PF\" start=\"2\" end=\"2\"/><field name=\"AF\" start=\"4\" end=\"4\"/>\n"
	"<field name=\"ZF\" start=\"6\" end=\"6\"/><field name=\"SF\" start=\"7\" end=\"7\"/>\n"
	"<field name=\"TF\" start=\"8\" end=\"8\"/><field name=\"IF\" start=\"9\" end=\"9\"/>\n"
	"<field name=\"DF\" start=\"10\" end=\"10\"/><field name=\"OF\" start=\"11\" end=\"11\"/>\n"
	"<field name=\"NT\" start=\"14\" end=\"14\"/><field name=\"RF\" start=\"16\" end=\"16\"/>\n"
	"<field name=\"VM\" start=\"17\" end=\"17\"/><field name=\"AC\" start=\"18\" end=\"18\"/>\n"
	"<field name=\"VIF\" start=\"19\" end=\"19\"/><field name=\"VIP\" start=\"20\" end=\"20\"/>\n"
	"<field name=\"ID\" start=\"21\" end=\"21\"/>\n"
	"</flags>\n"
	"<reg name=\"rax\" bitsize=\"64\" type=\"int64\" regnum=\"0\"/>\n"
	"<reg name=\"rbx\" bitsize=\"64\" type=\"int64\"/>\n"
	"<reg name=\"rcx\" bitsize=\"64\" type=\"int64\"/>\n"
	"<reg name=\"rdx\" bitsize=\"64\" type=\"int64\"/>\n"
	"<reg name=\"rsi\" bitsize=\"64\" type=\"int64\"/>\n"
	"<reg name=\"rdi\" bitsize=\"64\" type=\"int64\"/>\n"
	"<reg name=\"rbp\" bitsize=\"64\" type=\"data_ptr\"/>\n"
	"<reg name=\"rsp\" bitsize=\"64\" type=\"data_ptr\"/>\n"
	"<reg name=\"r8\" bitsize=\"64\" type=\"int64\"/>\n"
	"<reg name=\"r9\" bitsize=\"64\" type=\"int64\"/>\n"
	"<reg name=\"r10\" bitsize=\"64\" type=\"int64\"/>\n"
	"<reg name=\"r11\" bitsize=\"64\" type=\"int64\"/>\n"
	"<reg name=\"r12\" bitsize=\"64\" type=\"int64\"/>\n"
	"<reg name=\"r13\" bitsize=\"64\" type=\"int64\"/>\n"
	"<reg name=\"r14\" bitsize=\"64\" type=\"int64\"/>\n"
	"<reg name=\"r15\" bitsize=\"64\" type=\"int64\"/>\n"
	"<reg name=\"rip\" bitsize=\"64\" type=\"code_ptr\"/>\n"
	"<reg name=\"eflags\" bitsize=\"32\" type=\"trapeze_eflags\"/>\n"
	"<reg name=\"cs\" bitsize=\"32\" type=\"int32\"/>\n"
	"<reg name=\"ss\" bitsize=\"32\" type=\"int32\"/>\n"
	"<reg name=\"ds\" bitsize=\"32\" type=\"int32\"/>\n"
	"<reg name=\"es\" bitsize=\"32\" type=\"int32\"/>\n"
	"<reg name=\"fs\" bitsize=\"32\" type=\"int32\"/>\n"
	"<reg name=\"gs\" bitsize=\"32\" type=\"int32\"/>\n"
	"<reg name=\"st0\" bitsize=\"80\" type=\"i387_ext\"/>\n"
	"<reg name=\"st1\" bitsize=\"80\" type=\"i387_ext\"/>\n"
	"<reg name=\"st2\" bitsize=\"80\" type=\"i387_ext\"/>\n"
	"<reg name=\"st3\" bitsize=\"80\" type=\"i387_ext\"/>\n"
	"<reg name=\"st4\" bitsize=\"80\" type=\"i387_ext\"/>\n"
	"<reg name=\"st5\" bitsize=\"80\" type=\"i387_ext\"/>\n"
	"<reg name=\"st6\" bitsize=\"80\" type=\"i387_ext\"/>\n"
	"<reg name=\"st7\" bitsize=\"80\" type=\"i387_ext\"/>\n"
	"<reg name=\"fctrl\" bitsize=\"32\" type=\"int\" group=\"float\"/>\n"
	"<reg name=\"fstat\" bitsize=\"32\" type=\"int\" group=\"float\"/>\n"
	"<reg name=\"ftag\" bitsize=\"32\" type=\"int\" group=\"float\"/>\n"
	"<reg name=\"fiseg\" bitsize=\"32\" type=\"int\" group=\"float\"/>\n"
	"<reg name=\"fioff\" bitsize=\"32\" type=\"int\" group=\"float\"/>\n"
	"<reg name=\"foseg\" bitsize=\"32\" type=\"int\" group=\"float\"/>\n"
	"<reg name=\"fooff\" bitsize=\"32\" type=\"int\" group=\"float\"/>\n"
	"<reg name=\"fop\" bitsize=\"32\" type=\"int\" group=\"float\"/>\n"
	"</feature>\n"
	"<feature name=\"org.gnu.gdb.i386.sse\">\n"
	"<reg name=\"xmm0\" bitsize=\"128\" type=\"uint128\" regnum=\"40\"/>\n"
	"<reg name=\"xmm1\" bitsize=\"128\" type=\"uint128\"/>\n"
	"<reg name=\"xmm2\" bitsize=\"128\" type=\"uint128\"/>\n"
	"<reg name=\"xmm3\" bitsize=\"128\" type=\"uint128\"/>\n"
	"<reg name=\"xmm4\" bitsize=\"128\" type=\"uint128\"/>\n"
	"<reg name=\"xmm5\" bitsize=\"128\" type=\"uint128\"/>\n"
	"<reg name=\"xmm6\" bitsize=\"128\" type=\"uint128\"/>\n"
	"<reg name=\"xmm7\" bitsize=\"128\" type=\"uint128\"/>\n"
	"<reg name=\"xmm8\" bitsize=\"128\" type=\"uint128\"/>\n"
	"<reg name=\"xmm9\" bitsize=\"128\" type=\"uint128\"/>\n"
	"<reg name=\"xmm10\" bitsize=\"128\" type=\"uint128\"/>\n"
	"<reg name=\"xmm11\" bitsize=\"128\" type=\"uint128\"/>\n"
	"<reg name=\"xmm12\" bitsize=\"128\" type=\"uint128\"/>\n"
	"<reg name=\"xmm13\" bitsize=\"128\" type=\"uint128\"/>\n"
	"<reg name=\"xmm14\" bitsize=\"128\" type=\"uint128\"/>\n"
	"<reg name=\"xmm15\" bitsize=\"128\" type=\"uint128\"/>\n"
	"<reg name=\"mxcsr\" bitsize=\"32\" type=\"int\" group=\"vector\"/>\n"
	"</feature>\n"
	"<feature name=\"org.gnu.gdb.i386.segments\">\n"
	"<reg name=\"fs_base\" bitsize=\"64\" type=\"int64\" regnum=\"57\"/>\n"
	"<reg name=\"gs_base\" bitsize=\"64\" type=\"int64\"/>\n"
	"</feature>\n"
	"</target>\n";

const char *gdb_regs_target_xml(void)
{
	return gdb_target_xml;
}

size_t gdb_reg_size(unsigned int n)
{
	if (n < GDB_REG_EFLAGS)
		return 8;
	if (n < GDB_REG_ST0)
		return 4;
	if (n < GDB_REG_FCTRL)
		return 10;
	if (n < GDB_REG_XMM0)
		return 4;
	if (n < GDB_REG_MXCSR)
		return 16;
	if (n == GDB_REG_MXCSR)
		return 4;
	if (n < GDB_NR_REGS)
		return 8;
	return 0;
}

size_t gdb_reg_offset(unsigned int n)
{
	size_t off = 0;

	for (unsigned int i = 0; i < n && i < GDB_NR_REGS; i++)
		off += gdb_reg_size(i);
	return off;
}

/* Where register n lives in struct gdb_x86_regs. */
static void *gdb_reg_field(struct gdb_x86_regs *r, unsigned int n)
{
	static const size_t fp_ctl[] = {
		offsetof(struct gdb_x86_regs, fctrl), offsetof(struct gdb_x86_regs, fstat),
		offsetof(struct gdb_x86_regs, ftag), offsetof(struct gdb_x86_regs, fiseg),
		offsetof(struct gdb_x86_regs, fioff), offsetof(struct gdb_x86_regs, foseg),
		offsetof(struct gdb_x86_regs, fooff), offsetof(struct gdb_x86_regs, fop),
	};

	if (n < 16)
		return &r->gpr[n];
	if (n == GDB_REG_RIP)
		return &r->rip;
	if (n == GDB_REG_EFLAGS)
		return &r->eflags;
	if (n <= GDB_REG_GS)
		return &r->seg[n - GDB_REG_CS];
	if (n < GDB_REG_FCTRL)
		return r->st[n - GDB_REG_ST0];
	if (n <= GDB_REG_FOP)
		return (u8 *)r + fp_ctl[n - GDB_REG_FCTRL];
	if (n < GDB_REG_MXCSR)
		return r->xmm[n - GDB_REG_XMM0];
	if (n == GDB_REG_MXCSR)
		return &r->mxcsr;
	if (n == GDB_REG_FS_BASE)
		return &r->fs_base;
	return &r->gs_base;
}

/* Copies a field to little-endian bytes; x86 hosts are little-endian already. */
int gdb_reg_get(const struct gdb_x86_regs *r, unsigned int n, u8 *out)
{
	if (n >= GDB_NR_REGS)
		return -EINVAL;
	memcpy(out, gdb_reg_field((struct gdb_x86_regs *)r, n), gdb_reg_size(n));
	return 0;
}

int gdb_reg_set(struct gdb_x86_regs *r, unsigned int n, const u8 *in)
{
	if (n >= GDB_NR_REGS)
		return -EINVAL;
	memcpy(gdb_reg_field(r, n), in, gdb_reg_size(n));
	return 0;
}

void gdb_regs_pack(const struct gdb_x86_regs *r, u8 *out)
{
	for (unsigned int n = 0; n < GDB_NR_REGS; n++) {
		gdb_reg_get(r, n, out);
		out += gdb_reg_size(n);
	}
}

void gdb_regs_unpack(struct gdb_x86_regs *r, const u8 *in)
{
	for (unsigned int n = 0; n < GDB_NR_REGS; n++) {
		gdb_reg_set(r, n, in);
		in += gdb_reg_size(n);
	}
}

/*
 * The FSAVE tag (SDM Vol. 1, 8.1.7) of one 80-bit value that is not empty:
 * 0 valid, 1 zero, 2 special (NaN, infinity, denormal, unnormal).
 */
static unsigned int gdb_x87_tag(const u8 *v)
{
	u64 mant;
	unsigned int exp = (v[8] | v[9] << 8) & 0x7fff;

	memcpy(&mant, v, 8);
	if (exp == 0x7fff)
		return 2;
	if (exp == 0)
		return mant ? 2 : 1;
	return mant >> 63 ? 0 : 2;	/* integer bit clear: unnormal */
}

/*
 * The full tag word from FXSAVE's abridged one (bit j set: physical
 * register j is not empty). fpr[i] holds ST(i), the physical register
 * (TOP + i) mod 8, TOP being FSW bits 13:11.
 */
static u32 gdb_x87_full_tag(const struct kvm_fpu *fpu)
{
	unsigned int top = (fpu->fsw >> 11) & 7;
	u32 tag = 0;

	for (unsigned int j = 0; j < 8; j++) {
		unsigned int t = 3;	/* empty */

		if (fpu->ftwx & (1u << j))
			t = gdb_x87_tag(fpu->fpr[(j - top) & 7]);
		tag |= t << (2 * j);
	}
	return tag;
}

void gdb_regs_from_kvm(struct gdb_x86_regs *r, const struct kvm_regs *regs,
		       const struct kvm_sregs *sregs, const struct kvm_fpu *fpu)
{
	memset(r, 0, sizeof(*r));
	r->gpr[0] = regs->rax;
	r->gpr[1] = regs->rbx;
	r->gpr[2] = regs->rcx;
	r->gpr[3] = regs->rdx;
	r->gpr[4] = regs->rsi;
	r->gpr[5] = regs->rdi;
	r->gpr[6] = regs->rbp;
	r->gpr[7] = regs->rsp;
	r->gpr[8] = regs->r8;
	r->gpr[9] = regs->r9;
	r->gpr[10] = regs->r10;
	r->gpr[11] = regs->r11;
	r->gpr[12] = regs->r12;
	r->gpr[13] = regs->r13;
	r->gpr[14] = regs->r14;
	r->gpr[15] = regs->r15;
	r->rip = regs->rip;
	r->eflags = (u32)regs->rflags;
	r->seg[0] = sregs->cs.selector;
	r->seg[1] = sregs->ss.selector;
	r->seg[2] = sregs->ds.selector;
	r->seg[3] = sregs->es.selector;
	r->seg[4] = sregs->fs.selector;
	r->seg[5] = sregs->gs.selector;
	r->fs_base = sregs->fs.base;
	r->gs_base = sregs->gs.base;
	r->ftag = 0xffff;	/* all empty, unless the FPU state says otherwise */
	if (!fpu)
		return;
	for (unsigned int i = 0; i < 8; i++)
		memcpy(r->st[i], fpu->fpr[i], 10);
	r->fctrl = fpu->fcw;
	r->fstat = fpu->fsw;
	r->ftag = gdb_x87_full_tag(fpu);
	/* 64-bit FXSAVE keeps a 64-bit FPU IP/DP: gdb splits them into offset and "segment". */
	r->fioff = (u32)fpu->last_ip;
	r->fiseg = (u32)(fpu->last_ip >> 32);
	r->fooff = (u32)fpu->last_dp;
	r->foseg = (u32)(fpu->last_dp >> 32);
	r->fop = fpu->last_opcode & 0x7ff;
	memcpy(r->xmm, fpu->xmm, sizeof(r->xmm));
	r->mxcsr = fpu->mxcsr;
}

void gdb_regs_to_kvm(const struct gdb_x86_regs *r, struct kvm_regs *regs,
		     struct kvm_sregs *sregs, struct kvm_fpu *fpu)
{
	regs->rax = r->gpr[0];
	regs->rbx = r->gpr[1];
	regs->rcx = r->gpr[2];
	regs->rdx = r->gpr[3];
	regs->rsi = r->gpr[4];
	regs->rdi = r->gpr[5];
	regs->rbp = r->gpr[6];
	regs->rsp = r->gpr[7];
	regs->r8 = r->gpr[8];
	regs->r9 = r->gpr[9];
	regs->r10 = r->gpr[10];
	regs->r11 = r->gpr[11];
	regs->r12 = r->gpr[12];
	regs->r13 = r->gpr[13];
	regs->r14 = r->gpr[14];
	regs->r15 = r->gpr[15];
	regs->rip = r->rip;
	/* RFLAGS bits 63:22 are reserved (zero); bit 1 always reads as one. */
	regs->rflags = (regs->rflags & ~0xffffffffull) | r->eflags | 0x2;
	sregs->fs.base = r->fs_base;
	sregs->gs.base = r->gs_base;
	if (!fpu)
		return;
	for (unsigned int i = 0; i < 8; i++)
		memcpy(fpu->fpr[i], r->st[i], 10);
	fpu->fcw = (u16)r->fctrl;
	fpu->fsw = (u16)r->fstat;
	fpu->ftwx = 0;
	for (unsigned int j = 0; j < 8; j++)
		if (((r->ftag >> (2 * j)) & 3) != 3)
			fpu->ftwx |= (u8)(1u << j);
	fpu->last_ip = (u64)r->fiseg << 32 | r->fioff;
	fpu->last_dp = (u64)r->foseg << 32 | r->fooff;
	fpu->last_opcode = (u16)(r->fop & 0x7ff);
	memcpy(fpu->xmm, r->xmm, sizeof(fpu->xmm));
	fpu->mxcsr = r->mxcsr;
}

bool gdb_regs_selectors_changed(const struct gdb_x86_regs *a, const struct gdb_x86_regs *b)
{
	return memcmp(a->seg, b->seg, sizeof(a->seg)) != 0;
}

/*
 * What the GDB stub does to the VM: registers (KVM_GET/SET_REGS, SREGS,
 * FPU), guest memory by virtual address (the page walker), breakpoints and
 * watchpoints (int3 bytes or debug registers) and KVM_SET_GUEST_DEBUG.
 */
#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>

#include "gdbstub_priv.h"
#include "trapeze/debug/inspect.h"
#include "trapeze/debug/pagewalk.h"
#include "trapeze/vcpu.h"
#include "trapeze/vm.h"

#define INT3		0xcc
#define DR6_BS		(1ull << 14)	/* single-step (SDM 3B 17.2.3) */
#define DR7_FIXED_1	(1ull << 10)	/* reads as one (SDM 3B 17.2.4) */
#define DB_VECTOR	1
#define BP_VECTOR	3

static struct vcpu *gdb_vcpu(struct gdbstub *g, unsigned int id)
{
	return &g->vm->vcpus[id];
}

int gdb_target_get_regs(struct gdbstub *g, unsigned int id, struct gdb_x86_regs *r)
{
	struct vcpu *v = gdb_vcpu(g, id);
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	struct kvm_fpu fpu;
	bool have_fpu;

	if (ioctl(v->fd, KVM_GET_REGS, &regs) < 0 || ioctl(v->fd, KVM_GET_SREGS, &sregs) < 0)
		return -errno;
	have_fpu = ioctl(v->fd, KVM_GET_FPU, &fpu) == 0;
	gdb_regs_from_kvm(r, &regs, &sregs, have_fpu ? &fpu : NULL);
	return 0;
}

/* True when any x87/SSE register differs. */
static bool gdb_fpu_changed(const struct gdb_x86_regs *a, const struct gdb_x86_regs *b)
{
	return memcmp(a->st, b->st, sizeof(a->st)) || a->fctrl != b->fctrl ||
	       a->fstat != b->fstat || a->ftag != b->ftag || a->fiseg != b->fiseg ||
	       a->fioff != b->fioff || a->foseg != b->foseg || a->fooff != b->fooff ||
	       a->fop != b->fop || memcmp(a->xmm, b->xmm, sizeof(a->xmm)) ||
	       a->mxcsr != b->mxcsr;
}

int gdb_target_set_regs(struct gdbstub *g, unsigned int id, const struct gdb_x86_regs *r)
{
	struct vcpu *v = gdb_vcpu(g, id);
	struct gdb_x86_regs cur;
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	struct kvm_fpu fpu;
	bool have_fpu;

	if (ioctl(v->fd, KVM_GET_REGS, &regs) < 0 || ioctl(v->fd, KVM_GET_SREGS, &sregs) < 0)
		return -errno;
	have_fpu = ioctl(v->fd, KVM_GET_FPU, &fpu) == 0;
	gdb_regs_from_kvm(&cur, &regs, &sregs, have_fpu ? &fpu : NULL);
	if (gdb_regs_selectors_changed(&cur, r))
		return -EPERM;
	gdb_regs_to_kvm(r, &regs, &sregs, have_fpu ? &fpu : NULL);
	if (ioctl(v->fd, KVM_SET_REGS, &regs) < 0)
		return -errno;
	if ((cur.fs_base != r->fs_base || cur.gs_base != r->gs_base) &&
	    ioctl(v->fd, KVM_SET_SREGS, &sregs) < 0)
		return -errno;
	if (have_fpu && gdb_fpu_changed(&cur, r) && ioctl(v->fd, KVM_SET_FPU, &fpu) < 0)
		return -errno;
	return 0;
}

static int gdb_walk_regs(struct gdbstub *g, unsigned int id, struct pagewalk_regs *wr)
{
	struct kvm_sregs sr;

	if (ioctl(gdb_vcpu(g, id)->fd, KVM_GET_SREGS, &sr) < 0)
		return -errno;
	inspect_walk_regs(&sr, wr);
	return 0;
}

int gdb_target_read(struct gdbstub *g, unsigned int id, u64 va, void *buf, u64 len, u64 *done)
{
	struct pagewalk_regs wr;
	int r = gdb_walk_regs(g, id, &wr);

	*done = 0;
	if (r)
		return r;
	return pagewalk_read(&g->vm->mem, &wr, va, buf, len, done);
}

int gdb_target_write(struct gdbstub *g, unsigned int id, u64 va, const void *buf, u64 len)
{
	struct pagewalk_regs wr;
	u64 done;
	int r = gdb_walk_regs(g, id, &wr);

	if (r)
		return r;
	return pagewalk_write(&g->vm->mem, &wr, va, buf, len, &done);
}

int gdb_target_cpl(struct gdbstub *g, unsigned int id)
{
	struct kvm_regs r;
	struct kvm_sregs sr;
	struct vcpu *v = gdb_vcpu(g, id);

	if (ioctl(v->fd, KVM_GET_REGS, &r) < 0 || ioctl(v->fd, KVM_GET_SREGS, &sr) < 0)
		return -errno;
	return (int)inspect_cpl(&sr, r.rflags);
}

/* ---- breakpoints -------------------------------------------------------- */

static struct gdb_bp *gdb_bp_find(struct gdbstub *g, unsigned int type, u64 addr)
{
	for (size_t i = 0; i < GDB_MAX_BPS; i++)
		if (g->bps[i].used && g->bps[i].type == type && g->bps[i].addr == addr)
			return &g->bps[i];
	return NULL;
}

static int gdb_dr_free_slot(struct gdbstub *g)
{
	bool used[GDB_NR_DR] = { false };

	for (size_t i = 0; i < GDB_MAX_BPS; i++)
		if (g->bps[i].used && g->bps[i].slot >= 0)
			used[g->bps[i].slot] = true;
	for (int s = 0; s < GDB_NR_DR; s++)
		if (!used[s])
			return s;
	return -1;
}

int gdb_bp_insert(struct gdbstub *g, unsigned int type, u64 addr, u64 len)
{
	struct gdb_bp *bp = NULL;
	bool int3;

	/* x86 debug registers watch writes or all accesses, never reads alone (SDM 3B 17.2.5). */
	if (type == GDB_WP_READ || type > GDB_WP_ACCESS)
		return -ENOTSUP;
	if (gdb_bp_find(g, type, addr))
		return 0;	/* gdb may insert the same location twice */
	for (size_t i = 0; i < GDB_MAX_BPS && !bp; i++)
		if (!g->bps[i].used)
			bp = &g->bps[i];
	if (!bp)
		return -ENOSPC;
	/*
	 * A software breakpoint takes a free debug register too: that patches
	 * no guest memory and works on every host, while int3 does not
	 * everywhere: kvm_pvm cannot emulate it at CPL 0 (PLATFORM.md: an
	 * emulation failure), and QEMU's software SVM (the nested test host)
	 * delivers it to the guest without the #BP intercept KVM relies on.
	 * Beyond four, hardware KVM gets int3 bytes (KVM_GUESTDBG_USE_SW_BP).
	 */
	int3 = type == GDB_BP_SW && gdb_dr_free_slot(g) < 0;
	if (int3 && g->software)
		return -ENOSPC;
	memset(bp, 0, sizeof(*bp));
	bp->type = type;
	bp->addr = addr;
	bp->len = len;
	bp->slot = -1;
	if (int3) {
		struct pagewalk_regs wr;
		struct pagewalk w;
		int r = gdb_walk_regs(g, g->g_vcpu, &wr);

		if (r)
			return r;
		if (pagewalk(&g->vm->mem, &wr, addr, &w) || !guest_mem_ptr(&g->vm->mem, w.gpa, 1))
			return -EFAULT;
		bp->gpa = w.gpa;
	} else {
		if (type == GDB_WP_WRITE || type == GDB_WP_ACCESS) {
			/* DR7 LEN: 1, 2, 4 or 8 bytes, naturally aligned (SDM 3B 17.2.5). */
			if ((len != 1 && len != 2 && len != 4 && len != 8) || (addr & (len - 1)))
				return -EINVAL;
		}
		bp->slot = gdb_dr_free_slot(g);
		if (bp->slot < 0)
			return -ENOSPC;
	}
	bp->used = true;
	return 0;
}

int gdb_bp_remove(struct gdbstub *g, unsigned int type, u64 addr, u64 len)
{
	struct gdb_bp *bp = gdb_bp_find(g, type, addr);

	(void)len;
	if (!bp)
		return type == GDB_WP_READ ? -ENOTSUP : -ENOENT;
	if (bp->planted)	/* not while stopped, but never leave an int3 behind */
		guest_mem_write(&g->vm->mem, bp->gpa, &bp->saved, 1);
	bp->used = false;
	return 0;
}

void gdb_bp_remove_all(struct gdbstub *g)
{
	for (size_t i = 0; i < GDB_MAX_BPS; i++)
		if (g->bps[i].used)
			gdb_bp_remove(g, g->bps[i].type, g->bps[i].addr, g->bps[i].len);
}

void gdb_bp_plant(struct gdbstub *g)
{
	static const u8 int3 = INT3;

	for (size_t i = 0; i < GDB_MAX_BPS; i++) {
		struct gdb_bp *bp = &g->bps[i];

		if (!bp->used || bp->slot >= 0 || bp->planted)
			continue;
		if (guest_mem_read(&g->vm->mem, bp->gpa, &bp->saved, 1) ||
		    guest_mem_write(&g->vm->mem, bp->gpa, &int3, 1))
			continue;
		bp->planted = true;
	}
}

void gdb_bp_unplant(struct gdbstub *g)
{
	for (size_t i = 0; i < GDB_MAX_BPS; i++) {
		struct gdb_bp *bp = &g->bps[i];
		u8 now;

		if (!bp->planted)
			continue;
		/* If the guest rewrote the byte meanwhile, its value stays. */
		if (!guest_mem_read(&g->vm->mem, bp->gpa, &now, 1) && now == INT3)
			guest_mem_write(&g->vm->mem, bp->gpa, &bp->saved, 1);
		bp->planted = false;
	}
}

/* DR7 for the breakpoints that hold debug registers (SDM 3B 17.2.4). */
static u64 gdb_dr7(struct gdbstub *g, u64 *dr)
{
	u64 dr7 = DR7_FIXED_1;

	for (size_t i = 0; i < GDB_MAX_BPS; i++) {
		const struct gdb_bp *bp = &g->bps[i];
		u64 rw = 0, lenbits = 0;

		if (!bp->used || bp->slot < 0)
			continue;
		if (bp->type == GDB_WP_WRITE)
			rw = 1;
		else if (bp->type == GDB_WP_ACCESS)
			rw = 3;
		if (rw)	/* LEN encodings: 1 -> 00, 2 -> 01, 8 -> 10, 4 -> 11 */
			lenbits = bp->len == 2 ? 1 : bp->len == 8 ? 2 : bp->len == 4 ? 3 : 0;
		dr[bp->slot] = bp->addr;
		dr7 |= 1ull << (2 * bp->slot);	/* Ln: enable */
		dr7 |= rw << (16 + 4 * bp->slot) | lenbits << (18 + 4 * bp->slot);
	}
	return dr7;
}

/* True when the instruction at vcpu's RIP is HLT, which only an interrupt ends. */
static bool gdb_at_hlt(struct gdbstub *g, unsigned int id)
{
	u8 code[4];
	size_t n = inspect_code(g->vm, gdb_vcpu(g, id), code, sizeof(code));

	return n && code[0] == 0xf4;
}

int gdb_target_arm(struct gdbstub *g)
{
	bool any_int3 = false, any_dr;
	int ret = 0;

	memset(g->debugreg, 0, sizeof(g->debugreg));
	g->debugreg[7] = gdb_dr7(g, g->debugreg);
	any_dr = g->debugreg[7] != DR7_FIXED_1;
	for (size_t i = 0; i < GDB_MAX_BPS; i++)
		any_int3 |= g->bps[i].used && g->bps[i].slot < 0;
	for (unsigned int i = 0; i < g->vm->nr_vcpus; i++) {
		struct kvm_guest_debug dbg;
		u32 c = 0;

		if (any_int3)
			c |= KVM_GUESTDBG_USE_SW_BP;
		if (any_dr)
			c |= KVM_GUESTDBG_USE_HW_BP;
		if (g->stepping[i]) {
			c |= KVM_GUESTDBG_SINGLESTEP;
			/* No interrupt handler in the middle of a step, where KVM can. */
			if ((g->dbg_caps & KVM_GUESTDBG_BLOCKIRQ) && !gdb_at_hlt(g, i))
				c |= KVM_GUESTDBG_BLOCKIRQ;
		}
		if (c)
			c |= KVM_GUESTDBG_ENABLE;
		memset(&dbg, 0, sizeof(dbg));
		dbg.control = c;
		memcpy(dbg.arch.debugreg, g->debugreg, sizeof(g->debugreg));
		if (ioctl(gdb_vcpu(g, i)->fd, KVM_SET_GUEST_DEBUG, &dbg) < 0 && !ret)
			ret = -errno;
		g->control[i] = c;
	}
	return ret;
}

void gdb_target_disarm(struct gdbstub *g)
{
	struct kvm_guest_debug dbg;

	memset(&dbg, 0, sizeof(dbg));
	for (unsigned int i = 0; i < g->vm->nr_vcpus; i++) {
		ioctl(gdb_vcpu(g, i)->fd, KVM_SET_GUEST_DEBUG, &dbg);
		g->control[i] = 0;
		g->stepping[i] = false;
	}
}

/* Hands an int3 that is not ours back to the guest (KVM_GUESTDBG_INJECT_BP). */
static void gdb_reinject_bp(struct gdbstub *g, struct vcpu *vcpu)
{
	struct kvm_guest_debug dbg;

	memset(&dbg, 0, sizeof(dbg));
	dbg.control = g->control[vcpu->id] | KVM_GUESTDBG_INJECT_BP;
	memcpy(dbg.arch.debugreg, g->debugreg, sizeof(g->debugreg));
	ioctl(vcpu->fd, KVM_SET_GUEST_DEBUG, &dbg);
}

enum gdb_event_kind gdb_target_classify(struct gdbstub *g, struct vcpu *vcpu,
					const struct vm_exit *e, u64 *addr)
{
	*addr = 0;
	if (e->debug.exception == DB_VECTOR) {
		for (int s = 0; s < GDB_NR_DR; s++) {
			if (!(e->debug.dr6 & (1ull << s)))
				continue;
			for (size_t i = 0; i < GDB_MAX_BPS; i++) {
				const struct gdb_bp *bp = &g->bps[i];

				if (!bp->used || bp->slot != s)
					continue;
				*addr = bp->addr;
				switch (bp->type) {
				case GDB_BP_SW:
					return GDB_EV_SWBREAK;
				case GDB_BP_HW:
					return GDB_EV_HWBREAK;
				case GDB_WP_WRITE:
					return GDB_EV_WATCH;
				default:
					return GDB_EV_AWATCH;
				}
			}
		}
		if (e->debug.dr6 & DR6_BS)
			return GDB_EV_STEP;
		return GDB_EV_TRAP;
	}
	if (e->debug.exception == BP_VECTOR) {
		for (size_t i = 0; i < GDB_MAX_BPS; i++) {
			const struct gdb_bp *bp = &g->bps[i];

			if (bp->used && bp->planted && bp->addr == e->debug.pc) {
				*addr = bp->addr;
				return GDB_EV_SWBREAK;
			}
		}
		/* The guest's own int3 (a syscall gate, a self-test): it gets its #BP. */
		gdb_reinject_bp(g, vcpu);
		return GDB_EV_NONE;
	}
	return GDB_EV_TRAP;
}

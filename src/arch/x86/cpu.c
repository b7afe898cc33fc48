/*
 * x86 vCPU set-up: CPUID per vCPU, boot register state, and the register
 * dump for guests that die. Segment values mirror the GDT that
 * boot_tables.c writes (selectors in arch/x86/layout.h): KVM loads the
 * hidden parts of the segment registers from what we pass here, not from
 * the GDT, so the two must agree.
 */
#include <errno.h>
#include <linux/kvm.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "trapeze/arch/x86/cpu.h"
#include "trapeze/arch/x86/layout.h"

/* Control-register and EFER bits (Intel SDM vol. 3A, 2.5 and 2.2.1). */
#define CR0_PE (1ULL << 0)
#define CR0_MP (1ULL << 1)
#define CR0_ET (1ULL << 4)
#define CR0_NE (1ULL << 5)
#define CR0_WP (1ULL << 16)
#define CR0_PG (1ULL << 31)
#define CR4_PAE (1ULL << 5)
#define CR4_OSFXSR (1ULL << 9)
#define CR4_OSXMMEXCPT (1ULL << 10)
#define EFER_LME (1ULL << 8)
#define EFER_LMA (1ULL << 10)
#define RFLAGS_RESERVED (1ULL << 1)

/* Segment descriptor types (SDM vol. 3A, 3.4.5.1). */
#define SEG_TYPE_CODE_XR_ACCESSED 0xb
#define SEG_TYPE_DATA_RW_ACCESSED 0x3

int x86_cpu_set_cpuid(int vcpu_fd, const struct kvm_cpuid2 *supported,
		      unsigned int apic_id)
{
	size_t sz = sizeof(*supported) + supported->nent * sizeof(supported->entries[0]);
	struct kvm_cpuid2 *cpuid = malloc(sz);
	int r = 0;

	if (!cpuid)
		return -ENOMEM;
	memcpy(cpuid, supported, sz);
	for (u32 i = 0; i < cpuid->nent; i++) {
		struct kvm_cpuid_entry2 *e = &cpuid->entries[i];

		switch (e->function) {
		case 0x1:	/* EBX[31:24]: initial APIC ID */
			e->ebx = (e->ebx & 0x00ffffff) | (apic_id << 24);
			/*
			 * ECX[31]: "hypervisor present". Some hosts' KVM (e.g. nested
			 * under SVM) leave it out of the supported CPUID; guests use it
			 * to find the KVM leaves at 0x40000000 (kvmclock, PV features).
			 */
			e->ecx |= 1u << 31;
			break;
		case 0xb:	/* EDX: x2APIC ID of this logical processor */
		case 0x1f:
			e->edx = apic_id;
			break;
		}
	}
	if (ioctl(vcpu_fd, KVM_SET_CPUID2, cpuid) < 0)
		r = -errno;
	free(cpuid);
	return r;
}

/* Local APIC register offsets and LVT delivery modes (SDM vol. 3A, 11.4.1 and 11.5.1). */
#define APIC_LVT0 0x350
#define APIC_LVT1 0x360
#define APIC_LVT_MODE_SHIFT 8
#define APIC_MODE_NMI 0x4
#define APIC_MODE_EXTINT 0x7

static void lapic_set_lvt(struct kvm_lapic_state *l, unsigned int reg, u32 mode)
{
	u32 v;

	memcpy(&v, l->regs + reg, sizeof(v));
	v &= ~(0x700u | (1u << 16));	/* delivery mode, and unmask */
	v |= mode << APIC_LVT_MODE_SHIFT;
	memcpy(l->regs + reg, &v, sizeof(v));
}

int x86_cpu_set_lapic(int vcpu_fd)
{
	struct kvm_lapic_state lapic;

	/*
	 * Virtual-wire mode, as a PC BIOS leaves it: LINT0 takes the 8259's
	 * ExtINT, LINT1 takes NMIs. Guests that never program their LAPIC
	 * (tiny guests, early Linux) then still get PIC interrupts.
	 */
	if (ioctl(vcpu_fd, KVM_GET_LAPIC, &lapic) < 0)
		return -errno;
	lapic_set_lvt(&lapic, APIC_LVT0, APIC_MODE_EXTINT);
	lapic_set_lvt(&lapic, APIC_LVT1, APIC_MODE_NMI);
	if (ioctl(vcpu_fd, KVM_SET_LAPIC, &lapic) < 0)
		return -errno;
	return 0;
}

static void flat_segment(struct kvm_segment *s, u16 sel, u8 type, bool code64)
{
	memset(s, 0, sizeof(*s));
	s->selector = sel;
	s->base = 0;
	s->limit = 0xffffffff;
	s->type = type;
	s->present = 1;
	s->s = 1;
	s->g = 1;
	s->l = code64;
	s->db = !code64;
}

static void real_segment(struct kvm_segment *s, u16 sel, u8 type)
{
	memset(s, 0, sizeof(*s));
	s->selector = sel;
	s->base = (u64)sel << 4;
	s->limit = 0xffff;
	s->type = type;
	s->present = 1;
	s->s = 1;
}

static void set_data_segments(struct kvm_sregs *sr, const struct kvm_segment *d)
{
	sr->ds = *d;
	sr->es = *d;
	sr->fs = *d;
	sr->gs = *d;
	sr->ss = *d;
}

static void boot_sregs(struct kvm_sregs *sr, const struct boot_state *bs)
{
	struct kvm_segment data;

	switch (bs->mode) {
	case BOOT_MODE_REAL:
		real_segment(&sr->cs, bs->real_cs, SEG_TYPE_CODE_XR_ACCESSED);
		real_segment(&data, bs->real_cs, SEG_TYPE_DATA_RW_ACCESSED);
		set_data_segments(sr, &data);
		real_segment(&sr->ss, 0, SEG_TYPE_DATA_RW_ACCESSED);
		sr->cr0 &= ~(CR0_PE | CR0_PG);
		sr->cr4 = 0;
		sr->efer = 0;
		return;
	case BOOT_MODE_PROT32:
		flat_segment(&sr->cs, X86_SEL_CODE32, SEG_TYPE_CODE_XR_ACCESSED, false);
		/* PVH ABI: PE set, every other writable CR0 bit clear. */
		sr->cr0 = CR0_PE | CR0_ET;
		sr->cr4 = 0;
		sr->efer = 0;
		break;
	case BOOT_MODE_LONG64:
	case BOOT_MODE_LINUX64:
		flat_segment(&sr->cs, bs->mode == BOOT_MODE_LINUX64 ? X86_SEL_LINUX_CS :
				      X86_SEL_CODE64, SEG_TYPE_CODE_XR_ACCESSED, true);
		sr->cr0 = CR0_PE | CR0_MP | CR0_ET | CR0_NE | CR0_WP | CR0_PG;
		sr->cr3 = X86_BOOT_PML4;
		sr->cr4 = CR4_PAE | CR4_OSFXSR | CR4_OSXMMEXCPT;
		sr->efer = EFER_LME | EFER_LMA;
		break;
	}
	flat_segment(&data, X86_SEL_DATA, SEG_TYPE_DATA_RW_ACCESSED, false);
	set_data_segments(sr, &data);
	sr->gdt.base = X86_BOOT_GDT;
	sr->gdt.limit = X86_GDT_ENTRIES * 8 - 1;
	sr->idt.base = 0;
	sr->idt.limit = 0;
}

int x86_cpu_set_boot_state(int vcpu_fd, const struct boot_state *bs)
{
	struct kvm_sregs sr;
	struct kvm_regs regs;

	/* Start from KVM's reset state so TR, LDT and APIC base stay valid. */
	if (ioctl(vcpu_fd, KVM_GET_SREGS, &sr) < 0)
		return -errno;
	boot_sregs(&sr, bs);
	if (ioctl(vcpu_fd, KVM_SET_SREGS, &sr) < 0)
		return -errno;

	memset(&regs, 0, sizeof(regs));
	regs.rflags = RFLAGS_RESERVED;
	regs.rip = bs->entry;
	regs.rsp = bs->stack;
	regs.rsi = bs->rsi;
	regs.rbx = bs->rbx;
	if (ioctl(vcpu_fd, KVM_SET_REGS, &regs) < 0)
		return -errno;
	return 0;
}

static void dump_segment(FILE *out, const char *name, const struct kvm_segment *s)
{
	fprintf(out, "  %-3s sel=%04x base=%016llx limit=%08x type=%x p=%u dpl=%u db=%u l=%u g=%u\n",
		name, s->selector, (unsigned long long)s->base, s->limit, s->type,
		s->present, s->dpl, s->db, s->l, s->g);
}

static void dump_code(int vcpu_fd, const struct guest_mem *mem,
		      const struct kvm_sregs *sr, u64 rip, FILE *out)
{
	struct kvm_translation tr = { .linear_address = sr->cs.base + rip };
	u8 code[16];

	if (sr->cr0 & CR0_PG) {
		if (ioctl(vcpu_fd, KVM_TRANSLATE, &tr) < 0 || !tr.valid) {
			fprintf(out, "  code: linear %llx is not mapped\n",
				(unsigned long long)tr.linear_address);
			return;
		}
	} else {
		tr.physical_address = tr.linear_address;
	}
	if (guest_mem_read(mem, tr.physical_address, code, sizeof(code)) < 0) {
		fprintf(out, "  code: physical %llx is not RAM\n",
			(unsigned long long)tr.physical_address);
		return;
	}
	fprintf(out, "  code at %llx:", (unsigned long long)tr.physical_address);
	for (size_t i = 0; i < sizeof(code); i++)
		fprintf(out, " %02x", code[i]);
	fprintf(out, "\n");
}

void x86_cpu_dump(int vcpu_fd, const struct guest_mem *mem, FILE *out)
{
	struct kvm_regs r;
	struct kvm_sregs sr;

	if (ioctl(vcpu_fd, KVM_GET_REGS, &r) < 0 || ioctl(vcpu_fd, KVM_GET_SREGS, &sr) < 0) {
		fprintf(out, "  (registers unavailable: %s)\n", strerror(errno));
		return;
	}
	fprintf(out, "  RIP=%016llx RSP=%016llx RFLAGS=%016llx\n",
		r.rip, r.rsp, r.rflags);
	fprintf(out, "  RAX=%016llx RBX=%016llx RCX=%016llx RDX=%016llx\n",
		r.rax, r.rbx, r.rcx, r.rdx);
	fprintf(out, "  RSI=%016llx RDI=%016llx RBP=%016llx R8 =%016llx\n",
		r.rsi, r.rdi, r.rbp, r.r8);
	fprintf(out, "  R9 =%016llx R10=%016llx R11=%016llx R12=%016llx\n",
		r.r9, r.r10, r.r11, r.r12);
	fprintf(out, "  R13=%016llx R14=%016llx R15=%016llx\n", r.r13, r.r14, r.r15);
	fprintf(out, "  CR0=%016llx CR2=%016llx CR3=%016llx CR4=%016llx\n",
		sr.cr0, sr.cr2, sr.cr3, sr.cr4);
	fprintf(out, "  EFER=%016llx APIC_BASE=%016llx\n", sr.efer, sr.apic_base);
	dump_segment(out, "CS", &sr.cs);
	dump_segment(out, "SS", &sr.ss);
	dump_segment(out, "DS", &sr.ds);
	dump_segment(out, "TR", &sr.tr);
	fprintf(out, "  GDT base=%016llx limit=%04x  IDT base=%016llx limit=%04x\n",
		sr.gdt.base, sr.gdt.limit, sr.idt.base, sr.idt.limit);
	dump_code(vcpu_fd, mem, &sr, r.rip, out);
}

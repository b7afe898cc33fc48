/*
 * Printing a stopped vCPU and the VM around it for --step and gdb's
 * `monitor`: registers, memory, translations, devices.
 */
#include <errno.h>
#include <inttypes.h>
#include <string.h>
#include <sys/ioctl.h>

#include "trapeze/debug/inspect.h"
#include "trapeze/irq.h"
#include "trapeze/vcpu.h"
#include "trapeze/vm.h"

/* Architectural bits (SDM Vol. 3A 2.5 control registers, 2.2.1 EFER, Vol. 1 3.4.3 EFLAGS). */
#define X86_CR0_PE	(1ull << 0)
#define X86_RFLAGS_VM	(1ull << 17)

struct bit_name {
	unsigned int bit;
	const char *name;
};

static const struct bit_name cr0_bits[] = {
	{ 0, "PE" }, { 1, "MP" }, { 2, "EM" }, { 3, "TS" }, { 4, "ET" }, { 5, "NE" },
	{ 16, "WP" }, { 18, "AM" }, { 29, "NW" }, { 30, "CD" }, { 31, "PG" },
};

static const struct bit_name cr4_bits[] = {
	{ 0, "VME" }, { 1, "PVI" }, { 2, "TSD" }, { 3, "DE" }, { 4, "PSE" }, { 5, "PAE" },
	{ 6, "MCE" }, { 7, "PGE" }, { 8, "PCE" }, { 9, "OSFXSR" }, { 10, "OSXMMEXCPT" },
	{ 11, "UMIP" }, { 12, "LA57" }, { 13, "VMXE" }, { 14, "SMXE" }, { 16, "FSGSBASE" },
	{ 17, "PCIDE" }, { 18, "OSXSAVE" }, { 20, "SMEP" }, { 21, "SMAP" }, { 22, "PKE" },
};

static const struct bit_name efer_bits[] = {
	{ 0, "SCE" }, { 8, "LME" }, { 10, "LMA" }, { 11, "NXE" }, { 12, "SVME" },
	{ 14, "FFXSR" },
};

static const struct bit_name rflags_bits[] = {
	{ 0, "CF" }, { 2, "PF" }, { 4, "AF" }, { 6, "ZF" }, { 7, "SF" }, { 8, "TF" },
	{ 9, "IF" }, { 10, "DF" }, { 11, "OF" }, { 14, "NT" }, { 16, "RF" }, { 17, "VM" },
	{ 18, "AC" }, { 19, "VIF" }, { 20, "VIP" }, { 21, "ID" },
};

static void print_bits(FILE *out, u64 v, const struct bit_name *names, size_t n)
{
	bool any = false;

	fputs(" [", out);
	for (size_t i = 0; i < n; i++) {
		if (v & (1ull << names[i].bit)) {
			fprintf(out, "%s%s", any ? " " : "", names[i].name);
			any = true;
		}
	}
	fputs("]", out);
}

unsigned int inspect_cpl(const struct kvm_sregs *sr, u64 rflags)
{
	if (!(sr->cr0 & X86_CR0_PE))
		return 0;
	if (rflags & X86_RFLAGS_VM)
		return 3;
	return sr->cs.selector & 3;
}

const char *inspect_mode_name(const struct kvm_sregs *sr, u64 rflags)
{
	if (!(sr->cr0 & X86_CR0_PE))
		return "real mode";
	if (rflags & X86_RFLAGS_VM)
		return "virtual-8086 mode";
	if (sr->efer & PW_EFER_LMA)
		return sr->cs.l ? "long mode, 64-bit" : "long mode, compatibility";
	return sr->cs.db ? "protected mode, 32-bit" : "protected mode, 16-bit";
}

void inspect_walk_regs(const struct kvm_sregs *sr, struct pagewalk_regs *out)
{
	out->cr0 = sr->cr0;
	out->cr3 = sr->cr3;
	out->cr4 = sr->cr4;
	out->efer = sr->efer;
}

static bool get_regs(struct vcpu *vcpu, struct kvm_regs *r, struct kvm_sregs *sr, FILE *out)
{
	if ((r && ioctl(vcpu->fd, KVM_GET_REGS, r) < 0) ||
	    (sr && ioctl(vcpu->fd, KVM_GET_SREGS, sr) < 0)) {
		fprintf(out, "  (vcpu%u registers unavailable: %s)\n", vcpu->id, strerror(errno));
		return false;
	}
	return true;
}

void inspect_regs(struct vcpu *vcpu, FILE *out)
{
	struct kvm_regs r;

	if (!get_regs(vcpu, &r, NULL, out))
		return;
	fprintf(out, "  rax 0x%016llx  rbx 0x%016llx  rcx 0x%016llx\n", r.rax, r.rbx, r.rcx);
	fprintf(out, "  rdx 0x%016llx  rsi 0x%016llx  rdi 0x%016llx\n", r.rdx, r.rsi, r.rdi);
	fprintf(out, "  rbp 0x%016llx  rsp 0x%016llx  r8  0x%016llx\n", r.rbp, r.rsp, r.r8);
	fprintf(out, "  r9  0x%016llx  r10 0x%016llx  r11 0x%016llx\n", r.r9, r.r10, r.r11);
	fprintf(out, "  r12 0x%016llx  r13 0x%016llx  r14 0x%016llx\n", r.r12, r.r13, r.r14);
	fprintf(out, "  r15 0x%016llx\n", r.r15);
	fprintf(out, "  rip 0x%016llx  rflags 0x%016llx", r.rip, r.rflags);
	print_bits(out, r.rflags, rflags_bits, ARRAY_SIZE(rflags_bits));
	fprintf(out, " IOPL=%llu\n", (r.rflags >> 12) & 3);
}

static void print_segment(FILE *out, const char *name, const struct kvm_segment *s)
{
	fprintf(out, "  %-4s sel=0x%04x base=0x%016llx limit=0x%08x type=0x%x s=%u dpl=%u p=%u db=%u l=%u g=%u%s\n",
		name, s->selector, (unsigned long long)s->base, s->limit, s->type, s->s,
		s->dpl, s->present, s->db, s->l, s->g, s->unusable ? " unusable" : "");
}

void inspect_sregs(struct vcpu *vcpu, FILE *out)
{
	struct kvm_sregs sr;
	struct kvm_regs r;

	if (!get_regs(vcpu, &r, &sr, out))
		return;
	fprintf(out, "  mode: %s, CPL %u, %s\n", inspect_mode_name(&sr, r.rflags),
		inspect_cpl(&sr, r.rflags), pagewalk_mode_name(pagewalk_mode_of(&(struct pagewalk_regs){
			.cr0 = sr.cr0, .cr3 = sr.cr3, .cr4 = sr.cr4, .efer = sr.efer })));
	print_segment(out, "cs", &sr.cs);
	print_segment(out, "ss", &sr.ss);
	print_segment(out, "ds", &sr.ds);
	print_segment(out, "es", &sr.es);
	print_segment(out, "fs", &sr.fs);
	print_segment(out, "gs", &sr.gs);
	print_segment(out, "tr", &sr.tr);
	print_segment(out, "ldt", &sr.ldt);
	fprintf(out, "  gdt  base=0x%016llx limit=0x%04x\n", (unsigned long long)sr.gdt.base,
		sr.gdt.limit);
	fprintf(out, "  idt  base=0x%016llx limit=0x%04x\n", (unsigned long long)sr.idt.base,
		sr.idt.limit);
	fprintf(out, "  cr0  0x%016llx", sr.cr0);
	print_bits(out, sr.cr0, cr0_bits, ARRAY_SIZE(cr0_bits));
	fprintf(out, "\n  cr2  0x%016llx\n  cr3  0x%016llx\n  cr4  0x%016llx", sr.cr2, sr.cr3,
		sr.cr4);
	print_bits(out, sr.cr4, cr4_bits, ARRAY_SIZE(cr4_bits));
	fprintf(out, "\n  cr8  0x%016llx\n  efer 0x%016llx", sr.cr8, sr.efer);
	print_bits(out, sr.efer, efer_bits, ARRAY_SIZE(efer_bits));
	fprintf(out, "\n  apic_base 0x%016llx\n", sr.apic_base);
}

/* One dump line: address, 16 hex bytes, their printable characters. */
static void dump_line(FILE *out, u64 addr, const u8 *p, size_t n)
{
	fprintf(out, "  0x%012" PRIx64 ":", addr);
	for (size_t i = 0; i < 16; i++) {
		if (i < n)
			fprintf(out, " %02x", p[i]);
		else
			fputs("   ", out);
	}
	fputs("  |", out);
	for (size_t i = 0; i < n; i++)
		fputc(p[i] >= 0x20 && p[i] < 0x7f ? p[i] : '.', out);
	fputs("|\n", out);
}

void inspect_phys(struct vm *vm, u64 gpa, u64 len, FILE *out)
{
	u8 line[16];

	for (u64 done = 0; done < len; done += 16) {
		size_t n = len - done < 16 ? (size_t)(len - done) : 16;

		if (gpa + done < gpa || guest_mem_read(&vm->mem, gpa + done, line, n)) {
			fprintf(out, "  0x%012" PRIx64 ": not guest RAM (RAM ends at 0x%" PRIx64
				"; MMIO is not read: it would reach a device)\n",
				gpa + done, guest_mem_end(&vm->mem));
			return;
		}
		dump_line(out, gpa + done, line, n);
	}
}

void inspect_virt(struct vm *vm, struct vcpu *vcpu, u64 va, u64 len, FILE *out)
{
	struct pagewalk_regs wr;
	struct kvm_sregs sr;
	u8 line[16];

	if (!get_regs(vcpu, NULL, &sr, out))
		return;
	inspect_walk_regs(&sr, &wr);
	for (u64 done = 0; done < len; done += 16) {
		size_t n = len - done < 16 ? (size_t)(len - done) : 16;
		u64 got = 0;

		if (pagewalk_read(&vm->mem, &wr, va + done, line, n, &got)) {
			struct pagewalk w;

			if (got)
				dump_line(out, va + done, line, (size_t)got);
			pagewalk(&vm->mem, &wr, va + done + got, &w);
			fprintf(out, "  0x%012" PRIx64 ": %s\n", va + done + got,
				w.mapped ? "maps to memory that is not guest RAM" : w.why);
			return;
		}
		dump_line(out, va + done, line, n);
	}
}

void inspect_translate(struct vm *vm, struct vcpu *vcpu, u64 va, FILE *out)
{
	struct kvm_translation tr = { .linear_address = va };
	struct pagewalk_regs wr;
	struct kvm_sregs sr;
	struct pagewalk w;
	int r;

	if (ioctl(vcpu->fd, KVM_TRANSLATE, &tr) < 0) {
		fprintf(out, "  KVM_TRANSLATE: %s\n", strerror(errno));
		return;
	}
	if (tr.valid)
		fprintf(out, "  KVM_TRANSLATE 0x%" PRIx64 " -> guest-physical 0x%llx\n", va,
			(unsigned long long)tr.physical_address);
	else
		fprintf(out, "  KVM_TRANSLATE 0x%" PRIx64 ": not mapped (valid=0)\n", va);
	/* Cross-check with our own walk; KVM fills writeable/usermode with fixed values on x86. */
	if (!get_regs(vcpu, NULL, &sr, out))
		return;
	inspect_walk_regs(&sr, &wr);
	r = pagewalk(&vm->mem, &wr, va, &w);
	if (!r && tr.valid && w.gpa == tr.physical_address)
		fprintf(out, "  the page walk agrees (%s, %s, %s)\n", pagewalk_mode_name(w.mode),
			w.writable ? "writable" : "read-only", w.user ? "user" : "supervisor only");
	else if (r && !tr.valid)
		fprintf(out, "  the page walk agrees: %s\n", w.why);
	else if (!r)
		fprintf(out, "  the page walk says guest-physical 0x%" PRIx64 "\n", w.gpa);
	else
		fprintf(out, "  the page walk says: %s\n", w.why);
}

void inspect_walk(struct vm *vm, struct vcpu *vcpu, u64 va, FILE *out)
{
	struct pagewalk_regs wr;
	struct kvm_sregs sr;
	struct pagewalk w;

	if (!get_regs(vcpu, NULL, &sr, out))
		return;
	inspect_walk_regs(&sr, &wr);
	pagewalk(&vm->mem, &wr, va, &w);
	fprintf(out, "  CR3=0x%llx CR0.PG=%d CR4.PAE=%d EFER.LMA=%d CR4.LA57=%d\n  ", sr.cr3,
		!!(sr.cr0 & PW_CR0_PG), !!(sr.cr4 & PW_CR4_PAE), !!(sr.efer & PW_EFER_LMA),
		!!(sr.cr4 & PW_CR4_LA57));
	pagewalk_print(&w, out);
}

static void print_claim(FILE *out, const char *bus, u64 addr, const struct bus_range *r)
{
	const char *kernel = irq_kernel_device(strcmp(bus, "mmio") == 0, addr);

	if (!r && kernel)
		fprintf(out, "  %-4s 0x%" PRIx64 ": in-kernel %s (KVM emulates it: no exit reaches trapeze)\n",
			bus, addr, kernel);
	else if (r)
		fprintf(out, "  %-4s 0x%" PRIx64 ": %s [0x%" PRIx64 "-0x%" PRIx64 "], offset 0x%" PRIx64 "\n",
			bus, addr, r->name, r->base, r->base + r->len - 1, addr - r->base);
	else
		fprintf(out, "  %-4s 0x%" PRIx64 ": unclaimed (reads all-ones, writes dropped)\n",
			bus, addr);
}

void inspect_dev(struct vm *vm, u64 addr, FILE *out)
{
	if (addr <= 0xffff)
		print_claim(out, "pio", addr, bus_find(&vm->pio, addr, 1));
	if (guest_mem_ptr(&vm->mem, addr, 1))
		fprintf(out, "  mem  0x%" PRIx64 ": guest RAM (no exit: the guest reads it directly)\n",
			addr);
	else
		print_claim(out, "mmio", addr, bus_find(&vm->mmio, addr, 1));
}

size_t inspect_code(struct vm *vm, struct vcpu *vcpu, u8 *buf, size_t len)
{
	struct pagewalk_regs wr;
	struct kvm_sregs sr;
	struct kvm_regs r;
	u64 got = 0;

	if (ioctl(vcpu->fd, KVM_GET_REGS, &r) < 0 || ioctl(vcpu->fd, KVM_GET_SREGS, &sr) < 0)
		return 0;
	inspect_walk_regs(&sr, &wr);
	/* Outside 64-bit mode the linear address is CS.base + RIP. */
	pagewalk_read(&vm->mem, &wr, (sr.efer & PW_EFER_LMA) && sr.cs.l ? r.rip : sr.cs.base + r.rip,
		      buf, len, &got);
	return (size_t)got;
}

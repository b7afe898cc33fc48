/*
 * x86 vCPU state: CPUID, the register state each boot mode starts from, and
 * the register dump printed when a guest dies.
 */
#ifndef TRAPEZE_ARCH_X86_CPU_H
#define TRAPEZE_ARCH_X86_CPU_H

#include <stdio.h>

#include "trapeze/guest_mem.h"
#include "trapeze/loader.h"
#include "trapeze/types.h"

struct kvm_cpuid2;

/*
 * Sets the CPUID a vCPU sees: what KVM supports, with this vCPU's APIC ID in
 * leaves 0x1, 0xB and 0x1F. 0 or -errno.
 */
int x86_cpu_set_cpuid(int vcpu_fd, const struct kvm_cpuid2 *supported,
		      unsigned int apic_id);

/* Puts the vCPU's LAPIC in virtual-wire mode (LINT0 ExtINT, LINT1 NMI). 0 or -errno. */
int x86_cpu_set_lapic(int vcpu_fd);

/* Loads registers and segment state for bs (mode, entry, stack). 0 or -errno. */
int x86_cpu_set_boot_state(int vcpu_fd, const struct boot_state *bs);

/*
 * Prints RIP, RSP, RFLAGS, general registers, CR0/2/3/4, EFER, segments and
 * the instruction bytes at RIP to out. Tolerates every failure (it is called
 * on the way down).
 */
void x86_cpu_dump(int vcpu_fd, const struct guest_mem *mem, FILE *out);

#endif

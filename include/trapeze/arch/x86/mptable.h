/*
 * mptable: the Intel MultiProcessor Specification 1.4 tables, for guests
 * that boot without ACPI (Linux with acpi=off, older kernels). Written at
 * X86_MPTABLE (0x9fc00, the last KiB of base memory, one of the places the
 * spec, section 4, tells an OS to search):
 *
 *   floating pointer  "_MP_", spec rev 1.4, config table present (feature
 *                     byte 1 = 0), virtual wire mode (no IMCR)
 *   config table      "PCMP" right after it, with, in type order:
 *     a processor per vCPU (APIC IDs 0..n-1, enabled, CPU 0 the BSP),
 *     bus 0 "ISA", the I/O APIC, I/O interrupts for ISA IRQs 0-15 (IRQ 0 on
 *     pin 2, the others on their own pin; IRQ 2, the cascade, has none),
 *     ExtINT on every LAPIC's LINT0 and NMI on every LINT1.
 *
 * Everything must fit in the 1 KiB at X86_MPTABLE: MPTABLE_MAX_CPUS.
 */
#ifndef TRAPEZE_ARCH_X86_MPTABLE_H
#define TRAPEZE_ARCH_X86_MPTABLE_H

#include "trapeze/guest_mem.h"
#include "trapeze/types.h"

#define MPTABLE_SIZE 0x400ULL	/* bytes available at X86_MPTABLE */
/* 16 (pointer) + 44 (header) + 20 per CPU + 152 (other entries) <= 1024. */
#define MPTABLE_MAX_CPUS 40

/*
 * Zeroes [X86_MPTABLE, X86_MPTABLE + MPTABLE_SIZE) and writes the tables.
 * Returns 0, -EINVAL for nr_cpus 0, -ENOSPC for nr_cpus > MPTABLE_MAX_CPUS
 * (nothing written), -EFAULT when the range is not guest RAM.
 */
int mptable_build(const struct guest_mem *mem, unsigned int nr_cpus, u8 ioapic_id,
		  u32 ioapic_addr);

#endif

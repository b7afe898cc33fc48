/*
 * inspect: what --step's commands (and gdb's `monitor` commands) print about
 * a stopped vCPU and the VM: registers, segment and control registers,
 * guest memory by physical or virtual address, address translation with
 * KVM_TRANSLATE and with the page walker, and the device behind a port or
 * an address.
 *
 * Every function reads KVM state of a vCPU that is not in KVM_RUN (the
 * caller stopped it) and prints to out. Failures are printed, not returned:
 * these are the words a student reads.
 */
#ifndef TRAPEZE_DEBUG_INSPECT_H
#define TRAPEZE_DEBUG_INSPECT_H

#include <linux/kvm.h>
#include <stdio.h>

#include "trapeze/debug/pagewalk.h"
#include "trapeze/types.h"

struct vm;
struct vcpu;

/* The current privilege level from the segment state (SDM 3A 5.5). */
unsigned int inspect_cpl(const struct kvm_sregs *sr, u64 rflags);

/* A short name of the CPU mode: "real", "protected 32-bit", "long 64-bit", ... */
const char *inspect_mode_name(const struct kvm_sregs *sr, u64 rflags);

/* The control registers a page walk needs. */
void inspect_walk_regs(const struct kvm_sregs *sr, struct pagewalk_regs *out);

void inspect_regs(struct vcpu *vcpu, FILE *out);
void inspect_sregs(struct vcpu *vcpu, FILE *out);

/* Hex and ASCII dump of [gpa, gpa + len): guest RAM only. */
void inspect_phys(struct vm *vm, u64 gpa, u64 len, FILE *out);
/* The same by guest-virtual address, through vcpu's page tables. */
void inspect_virt(struct vm *vm, struct vcpu *vcpu, u64 va, u64 len, FILE *out);

/* KVM_TRANSLATE of va, checked against the page walker. */
void inspect_translate(struct vm *vm, struct vcpu *vcpu, u64 va, FILE *out);
/* The page walk of va, level by level. */
void inspect_walk(struct vm *vm, struct vcpu *vcpu, u64 va, FILE *out);

/* Which device claims port addr (when it fits in 16 bits) and MMIO address addr. */
void inspect_dev(struct vm *vm, u64 addr, FILE *out);

/*
 * Reads up to len bytes of the instruction stream at vcpu's CS:RIP
 * (linear address through the page walker). Returns how many it got.
 */
size_t inspect_code(struct vm *vm, struct vcpu *vcpu, u8 *buf, size_t len);

#endif

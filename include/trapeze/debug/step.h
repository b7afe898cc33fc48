/*
 * step: `trapeze run --step[=SPEC]` (docs/debugging.md): the VM stops at its
 * first instruction and then at each exit SPEC chooses (the classes and
 * dev= filters of --trace: io, mmio, hlt, irq, debug, all), describes the
 * exit with the trace formatter, and reads commands (debug/step_cmd.h):
 * continue, next exit, single-step, registers, memory, translation, page
 * walk, device lookup, quit.
 *
 * Commands come from standard input, or from --step-script FILE (then
 * stdin stays the guest's console input). When the input is not a terminal
 * each command is echoed, "(step) regs", before its output, so a scripted
 * run's transcript reads like an interactive one. At the end of the input
 * the VM runs on to its end without stopping again.
 *
 * Output goes to stderr; the guest's console stays on stdout.
 *
 * The prompt runs on the thread of the vCPU that stopped, with every other
 * vCPU parked (debug/pause.h). It waits for input in slices and gives up
 * when the VM stops meanwhile (Ctrl-C, --timeout), so it never blocks a stop.
 *
 * Single-step uses KVM_SET_GUEST_DEBUG with KVM_GUESTDBG_SINGLESTEP (and
 * KVM_GUESTDBG_BLOCKIRQ where offered, so a step does not wander into an
 * interrupt handler). What the host cannot do is said, not faked: on a
 * software backend (kvm_pvm) CPL-3 guest code runs natively and never
 * traps, so a step at CPL 3 is refused with the reason, and a step over an
 * instruction that enters CPL 3 warns that the guest runs until it is back
 * at CPL 0. A step whose instruction exits to trapeze (port I/O, MMIO)
 * ends right after it, also on kvm_pvm, which moves RIP past an `out`
 * before exiting and then gives no single-step trap for it.
 */
#ifndef TRAPEZE_DEBUG_STEP_H
#define TRAPEZE_DEBUG_STEP_H

#include "trapeze/exit.h"
#include "trapeze/types.h"

struct vm;
struct vcpu;
struct pause;
struct step;

/* Sets up --step for vm (reads vm->cfg). 0 or -errno with one line in err. */
int step_create(struct step **out, struct vm *vm, struct pause *pause, char *err,
		size_t err_len);
void step_destroy(struct step *s);

/* The pause-point hook: the first stop, before vCPU 0's first instruction. */
bool step_pause_point(struct step *s, struct vcpu *vcpu);

/* The exit hook: stops when the exit is one the user asked for. */
void step_after_exit(struct step *s, struct vcpu *vcpu, const struct vm_exit *e);

#endif

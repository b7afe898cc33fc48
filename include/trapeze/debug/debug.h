/*
 * debug: the interactive debuggers on the vCPU loop, behind one pointer in
 * struct vm (vm->debug, NULL unless --step or --gdb was given):
 *
 *	while (!vm_stopping(vm)) {
 *		if (vm->debug && debug_pause_point(vm->debug, vcpu))
 *			continue;		// parked or prompted: check for a stop again
 *		KVM_RUN ...
 *		handle the exit, then
 *		if (vm->debug)
 *			debug_after_exit(vm->debug, vcpu, &e);
 *	}
 *
 * --step (debug/step.h) stops at chosen exits and reads commands; --gdb
 * (debug/gdbstub.h) serves a GDB remote-protocol client. Both stop the
 * world through debug/pause.h. KVM_EXIT_DEBUG (single-step done, a
 * breakpoint hit) goes to whichever is active instead of ending the VM.
 */
#ifndef TRAPEZE_DEBUG_DEBUG_H
#define TRAPEZE_DEBUG_DEBUG_H

#include "trapeze/debug/pause.h"
#include "trapeze/exit.h"

struct vm;
struct vcpu;
struct vm_config;
struct step;
struct gdbstub;

struct debug {
	struct vm *vm;
	struct pause pause;
	struct step *step;	/* --step, or NULL */
	struct gdbstub *gdb;	/* --gdb, or NULL */
};

/*
 * Sets up what vm->cfg asks for, once the VM and its vCPUs exist and before
 * they run. *out stays NULL when neither --step nor --gdb was given. For
 * --gdb this waits for the debugger to connect (giving up when the VM is
 * stopped meanwhile, e.g. by Ctrl-C). 0 or -errno with one line in err.
 */
int debug_create(struct debug **out, struct vm *vm, char *err, size_t err_len);

/* After the vCPU threads were joined: ends the stub thread, closes files. NULL is fine. */
void debug_destroy(struct debug *d);

/* True when the debugger takes standard input for its commands (--step without --step-script). */
bool debug_reads_stdin(const struct vm_config *cfg);

/* The pause point before KVM_RUN. True when it parked or prompted. */
bool debug_pause_point(struct debug *d, struct vcpu *vcpu);

/* Every exit after trapeze handled it (KVM_EXIT_DEBUG included). */
void debug_after_exit(struct debug *d, struct vcpu *vcpu, const struct vm_exit *e);

#endif

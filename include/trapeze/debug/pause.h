/*
 * pause: stopping and resuming every vCPU of a VM for a debugger ("stop the
 * world"), used by --step and --gdb.
 *
 * A vCPU thread reaches a pause point before each KVM_RUN. When a stop is
 * requested, the controller (a vCPU thread that hit a step exit, or the gdb
 * stub's thread) kicks every other vCPU out of KVM_RUN (vcpu_kick) and
 * waits until each has parked at its pause point; then no vCPU is in
 * KVM_RUN and their registers and guest memory can be read and changed.
 * Resuming wakes them all, or lets one run while the others stay held (a
 * single-step of one vCPU).
 *
 * A VM stop always wins: the parked threads and the controller wait on the
 * VM's own stop_cond under its stop_lock, which vm_request_stop() broadcasts
 * when the VM ends, so nobody sleeps through the end of the VM; every wait
 * checks vm_stopping() and gives up. Lock order: device lock -> vm->stop_lock
 * (vm.h); this module takes only stop_lock and never calls a device or
 * vm_request_stop() while holding it.
 *
 * immediate_exit: a kick sets kvm_run->immediate_exit. A parked vCPU clears
 * it when it leaves the pause point, before its loop checks vm_stopping()
 * again. That is safe because both a stop and a pause request set their flag
 * before they kick: a kick whose immediate_exit is cleared here is noticed
 * through its flag.
 */
#ifndef TRAPEZE_DEBUG_PAUSE_H
#define TRAPEZE_DEBUG_PAUSE_H

#include <stdatomic.h>

#include "trapeze/types.h"

struct vm;
struct vcpu;

struct pause {
	struct vm *vm;
	/* Read lock-free at every pause point: requested, or some vCPU held. */
	atomic_bool gate;
	/* Under vm->stop_lock: */
	bool requested;		/* every vCPU parks at its next pause point */
	bool owned;		/* a controller holds the world stopped */
	unsigned int nr_parked;
	bool *hold;		/* [nr_vcpus]: stay parked although not requested */
	bool *parked;		/* [nr_vcpus] */
};

/*
 * Sets up for vm's vCPUs (vm->nr_vcpus must be final). With start_stopped,
 * every vCPU parks before its first KVM_RUN until pause_resume(). 0 or -ENOMEM.
 */
int pause_init(struct pause *p, struct vm *vm, bool start_stopped);
void pause_destroy(struct pause *p);

/* The pause point's fast test: may this vCPU have to park? */
static inline bool pause_pending(struct pause *p)
{
	return atomic_load_explicit(&p->gate, memory_order_acquire);
}

/*
 * A vCPU thread at its pause point: parks while a stop is requested or the
 * vCPU is held, and returns when resumed or when the VM stops. Returns true
 * when it parked at all.
 */
bool pause_park(struct pause *p, struct vcpu *vcpu);

/* Asks every vCPU but self (NULL: none) to park, and returns at once. */
void pause_request(struct pause *p, const struct vcpu *self);

/*
 * Stops the world and takes it: requests the stop and waits until every
 * vCPU but self (NULL from a thread that is no vCPU) is parked. 0: the
 * caller owns the stopped world until pause_resume(); -EBUSY: another
 * controller owns it (a vCPU caller should pause_park() and try again);
 * -ESHUTDOWN: the VM is stopping.
 */
int pause_world(struct pause *p, const struct vcpu *self);

/*
 * Gives the world back. only == NULL: every vCPU runs. Otherwise only that
 * vCPU runs and the others stay parked (held) until the next resume.
 */
void pause_resume(struct pause *p, const struct vcpu *only);

#endif

/*
 * Stop-the-world for debuggers: every vCPU parked at its pause point, or
 * one running while the others are held. See debug/pause.h for the locking.
 */
#include <errno.h>
#include <stdlib.h>

#include "trapeze/debug/pause.h"
#include "trapeze/vcpu.h"
#include "trapeze/vm.h"

int pause_init(struct pause *p, struct vm *vm, bool start_stopped)
{
	unsigned int n = vm->nr_vcpus ? vm->nr_vcpus : 1;

	p->vm = vm;
	p->hold = calloc(n, sizeof(*p->hold));
	p->parked = calloc(n, sizeof(*p->parked));
	if (!p->hold || !p->parked) {
		free(p->hold);
		free(p->parked);
		p->hold = p->parked = NULL;
		return -ENOMEM;
	}
	p->requested = start_stopped;
	p->owned = false;
	p->nr_parked = 0;
	atomic_init(&p->gate, start_stopped);
	return 0;
}

void pause_destroy(struct pause *p)
{
	free(p->hold);
	free(p->parked);
	p->hold = p->parked = NULL;
}

/* Under stop_lock: recomputes the lock-free gate from requested and the holds. */
static void pause_update_gate(struct pause *p)
{
	bool gate = p->requested;

	for (unsigned int i = 0; i < p->vm->nr_vcpus && !gate; i++)
		gate = p->hold[i];
	atomic_store_explicit(&p->gate, gate, memory_order_release);
}

bool pause_park(struct pause *p, struct vcpu *vcpu)
{
	struct vm *vm = p->vm;
	unsigned int id = vcpu->id;
	bool parked = false;

	pthread_mutex_lock(&vm->stop_lock);
	if (!vm_stopping(vm) && (p->requested || p->hold[id])) {
		parked = true;
		p->parked[id] = true;
		p->nr_parked++;
		pthread_cond_broadcast(&vm->stop_cond);	/* a controller may be counting */
		while (!vm_stopping(vm) && (p->requested || p->hold[id]))
			pthread_cond_wait(&vm->stop_cond, &vm->stop_lock);
		p->parked[id] = false;
		p->nr_parked--;
	}
	pthread_mutex_unlock(&vm->stop_lock);
	if (parked)	/* kicks that found us parked: their flags are what counts */
		__atomic_store_n(&vcpu->run->immediate_exit, 0, __ATOMIC_SEQ_CST);
	return parked;
}

static void pause_kick_others(struct pause *p, const struct vcpu *self)
{
	for (unsigned int i = 0; i < p->vm->nr_vcpus; i++)
		if (&p->vm->vcpus[i] != self)
			vcpu_kick(&p->vm->vcpus[i]);
}

void pause_request(struct pause *p, const struct vcpu *self)
{
	pthread_mutex_lock(&p->vm->stop_lock);
	p->requested = true;
	atomic_store_explicit(&p->gate, true, memory_order_release);
	pthread_mutex_unlock(&p->vm->stop_lock);
	pause_kick_others(p, self);
}

int pause_world(struct pause *p, const struct vcpu *self)
{
	struct vm *vm = p->vm;
	unsigned int needed = vm->nr_vcpus - (self ? 1 : 0);
	int r = 0;

	pthread_mutex_lock(&vm->stop_lock);
	if (p->owned) {
		pthread_mutex_unlock(&vm->stop_lock);
		return -EBUSY;
	}
	p->owned = true;
	p->requested = true;
	atomic_store_explicit(&p->gate, true, memory_order_release);
	pthread_mutex_unlock(&vm->stop_lock);

	/*
	 * A vCPU thread not yet started gets no kick, and needs none: it
	 * checks the gate before its first KVM_RUN.
	 */
	pause_kick_others(p, self);

	pthread_mutex_lock(&vm->stop_lock);
	while (!vm_stopping(vm) && p->nr_parked < needed)
		pthread_cond_wait(&vm->stop_cond, &vm->stop_lock);
	if (vm_stopping(vm)) {
		p->owned = false;
		r = -ESHUTDOWN;
	}
	pthread_mutex_unlock(&vm->stop_lock);
	return r;
}

void pause_resume(struct pause *p, const struct vcpu *only)
{
	struct vm *vm = p->vm;

	pthread_mutex_lock(&vm->stop_lock);
	p->owned = false;
	p->requested = false;
	for (unsigned int i = 0; i < vm->nr_vcpus; i++)
		p->hold[i] = only && &vm->vcpus[i] != only;
	pause_update_gate(p);
	pthread_cond_broadcast(&vm->stop_cond);
	pthread_mutex_unlock(&vm->stop_lock);
}

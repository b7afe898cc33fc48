/*
 * vm: one virtual machine: its KVM fd, RAM, buses, irqchip, devices and
 * vCPUs, created in that order and destroyed in reverse.
 *
 * Stopping: anything (a device, a vCPU thread, the console, a timer) calls
 * vm_request_stop() with an exit status; the first request wins. vm_run()
 * waits for it, then kicks and joins every vCPU thread.
 *
 * Lock order: device lock -> vm->stop_lock. A device may request a stop while
 * holding its own lock: vm_request_stop() takes only stop_lock and signals
 * vCPU threads, it never calls back into a device.
 */
#ifndef TRAPEZE_VM_H
#define TRAPEZE_VM_H

#include <pthread.h>
#include <stdatomic.h>

#include "trapeze/board.h"
#include "trapeze/bus.h"
#include "trapeze/config.h"
#include "trapeze/guest_mem.h"
#include "trapeze/kvm.h"
#include "trapeze/vcpu.h"

struct event_loop;
struct observe;
struct debug;
struct pci_bus;

struct vm {
	struct kvm_host *kvm;
	const struct vm_config *cfg;
	int fd;
	struct guest_mem mem;
	struct bus pio;
	struct bus mmio;
	struct board board;
	/* The I/O thread (event_loop.h): virtio notifications; created before the board. */
	struct event_loop *loop;
	/* The PCI bus (devices/pci.h) the board built, NULL without one; virtio_pci_create() adds to it. */
	struct pci_bus *pci;
	struct vcpu *vcpus;
	unsigned int nr_vcpus;
	/* --trace/--stats hooks (debug/observe.h); NULL when off, set before the vCPUs run. */
	struct observe *observe;
	/*
	 * --step/--gdb (debug/debug.h); NULL when off, set before the vCPUs
	 * run. Its pause module also waits on stop_lock/stop_cond below, so a
	 * VM stop wakes parked vCPUs (debug/pause.h).
	 */
	struct debug *debug;

	pthread_mutex_t stop_lock;
	pthread_cond_t stop_cond;
	atomic_bool stopping;	/* set under stop_lock; read lock-free by vCPU loops */
	int status;		/* exit status of the first stop request */
	const char *stop_reason;
};

/* Builds the whole VM from cfg. 0 or -errno with one line in err. */
int vm_create(struct vm *vm, struct kvm_host *kvm, const struct vm_config *cfg,
	      char *err, size_t err_len);
void vm_destroy(struct vm *vm);

/*
 * Runs until a stop is requested (or timeout_s elapses, when non-zero).
 * Returns the exit status.
 */
int vm_run(struct vm *vm, unsigned int timeout_s);

/*
 * Ends the VM with status; only the first call counts (it returns true, later
 * ones false). Thread-safe; takes only stop_lock, then kicks every vCPU.
 */
bool vm_request_stop(struct vm *vm, int status, const char *reason);

/* True once a stop was requested. */
bool vm_stopping(struct vm *vm);

#endif

/*
 * vcpu: one KVM vCPU and the thread that runs it.
 *
 * The thread loops: check the VM's stop flag, KVM_RUN, decode the exit,
 * dispatch it. Stopping a vCPU sets run->immediate_exit and then signals the
 * thread (SIGUSR1), so a stop that lands between the flag check and the
 * ioctl is not lost: KVM_RUN returns -EINTR at once when immediate_exit is set.
 */
#ifndef TRAPEZE_VCPU_H
#define TRAPEZE_VCPU_H

#include <linux/kvm.h>
#include <pthread.h>

#include "trapeze/types.h"

struct vm;
struct boot_state;

struct vcpu {
	struct vm *vm;
	unsigned int id;	/* also its APIC ID */
	int fd;
	struct kvm_run *run;	/* mmap of the kvm_run area */
	size_t run_size;
	pthread_t thread;
	bool thread_started;
	u64 nr_exits;
};

/* Creates vCPU id: KVM_CREATE_VCPU, maps kvm_run, sets its CPUID. 0 or -errno. */
int vcpu_create(struct vcpu *vcpu, struct vm *vm, unsigned int id);
void vcpu_destroy(struct vcpu *vcpu);

/* Puts the boot vCPU into the state the image expects. 0 or -errno. */
int vcpu_set_boot_state(struct vcpu *vcpu, const struct boot_state *bs);

/* Starts the run thread. 0 or -errno. */
int vcpu_start(struct vcpu *vcpu);

/* Makes a running vCPU leave KVM_RUN promptly (immediate_exit + signal). */
void vcpu_kick(struct vcpu *vcpu);

/* Waits for the run thread to end. */
void vcpu_join(struct vcpu *vcpu);

/* The signal used to kick vCPU threads; blocked everywhere else. */
#define VCPU_KICK_SIGNAL SIGUSR1

/* Installs the (empty) kick-signal handler; once per process, before threads. */
int vcpu_install_kick_handler(void);

#endif

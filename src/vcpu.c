/*
 * vCPU threads: the KVM_RUN loop and the dispatch of every exit.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "trapeze/arch/x86/cpu.h"
#include "trapeze/debug/debug.h"
#include "trapeze/debug/observe.h"
#include "trapeze/exit.h"
#include "trapeze/status.h"
#include "trapeze/vcpu.h"
#include "trapeze/vm.h"

int vcpu_create(struct vcpu *vcpu, struct vm *vm, unsigned int id)
{
	int r;

	memset(vcpu, 0, sizeof(*vcpu));
	vcpu->vm = vm;
	vcpu->id = id;
	vcpu->fd = ioctl(vm->fd, KVM_CREATE_VCPU, id);
	if (vcpu->fd < 0)
		return -errno;
	vcpu->run_size = vm->kvm->run_size;
	vcpu->run = mmap(NULL, vcpu->run_size, PROT_READ | PROT_WRITE, MAP_SHARED,
			 vcpu->fd, 0);
	if (vcpu->run == MAP_FAILED) {
		r = -errno;
		goto out_close;
	}
	r = x86_cpu_set_cpuid(vcpu->fd, vm->kvm->cpuid, id);
	if (!r)
		r = x86_cpu_set_lapic(vcpu->fd);
	if (r)
		goto out_unmap;
	return 0;

out_unmap:
	munmap(vcpu->run, vcpu->run_size);
out_close:
	close(vcpu->fd);
	vcpu->fd = -1;
	return r;
}

void vcpu_destroy(struct vcpu *vcpu)
{
	if (vcpu->fd < 0)
		return;
	munmap(vcpu->run, vcpu->run_size);
	close(vcpu->fd);
	vcpu->fd = -1;
}

int vcpu_set_boot_state(struct vcpu *vcpu, const struct boot_state *bs)
{
	return x86_cpu_set_boot_state(vcpu->fd, bs);
}

/* Ends the VM for a reason found on this vCPU, with a register dump. */
static void vcpu_die(struct vcpu *vcpu, int status, const char *what)
{
	if (!vm_request_stop(vcpu->vm, status, what))
		return;	/* someone else ended the VM first: stay quiet */
	fprintf(stderr, "trapeze: vcpu%u: %s\n", vcpu->id, what);
	x86_cpu_dump(vcpu->fd, &vcpu->vm->mem, stderr);
}

static void vcpu_internal_error(struct vcpu *vcpu, const struct vm_exit_internal *ie)
{
	char what[256];
	int n;

	n = snprintf(what, sizeof(what), "KVM_EXIT_INTERNAL_ERROR: suberror %u (%s)",
		     ie->suberror, exit_internal_suberror_name(ie->suberror));
	for (u32 i = 0; i < ie->ndata && n > 0 && (size_t)n < sizeof(what); i++)
		n += snprintf(what + n, sizeof(what) - n, "%s%llx", i ? " " : ", data ",
			      (unsigned long long)ie->data[i]);
	vcpu_die(vcpu, STATUS_GUEST_ERROR, what);
}

static void vcpu_system_event(struct vcpu *vcpu, u32 type)
{
	switch (type) {
	case KVM_SYSTEM_EVENT_SHUTDOWN:
		vm_request_stop(vcpu->vm, STATUS_POWEROFF, "guest powered off");
		break;
	case KVM_SYSTEM_EVENT_RESET:
		vm_request_stop(vcpu->vm, STATUS_REBOOT, "guest reset the machine");
		break;
	case KVM_SYSTEM_EVENT_CRASH:
		vcpu_die(vcpu, STATUS_GUEST_ERROR, "guest reported a crash");
		break;
	default: {
		char what[64];

		snprintf(what, sizeof(what), "unknown system event %u", type);
		vcpu_die(vcpu, STATUS_GUEST_ERROR, what);
	}
	}
}

/*
 * Every exit but a device access or a signal: the guest halted, failed or
 * ended the machine (or --step/--gdb wants a debug exit). Returns true
 * when this vCPU should stop running.
 */
static bool vcpu_dispatch_other(struct vcpu *vcpu, const struct vm_exit *e)
{
	struct vm *vm = vcpu->vm;
	char what[160];

	switch (e->kind) {
	case VM_EXIT_IO:
	case VM_EXIT_MMIO:
	case VM_EXIT_INTR:
		return false;	/* vcpu_dispatch() took these */
	case VM_EXIT_HLT:
		/*
		 * Only seen without an in-kernel LAPIC, which trapeze always
		 * creates; a halted vCPU with nothing to wake it is over.
		 */
		vcpu_die(vcpu, STATUS_GUEST_ERROR, "KVM_EXIT_HLT: vCPU halted with no irqchip to wake it");
		return true;
	case VM_EXIT_SHUTDOWN:
		/*
		 * KVM on AMD SVM reinitializes the VMCB on a shutdown intercept,
		 * so the registers below are the reset state, not the fault's.
		 */
		vcpu_die(vcpu, STATUS_TRIPLE_FAULT,
			 vm->kvm->amd && !vm->kvm->software_backend ?
			 "KVM_EXIT_SHUTDOWN: triple fault (AMD SVM: KVM has already reset the registers below)" :
			 "KVM_EXIT_SHUTDOWN: triple fault");
		return true;
	case VM_EXIT_FAIL_ENTRY:
		snprintf(what, sizeof(what), "KVM_EXIT_FAIL_ENTRY: hardware entry failure reason 0x%llx on cpu %u",
			 (unsigned long long)e->fail_entry.reason, e->fail_entry.cpu);
		vcpu_die(vcpu, STATUS_GUEST_ERROR, what);
		return true;
	case VM_EXIT_INTERNAL_ERROR:
		vcpu_internal_error(vcpu, &e->internal);
		return true;
	case VM_EXIT_SYSTEM_EVENT:
		vcpu_system_event(vcpu, e->system_event.type);
		return true;
	case VM_EXIT_DEBUG:
		if (vm->debug)
			return false;	/* --step/--gdb take it after dispatch */
		snprintf(what, sizeof(what), "KVM_EXIT_DEBUG: exception %u at %llx (no debugger attached)",
			 e->debug.exception, (unsigned long long)e->debug.pc);
		vcpu_die(vcpu, STATUS_GUEST_ERROR, what);
		return true;
	case VM_EXIT_UNKNOWN:
		break;
	}
	snprintf(what, sizeof(what), "unhandled exit reason %u", e->reason);
	vcpu_die(vcpu, STATUS_GUEST_ERROR, what);
	return true;
}

/*
 * Carries out one decoded exit. Returns true when this vCPU should stop
 * running. Device accesses, nearly every exit, are taken here, apart from
 * the rest, whose message buffer and calls cost every exit a longer
 * prologue when they share one function.
 */
static bool vcpu_dispatch(struct vcpu *vcpu, const struct vm_exit *e)
{
	switch (e->kind) {
	case VM_EXIT_IO:
		exit_handle_io(&vcpu->vm->pio, &e->io);
		return false;
	case VM_EXIT_MMIO:
		exit_handle_mmio(&vcpu->vm->mmio, &e->mmio);
		return false;
	case VM_EXIT_INTR:
		return false;	/* a signal; the loop checks for a stop */
	default:
		return vcpu_dispatch_other(vcpu, e);
	}
}

/* Decodes and handles one exit. Returns true when this vCPU should stop running. */
static bool vcpu_handle_exit(struct vcpu *vcpu)
{
	struct observe_exit x;
	struct vm_exit e;
	char what[96];
	bool stop;

	if (exit_decode(vcpu->run, vcpu->run_size, &e) < 0) {
		snprintf(what, sizeof(what), "malformed %s exit from KVM",
			 exit_kind_name(e.kind));
		vcpu_die(vcpu, STATUS_VMM_ERROR, what);
		return true;
	}
	/* --trace/--stats: when they are off, this one predictable test is their cost. */
	if (__builtin_expect(vcpu->vm->observe != NULL, 0)) {
		observe_exit_begin(vcpu->vm->observe, vcpu, &e, &x);
		stop = vcpu_dispatch(vcpu, &e);
		observe_exit_end(vcpu->vm->observe, vcpu, &e, &x);
	} else {
		stop = vcpu_dispatch(vcpu, &e);
	}
	/* --step/--gdb: the same single test when off. */
	if (__builtin_expect(vcpu->vm->debug != NULL, 0) && !stop)
		debug_after_exit(vcpu->vm->debug, vcpu, &e);
	return stop;
}

static void *vcpu_thread(void *arg)
{
	struct vcpu *vcpu = arg;
	sigset_t kick;
	char name[16];

	snprintf(name, sizeof(name), "vcpu%u", vcpu->id);
	pthread_setname_np(pthread_self(), name);
	sigemptyset(&kick);
	sigaddset(&kick, VCPU_KICK_SIGNAL);
	pthread_sigmask(SIG_UNBLOCK, &kick, NULL);

	while (!vm_stopping(vcpu->vm)) {
		/* The debugger's pause point: parked or prompted, check for a stop again. */
		if (__builtin_expect(vcpu->vm->debug != NULL, 0) &&
		    debug_pause_point(vcpu->vm->debug, vcpu))
			continue;
		if (ioctl(vcpu->fd, KVM_RUN, 0) < 0) {
			if (errno == EINTR || errno == EAGAIN) {
				if (errno == EINTR && vcpu->vm->observe)
					observe_kick(vcpu->vm->observe, vcpu);
				/* Kicked: clear the request unless we are stopping. */
				vcpu->run->immediate_exit = 0;
				continue;
			}
			char what[96];

			snprintf(what, sizeof(what), "KVM_RUN failed: %s", strerror(errno));
			vcpu_die(vcpu, STATUS_VMM_ERROR, what);
			break;
		}
		vcpu->nr_exits++;
		if (vcpu_handle_exit(vcpu))
			break;
	}
	return NULL;
}

int vcpu_start(struct vcpu *vcpu)
{
	int r = pthread_create(&vcpu->thread, NULL, vcpu_thread, vcpu);

	if (r)
		return -r;
	vcpu->thread_started = true;
	return 0;
}

void vcpu_kick(struct vcpu *vcpu)
{
	if (!vcpu->thread_started)
		return;
	/* Set before signalling: a KVM_RUN entered after this returns at once. */
	__atomic_store_n(&vcpu->run->immediate_exit, 1, __ATOMIC_SEQ_CST);
	pthread_kill(vcpu->thread, VCPU_KICK_SIGNAL);
}

void vcpu_join(struct vcpu *vcpu)
{
	if (!vcpu->thread_started)
		return;
	pthread_join(vcpu->thread, NULL);
	vcpu->thread_started = false;
}

static void vcpu_kick_handler(int sig)
{
	(void)sig;	/* only there to make KVM_RUN return -EINTR */
}

int vcpu_install_kick_handler(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = vcpu_kick_handler;
	sigemptyset(&sa.sa_mask);
	if (sigaction(VCPU_KICK_SIGNAL, &sa, NULL) < 0)
		return -errno;
	return 0;
}

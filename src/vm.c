/*
 * VM lifecycle: create in order (VM fd, RAM and slots, irqchip, buses,
 * I/O thread, devices, vCPUs), run until a stop is requested, destroy in reverse.
 */
#include <errno.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "trapeze/event_loop.h"
#include "trapeze/irq.h"
#include "trapeze/status.h"
#include "trapeze/vm.h"

/* Where KVM may put its real-mode TSS and identity map on Intel VMX: the top of the hole. */
#define VM_TSS_ADDR 0xfffbd000ULL
#define VM_IDENTITY_MAP_ADDR 0xfffbc000ULL

static int vm_add_memory(struct vm *vm, char *err, size_t err_len)
{
	for (unsigned int i = 0; i < vm->mem.nr_regions; i++) {
		const struct guest_region *g = &vm->mem.regions[i];
		struct kvm_userspace_memory_region slot = {
			.slot = i,
			.guest_phys_addr = g->gpa,
			.memory_size = g->size,
			.userspace_addr = (u64)(uintptr_t)g->host,
			/* --dirty-log: KVM records the pages the guest writes (debug/dirtylog.h). */
			.flags = vm->cfg->dirty_log ? KVM_MEM_LOG_DIRTY_PAGES : 0,
		};

		if (ioctl(vm->fd, KVM_SET_USER_MEMORY_REGION, &slot) < 0) {
			int e = errno;

			snprintf(err, err_len, "KVM_SET_USER_MEMORY_REGION (slot %u, %llu MiB at 0x%llx): %s",
				 i, (unsigned long long)(g->size >> 20),
				 (unsigned long long)g->gpa, strerror(e));
			return -e;
		}
	}
	return 0;
}

static int vm_create_vcpus(struct vm *vm, char *err, size_t err_len)
{
	vm->vcpus = calloc(vm->cfg->nr_cpus, sizeof(*vm->vcpus));
	if (!vm->vcpus)
		return -ENOMEM;
	for (unsigned int i = 0; i < vm->cfg->nr_cpus; i++) {
		int r = vcpu_create(&vm->vcpus[i], vm, i);

		if (r) {
			snprintf(err, err_len, "cannot create vCPU %u: %s", i, strerror(-r));
			return r;
		}
		vm->nr_vcpus++;
	}
	return 0;
}

static int vm_check_cpus(struct vm *vm, char *err, size_t err_len)
{
	if (vm->cfg->nr_cpus == 0 || vm->cfg->nr_cpus > (unsigned int)vm->kvm->max_vcpus) {
		snprintf(err, err_len, "--cpus %u: this host's KVM allows 1 to %d vCPUs",
			 vm->cfg->nr_cpus, vm->kvm->max_vcpus);
		return -EINVAL;
	}
	return 0;
}

/* Refuse RAM the host cannot back: MAP_NORESERVE would accept it, then the guest would die of OOM. */
static int vm_check_memory(const struct vm_config *cfg, char *err, size_t err_len)
{
	long pages = sysconf(_SC_PHYS_PAGES), page_size = sysconf(_SC_PAGESIZE);
	u64 host = pages > 0 && page_size > 0 ? (u64)pages * (u64)page_size : 0;

	if (host && cfg->ram_size > host) {
		snprintf(err, err_len, "--memory %llu MiB: more than this host's %llu MiB of RAM",
			 (unsigned long long)(cfg->ram_size >> 20),
			 (unsigned long long)(host >> 20));
		return -ENOMEM;
	}
	return 0;
}

int vm_create(struct vm *vm, struct kvm_host *kvm, const struct vm_config *cfg,
	      char *err, size_t err_len)
{
	int r;

	memset(vm, 0, sizeof(*vm));
	vm->kvm = kvm;
	vm->cfg = cfg;
	vm->fd = -1;
	pthread_mutex_init(&vm->stop_lock, NULL);
	pthread_cond_init(&vm->stop_cond, NULL);
	atomic_init(&vm->stopping, false);

	r = vm_check_cpus(vm, err, err_len);
	if (!r)
		r = vm_check_memory(cfg, err, err_len);
	if (r)
		return r;
	vm->fd = ioctl(kvm->fd, KVM_CREATE_VM, 0);
	if (vm->fd < 0) {
		r = -errno;
		snprintf(err, err_len, "KVM_CREATE_VM: %s", strerror(-r));
		return r;
	}
	if (kvm_check_cap(kvm, KVM_CAP_SET_TSS_ADDR)) {
		u64 idmap = VM_IDENTITY_MAP_ADDR;

		/* Intel without unrestricted guest needs these for real mode. */
		ioctl(vm->fd, KVM_SET_IDENTITY_MAP_ADDR, &idmap);
		ioctl(vm->fd, KVM_SET_TSS_ADDR, (unsigned long)VM_TSS_ADDR);
	}

	r = guest_mem_init(&vm->mem, cfg->ram_size);
	if (r) {
		snprintf(err, err_len, "cannot map %llu MiB of guest RAM: %s",
			 (unsigned long long)(cfg->ram_size >> 20), strerror(-r));
		return r;
	}
	r = vm_add_memory(vm, err, err_len);
	if (r)
		return r;
	r = irq_create_chip(vm->fd);
	if (r) {
		snprintf(err, err_len, "cannot create the in-kernel irqchip and PIT: %s",
			 strerror(-r));
		return r;
	}
	r = bus_init(&vm->pio, "pio");
	if (!r)
		r = bus_init(&vm->mmio, "mmio");
	if (r) {
		snprintf(err, err_len, "cannot create the device buses: %s", strerror(-r));
		return r;
	}
	r = event_loop_create(&vm->loop);
	if (r) {
		snprintf(err, err_len, "cannot start the I/O thread: %s", strerror(-r));
		return r;
	}
	r = board_create(&vm->board, vm, err, err_len);
	if (r)
		return r;
	return vm_create_vcpus(vm, err, err_len);
}

void vm_destroy(struct vm *vm)
{
	for (unsigned int i = vm->nr_vcpus; i-- > 0;)
		vcpu_destroy(&vm->vcpus[i]);
	free(vm->vcpus);
	vm->vcpus = NULL;
	vm->nr_vcpus = 0;
	/* No device callback may run while the board goes away; the loop itself goes after it. */
	event_loop_stop(vm->loop);
	board_destroy(&vm->board);
	event_loop_destroy(vm->loop);
	vm->loop = NULL;
	bus_destroy(&vm->mmio);
	bus_destroy(&vm->pio);
	if (vm->fd >= 0)
		close(vm->fd);
	vm->fd = -1;
	guest_mem_destroy(&vm->mem);
	pthread_cond_destroy(&vm->stop_cond);
	pthread_mutex_destroy(&vm->stop_lock);
}

bool vm_stopping(struct vm *vm)
{
	return atomic_load(&vm->stopping);
}

bool vm_request_stop(struct vm *vm, int status, const char *reason)
{
	bool first;

	pthread_mutex_lock(&vm->stop_lock);
	first = !atomic_load(&vm->stopping);
	if (first) {
		vm->status = status;
		vm->stop_reason = reason;
		atomic_store(&vm->stopping, true);
		pthread_cond_broadcast(&vm->stop_cond);
	}
	pthread_mutex_unlock(&vm->stop_lock);
	if (first)
		for (unsigned int i = 0; i < vm->nr_vcpus; i++)
			vcpu_kick(&vm->vcpus[i]);
	return first;
}

int vm_run(struct vm *vm, unsigned int timeout_s)
{
	struct timespec deadline;
	int r = 0;

	for (unsigned int i = 0; i < vm->nr_vcpus; i++) {
		r = vcpu_start(&vm->vcpus[i]);
		if (r) {
			fprintf(stderr, "trapeze: cannot start vCPU %u: %s\n", i, strerror(-r));
			vm_request_stop(vm, STATUS_VMM_ERROR, "vCPU thread creation failed");
			break;
		}
	}

	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += timeout_s;
	pthread_mutex_lock(&vm->stop_lock);
	while (!atomic_load(&vm->stopping)) {
		if (!timeout_s) {
			pthread_cond_wait(&vm->stop_cond, &vm->stop_lock);
			continue;
		}
		if (pthread_cond_timedwait(&vm->stop_cond, &vm->stop_lock, &deadline) == ETIMEDOUT &&
		    !atomic_load(&vm->stopping)) {
			pthread_mutex_unlock(&vm->stop_lock);
			if (vm_request_stop(vm, STATUS_TIMEOUT, "timeout"))
				fprintf(stderr, "trapeze: guest still running after %u s (--timeout): stopped\n",
					timeout_s);
			pthread_mutex_lock(&vm->stop_lock);
		}
	}
	pthread_mutex_unlock(&vm->stop_lock);

	/* vm_request_stop kicked every vCPU; kick again for threads started late. */
	for (unsigned int i = 0; i < vm->nr_vcpus; i++)
		vcpu_kick(&vm->vcpus[i]);
	for (unsigned int i = 0; i < vm->nr_vcpus; i++)
		vcpu_join(&vm->vcpus[i]);
	return vm->status;
}

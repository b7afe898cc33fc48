/*
 * kvm_limit: the bare-KVM floor for trapeze's benchmarks (bench/README.md).
 *
 * The least a VMM can do and still run the benchmark guests: one VM, one
 * memory slot of anonymous RAM at guest-physical 0, the PT_LOAD segments of
 * an ELF32 image copied in, the boot CPU put in flat 32-bit protected mode
 * at e_entry (the state trapeze and the PVH ABI give an ELF32 guest), and
 * KVM_RUN in a loop on the main thread. No irqchip, no CPUID set-up, no
 * device model: port 0x80 and unclaimed MMIO are dropped, COM1's THR goes
 * to stdout with one write(2) per byte, COM1's LSR reads "transmitter
 * empty", a write of V to port 0xf4 ends the program with status (V<<1)|1
 * (as trapeze and QEMU's isa-debug-exit do), and HLT sleeps until a signal
 * ends the process (bench_idle). Whatever a real VMM spends beyond this is
 * its own overhead.
 *
 * Usage: kvm_limit [-m MiB] [-c VCPUS] [-e] FILE.elf
 *   -c N creates N vCPUs (each with its kvm_run mapping) but runs only the
 *   first: the memory benchmark's per-vCPU floor.
 *   -e registers an ioeventfd on port 0x80 (1-byte writes, any value), so
 *   KVM completes those writes in the kernel without returning to
 *   userspace: not a userspace round trip any more, but the floor for a
 *   VMM that sinks the port that way (bench/README.md, Findings).
 *
 * Exit status: the guest's debug-exit status, or 70 on a KVM or image
 * error, or 64 on a usage error.
 */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define LIMIT_STATUS_USAGE	64
#define LIMIT_STATUS_ERROR	70
#define LIMIT_MAX_VCPUS		64

#define PORT_POST		0x80
#define PORT_DEBUG_EXIT		0xf4
#define PORT_COM1_THR		0x3f8
#define PORT_COM1_LSR		0x3fd
#define UART_LSR_THRE_TEMT	0x60	/* 16550A LSR bits 5, 6: transmitter empty */

#define CR0_PE			(1ULL << 0)	/* SDM Vol. 3A 2.5 */
#define CR0_ET			(1ULL << 4)
#define CR0_NE			(1ULL << 5)
#define SEG_TYPE_CODE_XR_A	0xb	/* SDM Vol. 3A 3.4.5.1: execute/read, accessed */
#define SEG_TYPE_DATA_RW_A	0x3	/* read/write, accessed */
#define SEL_CODE32		0x10	/* trapeze's boot GDT layout (docs/guest-abi.md) */
#define SEL_DATA		0x18
#define BOOT_STACK		0x80000
#define RFLAGS_RESERVED		0x2

struct limit_vm {
	int kvm_fd;
	int vm_fd;
	void *ram;
	size_t ram_size;
	unsigned int nr_vcpus;
	int vcpu_fd[LIMIT_MAX_VCPUS];
	struct kvm_run *run[LIMIT_MAX_VCPUS];
	size_t run_size;
};

static int limit_open_vm(struct limit_vm *vm)
{
	struct kvm_userspace_memory_region slot = { 0 };
	int mmap_size;

	vm->kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (vm->kvm_fd < 0)
		return -errno;
	vm->vm_fd = ioctl(vm->kvm_fd, KVM_CREATE_VM, 0);
	if (vm->vm_fd < 0)
		return -errno;
	mmap_size = ioctl(vm->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (mmap_size <= 0)
		return mmap_size < 0 ? -errno : -EINVAL;
	vm->run_size = (size_t)mmap_size;

	vm->ram = mmap(NULL, vm->ram_size, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (vm->ram == MAP_FAILED)
		return -errno;
	slot.slot = 0;
	slot.guest_phys_addr = 0;
	slot.memory_size = vm->ram_size;
	slot.userspace_addr = (uintptr_t)vm->ram;
	if (ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &slot) < 0)
		return -errno;
	return 0;
}

/* -e: 1-byte writes to port 0x80 signal an eventfd nobody reads, inside KVM. */
static int limit_sink_post_port(struct limit_vm *vm)
{
	struct kvm_ioeventfd io = {
		.addr = PORT_POST,
		.len = 1,
		.flags = KVM_IOEVENTFD_FLAG_PIO,
	};

	io.fd = eventfd(0, EFD_CLOEXEC);
	if (io.fd < 0)
		return -errno;
	if (ioctl(vm->vm_fd, KVM_IOEVENTFD, &io) < 0)
		return -errno;
	return 0;
}

static int limit_create_vcpus(struct limit_vm *vm)
{
	for (unsigned int i = 0; i < vm->nr_vcpus; i++) {
		void *p;

		vm->vcpu_fd[i] = ioctl(vm->vm_fd, KVM_CREATE_VCPU, i);
		if (vm->vcpu_fd[i] < 0)
			return -errno;
		p = mmap(NULL, vm->run_size, PROT_READ | PROT_WRITE, MAP_SHARED,
			 vm->vcpu_fd[i], 0);
		if (p == MAP_FAILED)
			return -errno;
		vm->run[i] = p;
	}
	return 0;
}

/*
 * Copies the PT_LOAD segments of an ELF32 EM_386 image to their physical
 * addresses; returns e_entry in *entry. The image comes from the benchmark
 * runner, but every offset and size is still checked before use.
 */
static int limit_load_elf32(struct limit_vm *vm, const unsigned char *img, size_t size,
			    uint32_t *entry)
{
	Elf32_Ehdr eh;

	if (size < sizeof(eh))
		return -ENOEXEC;
	memcpy(&eh, img, sizeof(eh));
	if (memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0 || eh.e_ident[EI_CLASS] != ELFCLASS32 ||
	    eh.e_machine != EM_386 || eh.e_phentsize != sizeof(Elf32_Phdr))
		return -ENOEXEC;
	if (eh.e_phoff > size || (size_t)eh.e_phnum * sizeof(Elf32_Phdr) > size - eh.e_phoff)
		return -ENOEXEC;
	for (unsigned int i = 0; i < eh.e_phnum; i++) {
		Elf32_Phdr ph;

		memcpy(&ph, img + eh.e_phoff + (size_t)i * sizeof(ph), sizeof(ph));
		if (ph.p_type != PT_LOAD)
			continue;
		if (ph.p_filesz > ph.p_memsz || ph.p_offset > size ||
		    ph.p_filesz > size - ph.p_offset || ph.p_memsz > vm->ram_size ||
		    ph.p_paddr > vm->ram_size - ph.p_memsz)
			return -ENOEXEC;
		/* RAM is fresh anonymous memory: the p_memsz tail is already zero. */
		memcpy((unsigned char *)vm->ram + ph.p_paddr, img + ph.p_offset, ph.p_filesz);
	}
	*entry = eh.e_entry;
	return 0;
}

static int limit_load_file(struct limit_vm *vm, const char *path, uint32_t *entry)
{
	struct stat st;
	void *img;
	int fd, r;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0 || st.st_size <= 0) {
		r = st.st_size <= 0 ? -ENOEXEC : -errno;
		goto out_close;
	}
	img = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (img == MAP_FAILED) {
		r = -errno;
		goto out_close;
	}
	r = limit_load_elf32(vm, img, (size_t)st.st_size, entry);
	munmap(img, (size_t)st.st_size);
out_close:
	close(fd);
	return r;
}

static void flat_segment(struct kvm_segment *s, uint16_t sel, uint8_t type)
{
	memset(s, 0, sizeof(*s));
	s->selector = sel;
	s->limit = 0xffffffff;
	s->type = type;
	s->present = 1;
	s->s = 1;
	s->db = 1;
	s->g = 1;
}

/* Flat 32-bit protected mode, paging off, CPL 0, interrupts off. */
static int limit_set_boot_cpu(struct limit_vm *vm, uint32_t entry)
{
	struct kvm_sregs sr;
	struct kvm_regs regs;
	struct kvm_segment data;

	if (ioctl(vm->vcpu_fd[0], KVM_GET_SREGS, &sr) < 0)
		return -errno;
	flat_segment(&sr.cs, SEL_CODE32, SEG_TYPE_CODE_XR_A);
	flat_segment(&data, SEL_DATA, SEG_TYPE_DATA_RW_A);
	sr.ds = sr.es = sr.fs = sr.gs = sr.ss = data;
	sr.cr0 = CR0_PE | CR0_ET | CR0_NE;
	if (ioctl(vm->vcpu_fd[0], KVM_SET_SREGS, &sr) < 0)
		return -errno;
	memset(&regs, 0, sizeof(regs));
	regs.rip = entry;
	regs.rsp = BOOT_STACK;
	regs.rflags = RFLAGS_RESERVED;
	if (ioctl(vm->vcpu_fd[0], KVM_SET_REGS, &regs) < 0)
		return -errno;
	return 0;
}

/*
 * One port-I/O exit. Returns -1 to keep running or the exit status.
 * Only byte-sized single accesses matter here; anything else is dropped
 * (reads: all-ones), as an open bus would.
 */
static int limit_port_io(struct kvm_run *run, size_t run_size)
{
	size_t bytes = (size_t)run->io.size * run->io.count;
	unsigned char *data;

	if (run->io.data_offset > run_size || bytes > run_size - run->io.data_offset)
		return LIMIT_STATUS_ERROR;
	data = (unsigned char *)run + run->io.data_offset;
	if (run->io.direction == KVM_EXIT_IO_IN) {
		memset(data, 0xff, bytes);
		if (run->io.port == PORT_COM1_LSR && run->io.size == 1)
			memset(data, UART_LSR_THRE_TEMT, bytes);
		return -1;
	}
	switch (run->io.port) {
	case PORT_POST:
		return -1;
	case PORT_DEBUG_EXIT:
		return (data[0] << 1) | 1;
	case PORT_COM1_THR:
		if (run->io.size == 1 && write(STDOUT_FILENO, data, run->io.count) < 0)
			return LIMIT_STATUS_ERROR;
		return -1;
	default:
		return -1;
	}
}

static int limit_run(struct limit_vm *vm)
{
	struct kvm_run *run = vm->run[0];

	for (;;) {
		int status;

		if (ioctl(vm->vcpu_fd[0], KVM_RUN, 0) < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			fprintf(stderr, "kvm_limit: KVM_RUN: %s\n", strerror(errno));
			return LIMIT_STATUS_ERROR;
		}
		switch (run->exit_reason) {
		case KVM_EXIT_IO:
			status = limit_port_io(run, vm->run_size);
			if (status >= 0)
				return status;
			break;
		case KVM_EXIT_MMIO:
			if (!run->mmio.is_write)
				memset(run->mmio.data, 0xff, sizeof(run->mmio.data));
			break;
		case KVM_EXIT_HLT:
			/* bench_idle: stay alive, doing nothing, until killed. */
			for (;;)
				pause();
		default:
			fprintf(stderr, "kvm_limit: unexpected exit reason %u\n",
				run->exit_reason);
			return LIMIT_STATUS_ERROR;
		}
	}
}

static void limit_usage(void)
{
	fprintf(stderr, "usage: kvm_limit [-m MiB] [-c VCPUS] [-e] FILE.elf\n");
}

int main(int argc, char **argv)
{
	struct limit_vm vm = { .kvm_fd = -1, .vm_fd = -1, .nr_vcpus = 1 };
	unsigned long mib = 256;
	uint32_t entry = 0;
	char *end;
	bool post_eventfd = false;
	int opt, r;

	while ((opt = getopt(argc, argv, "m:c:e")) != -1) {
		switch (opt) {
		case 'm':
			mib = strtoul(optarg, &end, 0);
			if (*end || mib < 2 || mib > 3072) {
				limit_usage();
				return LIMIT_STATUS_USAGE;
			}
			break;
		case 'c':
			vm.nr_vcpus = (unsigned int)strtoul(optarg, &end, 0);
			if (*end || vm.nr_vcpus < 1 || vm.nr_vcpus > LIMIT_MAX_VCPUS) {
				limit_usage();
				return LIMIT_STATUS_USAGE;
			}
			break;
		case 'e':
			post_eventfd = true;
			break;
		default:
			limit_usage();
			return LIMIT_STATUS_USAGE;
		}
	}
	if (optind != argc - 1) {
		limit_usage();
		return LIMIT_STATUS_USAGE;
	}
	vm.ram_size = mib << 20;

	/*
	 * The process ends right after the guest does; the kernel releases
	 * the VM, the mappings and the descriptors, as it would for any VMM
	 * that exits without tearing down by hand.
	 */
	r = limit_open_vm(&vm);
	if (!r && post_eventfd)
		r = limit_sink_post_port(&vm);
	if (!r)
		r = limit_create_vcpus(&vm);
	if (r) {
		fprintf(stderr, "kvm_limit: cannot create the VM: %s\n", strerror(-r));
		return LIMIT_STATUS_ERROR;
	}
	r = limit_load_file(&vm, argv[optind], &entry);
	if (r) {
		fprintf(stderr, "kvm_limit: %s: %s\n", argv[optind], strerror(-r));
		return LIMIT_STATUS_ERROR;
	}
	r = limit_set_boot_cpu(&vm, entry);
	if (r) {
		fprintf(stderr, "kvm_limit: cannot set the boot vCPU's registers: %s\n",
			strerror(-r));
		return LIMIT_STATUS_ERROR;
	}
	return limit_run(&vm);
}

/*
 * In-kernel interrupt controllers and the KVM side of struct irq_line.
 */
#include <errno.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>

#include "trapeze/irq.h"

int irq_create_chip(int vm_fd)
{
	struct kvm_pit_config pit;

	/* PIC pair, IOAPIC and one LAPIC per vCPU, all in the kernel. */
	if (ioctl(vm_fd, KVM_CREATE_IRQCHIP, 0) < 0)
		return -errno;
	/* i8254 on ports 0x40-0x43 (and the speaker port 0x61), IRQ 0. */
	memset(&pit, 0, sizeof(pit));
	pit.flags = KVM_PIT_SPEAKER_DUMMY;
	if (ioctl(vm_fd, KVM_CREATE_PIT2, &pit) < 0)
		return -errno;
	return 0;
}

void irq_kvm_set(void *opaque, u32 gsi, int level)
{
	const int *vm_fd = opaque;
	struct kvm_irq_level irq = { .irq = gsi, .level = level };

	/*
	 * Can fail only for a GSI outside the routing table, which is a
	 * wiring bug in board.c; report it rather than lose it silently.
	 */
	if (ioctl(*vm_fd, KVM_IRQ_LINE, &irq) < 0)
		fprintf(stderr, "trapeze: KVM_IRQ_LINE gsi %u: %s\n", gsi, strerror(errno));
}

/* What KVM emulates in the kernel once irq_create_chip() ran (never exits to us). */
static const struct {
	bool mmio;
	u64 base, len;
	const char *name;
} irq_kernel_devices[] = {
	{ false, 0x20, 2, "8259 PIC (master)" },
	{ false, 0xa0, 2, "8259 PIC (slave)" },
	{ false, 0x4d0, 2, "8259 edge/level control" },
	{ false, 0x40, 4, "8254 PIT" },
	{ false, 0x61, 1, "PIT speaker gate" },
	{ true, 0xfec00000, 0x1000, "I/O APIC" },
	{ true, 0xfee00000, 0x100000, "local APIC" },
};

const char *irq_kernel_device(bool mmio, u64 addr)
{
	for (size_t i = 0; i < ARRAY_SIZE(irq_kernel_devices); i++)
		if (irq_kernel_devices[i].mmio == mmio && addr >= irq_kernel_devices[i].base &&
		    addr - irq_kernel_devices[i].base < irq_kernel_devices[i].len)
			return irq_kernel_devices[i].name;
	return NULL;
}

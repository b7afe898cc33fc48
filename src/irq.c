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

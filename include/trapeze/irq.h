/*
 * irq: how devices raise interrupt lines without knowing about KVM.
 *
 * A device holds a struct irq_line and calls irq_line_set(). The VM wires the
 * line to KVM_IRQ_LINE on its GSI; unit tests wire it to a recorder.
 */
#ifndef TRAPEZE_IRQ_H
#define TRAPEZE_IRQ_H

#include "trapeze/types.h"

struct irq_line {
	void (*set)(void *opaque, u32 gsi, int level);
	void *opaque;
	u32 gsi;
};

static inline void irq_line_set(const struct irq_line *line, int level)
{
	if (line && line->set)
		line->set(line->opaque, line->gsi, level);
}

/* Creates the in-kernel irqchip (PIC, IOAPIC, LAPICs) and the PIT. 0 or -errno. */
int irq_create_chip(int vm_fd);

/* The KVM_IRQ_LINE implementation of irq_line.set; opaque is a pointer to the vm fd. */
void irq_kvm_set(void *opaque, u32 gsi, int level);

/*
 * The device KVM emulates in the kernel at a port (mmio false) or physical
 * address, such as the PIC, PIT, I/O APIC and local APICs; NULL when none.
 * For teaching tools: those accesses never reach trapeze.
 */
const char *irq_kernel_device(bool mmio, u64 addr);

#endif

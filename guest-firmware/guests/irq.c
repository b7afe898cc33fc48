/*
 * irq: timer interrupts through the guest's own IDT. Remaps the master PIC
 * to vector 0x20, runs PIT channel 0 at 1 kHz, and sleeps in hlt until 20
 * ticks have come. Prints "irq: 20 timer interrupts" and debug-exits 0x14
 * (status 41). Everything is at CPL 0, so the tick handler is five
 * instructions and the wait loop three.
 */
#include "rt.h"

#define IRQ_OK		0x14
#define IRQ_TICKS	20

int main(void);

int main(void)
{
	rt_cpu_init();
	rt_set_gate(0x20, rt_tick_isr, RT_GATE_KERNEL);
	rt_set_gate(0x27, rt_spurious_isr, RT_GATE_KERNEL);
	rt_pic_init(0x20, 0x28, 0xfffe);	/* only IRQ 0 (PIT) unmasked */
	rt_puts("irq: PIT at 1000 Hz, waiting for 20 ticks\n");
	rt_pit_start(1000);
	rt_wait_ticks(IRQ_TICKS);
	rt_pic_mask(0xffff);
	/* At least IRQ_TICKS came (KVM's PIT may re-inject a late one right after). */
	rt_puts("irq: ");
	rt_put_dec(IRQ_TICKS);
	rt_puts(" timer interrupts\n");
	rt_debug_exit(IRQ_OK);
}

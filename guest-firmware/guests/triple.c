/*
 * triple: ends the VM with a triple fault (trapeze: KVM_EXIT_SHUTDOWN,
 * status 4). The IDT is emptied (limit 0), so the first exception cannot be
 * delivered (#GP), nor can that one (#DF), which shuts the CPU down.
 * If the CPU survives anyway, the guest says so and debug-exits 0x13.
 */
#include "rt.h"

#define TRIPLE_SURVIVED	0x13

int main(void);

int main(void)
{
	struct {
		uint16_t limit;
		uint64_t base;
	} __attribute__((packed)) empty = { 0, 0 };

	rt_puts("triple: empty IDT, raising #UD\n");
	__asm__ volatile("lidt %0\n\t"
			 "ud2" : : "m"(empty) : "memory");
	rt_puts("triple: still running after the fault\n");
	rt_debug_exit(TRIPLE_SURVIVED);
}

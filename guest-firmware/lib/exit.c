/* exit: the two ways a guest ends its VM (docs/guest-abi.md, "Devices"). */
#include "io.h"
#include "rt.h"

#define DEBUG_EXIT_PORT		0xf4
#define PM1A_CNT_PORT		0x604
#define PM1A_CNT_SLP_TYP_S5	(5 << 10)	/* ACPI 6.5 4.8.3.2.1: SLP_TYPx */
#define PM1A_CNT_SLP_EN		(1 << 13)	/* ACPI 6.5 4.8.3.2.1: SLP_EN */

void rt_debug_exit(uint8_t v)
{
	outb(DEBUG_EXIT_PORT, v);
	halt_forever();
}

void rt_poweroff(void)
{
	outw(PM1A_CNT_PORT, PM1A_CNT_SLP_TYP_S5 | PM1A_CNT_SLP_EN);
	rt_puts("rt: poweroff did not end the VM\n");
	rt_debug_exit(RT_EXIT_POWEROFF_FAILED);
}

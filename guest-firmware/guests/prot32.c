/*
 * prot32: a 32-bit protected-mode guest (ELF32, EM_386). Checks it was
 * entered the way docs/guest-abi.md says (CR0.PE set, CR0.PG clear, CPL 0),
 * prints a line and debug-exits 0x11 (status 35), or 0x12 (37) on a mismatch.
 */
#include "rt.h"

#define PROT32_OK	0x11
#define PROT32_FAIL	0x12
#define CR0_PE		(1u << 0)	/* SDM Vol. 3A 2.5 */
#define CR0_PG		(1u << 31)

int main(void);

int main(void)
{
	uint32_t cr0;
	uint16_t cs;

	__asm__ volatile("mov %%cr0, %0" : "=r"(cr0));
	__asm__ volatile("mov %%cs, %0" : "=r"(cs));
	rt_puts("prot32: hello from 32-bit protected mode\n");
	if (!(cr0 & CR0_PE) || (cr0 & CR0_PG) || (cs & 3)) {
		rt_puts("prot32: FAIL unexpected entry state cr0=");
		rt_put_hex(cr0);
		rt_puts(" cs=");
		rt_put_hex(cs);
		rt_putc('\n');
		rt_debug_exit(PROT32_FAIL);
	}
	rt_puts("prot32: paging off, CPL 0: ok\n");
	rt_debug_exit(PROT32_OK);
}

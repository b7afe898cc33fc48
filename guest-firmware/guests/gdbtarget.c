/*
 * gdbtarget: the guest of the debugger tests (tests/gdb/, the --step rows of
 * tests/boot/table.txt, docs/debugging.md). Built with symbols (-g) like
 * every tiny guest, so gdb can break on a function and read a variable.
 *
 * At CPL 0 it calls gdb_tick(1) GDB_TICKS times; each call adds its
 * argument to the global gdb_counter. Then at CPL 3 it writes a marker to
 * an unclaimed MMIO address (an exit from CPL-3 code, for --step=mmio) and
 * counts gdb_user_counter up GDB_USER_LOOPS times. It prints both counters
 * and ends with debug-exit 0x2a (status 85); 0x2b (status 87) when a
 * counter is wrong (someone changed it in a debugger).
 */
#include "rt.h"

#define GDBTARGET_OK	0x2a
#define GDBTARGET_FAIL	0x2b
#define GDB_TICKS	1000
#define GDB_USER_LOOPS	1000
#define GDB_MMIO_MARK	0xd0000000UL	/* in the 32-bit hole: nobody claims it */

int main(void);
void gdb_tick(uint64_t step);

volatile uint64_t gdb_counter;
volatile uint64_t gdb_user_counter;

/* The function the tests break on: one call per loop round. */
__attribute__((noinline)) void gdb_tick(uint64_t step)
{
	gdb_counter += step;
}

/* Runs at CPL 3. */
static uint64_t gdb_user_phase(uint64_t loops)
{
	volatile uint32_t *mark = (volatile uint32_t *)GDB_MMIO_MARK;

	*mark = 0x600d;
	for (uint64_t i = 0; i < loops; i++)
		gdb_user_counter++;
	return gdb_user_counter;
}

int main(void)
{
	uint64_t user;

	rt_cpu_init();
	rt_puts("gdbtarget: start\n");
	for (uint64_t i = 0; i < GDB_TICKS; i++)
		gdb_tick(1);
	rt_puts("gdbtarget: counter=");
	rt_put_dec(gdb_counter);
	rt_putc('\n');
	user = rt_run_user(gdb_user_phase, GDB_USER_LOOPS);
	rt_puts("gdbtarget: user counter=");
	rt_put_dec(user);
	rt_putc('\n');
	return gdb_counter == GDB_TICKS && user == GDB_USER_LOOPS ? GDBTARGET_OK : GDBTARGET_FAIL;
}

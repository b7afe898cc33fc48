/*
 * usermode: the pattern that is fast on the kvm_pvm host. A few lines of
 * set-up at CPL 0, then the bulk of the work at CPL 3 (native speed there),
 * printing through the DPL-3 syscall gate, then back to CPL 0 to exit.
 * The CPL-3 part runs 5,000,000 xorshift64 steps (about 60 million
 * instructions: seconds if they were emulated, milliseconds natively) and
 * the result is checked against a value computed on the host.
 * Success: debug-exit 0x16 (status 45); failure: 0x17 (status 47).
 */
#include "rt.h"

#define USERMODE_OK	0x16
#define USERMODE_FAIL	0x17
#define USER_STEPS	5000000
#define XORSHIFT_SEED	0x9e3779b97f4a7c15ULL
#define XORSHIFT_EXPECT	0x2124a0ff30a0a4e7ULL	/* after USER_STEPS steps */

int main(void);

static volatile uint64_t user_cpl = ~0ULL;	/* written at CPL 3 */

static inline uint64_t rdtsc(void)
{
	uint32_t lo, hi;

	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return ((uint64_t)hi << 32) | lo;
}

static inline uint64_t current_cpl(void)
{
	uint16_t cs;

	__asm__ volatile("mov %%cs, %0" : "=r"(cs));
	return cs & 3;
}

/* Runs at CPL 3: no port I/O here, output goes through the gate. */
static uint64_t user_main(uint64_t steps)
{
	uint64_t x = XORSHIFT_SEED, t0, t1, i;

	user_cpl = current_cpl();
	rt_sys_puts("usermode: hello from CPL ");
	rt_sys_put_dec(user_cpl);
	rt_sys_putc('\n');

	t0 = rdtsc();
	for (i = 0; i < steps; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
	}
	t1 = rdtsc();

	rt_sys_puts("usermode: 5000000 xorshift steps, x = ");
	rt_sys_put_hex(x);
	rt_sys_puts("\nusermode: loop took ");
	rt_sys_put_dec(t1 - t0);
	rt_sys_puts(" TSC ticks\n");
	return x;
}

int main(void)
{
	uint64_t x;

	rt_cpu_init();
	rt_puts("usermode: dropping to CPL 3\n");
	x = rt_run_user(user_main, USER_STEPS);
	rt_puts("usermode: back at CPL ");
	rt_put_dec(current_cpl());
	rt_putc('\n');
	if (user_cpl != 3 || x != XORSHIFT_EXPECT || current_cpl() != 0) {
		rt_puts("usermode: FAIL wrong CPL or result\n");
		rt_debug_exit(USERMODE_FAIL);
	}
	rt_puts("usermode: ok\n");
	rt_debug_exit(USERMODE_OK);
}

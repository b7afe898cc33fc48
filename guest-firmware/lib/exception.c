/*
 * exception: what an unexpected exception does. It prints one line naming
 * the vector, error code and where it happened, then debug-exits with
 * RT_EXIT_EXCEPTION_BASE + vector, so each vector has its own exit status.
 */
#include "io.h"
#include "rt.h"

/* The stack rt_exc_common builds: saved registers, then the CPU's frame. */
struct exc_frame {
	uint64_t r15, r14, r13, r12, r11, r10, r9, r8;
	uint64_t rbp, rdi, rsi, rdx, rcx, rbx, rax;
	uint64_t vector, error;
	uint64_t rip, cs, rflags, rsp, ss;
};

__attribute__((noreturn)) void rt_exception(struct exc_frame *f);

void rt_exception(struct exc_frame *f)
{
	static const char *const names[32] = {
		"#DE", "#DB", "NMI", "#BP", "#OF", "#BR", "#UD", "#NM",
		"#DF", "CSO", "#TS", "#NP", "#SS", "#GP", "#PF", "res",
		"#MF", "#AC", "#MC", "#XM", "#VE", "#CP", "res", "res",
		"res", "res", "res", "res", "#HV", "#VC", "#SX", "res",
	};
	uint64_t cr2;

	rt_puts("\nEXCEPTION ");
	rt_puts(names[f->vector & 31]);
	rt_puts(" vector=");
	rt_put_hex(f->vector);
	rt_puts(" error=");
	rt_put_hex(f->error);
	rt_puts(" rip=");
	rt_put_hex(f->rip);
	rt_puts(" cs=");
	rt_put_hex(f->cs);
	rt_puts(" rsp=");
	rt_put_hex(f->rsp);
	if (f->vector == 14) {
		__asm__ volatile("mov %%cr2, %0" : "=r"(cr2));
		rt_puts(" cr2=");
		rt_put_hex(cr2);
	}
	rt_putc('\n');
	rt_debug_exit((uint8_t)(RT_EXIT_EXCEPTION_BASE + (f->vector & 31)));
}

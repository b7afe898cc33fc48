/*
 * syscall: the services CPL-3 code reaches through the DPL-3 gate at
 * RT_SYSCALL_VECTOR. They run at CPL 0, where port I/O works.
 * RT_SYS_EXIT never gets here: rt_syscall_entry handles it in assembly.
 */
#include "rt.h"

uint64_t rt_syscall_dispatch(uint64_t nr, uint64_t arg);

uint64_t rt_syscall_dispatch(uint64_t nr, uint64_t arg)
{
	switch (nr) {
	case RT_SYS_PUTC:
		rt_putc((char)arg);
		return 0;
	case RT_SYS_PUTS:
		rt_puts((const char *)(uintptr_t)arg);
		return 0;
	case RT_SYS_PUT_HEX:
		rt_put_hex(arg);
		return 0;
	case RT_SYS_PUT_DEC:
		rt_put_dec(arg);
		return 0;
	default:
		return (uint64_t)-1;
	}
}

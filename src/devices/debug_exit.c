/*
 * Debug-exit port (isa-debug-exit convention of QEMU and kvm-unit-tests):
 * a write of value V ends the VM with exit status (V << 1) | 1, so a test
 * guest can report pass/fail through trapeze's own exit status. Only the
 * low byte of wider writes counts.
 */
#include "trapeze/devices/misc.h"
#include "trapeze/status.h"

static void debug_exit_write(void *dev, u64 offset, const void *data, u32 len)
{
	const struct power_ctl *power = dev;
	u8 v = *(const u8 *)data;

	(void)offset;
	(void)len;
	power_request(power, status_from_debug_exit(v), "guest wrote the debug-exit port");
}

const struct bus_ops debug_exit_ops = {
	.read = sink_read,
	.write = debug_exit_write,
};

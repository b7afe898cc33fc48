/*
 * A sink for ports a guest may legitimately poke with nothing behind them,
 * such as the POST-code port 0x80 that old code writes to for delays:
 * writes vanish without a log line, reads return all-ones.
 */
#include <string.h>

#include "trapeze/devices/misc.h"

void sink_read(void *dev, u64 offset, void *data, u32 len)
{
	(void)dev;
	(void)offset;
	memset(data, 0xff, len);
}

static void sink_write(void *dev, u64 offset, const void *data, u32 len)
{
	(void)dev;
	(void)offset;
	(void)data;
	(void)len;
}

const struct bus_ops sink_ops = {
	.read = sink_read,
	.write = sink_write,
};

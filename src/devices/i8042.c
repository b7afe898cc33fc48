/*
 * A minimal i8042 keyboard controller: enough for a guest to reset the
 * machine by pulsing the CPU reset line (command 0xFE to port 0x64), the
 * oldest PC reset path and one Linux tries (reboot=k). No keyboard behind it:
 * the status register says "output buffer empty, input buffer empty", so
 * probing drivers find no data and never wait.
 */
#include <string.h>

#include "trapeze/devices/misc.h"
#include "trapeze/status.h"

#define I8042_CMD_PULSE_RESET 0xfe	/* pulse output line 0 (CPU reset) */
#define I8042_OFF_DATA 0		/* port 0x60 */
#define I8042_OFF_CMD 4			/* port 0x64 */

static void i8042_read(void *dev, u64 offset, void *data, u32 len)
{
	(void)dev;
	/*
	 * Data: nothing queued. Status: OBF=0, IBF=0, system flag clear.
	 * Ports 0x61-0x63 inside the range belong to nobody here.
	 */
	memset(data, offset == I8042_OFF_DATA || offset == I8042_OFF_CMD ? 0 : 0xff, len);
}

static void i8042_write(void *dev, u64 offset, const void *data, u32 len)
{
	struct i8042 *kbd = dev;

	if (offset == I8042_OFF_CMD && len == 1 &&
	    *(const u8 *)data == I8042_CMD_PULSE_RESET)
		power_request(&kbd->power, STATUS_REBOOT,
			      "guest reset the machine through the keyboard controller");
}

const struct bus_ops i8042_ops = {
	.read = i8042_read,
	.write = i8042_write,
};

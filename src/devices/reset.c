/*
 * The PC reset control register at port 0xCF9 (Intel ICH/PIIX datasheets,
 * "Reset Control Register"): writing a value with RST_CPU (bit 2) set
 * resets the machine. The FADT's RESET_REG points here with value 0x06 (SYS_RST|RST_CPU),
 * and Linux's reboot=pci writes it directly. The VM ends with STATUS_REBOOT.
 * Reads return the last value written, as on the chipsets.
 *
 * 0xCF9 sits inside the PCI configuration window 0xCF8-0xCFF, which the
 * PCI host bridge (devices/pci.c) owns: the board hands this device to
 * pci_bus_init() as its cf9_ops, and the bridge forwards byte accesses at
 * 0xCF9 here with offset RESET_CF9_OFFSET, as if the device were
 * registered over the whole window. Anything else that reaches it (only
 * possible if it is registered over the window itself, as it was before
 * the bridge) reads all-ones and is dropped.
 */
#include "trapeze/devices/misc.h"
#include "trapeze/status.h"

#define RESET_CF9_RST_CPU (1u << 2)

static void reset_read(void *dev, u64 offset, void *data, u32 len)
{
	struct reset_ctl *rc = dev;

	if (offset != RESET_CF9_OFFSET || len != 1) {
		sink_read(dev, offset, data, len);
		return;
	}
	*(u8 *)data = __atomic_load_n(&rc->last, __ATOMIC_RELAXED);
}

static void reset_write(void *dev, u64 offset, const void *data, u32 len)
{
	struct reset_ctl *rc = dev;
	u8 v = *(const u8 *)data;

	if (offset != RESET_CF9_OFFSET || len != 1)
		return;
	__atomic_store_n(&rc->last, v, __ATOMIC_RELAXED);
	if (v & RESET_CF9_RST_CPU)
		power_request(&rc->power, STATUS_REBOOT,
			      "guest reset the machine through port 0xcf9");
}

const struct bus_ops reset_ops = {
	.read = reset_read,
	.write = reset_write,
};

/*
 * Small port-I/O devices of the PC board:
 *   debug exit (0xf4)      a byte V ends the VM with status (V << 1) | 1
 *   i8042 (0x60, 0x64)     just enough of the keyboard controller to reset
 *   ACPI PM1a (0x600-0x605) event and control blocks: S5 powers off
 *   reset control (0xcf9)  RST_CPU resets
 *   sink (e.g. 0x80)       accepts writes silently, reads all-ones
 */
#ifndef TRAPEZE_DEVICES_MISC_H
#define TRAPEZE_DEVICES_MISC_H

#include <pthread.h>

#include "trapeze/bus.h"
#include "trapeze/power.h"
#include "trapeze/types.h"

#define DEBUG_EXIT_PORT 0xf4
#define I8042_DATA_PORT 0x60
#define I8042_CMD_PORT 0x64
#define POST_PORT 0x80

/*
 * Legacy ports Linux probes on every boot with nothing behind them here:
 * COM2-COM4, Super I/O configuration indexes, the DMA page registers. A
 * sink answers them as "absent" (all-ones) without a log line each boot.
 */
struct legacy_probe_range {
	u16 port;
	u16 len;
	const char *name;
};
#define LEGACY_PROBE_RANGES { \
	{ 0x2f8, 8, "com2-absent" }, { 0x3e8, 8, "com3-absent" }, \
	{ 0x2e8, 8, "com4-absent" }, { 0x2e, 2, "superio-absent" }, \
	{ 0x4e, 2, "superio2-absent" }, { 0x81, 15, "dma-page-absent" } }

/* ACPI PM1a blocks (ACPI 6.5 section 4.8.3); FADT points here. */
#define ACPI_PM1A_EVT_PORT 0x600
#define ACPI_PM1A_EVT_LEN 4
#define ACPI_PM1A_CNT_PORT 0x604
#define ACPI_PM1A_CNT_LEN 2
#define ACPI_PM1_CNT_SCI_EN (1u << 0)
#define ACPI_PM1_CNT_SLP_TYP_SHIFT 10
#define ACPI_PM1_CNT_SLP_TYP_MASK (7u << 10)
#define ACPI_PM1_CNT_SLP_EN (1u << 13)
#define ACPI_S5_SLP_TYP 5	/* the value our DSDT's \_S5 package gives */

extern const struct bus_ops debug_exit_ops;	/* dev: struct power_ctl */

struct i8042 {
	struct power_ctl power;
};
/* dev: struct i8042; registered over 0x60..0x64 (offset 0 data, 4 command). */
#define I8042_RANGE_LEN 5
extern const struct bus_ops i8042_ops;

struct acpi_pm {
	pthread_mutex_t lock;
	struct power_ctl power;
	u16 sts, en, cnt;
};
int acpi_pm_init(struct acpi_pm *pm, struct power_ctl power);
void acpi_pm_destroy(struct acpi_pm *pm);
extern const struct bus_ops acpi_pm_ops;	/* registered over 0x600..0x605 */

/*
 * Reset control register (0xCF9): RST_CPU ends the VM as a reboot. Registered
 * over the PCI configuration window 0xCF8-0xCFF, whose other ports read as "no
 * PCI"; a later PCI host bridge owning the window forwards 0xCF9 here.
 */
#define RESET_WINDOW_PORT 0xcf8
#define RESET_WINDOW_LEN 8
#define RESET_CF9_OFFSET 1
#define RESET_CF9_PORT 0xcf9
#define RESET_CF9_VALUE 0x06	/* what the FADT tells the guest to write */
struct reset_ctl {
	struct power_ctl power;
	u8 last;
};
extern const struct bus_ops reset_ops;

extern const struct bus_ops sink_ops;		/* dev unused */
/* Fills data with all-ones: the read handler of write-only ports. */
void sink_read(void *dev, u64 offset, void *data, u32 len);

#endif

/*
 * ACPI PM1a event and control blocks (ACPI 6.5 section 4.8.3.1 and 4.8.3.2)
 * in port I/O at 0x600 (PM1a_EVT: PM1_STS, PM1_EN) and 0x604 (PM1a_CNT).
 * Writing SLP_EN with SLP_TYP = the \_S5 value powers the machine off: the
 * VM ends with status 0. SCI_EN reads as set: the platform is always in ACPI
 * mode, so a guest never needs an SMI command port to switch.
 */
#include <errno.h>
#include <string.h>

#include "trapeze/devices/misc.h"
#include "trapeze/status.h"

int acpi_pm_init(struct acpi_pm *pm, struct power_ctl power)
{
	memset(pm, 0, sizeof(*pm));
	pm->power = power;
	pm->cnt = ACPI_PM1_CNT_SCI_EN;
	return -pthread_mutex_init(&pm->lock, NULL);
}

void acpi_pm_destroy(struct acpi_pm *pm)
{
	pthread_mutex_destroy(&pm->lock);
}

/* Offsets 0-1 PM1_STS, 2-3 PM1_EN, 4-5 PM1_CNT, as one little-endian window. */
static void acpi_pm_read(void *dev, u64 offset, void *data, u32 len)
{
	struct acpi_pm *pm = dev;
	u8 regs[6];

	pthread_mutex_lock(&pm->lock);
	regs[0] = pm->sts & 0xff;
	regs[1] = pm->sts >> 8;
	regs[2] = pm->en & 0xff;
	regs[3] = pm->en >> 8;
	regs[4] = pm->cnt & 0xff;
	regs[5] = pm->cnt >> 8;
	pthread_mutex_unlock(&pm->lock);
	/* The bus guarantees offset + len <= 6. */
	memcpy(data, regs + offset, len);
}

static void acpi_pm_write(void *dev, u64 offset, const void *data, u32 len)
{
	struct acpi_pm *pm = dev;
	u8 regs[6];
	bool poweroff = false;
	u16 cnt;

	pthread_mutex_lock(&pm->lock);
	regs[0] = 0;	/* PM1_STS bits are write-1-to-clear: start from none */
	regs[1] = 0;
	regs[2] = pm->en & 0xff;
	regs[3] = pm->en >> 8;
	regs[4] = pm->cnt & 0xff;
	regs[5] = pm->cnt >> 8;
	memcpy(regs + offset, data, len);
	pm->sts &= (u16)~(regs[0] | regs[1] << 8);
	pm->en = regs[2] | regs[3] << 8;
	cnt = regs[4] | regs[5] << 8;
	if (cnt & ACPI_PM1_CNT_SLP_EN) {
		unsigned int typ = (cnt & ACPI_PM1_CNT_SLP_TYP_MASK) >>
				   ACPI_PM1_CNT_SLP_TYP_SHIFT;
		poweroff = typ == ACPI_S5_SLP_TYP;
		cnt &= (u16)~ACPI_PM1_CNT_SLP_EN;	/* SLP_EN reads as zero */
	}
	pm->cnt = cnt | ACPI_PM1_CNT_SCI_EN;
	pthread_mutex_unlock(&pm->lock);

	if (poweroff)
		power_request(&pm->power, STATUS_POWEROFF, "guest powered off (ACPI S5)");
}

const struct bus_ops acpi_pm_ops = {
	.read = acpi_pm_read,
	.write = acpi_pm_write,
};

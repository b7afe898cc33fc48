/*
 * board: every device of the machine, created and wired onto the buses in
 * one readable place (board.c).
 */
#ifndef TRAPEZE_BOARD_H
#define TRAPEZE_BOARD_H

#include "trapeze/devices/misc.h"
#include "trapeze/devices/pci.h"
#include "trapeze/devices/rtc.h"
#include "trapeze/devices/serial.h"
#include "trapeze/msi.h"
#include "trapeze/power.h"

struct vm;

struct board {
	struct power_ctl power;
	struct serial com1;
	bool com1_ready;
	struct i8042 i8042;
	struct reset_ctl reset;
	struct acpi_pm pm;
	bool pm_ready;
	struct rtc rtc;
	bool rtc_ready;
	/* MSI delivery (msi.h); absent when KVM offers neither irqfd routing nor SIGNAL_MSI. */
	struct msi_router msi;
	bool msi_ready;
	/* PCI bus 0 (devices/pci.h); owns 0xCF8-0xCFF and forwards 0xCF9 to reset. */
	struct pci_bus pci;
	bool pci_ready;
};

/* Creates the devices and registers them on vm's buses. 0 or -errno. */
int board_create(struct board *board, struct vm *vm, char *err, size_t err_len);
void board_destroy(struct board *board);

#endif

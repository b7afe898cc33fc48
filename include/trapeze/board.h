/*
 * board: every device of the machine, created and wired onto the buses in
 * one readable place (board.c).
 */
#ifndef TRAPEZE_BOARD_H
#define TRAPEZE_BOARD_H

#include <pthread.h>

#include "trapeze/config.h"
#include "trapeze/console.h"
#include "trapeze/devices/misc.h"
#include "trapeze/devices/pci.h"
#include "trapeze/devices/rtc.h"
#include "trapeze/devices/serial.h"
#include "trapeze/msi.h"
#include "trapeze/power.h"
#include "trapeze/virtio/blk.h"
#include "trapeze/virtio/console.h"
#include "trapeze/virtio/pci.h"
#include "trapeze/virtio/rng.h"

struct vm;

/*
 * The paravirtual devices the command line asks for (-d, --rng, --console
 * virtio), each behind its own virtio-pci function on bus 0. Allocated
 * (they are large) and freed last, after the PCI bus that points at them.
 */
struct board_virtio {
	struct virtio_blk disks[CONFIG_MAX_DISKS];
	struct virtio_pci disk_pci[CONFIG_MAX_DISKS];
	unsigned int nr_disks;		/* devices created */
	unsigned int nr_disk_pci;	/* of those, with their transport */
	struct virtio_rng rng;
	struct virtio_pci rng_pci;
	bool rng_ready, rng_pci_ready;
	struct virtio_console con;
	struct virtio_pci con_pci;
	bool con_ready, con_pci_ready;
};

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
	/* Paravirtual devices; NULL when none was asked for. */
	struct board_virtio *virtio;
	/* Where the console thread sends host input: the UART, or virtio-console (--console virtio). */
	struct console_sink console_in;
	/* The observer of guest console output (--stop-on), fed by both consoles under tap_lock. */
	struct serial_tap console_tap;
	pthread_mutex_t tap_lock;
};

/* Creates the devices and registers them on vm's buses. 0 or -errno. */
int board_create(struct board *board, struct vm *vm, char *err, size_t err_len);
void board_destroy(struct board *board);

/*
 * Makes tap see every byte the guest prints on its consoles (the UART and,
 * with --console virtio, virtio-console), one byte at a time even when both
 * print at once. Call before the vCPUs run.
 */
void board_set_console_tap(struct board *board, struct serial_tap tap);

#endif

/*
 * The machine trapeze builds: every device, its port range and its IRQ,
 * in one place. Create order is the table order; destroy is the reverse.
 */
#include <errno.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "trapeze/arch/x86/layout.h"
#include "trapeze/board.h"
#include "trapeze/vm.h"

static void board_power_request(void *opaque, int status, const char *reason)
{
	vm_request_stop(opaque, status, reason);
}

/* Guest physical address bits (CPUID 0x80000008 EAX[7:0]); 36 when KVM does not say. */
static unsigned int board_phys_bits(const struct vm *vm)
{
	const struct kvm_cpuid2 *c = vm->kvm ? vm->kvm->cpuid : NULL;

	for (u32 i = 0; c && i < c->nent; i++)
		if (c->entries[i].function == 0x80000008 && (c->entries[i].eax & 0xff))
			return c->entries[i].eax & 0xff;
	return 36;
}

/*
 * PCI bus 0 and MSI delivery. The host bridge owns 0xCF8-0xCFF and passes
 * the reset register at 0xCF9 on to board->reset. Without any way to deliver
 * MSIs (msi_router_init_kvm says -ENOTSUP) devices get no MSI-X capability.
 */
static int board_create_pci(struct board *board, struct vm *vm, char *err, size_t err_len)
{
	struct irq_line intx = { .set = irq_kvm_set, .opaque = &vm->fd };
	int r = msi_router_init_kvm(&board->msi, vm->kvm, &vm->fd);

	if (r && r != -ENOTSUP) {
		snprintf(err, err_len, "cannot set up MSI delivery: %s", strerror(-r));
		return r;
	}
	board->msi_ready = r == 0;
	r = pci_bus_init(&board->pci, &vm->pio, &vm->mmio, intx,
			 board->msi_ready ? &board->msi : NULL, &reset_ops, &board->reset);
	if (r) {
		snprintf(err, err_len, "cannot place the PCI host bridge (ports 0xcf8-0xcff, "
			 "ECAM at 0x%llx): %s", (unsigned long long)X86_PCI_ECAM_BASE, strerror(-r));
		return r;
	}
	board->pci_ready = true;
	pci_bus_limit_phys_bits(&board->pci, board_phys_bits(vm));
	vm->pci = &board->pci;
	return 0;
}

/* ---- paravirtual devices and the consoles ---- */

static size_t board_serial_receive(void *opaque, const u8 *buf, size_t len)
{
	return serial_receive(opaque, buf, len);
}

/* Both consoles' taps end here: one byte at a time into the real observer. */
static void board_tap_byte(void *opaque, u8 byte)
{
	struct board *board = opaque;

	pthread_mutex_lock(&board->tap_lock);
	board->console_tap.byte(board->console_tap.opaque, byte);
	pthread_mutex_unlock(&board->tap_lock);
}

void board_set_console_tap(struct board *board, struct serial_tap tap)
{
	board->console_tap = tap;
	board->com1.tap = (struct serial_tap){ .byte = board_tap_byte, .opaque = board };
	if (board->virtio && board->virtio->con_ready)
		board->virtio->con.tap = (struct virtio_console_tap){
			.byte = board_tap_byte, .opaque = board,
		};
}

/* The host terminal's size for virtio-console (VIRTIO_CONSOLE_F_SIZE); 0, 0 when unknown. */
static void board_term_size(u16 *cols, u16 *rows)
{
	struct winsize ws;

	*cols = *rows = 0;
	if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col && ws.ws_row) {
		*cols = ws.ws_col;
		*rows = ws.ws_row;
	}
}

/*
 * The paravirtual devices of the command line, each behind a virtio-pci
 * function on bus 0 in this order: the disks as given (the first -d is the
 * guest's vda), then virtio-rng, then virtio-console, which then takes the
 * host's input.
 */
static int board_create_virtio(struct board *board, struct vm *vm, char *err, size_t err_len)
{
	const struct vm_config *cfg = vm->cfg;
	struct board_virtio *v;
	u16 cols, rows;
	int r;

	if (!cfg->nr_disks && !cfg->rng && cfg->console != CONFIG_CONSOLE_VIRTIO)
		return 0;
	v = calloc(1, sizeof(*v));
	if (!v) {
		snprintf(err, err_len, "cannot create the virtio devices: %s", strerror(ENOMEM));
		return -ENOMEM;
	}
	board->virtio = v;
	for (unsigned int i = 0; i < cfg->nr_disks; i++) {
		r = virtio_blk_create(&v->disks[i], cfg->disks[i].path, cfg->disks[i].ro, i,
				      &vm->mem, err, err_len);
		if (r)
			return r;
		v->nr_disks++;
		r = virtio_pci_create(&v->disk_pci[i], vm, &v->disks[i].vd, err, err_len);
		if (r)
			return r;
		v->nr_disk_pci++;
	}
	if (cfg->rng) {
		r = virtio_rng_create(&v->rng, &vm->mem);
		if (r) {
			snprintf(err, err_len, "cannot create virtio-rng: %s", strerror(-r));
			return r;
		}
		v->rng_ready = true;
		r = virtio_pci_create(&v->rng_pci, vm, &v->rng.vd, err, err_len);
		if (r)
			return r;
		v->rng_pci_ready = true;
	}
	if (cfg->console == CONFIG_CONSOLE_VIRTIO) {
		board_term_size(&cols, &rows);
		r = virtio_console_create(&v->con, STDOUT_FILENO, cols, rows, &vm->mem);
		if (r) {
			snprintf(err, err_len, "cannot create virtio-console: %s", strerror(-r));
			return r;
		}
		v->con_ready = true;
		r = virtio_pci_create(&v->con_pci, vm, &v->con.vd, err, err_len);
		if (r)
			return r;
		v->con_pci_ready = true;
		board->console_in = (struct console_sink){
			.receive = virtio_console_receive, .opaque = &v->con,
		};
	}
	return 0;
}

/*
 * In reverse, each device quiet before its transport goes (a disk's
 * in-flight requests finish and reach the file first) and its transport
 * before the device (which must outlive it). The memory stays until
 * board_destroy() has destroyed the PCI bus, which points into it.
 */
static void board_destroy_virtio(struct board *board)
{
	struct board_virtio *v = board->virtio;

	if (!v)
		return;
	if (v->con_pci_ready)
		virtio_pci_destroy(&v->con_pci);
	if (v->con_ready)
		virtio_console_destroy(&v->con);
	if (v->rng_pci_ready)
		virtio_pci_destroy(&v->rng_pci);
	if (v->rng_ready)
		virtio_rng_destroy(&v->rng);
	for (unsigned int i = v->nr_disks; i-- > 0;) {
		virtio_blk_quiesce(&v->disks[i]);
		if (i < v->nr_disk_pci)
			virtio_pci_destroy(&v->disk_pci[i]);
		virtio_blk_destroy(&v->disks[i]);
	}
	v->con_pci_ready = v->con_ready = v->rng_pci_ready = v->rng_ready = false;
	v->nr_disk_pci = v->nr_disks = 0;
}

static int board_claim(struct vm *vm, struct bus *bus, u64 base, u64 len,
		       const struct bus_ops *ops, void *dev, const char *name,
		       char *err, size_t err_len)
{
	int r = bus_register(bus, base, len, ops, dev, name);

	if (r)
		snprintf(err, err_len, "cannot place %s at %s 0x%llx-0x%llx: %s", name,
			 bus == &vm->pio ? "port" : "address", (unsigned long long)base,
			 (unsigned long long)(base + len - 1), strerror(-r));
	return r;
}

int board_create(struct board *board, struct vm *vm, char *err, size_t err_len)
{
	static const struct legacy_probe_range probes[] = LEGACY_PROBE_RANGES;
	struct irq_line com1_irq = {
		.set = irq_kvm_set, .opaque = &vm->fd, .gsi = SERIAL_COM1_IRQ,
	};
	int r;

	memset(board, 0, sizeof(*board));
	board->power.request = board_power_request;
	board->power.opaque = vm;
	pthread_mutex_init(&board->tap_lock, NULL);
	board->console_in = (struct console_sink){
		.receive = board_serial_receive, .opaque = &board->com1,
	};

	r = serial_init(&board->com1, STDOUT_FILENO, com1_irq);
	if (r)
		goto out_err;
	board->com1_ready = true;
	board->i8042.power = board->power;
	board->reset.power = board->power;
	r = acpi_pm_init(&board->pm, board->power);
	if (r)
		goto out_err;
	board->pm_ready = true;
	r = rtc_init(&board->rtc, NULL, NULL);	/* the host's clock */
	if (r)
		goto out_err;
	board->rtc_ready = true;

	r = board_claim(vm, &vm->pio, SERIAL_COM1_BASE, SERIAL_NR_PORTS, &serial_bus_ops,
			&board->com1, "serial (COM1)", err, err_len);
	if (!r)
		r = board_claim(vm, &vm->pio, DEBUG_EXIT_PORT, 1, &debug_exit_ops,
				&board->power, "debug-exit", err, err_len);
	if (!r)
		r = board_claim(vm, &vm->pio, I8042_DATA_PORT, I8042_RANGE_LEN, &i8042_ops,
				&board->i8042, "i8042", err, err_len);
	if (!r)
		r = board_claim(vm, &vm->pio, ACPI_PM1A_EVT_PORT,
				ACPI_PM1A_EVT_LEN + ACPI_PM1A_CNT_LEN, &acpi_pm_ops,
				&board->pm, "acpi-pm1a", err, err_len);
	if (!r)
		r = board_claim(vm, &vm->pio, RTC_PORT_BASE, RTC_NR_PORTS, &rtc_ops,
				&board->rtc, "rtc", err, err_len);
	if (!r)
		r = board_create_pci(board, vm, err, err_len);
	if (!r)
		r = board_claim(vm, &vm->pio, POST_PORT, 1, &sink_ops, NULL,
				"post-code", err, err_len);
	for (size_t i = 0; !r && i < ARRAY_SIZE(probes); i++)
		r = board_claim(vm, &vm->pio, probes[i].port, probes[i].len, &sink_ops,
				NULL, probes[i].name, err, err_len);
	if (!r)
		r = board_create_virtio(board, vm, err, err_len);
	return r;

out_err:
	snprintf(err, err_len, "cannot create the board's devices: %s", strerror(-r));
	return r;
}

void board_destroy(struct board *board)
{
	board_destroy_virtio(board);
	if (board->pci_ready)
		pci_bus_destroy(&board->pci);
	board->pci_ready = false;
	if (board->msi_ready)
		msi_router_destroy(&board->msi);
	board->msi_ready = false;
	if (board->rtc_ready)
		rtc_destroy(&board->rtc);
	board->rtc_ready = false;
	if (board->pm_ready)
		acpi_pm_destroy(&board->pm);
	if (board->com1_ready)
		serial_destroy(&board->com1);
	board->pm_ready = false;
	board->com1_ready = false;
	/* Last: the PCI bus held pointers into it until pci_bus_destroy(). */
	free(board->virtio);
	board->virtio = NULL;
	pthread_mutex_destroy(&board->tap_lock);
}

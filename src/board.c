/*
 * The machine trapeze builds: every device, its port range and its IRQ,
 * in one place. Create order is the table order; destroy is the reverse.
 */
#include <errno.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <string.h>
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
	return r;

out_err:
	snprintf(err, err_len, "cannot create the board's devices: %s", strerror(-r));
	return r;
}

void board_destroy(struct board *board)
{
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
}

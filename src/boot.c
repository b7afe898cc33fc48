/*
 * Choosing the loader for an image, and the platform data a Linux kernel
 * needs around it (ACPI, MP table, initrd, command line).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "trapeze/arch/x86/acpi.h"
#include "trapeze/arch/x86/acpi_pci.h"
#include "trapeze/arch/x86/boot_linux.h"
#include "trapeze/arch/x86/layout.h"
#include "trapeze/arch/x86/mptable.h"
#include "trapeze/boot.h"
#include "trapeze/decompress.h"
#include "trapeze/devices/misc.h"
#include "trapeze/devices/pci.h"

#define BOOT_IOAPIC_ADDR 0xfec00000u
#define BOOT_LAPIC_ADDR 0xfee00000u
#define BOOT_SCI_IRQ 9
/* A decompressed kernel larger than this is refused as a decompression bomb. */
#define BOOT_MAX_VMLINUX (1ULL << 30)

static char *boot_join_cmdline(const char *base, const char *user)
{
	size_t len = strlen(base) + (user ? strlen(user) + 1 : 0) + 1;
	char *s = malloc(len);

	if (!s)
		return NULL;
	snprintf(s, len, "%s%s%s", base, user ? " " : "", user ? user : "");
	return s;
}

char *boot_compose_cmdline(const char *user)
{
	return boot_join_cmdline(BOOT_DEFAULT_CMDLINE, user);
}

const char *boot_default_cmdline(const struct vm_config *cfg)
{
	return cfg->console == CONFIG_CONSOLE_VIRTIO ? BOOT_HVC_CMDLINE : BOOT_DEFAULT_CMDLINE;
}

char *boot_cmdline(const struct vm_config *cfg)
{
	return boot_join_cmdline(boot_default_cmdline(cfg), cfg->cmdline);
}

const char *boot_path_name(enum boot_path path)
{
	switch (path) {
	case BOOT_PATH_FLAT: return "flat real-mode binary";
	case BOOT_PATH_ELF: return "ELF";
	case BOOT_PATH_LINUX: return "Linux boot protocol (bzImage)";
	case BOOT_PATH_PVH: return "PVH entry";
	}
	return "?";
}

/* The SSDT (\_SB.PCI0) and MCFG for the board's PCI host bridge and its windows. */
static int boot_pci_tables(const struct pci_bus *pb, struct acpi_pci_tables *t)
{
	struct acpi_pci_config c = {
		.ecam_base = X86_PCI_ECAM_BASE,
		.ecam_size = X86_PCI_ECAM_SIZE,
		.io_base = pb->io_win.base,
		.io_size = pb->io_win.size,
		.mmio32_base = pb->mmio32_win.base,
		.mmio32_size = pb->mmio32_win.size,
		.mmio64_base = pb->mmio64_win.base,
		.mmio64_size = pb->mmio64_win.size,	/* 0 when the CPUs cannot reach it */
		.intx_gsi_base = X86_PCI_INTX_GSI_BASE,
		.nr_slots = PCI_MAX_SLOTS,
	};

	return acpi_pci_build(&c, t);
}

/* ACPI tables and, when it fits, an MP table; the RSDP address for the kernel. */
static int boot_platform_tables(struct vm *vm, u64 *rsdp, char *err, size_t err_len)
{
	struct acpi_pci_tables pci_tables;
	unsigned int n = vm->cfg->nr_cpus;
	struct acpi_config acpi = {
		.nr_cpus = n,
		.ioapic_addr = BOOT_IOAPIC_ADDR,
		.ioapic_id = (u8)n,
		.lapic_addr = BOOT_LAPIC_ADDR,
		.reset_port = RESET_CF9_PORT,
		.reset_value = RESET_CF9_VALUE,
		.sci_irq = BOOT_SCI_IRQ,
	};
	int r;

	if (vm->pci) {
		r = boot_pci_tables(vm->pci, &pci_tables);
		if (r) {
			snprintf(err, err_len, "cannot describe the PCI host bridge in ACPI: %s",
				 strerror(-r));
			return r;
		}
		acpi.extra_tables = pci_tables.tables;
		acpi.nr_extra_tables = ACPI_PCI_NR_TABLES;
	}
	r = acpi_build(&vm->mem, &acpi, rsdp);
	if (r) {
		snprintf(err, err_len, "cannot build ACPI tables for %u vCPUs: %s", n, strerror(-r));
		return r;
	}
	/* The MP table is for acpi=off kernels only; more CPUs than it holds is fine. */
	if (n <= MPTABLE_MAX_CPUS) {
		r = mptable_build(&vm->mem, n, (u8)n, BOOT_IOAPIC_ADDR);
		if (r) {
			snprintf(err, err_len, "cannot build the MP table: %s", strerror(-r));
			return r;
		}
	}
	return 0;
}

/*
 * --boot=auto|pvh on a bzImage: decompress the payload here and, when the
 * vmlinux inside has a PVH note, boot it directly. Returns 0 when booted
 * that way, -ENOENT when the caller should fall back to the boot protocol
 * (auto only), other -errno on failure.
 */
static int boot_bzimage_pvh(struct vm *vm, const struct vm_config *cfg,
			    struct linux_boot_args *a, struct boot_state *bs,
			    char *err, size_t err_len)
{
	const u8 *payload;
	size_t payload_len, vmlinux_len;
	u8 *vmlinux = NULL;
	u32 entry;
	int r;

	r = linux_bzimage_payload(a->kernel, a->kernel_size, &payload, &payload_len, err, err_len);
	if (r)
		return r;
	r = decompress(payload, payload_len, BOOT_MAX_VMLINUX, &vmlinux, &vmlinux_len, err, err_len);
	if (r == -ENOTSUP && cfg->boot == CONFIG_BOOT_AUTO)
		return -ENOENT;	/* a format we cannot unpack: the kernel can */
	if (r)
		return r;
	r = linux_pvh_entry(vmlinux, vmlinux_len, &entry, err, err_len);
	if (r == -ENOENT) {
		if (cfg->boot == CONFIG_BOOT_PVH)
			snprintf(err, err_len, "kernel '%s' has no PVH entry point "
				 "(XEN_ELFNOTE_PHYS32_ENTRY); use --boot=linux", cfg->kernel);
		else
			r = -ENOENT;
		goto out_free;
	}
	if (r)
		goto out_free;
	a->kernel = vmlinux;
	a->kernel_size = vmlinux_len;
	r = linux_load_pvh(&vm->mem, a, bs, err, err_len);
out_free:
	free(vmlinux);
	return r;
}

static int boot_linux(struct vm *vm, const struct vm_config *cfg, const u8 *image,
		      size_t size, bool bzimage, struct boot_state *bs,
		      enum boot_path *path, char *err, size_t err_len)
{
	struct linux_boot_args a = { .kernel = image, .kernel_size = size };
	u8 *initrd = NULL;
	char *cmdline = NULL;
	int r;

	if (cfg->initrd) {
		r = loader_read_file(cfg->initrd, &initrd, &a.initrd_size, err, err_len);
		if (r)
			return r;
		a.initrd = initrd;
	}
	cmdline = boot_cmdline(cfg);
	r = cmdline ? boot_platform_tables(vm, &a.rsdp_addr, err, err_len) : -ENOMEM;
	if (r)
		goto out_free;
	a.cmdline = cmdline;

	if (!bzimage) {
		*path = BOOT_PATH_PVH;
		r = linux_load_pvh(&vm->mem, &a, bs, err, err_len);
		goto out_free;
	}
	if (cfg->boot != CONFIG_BOOT_LINUX) {
		*path = BOOT_PATH_PVH;
		r = boot_bzimage_pvh(vm, cfg, &a, bs, err, err_len);
		if (r != -ENOENT)
			goto out_free;
		err[0] = '\0';
	}
	*path = BOOT_PATH_LINUX;
	r = linux_load_bzimage(&vm->mem, &a, bs, err, err_len);
out_free:
	free(cmdline);
	free(initrd);
	return r;
}

int boot_prepare(struct vm *vm, const struct vm_config *cfg, const u8 *image,
		 size_t size, struct boot_state *bs, enum boot_path *path,
		 char *err, size_t err_len)
{
	bool bzimage = !cfg->flat && linux_is_bzimage(image, size);
	bool pvh = false;
	u32 entry;

	if (!cfg->flat && !bzimage && loader_detect(image, size) != IMAGE_UNKNOWN) {
		int r = linux_pvh_entry(image, size, &entry, err, err_len);

		if (r && r != -ENOENT)
			return r;
		pvh = r == 0;
		err[0] = '\0';
	}
	if (bzimage || pvh) {
		if (pvh && cfg->boot == CONFIG_BOOT_LINUX) {
			snprintf(err, err_len, "--boot=linux needs a bzImage; '%s' is an ELF vmlinux",
				 cfg->kernel);
			return -EINVAL;
		}
		return boot_linux(vm, cfg, image, size, bzimage, bs, path, err, err_len);
	}

	if (cfg->boot != CONFIG_BOOT_AUTO) {
		snprintf(err, err_len, "--boot=%s needs a Linux kernel; '%s' is not one",
			 cfg->boot == CONFIG_BOOT_PVH ? "pvh" : "linux", cfg->kernel);
		return -EINVAL;
	}
	/* Tiny guests take no initrd or command line: say so, never ignore them. */
	if (cfg->initrd || cfg->cmdline) {
		snprintf(err, err_len, "--initrd and --cmdline need a Linux kernel; '%s' is not one",
			 cfg->kernel);
		return -EINVAL;
	}
	if (cfg->flat) {
		*path = BOOT_PATH_FLAT;
		return loader_load_flat(&vm->mem, image, size, cfg->flat_addr, bs, err, err_len);
	}
	if (loader_detect(image, size) == IMAGE_UNKNOWN) {
		snprintf(err, err_len, "kernel '%s' is not a known image (bzImage, ELF32, ELF64; "
			 "raw binaries need --flat ADDR)", cfg->kernel);
		return -ENOEXEC;
	}
	*path = BOOT_PATH_ELF;
	return loader_load_elf(&vm->mem, image, size, bs, err, err_len);
}

/*
 * boot: turns the image the user named into guest-memory contents and the
 * boot vCPU's first state, choosing the loader by what the image is:
 *
 *   --flat ADDR             raw real-mode binary
 *   bzImage                 Linux: with --boot=auto (default) the payload is
 *                           decompressed here and the vmlinux inside entered
 *                           through its PVH note; --boot=linux uses the 64-bit
 *                           boot protocol and the kernel's own decompressor
 *   ELF with a PVH note     Linux vmlinux (or any PVH kernel), PVH entry
 *   other ELF32/ELF64       tiny guests: protected or long mode at e_entry
 *
 * Linux boots also get ACPI tables, an MP table, the initrd and the
 * command line "console=ttyS0" followed by the user's -p text. With
 * --console virtio it starts "console=hvc0 earlycon=uart8250,io,0x3f8"
 * instead: hvc0 (virtio-console, which has the keyboard) is the console and
 * /dev/console, and the UART's earlycon shows the messages from before hvc0
 * registers (until then, or for good when the kernel has no virtio_console:
 * Debian builds it as a module, which the initramfs must load before it
 * starts a shell on /dev/hvc0).
 */
#ifndef TRAPEZE_BOOT_H
#define TRAPEZE_BOOT_H

#include "trapeze/config.h"
#include "trapeze/loader.h"
#include "trapeze/vm.h"

#define BOOT_DEFAULT_CMDLINE "console=ttyS0"
#define BOOT_HVC_CMDLINE "console=hvc0 earlycon=uart8250,io,0x3f8,115200"

/* Which way boot_prepare() went, for the user and the tests. */
enum boot_path {
	BOOT_PATH_FLAT,
	BOOT_PATH_ELF,
	BOOT_PATH_LINUX,	/* bzImage, 64-bit boot protocol */
	BOOT_PATH_PVH,		/* PVH entry (a vmlinux, or a decompressed bzImage) */
};

/* Loads image (size bytes) for cfg into vm. 0 or -errno with one line in err. */
int boot_prepare(struct vm *vm, const struct vm_config *cfg, const u8 *image,
		 size_t size, struct boot_state *bs, enum boot_path *path,
		 char *err, size_t err_len);

/* "console=ttyS0" + " " + user text, malloc'd; NULL on -ENOMEM. */
char *boot_compose_cmdline(const char *user);

/* The start of the command line for cfg's console (--console). */
const char *boot_default_cmdline(const struct vm_config *cfg);

/* boot_default_cmdline(cfg) + " " + cfg's -p text, malloc'd; NULL on -ENOMEM. */
char *boot_cmdline(const struct vm_config *cfg);

const char *boot_path_name(enum boot_path path);

#endif

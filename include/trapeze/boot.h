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
 * command line "console=ttyS0" followed by the user's -p text.
 */
#ifndef TRAPEZE_BOOT_H
#define TRAPEZE_BOOT_H

#include "trapeze/config.h"
#include "trapeze/loader.h"
#include "trapeze/vm.h"

#define BOOT_DEFAULT_CMDLINE "console=ttyS0"

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

const char *boot_path_name(enum boot_path path);

#endif

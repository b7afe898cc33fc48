/*
 * exit: decodes a struct kvm_run after KVM_RUN returns into a typed
 * struct vm_exit, and carries out the parts of a few exits that need only
 * the buses (port I/O and MMIO). Decoding validates what the kernel hands
 * us (the I/O data window must lie inside the kvm_run mapping).
 */
#ifndef TRAPEZE_EXIT_H
#define TRAPEZE_EXIT_H

#include <linux/kvm.h>

#include "trapeze/bus.h"
#include "trapeze/types.h"

enum vm_exit_kind {
	VM_EXIT_IO,
	VM_EXIT_MMIO,
	VM_EXIT_HLT,
	VM_EXIT_SHUTDOWN,
	VM_EXIT_FAIL_ENTRY,
	VM_EXIT_INTERNAL_ERROR,
	VM_EXIT_SYSTEM_EVENT,
	VM_EXIT_DEBUG,
	VM_EXIT_INTR,
	VM_EXIT_UNKNOWN,
};

struct vm_exit_io {
	u16 port;
	u8 size;	/* 1, 2 or 4 */
	bool in;
	u32 count;	/* > 1 for string I/O: same port, data advances */
	u8 *data;	/* count * size bytes inside the kvm_run mapping */
};

struct vm_exit_mmio {
	u64 addr;
	u32 len;	/* 1..8 */
	bool write;
	u8 *data;	/* the 8-byte buffer in kvm_run */
};

struct vm_exit_internal {
	u32 suberror;
	u32 ndata;	/* clamped to ARRAY_SIZE(data) */
	u64 data[16];
};

struct vm_exit {
	enum vm_exit_kind kind;
	u32 reason;	/* raw KVM_EXIT_* */
	union {
		struct vm_exit_io io;
		struct vm_exit_mmio mmio;
		struct { u64 reason; u32 cpu; } fail_entry;
		struct vm_exit_internal internal;
		struct { u32 type; u32 ndata; u64 data[16]; } system_event;
		struct { u32 exception; u64 pc; u64 dr6; u64 dr7; } debug;
	};
};

/*
 * Decodes run (a mapping of run_size bytes). Returns 0, or -EINVAL when the
 * exit is malformed (bad I/O size, data window outside the mapping, bad
 * MMIO length); an unknown reason decodes to VM_EXIT_UNKNOWN, not an error.
 */
int exit_decode(struct kvm_run *run, size_t run_size, struct vm_exit *out);

/* Carries out a port-I/O exit on bus: count accesses of size bytes to the same port. */
void exit_handle_io(struct bus *pio, const struct vm_exit_io *io);
void exit_handle_mmio(struct bus *mmio, const struct vm_exit_mmio *mmio_exit);

/* Human-readable names for messages. */
const char *exit_kind_name(enum vm_exit_kind kind);
const char *exit_internal_suberror_name(u32 suberror);

#endif

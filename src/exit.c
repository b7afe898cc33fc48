/*
 * Decoding of struct kvm_run into struct vm_exit, and the bus side of port
 * I/O and MMIO exits. The kvm_run page is written by the kernel, but what it
 * describes comes from the guest (ports, sizes, counts), so the data window
 * is checked against the mapping before anyone dereferences it.
 */
#include <errno.h>
#include <string.h>

#include "trapeze/exit.h"

static int decode_io(struct kvm_run *run, size_t run_size, struct vm_exit_io *io)
{
	u64 bytes;

	io->port = run->io.port;
	io->size = run->io.size;
	io->in = run->io.direction == KVM_EXIT_IO_IN;
	io->count = run->io.count;
	io->data = NULL;
	if (io->size != 1 && io->size != 2 && io->size != 4)
		return -EINVAL;
	if (io->count == 0)
		return -EINVAL;
	/* Data lives at data_offset inside the mapping: count * size bytes. */
	bytes = (u64)io->count * io->size;
	if (run->io.data_offset > run_size || bytes > run_size - run->io.data_offset)
		return -EINVAL;
	io->data = (u8 *)run + run->io.data_offset;
	return 0;
}

static int decode_mmio(struct kvm_run *run, struct vm_exit_mmio *mmio)
{
	mmio->addr = run->mmio.phys_addr;
	mmio->len = run->mmio.len;
	mmio->write = run->mmio.is_write;
	mmio->data = run->mmio.data;
	if (mmio->len == 0 || mmio->len > sizeof(run->mmio.data))
		return -EINVAL;
	return 0;
}

/* Copies n of src's words to dst, at most cap: n is the kernel's (and, in part, the guest's) claim. */
static u32 copy_clamped(u64 *dst, u32 cap, const void *src, u32 n)
{
	if (n > cap)
		n = cap;
	memcpy(dst, src, n * sizeof(u64));
	return n;
}

/* Every exit but a device access: rare, so out starts from zeroes. */
static int decode_other(struct kvm_run *run, struct vm_exit *out)
{
	memset(out, 0, sizeof(*out));
	out->reason = run->exit_reason;
	switch (run->exit_reason) {
	case KVM_EXIT_HLT:
		out->kind = VM_EXIT_HLT;
		return 0;
	case KVM_EXIT_SHUTDOWN:
		out->kind = VM_EXIT_SHUTDOWN;
		return 0;
	case KVM_EXIT_FAIL_ENTRY:
		out->kind = VM_EXIT_FAIL_ENTRY;
		out->fail_entry.reason = run->fail_entry.hardware_entry_failure_reason;
		out->fail_entry.cpu = run->fail_entry.cpu;
		return 0;
	case KVM_EXIT_INTERNAL_ERROR:
		out->kind = VM_EXIT_INTERNAL_ERROR;
		out->internal.suberror = run->internal.suberror;
		out->internal.ndata = copy_clamped(out->internal.data,
						   ARRAY_SIZE(out->internal.data),
						   run->internal.data, run->internal.ndata);
		return 0;
	case KVM_EXIT_SYSTEM_EVENT:
		out->kind = VM_EXIT_SYSTEM_EVENT;
		out->system_event.type = run->system_event.type;
		out->system_event.ndata = copy_clamped(out->system_event.data,
						       ARRAY_SIZE(out->system_event.data),
						       run->system_event.data,
						       run->system_event.ndata);
		return 0;
	case KVM_EXIT_DEBUG:
		out->kind = VM_EXIT_DEBUG;
		out->debug.exception = run->debug.arch.exception;
		out->debug.pc = run->debug.arch.pc;
		out->debug.dr6 = run->debug.arch.dr6;
		out->debug.dr7 = run->debug.arch.dr7;
		return 0;
	case KVM_EXIT_INTR:
		out->kind = VM_EXIT_INTR;
		return 0;
	default:
		out->kind = VM_EXIT_UNKNOWN;
		return 0;
	}
}

int exit_decode(struct kvm_run *run, size_t run_size, struct vm_exit *out)
{
	/*
	 * Port I/O and MMIO, nearly every exit, set each field of theirs:
	 * no clearing of the 144-byte struct first (that memset was a tenth
	 * of trapeze's own instructions per exit).
	 */
	switch (run->exit_reason) {
	case KVM_EXIT_IO:
		out->kind = VM_EXIT_IO;
		out->reason = run->exit_reason;
		return decode_io(run, run_size, &out->io);
	case KVM_EXIT_MMIO:
		out->kind = VM_EXIT_MMIO;
		out->reason = run->exit_reason;
		return decode_mmio(run, &out->mmio);
	default:
		return decode_other(run, out);
	}
}

void exit_handle_io(struct bus *pio, const struct vm_exit_io *io)
{
	u8 *data = io->data;

	/* String I/O (rep ins/outs): the port stays fixed, the data advances. */
	for (u32 i = 0; i < io->count; i++, data += io->size) {
		if (io->in)
			bus_read(pio, io->port, data, io->size);
		else
			bus_write(pio, io->port, data, io->size);
	}
}

void exit_handle_mmio(struct bus *mmio, const struct vm_exit_mmio *m)
{
	if (m->write)
		bus_write(mmio, m->addr, m->data, m->len);
	else
		bus_read(mmio, m->addr, m->data, m->len);
}

const char *exit_kind_name(enum vm_exit_kind kind)
{
	static const char *const names[] = {
		[VM_EXIT_IO] = "IO",
		[VM_EXIT_MMIO] = "MMIO",
		[VM_EXIT_HLT] = "HLT",
		[VM_EXIT_SHUTDOWN] = "SHUTDOWN",
		[VM_EXIT_FAIL_ENTRY] = "FAIL_ENTRY",
		[VM_EXIT_INTERNAL_ERROR] = "INTERNAL_ERROR",
		[VM_EXIT_SYSTEM_EVENT] = "SYSTEM_EVENT",
		[VM_EXIT_DEBUG] = "DEBUG",
		[VM_EXIT_INTR] = "INTR",
		[VM_EXIT_UNKNOWN] = "UNKNOWN",
	};

	if ((unsigned int)kind < ARRAY_SIZE(names) && names[kind])
		return names[kind];
	return "?";
}

const char *exit_internal_suberror_name(u32 suberror)
{
	switch (suberror) {
	case KVM_INTERNAL_ERROR_EMULATION:
		return "instruction emulation failed";
	case KVM_INTERNAL_ERROR_SIMUL_EX:
		return "exception while delivering an exception";
	case KVM_INTERNAL_ERROR_DELIVERY_EV:
		return "exception during event delivery";
	case KVM_INTERNAL_ERROR_UNEXPECTED_EXIT_REASON:
		return "unexpected hardware exit reason";
	default:
		return "unknown suberror";
	}
}

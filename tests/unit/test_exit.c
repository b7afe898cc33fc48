/*
 * Exit decoding against a fake kvm_run page, and the bus side of port I/O
 * (string I/O keeps the port, advances the data) and MMIO exits.
 */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "check_main.h"
#include "trapeze/exit.h"

#define RUN_SIZE 4096

static union {
	struct kvm_run run;
	u8 bytes[RUN_SIZE];
} page;

static struct kvm_run *fresh_run(u32 reason)
{
	memset(&page, 0, sizeof(page));
	page.run.exit_reason = reason;
	return &page.run;
}

static struct kvm_run *io_run(u8 dir, u8 size, u16 port, u32 count, u64 offset)
{
	struct kvm_run *run = fresh_run(KVM_EXIT_IO);

	run->io.direction = dir;
	run->io.size = size;
	run->io.port = port;
	run->io.count = count;
	run->io.data_offset = offset;
	return run;
}

/* A recording device: remembers every access it saw. */
struct recorder {
	unsigned int nr;
	u64 offsets[64];
	u32 lens[64];
	u8 written[256];
	size_t nr_written;
	u8 next_read;
};

static void rec_read(void *dev, u64 offset, void *data, u32 len)
{
	struct recorder *r = dev;

	r->offsets[r->nr] = offset;
	r->lens[r->nr++] = len;
	memset(data, r->next_read++, len);
}

static void rec_write(void *dev, u64 offset, const void *data, u32 len)
{
	struct recorder *r = dev;

	r->offsets[r->nr] = offset;
	r->lens[r->nr++] = len;
	memcpy(r->written + r->nr_written, data, len);
	r->nr_written += len;
}

static const struct bus_ops rec_ops = { .read = rec_read, .write = rec_write };

START_TEST(decode_io_out_byte)
{
	struct kvm_run *run = io_run(KVM_EXIT_IO_OUT, 1, 0x3f8, 1, 1024);
	struct vm_exit e;

	page.bytes[1024] = 'A';
	ck_assert_int_eq(exit_decode(run, RUN_SIZE, &e), 0);
	ck_assert_int_eq(e.kind, VM_EXIT_IO);
	ck_assert_uint_eq(e.io.port, 0x3f8);
	ck_assert_uint_eq(e.io.size, 1);
	ck_assert(!e.io.in);
	ck_assert_uint_eq(e.io.count, 1);
	ck_assert_ptr_eq(e.io.data, page.bytes + 1024);
	ck_assert_int_eq(*e.io.data, 'A');
}
END_TEST

START_TEST(decode_io_rejects_bad_size)
{
	struct vm_exit e;

	ck_assert_int_eq(exit_decode(io_run(KVM_EXIT_IO_IN, 3, 0x80, 1, 1024), RUN_SIZE, &e), -EINVAL);
	ck_assert_int_eq(exit_decode(io_run(KVM_EXIT_IO_IN, 8, 0x80, 1, 1024), RUN_SIZE, &e), -EINVAL);
	ck_assert_int_eq(exit_decode(io_run(KVM_EXIT_IO_IN, 1, 0x80, 0, 1024), RUN_SIZE, &e), -EINVAL);
}
END_TEST

START_TEST(decode_io_rejects_window_outside_mapping)
{
	struct vm_exit e;

	/* Offset past the end, and a count whose bytes run past the end. */
	ck_assert_int_eq(exit_decode(io_run(KVM_EXIT_IO_OUT, 1, 0x80, 1, RUN_SIZE + 1), RUN_SIZE, &e), -EINVAL);
	ck_assert_int_eq(exit_decode(io_run(KVM_EXIT_IO_OUT, 4, 0x80, 1000, 1024), RUN_SIZE, &e), -EINVAL);
	/* count * size overflowing 32 bits must not wrap into a small window. */
	ck_assert_int_eq(exit_decode(io_run(KVM_EXIT_IO_OUT, 4, 0x80, 0x40000000, 1024), RUN_SIZE, &e), -EINVAL);
	/* Exactly up to the end is fine. */
	ck_assert_int_eq(exit_decode(io_run(KVM_EXIT_IO_OUT, 4, 0x80, 768, 1024), RUN_SIZE, &e), 0);
}
END_TEST

START_TEST(string_out_keeps_port_advances_data)
{
	struct kvm_run *run = io_run(KVM_EXIT_IO_OUT, 1, 0x3f8, 5, 2048);
	struct recorder rec = { 0 };
	struct bus bus;
	struct vm_exit e;

	memcpy(page.bytes + 2048, "hello", 5);
	ck_assert_int_eq(bus_init(&bus, "pio"), 0);
	ck_assert_int_eq(bus_register(&bus, 0x3f8, 8, &rec_ops, &rec, "rec"), 0);
	ck_assert_int_eq(exit_decode(run, RUN_SIZE, &e), 0);
	exit_handle_io(&bus, &e.io);
	ck_assert_uint_eq(rec.nr, 5);
	for (unsigned int i = 0; i < 5; i++) {
		ck_assert_uint_eq(rec.offsets[i], 0);	/* the same port every time */
		ck_assert_uint_eq(rec.lens[i], 1);
	}
	ck_assert_mem_eq(rec.written, "hello", 5);
	bus_destroy(&bus);
}
END_TEST

START_TEST(string_in_fills_each_element)
{
	struct kvm_run *run = io_run(KVM_EXIT_IO_IN, 2, 0x3fa, 3, 512);
	struct recorder rec = { .next_read = 0x10 };
	struct bus bus;
	struct vm_exit e;
	const u8 want[6] = { 0x10, 0x10, 0x11, 0x11, 0x12, 0x12 };

	ck_assert_int_eq(bus_init(&bus, "pio"), 0);
	ck_assert_int_eq(bus_register(&bus, 0x3f8, 8, &rec_ops, &rec, "rec"), 0);
	ck_assert_int_eq(exit_decode(run, RUN_SIZE, &e), 0);
	exit_handle_io(&bus, &e.io);
	ck_assert_uint_eq(rec.nr, 3);
	ck_assert_uint_eq(rec.offsets[2], 2);
	ck_assert_mem_eq(page.bytes + 512, want, 6);
	bus_destroy(&bus);
}
END_TEST

START_TEST(unclaimed_string_in_reads_ones)
{
	struct kvm_run *run = io_run(KVM_EXIT_IO_IN, 4, 0x1234, 4, 256);
	struct bus bus;
	struct vm_exit e;
	u8 ones[16];

	memset(ones, 0xff, sizeof(ones));
	ck_assert_int_eq(bus_init(&bus, "pio"), 0);
	bus.quiet = true;
	ck_assert_int_eq(exit_decode(run, RUN_SIZE, &e), 0);
	exit_handle_io(&bus, &e.io);
	ck_assert_mem_eq(page.bytes + 256, ones, 16);
	bus_destroy(&bus);
}
END_TEST

START_TEST(decode_mmio)
{
	struct kvm_run *run = fresh_run(KVM_EXIT_MMIO);
	struct recorder rec = { 0 };
	struct bus bus;
	struct vm_exit e;

	run->mmio.phys_addr = 0xd0000010;
	run->mmio.len = 4;
	run->mmio.is_write = 1;
	memcpy(run->mmio.data, "\x01\x02\x03\x04", 4);
	ck_assert_int_eq(exit_decode(run, RUN_SIZE, &e), 0);
	ck_assert_int_eq(e.kind, VM_EXIT_MMIO);
	ck_assert_uint_eq(e.mmio.addr, 0xd0000010);
	ck_assert(e.mmio.write);
	ck_assert_int_eq(bus_init(&bus, "mmio"), 0);
	ck_assert_int_eq(bus_register(&bus, 0xd0000000, 0x1000, &rec_ops, &rec, "rec"), 0);
	exit_handle_mmio(&bus, &e.mmio);
	ck_assert_uint_eq(rec.offsets[0], 0x10);
	ck_assert_mem_eq(rec.written, "\x01\x02\x03\x04", 4);

	run->mmio.len = 9;
	ck_assert_int_eq(exit_decode(run, RUN_SIZE, &e), -EINVAL);
	run->mmio.len = 0;
	ck_assert_int_eq(exit_decode(run, RUN_SIZE, &e), -EINVAL);
	bus_destroy(&bus);
}
END_TEST

START_TEST(decode_internal_error_clamps_ndata)
{
	struct kvm_run *run = fresh_run(KVM_EXIT_INTERNAL_ERROR);
	struct vm_exit e;

	run->internal.suberror = KVM_INTERNAL_ERROR_EMULATION;
	run->internal.ndata = 1000;	/* hostile: more than the array holds */
	run->internal.data[0] = 0xabc;
	ck_assert_int_eq(exit_decode(run, RUN_SIZE, &e), 0);
	ck_assert_int_eq(e.kind, VM_EXIT_INTERNAL_ERROR);
	ck_assert_uint_eq(e.internal.suberror, KVM_INTERNAL_ERROR_EMULATION);
	ck_assert_uint_le(e.internal.ndata, 16);
	ck_assert_uint_eq(e.internal.data[0], 0xabc);
	ck_assert_str_eq(exit_internal_suberror_name(e.internal.suberror),
			 "instruction emulation failed");
}
END_TEST

START_TEST(decode_other_reasons)
{
	struct kvm_run *run;
	struct vm_exit e;

	ck_assert_int_eq(exit_decode(fresh_run(KVM_EXIT_SHUTDOWN), RUN_SIZE, &e), 0);
	ck_assert_int_eq(e.kind, VM_EXIT_SHUTDOWN);
	ck_assert_int_eq(exit_decode(fresh_run(KVM_EXIT_HLT), RUN_SIZE, &e), 0);
	ck_assert_int_eq(e.kind, VM_EXIT_HLT);
	ck_assert_int_eq(exit_decode(fresh_run(KVM_EXIT_INTR), RUN_SIZE, &e), 0);
	ck_assert_int_eq(e.kind, VM_EXIT_INTR);

	run = fresh_run(KVM_EXIT_FAIL_ENTRY);
	run->fail_entry.hardware_entry_failure_reason = 0x80000021;
	ck_assert_int_eq(exit_decode(run, RUN_SIZE, &e), 0);
	ck_assert_int_eq(e.kind, VM_EXIT_FAIL_ENTRY);
	ck_assert_uint_eq(e.fail_entry.reason, 0x80000021);

	run = fresh_run(KVM_EXIT_SYSTEM_EVENT);
	run->system_event.type = KVM_SYSTEM_EVENT_RESET;
	ck_assert_int_eq(exit_decode(run, RUN_SIZE, &e), 0);
	ck_assert_int_eq(e.kind, VM_EXIT_SYSTEM_EVENT);
	ck_assert_uint_eq(e.system_event.type, KVM_SYSTEM_EVENT_RESET);

	run = fresh_run(KVM_EXIT_DEBUG);
	run->debug.arch.exception = 1;
	run->debug.arch.pc = 0x100000;
	ck_assert_int_eq(exit_decode(run, RUN_SIZE, &e), 0);
	ck_assert_int_eq(e.kind, VM_EXIT_DEBUG);
	ck_assert_uint_eq(e.debug.pc, 0x100000);

	ck_assert_int_eq(exit_decode(fresh_run(9999), RUN_SIZE, &e), 0);
	ck_assert_int_eq(e.kind, VM_EXIT_UNKNOWN);
	ck_assert_uint_eq(e.reason, 9999);
	ck_assert_str_eq(exit_kind_name(VM_EXIT_UNKNOWN), "UNKNOWN");
}
END_TEST

int main(void)
{
	Suite *s = suite_create("exit");
	TCase *tc = tcase_create("decode");

	tcase_add_test(tc, decode_io_out_byte);
	tcase_add_test(tc, decode_io_rejects_bad_size);
	tcase_add_test(tc, decode_io_rejects_window_outside_mapping);
	tcase_add_test(tc, string_out_keeps_port_advances_data);
	tcase_add_test(tc, string_in_fills_each_element);
	tcase_add_test(tc, unclaimed_string_in_reads_ones);
	tcase_add_test(tc, decode_mmio);
	tcase_add_test(tc, decode_internal_error_clamps_ndata);
	tcase_add_test(tc, decode_other_reasons);
	suite_add_tcase(s, tc);
	return check_run(s);
}

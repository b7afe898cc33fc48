/*
 * Unit tests for debug/trace: the --trace SPEC parser (and its errors), the
 * class and device filter, the line formatter for every exit kind, and the
 * writer (one write per line, whole lines under concurrent vCPU threads).
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check_main.h"
#include "trapeze/config.h"
#include "trapeze/debug/trace.h"

static char err[256];

static struct trace_filter parse_ok(const char *spec)
{
	struct trace_filter f;

	err[0] = '\0';
	ck_assert_msg(trace_filter_parse(&f, spec, err, sizeof(err)) == 0,
		      "spec '%s' refused: %s", spec ? spec : "(null)", err);
	return f;
}

static void parse_bad(const char *spec, const char *want)
{
	struct trace_filter f;

	err[0] = '\0';
	ck_assert_int_eq(trace_filter_parse(&f, spec, err, sizeof(err)), -EINVAL);
	ck_assert_msg(strstr(err, want) != NULL, "spec '%s': error '%s' lacks '%s'", spec, err,
		      want);
	ck_assert_msg(strchr(err, '\n') == NULL, "one line: '%s'", err);
	ck_assert_uint_eq(f.classes, 0);	/* nothing half-parsed left behind */
}

START_TEST(parse_default_is_all)
{
	struct trace_filter f = parse_ok(NULL);

	ck_assert_uint_eq(f.classes, TRACE_ALL);
	ck_assert_uint_eq(f.nr_devs, 0);
	f = parse_ok("all");
	ck_assert_uint_eq(f.classes, TRACE_ALL);
}
END_TEST

START_TEST(parse_classes)
{
	struct trace_filter f = parse_ok("io");

	ck_assert_uint_eq(f.classes, TRACE_IO | TRACE_END);
	f = parse_ok("mmio,hlt");
	ck_assert_uint_eq(f.classes, TRACE_MMIO | TRACE_HLT | TRACE_END);
	f = parse_ok("irq,debug,io");
	ck_assert_uint_eq(f.classes, TRACE_IRQ | TRACE_DEBUG | TRACE_IO | TRACE_END);
	f = parse_ok("io,io");
	ck_assert_uint_eq(f.classes, TRACE_IO | TRACE_END);
}
END_TEST

START_TEST(parse_devices)
{
	struct trace_filter f = parse_ok("io,dev=serial");

	ck_assert_uint_eq(f.classes, TRACE_IO | TRACE_END);
	ck_assert_uint_eq(f.nr_devs, 1);
	ck_assert_str_eq(f.devs[0], "serial");

	/* Only device filters: port I/O and MMIO. */
	f = parse_ok("dev=acpi,dev=unclaimed");
	ck_assert_uint_eq(f.classes, TRACE_IO | TRACE_MMIO | TRACE_END);
	ck_assert_uint_eq(f.nr_devs, 2);
	ck_assert_str_eq(f.devs[0], "acpi");
	ck_assert_str_eq(f.devs[1], "unclaimed");

	/* The longest name that fits, and the most filters. */
	f = parse_ok("dev=0123456789012345678901234567890");
	ck_assert_uint_eq(strlen(f.devs[0]), TRACE_DEV_NAME_MAX - 1);
	f = parse_ok("dev=a,dev=b,dev=c,dev=d,dev=e,dev=f,dev=g,dev=h");
	ck_assert_uint_eq(f.nr_devs, TRACE_DEV_MAX);
	ck_assert_str_eq(f.devs[7], "h");
}
END_TEST

START_TEST(parse_errors)
{
	parse_bad("bogus", "unknown item 'bogus'");
	parse_bad("bogus", "io, mmio, hlt, irq, debug, all");
	parse_bad("io,bogus,mmio", "'bogus'");
	parse_bad("IO", "unknown item 'IO'");	/* classes are lower case */
	parse_bad("", "empty list");
	parse_bad("io,", "empty item");
	parse_bad(",io", "empty item");
	parse_bad("io,,mmio", "empty item");
	parse_bad("dev=", "needs a device name");
	parse_bad("io,dev=", "needs a device name");
	parse_bad("dev=01234567890123456789012345678901", "too long");
	parse_bad("dev=a,dev=b,dev=c,dev=d,dev=e,dev=f,dev=g,dev=h,dev=i", "more than 8");
	parse_bad("ioo", "'ioo'");
	parse_bad("i", "'i'");
}
END_TEST

START_TEST(describe_round_trip)
{
	const char *specs[] = { "all", "io", "mmio,hlt", "io,dev=serial",
				"io,mmio,dev=acpi,dev=unclaimed", "irq,debug" };
	char buf[256];

	for (size_t i = 0; i < ARRAY_SIZE(specs); i++) {
		struct trace_filter f = parse_ok(specs[i]), g;

		trace_filter_describe(&f, buf, sizeof(buf));
		ck_assert_str_eq(buf, specs[i]);
		g = parse_ok(buf);
		ck_assert_int_eq(memcmp(&f, &g, sizeof(f)), 0);
	}
}
END_TEST

static struct vm_exit exit_of(enum vm_exit_kind kind, u32 reason)
{
	struct vm_exit e;

	memset(&e, 0, sizeof(e));
	e.kind = kind;
	e.reason = reason;
	return e;
}

START_TEST(class_of_every_kind)
{
	struct { enum vm_exit_kind kind; u32 reason; u32 cls; } cases[] = {
		{ VM_EXIT_IO, KVM_EXIT_IO, TRACE_IO },
		{ VM_EXIT_MMIO, KVM_EXIT_MMIO, TRACE_MMIO },
		{ VM_EXIT_HLT, KVM_EXIT_HLT, TRACE_HLT },
		{ VM_EXIT_INTR, KVM_EXIT_INTR, TRACE_IRQ },
		{ VM_EXIT_DEBUG, KVM_EXIT_DEBUG, TRACE_DEBUG },
		{ VM_EXIT_SHUTDOWN, KVM_EXIT_SHUTDOWN, TRACE_END },
		{ VM_EXIT_FAIL_ENTRY, KVM_EXIT_FAIL_ENTRY, TRACE_END },
		{ VM_EXIT_INTERNAL_ERROR, KVM_EXIT_INTERNAL_ERROR, TRACE_END },
		{ VM_EXIT_SYSTEM_EVENT, KVM_EXIT_SYSTEM_EVENT, TRACE_END },
		{ VM_EXIT_UNKNOWN, KVM_EXIT_IRQ_WINDOW_OPEN, TRACE_IRQ },
		{ VM_EXIT_UNKNOWN, KVM_EXIT_TPR_ACCESS, TRACE_IRQ },
		{ VM_EXIT_UNKNOWN, KVM_EXIT_IOAPIC_EOI, TRACE_IRQ },
		{ VM_EXIT_UNKNOWN, KVM_EXIT_NMI, TRACE_IRQ },
		{ VM_EXIT_UNKNOWN, KVM_EXIT_EXCEPTION, TRACE_DEBUG },
		{ VM_EXIT_UNKNOWN, KVM_EXIT_X86_RDMSR, TRACE_END },
		{ VM_EXIT_UNKNOWN, 9999, TRACE_END },
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct vm_exit e = exit_of(cases[i].kind, cases[i].reason);

		ck_assert_msg(trace_class_of(&e) == cases[i].cls, "case %zu: class %#x, want %#x",
			      i, trace_class_of(&e), cases[i].cls);
	}
}
END_TEST

START_TEST(match_classes_and_devices)
{
	struct vm_exit io = exit_of(VM_EXIT_IO, KVM_EXIT_IO);
	struct vm_exit mmio = exit_of(VM_EXIT_MMIO, KVM_EXIT_MMIO);
	struct vm_exit hlt = exit_of(VM_EXIT_HLT, KVM_EXIT_HLT);
	struct vm_exit intr = exit_of(VM_EXIT_INTR, KVM_EXIT_INTR);
	struct vm_exit shut = exit_of(VM_EXIT_SHUTDOWN, KVM_EXIT_SHUTDOWN);
	struct trace_filter f = parse_ok("io");

	ck_assert(trace_filter_match(&f, &io, "serial (COM1)"));
	ck_assert(!trace_filter_match(&f, &mmio, "unclaimed"));
	ck_assert(!trace_filter_match(&f, &hlt, NULL));
	ck_assert(!trace_filter_match(&f, &intr, NULL));
	ck_assert(trace_filter_match(&f, &shut, NULL));	/* the end is always shown */

	f = parse_ok("io,hlt,dev=SERIAL");
	ck_assert(trace_filter_match(&f, &io, "serial (COM1)"));	/* prefix, any case */
	ck_assert(!trace_filter_match(&f, &io, "acpi-pm1a"));
	ck_assert(!trace_filter_match(&f, &io, "unclaimed"));
	ck_assert(!trace_filter_match(&f, &io, NULL));
	ck_assert(trace_filter_match(&f, &hlt, NULL));	/* no device: dev= does not apply */
	ck_assert(trace_filter_match(&f, &shut, NULL));

	f = parse_ok("dev=unclaimed,dev=acpi");
	ck_assert(trace_filter_match(&f, &io, NULL));
	ck_assert(trace_filter_match(&f, &mmio, "unclaimed"));
	ck_assert(trace_filter_match(&f, &io, "acpi-pm1a"));
	ck_assert(!trace_filter_match(&f, &io, "serial (COM1)"));
	ck_assert(!trace_filter_match(&f, &hlt, NULL));	/* dev= alone means io,mmio */

	f = parse_ok(NULL);
	ck_assert(trace_filter_match(&f, &io, "anything"));
	ck_assert(trace_filter_match(&f, &intr, NULL));
}
END_TEST

START_TEST(after_handling)
{
	struct vm_exit io = exit_of(VM_EXIT_IO, KVM_EXIT_IO);
	struct vm_exit mmio = exit_of(VM_EXIT_MMIO, KVM_EXIT_MMIO);
	struct vm_exit shut = exit_of(VM_EXIT_SHUTDOWN, KVM_EXIT_SHUTDOWN);
	struct vm_exit ie = exit_of(VM_EXIT_INTERNAL_ERROR, KVM_EXIT_INTERNAL_ERROR);

	ck_assert(trace_after_handling(&io));
	ck_assert(trace_after_handling(&mmio));
	ck_assert(!trace_after_handling(&shut));
	ck_assert(!trace_after_handling(&ie));
}
END_TEST

/* Formats e as seen on vcpu 1 at 1234.567 us, RIP 0x100c3e, and compares. */
static void expect_line(const struct vm_exit *e, const char *dev, const char *want)
{
	struct trace_event ev = {
		.vcpu = 1, .t_ns = 1234567, .has_rip = true, .rip = 0x100c3e, .e = e, .dev = dev,
	};
	char buf[TRACE_LINE_MAX];
	size_t n = trace_format(buf, sizeof(buf), &ev);

	ck_assert_str_eq(buf, want);
	ck_assert_uint_eq(n, strlen(want));
}

START_TEST(format_io)
{
	struct vm_exit e = exit_of(VM_EXIT_IO, KVM_EXIT_IO);
	u8 data[64];

	e.io = (struct vm_exit_io){ .port = 0x3f8, .size = 1, .in = false, .count = 1, .data = data };
	data[0] = 'H';
	expect_line(&e, "serial (COM1)",
		    "vcpu1 t=    1234.567us IO             rip=0x100c3e out port=0x3f8 size=1 data=0x48 'H' dev=serial (COM1)\n");
	/* A read: the data is what the device answered; no character shown. */
	e.io.in = true;
	e.io.port = 0x3fd;
	data[0] = 0x60;
	expect_line(&e, "serial (COM1)",
		    "vcpu1 t=    1234.567us IO             rip=0x100c3e in port=0x3fd size=1 data=0x60 dev=serial (COM1)\n");
	/* Wider accesses are little-endian values; no device means unclaimed. */
	e.io = (struct vm_exit_io){ .port = 0x604, .size = 2, .count = 1, .data = data };
	data[0] = 0x00;
	data[1] = 0x34;
	expect_line(&e, "acpi-pm1a",
		    "vcpu1 t=    1234.567us IO             rip=0x100c3e out port=0x604 size=2 data=0x3400 dev=acpi-pm1a\n");
	e.io = (struct vm_exit_io){ .port = 0x230, .size = 4, .in = true, .count = 1, .data = data };
	memcpy(data, "\x78\x56\x34\x12", 4);
	expect_line(&e, NULL,
		    "vcpu1 t=    1234.567us IO             rip=0x100c3e in port=0x230 size=4 data=0x12345678 dev=unclaimed\n");
}
END_TEST

START_TEST(format_string_io)
{
	struct vm_exit e = exit_of(VM_EXIT_IO, KVM_EXIT_IO);
	u8 data[64];

	memcpy(data, "ok \"q\"\\\n\t\x01", 10);
	e.io = (struct vm_exit_io){ .port = 0x3f8, .size = 1, .count = 10, .data = data };
	expect_line(&e, "serial (COM1)",
		    "vcpu1 t=    1234.567us IO             rip=0x100c3e out port=0x3f8 size=1 count=10 data=\"ok \\\"q\\\"\\\\\\n\\t\\x01\" dev=serial (COM1)\n");
	/* Long byte strings: the first 32 bytes, then "...". */
	memset(data, 'a', sizeof(data));
	e.io.count = 40;
	expect_line(&e, "serial (COM1)",
		    "vcpu1 t=    1234.567us IO             rip=0x100c3e out port=0x3f8 size=1 count=40 data=\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"... dev=serial (COM1)\n");
	/* Wider string I/O: a list of values, the first 8, then ",...". */
	for (int i = 0; i < 20; i++) {
		data[2 * i] = (u8)i;
		data[2 * i + 1] = 0xa0;
	}
	e.io = (struct vm_exit_io){ .port = 0x1f0, .size = 2, .in = true, .count = 3, .data = data };
	expect_line(&e, NULL,
		    "vcpu1 t=    1234.567us IO             rip=0x100c3e in port=0x1f0 size=2 count=3 data=0xa000,0xa001,0xa002 dev=unclaimed\n");
	e.io.count = 20;
	expect_line(&e, NULL,
		    "vcpu1 t=    1234.567us IO             rip=0x100c3e in port=0x1f0 size=2 count=20 data=0xa000,0xa001,0xa002,0xa003,0xa004,0xa005,0xa006,0xa007,... dev=unclaimed\n");
}
END_TEST

START_TEST(format_mmio)
{
	struct vm_exit e = exit_of(VM_EXIT_MMIO, KVM_EXIT_MMIO);
	u8 data[8] = { 0x78, 0x56, 0x34, 0x12, 0xef, 0xcd, 0xab, 0x89 };

	e.mmio = (struct vm_exit_mmio){ .addr = 0xd0000000, .len = 4, .write = true, .data = data };
	expect_line(&e, NULL,
		    "vcpu1 t=    1234.567us MMIO           rip=0x100c3e write addr=0xd0000000 len=4 data=0x12345678 dev=unclaimed\n");
	e.mmio.len = 8;
	e.mmio.write = false;
	e.mmio.addr = 0xfebf0000;
	expect_line(&e, "virtio-blk",
		    "vcpu1 t=    1234.567us MMIO           rip=0x100c3e read addr=0xfebf0000 len=8 data=0x89abcdef12345678 dev=virtio-blk\n");
	e.mmio.len = 1;
	expect_line(&e, "virtio-blk",
		    "vcpu1 t=    1234.567us MMIO           rip=0x100c3e read addr=0xfebf0000 len=1 data=0x78 dev=virtio-blk\n");
}
END_TEST

START_TEST(format_other_kinds)
{
	struct vm_exit e = exit_of(VM_EXIT_HLT, KVM_EXIT_HLT);

	expect_line(&e, NULL, "vcpu1 t=    1234.567us HLT            rip=0x100c3e guest executed HLT\n");
	e = exit_of(VM_EXIT_INTR, KVM_EXIT_INTR);
	expect_line(&e, NULL,
		    "vcpu1 t=    1234.567us INTR           rip=0x100c3e KVM_RUN interrupted by a signal\n");
	e = exit_of(VM_EXIT_SHUTDOWN, KVM_EXIT_SHUTDOWN);
	expect_line(&e, NULL, "vcpu1 t=    1234.567us SHUTDOWN       rip=0x100c3e triple fault\n");
	e = exit_of(VM_EXIT_FAIL_ENTRY, KVM_EXIT_FAIL_ENTRY);
	e.fail_entry.reason = 0x80000021;
	e.fail_entry.cpu = 3;
	expect_line(&e, NULL,
		    "vcpu1 t=    1234.567us FAIL_ENTRY     rip=0x100c3e hardware_entry_failure_reason=0x80000021 cpu=3\n");
	e = exit_of(VM_EXIT_INTERNAL_ERROR, KVM_EXIT_INTERNAL_ERROR);
	e.internal.suberror = KVM_INTERNAL_ERROR_EMULATION;
	e.internal.ndata = 2;
	e.internal.data[0] = 0x1;
	e.internal.data[1] = 0xc70f48;
	expect_line(&e, NULL,
		    "vcpu1 t=    1234.567us INTERNAL_ERROR rip=0x100c3e suberror=1 (instruction emulation failed) data=0x1,0xc70f48\n");
	e = exit_of(VM_EXIT_SYSTEM_EVENT, KVM_EXIT_SYSTEM_EVENT);
	e.system_event.type = KVM_SYSTEM_EVENT_RESET;
	expect_line(&e, NULL, "vcpu1 t=    1234.567us SYSTEM_EVENT   rip=0x100c3e type=2 (reset)\n");
	e.system_event.type = 77;
	e.system_event.ndata = 1;
	e.system_event.data[0] = 5;
	expect_line(&e, NULL,
		    "vcpu1 t=    1234.567us SYSTEM_EVENT   rip=0x100c3e type=77 (unknown) data=0x5\n");
	e = exit_of(VM_EXIT_DEBUG, KVM_EXIT_DEBUG);
	e.debug.exception = 1;
	e.debug.pc = 0x100c3e;
	e.debug.dr6 = 0xffff4ff0;
	e.debug.dr7 = 0x400;
	expect_line(&e, NULL,
		    "vcpu1 t=    1234.567us DEBUG          rip=0x100c3e exception=1 pc=0x100c3e dr6=0xffff4ff0 dr7=0x400\n");
	/* Reasons exit.c does not decode keep their KVM name. */
	e = exit_of(VM_EXIT_UNKNOWN, KVM_EXIT_X86_RDMSR);
	expect_line(&e, NULL, "vcpu1 t=    1234.567us X86_RDMSR      rip=0x100c3e reason=29\n");
	e = exit_of(VM_EXIT_UNKNOWN, 4242);
	expect_line(&e, NULL, "vcpu1 t=    1234.567us UNKNOWN        rip=0x100c3e reason=4242\n");
}
END_TEST

START_TEST(format_rip_note_and_time)
{
	struct vm_exit e = exit_of(VM_EXIT_HLT, KVM_EXIT_HLT);
	struct trace_event ev = { .vcpu = 12, .t_ns = 123456789012ull, .e = &e, .note = "woken" };
	char buf[TRACE_LINE_MAX];

	trace_format(buf, sizeof(buf), &ev);
	ck_assert_str_eq(buf, "vcpu12 t=123456789.012us HLT            rip=? guest executed HLT (woken)\n");
	ev.t_ns = 5;
	ev.note = NULL;
	trace_format(buf, sizeof(buf), &ev);
	ck_assert_str_eq(buf, "vcpu12 t=       0.005us HLT            rip=? guest executed HLT\n");
}
END_TEST

START_TEST(format_truncates_to_a_line)
{
	struct vm_exit e = exit_of(VM_EXIT_HLT, KVM_EXIT_HLT);
	struct trace_event ev = { .vcpu = 0, .t_ns = 0, .e = &e };
	char buf[24];
	size_t n;

	memset(buf, 'X', sizeof(buf));
	n = trace_format(buf, sizeof(buf), &ev);
	ck_assert_uint_eq(n, sizeof(buf) - 1);
	ck_assert_uint_eq(strlen(buf), n);
	ck_assert_str_eq(buf, "vcpu0 t=       0.00...\n");
	n = trace_format(buf, 3, &ev);
	ck_assert_uint_eq(n, 2);
	ck_assert_str_eq(buf, "v\n");
	ck_assert_uint_eq(trace_format(buf, 1, &ev), 0);
	ck_assert_str_eq(buf, "");
}
END_TEST

START_TEST(reason_names)
{
	ck_assert_str_eq(trace_reason_name(KVM_EXIT_IO), "IO");
	ck_assert_str_eq(trace_reason_name(KVM_EXIT_IRQ_WINDOW_OPEN), "IRQ_WINDOW_OPEN");
	ck_assert_str_eq(trace_reason_name(KVM_EXIT_X86_WRMSR), "X86_WRMSR");
	ck_assert_str_eq(trace_reason_name(4242), "?");
	ck_assert_str_eq(trace_reason_name(0xffffffffu), "?");
}
END_TEST

/* Reads everything from fd into a NUL-terminated malloc'd buffer. */
static char *slurp(int fd)
{
	size_t cap = 1 << 20, len = 0;
	char *buf = malloc(cap + 1);
	ssize_t n;

	ck_assert_ptr_nonnull(buf);
	lseek(fd, 0, SEEK_SET);
	while (len < cap && (n = read(fd, buf + len, cap - len)) > 0)
		len += (size_t)n;
	buf[len] = '\0';
	return buf;
}

START_TEST(write_header_and_lines)
{
	char path[] = "/tmp/trapeze-trace-XXXXXX";
	int fd = mkstemp(path);
	struct trace_filter f = parse_ok("io,dev=serial");
	struct vm_exit e = exit_of(VM_EXIT_IO, KVM_EXIT_IO);
	u8 data = 'x';
	struct trace_event ev = { .vcpu = 0, .t_ns = 1000, .has_rip = true, .rip = 0x10, .e = &e,
				  .dev = "serial (COM1)" };
	struct trace t;
	char *text;

	ck_assert_int_ge(fd, 0);
	unlink(path);
	e.io = (struct vm_exit_io){ .port = 0x3f8, .size = 1, .count = 1, .data = &data };
	trace_init(&t, &f, fd);
	ck_assert_int_eq(trace_write_header(&t, true), 0);
	ck_assert_int_eq(trace_write(&t, &ev), 0);
	text = slurp(fd);
	ck_assert_str_eq(text,
			 "# trapeze trace (io,dev=serial): vCPU, time since the VM started, exit, guest RIP, details\n"
			 "vcpu0 t=       1.000us IO             rip=0x10 out port=0x3f8 size=1 data=0x78 'x' dev=serial (COM1)\n");
	free(text);
	close(fd);

	/* A closed fd is an error, not a crash. */
	ck_assert_int_eq(trace_write(&t, &ev), -EBADF);
}
END_TEST

#define WRITERS 4
#define LINES_PER_WRITER 500

struct writer {
	const struct trace *t;
	unsigned int vcpu;
};

static void *writer_thread(void *arg)
{
	struct writer *w = arg;
	u8 data[40];
	struct vm_exit e = exit_of(VM_EXIT_IO, KVM_EXIT_IO);

	memset(data, 'a' + w->vcpu, sizeof(data));
	e.io = (struct vm_exit_io){ .port = 0x3f8, .size = 1, .count = 30, .data = data };
	for (unsigned int i = 0; i < LINES_PER_WRITER; i++) {
		struct trace_event ev = { .vcpu = w->vcpu, .t_ns = i, .has_rip = true, .rip = i,
					  .e = &e, .dev = "serial (COM1)" };

		if (trace_write(w->t, &ev))
			return (void *)1;
	}
	return NULL;
}

START_TEST(concurrent_writers_keep_lines_whole)
{
	char path[] = "/tmp/trapeze-trace-XXXXXX";
	int tmp = mkstemp(path);
	int fd = open(path, O_WRONLY | O_APPEND);	/* as observe opens a --trace-file */
	struct trace_filter f = parse_ok(NULL);
	struct writer w[WRITERS];
	pthread_t th[WRITERS];
	unsigned int seen[WRITERS] = { 0 };
	struct trace t;
	char *text, *line, *save;
	void *ret;

	ck_assert_int_ge(tmp, 0);
	ck_assert_int_ge(fd, 0);
	unlink(path);
	trace_init(&t, &f, fd);
	for (unsigned int i = 0; i < WRITERS; i++) {
		w[i] = (struct writer){ .t = &t, .vcpu = i };
		ck_assert_int_eq(pthread_create(&th[i], NULL, writer_thread, &w[i]), 0);
	}
	for (unsigned int i = 0; i < WRITERS; i++) {
		ck_assert_int_eq(pthread_join(th[i], &ret), 0);
		ck_assert_ptr_null(ret);
	}
	text = slurp(tmp);
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		unsigned int v, n;
		char want[64];

		/* Every line is whole: its vCPU's letters, 30 of them, then the device. */
		ck_assert_msg(sscanf(line, "vcpu%u t=%*u.%*uus IO %n", &v, &n) == 1 && v < WRITERS,
			      "torn line: %s", line);
		memset(want, 'a' + v, 30);
		want[30] = '\0';
		ck_assert_msg(strstr(line, want) && strstr(line, "\" dev=serial (COM1)"),
			      "torn line: %s", line);
		seen[v]++;
	}
	for (unsigned int i = 0; i < WRITERS; i++)
		ck_assert_uint_eq(seen[i], LINES_PER_WRITER);
	free(text);
	close(fd);
	close(tmp);
}
END_TEST

/* argv for `trapeze run ARGS -k k.elf`, parsed. */
static int parse_run(struct vm_config *cfg, const char *a, const char *b)
{
	char *argv[8] = { "trapeze", "run" };
	int argc = 2;

	if (a)
		argv[argc++] = (char *)a;
	if (b)
		argv[argc++] = (char *)b;
	argv[argc++] = "-k";
	argv[argc++] = "k.elf";
	err[0] = '\0';
	return config_parse(cfg, argc, argv, err, sizeof(err));
}

START_TEST(config_options)
{
	struct vm_config cfg;

	ck_assert_int_eq(parse_run(&cfg, NULL, NULL), 0);
	ck_assert_ptr_null(cfg.trace);
	ck_assert_ptr_null(cfg.trace_file);
	ck_assert(!cfg.stats);
	ck_assert_ptr_null(cfg.stats_json);

	ck_assert_int_eq(parse_run(&cfg, "--trace", NULL), 0);
	ck_assert_str_eq(cfg.trace, "all");
	ck_assert_int_eq(parse_run(&cfg, "--trace=io,dev=serial", NULL), 0);
	ck_assert_str_eq(cfg.trace, "io,dev=serial");
	ck_assert_int_eq(parse_run(&cfg, "--trace-file", "/tmp/t"), 0);
	ck_assert_str_eq(cfg.trace_file, "/tmp/t");
	ck_assert_str_eq(cfg.trace, "all");	/* --trace-file implies --trace */
	ck_assert_int_eq(parse_run(&cfg, "--trace=mmio", "--trace-file=/tmp/t"), 0);
	ck_assert_str_eq(cfg.trace, "mmio");
	ck_assert_int_eq(parse_run(&cfg, "--stats", NULL), 0);
	ck_assert(cfg.stats);
	ck_assert_ptr_null(cfg.trace);
	ck_assert_int_eq(parse_run(&cfg, "--stats-json", "/tmp/s.json"), 0);
	ck_assert_str_eq(cfg.stats_json, "/tmp/s.json");
	ck_assert(!cfg.stats);	/* JSON alone prints no table */
}
END_TEST

START_TEST(config_errors)
{
	struct vm_config cfg;

	ck_assert_int_eq(parse_run(&cfg, "--trace=bogus", NULL), -EINVAL);
	ck_assert_str_eq(err, "run: --trace: unknown item 'bogus' (classes io, mmio, hlt, irq, "
			      "debug, all; filter dev=NAME)");
	ck_assert_int_eq(parse_run(&cfg, "--trace=", NULL), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "--trace: empty list"));
	ck_assert_int_eq(parse_run(&cfg, "--trace-file=", NULL), -EINVAL);
	ck_assert_str_eq(err, "run: empty --trace-file path");
	ck_assert_int_eq(parse_run(&cfg, "--stats-json", ""), -EINVAL);
	ck_assert_str_eq(err, "run: empty --stats-json path");
	ck_assert_int_eq(parse_run(&cfg, "--stats=yes", NULL), -EINVAL);
	ck_assert_str_eq(err, "run: option '--stats' takes no argument");
	/* The SPEC needs '=': a separate word is not taken as one. */
	ck_assert_int_eq(parse_run(&cfg, "--trace", "io"), -EINVAL);
	ck_assert_str_eq(err, "run: unexpected argument 'io'");
}
END_TEST

int main(void)
{
	Suite *s = suite_create("trace");
	TCase *tc = tcase_create("trace");

	tcase_add_test(tc, parse_default_is_all);
	tcase_add_test(tc, parse_classes);
	tcase_add_test(tc, parse_devices);
	tcase_add_test(tc, parse_errors);
	tcase_add_test(tc, describe_round_trip);
	tcase_add_test(tc, class_of_every_kind);
	tcase_add_test(tc, match_classes_and_devices);
	tcase_add_test(tc, after_handling);
	tcase_add_test(tc, format_io);
	tcase_add_test(tc, format_string_io);
	tcase_add_test(tc, format_mmio);
	tcase_add_test(tc, format_other_kinds);
	tcase_add_test(tc, format_rip_note_and_time);
	tcase_add_test(tc, format_truncates_to_a_line);
	tcase_add_test(tc, reason_names);
	tcase_add_test(tc, write_header_and_lines);
	tcase_add_test(tc, concurrent_writers_keep_lines_whole);
	tcase_add_test(tc, config_options);
	tcase_add_test(tc, config_errors);
	suite_add_tcase(s, tc);
	return check_run(s);
}

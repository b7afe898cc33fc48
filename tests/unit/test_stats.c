/*
 * Unit tests for debug/stats: per-vCPU counting and the merge into one
 * summary (per reason, per device, per vCPU, means), the lock-free
 * per-vCPU blocks under concurrent threads, and the text and JSON reports
 * (exact JSON for a small case; any JSON checked by a small parser).
 */
#include <check.h>
#include <ctype.h>
#include <errno.h>
#include <linux/kvm.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_main.h"
#include "trapeze/debug/stats.h"

static void nop_read(void *dev, u64 offset, void *data, u32 len)
{
	(void)dev;
	(void)offset;
	memset(data, 0, len);
}

static void nop_write(void *dev, u64 offset, const void *data, u32 len)
{
	(void)dev;
	(void)offset;
	(void)data;
	(void)len;
}

static const struct bus_ops nop_ops = { .read = nop_read, .write = nop_write };

static struct bus pio, mmio;

/* pio: serial at 0x3f8 and acpi at 0x600; mmio: one "virtio" device. */
static void setup_buses(void)
{
	ck_assert_int_eq(bus_init(&pio, "pio"), 0);
	ck_assert_int_eq(bus_init(&mmio, "mmio"), 0);
	ck_assert_int_eq(bus_register(&pio, 0x3f8, 8, &nop_ops, NULL, "serial (COM1)"), 0);
	ck_assert_int_eq(bus_register(&pio, 0x600, 6, &nop_ops, NULL, "acpi-pm1a"), 0);
	ck_assert_int_eq(bus_register(&mmio, 0xfeb00000, 0x1000, &nop_ops, NULL, "virtio"), 0);
}

static void teardown_buses(void)
{
	bus_destroy(&pio);
	bus_destroy(&mmio);
}

static u8 io_data[64];

static struct vm_exit io_exit(u16 port, u8 size, u32 count)
{
	struct vm_exit e;

	memset(&e, 0, sizeof(e));
	e.kind = VM_EXIT_IO;
	e.reason = KVM_EXIT_IO;
	e.io = (struct vm_exit_io){ .port = port, .size = size, .count = count, .data = io_data };
	return e;
}

static struct vm_exit mmio_exit(u64 addr, u32 len)
{
	struct vm_exit e;

	memset(&e, 0, sizeof(e));
	e.kind = VM_EXIT_MMIO;
	e.reason = KVM_EXIT_MMIO;
	e.mmio = (struct vm_exit_mmio){ .addr = addr, .len = len, .write = true, .data = io_data };
	return e;
}

static struct vm_exit plain_exit(enum vm_exit_kind kind, u32 reason)
{
	struct vm_exit e;

	memset(&e, 0, sizeof(e));
	e.kind = kind;
	e.reason = reason;
	return e;
}

/* Records e on vcpu as the exit path does: the range the bus resolves. */
static void record(struct stats *s, unsigned int vcpu, const struct vm_exit *e, u64 ns)
{
	const struct bus_range *r = NULL;

	if (e->kind == VM_EXIT_IO)
		r = bus_find(&pio, e->io.port, e->io.size);
	else if (e->kind == VM_EXIT_MMIO)
		r = bus_find(&mmio, e->mmio.addr, e->mmio.len);
	stats_record(s, vcpu, e, r, ns);
}

static const struct stats_dev_row *dev_row(const struct stats_summary *sum, const char *name,
					   const char *bus)
{
	for (unsigned int i = 0; i < sum->nr_devs; i++)
		if (!strcmp(sum->devs[i].name, name) && !strcmp(sum->devs[i].bus, bus))
			return &sum->devs[i];
	return NULL;
}

static void check_cell(const struct stats_cell *c, u64 count, u64 bytes, u64 ns)
{
	ck_assert_uint_eq(c->count, count);
	ck_assert_uint_eq(c->bytes, bytes);
	ck_assert_uint_eq(c->ns, ns);
}

START_TEST(init_layout)
{
	struct stats s;

	ck_assert_int_eq(stats_init(&s, 3, &pio, &mmio), 0);
	ck_assert_uint_eq(s.nr_pio, 2);
	ck_assert_uint_eq(s.nr_mmio, 1);
	ck_assert_uint_eq(s.nr_devs, 5);	/* 2 + 1 + unclaimed pio + unclaimed mmio */
	/* Each vCPU's block starts on its own cache line: no false sharing. */
	ck_assert_uint_eq(s.stride % 64, 0);
	ck_assert_uint_ge(s.stride, (STATS_NR_KINDS + s.nr_devs) * sizeof(struct stats_cell));
	ck_assert_uint_eq((uintptr_t)s.blocks % 64, 0);
	stats_destroy(&s);
	ck_assert_int_eq(stats_init(&s, 0, &pio, &mmio), -EINVAL);
}
END_TEST

START_TEST(merge_over_vcpus)
{
	struct stats s;
	struct stats_summary sum;
	struct vm_exit out_serial = io_exit(0x3f8, 1, 1);
	struct vm_exit str_serial = io_exit(0x3f8, 1, 25);
	struct vm_exit pm = io_exit(0x604, 2, 1);
	struct vm_exit nobody = io_exit(0x230, 4, 1);
	struct vm_exit straddle = io_exit(0x3ff, 2, 1);	/* crosses the serial range's end */
	struct vm_exit virtio = mmio_exit(0xfeb00010, 4);
	struct vm_exit hole = mmio_exit(0xd0000000, 8);
	struct vm_exit hlt = plain_exit(VM_EXIT_HLT, KVM_EXIT_HLT);
	struct vm_exit intr = plain_exit(VM_EXIT_INTR, KVM_EXIT_INTR);

	ck_assert_int_eq(stats_init(&s, 2, &pio, &mmio), 0);
	record(&s, 0, &out_serial, 100);
	record(&s, 1, &out_serial, 300);
	record(&s, 1, &str_serial, 1000);
	record(&s, 0, &pm, 40);
	record(&s, 0, &nobody, 7);
	record(&s, 1, &straddle, 3);
	record(&s, 1, &virtio, 500);
	record(&s, 0, &hole, 20);
	record(&s, 0, &hole, 30);
	record(&s, 1, &hlt, 11);
	record(&s, 0, &intr, 0);
	record(&s, 2, &hlt, 99);	/* no such vCPU: ignored */

	ck_assert_int_eq(stats_summarize(&s, 5000000, &sum), 0);
	ck_assert_uint_eq(sum.nr_vcpus, 2);
	ck_assert_uint_eq(sum.elapsed_ns, 5000000);
	check_cell(&sum.kind[VM_EXIT_IO], 6, 1 + 1 + 25 + 2 + 4 + 2, 100 + 300 + 1000 + 40 + 7 + 3);
	check_cell(&sum.kind[VM_EXIT_MMIO], 3, 4 + 8 + 8, 550);
	check_cell(&sum.kind[VM_EXIT_HLT], 1, 0, 11);
	check_cell(&sum.kind[VM_EXIT_INTR], 1, 0, 0);
	check_cell(&sum.kind[VM_EXIT_SHUTDOWN], 0, 0, 0);
	check_cell(&sum.total, 11, 55, 2011);
	ck_assert_uint_eq(stats_mean_ns(&sum.kind[VM_EXIT_IO]), 1450 / 6);
	ck_assert_uint_eq(stats_mean_ns(&sum.kind[VM_EXIT_MMIO]), 550 / 3);
	ck_assert_uint_eq(stats_mean_ns(&sum.kind[VM_EXIT_SHUTDOWN]), 0);

	ck_assert_uint_eq(sum.nr_devs, 5);
	check_cell(&dev_row(&sum, "serial (COM1)", "pio")->cell, 3, 27, 1400);
	check_cell(&dev_row(&sum, "acpi-pm1a", "pio")->cell, 1, 2, 40);
	check_cell(&dev_row(&sum, "unclaimed", "pio")->cell, 2, 6, 10);
	check_cell(&dev_row(&sum, "virtio", "mmio")->cell, 1, 4, 500);
	check_cell(&dev_row(&sum, "unclaimed", "mmio")->cell, 2, 16, 50);
	ck_assert_uint_eq(dev_row(&sum, "serial (COM1)", "pio")->base, 0x3f8);
	ck_assert_uint_eq(dev_row(&sum, "serial (COM1)", "pio")->len, 8);
	ck_assert_uint_eq(dev_row(&sum, "unclaimed", "mmio")->base, 0);

	ck_assert_uint_eq(sum.vcpu_exits[0], 6);
	ck_assert_uint_eq(sum.vcpu_exits[1], 5);
	stats_summary_free(&sum);
	stats_destroy(&s);
}
END_TEST

START_TEST(foreign_range_is_unclaimed)
{
	struct stats s;
	struct stats_summary sum;
	struct bus_range stray = { .base = 0x3f8, .len = 8, .name = "stray" };
	struct vm_exit e = io_exit(0x3f8, 1, 1);

	ck_assert_int_eq(stats_init(&s, 1, &pio, &mmio), 0);
	stats_record(&s, 0, &e, &stray, 5);	/* not one of the bus's ranges */
	ck_assert_int_eq(stats_summarize(&s, 1, &sum), 0);
	check_cell(&dev_row(&sum, "unclaimed", "pio")->cell, 1, 1, 5);
	check_cell(&dev_row(&sum, "serial (COM1)", "pio")->cell, 0, 0, 0);
	stats_summary_free(&sum);
	stats_destroy(&s);
}
END_TEST

#define THREADS 4
#define RECORDS 100000

struct recorder {
	struct stats *s;
	unsigned int vcpu;
};

static void *recorder_thread(void *arg)
{
	struct recorder *r = arg;
	struct vm_exit e = io_exit(0x3f8, 1, 1);
	const struct bus_range *range = bus_find(&pio, 0x3f8, 1);

	for (unsigned int i = 0; i < RECORDS; i++)
		stats_record(r->s, r->vcpu, &e, range, r->vcpu + 1);
	return NULL;
}

START_TEST(concurrent_vcpus_lose_nothing)
{
	struct stats s;
	struct stats_summary sum;
	struct recorder r[THREADS];
	pthread_t th[THREADS];
	u64 want_ns = 0;

	ck_assert_int_eq(stats_init(&s, THREADS, &pio, &mmio), 0);
	for (unsigned int i = 0; i < THREADS; i++) {
		r[i] = (struct recorder){ .s = &s, .vcpu = i };
		ck_assert_int_eq(pthread_create(&th[i], NULL, recorder_thread, &r[i]), 0);
		want_ns += (u64)RECORDS * (i + 1);
	}
	for (unsigned int i = 0; i < THREADS; i++)
		pthread_join(th[i], NULL);
	ck_assert_int_eq(stats_summarize(&s, 1, &sum), 0);
	check_cell(&sum.kind[VM_EXIT_IO], (u64)THREADS * RECORDS, (u64)THREADS * RECORDS, want_ns);
	check_cell(&dev_row(&sum, "serial (COM1)", "pio")->cell, (u64)THREADS * RECORDS,
		   (u64)THREADS * RECORDS, want_ns);
	for (unsigned int i = 0; i < THREADS; i++)
		ck_assert_uint_eq(sum.vcpu_exits[i], RECORDS);
	stats_summary_free(&sum);
	stats_destroy(&s);
}
END_TEST

/* Output of a report function, as a malloc'd string. */
static char *capture(void (*fn)(const struct stats_summary *, const struct kvm_stats *,
				const struct kvm_stats *, FILE *),
		     const struct stats_summary *sum, const struct kvm_stats *a,
		     const struct kvm_stats *b)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	ck_assert_ptr_nonnull(f);
	fn(sum, a, b, f);
	fclose(f);
	return text;
}

/* Builds the small summary the exact-output tests use: one pio device, two vCPUs. */
static void small_summary(struct stats *s, struct stats_summary *sum, struct bus *b,
			  struct bus *none)
{
	struct vm_exit e = io_exit(0x3f8, 1, 1);
	struct vm_exit hole = mmio_exit(0xd0000000, 4);
	struct vm_exit hlt = plain_exit(VM_EXIT_HLT, KVM_EXIT_HLT);

	ck_assert_int_eq(bus_init(b, "pio"), 0);
	ck_assert_int_eq(bus_init(none, "mmio"), 0);
	ck_assert_int_eq(bus_register(b, 0x3f8, 8, &nop_ops, NULL, "serial \"A\"\n"), 0);
	ck_assert_int_eq(stats_init(s, 2, b, none), 0);
	stats_record(s, 0, &e, bus_find(b, 0x3f8, 1), 100);
	stats_record(s, 1, &e, bus_find(b, 0x3f8, 1), 301);
	stats_record(s, 1, &hole, NULL, 50);
	stats_record(s, 0, &hlt, NULL, 10);
	ck_assert_int_eq(stats_summarize(s, 123456789, sum), 0);
}

#define ZERO "{\"count\": 0, \"bytes\": 0, \"total_ns\": 0, \"mean_ns\": 0}"

START_TEST(json_exact)
{
	struct stats s;
	struct stats_summary sum;
	struct bus b, none;
	u64 vals[] = { 7, 0, 2, 5 };
	struct kvm_stat kst[] = {
		{ .name = "exits", .size = 1, .values = &vals[0] },
		{ .name = "halt_wait_hist", .flags = KVM_STATS_TYPE_LOG_HIST, .size = 3,
		  .values = &vals[1] },
	};
	struct kvm_stats kvm = { .id = "", .nr = 2, .stats = kst };
	char *text;

	small_summary(&s, &sum, &b, &none);
	text = capture(stats_write_json, &sum, &kvm, NULL);
	ck_assert_str_eq(text,
		"{\n"
		"  \"vcpus\": 2,\n"
		"  \"elapsed_ns\": 123456789,\n"
		"  \"exits\": {\"IO\": {\"count\": 2, \"bytes\": 2, \"total_ns\": 401, \"mean_ns\": 200}, "
		"\"MMIO\": {\"count\": 1, \"bytes\": 4, \"total_ns\": 50, \"mean_ns\": 50}, "
		"\"HLT\": {\"count\": 1, \"bytes\": 0, \"total_ns\": 10, \"mean_ns\": 10}, "
		"\"SHUTDOWN\": " ZERO ", \"FAIL_ENTRY\": " ZERO ", \"INTERNAL_ERROR\": " ZERO ", "
		"\"SYSTEM_EVENT\": " ZERO ", \"DEBUG\": " ZERO ", \"INTR\": " ZERO ", "
		"\"UNKNOWN\": " ZERO "},\n"
		"  \"total\": {\"count\": 4, \"bytes\": 6, \"total_ns\": 461, \"mean_ns\": 115},\n"
		"  \"devices\": [{\"name\": \"serial \\\"A\\\"\\u000a\", \"bus\": \"pio\", \"base\": 1016, "
		"\"len\": 8, \"count\": 2, \"bytes\": 2, \"total_ns\": 401, \"mean_ns\": 200}, "
		"{\"name\": \"unclaimed\", \"bus\": \"pio\", \"base\": 0, \"len\": 0, "
		"\"count\": 0, \"bytes\": 0, \"total_ns\": 0, \"mean_ns\": 0}, "
		"{\"name\": \"unclaimed\", \"bus\": \"mmio\", \"base\": 0, \"len\": 0, "
		"\"count\": 1, \"bytes\": 4, \"total_ns\": 50, \"mean_ns\": 50}],\n"
		"  \"per_vcpu\": [{\"vcpu\": 0, \"exits\": 2}, {\"vcpu\": 1, \"exits\": 2}],\n"
		"  \"kvm_vcpu\": {\"exits\": 7, \"halt_wait_hist\": [0, 2, 5]},\n"
		"  \"kvm_vm\": null\n"
		"}\n");
	free(text);
	stats_summary_free(&sum);
	stats_destroy(&s);
	bus_destroy(&b);
	bus_destroy(&none);
}
END_TEST

/*
 * A small JSON checker (RFC 8259 grammar, no semantics): returns the
 * position after one value at p, or NULL when the text is not JSON.
 */
static const char *json_value(const char *p, int depth);

static const char *json_ws(const char *p)
{
	while (*p == ' ' || *p == '\n' || *p == '\t' || *p == '\r')
		p++;
	return p;
}

static const char *json_string(const char *p)
{
	if (*p++ != '"')
		return NULL;
	while (*p != '"') {
		if ((unsigned char)*p < 0x20)
			return NULL;	/* raw control characters are not allowed */
		if (*p == '\\') {
			p++;
			if (*p == 'u') {
				for (int i = 1; i <= 4; i++)
					if (!isxdigit((unsigned char)p[i]))
						return NULL;
				p += 4;
			} else if (!strchr("\"\\/bfnrt", *p) || !*p) {
				return NULL;
			}
		}
		p++;
	}
	return p + 1;
}

static const char *json_number(const char *p)
{
	const char *start = p;

	if (*p == '-')
		p++;
	if (!isdigit((unsigned char)*p))
		return NULL;
	if (*p == '0' && isdigit((unsigned char)p[1]))
		return NULL;
	while (isdigit((unsigned char)*p) || *p == '.' || *p == 'e' || *p == 'E' || *p == '+')
		p++;
	return p > start ? p : NULL;
}

static const char *json_list(const char *p, char close, bool object, int depth)
{
	p = json_ws(p + 1);
	if (*p == close)
		return p + 1;
	for (;;) {
		if (object) {
			p = json_string(json_ws(p));
			if (!p)
				return NULL;
			p = json_ws(p);
			if (*p++ != ':')
				return NULL;
		}
		p = json_value(p, depth + 1);
		if (!p)
			return NULL;
		p = json_ws(p);
		if (*p == close)
			return p + 1;
		if (*p++ != ',')
			return NULL;
	}
}

static const char *json_value(const char *p, int depth)
{
	if (depth > 32)
		return NULL;
	p = json_ws(p);
	switch (*p) {
	case '{':
		return json_list(p, '}', true, depth);
	case '[':
		return json_list(p, ']', false, depth);
	case '"':
		return json_string(p);
	case 't':
		return strncmp(p, "true", 4) ? NULL : p + 4;
	case 'f':
		return strncmp(p, "false", 5) ? NULL : p + 5;
	case 'n':
		return strncmp(p, "null", 4) ? NULL : p + 4;
	default:
		return json_number(p);
	}
}

static bool json_valid(const char *text)
{
	const char *end = json_value(text, 0);

	return end && *json_ws(end) == '\0';
}

START_TEST(json_checker_sanity)
{
	ck_assert(json_valid("{\"a\": [1, 2, {\"b\": null}], \"c\": \"x\\u0001\"}\n"));
	ck_assert(!json_valid("{\"a\": [1, 2,]}"));
	ck_assert(!json_valid("{\"a\" 1}"));
	ck_assert(!json_valid("{\"a\": \"line\nbreak\"}"));
	ck_assert(!json_valid("{\"a\": 1} x"));
	ck_assert(!json_valid("[01]"));
}
END_TEST

START_TEST(json_well_formed)
{
	struct stats s;
	struct stats_summary sum;
	struct vm_exit e = io_exit(0x3f8, 1, 1);
	u64 vals[] = { 1, 2, 3, 4, 5 };
	struct kvm_stat kst[] = {
		{ .name = "weird\"name\\\x01", .size = 1, .values = &vals[0] },
		{ .name = "hist", .size = 4, .values = &vals[1] },
	};
	struct kvm_stats kvm = { .id = "", .nr = 2, .stats = kst };
	struct kvm_stats empty = { .id = "", .nr = 0, .stats = NULL };
	char *text;

	ck_assert_int_eq(stats_init(&s, 3, &pio, &mmio), 0);
	stats_record(&s, 2, &e, bus_find(&pio, 0x3f8, 1), 9);
	ck_assert_int_eq(stats_summarize(&s, 1, &sum), 0);
	text = capture(stats_write_json, &sum, &kvm, &empty);
	ck_assert_msg(json_valid(text), "not JSON:\n%s", text);
	ck_assert_ptr_nonnull(strstr(text, "\"weird\\\"name\\\\\\u0001\": 1"));
	ck_assert_ptr_nonnull(strstr(text, "\"hist\": [2, 3, 4, 5]"));
	ck_assert_ptr_nonnull(strstr(text, "\"kvm_vm\": {}"));
	ck_assert_ptr_nonnull(strstr(text, "{\"vcpu\": 2, \"exits\": 1}"));
	free(text);
	text = capture(stats_write_json, &sum, NULL, NULL);
	ck_assert_msg(json_valid(text), "not JSON:\n%s", text);
	free(text);
	stats_summary_free(&sum);
	stats_destroy(&s);
}
END_TEST

static void print_no_note(const struct stats_summary *sum, const struct kvm_stats *a,
			  const struct kvm_stats *b, FILE *out)
{
	stats_print(sum, a, b, NULL, out);
}

static void print_with_note(const struct stats_summary *sum, const struct kvm_stats *a,
			    const struct kvm_stats *b, FILE *out)
{
	stats_print(sum, a, b, "not offered by this host (no KVM_CAP_BINARY_STATS_FD)", out);
}

static unsigned int count_lines_starting(const char *text, const char *prefix)
{
	unsigned int n = 0;

	for (const char *l = text; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL)
		n += !strncmp(l, prefix, strlen(prefix));
	return n;
}

START_TEST(text_report)
{
	struct stats s;
	struct stats_summary sum;
	struct bus b, none;
	u64 vals[] = { 4431, 0, 4676191, 0, 1, 0 };
	struct kvm_stat kst[] = {
		{ .name = "insn_emulation", .size = 1, .values = &vals[0] },
		{ .name = "pf_fixed", .size = 1, .values = &vals[1] },
		{ .name = "halt_wait_ns", .flags = KVM_STATS_UNIT_SECONDS, .exponent = -9,
		  .size = 1, .values = &vals[2] },
		{ .name = "halt_wait_hist", .flags = KVM_STATS_TYPE_LOG_HIST | KVM_STATS_UNIT_SECONDS,
		  .exponent = -9, .size = 3, .values = &vals[3] },
	};
	struct kvm_stats kvm = { .id = "", .nr = 4, .stats = kst };
	char *text;

	small_summary(&s, &sum, &b, &none);
	text = capture(print_no_note, &sum, &kvm, NULL);
	ck_assert_ptr_nonnull(strstr(text, "trapeze: statistics: 2 vCPUs, 0.123 s"));
	ck_assert_ptr_nonnull(strstr(text,
		"IO                                2          2          0.4      0.20\n"));
	ck_assert_ptr_nonnull(strstr(text,
		"MMIO                              1          4          0.1      0.05\n"));
	ck_assert_ptr_nonnull(strstr(text,
		"all                               4          6          0.5      0.12\n"));
	ck_assert_uint_eq(count_lines_starting(text, "SHUTDOWN"), 0);	/* zero rows hidden */
	ck_assert_uint_eq(count_lines_starting(text, "unclaimed           mmio"), 1);
	ck_assert_uint_eq(count_lines_starting(text, "unclaimed           pio"), 0);
	ck_assert_uint_eq(count_lines_starting(text, "serial \"A\""), 1);
	ck_assert_ptr_nonnull(strstr(text, "exits per vCPU: vcpu0 2 vcpu1 2\n"));
	ck_assert_ptr_nonnull(strstr(text, "KVM vCPU counters (KVM_GET_STATS_FD, summed over 2 vCPUs):\n"));
	ck_assert_ptr_nonnull(strstr(text, "  insn_emulation                             4431\n"));
	ck_assert_ptr_nonnull(strstr(text, "  halt_wait_ns                            4676191 ns\n"));
	ck_assert_ptr_nonnull(strstr(text, "  halt_wait_hist                                1 samples (histogram, 3 buckets)\n"));
	ck_assert_ptr_null(strstr(text, "pf_fixed"));
	ck_assert_ptr_nonnull(strstr(text, "(1 counters are zero; --stats-json lists them all)"));
	ck_assert_ptr_null(strstr(text, "KVM VM counters"));
	ck_assert_ptr_null(strstr(text, "KVM counters:"));
	free(text);

	text = capture(print_with_note, &sum, NULL, NULL);
	ck_assert_ptr_null(strstr(text, "KVM vCPU counters"));
	ck_assert_ptr_nonnull(strstr(text,
		"KVM counters: not offered by this host (no KVM_CAP_BINARY_STATS_FD)\n"));
	free(text);
	stats_summary_free(&sum);
	stats_destroy(&s);
	bus_destroy(&b);
	bus_destroy(&none);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("stats");
	TCase *tc = tcase_create("stats");

	tcase_add_checked_fixture(tc, setup_buses, teardown_buses);
	tcase_add_test(tc, init_layout);
	tcase_add_test(tc, merge_over_vcpus);
	tcase_add_test(tc, foreign_range_is_unclaimed);
	tcase_add_test(tc, concurrent_vcpus_lose_nothing);
	tcase_add_test(tc, json_exact);
	tcase_add_test(tc, json_checker_sanity);
	tcase_add_test(tc, json_well_formed);
	tcase_add_test(tc, text_report);
	suite_add_tcase(s, tc);
	return check_run(s);
}

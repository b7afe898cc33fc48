/*
 * Exit tracing: the --trace filter, the line formatter and the writer.
 * Nothing here touches KVM: the caller hands in the decoded exit, the
 * device name the bus resolved and the guest RIP, so every line shape is
 * unit-tested without a VM.
 */
#include <errno.h>
#include <linux/kvm.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "trapeze/errmsg.h"
#include "trapeze/debug/trace.h"

#define TRACE_STRING_IO_BYTES	32	/* bytes of a size-1 string I/O shown */
#define TRACE_STRING_IO_ITEMS	8	/* items of a wider string I/O shown */

static const struct {
	const char *name;
	u32 bit;
} trace_classes[] = {
	{ "io", TRACE_IO },
	{ "mmio", TRACE_MMIO },
	{ "hlt", TRACE_HLT },
	{ "irq", TRACE_IRQ },
	{ "debug", TRACE_DEBUG },
};

#define TRACE_SPEC_HELP "classes io, mmio, hlt, irq, debug, all; filter dev=NAME"

/* One comma-separated item of a SPEC: item[0..len). */
static int trace_filter_item(struct trace_filter *f, const char *item, size_t len,
			     char *err, size_t err_len)
{
	if (len == 0)
		return errmsg_invalid(err, err_len, "--trace: empty item in the list (%s)",
				   TRACE_SPEC_HELP);
	if (len > 4 && !strncmp(item, "dev=", 4)) {
		if (f->nr_devs == TRACE_DEV_MAX)
			return errmsg_invalid(err, err_len, "--trace: more than %d dev= filters",
					   TRACE_DEV_MAX);
		if (len - 4 >= TRACE_DEV_NAME_MAX)
			return errmsg_invalid(err, err_len,
					   "--trace: device name '%.*s' is too long (at most %d characters)",
					   (int)(len - 4), item + 4, TRACE_DEV_NAME_MAX - 1);
		memcpy(f->devs[f->nr_devs], item + 4, len - 4);
		f->devs[f->nr_devs++][len - 4] = '\0';
		return 0;
	}
	if (len == 3 && !strncmp(item, "all", 3)) {
		f->classes |= TRACE_ALL;
		return 0;
	}
	for (size_t i = 0; i < ARRAY_SIZE(trace_classes); i++) {
		if (strlen(trace_classes[i].name) == len &&
		    !strncmp(item, trace_classes[i].name, len)) {
			f->classes |= trace_classes[i].bit;
			return 0;
		}
	}
	if (len == 4 && !strncmp(item, "dev=", 4))
		return errmsg_invalid(err, err_len, "--trace: dev= needs a device name, e.g. dev=serial");
	return errmsg_invalid(err, err_len, "--trace: unknown item '%.*s' (%s)", (int)len, item,
			   TRACE_SPEC_HELP);
}

int trace_filter_parse(struct trace_filter *f, const char *spec, char *err,
		       size_t err_len)
{
	memset(f, 0, sizeof(*f));
	if (!spec) {
		f->classes = TRACE_ALL;
		return 0;
	}
	if (!*spec)
		return errmsg_invalid(err, err_len, "--trace: empty list (%s)", TRACE_SPEC_HELP);
	for (const char *p = spec;; p++) {
		size_t len = strcspn(p, ",");
		int r = trace_filter_item(f, p, len, err, err_len);

		if (r) {
			memset(f, 0, sizeof(*f));
			return r;
		}
		p += len;
		if (!*p)
			break;
	}
	/* Only device filters: they speak of port I/O and MMIO. */
	if (!f->classes)
		f->classes = TRACE_IO | TRACE_MMIO;
	f->classes |= TRACE_END;
	return 0;
}

void trace_filter_describe(const struct trace_filter *f, char *buf, size_t len)
{
	size_t at = 0;

	if (!len)
		return;
	buf[0] = '\0';
	if ((f->classes & TRACE_ALL) == TRACE_ALL) {
		at += snprintf(buf, len, "all");
	} else {
		for (size_t i = 0; i < ARRAY_SIZE(trace_classes) && at < len; i++)
			if (f->classes & trace_classes[i].bit)
				at += snprintf(buf + at, len - at, "%s%s", at ? "," : "",
					       trace_classes[i].name);
	}
	for (unsigned int i = 0; i < f->nr_devs && at < len; i++)
		at += snprintf(buf + at, len - at, "%sdev=%s", at ? "," : "", f->devs[i]);
}

u32 trace_class_of(const struct vm_exit *e)
{
	switch (e->kind) {
	case VM_EXIT_IO:
		return TRACE_IO;
	case VM_EXIT_MMIO:
		return TRACE_MMIO;
	case VM_EXIT_HLT:
		return TRACE_HLT;
	case VM_EXIT_INTR:
		return TRACE_IRQ;
	case VM_EXIT_DEBUG:
		return TRACE_DEBUG;
	case VM_EXIT_UNKNOWN:
		break;
	default:
		return TRACE_END;
	}
	switch (e->reason) {
	case KVM_EXIT_IRQ_WINDOW_OPEN:
	case KVM_EXIT_SET_TPR:
	case KVM_EXIT_TPR_ACCESS:
	case KVM_EXIT_NMI:
	case KVM_EXIT_IOAPIC_EOI:
		return TRACE_IRQ;
	case KVM_EXIT_EXCEPTION:
		return TRACE_DEBUG;
	}
	return TRACE_END;
}

bool trace_filter_match(const struct trace_filter *f, const struct vm_exit *e,
			const char *dev)
{
	u32 c = trace_class_of(e);

	if (!(f->classes & c))
		return false;
	if (!(c & (TRACE_IO | TRACE_MMIO)) || !f->nr_devs)
		return true;
	if (!dev)
		dev = "unclaimed";
	for (unsigned int i = 0; i < f->nr_devs; i++)
		if (!strncasecmp(dev, f->devs[i], strlen(f->devs[i])))
			return true;
	return false;
}

bool trace_after_handling(const struct vm_exit *e)
{
	return e->kind == VM_EXIT_IO || e->kind == VM_EXIT_MMIO;
}

const char *trace_reason_name(u32 reason)
{
	static const char *const names[] = {
		[KVM_EXIT_UNKNOWN] = "UNKNOWN",
		[KVM_EXIT_EXCEPTION] = "EXCEPTION",
		[KVM_EXIT_IO] = "IO",
		[KVM_EXIT_HYPERCALL] = "HYPERCALL",
		[KVM_EXIT_DEBUG] = "DEBUG",
		[KVM_EXIT_HLT] = "HLT",
		[KVM_EXIT_MMIO] = "MMIO",
		[KVM_EXIT_IRQ_WINDOW_OPEN] = "IRQ_WINDOW_OPEN",
		[KVM_EXIT_SHUTDOWN] = "SHUTDOWN",
		[KVM_EXIT_FAIL_ENTRY] = "FAIL_ENTRY",
		[KVM_EXIT_INTR] = "INTR",
		[KVM_EXIT_SET_TPR] = "SET_TPR",
		[KVM_EXIT_TPR_ACCESS] = "TPR_ACCESS",
		[KVM_EXIT_NMI] = "NMI",
		[KVM_EXIT_INTERNAL_ERROR] = "INTERNAL_ERROR",
		[KVM_EXIT_WATCHDOG] = "WATCHDOG",
		[KVM_EXIT_EPR] = "EPR",
		[KVM_EXIT_SYSTEM_EVENT] = "SYSTEM_EVENT",
		[KVM_EXIT_IOAPIC_EOI] = "IOAPIC_EOI",
		[KVM_EXIT_HYPERV] = "HYPERV",
		[KVM_EXIT_X86_RDMSR] = "X86_RDMSR",
		[KVM_EXIT_X86_WRMSR] = "X86_WRMSR",
		[KVM_EXIT_DIRTY_RING_FULL] = "DIRTY_RING_FULL",
		[KVM_EXIT_AP_RESET_HOLD] = "AP_RESET_HOLD",
		[KVM_EXIT_X86_BUS_LOCK] = "X86_BUS_LOCK",
#ifdef KVM_EXIT_XEN
		[KVM_EXIT_XEN] = "XEN",
#endif
#ifdef KVM_EXIT_NOTIFY
		[KVM_EXIT_NOTIFY] = "NOTIFY",
#endif
#ifdef KVM_EXIT_MEMORY_FAULT
		[KVM_EXIT_MEMORY_FAULT] = "MEMORY_FAULT",
#endif
	};

	if (reason < ARRAY_SIZE(names) && names[reason])
		return names[reason];
	return "?";
}

static const char *trace_system_event_name(u32 type)
{
	switch (type) {
	case KVM_SYSTEM_EVENT_SHUTDOWN:
		return "shutdown";
	case KVM_SYSTEM_EVENT_RESET:
		return "reset";
	case KVM_SYSTEM_EVENT_CRASH:
		return "crash";
#ifdef KVM_SYSTEM_EVENT_WAKEUP
	case KVM_SYSTEM_EVENT_WAKEUP:
		return "wakeup";
#endif
#ifdef KVM_SYSTEM_EVENT_SUSPEND
	case KVM_SYSTEM_EVENT_SUSPEND:
		return "suspend";
#endif
#ifdef KVM_SYSTEM_EVENT_SEV_TERM
	case KVM_SYSTEM_EVENT_SEV_TERM:
		return "SEV termination";
#endif
	}
	return "unknown";
}

/* A line being built: appends never overflow, and remember that they were cut. */
struct trace_buf {
	char *p;
	size_t len;
	size_t at;
	bool cut;
};

__attribute__((format(printf, 2, 3)))
static void tb_add(struct trace_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (b->cut)
		return;
	va_start(ap, fmt);
	n = vsnprintf(b->p + b->at, b->len - b->at, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= b->len - b->at) {
		b->cut = true;
		b->at = b->len - 1;
		return;
	}
	b->at += (size_t)n;
}

/* Little-endian value of len (1..8) bytes. */
static u64 trace_le(const u8 *data, u32 len)
{
	u64 v = 0;

	for (u32 i = len; i-- > 0;)
		v = v << 8 | data[i];
	return v;
}

/* Bytes as a C string literal, for what a guest writes to a UART. */
static void tb_add_quoted(struct trace_buf *b, const u8 *data, u32 n)
{
	tb_add(b, "\"");
	for (u32 i = 0; i < n; i++) {
		u8 c = data[i];

		if (c == '\n')
			tb_add(b, "\\n");
		else if (c == '\r')
			tb_add(b, "\\r");
		else if (c == '\t')
			tb_add(b, "\\t");
		else if (c == '"' || c == '\\')
			tb_add(b, "\\%c", c);
		else if (c >= 0x20 && c < 0x7f)
			tb_add(b, "%c", c);
		else
			tb_add(b, "\\x%02x", c);
	}
	tb_add(b, "\"");
}

static void trace_format_io(struct trace_buf *b, const struct vm_exit_io *io,
			    const char *dev)
{
	tb_add(b, "%s port=0x%x size=%u", io->in ? "in" : "out", io->port, io->size);
	if (io->count == 1) {
		u64 v = trace_le(io->data, io->size);

		tb_add(b, " data=0x%0*llx", io->size * 2, (unsigned long long)v);
		if (!io->in && io->size == 1 && v >= 0x20 && v < 0x7f)
			tb_add(b, " '%c'", (int)v);
	} else if (io->size == 1) {
		/* String I/O: the port stays, the data advances (rep insb/outsb). */
		u32 n = io->count < TRACE_STRING_IO_BYTES ? io->count : TRACE_STRING_IO_BYTES;

		tb_add(b, " count=%u data=", io->count);
		tb_add_quoted(b, io->data, n);
		if (n < io->count)
			tb_add(b, "...");
	} else {
		u32 n = io->count < TRACE_STRING_IO_ITEMS ? io->count : TRACE_STRING_IO_ITEMS;

		tb_add(b, " count=%u data=", io->count);
		for (u32 i = 0; i < n; i++)
			tb_add(b, "%s0x%0*llx", i ? "," : "", io->size * 2,
			       (unsigned long long)trace_le(io->data + i * io->size, io->size));
		if (n < io->count)
			tb_add(b, ",...");
	}
	tb_add(b, " dev=%s", dev ? dev : "unclaimed");
}

static void trace_format_mmio(struct trace_buf *b, const struct vm_exit_mmio *m,
			      const char *dev)
{
	u32 len = m->len <= 8 ? m->len : 8;	/* decode guarantees 1..8 */

	tb_add(b, "%s addr=0x%llx len=%u data=0x%0*llx dev=%s", m->write ? "write" : "read",
	       (unsigned long long)m->addr, m->len, (int)len * 2,
	       (unsigned long long)trace_le(m->data, len), dev ? dev : "unclaimed");
}

static void tb_add_data(struct trace_buf *b, const u64 *data, u32 ndata)
{
	for (u32 i = 0; i < ndata; i++)
		tb_add(b, "%s0x%llx", i ? "," : " data=", (unsigned long long)data[i]);
}

static void trace_format_details(struct trace_buf *b, const struct vm_exit *e,
				 const char *dev)
{
	switch (e->kind) {
	case VM_EXIT_IO:
		trace_format_io(b, &e->io, dev);
		break;
	case VM_EXIT_MMIO:
		trace_format_mmio(b, &e->mmio, dev);
		break;
	case VM_EXIT_HLT:
		tb_add(b, "guest executed HLT");
		break;
	case VM_EXIT_INTR:
		tb_add(b, "KVM_RUN interrupted by a signal");
		break;
	case VM_EXIT_SHUTDOWN:
		tb_add(b, "triple fault");
		break;
	case VM_EXIT_FAIL_ENTRY:
		tb_add(b, "hardware_entry_failure_reason=0x%llx cpu=%u",
		       (unsigned long long)e->fail_entry.reason, e->fail_entry.cpu);
		break;
	case VM_EXIT_INTERNAL_ERROR:
		tb_add(b, "suberror=%u (%s)", e->internal.suberror,
		       exit_internal_suberror_name(e->internal.suberror));
		tb_add_data(b, e->internal.data, e->internal.ndata);
		break;
	case VM_EXIT_SYSTEM_EVENT:
		tb_add(b, "type=%u (%s)", e->system_event.type,
		       trace_system_event_name(e->system_event.type));
		tb_add_data(b, e->system_event.data, e->system_event.ndata);
		break;
	case VM_EXIT_DEBUG:
		tb_add(b, "exception=%u pc=0x%llx dr6=0x%llx dr7=0x%llx", e->debug.exception,
		       (unsigned long long)e->debug.pc, (unsigned long long)e->debug.dr6,
		       (unsigned long long)e->debug.dr7);
		break;
	case VM_EXIT_UNKNOWN:
		tb_add(b, "reason=%u", e->reason);
		break;
	}
}

size_t trace_format(char *buf, size_t len, const struct trace_event *ev)
{
	struct trace_buf b = { .p = buf, .len = len };
	const struct vm_exit *e = ev->e;
	const char *kind = exit_kind_name(e->kind);

	if (len < 2) {
		if (len)
			buf[0] = '\0';
		return 0;
	}
	/* An exit exit.c does not decode still has a name worth showing. */
	if (e->kind == VM_EXIT_UNKNOWN && strcmp(trace_reason_name(e->reason), "?"))
		kind = trace_reason_name(e->reason);
	tb_add(&b, "vcpu%u t=%8llu.%03lluus %-14s ", ev->vcpu,
	       (unsigned long long)(ev->t_ns / 1000), (unsigned long long)(ev->t_ns % 1000), kind);
	if (ev->has_rip)
		tb_add(&b, "rip=0x%llx ", (unsigned long long)ev->rip);
	else
		tb_add(&b, "rip=? ");
	trace_format_details(&b, e, ev->dev);
	if (ev->note)
		tb_add(&b, " (%s)", ev->note);
	tb_add(&b, "\n");
	if (b.cut) {
		/* Keep the line a line: end it in "...\n" within len. */
		size_t tail = len >= 5 ? 4 : 1;

		memcpy(buf + len - 1 - tail, tail == 4 ? "...\n" : "\n", tail);
		buf[len - 1] = '\0';
		return len - 1;
	}
	return b.at;
}

void trace_init(struct trace *t, const struct trace_filter *f, int fd)
{
	t->filter = *f;
	t->fd = fd;
}

/* One write(2) for the whole line; only a signal before any byte went out repeats it. */
static int trace_write_line(int fd, const char *line, size_t n)
{
	while (n) {
		ssize_t w = write(fd, line, n);

		if (w < 0 && errno == EINTR)
			continue;	/* vCPU threads take kick signals */
		if (w < 0)
			return -errno;
		line += w;
		n -= (size_t)w;
	}
	return 0;
}

int trace_write_header(const struct trace *t, bool has_rip)
{
	char spec[TRACE_LINE_MAX / 2], line[TRACE_LINE_MAX];
	int n;

	trace_filter_describe(&t->filter, spec, sizeof(spec));
	n = snprintf(line, sizeof(line),
		     "# trapeze trace (%s): vCPU, time since the VM started, exit, guest RIP%s, details\n",
		     spec, has_rip ? "" : " (not available)");
	if (n < 0)
		return -EINVAL;
	return trace_write_line(t->fd, line, (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1);
}

int trace_write(const struct trace *t, const struct trace_event *ev)
{
	char line[TRACE_LINE_MAX];
	size_t n = trace_format(line, sizeof(line), ev);

	return trace_write_line(t->fd, line, n);
}

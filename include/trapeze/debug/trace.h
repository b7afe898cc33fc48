/*
 * trace: one line per VM exit (--trace[=SPEC], docs/tracing.md).
 *
 * SPEC is a comma list of classes and device filters:
 *   io      KVM_EXIT_IO            port I/O
 *   mmio    KVM_EXIT_MMIO          memory-mapped I/O
 *   hlt     KVM_EXIT_HLT
 *   irq     KVM_EXIT_INTR (a vCPU kicked out of KVM_RUN by a signal) and the
 *           interrupt-window, TPR, NMI-window and IOAPIC-EOI exits
 *   debug   KVM_EXIT_DEBUG, KVM_EXIT_EXCEPTION
 *   all     every class (the default)
 *   dev=NAME  only port I/O and MMIO to devices whose name starts with NAME
 *           (case-insensitive; "unclaimed" matches accesses nobody claims).
 *           Up to TRACE_DEV_MAX of them, any may match. Exits without a
 *           device (hlt, irq, debug) are not affected; a SPEC with dev= and
 *           no class traces io and mmio.
 * Exits that end the VM (SHUTDOWN, FAIL_ENTRY, INTERNAL_ERROR, SYSTEM_EVENT
 * and reasons trapeze does not handle) are always traced: there is at most
 * one per vCPU, and it says why the VM ended.
 *
 * A line (trace_format):
 *   vcpu0 t=     812.250us IO             rip=0x100c3e out port=0x3f8 size=1 data=0x48 'H' dev=serial (COM1)
 * Writing (trace_write) formats into a local buffer and issues one write(2)
 * per line, so lines from several vCPU threads never interleave: a write of
 * less than PIPE_BUF bytes to a pipe is atomic, and a file is opened with
 * O_APPEND. The module holds no lock and no mutable shared state.
 */
#ifndef TRAPEZE_DEBUG_TRACE_H
#define TRAPEZE_DEBUG_TRACE_H

#include "trapeze/exit.h"
#include "trapeze/types.h"

#define TRACE_IO	(1u << 0)
#define TRACE_MMIO	(1u << 1)
#define TRACE_HLT	(1u << 2)
#define TRACE_IRQ	(1u << 3)
#define TRACE_DEBUG	(1u << 4)
#define TRACE_END	(1u << 5)	/* exits that end the VM: always on */
#define TRACE_ALL	(TRACE_IO | TRACE_MMIO | TRACE_HLT | TRACE_IRQ | TRACE_DEBUG | TRACE_END)

#define TRACE_DEV_MAX		8
#define TRACE_DEV_NAME_MAX	32	/* including the NUL */

/* A trace line is at most this long (below PIPE_BUF, so one write is atomic). */
#define TRACE_LINE_MAX		512

struct trace_filter {
	u32 classes;		/* TRACE_* bits; TRACE_END always set */
	unsigned int nr_devs;
	char devs[TRACE_DEV_MAX][TRACE_DEV_NAME_MAX];
};

/*
 * Parses SPEC (see above) into f. NULL means "all". 0, or -EINVAL with one
 * line in err naming the bad item and listing the valid ones.
 */
int trace_filter_parse(struct trace_filter *f, const char *spec, char *err,
		       size_t err_len);

/* Writes the filter back as a SPEC ("io,mmio,dev=serial") into buf. */
void trace_filter_describe(const struct trace_filter *f, char *buf, size_t len);

/* The TRACE_* class of an exit. */
u32 trace_class_of(const struct vm_exit *e);

/*
 * True when an exit should be traced. dev is the name of the device a port
 * I/O or MMIO exit reaches ("unclaimed" when none), NULL for other exits.
 */
bool trace_filter_match(const struct trace_filter *f, const struct vm_exit *e,
			const char *dev);

/*
 * True for exits best traced after trapeze handled them: port I/O and MMIO,
 * whose read data exists only then. Others are traced before handling, so
 * their line comes before any message the handling prints.
 */
bool trace_after_handling(const struct vm_exit *e);

/* What one trace line says. */
struct trace_event {
	unsigned int vcpu;
	u64 t_ns;		/* since the VM started */
	bool has_rip;
	u64 rip;		/* guest RIP as KVM reports it at this exit */
	const struct vm_exit *e;
	const char *dev;	/* as for trace_filter_match */
	const char *note;	/* optional text appended in parentheses, or NULL */
};

/*
 * Formats ev as one line ending in '\n' into buf (len >= 2). Returns the
 * length written; a line longer than len is cut and ends in "...\n".
 */
size_t trace_format(char *buf, size_t len, const struct trace_event *ev);

/* Name of a raw KVM_EXIT_* reason ("X86_RDMSR"), or "?" when unknown. */
const char *trace_reason_name(u32 reason);

struct trace {
	struct trace_filter filter;
	int fd;			/* not owned: the caller closes it */
};

void trace_init(struct trace *t, const struct trace_filter *f, int fd);

/* Writes a '#' comment line describing the columns and the filter. 0 or -errno. */
int trace_write_header(const struct trace *t, bool has_rip);

/* Formats ev and writes it with one write(2) (retried only after EINTR). 0 or -errno. */
int trace_write(const struct trace *t, const struct trace_event *ev);

#endif

/*
 * observe: the hooks --trace and --stats put on the exit path, in one place,
 * so that the vCPU loop carries a single pointer test when both are off:
 *
 *	if (vm->observe) {			// NULL unless --trace/--stats
 *		observe_exit_begin(vm->observe, vcpu, &e, &x);
 *		stop = dispatch(vcpu, &e);
 *		observe_exit_end(vm->observe, vcpu, &e, &x);
 *	}
 *
 * Tracing reads the guest RIP of each traced exit. Where KVM offers
 * KVM_CAP_SYNC_REGS, it is asked to copy the registers into kvm_run at every
 * exit (kvm_valid_regs = KVM_SYNC_X86_REGS), which costs next to nothing;
 * otherwise each traced line costs one KVM_GET_REGS ioctl (on kvm_pvm that
 * doubles the cost of a port I/O exit: docs/tracing.md).
 *
 * Thread-safety: the begin/end/kick hooks run on vCPU threads at the same
 * time; they write only per-vCPU counters and whole trace lines.
 * observe_report() runs after every vCPU thread was joined.
 */
#ifndef TRAPEZE_DEBUG_OBSERVE_H
#define TRAPEZE_DEBUG_OBSERVE_H

#include "trapeze/debug/stats.h"
#include "trapeze/debug/trace.h"
#include "trapeze/types.h"

struct vm;
struct vcpu;

struct observe {
	struct vm *vm;
	u64 start_ns;		/* CLOCK_MONOTONIC when the VM was about to start */
	bool sync_rip;		/* RIP arrives in kvm_run (KVM_CAP_SYNC_REGS) */
	bool tracing;
	struct trace trace;
	int trace_fd;		/* trace.fd; closed here only when trace_fd_owned */
	bool trace_fd_owned;
	bool counting;		/* --stats or --stats-json */
	struct stats stats;
	int json_fd;		/* --stats-json, or -1 */
	bool json_fd_owned;
};

/* What observe_exit_begin hands to observe_exit_end, on the vCPU's stack. */
struct observe_exit {
	const struct bus_range *range;	/* device of a port I/O or MMIO exit, or NULL */
	u64 t0;				/* when the handling began (counting only) */
};

/*
 * Sets up what vm->cfg asks for (--trace, --trace-file, --stats,
 * --stats-json) once the VM and its vCPUs exist, before they run. *out is
 * NULL when nothing was asked. 0, or -errno with one line in err (a trace
 * or JSON file that cannot be opened).
 */
int observe_create(struct observe **out, struct vm *vm, char *err, size_t err_len);

/* Closes the files and frees o (NULL is fine). */
void observe_destroy(struct observe *o);

void observe_exit_begin(struct observe *o, struct vcpu *vcpu, const struct vm_exit *e,
			struct observe_exit *x);
void observe_exit_end(struct observe *o, struct vcpu *vcpu, const struct vm_exit *e,
		      const struct observe_exit *x);

/* KVM_RUN returned EINTR (a kick): traced and counted as KVM_EXIT_INTR. */
void observe_kick(struct observe *o, struct vcpu *vcpu);

/*
 * After the vCPU threads ended: prints the statistics on stderr (--stats)
 * and writes the JSON file (--stats-json), with KVM's counters read from
 * the vCPU and VM stats fds. Problems are reported on stderr; the VM's exit
 * status is not changed by them.
 */
void observe_report(struct observe *o);

#endif

/*
 * status: trapeze's exit statuses. Odd values belong to the guest's
 * debug-exit port (V << 1 | 1, the isa-debug-exit convention); trapeze's own
 * outcomes are even. Documented in README.md and `trapeze run --help`.
 */
#ifndef TRAPEZE_STATUS_H
#define TRAPEZE_STATUS_H

enum trapeze_status {
	STATUS_POWEROFF = 0,	/* guest powered off (ACPI S5 / PM1a SLP_EN) */
	STATUS_REBOOT = 2,	/* guest asked for a reset (i8042 0xFE, ACPI reset) */
	STATUS_TRIPLE_FAULT = 4,/* KVM_EXIT_SHUTDOWN: triple fault */
	STATUS_GUEST_ERROR = 6,	/* entry failure, internal error, unhandled exit */
	STATUS_TIMEOUT = 8,	/* --timeout expired */
	STATUS_STOPPED = 10,	/* stopped by the user (Ctrl-A x) or a signal */
	STATUS_USAGE = 64,	/* bad option, bad image, KVM missing: nothing ran */
	STATUS_VMM_ERROR = 70,	/* trapeze itself failed while running */
};

/* The exit status for a debug-exit write of value v: (v << 1) | 1, in 8 bits. */
static inline int status_from_debug_exit(unsigned int v)
{
	return (int)(((v << 1) | 1) & 0xff);
}

#endif

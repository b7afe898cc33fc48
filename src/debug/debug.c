/*
 * The debugger hooks of the vCPU loop: --step or --gdb, behind vm->debug.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "trapeze/config.h"
#include "trapeze/debug/debug.h"
#include "trapeze/debug/gdbstub.h"
#include "trapeze/debug/step.h"
#include "trapeze/vm.h"

bool debug_reads_stdin(const struct vm_config *cfg)
{
	return cfg->step && !cfg->step_script;
}

int debug_create(struct debug **out, struct vm *vm, char *err, size_t err_len)
{
	const struct vm_config *cfg = vm->cfg;
	struct debug *d;
	int r;

	*out = NULL;
	if (!cfg->step && !cfg->gdb)
		return 0;
	d = calloc(1, sizeof(*d));
	if (!d) {
		snprintf(err, err_len, "cannot set up the debugger: %s", strerror(ENOMEM));
		return -ENOMEM;
	}
	d->vm = vm;
	/* gdb finds the guest stopped when it connects; --step stops it at vCPU 0's first instruction. */
	r = pause_init(&d->pause, vm, cfg->gdb != NULL);
	if (r) {
		snprintf(err, err_len, "cannot set up the debugger: %s", strerror(-r));
		free(d);
		return r;
	}
	if (cfg->step)
		r = step_create(&d->step, vm, &d->pause, err, err_len);
	else
		r = gdbstub_create(&d->gdb, vm, &d->pause, err, err_len);
	if (r) {
		debug_destroy(d);
		return r;
	}
	*out = d;
	return 0;
}

void debug_destroy(struct debug *d)
{
	if (!d)
		return;
	step_destroy(d->step);
	gdbstub_destroy(d->gdb);
	pause_destroy(&d->pause);
	free(d);
}

bool debug_pause_point(struct debug *d, struct vcpu *vcpu)
{
	if (d->step)
		return step_pause_point(d->step, vcpu);
	if (pause_pending(&d->pause))
		return pause_park(&d->pause, vcpu);
	return false;
}

void debug_after_exit(struct debug *d, struct vcpu *vcpu, const struct vm_exit *e)
{
	if (d->step)
		step_after_exit(d->step, vcpu, e);
	else if (d->gdb)
		gdbstub_after_exit(d->gdb, vcpu, e);
}

/*
 * The GDB stub stopping and resuming the guest: stop replies, vCont, c and
 * s, single-step refusals where the host cannot step.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>

#include "gdbstub_priv.h"
#include "trapeze/debug/pause.h"
#include "trapeze/vcpu.h"
#include "trapeze/vm.h"

#define GDB_SIGTRAP	5
#define GDB_SIGINT	2

static void gdb_drain_events(struct gdbstub *g)
{
	u64 v;

	while (read(g->event_fd, &v, sizeof(v)) == sizeof(v))
		;
}

/* Stops the world after an event or an interrupt and tells gdb why. */
void gdb_stop(struct gdbstub *g)
{
	enum gdb_event_kind ev;
	unsigned int vcpu;
	u64 addr;
	int n;

	if (pause_world(g->pause, NULL))
		return;		/* the VM is ending: the session loop says so */
	g->running = false;
	gdb_bp_unplant(g);	/* memory reads show the guest's own bytes */
	gdb_drain_events(g);
	pthread_mutex_lock(&g->lock);
	ev = g->ev;
	vcpu = g->ev_vcpu;
	addr = g->ev_addr;
	g->ev = GDB_EV_NONE;
	pthread_mutex_unlock(&g->lock);
	for (unsigned int i = 0; i < g->vm->nr_vcpus; i++)
		g->stepping[i] = false;
	if (ev == GDB_EV_NONE) {
		/* Ctrl-C: report the vCPU gdb was looking at. */
		n = snprintf(g->stop_reply, sizeof(g->stop_reply), "T%02xthread:%x;", GDB_SIGINT,
			     g->g_vcpu + 1);
	} else {
		g->g_vcpu = vcpu;
		n = snprintf(g->stop_reply, sizeof(g->stop_reply), "T%02xthread:%x;", GDB_SIGTRAP,
			     vcpu + 1);
		if (ev == GDB_EV_SWBREAK)
			snprintf(g->stop_reply + n, sizeof(g->stop_reply) - n, "swbreak:;");
		else if (ev == GDB_EV_HWBREAK)
			snprintf(g->stop_reply + n, sizeof(g->stop_reply) - n, "hwbreak:;");
		else if (ev == GDB_EV_WATCH)
			snprintf(g->stop_reply + n, sizeof(g->stop_reply) - n, "watch:%llx;",
				 (unsigned long long)addr);
		else if (ev == GDB_EV_AWATCH)
			snprintf(g->stop_reply + n, sizeof(g->stop_reply) - n, "awatch:%llx;",
				 (unsigned long long)addr);
	}
	gdb_send_str(g, g->stop_reply);
}

/*
 * Resumes with act[i] for vCPU i: 0 (stays stopped), 'c' or 's'. Replies
 * with an error (and why, on gdb's console) when the host cannot do it.
 */
static void gdb_resume(struct gdbstub *g, const char *act)
{
	const struct vcpu *only = NULL;
	unsigned int nr_act = 0;
	int r;

	for (unsigned int i = 0; i < g->vm->nr_vcpus; i++) {
		g->stepping[i] = act[i] == 's';
		if (!act[i])
			continue;
		nr_act++;
		only = &g->vm->vcpus[i];
		if (g->stepping[i] && g->software && gdb_target_cpl(g, i) == 3) {
			gdb_say(g, "single-step at CPL 3 is not supported by this host's KVM "
				"(kvm_pvm, a software backend, runs CPL-3 guest code natively and "
				"it never traps); use breakpoints in CPL-0 code, or continue\n");
			g->stepping[i] = false;
			gdb_send_error(g, EPERM);
			return;
		}
	}
	if (!nr_act) {
		gdb_send_error(g, EINVAL);
		return;
	}
	for (unsigned int i = 0; i < g->vm->nr_vcpus; i++) {
		struct kvm_regs regs;

		if (g->stepping[i] && ioctl(g->vm->vcpus[i].fd, KVM_GET_REGS, &regs) == 0)
			g->step_rip[i] = regs.rip;
	}
	r = gdb_target_arm(g);
	if (r) {
		gdb_say(g, "this host's KVM refused the debug state (KVM_SET_GUEST_DEBUG: %s): "
			"single-step and breakpoints are not supported here\n", strerror(-r));
		gdb_send_error(g, r);
		return;
	}
	gdb_bp_plant(g);
	pthread_mutex_lock(&g->lock);
	g->ev = GDB_EV_NONE;
	pthread_mutex_unlock(&g->lock);
	g->running = true;
	/* One vCPU acting alone ("vCont;s:1"): the others stay stopped. */
	pause_resume(g->pause, nr_act == 1 && g->vm->nr_vcpus > 1 ? only : NULL);
}

/* c/s [ADDR], C/S SIG[;ADDR]: all vCPUs, the current one stepping for s. */
void gdb_cont_or_step(struct gdbstub *g, char op, const char *args)
{
	char act[256] = { 0 };
	u64 v;

	if (op == 'C' || op == 'S') {
		/* A signal for the guest: guests have none; skip it. */
		if (gdb_parse_hex(&args, &v)) {
			gdb_send_error(g, EINVAL);
			return;
		}
		if (*args == ';')
			args++;
		op = (char)(op - 'A' + 'a');
	}
	if (*args) {
		struct gdb_x86_regs r;

		if (gdb_parse_hex(&args, &v) || *args || gdb_target_get_regs(g, g->g_vcpu, &r)) {
			gdb_send_error(g, EINVAL);
			return;
		}
		r.rip = v;
		gdb_target_set_regs(g, g->g_vcpu, &r);
	}
	if (op == 's') {
		act[g->g_vcpu] = 's';
	} else {
		for (unsigned int i = 0; i < g->vm->nr_vcpus; i++)
			act[i] = 'c';
	}
	gdb_resume(g, act);
}

void gdb_vcont(struct gdbstub *g, const char *args)
{
	struct gdb_vcont_action a[GDB_VCONT_MAX];
	char act[256] = { 0 };
	int n = gdb_parse_vcont(args, a, GDB_VCONT_MAX);

	if (n < 0) {
		gdb_send_error(g, EINVAL);
		return;
	}
	/* The first action that applies to a thread wins (the GDB manual, vCont). */
	for (unsigned int i = 0; i < g->vm->nr_vcpus; i++)
		for (int k = 0; k < n && !act[i]; k++)
			if (a[k].tid == -1 || a[k].tid == 0 || a[k].tid == (long)i + 1)
				act[i] = a[k].action;
	gdb_resume(g, act);
}

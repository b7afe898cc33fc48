/*
 * --step: stop at chosen exits, read commands, single-step the guest.
 * See debug/step.h for the behaviour and docs/debugging.md for a tour.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "trapeze/debug/inspect.h"
#include "trapeze/debug/pause.h"
#include "trapeze/debug/step.h"
#include "trapeze/debug/step_cmd.h"
#include "trapeze/debug/trace.h"
#include "trapeze/status.h"
#include "trapeze/vcpu.h"
#include "trapeze/vm.h"

#define STEP_POLL_MS	100	/* input waits are sliced so a VM stop is seen */
#define STEP_INBUF	1024
#define STEP_CODE_BYTES	16	/* instruction bytes shown at a stop */
#define DR6_BS		(1ull << 14)	/* single-step trap (SDM 3B 17.2.3) */
#define DB_VECTOR	1

enum step_mode {
	STEP_MODE_OFF,		/* input ended: run on, never stop again */
	STEP_MODE_CHOSEN,	/* stop at exits the SPEC chose */
	STEP_MODE_ANY,		/* stop at the next exit of any class */
	STEP_MODE_SINGLE,	/* one vCPU single-steps, the others are held */
};

enum step_why {
	STEP_STOP_START,	/* before the first instruction */
	STEP_STOP_EXIT,		/* at an exit */
	STEP_STOP_STEP,		/* a single-step finished */
};

/* What the prompt decided. */
enum step_action {
	STEP_ACT_CONTINUE,
	STEP_ACT_NEXT,
	STEP_ACT_STEP,
	STEP_ACT_QUIT,
	STEP_ACT_EOF,
	STEP_ACT_SHUTDOWN,	/* the VM is stopping */
};

struct step {
	struct vm *vm;
	struct pause *pause;
	struct trace_filter filter;
	int in_fd;
	bool in_owned;
	bool echo;		/* input is not a terminal: echo each command */
	char inbuf[STEP_INBUF];
	size_t inlen;
	bool in_eof;
	atomic_int mode;
	atomic_uint single_vcpu;
	atomic_bool started;
	/* Set by the owner before a step resumes; then used by the stepping vCPU alone. */
	u64 steps_left;
	u64 steps_total;
	u32 step_control;	/* KVM_GUESTDBG_* of the running step */
	/*
	 * RIP when the running step was armed; and a RIP at which a
	 * single-step trap is to be ignored (see step_exit_during_step).
	 */
	u64 step_rip;
	bool skip_trap;
	u64 skip_trap_rip;
	/* The owner's view while the world is stopped. */
	unsigned int cur;	/* the vCPU commands look at (`cpu N`) */
	u64 start_ns;
	u32 dbg_caps;		/* KVM_CAP_SET_GUEST_DEBUG2: the control bits KVM accepts */
	bool can_debug;		/* KVM_CAP_SET_GUEST_DEBUG */
	bool software;		/* kvm_pvm: CPL-3 code never traps */
};

static u64 step_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (u64)ts.tv_sec * 1000000000ull + (u64)ts.tv_nsec;
}

int step_create(struct step **out, struct vm *vm, struct pause *pause, char *err,
		size_t err_len)
{
	const struct vm_config *cfg = vm->cfg;
	struct step *s;
	int r;

	*out = NULL;
	s = calloc(1, sizeof(*s));
	if (!s) {
		snprintf(err, err_len, "cannot set up --step: %s", strerror(ENOMEM));
		return -ENOMEM;
	}
	s->vm = vm;
	s->pause = pause;
	/* config_parse checked the SPEC already. */
	r = trace_filter_parse(&s->filter, cfg->step, err, err_len);
	if (r)
		goto out_free;
	s->in_fd = STDIN_FILENO;
	if (cfg->step_script) {
		s->in_fd = open(cfg->step_script, O_RDONLY | O_CLOEXEC);
		if (s->in_fd < 0) {
			r = -errno;
			snprintf(err, err_len, "--step-script '%s': %s", cfg->step_script,
				 strerror(-r));
			goto out_free;
		}
		s->in_owned = true;
	}
	s->echo = !isatty(s->in_fd);
	s->can_debug = kvm_check_cap(vm->kvm, KVM_CAP_SET_GUEST_DEBUG) > 0;
	r = kvm_check_cap(vm->kvm, KVM_CAP_SET_GUEST_DEBUG2);
	s->dbg_caps = r > 0 ? (u32)r : 0;
	s->software = vm->kvm->software_backend;
	atomic_init(&s->mode, STEP_MODE_CHOSEN);
	atomic_init(&s->single_vcpu, 0);
	atomic_init(&s->started, false);
	s->start_ns = step_now_ns();
	*out = s;
	return 0;

out_free:
	free(s);
	return r;
}

void step_destroy(struct step *s)
{
	if (!s)
		return;
	if (s->in_owned)
		close(s->in_fd);
	free(s);
}

/* ---- input ------------------------------------------------------------ */

/*
 * Reads one command line into line. 1: a line; 0: the input ended;
 * -ESHUTDOWN: the VM is stopping. Waits in STEP_POLL_MS slices.
 */
static int step_read_line(struct step *s, char *line, size_t max)
{
	for (;;) {
		char *nl = memchr(s->inbuf, '\n', s->inlen);
		size_t n;

		if (nl || (s->in_eof && s->inlen) || s->inlen == sizeof(s->inbuf)) {
			/* A whole line, the unterminated last one, or an overlong one. */
			size_t take = nl ? (size_t)(nl - s->inbuf) + 1 : s->inlen;

			n = take - (nl ? 1 : 0);
			if (n >= max)
				n = max - 1;
			memcpy(line, s->inbuf, n);
			line[n] = '\0';
			memmove(s->inbuf, s->inbuf + take, s->inlen - take);
			s->inlen -= take;
			return 1;
		}
		if (s->in_eof)
			return 0;
		if (vm_stopping(s->vm))
			return -ESHUTDOWN;
		{
			struct pollfd pfd = { .fd = s->in_fd, .events = POLLIN };
			ssize_t got;

			if (poll(&pfd, 1, STEP_POLL_MS) <= 0)
				continue;	/* timeout or EINTR: look at the VM again */
			got = read(s->in_fd, s->inbuf + s->inlen, sizeof(s->inbuf) - s->inlen);
			if (got < 0 && (errno == EINTR || errno == EAGAIN))
				continue;
			if (got <= 0)
				s->in_eof = true;
			else
				s->inlen += (size_t)got;
		}
	}
}

/* ---- showing where we are ----------------------------------------------- */

static void step_print_code(struct step *s, struct vcpu *vcpu)
{
	u8 code[STEP_CODE_BYTES];
	size_t n = inspect_code(s->vm, vcpu, code, sizeof(code));

	if (!n) {
		fprintf(stderr, "  code: not readable (not mapped or not RAM)\n");
		return;
	}
	fprintf(stderr, "  code:");
	for (size_t i = 0; i < n; i++)
		fprintf(stderr, " %02x", code[i]);
	fputc('\n', stderr);
}

static bool step_get(struct vcpu *vcpu, struct kvm_regs *r, struct kvm_sregs *sr)
{
	return ioctl(vcpu->fd, KVM_GET_REGS, r) == 0 && ioctl(vcpu->fd, KVM_GET_SREGS, sr) == 0;
}

static void step_print_where(struct step *s, struct vcpu *vcpu, const char *what)
{
	struct kvm_regs r;
	struct kvm_sregs sr;

	if (!step_get(vcpu, &r, &sr)) {
		fprintf(stderr, "stop: vcpu%u %s (registers unavailable: %s)\n", vcpu->id, what,
			strerror(errno));
		return;
	}
	fprintf(stderr, "stop: vcpu%u %s: rip=0x%llx, %s, CPL %u\n", vcpu->id, what, r.rip,
		inspect_mode_name(&sr, r.rflags), inspect_cpl(&sr, r.rflags));
	step_print_code(s, vcpu);
}

static const char *step_dev_name(struct step *s, const struct vm_exit *e)
{
	const struct bus_range *range = NULL;

	if (e->kind == VM_EXIT_IO)
		range = bus_find(&s->vm->pio, e->io.port, e->io.size);
	else if (e->kind == VM_EXIT_MMIO)
		range = bus_find(&s->vm->mmio, e->mmio.addr, e->mmio.len);
	else
		return NULL;
	return range ? range->name : "unclaimed";
}

/* The exit as the trace formatter writes it, after prefix. */
static void step_print_exit(struct step *s, struct vcpu *vcpu, const struct vm_exit *e,
			    const char *prefix)
{
	char line[TRACE_LINE_MAX];
	struct trace_event ev = {
		.vcpu = vcpu->id,
		.t_ns = step_now_ns() - s->start_ns,
		.e = e,
		.dev = step_dev_name(s, e),
	};
	struct kvm_regs r;

	if (ioctl(vcpu->fd, KVM_GET_REGS, &r) == 0) {
		ev.has_rip = true;
		ev.rip = r.rip;
	}
	trace_format(line, sizeof(line), &ev);
	fprintf(stderr, "%s%s", prefix, line);
}

/* ---- single-step ------------------------------------------------------ */

static int step_set_guest_debug(struct vcpu *vcpu, u32 control)
{
	struct kvm_guest_debug dbg;

	memset(&dbg, 0, sizeof(dbg));
	dbg.control = control;
	return ioctl(vcpu->fd, KVM_SET_GUEST_DEBUG, &dbg) < 0 ? -errno : 0;
}

/* The opcode at code[] after its prefixes (SDM 2A 2.1.1, 2.2.1): *rex_w and *opsize_66 set. */
static size_t step_skip_prefixes(const u8 *code, size_t n, bool long64, bool *rex_w,
				 bool *opsize_66)
{
	size_t i = 0;

	*rex_w = *opsize_66 = false;
	for (; i < n; i++) {
		u8 b = code[i];

		if (b == 0x66)
			*opsize_66 = true;
		else if (b == 0x67 || b == 0xf2 || b == 0xf3 || b == 0xf0 || b == 0x2e ||
			 b == 0x36 || b == 0x3e || b == 0x26 || b == 0x64 || b == 0x65)
			continue;
		else if (long64 && b >= 0x40 && b <= 0x4f)
			*rex_w = b & 8;
		else
			break;
	}
	return i;
}

/*
 * True when the instruction at RIP takes the vCPU to CPL 3: SYSRET,
 * SYSEXIT, or an IRET whose frame holds a CS with RPL 3 (SDM 2A IRET).
 */
static bool step_enters_cpl3(struct step *s, struct vcpu *vcpu)
{
	struct kvm_regs r;
	struct kvm_sregs sr;
	struct pagewalk_regs wr;
	u8 code[STEP_CODE_BYTES];
	bool long64, rex_w, o16;
	size_t n, i, slot;
	u64 cs = 0, done, sp;

	if (!step_get(vcpu, &r, &sr) || !(sr.cr0 & 1))
		return false;
	n = inspect_code(s->vm, vcpu, code, sizeof(code));
	long64 = (sr.efer & PW_EFER_LMA) && sr.cs.l;
	i = step_skip_prefixes(code, n, long64, &rex_w, &o16);
	if (i + 1 < n && code[i] == 0x0f && (code[i + 1] == 0x07 || code[i + 1] == 0x35))
		return true;	/* SYSRET, SYSEXIT */
	if (i >= n || code[i] != 0xcf)
		return false;
	if (long64)
		slot = rex_w ? 8 : o16 ? 2 : 4;
	else
		slot = (sr.cs.db != o16) ? 4 : 2;
	inspect_walk_regs(&sr, &wr);
	sp = long64 ? r.rsp : sr.ss.base + (sr.ss.db ? (u32)r.rsp : (u16)r.rsp);
	if (pagewalk_read(&s->vm->mem, &wr, sp + slot, &cs, slot, &done))
		return false;
	return (cs & 3) == 3;
}

/*
 * Arms a single-step of vcpu. Returns 0, or -EPERM/-errno after saying why
 * it cannot (the prompt then stays).
 */
static int step_arm(struct step *s, struct vcpu *vcpu, bool announce)
{
	u32 control = KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_SINGLESTEP;
	struct kvm_regs r;
	struct kvm_sregs sr;
	u8 code[STEP_CODE_BYTES];
	int ret;

	if (!s->can_debug) {
		fprintf(stderr, "step: single-step is not supported by this host's KVM (no KVM_CAP_SET_GUEST_DEBUG)\n");
		return -ENOTSUP;
	}
	if (!step_get(vcpu, &r, &sr))
		return -errno;
	if (s->software && inspect_cpl(&sr, r.rflags) == 3) {
		fprintf(stderr, "step: single-step at CPL 3 is not supported by this host's KVM "
			"(kvm_pvm, a software backend, runs CPL-3 guest code natively and it "
			"never traps); use c or n\n");
		return -EPERM;
	}
	if (announce && s->software && step_enters_cpl3(s, vcpu))
		fprintf(stderr, "step: note: this instruction enters CPL 3, which this host's KVM "
			"(kvm_pvm) runs natively without single-step traps: the guest runs until "
			"it is back at CPL 0\n");
	/*
	 * Keep interrupts out of the step where KVM can, so it ends at the
	 * next instruction, not in a handler; but not for HLT, which only an
	 * interrupt ends.
	 */
	if (s->dbg_caps & KVM_GUESTDBG_BLOCKIRQ) {
		size_t n = inspect_code(s->vm, vcpu, code, sizeof(code));
		bool rex_w, o16;
		size_t i = step_skip_prefixes(code, n, (sr.efer & PW_EFER_LMA) && sr.cs.l,
					      &rex_w, &o16);

		if (!(i < n && code[i] == 0xf4))
			control |= KVM_GUESTDBG_BLOCKIRQ;
	}
	s->step_rip = r.rip;
	if (r.rip != s->skip_trap_rip)
		s->skip_trap = false;	/* moved on: no late trap to expect */
	ret = step_set_guest_debug(vcpu, control);
	if (ret) {
		fprintf(stderr, "step: single-step is not supported by this host's KVM: "
			"KVM_SET_GUEST_DEBUG: %s\n", strerror(-ret));
		return ret;
	}
	s->step_control = control;
	return 0;
}

/* ---- the prompt --------------------------------------------------------- */

static struct vcpu *step_cur(struct step *s)
{
	return &s->vm->vcpus[s->cur];
}

/* Runs one inspection command. */
static void step_inspect(struct step *s, const struct step_cmd *c, struct vcpu *stopped,
			 const struct vm_exit *e)
{
	struct vcpu *v = step_cur(s);

	switch (c->kind) {
	case STEP_CMD_REGS:
		inspect_regs(v, stderr);
		break;
	case STEP_CMD_SREGS:
		inspect_sregs(v, stderr);
		break;
	case STEP_CMD_PHYS:
		inspect_phys(s->vm, c->addr, c->len, stderr);
		break;
	case STEP_CMD_VIRT:
		inspect_virt(s->vm, v, c->addr, c->len, stderr);
		break;
	case STEP_CMD_TRANSLATE:
		inspect_translate(s->vm, v, c->addr, stderr);
		break;
	case STEP_CMD_WALK:
		inspect_walk(s->vm, v, c->addr, stderr);
		break;
	case STEP_CMD_DEV:
		inspect_dev(s->vm, c->addr, stderr);
		break;
	case STEP_CMD_CPU:
		if (c->addr >= s->vm->nr_vcpus) {
			fprintf(stderr, "step: no vCPU %llu (this VM has %u)\n",
				(unsigned long long)c->addr, s->vm->nr_vcpus);
			break;
		}
		s->cur = (unsigned int)c->addr;
		step_print_where(s, step_cur(s), "selected");
		break;
	case STEP_CMD_EXIT:
		if (e)
			step_print_exit(s, stopped, e, "  ");
		else
			fprintf(stderr, "  (stopped before the first instruction, not at an exit)\n");
		break;
	case STEP_CMD_HELP:
		fputs(step_cmd_help(), stderr);
		break;
	default:
		break;
	}
}

/* Reads and runs commands until one resumes the guest. */
static enum step_action step_prompt(struct step *s, struct vcpu *stopped,
				    const struct vm_exit *e)
{
	char line[STEP_LINE_MAX + 2], err[160];
	struct step_cmd c;
	int r;

	s->cur = stopped->id;
	for (;;) {
		if (!s->echo)
			fputs("(step) ", stderr);
		fflush(stderr);
		r = step_read_line(s, line, sizeof(line));
		if (r == -ESHUTDOWN)
			return STEP_ACT_SHUTDOWN;
		if (r == 0)
			return STEP_ACT_EOF;
		r = step_cmd_parse(line, &c, err, sizeof(err));
		/* The transcript shows commands; blank lines and comments stay out of it. */
		if (s->echo && (r || c.kind != STEP_CMD_NONE))
			fprintf(stderr, "(step) %s\n", line);
		if (r) {
			fprintf(stderr, "step: %s\n", err);
			continue;
		}
		switch (c.kind) {
		case STEP_CMD_NONE:
			continue;
		case STEP_CMD_CONTINUE:
			return STEP_ACT_CONTINUE;
		case STEP_CMD_NEXT:
			return STEP_ACT_NEXT;
		case STEP_CMD_QUIT:
			return STEP_ACT_QUIT;
		case STEP_CMD_STEPI:
			if (step_arm(s, step_cur(s), true))
				continue;	/* said why; stay at the prompt */
			s->steps_left = s->steps_total = c.count;
			return STEP_ACT_STEP;
		default:
			step_inspect(s, &c, stopped, e);
			continue;
		}
	}
}

/* Lets the world run again as the prompt decided. The caller owns the world. */
static void step_resume(struct step *s, enum step_action act)
{
	if (act != STEP_ACT_STEP)
		s->skip_trap = false;
	switch (act) {
	case STEP_ACT_CONTINUE:
		atomic_store(&s->mode, STEP_MODE_CHOSEN);
		break;
	case STEP_ACT_NEXT:
		atomic_store(&s->mode, STEP_MODE_ANY);
		break;
	case STEP_ACT_STEP:
		atomic_store(&s->single_vcpu, s->cur);
		atomic_store(&s->mode, STEP_MODE_SINGLE);
		pause_resume(s->pause, step_cur(s));
		return;
	case STEP_ACT_QUIT:
		vm_request_stop(s->vm, STATUS_STOPPED, "quit at the --step prompt");
		break;
	case STEP_ACT_EOF:
		fprintf(stderr, "step: end of commands: the guest runs on\n");
		atomic_store(&s->mode, STEP_MODE_OFF);
		break;
	case STEP_ACT_SHUTDOWN:
		break;
	}
	fflush(stderr);
	pause_resume(s->pause, NULL);
}

/* Whether an exit still deserves a stop after this vCPU waited for another's. */
static bool step_still_wanted(struct step *s, const struct vm_exit *e, enum step_why why)
{
	switch (atomic_load(&s->mode)) {
	case STEP_MODE_CHOSEN:
		return why == STEP_STOP_START ||
		       (e && trace_filter_match(&s->filter, e, step_dev_name(s, e)));
	case STEP_MODE_ANY:
		return true;
	default:
		return false;
	}
}

/* Stops the world at vcpu, shows why, runs the prompt, resumes. */
static void step_stop(struct step *s, struct vcpu *vcpu, const struct vm_exit *e,
		      enum step_why why)
{
	enum step_action act;
	int r;

	for (;;) {
		r = pause_world(s->pause, vcpu);
		if (r == -ESHUTDOWN)
			return;
		if (r != -EBUSY)
			break;
		/* Another vCPU is stopped at the prompt: wait for it, then see. */
		pause_park(s->pause, vcpu);
		if (vm_stopping(s->vm) || !step_still_wanted(s, e, why))
			return;
	}
	if (why == STEP_STOP_STEP || atomic_load(&s->mode) == STEP_MODE_SINGLE)
		step_set_guest_debug(vcpu, 0);
	switch (why) {
	case STEP_STOP_START:
		step_print_where(s, vcpu, "before its first instruction");
		break;
	case STEP_STOP_STEP: {
		char what[64];

		snprintf(what, sizeof(what), "single-stepped %llu instruction%s",
			 (unsigned long long)s->steps_total, s->steps_total == 1 ? "" : "s");
		step_print_where(s, vcpu, what);
		break;
	}
	case STEP_STOP_EXIT:
		step_print_exit(s, vcpu, e, "stop: ");
		break;
	}
	act = step_prompt(s, vcpu, why == STEP_STOP_EXIT ? e : NULL);
	step_resume(s, act);
}

bool step_pause_point(struct step *s, struct vcpu *vcpu)
{
	bool parked = false;

	if (vcpu->id == 0 && !atomic_load(&s->started)) {
		atomic_store(&s->started, true);
		step_stop(s, vcpu, NULL, STEP_STOP_START);
		parked = true;
	}
	if (pause_pending(s->pause))
		parked |= pause_park(s->pause, vcpu);
	return parked;
}

/* One instruction of a step is done (e: its debug exit, or NULL). */
static void step_done_one(struct step *s, struct vcpu *vcpu, const struct vm_exit *e)
{
	struct kvm_regs r;

	if (--s->steps_left == 0) {
		step_stop(s, vcpu, e, STEP_STOP_STEP);
		return;
	}
	/* More to go: say where we are, check the next one can be stepped, go on. */
	if (ioctl(vcpu->fd, KVM_GET_REGS, &r) == 0)
		fprintf(stderr, "  vcpu%u step %llu/%llu: rip=0x%llx\n", vcpu->id,
			(unsigned long long)(s->steps_total - s->steps_left),
			(unsigned long long)s->steps_total, r.rip);
	if (step_arm(s, vcpu, true)) {
		s->steps_total -= s->steps_left;
		s->steps_left = 0;
		step_stop(s, vcpu, e, STEP_STOP_STEP);
	}
}

/*
 * The stepped instruction exited to us first (port I/O, MMIO). Where RIP
 * still points at it, KVM finishes it on the next KVM_RUN and then reports
 * the single-step trap. But kvm_pvm moves RIP past an `out` before it
 * exits, and then gives no trap for it: the next trap would come one
 * instruction later (measured). So an exit whose RIP already moved ends
 * this step here; a trap that still comes at this very RIP is dropped.
 */
static void step_exit_during_step(struct step *s, struct vcpu *vcpu, const struct vm_exit *e)
{
	struct kvm_regs r;

	step_print_exit(s, vcpu, e, "  during the step: ");
	s->skip_trap = false;
	if ((e->kind != VM_EXIT_IO && e->kind != VM_EXIT_MMIO) ||
	    ioctl(vcpu->fd, KVM_GET_REGS, &r) < 0 || r.rip == s->step_rip)
		return;
	s->skip_trap = true;
	s->skip_trap_rip = r.rip;
	step_done_one(s, vcpu, e);
}

/* A KVM_EXIT_DEBUG on the vCPU that is single-stepping. */
static void step_debug_exit(struct step *s, struct vcpu *vcpu, const struct vm_exit *e)
{
	struct kvm_regs r;

	/* The trap of an instruction already counted (see step_exit_during_step). */
	if (s->skip_trap && e->debug.exception == DB_VECTOR && (e->debug.dr6 & DR6_BS) &&
	    ioctl(vcpu->fd, KVM_GET_REGS, &r) == 0 && r.rip == s->skip_trap_rip) {
		s->skip_trap = false;
		return;
	}
	s->skip_trap = false;
	if (e->debug.exception != DB_VECTOR || !(e->debug.dr6 & DR6_BS)) {
		fprintf(stderr, "step: unexpected debug exit during a single-step\n");
		step_stop(s, vcpu, e, STEP_STOP_EXIT);
		return;
	}
	step_done_one(s, vcpu, e);
}

void step_after_exit(struct step *s, struct vcpu *vcpu, const struct vm_exit *e)
{
	switch (atomic_load(&s->mode)) {
	case STEP_MODE_OFF:
		return;
	case STEP_MODE_SINGLE:
		if (vcpu->id != atomic_load(&s->single_vcpu))
			return;	/* an exit from before the others were held */
		if (e->kind == VM_EXIT_DEBUG) {
			step_debug_exit(s, vcpu, e);
			return;
		}
		step_exit_during_step(s, vcpu, e);
		return;
	case STEP_MODE_CHOSEN:
		if (!trace_filter_match(&s->filter, e, step_dev_name(s, e)))
			return;
		break;
	case STEP_MODE_ANY:
		break;
	}
	step_stop(s, vcpu, e, STEP_STOP_EXIT);
}

/*
 * gdbstub: `trapeze run --gdb PORT|unix:PATH` (docs/debugging.md), a GDB
 * remote serial protocol stub: gdb connects (`target remote :PORT`), finds
 * the guest stopped before its first instruction, and can read and write
 * registers and guest memory (by guest-virtual address, through the
 * guest's page tables), set software and hardware breakpoints and
 * watchpoints, single-step, continue, interrupt with Ctrl-C, switch
 * between vCPUs (gdb threads 1..N are vCPUs 0..N-1), run trapeze's
 * inspection commands (`monitor walk ADDR`, `monitor help`), detach (the
 * guest runs on) and kill (the VM ends with status 10).
 *
 * The stub listens on 127.0.0.1 only (or a Unix socket), takes one
 * connection, and runs on its own thread; the vCPUs report breakpoints and
 * steps to it (KVM_EXIT_DEBUG) and park, and it stops and resumes the
 * world through debug/pause.h.
 *
 * Software breakpoints (Z0) take a free debug register first, like
 * hardware ones (Z1): no guest memory is patched, and they work on every
 * host this project has; int3 bytes (KVM_GUESTDBG_USE_SW_BP, with the
 * guest's own int3 re-injected) serve the ones beyond four, on hardware KVM.
 *
 * What the host cannot do is said, never faked (measured, docs/debugging.md):
 * on a software backend (kvm_pvm) CPL-3 code never traps, int3 at CPL 0 is
 * an emulation failure and data breakpoints never fire, so a step at CPL 3
 * is refused with the reason on gdb's console, breakpoints stop at four,
 * and watchpoints are refused with the reason on trapeze's stderr. A step
 * whose instruction exits to trapeze (port I/O, MMIO) ends right after
 * that instruction on every host, although kvm_pvm gives no single-step
 * trap after an `out`.
 */
#ifndef TRAPEZE_DEBUG_GDBSTUB_H
#define TRAPEZE_DEBUG_GDBSTUB_H

#include "trapeze/exit.h"
#include "trapeze/types.h"

struct vm;
struct vcpu;
struct pause;
struct gdbstub;

/* Where to listen: --gdb PORT (127.0.0.1) or --gdb unix:PATH. */
struct gdb_listen {
	bool is_unix;
	u16 port;		/* 0: any free port (printed when listening) */
	char path[108];		/* sizeof(sun_path) */
};

/* Parses a --gdb argument. 0, or -EINVAL with one line in err. */
int gdbstub_parse_listen(const char *spec, struct gdb_listen *out, char *err,
			 size_t err_len);

/*
 * Listens where vm->cfg->gdb says, waits for gdb to connect (giving up when
 * the VM is stopped meanwhile), and starts the stub thread. The vCPUs must
 * start stopped (pause_init with start_stopped). 0 or -errno with err.
 */
int gdbstub_create(struct gdbstub **out, struct vm *vm, struct pause *pause, char *err,
		   size_t err_len);

/* After the vCPU threads were joined: ends the stub thread, closes the sockets. */
void gdbstub_destroy(struct gdbstub *g);

/* The exit hook: KVM_EXIT_DEBUG becomes a stop reported to gdb. */
void gdbstub_after_exit(struct gdbstub *g, struct vcpu *vcpu, const struct vm_exit *e);

#endif

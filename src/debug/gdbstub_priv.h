/*
 * The GDB stub's shared state, between gdbstub.c (connection, thread,
 * the wire, packet dispatch), gdb_run.c (stop and resume), gdb_query.c
 * (packets for a stopped guest) and gdb_target.c (registers, memory,
 * breakpoints and KVM's guest-debug state).
 *
 * Threads: the stub thread owns everything below "stub thread" and changes
 * the breakpoints and per-vCPU debug controls only while the world is
 * stopped (no vCPU in KVM_RUN); vCPU threads read them while running.
 * A vCPU reports a stop event under lock, then wakes the stub through
 * event_fd and parks.
 */
#ifndef TRAPEZE_SRC_DEBUG_GDBSTUB_PRIV_H
#define TRAPEZE_SRC_DEBUG_GDBSTUB_PRIV_H

#include <pthread.h>
#include <stdatomic.h>

#include "trapeze/debug/gdb_packet.h"
#include "trapeze/debug/gdb_regs.h"
#include "trapeze/debug/gdbstub.h"

#define GDB_MAX_BPS	64
#define GDB_NR_DR	4	/* DR0-DR3 */
#define GDB_QUEUE_MAX	8	/* packets a client sends before our stop reply */

/* Z/z types (the GDB manual, "Packets", Z0-Z4). */
enum gdb_bp_type {
	GDB_BP_SW = 0,
	GDB_BP_HW = 1,
	GDB_WP_WRITE = 2,
	GDB_WP_READ = 3,
	GDB_WP_ACCESS = 4,
};

struct gdb_bp {
	bool used;
	unsigned int type;
	u64 addr;		/* guest-virtual (linear), as gdb gave it */
	u64 len;		/* gdb's kind: 1 for x86 breakpoints, the size for watchpoints */
	int slot;		/* the debug register serving it, or -1 for an int3 */
	u64 gpa;		/* int3: guest-physical address of the byte */
	u8 saved;		/* int3: the byte it replaces while planted */
	bool planted;
};

enum gdb_event_kind {
	GDB_EV_NONE,
	GDB_EV_STEP,		/* single-step done */
	GDB_EV_SWBREAK,		/* Z0 breakpoint */
	GDB_EV_HWBREAK,		/* Z1 breakpoint */
	GDB_EV_WATCH,		/* Z2 watchpoint */
	GDB_EV_AWATCH,		/* Z4 watchpoint */
	GDB_EV_TRAP,		/* some other debug exit */
};

struct gdbstub {
	struct vm *vm;
	struct pause *pause;
	struct gdb_listen where;
	int listen_fd;
	int fd;			/* the connection */
	int event_fd;		/* vCPUs -> stub thread */
	pthread_t thread;
	bool thread_started;
	bool software;		/* kvm_pvm: no int3 at CPL 0, no traps at CPL 3 */
	u32 dbg_caps;		/* KVM_CAP_SET_GUEST_DEBUG2 */

	/* stub thread */
	bool no_ack;
	bool running;		/* the guest runs; gdb waits for a stop reply */
	unsigned int g_vcpu;	/* Hg: the vCPU of g, G, p, P, m, M */
	struct gdb_rx rx;
	char wire[GDB_WIRE_MAX];	/* the last packet sent, again on '-' */
	size_t wire_len;
	char stop_reply[96];	/* answer to '?' */
	char reply[GDB_PACKET_MAX + 1];	/* a reply being built */
	u8 data[GDB_PACKET_MAX / 2];	/* guest memory going to or from gdb */
	struct gdb_bp bps[GDB_MAX_BPS];
	u32 *control;		/* [nr_vcpus]: KVM_GUESTDBG_* each vCPU runs with */
	u64 debugreg[8];	/* DR0-DR3 and DR7 as armed (KVM's kvm_guest_debug_arch) */
	bool *stepping;		/* [nr_vcpus] */
	u64 *step_rip;		/* [nr_vcpus]: RIP when its step began */
	char *queue[GDB_QUEUE_MAX];
	size_t queue_len[GDB_QUEUE_MAX];
	unsigned int nr_queued;

	atomic_bool attached;	/* false once gdb detached: debug exits are nobody's */

	/* From vCPU threads, under lock: the first stop event of a run. */
	pthread_mutex_t lock;
	enum gdb_event_kind ev;
	unsigned int ev_vcpu;
	u64 ev_addr;
};

/* gdbstub.c: the wire. Sends return 0 or -errno; a broken connection ends the session. */
int gdb_write_all(struct gdbstub *g, const void *buf, size_t len);
int gdb_send(struct gdbstub *g, const void *payload, size_t len);
int gdb_send_str(struct gdbstub *g, const char *s);
void gdb_send_error(struct gdbstub *g, int err);	/* "Enn" */
/* Text for gdb's console ('O' packets): only while gdb awaits a reply. */
void gdb_send_console(struct gdbstub *g, const char *text, size_t len);
/* A message for trapeze's stderr and gdb's console. */
__attribute__((format(printf, 2, 3)))
void gdb_say(struct gdbstub *g, const char *fmt, ...);

/* gdb_run.c: stopping (after an event or Ctrl-C) and resuming the guest. */
void gdb_stop(struct gdbstub *g);
void gdb_cont_or_step(struct gdbstub *g, char op, const char *args);
void gdb_vcont(struct gdbstub *g, const char *args);

/* gdb_query.c: packets for a stopped guest; p is the packet after its letter. */
void gdb_set_thread(struct gdbstub *g, const char *p);
void gdb_read_regs(struct gdbstub *g);
void gdb_write_regs(struct gdbstub *g, const char *hex, size_t len);
void gdb_one_reg(struct gdbstub *g, bool write, const char *p, size_t len);
void gdb_read_mem(struct gdbstub *g, const char *p);
void gdb_write_mem(struct gdbstub *g, const char *p, size_t len);
void gdb_write_mem_binary(struct gdbstub *g, const char *p, size_t len);
void gdb_breakpoint(struct gdbstub *g, bool insert, const char *p);
void gdb_query(struct gdbstub *g, const char *p);	/* p: the whole packet, "q..." */

/* gdb_target.c */
int gdb_target_get_regs(struct gdbstub *g, unsigned int vcpu, struct gdb_x86_regs *r);
/* -EPERM: a segment selector changed (not supported). */
int gdb_target_set_regs(struct gdbstub *g, unsigned int vcpu, const struct gdb_x86_regs *r);
int gdb_target_read(struct gdbstub *g, unsigned int vcpu, u64 va, void *buf, u64 len,
		    u64 *done);
int gdb_target_write(struct gdbstub *g, unsigned int vcpu, u64 va, const void *buf, u64 len);
/* The CPL vCPU runs at (for the software-backend step check), or -errno. */
int gdb_target_cpl(struct gdbstub *g, unsigned int vcpu);

/*
 * Z and z. 0, -ENOTSUP (a type this stub does not serve: empty reply),
 * -ENOSPC (no free debug register), -EINVAL (bad length or alignment),
 * -EFAULT (an int3 address that is not mapped to RAM), -ENOENT (z of an
 * unknown breakpoint).
 */
int gdb_bp_insert(struct gdbstub *g, unsigned int type, u64 addr, u64 len);
int gdb_bp_remove(struct gdbstub *g, unsigned int type, u64 addr, u64 len);
void gdb_bp_remove_all(struct gdbstub *g);

/* Writes and removes the int3 bytes; only while the world is stopped. */
void gdb_bp_plant(struct gdbstub *g);
void gdb_bp_unplant(struct gdbstub *g);

/*
 * Sets every vCPU's KVM_SET_GUEST_DEBUG for the next run: breakpoints,
 * debug registers, and single-step for those in g->stepping. 0 or -errno
 * (the first failure).
 */
int gdb_target_arm(struct gdbstub *g);
/* Turns guest debugging off on every vCPU (detach). */
void gdb_target_disarm(struct gdbstub *g);

/*
 * On a vCPU thread: what a KVM_EXIT_DEBUG means. GDB_EV_NONE when it is
 * nobody's breakpoint and was handed back to the guest (an int3 of the
 * guest's own, re-injected).
 */
enum gdb_event_kind gdb_target_classify(struct gdbstub *g, struct vcpu *vcpu,
					const struct vm_exit *e, u64 *addr);

#endif

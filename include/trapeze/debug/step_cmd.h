/*
 * step_cmd: the command language of `trapeze run --step` (docs/debugging.md),
 * parsed without touching a VM so it is unit-tested alone.
 *
 *   c, continue          run to the next exit of the chosen classes
 *   n, next              run to the next exit of any class
 *   s, si, stepi [N]     execute N guest instructions (default 1), single-stepping
 *   r, regs              general registers, RIP, RFLAGS
 *   sr, sregs            segments, control registers, EFER, GDT/IDT
 *   x ADDR [LEN]         dump guest-physical memory (LEN default 64, at most 4096)
 *   xv VADDR [LEN]       dump guest-virtual memory (through the guest's page tables)
 *   tr VADDR             translate with KVM_TRANSLATE
 *   walk VADDR           walk the guest's page tables level by level
 *   dev PORT|ADDR        which device claims a port or an MMIO address
 *   cpu N                inspect and step vCPU N from now on
 *   exit                 show the exit the VM stopped at again
 *   h, help, ?           list the commands
 *   q, quit              end the VM (exit status 10)
 *
 * Numbers are decimal or 0x hex. An empty line, or one starting with '#',
 * is no command (scripts can carry comments).
 */
#ifndef TRAPEZE_DEBUG_STEP_CMD_H
#define TRAPEZE_DEBUG_STEP_CMD_H

#include "trapeze/types.h"

#define STEP_DUMP_DEFAULT	64
#define STEP_DUMP_MAX		4096
#define STEP_COUNT_MAX		1000000
#define STEP_LINE_MAX		256

enum step_cmd_kind {
	STEP_CMD_NONE,		/* blank or comment */
	STEP_CMD_CONTINUE,
	STEP_CMD_NEXT,
	STEP_CMD_STEPI,
	STEP_CMD_REGS,
	STEP_CMD_SREGS,
	STEP_CMD_PHYS,
	STEP_CMD_VIRT,
	STEP_CMD_TRANSLATE,
	STEP_CMD_WALK,
	STEP_CMD_DEV,
	STEP_CMD_CPU,
	STEP_CMD_EXIT,
	STEP_CMD_HELP,
	STEP_CMD_QUIT,
};

struct step_cmd {
	enum step_cmd_kind kind;
	u64 addr;	/* x, xv, tr, walk, dev; the vCPU for cpu */
	u64 len;	/* x, xv */
	u64 count;	/* stepi */
};

/*
 * Parses one line (without or with its '\n'). 0, or -EINVAL with a
 * one-line reason in err ("unknown command 'foo' (try help)", "x: bad
 * address 'zz'", "x: LEN must be 1 to 4096").
 */
int step_cmd_parse(const char *line, struct step_cmd *cmd, char *err, size_t err_len);

/* The help text, one command a line. */
const char *step_cmd_help(void);

#endif

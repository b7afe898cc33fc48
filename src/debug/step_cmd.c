/*
 * The --step command language: one line in, one struct step_cmd out.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "trapeze/errmsg.h"
#include "trapeze/config.h"
#include "trapeze/debug/step_cmd.h"

#define STEP_MAX_WORDS 4
#define STEP_MAX_CPU 254	/* config allows 255 vCPUs: 0..254 */

static const char step_help_text[] =
	"  c, continue        run to the next exit of the chosen classes\n"
	"  n, next            run to the next exit of any class\n"
	"  s, si, stepi [N]   execute N guest instructions (default 1)\n"
	"  r, regs            general registers, RIP, RFLAGS\n"
	"  sr, sregs          segments, control registers, EFER, GDT, IDT\n"
	"  x ADDR [LEN]       dump guest-physical memory (LEN default 64, max 4096)\n"
	"  xv VADDR [LEN]     dump guest-virtual memory (through the guest's page tables)\n"
	"  tr VADDR           translate a guest-virtual address with KVM_TRANSLATE\n"
	"  walk VADDR         walk the guest's page tables level by level\n"
	"  dev PORT|ADDR      which device claims a port or an MMIO address\n"
	"  cpu N              inspect and step vCPU N\n"
	"  exit               show the exit the VM stopped at again\n"
	"  h, help, ?         this list\n"
	"  q, quit            end the VM (exit status 10)\n";

const char *step_cmd_help(void)
{
	return step_help_text;
}

struct step_word {
	const char *name;
	const char *alias[3];
	enum step_cmd_kind kind;
	unsigned int min_args, max_args;
};

static const struct step_word step_words[] = {
	{ "continue", { "c" }, STEP_CMD_CONTINUE, 0, 0 },
	{ "next", { "n" }, STEP_CMD_NEXT, 0, 0 },
	{ "stepi", { "s", "si" }, STEP_CMD_STEPI, 0, 1 },
	{ "regs", { "r" }, STEP_CMD_REGS, 0, 0 },
	{ "sregs", { "sr" }, STEP_CMD_SREGS, 0, 0 },
	{ "x", { NULL }, STEP_CMD_PHYS, 1, 2 },
	{ "xv", { NULL }, STEP_CMD_VIRT, 1, 2 },
	{ "tr", { NULL }, STEP_CMD_TRANSLATE, 1, 1 },
	{ "walk", { NULL }, STEP_CMD_WALK, 1, 1 },
	{ "dev", { NULL }, STEP_CMD_DEV, 1, 1 },
	{ "cpu", { NULL }, STEP_CMD_CPU, 1, 1 },
	{ "exit", { NULL }, STEP_CMD_EXIT, 0, 0 },
	{ "help", { "h", "?" }, STEP_CMD_HELP, 0, 0 },
	{ "quit", { "q" }, STEP_CMD_QUIT, 0, 0 },
};

static const struct step_word *step_lookup(const char *w)
{
	for (size_t i = 0; i < ARRAY_SIZE(step_words); i++) {
		if (!strcmp(w, step_words[i].name))
			return &step_words[i];
		for (size_t j = 0; j < ARRAY_SIZE(step_words[i].alias); j++)
			if (step_words[i].alias[j] && !strcmp(w, step_words[i].alias[j]))
				return &step_words[i];
	}
	return NULL;
}

/* Splits line into at most max words (copied into buf); -E2BIG for more. */
static int step_split(const char *line, char *buf, size_t buf_len, char **words,
		      unsigned int max)
{
	unsigned int n = 0;
	char *p;

	snprintf(buf, buf_len, "%s", line);
	p = buf;
	for (;;) {
		p += strspn(p, " \t\r\n");
		if (!*p || *p == '#')
			break;
		if (n == max)
			return -E2BIG;
		words[n++] = p;
		p += strcspn(p, " \t\r\n");
		if (*p)
			*p++ = '\0';
	}
	return (int)n;
}

static int step_number(const char *cmd, const char *what, const char *word, u64 *out,
		       char *err, size_t err_len)
{
	if (config_parse_u64(word, out))
		return errmsg_invalid(err, err_len, "%s: bad %s '%s' (decimal or 0x hex)", cmd, what,
				word);
	return 0;
}

int step_cmd_parse(const char *line, struct step_cmd *cmd, char *err, size_t err_len)
{
	char buf[STEP_LINE_MAX + 1], *w[STEP_MAX_WORDS];
	const struct step_word *sw;
	unsigned int nargs;
	int n;

	memset(cmd, 0, sizeof(*cmd));
	if (err && err_len)
		err[0] = '\0';
	if (strlen(line) > STEP_LINE_MAX)
		return errmsg_invalid(err, err_len, "line too long (at most %d characters)",
				STEP_LINE_MAX);
	n = step_split(line, buf, sizeof(buf), w, STEP_MAX_WORDS);
	if (n == 0)
		return 0;	/* STEP_CMD_NONE */
	sw = n > 0 ? step_lookup(w[0]) : NULL;
	if (n > 0 && !sw)
		return errmsg_invalid(err, err_len, "unknown command '%s' (try help)", w[0]);
	if (n < 0)
		return errmsg_invalid(err, err_len, "too many arguments");
	nargs = (unsigned int)n - 1;
	if (nargs < sw->min_args || nargs > sw->max_args) {
		if (sw->max_args == 0)
			return errmsg_invalid(err, err_len, "%s takes no arguments", sw->name);
		return errmsg_invalid(err, err_len, "%s: %s", sw->name,
				nargs < sw->min_args ? "missing argument (try help)" :
						       "too many arguments");
	}
	cmd->kind = sw->kind;
	switch (sw->kind) {
	case STEP_CMD_STEPI:
		cmd->count = 1;
		if (nargs && step_number(sw->name, "count", w[1], &cmd->count, err, err_len))
			return -EINVAL;
		if (cmd->count < 1 || cmd->count > STEP_COUNT_MAX)
			return errmsg_invalid(err, err_len, "stepi: N must be 1 to %d", STEP_COUNT_MAX);
		return 0;
	case STEP_CMD_PHYS:
	case STEP_CMD_VIRT:
		cmd->len = STEP_DUMP_DEFAULT;
		if (step_number(sw->name, "address", w[1], &cmd->addr, err, err_len))
			return -EINVAL;
		if (nargs == 2 && step_number(sw->name, "length", w[2], &cmd->len, err, err_len))
			return -EINVAL;
		if (cmd->len < 1 || cmd->len > STEP_DUMP_MAX)
			return errmsg_invalid(err, err_len, "%s: LEN must be 1 to %d", sw->name,
					STEP_DUMP_MAX);
		return 0;
	case STEP_CMD_TRANSLATE:
	case STEP_CMD_WALK:
	case STEP_CMD_DEV:
		return step_number(sw->name, "address", w[1], &cmd->addr, err, err_len);
	case STEP_CMD_CPU:
		if (step_number(sw->name, "vCPU", w[1], &cmd->addr, err, err_len))
			return -EINVAL;
		if (cmd->addr > STEP_MAX_CPU)
			return errmsg_invalid(err, err_len, "cpu: no vCPU %llu",
					(unsigned long long)cmd->addr);
		return 0;
	default:
		return 0;
	}
}

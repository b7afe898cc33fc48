/*
 * config: the command line turned into a struct vm_config.
 *
 * Nothing here prints or exits; every problem becomes -EINVAL and one line
 * in err that names it. getopt_long keeps its state in libc globals (optind,
 * optarg, optopt), so config_parse resets them on every call and must not run
 * on two threads at once; main() calls it once, the unit tests many times.
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "trapeze/errmsg.h"
#include "trapeze/config.h"
#include "trapeze/debug/gdbstub.h"
#include "trapeze/debug/trace.h"
#include "trapeze/guest_mem.h"

#define CONFIG_MAX_CPUS 255	/* the host's real KVM limit is checked later */
#define CONFIG_MAX_TIMEOUT 86400	/* one day, in seconds */
#define CONFIG_RAM_ALIGN 4096ULL

/* Long-only options get values outside the char range. */
enum {
	OPT_FLAT = 0x100,
	OPT_TIMEOUT,
	OPT_BOOT,
	OPT_STOP_ON,
	OPT_TRACE,
	OPT_TRACE_FILE,
	OPT_STATS,
	OPT_STATS_JSON,
	OPT_DIRTY_LOG,
	OPT_RNG,
	OPT_CONSOLE,
	OPT_STEP,
	OPT_STEP_SCRIPT,
	OPT_GDB,
};

static const char usage_text[] =
	"Usage: trapeze <command> [options]\n"
	"\n"
	"Commands:\n"
	"  run [options]    boot a guest (see 'trapeze run --help')\n"
	"  info             show what the host's KVM offers\n"
	"\n"
	"Options:\n"
	"  -h, --help       show this help and exit\n"
	"  -V, --version    show the version and exit\n";

static const char run_usage_text[] =
	"Usage: trapeze run -k FILE [options]\n"
	"\n"
	"Boots FILE (a Linux bzImage or vmlinux, an ELF32/ELF64 image, or a raw\n"
	"real-mode binary with --flat) in a new VM with its serial console on\n"
	"this terminal.\n"
	"\n"
	"Options:\n"
	"  -k, --kernel FILE    the image to boot (required)\n"
	"  -m, --memory SIZE    guest RAM, a multiple of 4 KiB, e.g. 512M, 2G\n"
	"                       (default 256M, at most 1T)\n"
	"  -c, --cpus N         number of vCPUs, 1 to 255 (default 1; the host's\n"
	"                       KVM may allow fewer)\n"
	"  -i, --initrd FILE    initial ramdisk for a Linux kernel\n"
	"  -p, --cmdline TEXT   appended to the kernel command line, which starts\n"
	"                       with console=ttyS0 (console=hvc0 with --console\n"
	"                       virtio)\n"
	"      --boot MODE      how a Linux bzImage is entered: auto (default:\n"
	"                       unpack it here, enter the vmlinux through its PVH\n"
	"                       note, else the boot protocol), linux (64-bit boot\n"
	"                       protocol, the kernel decompresses itself), pvh\n"
	"      --flat ADDR      FILE is a raw real-mode binary loaded at ADDR\n"
	"                       (decimal or 0x hex)\n"
	"      --timeout SECS   stop the guest after SECS seconds, 0 to 86400\n"
	"                       (default 0: no limit)\n"
	"      --stop-on TEXT   end the VM with status 0 once the guest's console\n"
	"                       has printed a whole line containing TEXT\n"
	"      --trace[=SPEC]   print one line per VM exit on stderr: vCPU, time,\n"
	"                       exit reason, guest RIP, port/address, data, device.\n"
	"                       SPEC is a comma list of classes io, mmio, hlt, irq,\n"
	"                       debug, all (default all) and dev=NAME filters (port\n"
	"                       I/O and MMIO to devices whose name starts with NAME;\n"
	"                       'unclaimed' for nobody's), e.g. --trace=io,dev=serial\n"
	"      --trace-file FILE  write the trace to FILE (implies --trace)\n"
	"      --stats          at exit, print exits per reason and per device (count,\n"
	"                       time spent in trapeze) and KVM's own counters\n"
	"      --stats-json FILE  write the same statistics to FILE as JSON\n"
	"      --dirty-log      log the guest's writes to RAM (KVM's dirty-page\n"
	"                       log) and print the pages written at exit\n"
	"      --step[=SPEC]    stop before the first instruction and at each exit\n"
	"                       SPEC chooses (as --trace), and read commands on\n"
	"                       stdin: continue, next, stepi, regs, sregs, x, xv,\n"
	"                       tr, walk, dev, quit ('help' lists them). The guest\n"
	"                       then gets no console input\n"
	"      --step-script FILE  --step commands from FILE (implies --step); stdin\n"
	"                       stays the guest's\n"
	"      --gdb PORT|unix:PATH  wait for gdb on 127.0.0.1:PORT (0: any free\n"
	"                       port) or a Unix socket before starting the guest\n"
	"                       (in gdb: target remote :PORT); see docs/debugging.md\n"
	"  -d, --disk FILE[,ro] a raw disk image as a virtio-blk disk (/dev/vda,\n"
	"                       then vdb, ...; up to 8). ,ro: the guest may only\n"
	"                       read it. The file is locked while trapeze runs; a\n"
	"                       size not a multiple of 512 leaves the tail unseen\n"
	"      --rng            a virtio-rng device (/dev/hwrng) fed by getrandom()\n"
	"      --console DEV    the interactive console: serial (default: the\n"
	"                       UART, ttyS0) or virtio (virtio-console, hvc0; the\n"
	"                       kernel command line then starts with console=hvc0\n"
	"                       and early messages go to the UART's earlycon)\n"
	"  -h, --help           show this help and exit\n"
	"\n"
	"Sizes are bytes, or a number with K, M, G or T (binary units; an optional\n"
	"B or iB may follow, e.g. 512MiB).\n"
	"\n"
	"Console: the guest's serial port (or hvc0 with --console virtio) reads\n"
	"stdin and writes stdout.\n"
	"  Ctrl-A x         quit (exit status 10)\n"
	"  Ctrl-A Ctrl-A    send one Ctrl-A to the guest\n"
	"\n"
	"Exit status:\n"
	"  0          the guest powered off (ACPI S5), or printed the --stop-on text\n"
	"  (V<<1)|1   the guest wrote V to the debug-exit port 0xf4 (odd; 8 bits)\n"
	"  2          the guest asked for a reboot (i8042 0xFE, ACPI reset)\n"
	"  4          triple fault\n"
	"  6          guest error (entry failure, internal error, unhandled exit);\n"
	"             the registers are dumped on stderr\n"
	"  8          --timeout expired\n"
	"  10         stopped by the user (Ctrl-A x) or a signal\n"
	"  64         usage or setup error (bad option, bad image, no KVM):\n"
	"             nothing ran\n"
	"  70         internal VMM error while running\n";

static const struct option run_options[] = {
	{ "kernel", required_argument, NULL, 'k' },
	{ "memory", required_argument, NULL, 'm' },
	{ "cpus", required_argument, NULL, 'c' },
	{ "initrd", required_argument, NULL, 'i' },
	{ "cmdline", required_argument, NULL, 'p' },
	{ "flat", required_argument, NULL, OPT_FLAT },
	{ "timeout", required_argument, NULL, OPT_TIMEOUT },
	{ "boot", required_argument, NULL, OPT_BOOT },
	{ "stop-on", required_argument, NULL, OPT_STOP_ON },
	{ "trace", optional_argument, NULL, OPT_TRACE },
	{ "trace-file", required_argument, NULL, OPT_TRACE_FILE },
	{ "stats", no_argument, NULL, OPT_STATS },
	{ "stats-json", required_argument, NULL, OPT_STATS_JSON },
	{ "dirty-log", no_argument, NULL, OPT_DIRTY_LOG },
	{ "disk", required_argument, NULL, 'd' },
	{ "rng", no_argument, NULL, OPT_RNG },
	{ "console", required_argument, NULL, OPT_CONSOLE },
	{ "step", optional_argument, NULL, OPT_STEP },
	{ "step-script", required_argument, NULL, OPT_STEP_SCRIPT },
	{ "gdb", required_argument, NULL, OPT_GDB },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

/*
 * '+': stop at the first non-option, so argv is never permuted and a stray
 * argument is reported, not skipped. ':': a missing argument returns ':'
 * rather than '?', so the two errors get different messages.
 */
static const char run_shortopts[] = "+:k:m:c:i:p:d:h";

const char *config_usage(void)
{
	return usage_text;
}

const char *config_run_usage(void)
{
	return run_usage_text;
}

/* Value of a hex digit, or -1. */
static int config_hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * Reads the digits at *sp in base 10 or 16 into *out, advancing *sp past
 * them. At least one digit; -EINVAL when there is none or the value does not
 * fit in a u64. No sign and no leading space, unlike strtoull.
 */
static int config_parse_digits(const char **sp, unsigned int base, u64 *out)
{
	const char *s = *sp;
	u64 v = 0;
	int d;

	if (!s)
		return -EINVAL;
	for (; (d = config_hex_digit(*s)) >= 0 && (unsigned int)d < base; s++) {
		if (v > (UINT64_MAX - (u64)d) / base)
			return -EINVAL;
		v = v * base + (u64)d;
	}
	if (s == *sp)
		return -EINVAL;
	*sp = s;
	*out = v;
	return 0;
}

int config_parse_u64(const char *s, u64 *out)
{
	unsigned int base = 10;
	u64 v;

	if (!s)
		return -EINVAL;
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		s += 2;
	}
	if (config_parse_digits(&s, base, &v) || *s)
		return -EINVAL;
	*out = v;
	return 0;
}

int config_parse_size(const char *s, u64 *out)
{
	unsigned int shift = 0;
	u64 v;

	if (config_parse_digits(&s, 10, &v))
		return -EINVAL;
	switch (*s) {
	case 'k':
	case 'K':
		shift = 10;
		break;
	case 'm':
	case 'M':
		shift = 20;
		break;
	case 'g':
	case 'G':
		shift = 30;
		break;
	case 't':
	case 'T':
		shift = 40;
		break;
	}
	if (shift) {
		s++;
		/* "iB" only after a unit: "4096iB" means nothing. */
		if (*s == 'i' || *s == 'I') {
			s++;
			if (*s != 'b' && *s != 'B')
				return -EINVAL;
		}
	}
	if (*s == 'b' || *s == 'B')
		s++;
	if (*s)
		return -EINVAL;
	if (v > (UINT64_MAX >> shift))
		return -EINVAL;
	*out = v << shift;
	return 0;
}

static void config_set_defaults(struct vm_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->command = CONFIG_CMD_HELP;
	cfg->ram_size = CONFIG_DEFAULT_RAM;
	cfg->nr_cpus = CONFIG_DEFAULT_CPUS;
}

static int config_parse_memory(struct vm_config *cfg, const char *arg,
			       char *err, size_t err_len)
{
	u64 size;

	if (config_parse_size(arg, &size))
		return errmsg_invalid(err, err_len,
				    "run: bad memory size '%s' (use e.g. 512M, 2G)",
				    arg);
	if (!size)
		return errmsg_invalid(err, err_len,
				    "run: memory size must be more than 0");
	if (size % CONFIG_RAM_ALIGN)
		return errmsg_invalid(err, err_len,
				    "run: memory size '%s' is not a multiple of 4 KiB",
				    arg);
	if (size > GUEST_MEM_MAX_SIZE)
		return errmsg_invalid(err, err_len,
				    "run: memory size '%s' is more than the maximum, 1T",
				    arg);
	cfg->ram_size = size;
	return 0;
}

/*
 * -d FILE[,ro]: a final ",ro" makes the disk read-only; any other comma is
 * part of the file name (so "a,b.img" is a file, and a typo such as ",r0"
 * surfaces as a missing file when the disk is opened).
 */
static int config_parse_disk(struct vm_config *cfg, const char *arg,
			     char *err, size_t err_len)
{
	struct config_disk *d;
	size_t len = strlen(arg);
	bool ro = false;

	if (cfg->nr_disks >= CONFIG_MAX_DISKS)
		return errmsg_invalid(err, err_len, "run: too many disks (at most %d)",
				    CONFIG_MAX_DISKS);
	if (len >= 3 && !strcmp(arg + len - 3, ",ro")) {
		ro = true;
		len -= 3;
	}
	if (!len)
		return errmsg_invalid(err, err_len, "run: empty disk path in '%s'", arg);
	if (len >= CONFIG_DISK_PATH_MAX)
		return errmsg_invalid(err, err_len, "run: disk path longer than %d bytes",
				    CONFIG_DISK_PATH_MAX - 1);
	d = &cfg->disks[cfg->nr_disks++];
	memcpy(d->path, arg, len);
	d->path[len] = '\0';
	d->ro = ro;
	return 0;
}

/* One option of `trapeze run` with its argument; 0 or -EINVAL. */
static int config_parse_run_option(struct vm_config *cfg, int opt,
				   const char *arg, char *err, size_t err_len)
{
	u64 v;

	switch (opt) {
	case 'k':
		if (!*arg)
			return errmsg_invalid(err, err_len, "run: empty kernel path");
		cfg->kernel = arg;
		return 0;
	case 'm':
		return config_parse_memory(cfg, arg, err, err_len);
	case 'c':
		if (config_parse_u64(arg, &v) || v < 1 || v > CONFIG_MAX_CPUS)
			return errmsg_invalid(err, err_len,
					    "run: bad cpu count '%s' (1 to %d)",
					    arg, CONFIG_MAX_CPUS);
		cfg->nr_cpus = (unsigned int)v;
		return 0;
	case 'i':
		if (!*arg)
			return errmsg_invalid(err, err_len, "run: empty initrd path");
		cfg->initrd = arg;
		return 0;
	case 'p':
		cfg->cmdline = arg;
		return 0;
	case OPT_FLAT:
		/* The loader checks the address against the image and RAM. */
		if (config_parse_u64(arg, &v))
			return errmsg_invalid(err, err_len,
					    "run: bad --flat address '%s' (decimal or 0x hex)",
					    arg);
		cfg->flat = true;
		cfg->flat_addr = v;
		return 0;
	case OPT_TIMEOUT:
		if (config_parse_u64(arg, &v) || v > CONFIG_MAX_TIMEOUT)
			return errmsg_invalid(err, err_len,
					    "run: bad timeout '%s' (0 to %d seconds)",
					    arg, CONFIG_MAX_TIMEOUT);
		cfg->timeout_s = (unsigned int)v;
		return 0;
	case OPT_STOP_ON:
		if (!*arg)
			return errmsg_invalid(err, err_len, "run: empty --stop-on text");
		cfg->stop_on = arg;
		return 0;
	case OPT_TRACE: {
		struct trace_filter f;
		char why[CONFIG_ERR_LEN];

		/* Checked here so a bad SPEC is a usage error before anything runs. */
		if (trace_filter_parse(&f, arg, why, sizeof(why)))
			return errmsg_invalid(err, err_len, "run: %s", why);
		cfg->trace = arg ? arg : "all";
		return 0;
	}
	case OPT_TRACE_FILE:
		if (!*arg)
			return errmsg_invalid(err, err_len, "run: empty --trace-file path");
		cfg->trace_file = arg;
		return 0;
	case OPT_STATS:
		cfg->stats = true;
		return 0;
	case OPT_STATS_JSON:
		if (!*arg)
			return errmsg_invalid(err, err_len, "run: empty --stats-json path");
		cfg->stats_json = arg;
		return 0;
	case OPT_DIRTY_LOG:
		cfg->dirty_log = true;
		return 0;
	case OPT_STEP: {
		struct trace_filter f;
		char why[CONFIG_ERR_LEN];

		/* The same SPEC as --trace; its messages name --trace, so rename. */
		if (trace_filter_parse(&f, arg, why, sizeof(why)))
			return errmsg_invalid(err, err_len, "run: --step%s",
					    strncmp(why, "--trace", 7) ? why : why + 7);
		cfg->step = arg ? arg : "all";
		return 0;
	}
	case OPT_STEP_SCRIPT:
		if (!*arg)
			return errmsg_invalid(err, err_len, "run: empty --step-script path");
		cfg->step_script = arg;
		return 0;
	case OPT_GDB: {
		struct gdb_listen where;
		char why[CONFIG_ERR_LEN];

		if (gdbstub_parse_listen(arg, &where, why, sizeof(why)))
			return errmsg_invalid(err, err_len, "run: %s", why);
		cfg->gdb = arg;
		return 0;
	}
	case 'd':
		return config_parse_disk(cfg, arg, err, err_len);
	case OPT_RNG:
		cfg->rng = true;
		return 0;
	case OPT_CONSOLE:
		if (strcmp(arg, "serial") == 0)
			cfg->console = CONFIG_CONSOLE_SERIAL;
		else if (strcmp(arg, "virtio") == 0)
			cfg->console = CONFIG_CONSOLE_VIRTIO;
		else
			return errmsg_invalid(err, err_len,
					    "run: bad --console '%s' (serial or virtio)", arg);
		return 0;
	case OPT_BOOT:
		if (strcmp(arg, "auto") == 0)
			cfg->boot = CONFIG_BOOT_AUTO;
		else if (strcmp(arg, "linux") == 0)
			cfg->boot = CONFIG_BOOT_LINUX;
		else if (strcmp(arg, "pvh") == 0)
			cfg->boot = CONFIG_BOOT_PVH;
		else
			return errmsg_invalid(err, err_len,
					    "run: bad --boot '%s' (auto, linux or pvh)", arg);
		return 0;
	}
	return errmsg_invalid(err, err_len, "run: unhandled option");
}

/* Length of an option word up to any "=value", for messages. */
static int config_opt_name_len(const char *word)
{
	return (int)strcspn(word, "=");
}

/*
 * getopt_long returned '?' for word: an unknown short option (optopt holds
 * it), an unknown or ambiguous long option (optopt 0), or a long option that
 * takes no argument given one, as in "--help=x" (optopt holds its value).
 */
static int config_bad_option(const char *word, char *err, size_t err_len)
{
	if (strncmp(word, "--", 2))
		return errmsg_invalid(err, err_len, "run: unknown option '-%c'",
				    optopt);
	if (optopt)
		return errmsg_invalid(err, err_len,
				    "run: option '%.*s' takes no argument",
				    config_opt_name_len(word), word);
	return errmsg_invalid(err, err_len, "run: unknown option '%.*s'",
			    config_opt_name_len(word), word);
}

/* argv[0] is "run"; the options follow. */
static int config_parse_run(struct vm_config *cfg, int argc, char **argv,
			    char *err, size_t err_len)
{
	int opt, ret;

	cfg->command = CONFIG_CMD_RUN;
	opterr = 0;	/* errors go to err, never to stderr */
	optind = 0;	/* glibc: full reset, so every call starts afresh */
	while ((opt = getopt_long(argc, argv, run_shortopts, run_options,
				  NULL)) != -1) {
		switch (opt) {
		case 'h':
			/* Help wins over whatever else is on the line. */
			cfg->command = CONFIG_CMD_RUN_HELP;
			return 0;
		case ':':
			/* The option was the last word, so it is argv[optind - 1]. */
			return errmsg_invalid(err, err_len,
					    "run: option '%.*s' needs an argument",
					    config_opt_name_len(argv[optind - 1]),
					    argv[optind - 1]);
		case '?':
			return config_bad_option(argv[optind - 1], err,
						 err_len);
		default:
			ret = config_parse_run_option(cfg, opt, optarg, err,
						      err_len);
			if (ret)
				return ret;
		}
	}
	if (optind < argc)
		return errmsg_invalid(err, err_len,
				    "run: unexpected argument '%s'", argv[optind]);
	if (!cfg->kernel)
		return errmsg_invalid(err, err_len,
				    "run: no kernel given (-k FILE)");
	if (cfg->trace_file && !cfg->trace)
		cfg->trace = "all";	/* --trace-file implies --trace */
	if (cfg->step_script && !cfg->step)
		cfg->step = "all";	/* --step-script implies --step */
	if (cfg->step && cfg->gdb)
		return errmsg_invalid(err, err_len,
				    "run: --step and --gdb cannot be used together");
	return 0;
}

/* A command that takes nothing after it: any further word is an error. */
static int config_no_more_args(int argc, char **argv, char *err,
			       size_t err_len)
{
	if (argc > 2)
		return errmsg_invalid(err, err_len,
				    "'%s' takes no arguments (got '%s')",
				    argv[1], argv[2]);
	return 0;
}

int config_parse(struct vm_config *cfg, int argc, char **argv, char *err,
		 size_t err_len)
{
	const char *cmd;

	config_set_defaults(cfg);
	if (err && err_len)
		err[0] = '\0';
	if (argc < 2 || !argv || !argv[1])
		return errmsg_invalid(err, err_len,
				    "no command given; try 'trapeze --help'");

	cmd = argv[1];
	if (!strcmp(cmd, "run"))
		return config_parse_run(cfg, argc - 1, argv + 1, err, err_len);
	if (!strcmp(cmd, "info")) {
		cfg->command = CONFIG_CMD_INFO;
		return config_no_more_args(argc, argv, err, err_len);
	}
	if (!strcmp(cmd, "--version") || !strcmp(cmd, "-V")) {
		cfg->command = CONFIG_CMD_VERSION;
		return config_no_more_args(argc, argv, err, err_len);
	}
	if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h")) {
		cfg->command = CONFIG_CMD_HELP;
		return config_no_more_args(argc, argv, err, err_len);
	}
	if (cmd[0] == '-')
		return errmsg_invalid(err, err_len,
				    "unknown option '%.*s'; try 'trapeze --help'",
				    config_opt_name_len(cmd), cmd);
	return errmsg_invalid(err, err_len,
			    "unknown command '%s'; try 'trapeze --help'", cmd);
}

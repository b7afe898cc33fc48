/*
 * config: command-line options parsed into a plain struct vm_config.
 *
 *   trapeze run [options]      boot a guest
 *   trapeze info               what the host's KVM offers
 *   trapeze --version | --help
 *
 * Parsing never prints and never exits: it fills cfg or returns -EINVAL with
 * a one-line message in err. main() decides what to print.
 */
#ifndef TRAPEZE_CONFIG_H
#define TRAPEZE_CONFIG_H

#include "trapeze/types.h"

#define CONFIG_DEFAULT_RAM (256ULL << 20)
#define CONFIG_DEFAULT_CPUS 1
#define CONFIG_ERR_LEN 256
#define CONFIG_MAX_DISKS 8		/* -d/--disk may be given this many times */
#define CONFIG_DISK_PATH_MAX 4096	/* bytes of a disk path, NUL included */

enum config_command {
	CONFIG_CMD_RUN,
	CONFIG_CMD_INFO,
	CONFIG_CMD_VERSION,
	CONFIG_CMD_HELP,	/* top-level help */
	CONFIG_CMD_RUN_HELP,	/* `trapeze run --help` */
};

/* How a Linux kernel is entered (--boot). */
enum config_boot {
	CONFIG_BOOT_AUTO,	/* PVH entry of the vmlinux inside when possible, else bzImage */
	CONFIG_BOOT_LINUX,	/* bzImage 64-bit boot protocol, in-guest decompressor */
	CONFIG_BOOT_PVH,	/* PVH entry only; fail when the kernel has none */
};

/* Which device the interactive console uses (--console). */
enum config_console {
	CONFIG_CONSOLE_SERIAL,	/* the 16550A UART, ttyS0 in the guest (default) */
	CONFIG_CONSOLE_VIRTIO,	/* virtio-console port 0, hvc0 in the guest */
};

/* One -d/--disk FILE[,ro]: a raw image served by virtio-blk. */
struct config_disk {
	char path[CONFIG_DISK_PATH_MAX];	/* FILE, without the ",ro" */
	bool ro;			/* ",ro": the guest may only read */
};

struct vm_config {
	enum config_command command;
	const char *kernel;	/* -k/--kernel FILE */
	const char *initrd;	/* -i/--initrd FILE (later issues) */
	const char *cmdline;	/* -p/--cmdline TEXT (later issues) */
	u64 ram_size;		/* -m/--memory SIZE, bytes */
	unsigned int nr_cpus;	/* -c/--cpus N */
	bool flat;		/* --flat ADDR given: raw real-mode binary */
	u64 flat_addr;
	unsigned int timeout_s;	/* --timeout SECONDS: 0 = none */
	enum config_boot boot;	/* --boot=auto|linux|pvh */
	const char *stop_on;	/* --stop-on TEXT: status 0 when the console prints it */
	const char *trace;	/* --trace[=SPEC] (checked; "all" when bare), NULL = off */
	const char *trace_file;	/* --trace-file FILE: trace there, not to stderr */
	bool stats;		/* --stats: exit statistics on stderr at the end */
	const char *stats_json;	/* --stats-json FILE: the same statistics as JSON */
	bool dirty_log;		/* --dirty-log: report the pages the guest wrote (debug/dirtylog.h) */
	const char *step;	/* --step[=SPEC] (checked; "all" when bare), NULL = off */
	const char *step_script;/* --step-script FILE: --step commands from FILE, not stdin */
	const char *gdb;	/* --gdb PORT|unix:PATH (checked), NULL = off */
	struct config_disk disks[CONFIG_MAX_DISKS];	/* -d/--disk, in order */
	unsigned int nr_disks;
	bool rng;		/* --rng: a virtio-rng device */
	enum config_console console;	/* --console serial|virtio */
};

/* Fills cfg from argv (argv[0] is the program name). 0 or -EINVAL with err set. */
int config_parse(struct vm_config *cfg, int argc, char **argv, char *err,
		 size_t err_len);

/*
 * Parses a size such as 4096, 512K, 256M, 2G (binary units, optional trailing
 * 'B' or 'iB'). A bare number is bytes. 0 or -EINVAL (syntax, overflow).
 */
int config_parse_size(const char *s, u64 *out);

/* Parses an unsigned number (decimal or 0x hex) that fits in a u64. */
int config_parse_u64(const char *s, u64 *out);

/* The text of `trapeze --help` and `trapeze run --help`. */
const char *config_usage(void);
const char *config_run_usage(void);

#endif

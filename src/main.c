/*
 * trapeze: options -> struct vm_config -> VM -> exit status.
 * The only place that decides what the process prints and returns.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "trapeze/arch/x86/boot_linux.h"
#include "trapeze/boot.h"
#include "trapeze/config.h"
#include "trapeze/console.h"
#include "trapeze/debug/debug.h"
#include "trapeze/debug/dirtylog.h"
#include "trapeze/debug/observe.h"
#include "trapeze/kvm.h"
#include "trapeze/loader.h"
#include "trapeze/status.h"
#include "trapeze/term.h"
#include "trapeze/vm.h"
#include "trapeze/watch.h"

#define ERR_LEN 512

/*
 * Termination signals go to the console thread's signalfd and the kick
 * signal only to vCPU threads: block both here, before any thread exists,
 * so every thread inherits the mask.
 */
static int block_signals(void)
{
	sigset_t set;

	console_signal_set(&set);
	sigaddset(&set, VCPU_KICK_SIGNAL);
	if (pthread_sigmask(SIG_BLOCK, &set, NULL))
		return -EINVAL;
	/* A closed stdout must not kill the VMM mid-write; writes just fail. */
	signal(SIGPIPE, SIG_IGN);
	return vcpu_install_kick_handler();
}

/* Refuses files that are no image at all before touching /dev/kvm. */
static int check_image_kind(const struct vm_config *cfg, const u8 *image, size_t size,
			    char *err, size_t err_len)
{
	if (cfg->flat || linux_is_bzimage(image, size) ||
	    loader_detect(image, size) != IMAGE_UNKNOWN)
		return 0;
	snprintf(err, err_len, "kernel '%s' is not a known image (bzImage, ELF32, ELF64; "
		 "raw binaries need --flat ADDR)", cfg->kernel);
	return -ENOEXEC;
}

static void stop_on_matched(void *opaque)
{
	vm_request_stop(opaque, STATUS_POWEROFF, "guest printed the --stop-on text");
}

static int run_guest(const struct vm_config *cfg)
{
	struct kvm_host kvm;
	struct vm vm;
	struct console con;
	struct watch stop_on = { 0 };
	struct boot_state bs;
	enum boot_path path;
	char err[ERR_LEN] = "";
	u8 *image = NULL;
	size_t size = 0;
	int status = STATUS_USAGE;
	int r;

	r = loader_read_file(cfg->kernel, &image, &size, err, sizeof(err));
	if (!r)
		r = check_image_kind(cfg, image, size, err, sizeof(err));
	if (r)
		goto out_free;
	if (block_signals() < 0) {
		snprintf(err, sizeof(err), "cannot set up signal handling");
		goto out_free;
	}
	r = kvm_open(&kvm, err, sizeof(err));
	if (r)
		goto out_free;
	r = vm_create(&vm, &kvm, cfg, err, sizeof(err));
	if (!r)
		r = boot_prepare(&vm, cfg, image, size, &bs, &path, err, sizeof(err));
	if (!r && (path == BOOT_PATH_LINUX || path == BOOT_PATH_PVH))
		fprintf(stderr, "trapeze: booting through the %s\n", boot_path_name(path));
	if (!r && (r = vcpu_set_boot_state(&vm.vcpus[0], &bs)))
		snprintf(err, sizeof(err), "cannot set the boot vCPU's registers: %s", strerror(-r));
	free(image);
	image = NULL;
	if (r)
		goto out_vm;

	if (cfg->stop_on) {
		r = watch_init(&stop_on, cfg->stop_on, stop_on_matched, &vm);
		if (r) {
			snprintf(err, sizeof(err), "--stop-on: %s", strerror(-r));
			goto out_vm;
		}
		board_set_console_tap(&vm.board,
				      (struct serial_tap){ .byte = watch_byte, .opaque = &stop_on });
	}
	r = observe_create(&vm.observe, &vm, err, sizeof(err));	/* --trace, --stats */
	if (r)
		goto out_vm;
	/* --step reads its commands from stdin: then stdin stays a cooked terminal, not the guest's. */
	r = debug_reads_stdin(cfg) ? 0 : term_raw_enter(STDIN_FILENO);
	if (r)
		fprintf(stderr, "trapeze: warning: cannot put the terminal in raw mode: %s\n",
			strerror(-r));
	/* The console is the UART, or virtio-console with --console virtio. */
	r = console_start_sink(&con, &vm, vm.board.console_in,
			       debug_reads_stdin(cfg) ? -1 : STDIN_FILENO);
	if (r) {
		snprintf(err, sizeof(err), "cannot start the console thread: %s", strerror(-r));
		term_restore();
		goto out_vm;
	}
	/* --step, --gdb: after the console thread, so Ctrl-C ends a wait for gdb. */
	r = debug_create(&vm.debug, &vm, err, sizeof(err));
	if (r) {
		console_stop(&con);
		term_restore();
		if (r == -ECANCELED)
			status = vm.status;	/* stopped while waiting for gdb */
		goto out_vm;
	}
	status = vm_run(&vm, cfg->timeout_s);
	console_stop(&con);
	term_restore();
	observe_report(vm.observe);
	if (cfg->dirty_log) {
		r = dirtylog_report(vm.fd, &vm.mem, stderr);
		if (r)
			fprintf(stderr, "trapeze: --dirty-log: %s\n", strerror(-r));
	}
	fprintf(stderr, "trapeze: %s; exit status %d\n",
		vm.stop_reason ? vm.stop_reason : "VM stopped", status);
	err[0] = '\0';

out_vm:
	debug_destroy(vm.debug);
	vm.debug = NULL;
	observe_destroy(vm.observe);
	vm.observe = NULL;
	vm_destroy(&vm);
	watch_destroy(&stop_on);
	kvm_close(&kvm);
out_free:
	free(image);
	if (err[0])
		fprintf(stderr, "trapeze: %s\n", err);
	return status;
}

int main(int argc, char **argv)
{
	struct vm_config cfg;
	char err[CONFIG_ERR_LEN];

	if (config_parse(&cfg, argc, argv, err, sizeof(err)) < 0) {
		fprintf(stderr, "trapeze: %s\n", err);
		return STATUS_USAGE;
	}
	switch (cfg.command) {
	case CONFIG_CMD_VERSION:
		printf("trapeze %s\n", TRAPEZE_VERSION);
		return 0;
	case CONFIG_CMD_HELP:
		fputs(config_usage(), stdout);
		return 0;
	case CONFIG_CMD_RUN_HELP:
		fputs(config_run_usage(), stdout);
		return 0;
	case CONFIG_CMD_INFO:
		return kvm_print_info(stdout) ? STATUS_USAGE : 0;
	case CONFIG_CMD_RUN:
		break;
	}
	return run_guest(&cfg);
}

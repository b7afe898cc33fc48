/*
 * The --trace and --stats hooks on the exit path, their output files, and
 * the report at exit. See debug/observe.h for the shape and the costs.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "trapeze/debug/observe.h"
#include "trapeze/vcpu.h"
#include "trapeze/vm.h"

static u64 observe_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (u64)ts.tv_sec * 1000000000ull + (u64)ts.tv_nsec;
}

/*
 * Opens an output file for whole-line writes: O_APPEND, so each write(2)
 * lands whole at the end. A path that names our own stdout or stderr (such
 * as /dev/stderr) reuses that fd instead: a second, truncating open of the
 * same file would clobber what the first one writes.
 */
static int observe_open_output(const char *opt, const char *path, int *fd, bool *owned,
			       char *err, size_t err_len)
{
	struct stat st, std;

	if (stat(path, &st) == 0) {
		for (int i = STDOUT_FILENO; i <= STDERR_FILENO; i++) {
			if (fstat(i, &std) == 0 && std.st_dev == st.st_dev &&
			    std.st_ino == st.st_ino) {
				*fd = i;
				*owned = false;
				return 0;
			}
		}
	}
	*fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0644);
	if (*fd < 0) {
		int e = errno;

		snprintf(err, err_len, "%s '%s': %s", opt, path, strerror(e));
		return -e;
	}
	*owned = true;
	return 0;
}

static int observe_setup_trace(struct observe *o, const struct vm_config *cfg, char *err,
			       size_t err_len)
{
	struct vm *vm = o->vm;
	struct trace_filter f;
	int r;

	/* config_parse already checked the spec; this cannot fail for a valid one. */
	r = trace_filter_parse(&f, cfg->trace, err, err_len);
	if (r)
		return r;
	if (cfg->trace_file) {
		r = observe_open_output("--trace-file", cfg->trace_file, &o->trace_fd,
					&o->trace_fd_owned, err, err_len);
		if (r)
			return r;
	} else {
		o->trace_fd = STDERR_FILENO;
	}
	trace_init(&o->trace, &f, o->trace_fd);
	o->sync_rip = kvm_check_cap(vm->kvm, KVM_CAP_SYNC_REGS) & KVM_SYNC_X86_REGS;
	if (o->sync_rip)
		for (unsigned int i = 0; i < vm->nr_vcpus; i++)
			vm->vcpus[i].run->kvm_valid_regs |= KVM_SYNC_X86_REGS;
	o->tracing = true;
	trace_write_header(&o->trace, true);
	return 0;
}

int observe_create(struct observe **out, struct vm *vm, char *err, size_t err_len)
{
	const struct vm_config *cfg = vm->cfg;
	struct observe *o;
	int r;

	*out = NULL;
	if (!cfg->trace && !cfg->stats && !cfg->stats_json)
		return 0;
	o = calloc(1, sizeof(*o));
	if (!o) {
		snprintf(err, err_len, "cannot set up --trace/--stats: %s", strerror(ENOMEM));
		return -ENOMEM;
	}
	o->vm = vm;
	o->trace_fd = -1;
	o->json_fd = -1;
	if (cfg->trace) {
		r = observe_setup_trace(o, cfg, err, err_len);
		if (r)
			goto out_destroy;
	}
	if (cfg->stats_json) {
		r = observe_open_output("--stats-json", cfg->stats_json, &o->json_fd,
					&o->json_fd_owned, err, err_len);
		if (r)
			goto out_destroy;
	}
	if (cfg->stats || cfg->stats_json) {
		r = stats_init(&o->stats, vm->nr_vcpus, &vm->pio, &vm->mmio);
		if (r) {
			snprintf(err, err_len, "cannot set up --stats: %s", strerror(-r));
			goto out_destroy;
		}
		o->counting = true;
	}
	o->start_ns = observe_now_ns();
	*out = o;
	return 0;

out_destroy:
	observe_destroy(o);
	return r;
}

void observe_destroy(struct observe *o)
{
	if (!o)
		return;
	if (o->counting)
		stats_destroy(&o->stats);
	if (o->json_fd_owned)
		close(o->json_fd);
	if (o->trace_fd_owned)
		close(o->trace_fd);
	free(o);
}

/* The guest RIP at this exit: from kvm_run when KVM syncs it, else one ioctl. */
static bool observe_rip(const struct observe *o, struct vcpu *vcpu, u64 *rip)
{
	struct kvm_regs regs;

	if (o->sync_rip) {
		*rip = vcpu->run->s.regs.regs.rip;
		return true;
	}
	if (ioctl(vcpu->fd, KVM_GET_REGS, &regs) < 0)
		return false;
	*rip = regs.rip;
	return true;
}

static void observe_trace(struct observe *o, struct vcpu *vcpu, const struct vm_exit *e,
			  const struct bus_range *range)
{
	const char *dev = NULL;
	struct trace_event ev;

	if (e->kind == VM_EXIT_IO || e->kind == VM_EXIT_MMIO)
		dev = range ? range->name : "unclaimed";
	if (!trace_filter_match(&o->trace.filter, e, dev))
		return;
	memset(&ev, 0, sizeof(ev));
	ev.vcpu = vcpu->id;
	ev.t_ns = observe_now_ns() - o->start_ns;
	ev.has_rip = observe_rip(o, vcpu, &ev.rip);
	ev.e = e;
	ev.dev = dev;
	trace_write(&o->trace, &ev);	/* a failing trace file must not stop the guest */
}

void observe_exit_begin(struct observe *o, struct vcpu *vcpu, const struct vm_exit *e,
			struct observe_exit *x)
{
	struct vm *vm = o->vm;

	x->range = NULL;
	x->t0 = 0;
	if (e->kind == VM_EXIT_IO)
		x->range = bus_find(&vm->pio, e->io.port, e->io.size);
	else if (e->kind == VM_EXIT_MMIO)
		x->range = bus_find(&vm->mmio, e->mmio.addr, e->mmio.len);
	if (o->tracing && !trace_after_handling(e))
		observe_trace(o, vcpu, e, x->range);
	/* Last, so the clock covers the handling only, not the tracing. */
	if (o->counting)
		x->t0 = observe_now_ns();
}

void observe_exit_end(struct observe *o, struct vcpu *vcpu, const struct vm_exit *e,
		      const struct observe_exit *x)
{
	if (o->counting)
		stats_record(&o->stats, vcpu->id, e, x->range, observe_now_ns() - x->t0);
	if (o->tracing && trace_after_handling(e))
		observe_trace(o, vcpu, e, x->range);
}

void observe_kick(struct observe *o, struct vcpu *vcpu)
{
	struct vm_exit e = { .kind = VM_EXIT_INTR, .reason = KVM_EXIT_INTR };

	if (o->tracing)
		observe_trace(o, vcpu, &e, NULL);
	if (o->counting)
		stats_record(&o->stats, vcpu->id, &e, NULL, 0);
}

/* Reads one KVM stats fd (of a VM or vCPU fd) and adds it to total. 0 or -errno. */
static int observe_add_kvm_stats(int owner_fd, struct kvm_stats *total)
{
	struct kvm_stats one;
	int fd, r;

	fd = ioctl(owner_fd, KVM_GET_STATS_FD, 0);
	if (fd < 0)
		return -errno;
	r = kvm_stats_read(&one, fd);
	close(fd);
	if (r)
		return r;
	r = kvm_stats_add(total, &one);
	kvm_stats_free(&one);
	return r;
}

/*
 * KVM's counters, summed over the vCPUs, and the VM's. Returns NULL in
 * *note when both were read, or a line saying why not.
 */
static void observe_read_kvm(struct observe *o, struct kvm_stats *vcpus,
			     struct kvm_stats *vm_stats, bool *have_vcpus, bool *have_vm,
			     char *note, size_t note_len)
{
	struct vm *vm = o->vm;
	int r = 0;

	*have_vcpus = *have_vm = false;
	note[0] = '\0';
	if (kvm_check_cap(vm->kvm, KVM_CAP_BINARY_STATS_FD) <= 0) {
		snprintf(note, note_len, "not offered by this host (no KVM_CAP_BINARY_STATS_FD)");
		return;
	}
	for (unsigned int i = 0; i < vm->nr_vcpus && !r; i++)
		r = observe_add_kvm_stats(vm->vcpus[i].fd, vcpus);
	*have_vcpus = !r;
	if (r)
		snprintf(note, note_len, "cannot read the vCPU stats fd: %s", strerror(-r));
	r = observe_add_kvm_stats(vm->fd, vm_stats);
	*have_vm = !r;
	if (r && !note[0])
		snprintf(note, note_len, "cannot read the VM stats fd: %s", strerror(-r));
}

static void observe_write_json(struct observe *o, const struct stats_summary *sum,
			       const struct kvm_stats *vcpus, const struct kvm_stats *vm_stats)
{
	char *text = NULL;
	size_t len = 0, at = 0;
	FILE *mem = open_memstream(&text, &len);

	if (!mem) {
		fprintf(stderr, "trapeze: --stats-json: %s\n", strerror(errno));
		return;
	}
	stats_write_json(sum, vcpus, vm_stats, mem);
	if (fclose(mem)) {
		fprintf(stderr, "trapeze: --stats-json: %s\n", strerror(errno));
		free(text);
		return;
	}
	fflush(stderr);	/* the file may be our stderr */
	while (at < len) {
		ssize_t n = write(o->json_fd, text + at, len - at);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			fprintf(stderr, "trapeze: --stats-json: %s\n", strerror(errno));
			break;
		}
		at += (size_t)n;
	}
	free(text);
}

void observe_report(struct observe *o)
{
	struct kvm_stats vcpus = { 0 }, vm_stats = { 0 };
	struct stats_summary sum;
	bool have_vcpus, have_vm;
	char note[160];
	u64 elapsed;
	int r;

	if (!o || !o->counting)
		return;
	elapsed = observe_now_ns() - o->start_ns;
	r = stats_summarize(&o->stats, elapsed, &sum);
	if (r) {
		fprintf(stderr, "trapeze: --stats: %s\n", strerror(-r));
		return;
	}
	observe_read_kvm(o, &vcpus, &vm_stats, &have_vcpus, &have_vm, note, sizeof(note));
	if (o->vm->cfg->stats)
		stats_print(&sum, have_vcpus ? &vcpus : NULL, have_vm ? &vm_stats : NULL,
			    note[0] ? note : NULL, stderr);
	if (o->json_fd >= 0)
		observe_write_json(o, &sum, have_vcpus ? &vcpus : NULL,
				   have_vm ? &vm_stats : NULL);
	kvm_stats_free(&vcpus);
	kvm_stats_free(&vm_stats);
	stats_summary_free(&sum);
}

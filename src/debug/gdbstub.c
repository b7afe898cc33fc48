/*
 * The GDB remote serial protocol stub: listening socket, the stub thread,
 * the wire, packet dispatch, detach and the vCPUs' debug exits. Stopping
 * and resuming is in gdb_run.c, the packets for a stopped guest in
 * gdb_query.c, what they do to registers, memory and breakpoints in
 * gdb_target.c.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "gdbstub_priv.h"
#include "trapeze/config.h"
#include "trapeze/debug/pause.h"
#include "trapeze/status.h"
#include "trapeze/vcpu.h"
#include "trapeze/vm.h"

#define GDB_POLL_MS	100	/* waits are sliced so a VM stop is seen */
#define GDB_SIGTRAP	5

int gdbstub_parse_listen(const char *spec, struct gdb_listen *out, char *err,
			 size_t err_len)
{
	u64 port;

	memset(out, 0, sizeof(*out));
	if (!spec || !*spec) {
		snprintf(err, err_len, "--gdb: empty argument (PORT or unix:PATH)");
		return -EINVAL;
	}
	if (!strncmp(spec, "unix:", 5)) {
		if (!spec[5] || strlen(spec + 5) >= sizeof(out->path)) {
			snprintf(err, err_len, "--gdb: bad socket path '%s' (1 to %zu characters)",
				 spec + 5, sizeof(out->path) - 1);
			return -EINVAL;
		}
		out->is_unix = true;
		snprintf(out->path, sizeof(out->path), "%s", spec + 5);
		return 0;
	}
	if (config_parse_u64(spec, &port) || port > 65535) {
		snprintf(err, err_len, "--gdb: bad port '%s' (0 to 65535, or unix:PATH)", spec);
		return -EINVAL;
	}
	out->port = (u16)port;
	return 0;
}

/* ---- the wire ------------------------------------------------------------ */

int gdb_write_all(struct gdbstub *g, const void *buf, size_t len)
{
	const char *p = buf;

	while (len) {
		ssize_t n = send(g->fd, p, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Sends a packet and keeps it for a retransmission on '-'. */
int gdb_send(struct gdbstub *g, const void *payload, size_t len)
{
	g->wire_len = gdb_packet_encode(g->wire, sizeof(g->wire), payload, len);
	if (!g->wire_len)
		return -E2BIG;
	return gdb_write_all(g, g->wire, g->wire_len);
}

int gdb_send_str(struct gdbstub *g, const char *s)
{
	return gdb_send(g, s, strlen(s));
}

void gdb_send_error(struct gdbstub *g, int err)
{
	char e[8];

	snprintf(e, sizeof(e), "E%02x", (unsigned int)(err < 0 ? -err : err) & 0xff);
	gdb_send_str(g, e);
}

/* Text for gdb's console: 'O' packets of hex, split to fit. Only while gdb awaits a reply. */
void gdb_send_console(struct gdbstub *g, const char *text, size_t len)
{
	const size_t chunk = (GDB_PACKET_MAX - 1) / 2;

	for (size_t at = 0; at < len; at += chunk) {
		size_t n = len - at < chunk ? len - at : chunk;

		g->reply[0] = 'O';
		gdb_hex_encode(g->reply + 1, text + at, n);
		gdb_send(g, g->reply, 1 + 2 * n);
	}
}

/* A message for both trapeze's stderr and gdb's console. */
void gdb_say(struct gdbstub *g, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(msg, sizeof(msg) - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n > sizeof(msg) - 2)
		n = sizeof(msg) - 2;
	fprintf(stderr, "trapeze: gdb: %s", msg);
	gdb_send_console(g, msg, (size_t)n);
}

/* Detach: gdb's breakpoints go, the guest runs on without a debugger. */
static void gdb_detach(struct gdbstub *g, bool reply)
{
	atomic_store(&g->attached, false);
	if (g->running && pause_world(g->pause, NULL))
		return;	/* the VM is ending anyway */
	g->running = false;
	gdb_bp_unplant(g);
	gdb_bp_remove_all(g);
	gdb_target_disarm(g);
	if (reply)
		gdb_send_str(g, "OK");
	pause_resume(g->pause, NULL);
}

enum gdb_outcome {
	GDB_GO_ON,
	GDB_END,	/* detach or kill: the session is over */
};

static enum gdb_outcome gdb_handle(struct gdbstub *g, const char *p, size_t len)
{
	switch (p[0]) {
	case '?':
		gdb_send_str(g, g->stop_reply);
		break;
	case 'g':
		gdb_read_regs(g);
		break;
	case 'G':
		gdb_write_regs(g, p + 1, len - 1);
		break;
	case 'p':
	case 'P':
		gdb_one_reg(g, p[0] == 'P', p + 1, len - 1);
		break;
	case 'm':
		gdb_read_mem(g, p + 1);
		break;
	case 'M':
		gdb_write_mem(g, p + 1, len - 1);
		break;
	case 'X':
		gdb_write_mem_binary(g, p + 1, len - 1);
		break;
	case 'Z':
	case 'z':
		gdb_breakpoint(g, p[0] == 'Z', p + 1);
		break;
	case 'H':
		gdb_set_thread(g, p + 1);
		break;
	case 'T': {
		const char *end;
		long tid;

		if (!gdb_parse_thread_id(p + 1, &tid, &end) && !*end && tid > 0 &&
		    tid <= (long)g->vm->nr_vcpus)
			gdb_send_str(g, "OK");
		else
			gdb_send_error(g, ENOENT);
		break;
	}
	case 'c':
	case 's':
	case 'C':
	case 'S':
		gdb_cont_or_step(g, p[0], p + 1);
		break;
	case 'D':
		fprintf(stderr, "trapeze: gdb detached; the guest runs on\n");
		gdb_detach(g, true);
		return GDB_END;
	case 'k':
		vm_request_stop(g->vm, STATUS_STOPPED, "killed from gdb");
		return GDB_END;
	case 'q':
		gdb_query(g, p);
		break;
	case 'Q':
		if (!strcmp(p, "QStartNoAckMode")) {
			gdb_send_str(g, "OK");
			g->no_ack = true;
		} else {
			gdb_send_str(g, "");
		}
		break;
	case 'v':
		if (!strcmp(p, "vCont?")) {
			gdb_send_str(g, "vCont;c;C;s;S");
		} else if (!strncmp(p, "vCont;", 6)) {
			gdb_vcont(g, p + 5);
		} else if (!strncmp(p, "vKill", 5)) {
			gdb_send_str(g, "OK");
			vm_request_stop(g->vm, STATUS_STOPPED, "killed from gdb");
			return GDB_END;
		} else {
			gdb_send_str(g, "");	/* vMustReplyEmpty and all we do not know */
		}
		break;
	default:
		gdb_send_str(g, "");
		break;
	}
	return GDB_GO_ON;
}

/* A packet that arrived while the guest runs waits for the stop. */
static void gdb_queue(struct gdbstub *g, const char *p, size_t len)
{
	char *copy;

	if (g->nr_queued == GDB_QUEUE_MAX || !(copy = malloc(len + 1))) {
		fprintf(stderr, "trapeze: gdb: dropped a packet sent while the guest ran\n");
		return;
	}
	memcpy(copy, p, len + 1);
	g->queue[g->nr_queued] = copy;
	g->queue_len[g->nr_queued++] = len;
}

static enum gdb_outcome gdb_unqueue(struct gdbstub *g)
{
	char *p = g->queue[0];
	size_t len = g->queue_len[0];
	enum gdb_outcome o;

	memmove(g->queue, g->queue + 1, (g->nr_queued - 1) * sizeof(g->queue[0]));
	memmove(g->queue_len, g->queue_len + 1, (g->nr_queued - 1) * sizeof(g->queue_len[0]));
	g->nr_queued--;
	o = gdb_handle(g, p, len);
	free(p);
	return o;
}

static enum gdb_outcome gdb_input(struct gdbstub *g, u8 c)
{
	switch (gdb_rx_feed(&g->rx, c)) {
	case GDB_RX_PACKET:
		if (!g->no_ack)
			gdb_write_all(g, "+", 1);
		if (g->running) {
			gdb_queue(g, g->rx.payload, g->rx.payload_len);
			return GDB_GO_ON;
		}
		return gdb_handle(g, g->rx.payload, g->rx.payload_len);
	case GDB_RX_BAD_CHECKSUM:
	case GDB_RX_BAD_PACKET:
		if (!g->no_ack)
			gdb_write_all(g, "-", 1);
		return GDB_GO_ON;
	case GDB_RX_INTERRUPT:
		if (g->running)
			gdb_stop(g);
		return GDB_GO_ON;
	case GDB_RX_NAK:
		if (g->wire_len)
			gdb_write_all(g, g->wire, g->wire_len);
		return GDB_GO_ON;
	default:
		return GDB_GO_ON;
	}
}

/* The VM ended (guest poweroff, a fatal exit, Ctrl-C, --timeout) while gdb was attached. */
static void gdb_vm_ended(struct gdbstub *g)
{
	char w[8];

	if (g->running) {
		/* gdb is waiting for a stop reply: the inferior exited, with our status. */
		snprintf(w, sizeof(w), "W%02x", (unsigned int)g->vm->status & 0xff);
		gdb_send_str(g, w);
	}
	fprintf(stderr, "trapeze: gdb: the VM ended (%s)\n",
		g->vm->stop_reason ? g->vm->stop_reason : "stopped");
}

static void gdb_session(struct gdbstub *g)
{
	u8 buf[4096];

	for (;;) {
		struct pollfd pfd[2] = {
			{ .fd = g->fd, .events = POLLIN },
			{ .fd = g->event_fd, .events = POLLIN },
		};
		ssize_t got;

		if (vm_stopping(g->vm)) {
			gdb_vm_ended(g);
			return;
		}
		if (!g->running && g->nr_queued) {
			if (gdb_unqueue(g) == GDB_END)
				return;
			continue;
		}
		if (poll(pfd, 2, GDB_POLL_MS) <= 0)
			continue;
		if ((pfd[1].revents & POLLIN) && g->running)
			gdb_stop(g);
		if (!(pfd[0].revents & (POLLIN | POLLHUP | POLLERR)))
			continue;
		got = recv(g->fd, buf, sizeof(buf), 0);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0) {
			fprintf(stderr, "trapeze: gdb closed the connection; the guest runs on\n");
			gdb_detach(g, false);
			return;
		}
		for (ssize_t i = 0; i < got; i++)
			if (gdb_input(g, buf[i]) == GDB_END)
				return;
	}
}

static void *gdb_thread(void *arg)
{
	struct gdbstub *g = arg;

	pthread_setname_np(pthread_self(), "gdbstub");
	/* The vCPUs were created stopped: take the stopped world. */
	if (pause_world(g->pause, NULL) == 0) {
		snprintf(g->stop_reply, sizeof(g->stop_reply), "T%02xthread:1;", GDB_SIGTRAP);
		gdb_session(g);
	}
	atomic_store(&g->attached, false);
	close(g->fd);
	g->fd = -1;
	return NULL;
}

/* ---- setting up ------------------------------------------------------------ */

static int gdb_listen(struct gdbstub *g, char *err, size_t err_len)
{
	int one = 1, r;

	if (g->where.is_unix) {
		struct sockaddr_un sa = { .sun_family = AF_UNIX };
		struct stat st;

		memcpy(sa.sun_path, g->where.path, strlen(g->where.path) + 1);
		/* A stale socket of an earlier run may go; nothing else is removed. */
		if (lstat(g->where.path, &st) == 0 && S_ISSOCK(st.st_mode))
			unlink(g->where.path);
		g->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (g->listen_fd < 0 || bind(g->listen_fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
		    listen(g->listen_fd, 1) < 0)
			goto out_err;
		fprintf(stderr, "trapeze: waiting for gdb on %s (in gdb: target remote %s)\n",
			g->where.path, g->where.path);
		return 0;
	} else {
		struct sockaddr_in sa = {
			.sin_family = AF_INET,
			.sin_port = htons(g->where.port),
			.sin_addr.s_addr = htonl(INADDR_LOOPBACK),	/* never beyond this host */
		};
		socklen_t sl = sizeof(sa);

		g->listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (g->listen_fd < 0)
			goto out_err;
		setsockopt(g->listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(g->listen_fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
		    listen(g->listen_fd, 1) < 0 ||
		    getsockname(g->listen_fd, (struct sockaddr *)&sa, &sl) < 0)
			goto out_err;
		fprintf(stderr, "trapeze: waiting for gdb on 127.0.0.1:%u (in gdb: target remote :%u)\n",
			ntohs(sa.sin_port), ntohs(sa.sin_port));
		return 0;
	}
out_err:
	r = -errno;
	if (g->where.is_unix)
		snprintf(err, err_len, "--gdb: cannot listen on %s: %s", g->where.path, strerror(-r));
	else
		snprintf(err, err_len, "--gdb: cannot listen on 127.0.0.1:%u: %s", g->where.port,
			 strerror(-r));
	return r;
}

/* Waits for the one connection, in slices so a VM stop (Ctrl-C) ends the wait. */
static int gdb_accept(struct gdbstub *g, char *err, size_t err_len)
{
	int one = 1;

	for (;;) {
		struct pollfd pfd = { .fd = g->listen_fd, .events = POLLIN };

		if (vm_stopping(g->vm)) {
			snprintf(err, err_len, "stopped before gdb connected");
			return -ECANCELED;
		}
		if (poll(&pfd, 1, GDB_POLL_MS) <= 0)
			continue;
		g->fd = accept4(g->listen_fd, NULL, NULL, SOCK_CLOEXEC);
		if (g->fd >= 0)
			break;
		if (errno != EINTR && errno != ECONNABORTED && errno != EAGAIN) {
			int r = -errno;

			snprintf(err, err_len, "--gdb: accept: %s", strerror(-r));
			return r;
		}
	}
	/* One debugger per VM: nobody else may connect now. */
	close(g->listen_fd);
	g->listen_fd = -1;
	if (g->where.is_unix)
		unlink(g->where.path);
	else	/* small packets, answered at once */
		setsockopt(g->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	atomic_store(&g->attached, true);
	fprintf(stderr, "trapeze: gdb connected\n");
	if (g->software)
		fprintf(stderr, "trapeze: gdb: note: this host's KVM (kvm_pvm, a software backend) "
			"runs CPL-3 guest code natively, so breakpoints and single-step work in CPL-0 "
			"code only; breakpoints are the 4 debug registers (it cannot emulate int3 at "
			"CPL 0, so there is no fifth); and it has no watchpoints\n");
	return 0;
}

int gdbstub_create(struct gdbstub **out, struct vm *vm, struct pause *pause, char *err,
		   size_t err_len)
{
	struct gdbstub *g;
	int r;

	*out = NULL;
	g = calloc(1, sizeof(*g));
	if (!g) {
		snprintf(err, err_len, "cannot set up --gdb: %s", strerror(ENOMEM));
		return -ENOMEM;
	}
	g->vm = vm;
	g->pause = pause;
	g->listen_fd = g->fd = g->event_fd = -1;
	atomic_init(&g->attached, false);
	pthread_mutex_init(&g->lock, NULL);
	gdb_rx_init(&g->rx);
	g->software = vm->kvm->software_backend;
	r = kvm_check_cap(vm->kvm, KVM_CAP_SET_GUEST_DEBUG2);
	g->dbg_caps = r > 0 ? (u32)r : 0;
	g->control = calloc(vm->nr_vcpus, sizeof(*g->control));
	g->stepping = calloc(vm->nr_vcpus, sizeof(*g->stepping));
	g->step_rip = calloc(vm->nr_vcpus, sizeof(*g->step_rip));
	g->event_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (!g->control || !g->stepping || !g->step_rip || g->event_fd < 0) {
		r = g->event_fd < 0 ? -errno : -ENOMEM;
		snprintf(err, err_len, "cannot set up --gdb: %s", strerror(-r));
		goto out_destroy;
	}
	r = gdbstub_parse_listen(vm->cfg->gdb, &g->where, err, err_len);
	if (!r)
		r = gdb_listen(g, err, err_len);
	if (!r)
		r = gdb_accept(g, err, err_len);
	if (r)
		goto out_destroy;
	r = -pthread_create(&g->thread, NULL, gdb_thread, g);
	if (r) {
		snprintf(err, err_len, "cannot start the gdb stub thread: %s", strerror(-r));
		goto out_destroy;
	}
	g->thread_started = true;
	*out = g;
	return 0;

out_destroy:
	gdbstub_destroy(g);
	return r;
}

void gdbstub_destroy(struct gdbstub *g)
{
	if (!g)
		return;
	if (g->thread_started)
		pthread_join(g->thread, NULL);	/* it ends once the VM stops */
	if (g->fd >= 0)
		close(g->fd);
	if (g->listen_fd >= 0) {
		close(g->listen_fd);
		if (g->where.is_unix)
			unlink(g->where.path);
	}
	if (g->event_fd >= 0)
		close(g->event_fd);
	for (unsigned int i = 0; i < g->nr_queued; i++)
		free(g->queue[i]);
	free(g->control);
	free(g->stepping);
	free(g->step_rip);
	pthread_mutex_destroy(&g->lock);
	free(g);
}

/*
 * A port I/O or MMIO exit of a vCPU that single-steps: where RIP already
 * moved past the instruction (kvm_pvm does that for `out`, and then gives
 * no single-step trap for it: measured), the step is over now; otherwise
 * KVM finishes the instruction on the next KVM_RUN and traps after it.
 */
static bool gdb_step_done_at_exit(struct gdbstub *g, struct vcpu *vcpu, const struct vm_exit *e)
{
	struct kvm_regs regs;

	return (e->kind == VM_EXIT_IO || e->kind == VM_EXIT_MMIO) && g->stepping[vcpu->id] &&
	       ioctl(vcpu->fd, KVM_GET_REGS, &regs) == 0 && regs.rip != g->step_rip[vcpu->id];
}

void gdbstub_after_exit(struct gdbstub *g, struct vcpu *vcpu, const struct vm_exit *e)
{
	enum gdb_event_kind ev;
	u64 addr = 0, one = 1;

	if (!atomic_load(&g->attached))
		return;
	if (gdb_step_done_at_exit(g, vcpu, e))
		ev = GDB_EV_STEP;
	else if (e->kind == VM_EXIT_DEBUG)
		ev = gdb_target_classify(g, vcpu, e, &addr);
	else
		return;
	if (ev == GDB_EV_NONE)
		return;
	pthread_mutex_lock(&g->lock);
	if (g->ev == GDB_EV_NONE) {	/* the first event of a run is the one reported */
		g->ev = ev;
		g->ev_vcpu = vcpu->id;
		g->ev_addr = addr;
	}
	pthread_mutex_unlock(&g->lock);
	/* Park at the pause point before running again; the stub stops the rest. */
	pause_request(g->pause, vcpu);
	if (write(g->event_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		fprintf(stderr, "trapeze: gdb: cannot wake the stub: %s\n", strerror(errno));
}

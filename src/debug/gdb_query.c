/*
 * The GDB stub's packets that read and change a stopped guest: threads,
 * registers, memory, breakpoints, the target description, queries and
 * `monitor` commands.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gdbstub_priv.h"
#include "trapeze/debug/inspect.h"
#include "trapeze/debug/step_cmd.h"
#include "trapeze/vcpu.h"
#include "trapeze/vm.h"

static bool gdb_tid_ok(struct gdbstub *g, long tid)
{
	return tid == -1 || tid == 0 || (tid > 0 && tid <= (long)g->vm->nr_vcpus);
}

void gdb_set_thread(struct gdbstub *g, const char *p)
{
	const char *end;
	long tid;

	if ((p[0] != 'g' && p[0] != 'c') || gdb_parse_thread_id(p + 1, &tid, &end) || *end ||
	    !gdb_tid_ok(g, tid)) {
		gdb_send_error(g, EINVAL);
		return;
	}
	if (p[0] == 'g' && tid > 0)
		g->g_vcpu = (unsigned int)tid - 1;
	gdb_send_str(g, "OK");
}

void gdb_read_regs(struct gdbstub *g)
{
	struct gdb_x86_regs r;
	u8 block[GDB_REGS_BYTES];
	int e = gdb_target_get_regs(g, g->g_vcpu, &r);

	if (e) {
		gdb_send_error(g, e);
		return;
	}
	gdb_regs_pack(&r, block);
	gdb_hex_encode(g->reply, block, sizeof(block));
	gdb_send(g, g->reply, 2 * sizeof(block));
}

void gdb_write_regs(struct gdbstub *g, const char *hex, size_t len)
{
	struct gdb_x86_regs r;
	u8 block[GDB_REGS_BYTES];
	int e;

	if (gdb_hex_decode(hex, len, block, sizeof(block))) {
		gdb_send_error(g, EINVAL);
		return;
	}
	gdb_regs_unpack(&r, block);
	e = gdb_target_set_regs(g, g->g_vcpu, &r);
	if (e == -EPERM)
		fprintf(stderr, "trapeze: gdb: changing segment selectors is not supported\n");
	if (e)
		gdb_send_error(g, e);
	else
		gdb_send_str(g, "OK");
}

/* p N and P N=VALUE. */
void gdb_one_reg(struct gdbstub *g, bool write, const char *p, size_t len)
{
	const char *start = p;
	struct gdb_x86_regs r;
	u8 val[16];
	char hex[33];
	u64 n;
	size_t size;
	int e;

	if (gdb_parse_hex(&p, &n) || n >= GDB_NR_REGS || (write ? *p != '=' : *p != '\0')) {
		gdb_send_error(g, EINVAL);
		return;
	}
	size = gdb_reg_size((unsigned int)n);
	e = gdb_target_get_regs(g, g->g_vcpu, &r);
	if (e) {
		gdb_send_error(g, e);
		return;
	}
	if (!write) {
		gdb_reg_get(&r, (unsigned int)n, val);
		gdb_hex_encode(hex, val, size);
		gdb_send_str(g, hex);
		return;
	}
	p++;
	if (gdb_hex_decode(p, len - (size_t)(p - start), val, size)) {
		gdb_send_error(g, EINVAL);
		return;
	}
	gdb_reg_set(&r, (unsigned int)n, val);
	e = gdb_target_set_regs(g, g->g_vcpu, &r);
	if (e == -EPERM)
		fprintf(stderr, "trapeze: gdb: changing segment selectors is not supported\n");
	if (e)
		gdb_send_error(g, e);
	else
		gdb_send_str(g, "OK");
}

void gdb_read_mem(struct gdbstub *g, const char *p)
{
	u64 addr, len, done;

	if (gdb_parse_mem_read(p, &addr, &len)) {
		gdb_send_error(g, EINVAL);
		return;
	}
	if (len > sizeof(g->data))
		len = sizeof(g->data);	/* gdb asks again for the rest */
	gdb_target_read(g, g->g_vcpu, addr, g->data, len, &done);
	if (!done && len) {
		gdb_send_error(g, EFAULT);
		return;
	}
	gdb_hex_encode(g->reply, g->data, (size_t)done);
	gdb_send(g, g->reply, (size_t)(2 * done));
}

void gdb_write_mem(struct gdbstub *g, const char *p, size_t len)
{
	u64 addr, n;

	if (gdb_parse_mem_write(p, len, &addr, &n, g->data, sizeof(g->data))) {
		gdb_send_error(g, EINVAL);
		return;
	}
	if (n && gdb_target_write(g, g->g_vcpu, addr, g->data, n))
		gdb_send_error(g, EFAULT);
	else
		gdb_send_str(g, "OK");
}

/* X ADDR,LEN:BINARY (the framing already undid the escapes). */
void gdb_write_mem_binary(struct gdbstub *g, const char *p, size_t len)
{
	const char *start = p;
	u64 addr, n;

	if (gdb_parse_hex(&p, &addr) || *p++ != ',' || gdb_parse_hex(&p, &n) || *p++ != ':' ||
	    (size_t)(p - start) > len || n != len - (size_t)(p - start)) {
		gdb_send_error(g, EINVAL);
		return;
	}
	if (n && gdb_target_write(g, g->g_vcpu, addr, p, n))
		gdb_send_error(g, EFAULT);
	else
		gdb_send_str(g, "OK");
}

void gdb_breakpoint(struct gdbstub *g, bool insert, const char *p)
{
	unsigned int type;
	u64 addr, kind;
	int e;

	if (gdb_parse_breakpoint(p, &type, &addr, &kind)) {
		gdb_send_error(g, EINVAL);
		return;
	}
	if (insert && g->software && (type == GDB_WP_WRITE || type == GDB_WP_ACCESS)) {
		/* Measured: a watched variable changed by CPL-0 code never stopped the guest. */
		fprintf(stderr, "trapeze: gdb: watchpoints are not supported by this host's KVM "
			"(kvm_pvm emulates CPL-0 code without checking debug-register data "
			"breakpoints); in gdb, 'set can-use-hw-watchpoints 0' gives software "
			"watchpoints (gdb single-steps)\n");
		gdb_send_error(g, ENOTSUP);
		return;
	}
	e = insert ? gdb_bp_insert(g, type, addr, kind) : gdb_bp_remove(g, type, addr, kind);
	if (e == -ENOTSUP) {
		gdb_send_str(g, "");	/* gdb then knows this type is not served */
		return;
	}
	if (e == -ENOSPC && insert)
		fprintf(stderr, "trapeze: gdb: no free debug register for the %s at 0x%llx (4 in all%s)\n",
			type == GDB_BP_SW ? "breakpoint" : type == GDB_BP_HW ? "hardware breakpoint" :
			"watchpoint", (unsigned long long)addr,
			g->software ? "; this host's KVM cannot emulate int3 at CPL 0, so software breakpoints need them too" : "");
	if (e)
		gdb_send_error(g, e);
	else
		gdb_send_str(g, "OK");
}

static void gdb_xfer_features(struct gdbstub *g, const char *p)
{
	const char *xml = gdb_regs_target_xml();
	size_t total = strlen(xml);
	u64 off, len;

	if (strncmp(p, "target.xml:", 11)) {
		gdb_send_error(g, ENOENT);
		return;
	}
	p += 11;
	if (gdb_parse_hex(&p, &off) || *p++ != ',' || gdb_parse_hex(&p, &len) || *p) {
		gdb_send_error(g, EINVAL);
		return;
	}
	if (off >= total) {
		gdb_send_str(g, "l");
		return;
	}
	if (len > total - off)
		len = total - off;
	if (len > GDB_PACKET_MAX - 1)
		len = GDB_PACKET_MAX - 1;
	g->reply[0] = off + len < total ? 'm' : 'l';
	memcpy(g->reply + 1, xml + off, (size_t)len);
	gdb_send(g, g->reply, (size_t)len + 1);
}

/* `monitor CMD`: trapeze's inspection commands, output on gdb's console. */
static void gdb_monitor(struct gdbstub *g, const char *hex)
{
	char text[STEP_LINE_MAX + 1], err[160];
	size_t n = strlen(hex) / 2;
	struct step_cmd c;
	char *out = NULL;
	size_t out_len = 0;
	FILE *f;

	if (n > STEP_LINE_MAX || gdb_hex_decode(hex, strlen(hex), text, n)) {
		gdb_send_error(g, EINVAL);
		return;
	}
	text[n] = '\0';
	f = open_memstream(&out, &out_len);
	if (!f) {
		gdb_send_error(g, ENOMEM);
		return;
	}
	if (step_cmd_parse(text, &c, err, sizeof(err))) {
		fprintf(f, "monitor: %s\n", err);
	} else {
		struct vcpu *v = &g->vm->vcpus[g->g_vcpu];

		switch (c.kind) {
		case STEP_CMD_REGS:
			inspect_regs(v, f);
			break;
		case STEP_CMD_SREGS:
			inspect_sregs(v, f);
			break;
		case STEP_CMD_PHYS:
			inspect_phys(g->vm, c.addr, c.len, f);
			break;
		case STEP_CMD_VIRT:
			inspect_virt(g->vm, v, c.addr, c.len, f);
			break;
		case STEP_CMD_TRANSLATE:
			inspect_translate(g->vm, v, c.addr, f);
			break;
		case STEP_CMD_WALK:
			inspect_walk(g->vm, v, c.addr, f);
			break;
		case STEP_CMD_DEV:
			inspect_dev(g->vm, c.addr, f);
			break;
		case STEP_CMD_NONE:
		case STEP_CMD_HELP:
			fputs("trapeze monitor commands (on the thread selected in gdb):\n"
			      "  regs, sregs, x ADDR [LEN], xv VADDR [LEN], tr VADDR, walk VADDR,\n"
			      "  dev PORT|ADDR  (see docs/debugging.md)\n", f);
			break;
		default:
			fputs("monitor: use gdb's own commands to run, step or quit\n", f);
			break;
		}
	}
	fclose(f);
	if (out)
		gdb_send_console(g, out, out_len);
	free(out);
	gdb_send_str(g, "OK");
}

void gdb_query(struct gdbstub *g, const char *p)
{
	char buf[256];

	if (!strncmp(p, "qSupported", 10)) {
		snprintf(buf, sizeof(buf), "PacketSize=%x;qXfer:features:read+;swbreak+;hwbreak+;"
			 "vContSupported+;QStartNoAckMode+", GDB_PACKET_MAX);
		gdb_send_str(g, buf);
	} else if (!strcmp(p, "qC")) {
		snprintf(buf, sizeof(buf), "QC%x", g->g_vcpu + 1);
		gdb_send_str(g, buf);
	} else if (!strcmp(p, "qfThreadInfo")) {
		size_t o = (size_t)snprintf(buf, sizeof(buf), "m");

		for (unsigned int i = 0; i < g->vm->nr_vcpus && o < sizeof(buf) - 8; i++)
			o += (size_t)snprintf(buf + o, sizeof(buf) - o, "%s%x", i ? "," : "", i + 1);
		gdb_send_str(g, buf);
	} else if (!strcmp(p, "qsThreadInfo")) {
		gdb_send_str(g, "l");
	} else if (!strncmp(p, "qThreadExtraInfo,", 17)) {
		const char *end;
		long tid;
		char text[32], hex[65];

		if (gdb_parse_thread_id(p + 17, &tid, &end) || tid < 1 ||
		    tid > (long)g->vm->nr_vcpus) {
			gdb_send_error(g, EINVAL);
			return;
		}
		snprintf(text, sizeof(text), "vCPU %ld", tid - 1);
		gdb_hex_encode(hex, text, strlen(text));
		gdb_send_str(g, hex);
	} else if (!strcmp(p, "qAttached")) {
		gdb_send_str(g, "1");	/* we were there first: detach, do not kill */
	} else if (!strncmp(p, "qSymbol:", 8)) {
		gdb_send_str(g, "OK");
	} else if (!strncmp(p, "qXfer:features:read:", 20)) {
		gdb_xfer_features(g, p + 20);
	} else if (!strncmp(p, "qRcmd,", 6)) {
		gdb_monitor(g, p + 6);
	} else {
		gdb_send_str(g, "");
	}
}

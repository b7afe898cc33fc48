/*
 * Unit tests for the GDB remote protocol layer: the receiver (checksums,
 * escapes, run-lengths, interrupts, acks, malformed and oversized packets),
 * framing, hex helpers, the packet-body parsers, and the register file
 * (layout, target.xml, conversion from and to KVM's structs).
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "trapeze/debug/gdb_packet.h"
#include "trapeze/debug/gdb_regs.h"

static struct gdb_rx rx;

/* Feeds a whole string; returns the last event that was not NONE. */
static enum gdb_rx_event feed(const char *s, size_t n)
{
	enum gdb_rx_event last = GDB_RX_NONE;

	for (size_t i = 0; i < n; i++) {
		enum gdb_rx_event ev = gdb_rx_feed(&rx, (u8)s[i]);

		if (ev != GDB_RX_NONE)
			last = ev;
	}
	return last;
}

#define FEED(s) feed((s), sizeof(s) - 1)

static void setup(void)
{
	gdb_rx_init(&rx);
}

START_TEST(test_plain_packet)
{
	/* 'g' is 0x67: checksum 67. */
	ck_assert_int_eq(FEED("$g#67"), GDB_RX_PACKET);
	ck_assert_str_eq(rx.payload, "g");
	ck_assert_uint_eq(rx.payload_len, 1);
	/* qSupported with features, checksum computed by hand: */
	{
		const char *p = "qSupported:multiprocess+;swbreak+";
		char wire[128];

		snprintf(wire, sizeof(wire), "$%s#%02x", p, gdb_checksum(p, strlen(p)));
		ck_assert_int_eq(feed(wire, strlen(wire)), GDB_RX_PACKET);
		ck_assert_str_eq(rx.payload, p);
	}
}
END_TEST

START_TEST(test_checksum_upper_case_and_empty)
{
	ck_assert_int_eq(FEED("$#00"), GDB_RX_PACKET);
	ck_assert_uint_eq(rx.payload_len, 0);
	ck_assert_str_eq(rx.payload, "");
	/* "?" is 0x3f; digits in either case. */
	ck_assert_int_eq(FEED("$?#3F"), GDB_RX_PACKET);
	ck_assert_str_eq(rx.payload, "?");
}
END_TEST

START_TEST(test_bad_checksum)
{
	ck_assert_int_eq(FEED("$g#68"), GDB_RX_BAD_CHECKSUM);
	/* Not hex in the checksum. */
	ck_assert_int_eq(FEED("$g#6z"), GDB_RX_BAD_CHECKSUM);
	ck_assert_int_eq(FEED("$g#x7"), GDB_RX_BAD_CHECKSUM);
	/* The receiver recovers for the next packet. */
	ck_assert_int_eq(FEED("$g#67"), GDB_RX_PACKET);
}
END_TEST

START_TEST(test_interrupt_and_acks)
{
	ck_assert_int_eq(gdb_rx_feed(&rx, 0x03), GDB_RX_INTERRUPT);
	ck_assert_int_eq(gdb_rx_feed(&rx, '+'), GDB_RX_ACK);
	ck_assert_int_eq(gdb_rx_feed(&rx, '-'), GDB_RX_NAK);
	/* Noise between packets is ignored. */
	ck_assert_int_eq(gdb_rx_feed(&rx, 'x'), GDB_RX_NONE);
	ck_assert_int_eq(gdb_rx_feed(&rx, '\n'), GDB_RX_NONE);
	/* Inside a packet, 0x03, '+' and '-' are data. */
	{
		char wire[32];
		const char p[] = "a\x03+-";

		snprintf(wire, sizeof(wire), "$%s#%02x", p, gdb_checksum(p, 4));
		ck_assert_int_eq(feed(wire, strlen(wire)), GDB_RX_PACKET);
		ck_assert_uint_eq(rx.payload_len, 4);
		ck_assert_mem_eq(rx.payload, p, 4);
	}
}
END_TEST

START_TEST(test_escapes)
{
	/* X packet data "#$}*" escaped: "}\x03}\x04}]}\x0a"; checksum over the raw bytes. */
	const char raw[] = "X0,4:}\x03}\x04}]}\x0a";
	char wire[64];
	int n;

	n = snprintf(wire, sizeof(wire), "$%s#%02x", raw, gdb_checksum(raw, sizeof(raw) - 1));
	ck_assert_int_eq(feed(wire, (size_t)n), GDB_RX_PACKET);
	ck_assert_uint_eq(rx.payload_len, 9);
	ck_assert_mem_eq(rx.payload, "X0,4:#$}*", 9);
}
END_TEST

START_TEST(test_escaped_hash_is_data)
{
	/* "}\x03" is '#', which must not end the packet. */
	const char raw[] = "a}\x03" "b";
	char wire[32];
	int n = snprintf(wire, sizeof(wire), "$%s#%02x", raw, gdb_checksum(raw, 4));

	ck_assert_int_eq(feed(wire, (size_t)n), GDB_RX_PACKET);
	ck_assert_str_eq(rx.payload, "a#b");
}
END_TEST

START_TEST(test_run_length)
{
	/* "0* " is '0' repeated 32 - 29 = 3 more times: "0000". */
	const char raw[] = "0* 1";
	char wire[32];
	int n = snprintf(wire, sizeof(wire), "$%s#%02x", raw, gdb_checksum(raw, 4));

	ck_assert_int_eq(feed(wire, (size_t)n), GDB_RX_PACKET);
	ck_assert_str_eq(rx.payload, "00001");
}
END_TEST

START_TEST(test_bad_run_length)
{
	u8 out[16];

	/* A run with nothing before it, and a run count that is cut off. */
	ck_assert_int_eq(gdb_payload_decode((const u8 *)"*#", 2, out, sizeof(out)), -EINVAL);
	ck_assert_int_eq(gdb_payload_decode((const u8 *)"a*", 2, out, sizeof(out)), -EINVAL);
	/* A count byte that is not printable. */
	ck_assert_int_eq(gdb_payload_decode((const u8 *)"a*\x01", 3, out, sizeof(out)), -EINVAL);
	/* A trailing escape. */
	ck_assert_int_eq(gdb_payload_decode((const u8 *)"a}", 2, out, sizeof(out)), -EINVAL);
	/* A run that expands past the buffer: 'a' + 97 more into 16 bytes. */
	ck_assert_int_eq(gdb_payload_decode((const u8 *)"a*~", 3, out, sizeof(out)), -E2BIG);
	/* Exactly filling it is fine: 'a' + 15. */
	ck_assert_int_eq(gdb_payload_decode((const u8 *)"a*,", 3, out, sizeof(out)), 16);
	/* Through the receiver: reported as a bad packet, not a crash. */
	{
		char wire[16];
		int n = snprintf(wire, sizeof(wire), "$*a#%02x", gdb_checksum("*a", 2));

		ck_assert_int_eq(feed(wire, (size_t)n), GDB_RX_BAD_PACKET);
	}
}
END_TEST

START_TEST(test_oversize_packet)
{
	char *big = malloc(GDB_PACKET_MAX + 100);
	u8 sum = 0;
	char tail[4];

	ck_assert_ptr_nonnull(big);
	memset(big, 'a', GDB_PACKET_MAX + 100);
	ck_assert_int_eq(gdb_rx_feed(&rx, '$'), GDB_RX_NONE);
	for (size_t i = 0; i < GDB_PACKET_MAX + 100; i++) {
		ck_assert_int_eq(gdb_rx_feed(&rx, (u8)big[i]), GDB_RX_NONE);
		sum += 'a';
	}
	snprintf(tail, sizeof(tail), "#%02x", sum);
	ck_assert_int_eq(feed(tail, 3), GDB_RX_BAD_PACKET);
	/* A packet of exactly the maximum is accepted. */
	sum = gdb_checksum(big, GDB_PACKET_MAX);
	gdb_rx_feed(&rx, '$');
	for (size_t i = 0; i < GDB_PACKET_MAX; i++)
		gdb_rx_feed(&rx, (u8)big[i]);
	snprintf(tail, sizeof(tail), "#%02x", sum);
	ck_assert_int_eq(feed(tail, 3), GDB_RX_PACKET);
	ck_assert_uint_eq(rx.payload_len, GDB_PACKET_MAX);
	free(big);
}
END_TEST

START_TEST(test_restart_on_dollar)
{
	/* A '$' inside a packet abandons it and starts a new one. */
	ck_assert_int_eq(FEED("$garbage$g#67"), GDB_RX_PACKET);
	ck_assert_str_eq(rx.payload, "g");
}
END_TEST

START_TEST(test_encode)
{
	char out[64];
	size_t n;

	n = gdb_packet_encode(out, sizeof(out), "OK", 2);
	ck_assert_uint_eq(n, 6);
	ck_assert_mem_eq(out, "$OK#9a", 6);
	n = gdb_packet_encode(out, sizeof(out), "", 0);
	ck_assert_mem_eq(out, "$#00", 4);
	/* Special bytes are escaped, and the checksum covers the escapes. */
	n = gdb_packet_encode(out, sizeof(out), "a#$}*", 5);
	ck_assert_uint_eq(n, 1 + 9 + 3);
	ck_assert_mem_eq(out, "$a}\x03}\x04}]}\x0a#", 11);
	{
		char want[3];

		snprintf(want, sizeof(want), "%02x", gdb_checksum("a}\x03}\x04}]}\x0a", 9));
		ck_assert_mem_eq(out + 11, want, 2);
	}
	/* What encode writes, the receiver reads back. */
	gdb_rx_init(&rx);
	ck_assert_int_eq(feed(out, n), GDB_RX_PACKET);
	ck_assert_mem_eq(rx.payload, "a#$}*", 5);
	/* Too small a buffer: 0, never a partial packet. */
	ck_assert_uint_eq(gdb_packet_encode(out, 5, "OK", 2), 0);
	ck_assert_uint_eq(gdb_packet_encode(out, 6, "OK", 2), 6);
}
END_TEST

START_TEST(test_hex)
{
	char out[16];
	u8 bytes[4];

	gdb_hex_encode(out, "\x01\xab\xff", 3);
	ck_assert_str_eq(out, "01abff");
	ck_assert_int_eq(gdb_hex_decode("01ABff", 6, bytes, 3), 0);
	ck_assert_mem_eq(bytes, "\x01\xab\xff", 3);
	ck_assert_int_eq(gdb_hex_decode("01a", 3, bytes, 2), -EINVAL);
	ck_assert_int_eq(gdb_hex_decode("0g", 2, bytes, 1), -EINVAL);
	ck_assert_int_eq(gdb_hex_decode("0102", 4, bytes, 1), -EINVAL);
	ck_assert_int_eq(gdb_hex_digit('F'), 15);
	ck_assert_int_eq(gdb_hex_digit('g'), -1);
}
END_TEST

START_TEST(test_parse_hex_number)
{
	const char *p = "ffffffffffffffff,";
	u64 v;

	ck_assert_int_eq(gdb_parse_hex(&p, &v), 0);
	ck_assert_uint_eq(v, UINT64_MAX);
	ck_assert_int_eq(*p, ',');
	p = "10000000000000000";	/* 65 bits */
	ck_assert_int_eq(gdb_parse_hex(&p, &v), -EINVAL);
	p = ",1";
	ck_assert_int_eq(gdb_parse_hex(&p, &v), -EINVAL);
	/* Leading zeroes do not count against the 64 bits. */
	p = "00000000000000000001";
	ck_assert_int_eq(gdb_parse_hex(&p, &v), 0);
	ck_assert_uint_eq(v, 1);
}
END_TEST

START_TEST(test_parse_mem)
{
	u64 addr, len;
	u8 data[8];
	const char *w = "1000,3:a1b2c3";

	ck_assert_int_eq(gdb_parse_mem_read("ffffffff81000000,40", &addr, &len), 0);
	ck_assert_uint_eq(addr, 0xffffffff81000000ull);
	ck_assert_uint_eq(len, 0x40);
	ck_assert_int_eq(gdb_parse_mem_read("1000", &addr, &len), -EINVAL);
	ck_assert_int_eq(gdb_parse_mem_read("1000,", &addr, &len), -EINVAL);
	ck_assert_int_eq(gdb_parse_mem_read("1000,4x", &addr, &len), -EINVAL);
	ck_assert_int_eq(gdb_parse_mem_read(",4", &addr, &len), -EINVAL);

	ck_assert_int_eq(gdb_parse_mem_write(w, strlen(w), &addr, &len, data, sizeof(data)), 0);
	ck_assert_uint_eq(addr, 0x1000);
	ck_assert_uint_eq(len, 3);
	ck_assert_mem_eq(data, "\xa1\xb2\xc3", 3);
	/* Data shorter or longer than LEN, a LEN bigger than the buffer, bad hex. */
	w = "1000,3:a1b2";
	ck_assert_int_eq(gdb_parse_mem_write(w, strlen(w), &addr, &len, data, sizeof(data)), -EINVAL);
	w = "1000,1:a1b2";
	ck_assert_int_eq(gdb_parse_mem_write(w, strlen(w), &addr, &len, data, sizeof(data)), -EINVAL);
	w = "1000,9:";
	ck_assert_int_eq(gdb_parse_mem_write(w, strlen(w), &addr, &len, data, sizeof(data)), -EINVAL);
	w = "1000,1:zz";
	ck_assert_int_eq(gdb_parse_mem_write(w, strlen(w), &addr, &len, data, sizeof(data)), -EINVAL);
	w = "1000,1";
	ck_assert_int_eq(gdb_parse_mem_write(w, strlen(w), &addr, &len, data, sizeof(data)), -EINVAL);
	/* A zero-length write is well-formed (gdb probes with "M addr,0:"). */
	w = "1000,0:";
	ck_assert_int_eq(gdb_parse_mem_write(w, strlen(w), &addr, &len, data, sizeof(data)), 0);
	ck_assert_uint_eq(len, 0);
}
END_TEST

START_TEST(test_parse_breakpoint)
{
	unsigned int type;
	u64 addr, kind;

	ck_assert_int_eq(gdb_parse_breakpoint("0,100020,1", &type, &addr, &kind), 0);
	ck_assert_uint_eq(type, 0);
	ck_assert_uint_eq(addr, 0x100020);
	ck_assert_uint_eq(kind, 1);
	ck_assert_int_eq(gdb_parse_breakpoint("1,ffffffff81000000,1;X3,abc", &type, &addr, &kind), 0);
	ck_assert_uint_eq(type, 1);
	ck_assert_int_eq(gdb_parse_breakpoint("5,1000,1", &type, &addr, &kind), -EINVAL);
	ck_assert_int_eq(gdb_parse_breakpoint("0,1000", &type, &addr, &kind), -EINVAL);
	ck_assert_int_eq(gdb_parse_breakpoint("0,1000,1x", &type, &addr, &kind), -EINVAL);
	ck_assert_int_eq(gdb_parse_breakpoint("", &type, &addr, &kind), -EINVAL);
}
END_TEST

START_TEST(test_parse_thread_and_vcont)
{
	struct gdb_vcont_action a[GDB_VCONT_MAX];
	const char *end;
	long tid;

	ck_assert_int_eq(gdb_parse_thread_id("-1", &tid, &end), 0);
	ck_assert_int_eq(tid, -1);
	ck_assert_int_eq(gdb_parse_thread_id("0", &tid, &end), 0);
	ck_assert_int_eq(tid, 0);
	ck_assert_int_eq(gdb_parse_thread_id("1f;", &tid, &end), 0);
	ck_assert_int_eq(tid, 0x1f);
	ck_assert_int_eq(*end, ';');
	ck_assert_int_eq(gdb_parse_thread_id("p1.2", &tid, &end), 0);
	ck_assert_int_eq(tid, 2);
	ck_assert_int_eq(gdb_parse_thread_id("p1.-1", &tid, &end), 0);
	ck_assert_int_eq(tid, -1);
	ck_assert_int_eq(gdb_parse_thread_id("x", &tid, &end), -EINVAL);

	ck_assert_int_eq(gdb_parse_vcont(";c", a, GDB_VCONT_MAX), 1);
	ck_assert_int_eq(a[0].action, 'c');
	ck_assert_int_eq(a[0].tid, -1);
	ck_assert_int_eq(gdb_parse_vcont(";s:2;c", a, GDB_VCONT_MAX), 2);
	ck_assert_int_eq(a[0].action, 's');
	ck_assert_int_eq(a[0].tid, 2);
	ck_assert_int_eq(a[1].action, 'c');
	ck_assert_int_eq(a[1].tid, -1);
	ck_assert_int_eq(gdb_parse_vcont(";S05:1", a, GDB_VCONT_MAX), 1);
	ck_assert_int_eq(a[0].action, 's');
	ck_assert_int_eq(a[0].tid, 1);
	ck_assert_int_eq(gdb_parse_vcont(";t", a, GDB_VCONT_MAX), -EINVAL);
	ck_assert_int_eq(gdb_parse_vcont(";r1000,2000", a, GDB_VCONT_MAX), -EINVAL);
	ck_assert_int_eq(gdb_parse_vcont("", a, GDB_VCONT_MAX), -EINVAL);
	ck_assert_int_eq(gdb_parse_vcont(";c:zz", a, GDB_VCONT_MAX), -EINVAL);
	ck_assert_int_eq(gdb_parse_vcont(";c;c;c", a, 2), -EINVAL);
}
END_TEST

/* --- the register file --------------------------------------------------- */

START_TEST(test_reg_layout)
{
	ck_assert_uint_eq(gdb_reg_size(0), 8);
	ck_assert_uint_eq(gdb_reg_size(GDB_REG_RIP), 8);
	ck_assert_uint_eq(gdb_reg_size(GDB_REG_EFLAGS), 4);
	ck_assert_uint_eq(gdb_reg_size(GDB_REG_GS), 4);
	ck_assert_uint_eq(gdb_reg_size(GDB_REG_ST0), 10);
	ck_assert_uint_eq(gdb_reg_size(GDB_REG_FOP), 4);
	ck_assert_uint_eq(gdb_reg_size(GDB_REG_XMM0 + 15), 16);
	ck_assert_uint_eq(gdb_reg_size(GDB_REG_MXCSR), 4);
	ck_assert_uint_eq(gdb_reg_size(GDB_REG_GS_BASE), 8);
	ck_assert_uint_eq(gdb_reg_size(GDB_NR_REGS), 0);
	ck_assert_uint_eq(gdb_reg_offset(GDB_REG_RIP), 128);
	ck_assert_uint_eq(gdb_reg_offset(GDB_REG_EFLAGS), 136);
	ck_assert_uint_eq(gdb_reg_offset(GDB_REG_ST0), 164);
	ck_assert_uint_eq(gdb_reg_offset(GDB_REG_XMM0), 276);
	ck_assert_uint_eq(gdb_reg_offset(GDB_REG_FS_BASE), 536);
	ck_assert_uint_eq(gdb_reg_offset(GDB_NR_REGS), GDB_REGS_BYTES);
	ck_assert_uint_eq(GDB_REGS_BYTES, 552);
}
END_TEST

/* Counts occurrences of needle in hay. */
static int count_of(const char *hay, const char *needle)
{
	int n = 0;

	for (const char *p = hay; (p = strstr(p, needle)); p++)
		n++;
	return n;
}

START_TEST(test_target_xml_matches_layout)
{
	const char *x = gdb_regs_target_xml();
	static const char *const core[] = {
		"rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rbp", "rsp", "r8", "r9", "r10",
		"r11", "r12", "r13", "r14", "r15", "rip", "eflags", "cs", "ss", "ds", "es",
		"fs", "gs", "st0", "st1", "st2", "st3", "st4", "st5", "st6", "st7", "fctrl",
		"fstat", "ftag", "fiseg", "fioff", "foseg", "fooff", "fop",
	};
	const char *prev = x;

	ck_assert_ptr_nonnull(strstr(x, "<architecture>i386:x86-64</architecture>"));
	ck_assert_ptr_nonnull(strstr(x, "<feature name=\"org.gnu.gdb.i386.core\">"));
	ck_assert_ptr_nonnull(strstr(x, "<feature name=\"org.gnu.gdb.i386.sse\">"));
	ck_assert_ptr_nonnull(strstr(x, "<feature name=\"org.gnu.gdb.i386.segments\">"));
	/* Every register in order, with the size our layout gives it. */
	ck_assert_int_eq(count_of(x, "<reg "), GDB_NR_REGS);
	for (unsigned int n = 0; n < GDB_NR_REGS; n++) {
		char name[16], want[64];
		const char *at;

		if (n < ARRAY_SIZE(core))
			snprintf(name, sizeof(name), "%s", core[n]);
		else if (n < GDB_REG_MXCSR)
			snprintf(name, sizeof(name), "xmm%u", n - GDB_REG_XMM0);
		else
			snprintf(name, sizeof(name), "%s",
				 n == GDB_REG_MXCSR ? "mxcsr" : n == GDB_REG_FS_BASE ? "fs_base" : "gs_base");
		snprintf(want, sizeof(want), "<reg name=\"%s\" bitsize=\"%zu\"", name,
			 gdb_reg_size(n) * 8);
		at = strstr(x, want);
		ck_assert_msg(at != NULL, "register %u (%s) missing", n, want);
		ck_assert_msg(at > prev, "register %u (%s) out of order", n, name);
		prev = at;
	}
	/* The first register of each feature pins its number. */
	ck_assert_ptr_nonnull(strstr(x, "name=\"rax\" bitsize=\"64\" type=\"int64\" regnum=\"0\""));
	ck_assert_ptr_nonnull(strstr(x, "name=\"xmm0\" bitsize=\"128\" type=\"uint128\" regnum=\"40\""));
	ck_assert_ptr_nonnull(strstr(x, "name=\"fs_base\" bitsize=\"64\" type=\"int64\" regnum=\"57\""));
	/* Nothing the framing would have to escape. */
	ck_assert_ptr_null(strpbrk(x, "#$}*"));
}
END_TEST

START_TEST(test_regs_pack_unpack)
{
	struct gdb_x86_regs r, back;
	u8 block[GDB_REGS_BYTES], one[16];

	memset(&r, 0, sizeof(r));
	for (unsigned int i = 0; i < 16; i++)
		r.gpr[i] = 0x1111111111111111ull * (i + 1);
	r.rip = 0x100020;
	r.eflags = 0x246;
	r.seg[0] = 0x08;
	r.seg[1] = 0x18;
	r.st[0][9] = 0x3f;
	r.fctrl = 0x37f;
	r.ftag = 0xffff;
	r.xmm[15][15] = 0xee;
	r.mxcsr = 0x1f80;
	r.fs_base = 0xfeedf00d;
	r.gs_base = 0xffff888000000000ull;
	gdb_regs_pack(&r, block);
	/* Little-endian fields at the offsets of the layout. */
	ck_assert_uint_eq(block[0], 0x11);
	ck_assert_uint_eq(block[15 * 8], 0x10);	/* 0x11.. * 16 wraps to 0x1111111111111110 */
	ck_assert_mem_eq(block + 128, "\x20\x00\x10\x00\x00\x00\x00\x00", 8);
	ck_assert_mem_eq(block + 136, "\x46\x02\x00\x00", 4);
	ck_assert_mem_eq(block + 140, "\x08\x00\x00\x00\x18\x00\x00\x00", 8);
	ck_assert_uint_eq(block[164 + 9], 0x3f);
	ck_assert_mem_eq(block + 244, "\x7f\x03\x00\x00", 4);
	ck_assert_uint_eq(block[276 + 15 * 16 + 15], 0xee);
	ck_assert_mem_eq(block + 532, "\x80\x1f\x00\x00", 4);
	ck_assert_mem_eq(block + 536, "\x0d\xf0\xed\xfe\x00\x00\x00\x00", 8);
	ck_assert_mem_eq(block + 544, "\x00\x00\x00\x00\x80\x88\xff\xff", 8);
	gdb_regs_unpack(&back, block);
	ck_assert_mem_eq(&back, &r, sizeof(r));
	/* One register at a time. */
	ck_assert_int_eq(gdb_reg_get(&r, GDB_REG_RIP, one), 0);
	ck_assert_mem_eq(one, "\x20\x00\x10\x00\x00\x00\x00\x00", 8);
	ck_assert_int_eq(gdb_reg_set(&back, GDB_REG_EFLAGS, (const u8 *)"\x02\x00\x00\x00"), 0);
	ck_assert_uint_eq(back.eflags, 2);
	ck_assert_int_eq(gdb_reg_get(&r, GDB_NR_REGS, one), -EINVAL);
	ck_assert_int_eq(gdb_reg_set(&back, GDB_NR_REGS, one), -EINVAL);
}
END_TEST

START_TEST(test_regs_from_to_kvm)
{
	struct kvm_regs regs, regs2;
	struct kvm_sregs sregs, sregs2;
	struct kvm_fpu fpu, fpu2;
	struct gdb_x86_regs r;

	memset(&regs, 0, sizeof(regs));
	memset(&sregs, 0, sizeof(sregs));
	memset(&fpu, 0, sizeof(fpu));
	regs.rax = 1;
	regs.rsp = 0x80000;
	regs.r15 = 15;
	regs.rip = 0x100042;
	regs.rflags = 0x202;
	sregs.cs.selector = 0x8;
	sregs.ss.selector = 0x18;
	sregs.gs.selector = 0x2b;
	sregs.fs.base = 0x1234;
	sregs.gs.base = 0x5678;
	/*
	 * x87: TOP = 6, two values pushed: ST(0) = 1.0 (physical R6), ST(1) =
	 * +0 (physical R7). FXSAVE's abridged tag marks R6 and R7 in use.
	 */
	fpu.fsw = 6 << 11;
	fpu.fcw = 0x37f;
	fpu.ftwx = 0xc0;
	fpu.fpr[0][7] = 0x80;	/* mantissa 1 << 63 */
	fpu.fpr[0][8] = 0xff;	/* exponent 0x3fff */
	fpu.fpr[0][9] = 0x3f;
	fpu.last_ip = 0x123456789aull;
	fpu.last_opcode = 0xfff;
	fpu.xmm[1][0] = 0x42;
	fpu.mxcsr = 0x1f80;

	gdb_regs_from_kvm(&r, &regs, &sregs, &fpu);
	ck_assert_uint_eq(r.gpr[0], 1);
	ck_assert_uint_eq(r.gpr[7], 0x80000);
	ck_assert_uint_eq(r.gpr[15], 15);
	ck_assert_uint_eq(r.rip, 0x100042);
	ck_assert_uint_eq(r.eflags, 0x202);
	ck_assert_uint_eq(r.seg[0], 0x8);
	ck_assert_uint_eq(r.seg[1], 0x18);
	ck_assert_uint_eq(r.seg[5], 0x2b);
	ck_assert_uint_eq(r.fs_base, 0x1234);
	ck_assert_uint_eq(r.gs_base, 0x5678);
	/* R0-R5 empty (3), R6 valid (0), R7 zero (1): tag 0x4fff. */
	ck_assert_uint_eq(r.ftag, 0x4fff);
	ck_assert_uint_eq(r.fioff, 0x3456789a);
	ck_assert_uint_eq(r.fiseg, 0x12);
	ck_assert_uint_eq(r.fop, 0x7ff);
	ck_assert_uint_eq(r.st[0][9], 0x3f);
	ck_assert_uint_eq(r.xmm[1][0], 0x42);
	ck_assert_uint_eq(r.mxcsr, 0x1f80);

	/* Back again: the same values, the abridged tag rebuilt. */
	memset(&regs2, 0, sizeof(regs2));
	memset(&sregs2, 0, sizeof(sregs2));
	memset(&fpu2, 0, sizeof(fpu2));
	r.gpr[3] = 0xdead;
	r.eflags = 0x46;
	gdb_regs_to_kvm(&r, &regs2, &sregs2, &fpu2);
	ck_assert_uint_eq(regs2.rax, 1);
	ck_assert_uint_eq(regs2.rdx, 0xdead);
	ck_assert_uint_eq(regs2.rip, 0x100042);
	ck_assert_uint_eq(regs2.rflags, 0x46);
	ck_assert_uint_eq(sregs2.fs.base, 0x1234);
	ck_assert_uint_eq(fpu2.ftwx, 0xc0);
	ck_assert_uint_eq(fpu2.last_ip, 0x123456789aull);
	ck_assert_uint_eq(fpu2.fcw, 0x37f);
	ck_assert_mem_eq(fpu2.fpr[0], fpu.fpr[0], 10);
	ck_assert_uint_eq(fpu2.xmm[1][0], 0x42);
	/* RFLAGS bit 1 is always one. */
	r.eflags = 0;
	gdb_regs_to_kvm(&r, &regs2, &sregs2, NULL);
	ck_assert_uint_eq(regs2.rflags, 2);
	/* Without FPU state everything x87 reads as empty. */
	gdb_regs_from_kvm(&r, &regs, &sregs, NULL);
	ck_assert_uint_eq(r.ftag, 0xffff);
	ck_assert_uint_eq(r.mxcsr, 0);
}
END_TEST

START_TEST(test_selectors_changed)
{
	struct gdb_x86_regs a, b;

	memset(&a, 0, sizeof(a));
	b = a;
	b.gpr[0] = 5;
	ck_assert(!gdb_regs_selectors_changed(&a, &b));
	b.seg[2] = 0x10;
	ck_assert(gdb_regs_selectors_changed(&a, &b));
}
END_TEST

static Suite *gdb_packet_suite(void)
{
	Suite *s = suite_create("gdb_packet");
	TCase *tc = tcase_create("framing");

	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_add_test(tc, test_plain_packet);
	tcase_add_test(tc, test_checksum_upper_case_and_empty);
	tcase_add_test(tc, test_bad_checksum);
	tcase_add_test(tc, test_interrupt_and_acks);
	tcase_add_test(tc, test_escapes);
	tcase_add_test(tc, test_escaped_hash_is_data);
	tcase_add_test(tc, test_run_length);
	tcase_add_test(tc, test_bad_run_length);
	tcase_add_test(tc, test_oversize_packet);
	tcase_add_test(tc, test_restart_on_dollar);
	tcase_add_test(tc, test_encode);
	tcase_add_test(tc, test_hex);
	suite_add_tcase(s, tc);

	tc = tcase_create("parsers");
	tcase_add_test(tc, test_parse_hex_number);
	tcase_add_test(tc, test_parse_mem);
	tcase_add_test(tc, test_parse_breakpoint);
	tcase_add_test(tc, test_parse_thread_and_vcont);
	suite_add_tcase(s, tc);

	tc = tcase_create("registers");
	tcase_add_test(tc, test_reg_layout);
	tcase_add_test(tc, test_target_xml_matches_layout);
	tcase_add_test(tc, test_regs_pack_unpack);
	tcase_add_test(tc, test_regs_from_to_kvm);
	tcase_add_test(tc, test_selectors_changed);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(gdb_packet_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

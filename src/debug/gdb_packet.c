/*
 * GDB remote serial protocol framing: the receiver state machine, payload
 * decoding (escapes, run-lengths), framing with checksums, hex helpers and
 * the parsers of the packet bodies the stub understands.
 */
#include <errno.h>
#include <string.h>

#include "trapeze/debug/gdb_packet.h"

#define GDB_ESCAPE	'}'
#define GDB_RUN		'*'
#define GDB_ESCAPE_XOR	0x20

enum {
	RX_IDLE,	/* between packets */
	RX_DATA,	/* after '$' */
	RX_CSUM1,	/* after '#' */
	RX_CSUM2,
};

void gdb_rx_init(struct gdb_rx *rx)
{
	rx->state = RX_IDLE;
	rx->esc = false;
	rx->sum = 0;
	rx->want = 0;
	rx->overflow = false;
	rx->raw_len = 0;
	rx->payload_len = 0;
	rx->payload[0] = '\0';
}

static void gdb_rx_start(struct gdb_rx *rx)
{
	rx->state = RX_DATA;
	rx->esc = false;
	rx->sum = 0;
	rx->overflow = false;
	rx->raw_len = 0;
}

/* The whole packet is in: check and decode it. */
static enum gdb_rx_event gdb_rx_finish(struct gdb_rx *rx)
{
	long n;

	rx->state = RX_IDLE;
	if (rx->overflow)
		return GDB_RX_BAD_PACKET;
	if (rx->sum != rx->want)
		return GDB_RX_BAD_CHECKSUM;
	n = gdb_payload_decode(rx->raw, rx->raw_len, (u8 *)rx->payload, GDB_PACKET_MAX);
	if (n < 0)
		return GDB_RX_BAD_PACKET;
	rx->payload_len = (size_t)n;
	rx->payload[n] = '\0';
	return GDB_RX_PACKET;
}

enum gdb_rx_event gdb_rx_feed(struct gdb_rx *rx, u8 c)
{
	int d;

	switch (rx->state) {
	case RX_IDLE:
		if (c == '$')
			gdb_rx_start(rx);
		else if (c == GDB_INTERRUPT)
			return GDB_RX_INTERRUPT;
		else if (c == '+')
			return GDB_RX_ACK;
		else if (c == '-')
			return GDB_RX_NAK;
		return GDB_RX_NONE;
	case RX_DATA:
		/*
		 * An escaped byte is data whatever it is; an unescaped '#'
		 * ends the payload, and an unescaped '$' means the client gave
		 * up on this packet and began another: start over.
		 */
		if (!rx->esc && c == '#') {
			rx->state = RX_CSUM1;
			return GDB_RX_NONE;
		}
		if (!rx->esc && c == '$') {
			gdb_rx_start(rx);
			return GDB_RX_NONE;
		}
		rx->esc = !rx->esc && c == GDB_ESCAPE;
		rx->sum += c;
		if (rx->raw_len < sizeof(rx->raw))
			rx->raw[rx->raw_len++] = c;
		else
			rx->overflow = true;
		return GDB_RX_NONE;
	case RX_CSUM1:
		d = gdb_hex_digit((char)c);
		if (d < 0) {
			rx->state = RX_IDLE;
			return GDB_RX_BAD_CHECKSUM;
		}
		rx->want = (u8)(d << 4);
		rx->state = RX_CSUM2;
		return GDB_RX_NONE;
	case RX_CSUM2:
		d = gdb_hex_digit((char)c);
		if (d < 0) {
			rx->state = RX_IDLE;
			return GDB_RX_BAD_CHECKSUM;
		}
		rx->want |= (u8)d;
		return gdb_rx_finish(rx);
	}
	rx->state = RX_IDLE;
	return GDB_RX_NONE;
}

long gdb_payload_decode(const u8 *raw, size_t len, u8 *out, size_t out_len)
{
	size_t o = 0;

	for (size_t i = 0; i < len; i++) {
		u8 c = raw[i];

		if (c == GDB_ESCAPE) {
			if (++i == len)
				return -EINVAL;
			c = raw[i] ^ GDB_ESCAPE_XOR;
		} else if (c == GDB_RUN) {
			unsigned int n;

			/* "X*n": X repeated n - 29 more times; n is printable. */
			if (o == 0 || ++i == len || raw[i] < 32 || raw[i] > 126)
				return -EINVAL;
			n = raw[i] - 29u;
			if (n > out_len - o)
				return -E2BIG;
			memset(out + o, out[o - 1], n);
			o += n;
			continue;
		}
		if (o == out_len)
			return -E2BIG;
		out[o++] = c;
	}
	return (long)o;
}

u8 gdb_checksum(const void *data, size_t len)
{
	const u8 *p = data;
	u8 sum = 0;

	for (size_t i = 0; i < len; i++)
		sum += p[i];
	return sum;
}

static const char gdb_hex_chars[] = "0123456789abcdef";

size_t gdb_packet_encode(char *out, size_t out_len, const void *payload, size_t len)
{
	const u8 *p = payload;
	size_t o = 0;
	u8 sum = 0;

	if (out_len < 4)
		return 0;
	out[o++] = '$';
	for (size_t i = 0; i < len; i++) {
		u8 c = p[i];
		bool esc = c == '#' || c == '$' || c == GDB_ESCAPE || c == GDB_RUN;

		/* Room for this byte (maybe escaped) and "#cc". */
		if (o + (esc ? 2 : 1) + 3 > out_len)
			return 0;
		if (esc) {
			out[o++] = GDB_ESCAPE;
			sum += GDB_ESCAPE;
			c ^= GDB_ESCAPE_XOR;
		}
		out[o++] = (char)c;
		sum += c;
	}
	out[o++] = '#';
	out[o++] = gdb_hex_chars[sum >> 4];
	out[o++] = gdb_hex_chars[sum & 0xf];
	return o;
}

int gdb_hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

void gdb_hex_encode(char *out, const void *data, size_t n)
{
	const u8 *p = data;

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = gdb_hex_chars[p[i] >> 4];
		out[2 * i + 1] = gdb_hex_chars[p[i] & 0xf];
	}
	out[2 * n] = '\0';
}

int gdb_hex_decode(const char *hex, size_t hex_len, void *out, size_t n)
{
	u8 *o = out;

	if (hex_len != 2 * n)
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		int hi = gdb_hex_digit(hex[2 * i]);
		int lo = gdb_hex_digit(hex[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return -EINVAL;
		o[i] = (u8)(hi << 4 | lo);
	}
	return 0;
}

int gdb_parse_hex(const char **p, u64 *out)
{
	const char *s = *p;
	u64 v = 0;
	int d;

	for (; (d = gdb_hex_digit(*s)) >= 0; s++) {
		if (v >> 60)
			return -EINVAL;	/* a 17th significant digit */
		v = v << 4 | (u64)d;
	}
	if (s == *p)
		return -EINVAL;
	*p = s;
	*out = v;
	return 0;
}

int gdb_parse_mem_read(const char *p, u64 *addr, u64 *len)
{
	if (gdb_parse_hex(&p, addr) || *p++ != ',' || gdb_parse_hex(&p, len) || *p)
		return -EINVAL;
	return 0;
}

int gdb_parse_mem_write(const char *p, size_t p_len, u64 *addr, u64 *len, u8 *out,
			size_t out_len)
{
	const char *start = p, *data;

	if (gdb_parse_hex(&p, addr) || *p++ != ',' || gdb_parse_hex(&p, len) || *p++ != ':')
		return -EINVAL;
	data = p;
	if (*len > out_len || (size_t)(data - start) > p_len)
		return -EINVAL;
	return gdb_hex_decode(data, p_len - (size_t)(data - start), out, (size_t)*len);
}

int gdb_parse_breakpoint(const char *p, unsigned int *type, u64 *addr, u64 *kind)
{
	u64 t;

	if (gdb_parse_hex(&p, &t) || t > 4 || *p++ != ',' || gdb_parse_hex(&p, addr) ||
	    *p++ != ',' || gdb_parse_hex(&p, kind))
		return -EINVAL;
	/* Conditions and commands (";X...") are gdb's business: ignored. */
	if (*p && *p != ';')
		return -EINVAL;
	*type = (unsigned int)t;
	return 0;
}

int gdb_parse_thread_id(const char *p, long *tid, const char **end)
{
	u64 v;

	if (*p == 'p') {
		/* Multiprocess "pPID.TID": the PID is ours alone. */
		p++;
		if (p[0] == '-' && p[1] == '1')
			p += 2;
		else if (gdb_parse_hex(&p, &v))
			return -EINVAL;
		if (*p != '.') {
			*tid = -1;	/* "pPID" alone: all its threads */
			*end = p;
			return 0;
		}
		p++;
	}
	if (p[0] == '-' && p[1] == '1') {
		*tid = -1;
		*end = p + 2;
		return 0;
	}
	if (gdb_parse_hex(&p, &v) || v > 0x7fffffff)
		return -EINVAL;
	*tid = (long)v;
	*end = p;
	return 0;
}

int gdb_parse_vcont(const char *p, struct gdb_vcont_action *acts, size_t max)
{
	size_t n = 0;

	if (*p != ';')
		return -EINVAL;
	while (*p == ';') {
		char a = *++p;
		u64 sig;

		if (n == max)
			return -EINVAL;
		if (a != 'c' && a != 's' && a != 'C' && a != 'S')
			return -EINVAL;
		p++;
		if (a == 'C' || a == 'S') {
			/* A signal to deliver: a guest has none, so it is dropped. */
			if (gdb_parse_hex(&p, &sig))
				return -EINVAL;
			a = (char)(a - 'A' + 'a');
		}
		acts[n].action = a;
		acts[n].tid = -1;
		if (*p == ':' && gdb_parse_thread_id(p + 1, &acts[n].tid, &p))
			return -EINVAL;
		n++;
	}
	if (*p)
		return -EINVAL;
	return (int)n;
}

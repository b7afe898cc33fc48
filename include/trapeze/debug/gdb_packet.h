/*
 * gdb_packet: the framing layer of the GDB remote serial protocol (the GDB
 * manual, appendix "GDB Remote Serial Protocol", sections "Overview" and
 * "Packets"), with no knowledge of KVM, sockets or registers.
 *
 * On the wire a packet is  $payload#cc  where cc is the sum of the payload
 * bytes modulo 256 as two hex digits. Inside the payload '}' escapes the
 * next byte (sent XOR 0x20): '#', '$', '}' and '*' must be escaped in
 * binary data. '*' is run-length encoding: "X*n" means X repeated
 * (n - 29) more times (n printable, never '#' or '$'). Outside a packet the
 * byte 0x03 is an interrupt request (Ctrl-C), '+' acknowledges a packet and
 * '-' asks for it again.
 *
 * gdb_rx is a byte-at-a-time receiver: feed it what the socket gives, and it
 * reports each complete packet (checksum checked, escapes and run-lengths
 * undone), each interrupt and each ack. Everything a client sends is
 * hostile: oversized packets, bad checksums, bad hex and runs that would
 * expand past the buffer are reported, never overflow.
 */
#ifndef TRAPEZE_DEBUG_GDB_PACKET_H
#define TRAPEZE_DEBUG_GDB_PACKET_H

#include "trapeze/types.h"

/*
 * The largest packet payload we accept or send (announced to gdb as
 * PacketSize in hex). A 'G' packet of every register (about 1.1 KiB of hex)
 * and a memory write of a page fit.
 */
#define GDB_PACKET_MAX 16384

/* Wire bytes of one packet at most: '$', every byte escaped, '#', checksum. */
#define GDB_WIRE_MAX (2 * GDB_PACKET_MAX + 4)

#define GDB_INTERRUPT 0x03

enum gdb_rx_event {
	GDB_RX_NONE,		/* nothing complete yet */
	GDB_RX_PACKET,		/* rx->payload holds a packet: answer '+' (unless no-ack) */
	GDB_RX_BAD_CHECKSUM,	/* a packet whose checksum did not match: answer '-' */
	GDB_RX_BAD_PACKET,	/* too long, or a malformed run-length: answer '-' */
	GDB_RX_INTERRUPT,	/* 0x03 outside a packet */
	GDB_RX_ACK,		/* '+' */
	GDB_RX_NAK,		/* '-': send the last packet again */
};

struct gdb_rx {
	int state;		/* private: where in a packet we are */
	bool esc;		/* the last payload byte was an unescaped '}' */
	u8 sum;			/* running checksum of the raw payload */
	u8 want;		/* checksum from the wire */
	bool overflow;		/* the raw payload outgrew raw[] */
	size_t raw_len;
	u8 raw[GDB_PACKET_MAX];	/* the payload as sent, still escaped */
	size_t payload_len;
	char payload[GDB_PACKET_MAX + 1];	/* the decoded payload, NUL-terminated */
};

void gdb_rx_init(struct gdb_rx *rx);

/*
 * Feeds one byte. On GDB_RX_PACKET, rx->payload/payload_len hold the decoded
 * packet until the next call. Bytes outside a packet other than '$', '+',
 * '-' and 0x03 are ignored (line noise).
 */
enum gdb_rx_event gdb_rx_feed(struct gdb_rx *rx, u8 c);

/*
 * Undoes '}' escapes and '*' run-lengths of a raw payload into out (at most
 * out_len bytes). Returns the decoded length, or -EINVAL (a trailing '}', a
 * run with nothing before it or a bad count) or -E2BIG (does not fit).
 */
long gdb_payload_decode(const u8 *raw, size_t len, u8 *out, size_t out_len);

/* The checksum of len bytes: their sum modulo 256. */
u8 gdb_checksum(const void *data, size_t len);

/*
 * Frames payload as $...#cc into out, escaping '#', '$', '}' and '*'.
 * Returns the wire length, or 0 when it does not fit in out_len.
 */
size_t gdb_packet_encode(char *out, size_t out_len, const void *payload, size_t len);

/* Hex helpers. Digits are lowercase on output, either case on input. */
int gdb_hex_digit(char c);	/* 0..15, or -1 */
/* Writes 2 * n hex digits and a NUL; out must hold 2 * n + 1 bytes. */
void gdb_hex_encode(char *out, const void *data, size_t n);
/* Decodes exactly 2 * n hex digits from hex into out. 0 or -EINVAL. */
int gdb_hex_decode(const char *hex, size_t hex_len, void *out, size_t n);

/*
 * Reads a hex number at *p (at least one digit, at most 64 bits), moving *p
 * past it. 0 or -EINVAL (no digit, overflow).
 */
int gdb_parse_hex(const char **p, u64 *out);

/*
 * Packet bodies, parsed (p points after the command letter(s)):
 *   m ADDR,LEN           gdb_parse_mem_read
 *   M ADDR,LEN:HEX       gdb_parse_mem_write (data decoded into out)
 *   Z/z TYPE,ADDR,KIND   gdb_parse_breakpoint (conditions after ';' ignored)
 * Each returns 0 or -EINVAL for anything malformed (missing separators,
 * bad hex, trailing garbage, data length that does not match LEN).
 */
int gdb_parse_mem_read(const char *p, u64 *addr, u64 *len);
int gdb_parse_mem_write(const char *p, size_t p_len, u64 *addr, u64 *len, u8 *out,
			size_t out_len);
int gdb_parse_breakpoint(const char *p, unsigned int *type, u64 *addr, u64 *kind);

/*
 * A thread id as gdb writes it in Hg/Hc/T/vCont: "-1" (all), "0" (any) or a
 * positive hex number; the multiprocess form "pPID.TID" is accepted and
 * PID ignored. *tid is -1, 0 or the number. Sets *end past it. 0 or -EINVAL.
 */
int gdb_parse_thread_id(const char *p, long *tid, const char **end);

/* One vCont action: 'c' or 's' and the thread it applies to (-1: all others). */
struct gdb_vcont_action {
	char action;
	long tid;
};

#define GDB_VCONT_MAX 16

/*
 * Parses the part of "vCont;s:1;c" after "vCont". Accepts the actions c and
 * s (C and S with a signal are taken as c and s: guests get no signals);
 * anything else (t, r, a bad thread) is -EINVAL. Returns the number of
 * actions (1..GDB_VCONT_MAX) or -EINVAL.
 */
int gdb_parse_vcont(const char *p, struct gdb_vcont_action *acts, size_t max);

#endif

/*
 * aml: ACPI Machine Language byte emitter. See include/trapeze/arch/x86/aml.h.
 * Encodings from ACPI 6.5 chapter 20 (20.2 grammar, 20.3 opcode table).
 */
#include <errno.h>
#include <string.h>

#include "trapeze/arch/x86/aml.h"

/* ACPI 6.5 20.3, "AML Byte Stream Byte Values". */
#define AML_ZERO_OP		0x00
#define AML_ONE_OP		0x01
#define AML_NAME_OP		0x08
#define AML_BYTE_PREFIX		0x0a
#define AML_WORD_PREFIX		0x0b
#define AML_DWORD_PREFIX	0x0c
#define AML_QWORD_PREFIX	0x0e
#define AML_SCOPE_OP		0x10
#define AML_BUFFER_OP		0x11
#define AML_PACKAGE_OP		0x12
#define AML_DUAL_NAME_PREFIX	0x2e
#define AML_MULTI_NAME_PREFIX	0x2f
#define AML_EXT_OP_PREFIX	0x5b
#define AML_DEVICE_OP		0x82	/* after AML_EXT_OP_PREFIX */
#define AML_ROOT_CHAR		0x5c	/* '\' */
#define AML_PARENT_PREFIX_CHAR	0x5e	/* '^' */
#define AML_NULL_NAME		0x00

#define AML_NAME_SEG_LEN	4
#define AML_MAX_SEGS		255	/* MultiNamePrefix SegCount is one byte */

/* PkgLength (ACPI 6.5 20.2.4): up to 4 bytes, counting itself, < 2^28. */
#define AML_PKG_LEN_MAX		0x0fffffffUL

static void aml_fail(struct aml *a, int err)
{
	if (!a->err)
		a->err = err;
}

void aml_init(struct aml *a, u8 *buf, size_t cap)
{
	memset(a, 0, sizeof(*a));
	a->buf = buf;
	a->cap = cap;
}

long aml_finish(struct aml *a)
{
	if (!a->err && a->depth)
		aml_fail(a, -EINVAL);	/* a Scope/Device/Package never closed */
	return a->err ? a->err : (long)a->len;
}

void aml_bytes(struct aml *a, const void *p, size_t n)
{
	if (a->err)
		return;
	if (n > a->cap - a->len) {
		aml_fail(a, -ENOSPC);
		return;
	}
	memcpy(a->buf + a->len, p, n);
	a->len += n;
}

void aml_byte(struct aml *a, u8 b)
{
	aml_bytes(a, &b, 1);
}

static bool aml_lead_char(char c)
{
	return (c >= 'A' && c <= 'Z') || c == '_';
}

static bool aml_name_char(char c)
{
	return aml_lead_char(c) || (c >= '0' && c <= '9');
}

/* One NameSeg of seg_len characters, padded with '_' (ACPI 6.5 20.2.2). */
static void aml_name_seg(struct aml *a, const char *seg, size_t seg_len)
{
	char out[AML_NAME_SEG_LEN];
	size_t i;

	if (seg_len == 0 || seg_len > AML_NAME_SEG_LEN || !aml_lead_char(seg[0])) {
		aml_fail(a, -EINVAL);
		return;
	}
	for (i = 0; i < AML_NAME_SEG_LEN; i++) {
		if (i < seg_len && !aml_name_char(seg[i])) {
			aml_fail(a, -EINVAL);
			return;
		}
		out[i] = i < seg_len ? seg[i] : '_';
	}
	aml_bytes(a, out, sizeof(out));
}

void aml_name(struct aml *a, const char *path)
{
	const char *p = path;
	size_t nr_segs = 0, seg_len;

	if (*p == '\\') {
		aml_byte(a, AML_ROOT_CHAR);
		p++;
	} else {
		while (*p == '^') {
			aml_byte(a, AML_PARENT_PREFIX_CHAR);
			p++;
		}
	}
	if (*p) {
		const char *q;

		nr_segs = 1;
		for (q = p; *q; q++)
			nr_segs += *q == '.';
	}
	if (nr_segs == 0) {
		aml_byte(a, AML_NULL_NAME);
		return;
	}
	if (nr_segs > AML_MAX_SEGS) {
		aml_fail(a, -EINVAL);
		return;
	}
	if (nr_segs == 2) {
		aml_byte(a, AML_DUAL_NAME_PREFIX);
	} else if (nr_segs > 2) {
		aml_byte(a, AML_MULTI_NAME_PREFIX);
		aml_byte(a, (u8)nr_segs);
	}
	while (nr_segs--) {
		const char *dot = strchr(p, '.');

		seg_len = dot ? (size_t)(dot - p) : strlen(p);
		aml_name_seg(a, p, seg_len);
		p += seg_len + (dot ? 1 : 0);
	}
}

/* Little-endian constant data after a prefix byte. */
static void aml_le(struct aml *a, u8 prefix, u64 v, unsigned int n)
{
	u8 b[9];
	unsigned int i;

	b[0] = prefix;
	for (i = 0; i < n; i++)
		b[1 + i] = (u8)(v >> (8 * i));
	aml_bytes(a, b, 1 + n);
}

void aml_integer(struct aml *a, u64 v)
{
	if (v == 0)
		aml_byte(a, AML_ZERO_OP);
	else if (v == 1)
		aml_byte(a, AML_ONE_OP);
	else if (v <= 0xff)
		aml_le(a, AML_BYTE_PREFIX, v, 1);
	else if (v <= 0xffff)
		aml_le(a, AML_WORD_PREFIX, v, 2);
	else if (v <= 0xffffffffULL)
		aml_le(a, AML_DWORD_PREFIX, v, 4);
	else
		aml_le(a, AML_QWORD_PREFIX, v, 8);
}

void aml_name_decl(struct aml *a, const char *path)
{
	aml_byte(a, AML_NAME_OP);
	aml_name(a, path);
}

/*
 * EISAID (ACPI 6.5 19.6.35): three upper-case letters, each as 5 bits of
 * (c - 0x40), then four hex digits; the 32-bit result is stored with its
 * bytes in big-endian order, so "PNP0501" is the bytes 41 d0 05 01.
 */
static int aml_hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

void aml_eisaid(struct aml *a, const char *id)
{
	u32 v = 0;
	unsigned int i;
	u8 b[4];

	if (strlen(id) != 7) {
		aml_fail(a, -EINVAL);
		return;
	}
	for (i = 0; i < 3; i++) {
		if (id[i] < 'A' || id[i] > 'Z') {
			aml_fail(a, -EINVAL);
			return;
		}
		v = (v << 5) | (u32)(id[i] - 0x40);
	}
	for (i = 3; i < 7; i++) {
		int d = aml_hex_digit(id[i]);

		if (d < 0) {
			aml_fail(a, -EINVAL);
			return;
		}
		v = (v << 4) | (u32)d;
	}
	/* 15 bits of letters and 16 of digits: bit 31 stays 0. */
	b[0] = (u8)(v >> 24);
	b[1] = (u8)(v >> 16);
	b[2] = (u8)(v >> 8);
	b[3] = (u8)v;
	aml_byte(a, AML_DWORD_PREFIX);
	aml_bytes(a, b, sizeof(b));
}

static void aml_open(struct aml *a)
{
	if (a->err)
		return;
	if (a->depth == AML_MAX_DEPTH) {
		aml_fail(a, -EINVAL);
		return;
	}
	a->open[a->depth++] = a->len;
}

void aml_close(struct aml *a)
{
	size_t start, content, total;
	unsigned int n, i;

	if (a->err)
		return;
	if (a->depth == 0) {
		aml_fail(a, -EINVAL);
		return;
	}
	start = a->open[--a->depth];
	content = a->len - start;
	/* The PkgLength counts its own bytes: pick the smallest that fits. */
	if (content + 1 <= 0x3f)
		n = 1;
	else if (content + 2 <= 0xfff)
		n = 2;
	else if (content + 3 <= 0xfffff)
		n = 3;
	else if (content + 4 <= AML_PKG_LEN_MAX)
		n = 4;
	else {
		aml_fail(a, -ENOSPC);
		return;
	}
	if (n > a->cap - a->len) {
		aml_fail(a, -ENOSPC);
		return;
	}
	total = content + n;
	memmove(a->buf + start + n, a->buf + start, content);
	if (n == 1) {
		a->buf[start] = (u8)total;
	} else {
		/* Lead byte: bits 7-6 the count of following bytes, 3-0 the
		 * low nibble; following bytes hold bits 4 and up. */
		a->buf[start] = (u8)(((n - 1) << 6) | (total & 0xf));
		for (i = 1; i < n; i++)
			a->buf[start + i] = (u8)(total >> (4 + 8 * (i - 1)));
	}
	a->len += n;
}

void aml_scope_open(struct aml *a, const char *path)
{
	aml_byte(a, AML_SCOPE_OP);
	aml_open(a);
	aml_name(a, path);
}

void aml_device_open(struct aml *a, const char *path)
{
	aml_byte(a, AML_EXT_OP_PREFIX);
	aml_byte(a, AML_DEVICE_OP);
	aml_open(a);
	aml_name(a, path);
}

void aml_package_open(struct aml *a, u8 nr_elements)
{
	aml_byte(a, AML_PACKAGE_OP);
	aml_open(a);
	aml_byte(a, nr_elements);
}

void aml_buffer(struct aml *a, const void *data, size_t n)
{
	aml_byte(a, AML_BUFFER_OP);
	aml_open(a);
	aml_integer(a, n);	/* BufferSize */
	aml_bytes(a, data, n);
	aml_close(a);
}

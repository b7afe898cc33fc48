/*
 * decompress: recognises a bzImage payload's format by its magic and hands
 * it to the decoder for that format; owns the growing output buffer the
 * decoders share. Contracts in include/trapeze/decompress.h.
 */
#include <dlfcn.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "decompress_priv.h"

/* Smallest buffer worth allocating, and the slack added to a size hint. */
#define DC_MIN_CAP	4096
#define DC_HINT_SLACK	(64 * 1024)
/*
 * A trailing size hint is believed only up to this ratio of output to input,
 * so a small hostile file cannot make us reserve max_out bytes up front
 * (it can still produce them, paying for them in input). Real kernels
 * compress 3-6x.
 */
#define DC_HINT_MAX_RATIO 1024

/*
 * Magics as the kernel's lib/decompress.c and the tools that
 * scripts/Makefile.lib runs write them.
 */
static const u8 magic_elf[] = { 0x7f, 'E', 'L', 'F' };
static const u8 magic_gzip[] = { 0x1f, 0x8b };	/* RFC 1952 2.3.1 ID1 ID2 */
static const u8 magic_xz[] = { 0xfd, '7', 'z', 'X', 'Z', 0x00 };	/* xz format 2.1.1.1 */
static const u8 magic_zstd[] = { 0x28, 0xb5, 0x2f, 0xfd };	/* RFC 8878 3.1.1, LE 0xFD2FB528 */
static const u8 magic_lz4_legacy[] = { 0x02, 0x21, 0x4c, 0x18 };	/* LE 0x184C2102 */
static const u8 magic_bzip2[] = { 'B', 'Z', 'h' };	/* followed by '1'..'9' */
static const u8 magic_lzo[] = { 0x89, 'L', 'Z', 'O', 0x00, 0x0d, 0x0a, 0x1a, 0x0a };

static bool has_magic(const u8 *buf, size_t len, const u8 *magic, size_t n)
{
	return len >= n && memcmp(buf, magic, n) == 0;
}

enum compress_kind decompress_detect(const u8 *buf, size_t len)
{
	if (!buf)
		return COMPRESS_UNKNOWN;
	if (has_magic(buf, len, magic_elf, sizeof(magic_elf)))
		return COMPRESS_NONE;
	if (has_magic(buf, len, magic_gzip, sizeof(magic_gzip)))
		return COMPRESS_GZIP;
	if (has_magic(buf, len, magic_xz, sizeof(magic_xz)))
		return COMPRESS_XZ;
	if (has_magic(buf, len, magic_zstd, sizeof(magic_zstd)))
		return COMPRESS_ZSTD;
	if (has_magic(buf, len, magic_lz4_legacy, sizeof(magic_lz4_legacy)))
		return COMPRESS_LZ4;
	if (has_magic(buf, len, magic_bzip2, sizeof(magic_bzip2)) &&
	    len > sizeof(magic_bzip2) && buf[3] >= '1' && buf[3] <= '9')
		return COMPRESS_BZIP2;
	if (has_magic(buf, len, magic_lzo, sizeof(magic_lzo)))
		return COMPRESS_LZO;
	/*
	 * .lzma has no magic: a 13-byte header of the properties byte, the
	 * dictionary size (LE32) and the uncompressed size (LE64). `lzma -9`
	 * writes properties 0x5d (lc=3, lp=0, pb=2) and a power-of-two
	 * dictionary whose low byte is 0; the kernel matches the same two bytes.
	 */
	if (len >= 13 && buf[0] == 0x5d && buf[1] == 0x00)
		return COMPRESS_LZMA;
	return COMPRESS_UNKNOWN;
}

const char *decompress_kind_name(enum compress_kind k)
{
	switch (k) {
	case COMPRESS_NONE:
		return "none";
	case COMPRESS_GZIP:
		return "gzip";
	case COMPRESS_XZ:
		return "xz";
	case COMPRESS_ZSTD:
		return "zstd";
	case COMPRESS_LZ4:
		return "lz4";
	case COMPRESS_LZMA:
		return "lzma";
	case COMPRESS_BZIP2:
		return "bzip2";
	case COMPRESS_LZO:
		return "lzo";
	case COMPRESS_UNKNOWN:
		break;
	}
	return "unknown";
}

void *dc_lib_open(const struct dc_lib *lib, void *syms[], char *err,
		  size_t err_len)
{
	const char *why;
	void *handle;
	size_t i;

	handle = dlopen(lib->soname, RTLD_NOW | RTLD_LOCAL);
	if (!handle) {
		why = dlerror();
		errmsg_set(err, err_len,
			   "%s: cannot load %s (install Debian's %s, or boot with --boot=linux): %s",
			   lib->format, lib->soname, lib->package,
			   why ? why : "unknown error");
		return NULL;
	}
	for (i = 0; i < lib->nr_symbols; i++) {
		syms[i] = dlsym(handle, lib->symbols[i]);
		if (!syms[i]) {
			errmsg_set(err, err_len,
				   "%s: %s has no %s (install Debian's %s)",
				   lib->format, lib->soname, lib->symbols[i],
				   lib->package);
			dlclose(handle);
			return NULL;
		}
	}
	return handle;
}

void dc_lib_close(void *handle)
{
	if (handle)
		dlclose(handle);
}

void dc_err_too_big(const struct dc_out *o, char *err, size_t err_len)
{
	errmsg_set(err, err_len,
		   "decompressed payload exceeds the %zu-byte limit", o->max_out);
}

int dc_out_grow(struct dc_out *o, size_t want, char *err, size_t err_len)
{
	size_t need, new_cap;
	u8 *p;

	if (!want)
		want = 1;
	if (o->len >= o->limit) {
		/* limit is max_out + 1: this many bytes is already too many */
		dc_err_too_big(o, err, err_len);
		return -EFBIG;
	}
	need = o->limit - o->len;
	if (want < need)
		need = want;
	if (o->cap - o->len >= need)
		return 0;

	/* Double (saturating at limit), but at least enough for need. */
	new_cap = o->cap <= o->limit / 2 ? o->cap * 2 : o->limit;
	if (new_cap < DC_MIN_CAP)
		new_cap = DC_MIN_CAP < o->limit ? DC_MIN_CAP : o->limit;
	if (new_cap - o->len < need)
		new_cap = o->len + need;	/* need <= limit - len: no wrap */

	p = realloc(o->buf, new_cap);
	if (!p) {
		errmsg_set(err, err_len,
			   "out of memory growing the output to %zu bytes",
			   new_cap);
		return -ENOMEM;
	}
	o->buf = p;
	o->cap = new_cap;
	return 0;
}

int dc_out_append(struct dc_out *o, const u8 *src, size_t n, char *err,
		  size_t err_len)
{
	while (n) {
		size_t room, chunk;
		int ret;

		ret = dc_out_grow(o, n, err, err_len);
		if (ret)
			return ret;
		room = o->cap - o->len;
		chunk = n < room ? n : room;
		memcpy(o->buf + o->len, src, chunk);
		o->len += chunk;
		src += chunk;
		n -= chunk;
	}
	return 0;
}

/*
 * First allocation: the trailing uncompressed size (see decompress.h) when it
 * is plausible, plus slack so that a decoder which wants room for a stream
 * footer never has to double a full kernel-sized buffer; otherwise 4x the
 * input. Only a guess: decoders grow the buffer as they go.
 */
static size_t dc_initial_cap(const u8 *buf, size_t len, size_t limit)
{
	size_t guess = len <= SIZE_MAX / 4 ? len * 4 : SIZE_MAX;

	if (len >= 4) {
		size_t hint = dc_le32(buf + len - 4);

		if (hint && hint / DC_HINT_MAX_RATIO <= len &&
		    hint <= SIZE_MAX - DC_HINT_SLACK)
			guess = hint + DC_HINT_SLACK;
	}
	if (guess < DC_MIN_CAP)
		guess = DC_MIN_CAP;
	return guess < limit ? guess : limit;
}

typedef int (*dc_decoder)(const u8 *buf, size_t len, struct dc_out *o,
			  char *err, size_t err_len);

static dc_decoder dc_decoder_for(enum compress_kind k)
{
	switch (k) {
	case COMPRESS_GZIP:
		return dc_gunzip;
	case COMPRESS_XZ:
		return dc_unxz;
	case COMPRESS_LZMA:
		return dc_unlzma;
	case COMPRESS_ZSTD:
		return dc_unzstd;
	case COMPRESS_LZ4:
		return dc_unlz4;
	default:
		return NULL;
	}
}

/* COMPRESS_NONE: the image is its own output. */
static int dc_copy(const u8 *buf, size_t len, size_t max_out, u8 **out,
		   size_t *out_len, char *err, size_t err_len)
{
	u8 *p;

	if (len > max_out) {
		errmsg_set(err, err_len,
			   "uncompressed payload of %zu bytes exceeds the %zu-byte limit",
			   len, max_out);
		return -EFBIG;
	}
	p = malloc(len ? len : 1);
	if (!p) {
		errmsg_set(err, err_len, "out of memory copying %zu bytes", len);
		return -ENOMEM;
	}
	memcpy(p, buf, len);
	*out = p;
	*out_len = len;
	return 0;
}

static int dc_refuse(enum compress_kind k, const u8 *buf, size_t len,
		     char *err, size_t err_len)
{
	if (k == COMPRESS_BZIP2 || k == COMPRESS_LZO) {
		errmsg_set(err, err_len,
			   "%s-compressed kernels are not supported; use --boot=linux",
			   decompress_kind_name(k));
		return -ENOTSUP;
	}
	if (!buf || len < 4) {
		errmsg_set(err, err_len,
			   "payload of %zu bytes is too short to be compressed data",
			   buf ? len : 0);
		return -EINVAL;
	}
	errmsg_set(err, err_len,
		   "unrecognised compression format (magic %02x %02x %02x %02x)",
		   buf[0], buf[1], buf[2], buf[3]);
	return -EINVAL;
}

int decompress(const u8 *buf, size_t len, size_t max_out, u8 **out,
	       size_t *out_len, char *err, size_t err_len)
{
	enum compress_kind k = decompress_detect(buf, len);
	struct dc_out o = { 0 };
	dc_decoder decode;
	u8 *shrunk;
	int ret;

	*out = NULL;
	*out_len = 0;
	if (k == COMPRESS_NONE)
		return dc_copy(buf, len, max_out, out, out_len, err, err_len);
	decode = dc_decoder_for(k);
	if (!decode)
		return dc_refuse(k, buf, len, err, err_len);

	o.max_out = max_out;
	o.limit = max_out < SIZE_MAX ? max_out + 1 : SIZE_MAX;
	o.cap = dc_initial_cap(buf, len, o.limit);
	o.buf = malloc(o.cap);
	if (!o.buf) {
		errmsg_set(err, err_len, "out of memory allocating %zu bytes",
			   o.cap);
		return -ENOMEM;
	}

	ret = decode(buf, len, &o, err, err_len);
	if (ret)
		goto out_free;
	if (o.len > max_out) {
		dc_err_too_big(&o, err, err_len);
		ret = -EFBIG;
		goto out_free;
	}

	/* Give back the unused tail; keeping the larger block is harmless. */
	shrunk = realloc(o.buf, o.len ? o.len : 1);
	if (shrunk)
		o.buf = shrunk;
	*out = o.buf;
	*out_len = o.len;
	return 0;

out_free:
	free(o.buf);
	return ret;
}

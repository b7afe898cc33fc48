/*
 * decompress gzip: the payload of CONFIG_KERNEL_GZIP, `gzip -n -f -9`
 * (scripts/Makefile.lib cmd_gzip). One gzip member (RFC 1952); zlib checks
 * its CRC-32 and ISIZE trailer. Anything after the member is ignored.
 * zlib is opened with dlopen() for each decode (decompress_priv.h).
 */
#include <errno.h>
#include <limits.h>

#define ZLIB_CONST	/* next_in is a pointer to const */
#include <zlib.h>

#include "decompress_priv.h"

/* inflateInit2 windowBits: 15-bit window, +16 accepts only a gzip wrapper (zlib.h). */
#define DC_GZIP_WBITS (16 + MAX_WBITS)

/* zlib's entry points; inflateInit2() is a macro around inflateInit2_(). */
enum { ZLIB_INFLATE_INIT2, ZLIB_INFLATE, ZLIB_INFLATE_END, ZLIB_ERROR, ZLIB_NR_SYMBOLS };

static const char *const dc_zlib_symbols[ZLIB_NR_SYMBOLS] = {
	[ZLIB_INFLATE_INIT2] = "inflateInit2_",
	[ZLIB_INFLATE] = "inflate",
	[ZLIB_INFLATE_END] = "inflateEnd",
	[ZLIB_ERROR] = "zError",
};

static const struct dc_lib dc_zlib_lib = {
	.format = "gzip",
	.soname = "libz.so.1",
	.package = "zlib1g",
	.symbols = dc_zlib_symbols,
	.nr_symbols = ARRAY_SIZE(dc_zlib_symbols),
};

struct dc_zlib {
	int (*inflate_init2)(z_streamp strm, int window_bits, const char *version,
			     int stream_size);
	int (*inflate)(z_streamp strm, int flush);
	int (*inflate_end)(z_streamp strm);
	const char *(*error)(int err);
};

static uInt dc_uint_chunk(size_t n)
{
	return n < UINT_MAX ? (uInt)n : UINT_MAX;
}

/* Inflates the gzip member in buf through the zlib functions in z. */
static int dc_gunzip_with(const struct dc_zlib *z, const u8 *buf, size_t len,
			  struct dc_out *o, char *err, size_t err_len)
{
	z_stream zs = { 0 };
	size_t in_pos = 0;
	int zret, ret;

	/* What the inflateInit2() macro passes: the header's version, the struct's size. */
	zret = z->inflate_init2(&zs, DC_GZIP_WBITS, ZLIB_VERSION, (int)sizeof(zs));
	if (zret != Z_OK) {
		errmsg_set(err, err_len, "gzip: cannot start zlib (%s)",
			   zs.msg ? zs.msg : z->error(zret));
		return zret == Z_MEM_ERROR ? -ENOMEM : -EINVAL;
	}

	for (;;) {
		uInt in_chunk, out_room;

		if (o->len == o->cap) {
			ret = dc_out_grow(o, 1, err, err_len);
			if (ret)
				goto out_end;
		}
		/* zlib counts in uInt: feed at most 4 GiB - 1 per call */
		in_chunk = dc_uint_chunk(len - in_pos);
		out_room = dc_uint_chunk(o->cap - o->len);
		zs.next_in = buf + in_pos;
		zs.avail_in = in_chunk;
		zs.next_out = o->buf + o->len;
		zs.avail_out = out_room;

		zret = z->inflate(&zs, Z_NO_FLUSH);
		in_pos += in_chunk - zs.avail_in;
		o->len += out_room - zs.avail_out;

		if (zret == Z_STREAM_END) {
			ret = 0;
			goto out_end;
		}
		if (zret == Z_OK || zret == Z_BUF_ERROR) {
			if (zs.avail_out == 0)
				continue;	/* output full: grow and go on */
			if (in_pos == len || zret == Z_BUF_ERROR) {
				/* all input eaten, room left, no end: cut short */
				errmsg_set(err, err_len,
					   "gzip: truncated stream (input ends inside the gzip member)");
				ret = -EINVAL;
				goto out_end;
			}
			continue;	/* only the 4 GiB chunking stopped it */
		}
		if (zret == Z_MEM_ERROR) {
			errmsg_set(err, err_len, "gzip: out of memory in zlib");
			ret = -ENOMEM;
			goto out_end;
		}
		/* Z_DATA_ERROR (bad header, data or CRC), Z_NEED_DICT, Z_STREAM_ERROR */
		errmsg_set(err, err_len, "gzip: corrupt data at input offset %zu (%s)",
			   in_pos, zs.msg ? zs.msg : z->error(zret));
		ret = -EINVAL;
		goto out_end;
	}

out_end:
	z->inflate_end(&zs);
	return ret;
}

int dc_gunzip(const u8 *buf, size_t len, struct dc_out *o, char *err,
	      size_t err_len)
{
	void *syms[ZLIB_NR_SYMBOLS];
	struct dc_zlib z;
	void *handle;
	int ret;

	handle = dc_lib_open(&dc_zlib_lib, syms, err, err_len);
	if (!handle)
		return -ELIBACC;
	z.inflate_init2 = (int (*)(z_streamp, int, const char *, int))syms[ZLIB_INFLATE_INIT2];
	z.inflate = (int (*)(z_streamp, int))syms[ZLIB_INFLATE];
	z.inflate_end = (int (*)(z_streamp))syms[ZLIB_INFLATE_END];
	z.error = (const char *(*)(int))syms[ZLIB_ERROR];
	ret = dc_gunzip_with(&z, buf, len, o, err, err_len);
	dc_lib_close(handle);
	return ret;
}

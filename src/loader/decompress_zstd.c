/*
 * decompress zstd: CONFIG_KERNEL_ZSTD, `zstd -22 --ultra` + size
 * (scripts/Makefile.lib cmd_zstd22). Streaming, so a frame without a
 * content size decodes the same as one with it. The default window limit
 * (2^27 bytes, ZSTD_WINDOWLOG_LIMIT_DEFAULT) covers level 22, whose window
 * is 2^27 at most; a frame that asks for more is refused rather than allowed
 * to make us allocate a bigger window. libzstd is opened with dlopen() for
 * each decode (decompress_priv.h).
 */
#include <errno.h>

#include <zstd.h>
#include <zstd_errors.h>

#include "decompress_priv.h"

/* RFC 8878 3.1.2: skippable frames have magics 0x184D2A50..0x184D2A5F. */
#define DC_ZSTD_SKIPPABLE_MASK	0xfffffff0u
#define DC_ZSTD_SKIPPABLE_MAGIC	0x184d2a50u
#define DC_ZSTD_MAGIC		0xfd2fb528u	/* RFC 8878 3.1.1 */

enum { ZSTD_SYM_CREATE, ZSTD_SYM_FREE, ZSTD_SYM_STREAM, ZSTD_SYM_IS_ERROR,
       ZSTD_SYM_ERROR_CODE, ZSTD_SYM_ERROR_NAME, ZSTD_NR_SYMBOLS };

static const char *const dc_zstd_symbols[ZSTD_NR_SYMBOLS] = {
	[ZSTD_SYM_CREATE] = "ZSTD_createDCtx",
	[ZSTD_SYM_FREE] = "ZSTD_freeDCtx",
	[ZSTD_SYM_STREAM] = "ZSTD_decompressStream",
	[ZSTD_SYM_IS_ERROR] = "ZSTD_isError",
	[ZSTD_SYM_ERROR_CODE] = "ZSTD_getErrorCode",
	[ZSTD_SYM_ERROR_NAME] = "ZSTD_getErrorName",
};

static const struct dc_lib dc_zstd_lib = {
	.format = "zstd",
	.soname = "libzstd.so.1",
	.package = "libzstd1",
	.symbols = dc_zstd_symbols,
	.nr_symbols = ARRAY_SIZE(dc_zstd_symbols),
};

struct dc_zstd {
	ZSTD_DCtx *(*create)(void);
	size_t (*free)(ZSTD_DCtx *dctx);
	size_t (*decompress_stream)(ZSTD_DCtx *dctx, ZSTD_outBuffer *out,
				    ZSTD_inBuffer *in);
	unsigned (*is_error)(size_t code);
	ZSTD_ErrorCode (*error_code)(size_t code);
	const char *(*error_name)(size_t code);
};

/*
 * After a complete frame: does another (zstd or skippable) frame follow?
 * Exactly 4 bytes left is the kernel's size trailer, never a frame, and
 * anything else that is no frame is trailing data to ignore.
 */
static bool dc_zstd_more_frames(const u8 *p, size_t rest)
{
	u32 magic;

	if (rest <= 4)
		return false;
	magic = dc_le32(p);
	return magic == DC_ZSTD_MAGIC ||
	       (magic & DC_ZSTD_SKIPPABLE_MASK) == DC_ZSTD_SKIPPABLE_MAGIC;
}

/* Decodes every frame in buf through the libzstd functions in z. */
static int dc_unzstd_with(const struct dc_zstd *z, const u8 *buf, size_t len,
			  struct dc_out *o, char *err, size_t err_len)
{
	ZSTD_inBuffer in = { .src = buf, .size = len, .pos = 0 };
	ZSTD_DCtx *dctx;
	int ret;

	dctx = z->create();
	if (!dctx) {
		errmsg_set(err, err_len, "zstd: out of memory creating a decoder");
		return -ENOMEM;
	}

	for (;;) {
		ZSTD_outBuffer out;
		size_t zret;

		if (o->len == o->cap) {
			ret = dc_out_grow(o, 1, err, err_len);
			if (ret)
				goto out_free_dctx;
		}
		out.dst = o->buf;
		out.size = o->cap;
		out.pos = o->len;
		zret = z->decompress_stream(dctx, &out, &in);
		o->len = out.pos;

		if (z->is_error(zret)) {
			bool oom = z->error_code(zret) ==
				   ZSTD_error_memory_allocation;

			errmsg_set(err, err_len,
				   "zstd: corrupt data near input offset %zu (%s)",
				   in.pos, z->error_name(zret));
			ret = oom ? -ENOMEM : -EINVAL;
			goto out_free_dctx;
		}
		if (zret == 0) {
			/* a frame ended; the context starts the next by itself */
			if (dc_zstd_more_frames(buf + in.pos, len - in.pos))
				continue;
			ret = 0;
			goto out_free_dctx;
		}
		/*
		 * Output not full means the decoder flushed all it could
		 * (zstd.h, ZSTD_decompressStream): with no input left and the
		 * frame unfinished, the input was cut short.
		 */
		if (out.pos < out.size && in.pos == in.size) {
			errmsg_set(err, err_len,
				   "zstd: truncated stream (input ends inside a frame)");
			ret = -EINVAL;
			goto out_free_dctx;
		}
	}

out_free_dctx:
	z->free(dctx);
	return ret;
}

int dc_unzstd(const u8 *buf, size_t len, struct dc_out *o, char *err,
	      size_t err_len)
{
	void *syms[ZSTD_NR_SYMBOLS];
	struct dc_zstd z;
	void *handle;
	int ret;

	handle = dc_lib_open(&dc_zstd_lib, syms, err, err_len);
	if (!handle)
		return -ELIBACC;
	z.create = (ZSTD_DCtx *(*)(void))syms[ZSTD_SYM_CREATE];
	z.free = (size_t (*)(ZSTD_DCtx *))syms[ZSTD_SYM_FREE];
	z.decompress_stream = (size_t (*)(ZSTD_DCtx *, ZSTD_outBuffer *, ZSTD_inBuffer *))
		syms[ZSTD_SYM_STREAM];
	z.is_error = (unsigned (*)(size_t))syms[ZSTD_SYM_IS_ERROR];
	z.error_code = (ZSTD_ErrorCode (*)(size_t))syms[ZSTD_SYM_ERROR_CODE];
	z.error_name = (const char *(*)(size_t))syms[ZSTD_SYM_ERROR_NAME];
	ret = dc_unzstd_with(&z, buf, len, o, err, err_len);
	dc_lib_close(handle);
	return ret;
}

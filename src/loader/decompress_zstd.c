/*
 * decompress zstd: CONFIG_KERNEL_ZSTD, `zstd -22 --ultra` + size
 * (scripts/Makefile.lib cmd_zstd22). Streaming, so a frame without a
 * content size decodes the same as one with it. The default window limit
 * (2^27 bytes, ZSTD_WINDOWLOG_LIMIT_DEFAULT) covers level 22, whose window
 * is 2^27 at most; a frame that asks for more is refused rather than allowed
 * to make us allocate a bigger window.
 */
#include <errno.h>

#include <zstd.h>
#include <zstd_errors.h>

#include "decompress_priv.h"

/* RFC 8878 3.1.2: skippable frames have magics 0x184D2A50..0x184D2A5F. */
#define DC_ZSTD_SKIPPABLE_MASK	0xfffffff0u
#define DC_ZSTD_SKIPPABLE_MAGIC	0x184d2a50u
#define DC_ZSTD_MAGIC		0xfd2fb528u	/* RFC 8878 3.1.1 */

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

int dc_unzstd(const u8 *buf, size_t len, struct dc_out *o, char *err,
	      size_t err_len)
{
	ZSTD_inBuffer in = { .src = buf, .size = len, .pos = 0 };
	ZSTD_DCtx *dctx;
	int ret;

	dctx = ZSTD_createDCtx();
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
		zret = ZSTD_decompressStream(dctx, &out, &in);
		o->len = out.pos;

		if (ZSTD_isError(zret)) {
			bool oom = ZSTD_getErrorCode(zret) ==
				   ZSTD_error_memory_allocation;

			errmsg_set(err, err_len,
				   "zstd: corrupt data near input offset %zu (%s)",
				   in.pos, ZSTD_getErrorName(zret));
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
	ZSTD_freeDCtx(dctx);
	return ret;
}

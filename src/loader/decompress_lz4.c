/*
 * decompress lz4: CONFIG_KERNEL_LZ4, `lz4 -l` + size (scripts/Makefile.lib
 * cmd_lz4). The legacy frame format (lz4 docs, lz4_Frame_format.md, "Legacy
 * frame"): the magic 0x184C2102 (LE), then blocks, each a 4-byte LE
 * compressed size and that many bytes of one LZ4 block that decompresses to
 * at most 8 MiB. There is no end mark and no checksum: the frame ends with
 * the input, or a new frame starts with the magic again.
 *
 * Since the frame cannot say where it ends, the kernel's 4-byte size after
 * it is recognised by position (exactly 4 bytes left, too few for a block)
 * and, being the only integrity check this format has, must equal the
 * decoded length mod 2^32.
 *
 * liblz4 is opened with dlopen() for each decode (decompress_priv.h).
 */
#include <errno.h>
#include <stdlib.h>

#include <lz4.h>

#include "decompress_priv.h"

#define DC_LZ4_LEGACY_MAGIC	0x184c2102u
#define DC_LZ4_LEGACY_BLOCK	(8u << 20)	/* uncompressed bytes per block, at most */

static const char *const dc_lz4_symbols[] = { "LZ4_decompress_safe" };

static const struct dc_lib dc_lz4_lib = {
	.format = "lz4",
	.soname = "liblz4.so.1",
	.package = "liblz4-1",
	.symbols = dc_lz4_symbols,
	.nr_symbols = ARRAY_SIZE(dc_lz4_symbols),
};

struct dc_lz4 {
	int (*decompress_safe)(const char *src, char *dst, int csize, int dst_cap);
};

/*
 * Decodes one block of csize bytes at src: straight into the output buffer
 * when a whole block's worth of room is already there, otherwise through a
 * scratch block and dc_out_append(), which grows the buffer geometrically
 * and tells a block too big for max_out (-EFBIG) apart from a corrupt one.
 * Growing only on demand keeps a buffer sized from the trailing size hint
 * from doubling for the last, short block.
 */
static int dc_lz4_block(const struct dc_lz4 *lz, const u8 *src, u32 csize,
			struct dc_out *o, u8 **scratch, size_t in_off, char *err,
			size_t err_len)
{
	int n;

	if (o->cap - o->len >= DC_LZ4_LEGACY_BLOCK) {
		n = lz->decompress_safe((const char *)src,
					(char *)o->buf + o->len, (int)csize,
					(int)DC_LZ4_LEGACY_BLOCK);
		if (n < 0)
			goto corrupt;
		o->len += (size_t)n;	/* cap - len >= n: no overrun */
		return 0;
	}

	if (!*scratch) {
		*scratch = malloc(DC_LZ4_LEGACY_BLOCK);
		if (!*scratch) {
			errmsg_set(err, err_len, "lz4: out of memory for a block buffer");
			return -ENOMEM;
		}
	}
	n = lz->decompress_safe((const char *)src, (char *)*scratch, (int)csize,
				(int)DC_LZ4_LEGACY_BLOCK);
	if (n < 0)
		goto corrupt;
	return dc_out_append(o, *scratch, (size_t)n, err, err_len);

corrupt:
	errmsg_set(err, err_len, "lz4: corrupt block at input offset %zu", in_off);
	return -EINVAL;
}

int dc_unlz4(const u8 *buf, size_t len, struct dc_out *o, char *err,
	     size_t err_len)
{
	/* a block's compressed size can be no larger than LZ4_compressBound() */
	const u32 max_csize = (u32)LZ4_COMPRESSBOUND(DC_LZ4_LEGACY_BLOCK);
	void *syms[ARRAY_SIZE(dc_lz4_symbols)];
	u8 *scratch = NULL;
	size_t pos = 4;	/* past the magic decompress_detect() matched */
	struct dc_lz4 lz;
	void *handle;
	int ret = 0;

	handle = dc_lib_open(&dc_lz4_lib, syms, err, err_len);
	if (!handle)
		return -ELIBACC;
	lz.decompress_safe = (int (*)(const char *, char *, int, int))syms[0];

	while (pos < len) {
		size_t rest = len - pos;
		u32 word;

		if (rest < 4) {
			errmsg_set(err, err_len,
				   "lz4: truncated block header at input offset %zu", pos);
			ret = -EINVAL;
			goto out_free_scratch;
		}
		word = dc_le32(buf + pos);
		if (rest == 4) {
			/* the kernel's size trailer, or an empty frame's magic */
			if (word == (u32)o->len || word == DC_LZ4_LEGACY_MAGIC)
				break;
			errmsg_set(err, err_len,
				   "lz4: trailing size %u does not match the %zu decoded bytes",
				   word, o->len);
			ret = -EINVAL;
			goto out_free_scratch;
		}
		pos += 4;
		rest -= 4;
		if (word == DC_LZ4_LEGACY_MAGIC)
			continue;	/* a concatenated legacy frame begins */
		if (word == 0 || word > max_csize) {
			errmsg_set(err, err_len,
				   "lz4: bad block size %u at input offset %zu (1 to %u allowed)",
				   word, pos - 4, max_csize);
			ret = -EINVAL;
			goto out_free_scratch;
		}
		if (word > rest) {
			errmsg_set(err, err_len,
				   "lz4: truncated block at input offset %zu (%u bytes declared, %zu left)",
				   pos - 4, word, rest);
			ret = -EINVAL;
			goto out_free_scratch;
		}
		ret = dc_lz4_block(&lz, buf + pos, word, o, &scratch, pos, err, err_len);
		if (ret)
			goto out_free_scratch;
		pos += word;
	}

out_free_scratch:
	free(scratch);
	dc_lib_close(handle);
	return ret;
}

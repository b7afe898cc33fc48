/*
 * decompress xz and lzma, both through liblzma.
 *
 * xz: CONFIG_KERNEL_XZ runs scripts/xz_wrap.sh, `xz --check=crc32 --x86
 * --lzma2=...,dict=32MiB`, then appends the size. One .xz stream; the
 * decoder is started without LZMA_CONCATENATED so it stops at the end of
 * the first stream and the 4-byte size after it (which is not valid stream
 * padding) is never parsed.
 *
 * lzma: CONFIG_KERNEL_LZMA, `lzma -9` + size: the legacy .lzma format
 * (13-byte header). lzma_alone_decoder stops at the size in the header, or
 * at the end marker when the header says "unknown size".
 */
#include <errno.h>

#include <lzma.h>

#include "decompress_priv.h"

/*
 * Decoder memory cap. The kernel's xz uses a 32 MiB dictionary and `lzma -9`
 * a 64 MiB one; anything wanting more than this is not a kernel.
 */
#define DC_LZMA_MEMLIMIT	(256ULL << 20)

/* Maps a liblzma failure to -errno and a message naming the format. */
static int dc_lzma_error(const char *fmt_name, lzma_ret lret, size_t in_pos,
			 char *err, size_t err_len)
{
	switch (lret) {
	case LZMA_MEM_ERROR:
		errmsg_set(err, err_len, "%s: out of memory in liblzma", fmt_name);
		return -ENOMEM;
	case LZMA_MEMLIMIT_ERROR:
		errmsg_set(err, err_len,
			   "%s: stream needs more than %llu MiB of decoder memory",
			   fmt_name, DC_LZMA_MEMLIMIT >> 20);
		return -EINVAL;
	case LZMA_FORMAT_ERROR:
		errmsg_set(err, err_len, "%s: bad stream header", fmt_name);
		return -EINVAL;
	case LZMA_OPTIONS_ERROR:
		errmsg_set(err, err_len,
			   "%s: unsupported stream options (filter, check or properties)",
			   fmt_name);
		return -EINVAL;
	case LZMA_BUF_ERROR:
		errmsg_set(err, err_len,
			   "%s: truncated stream (input ends before the end of the stream)",
			   fmt_name);
		return -EINVAL;
	case LZMA_DATA_ERROR:
	default:
		errmsg_set(err, err_len,
			   "%s: corrupt data near input offset %zu (liblzma error %d)",
			   fmt_name, in_pos, (int)lret);
		return -EINVAL;
	}
}

/* Runs an initialised decoder over the whole input into o. */
static int dc_lzma_run(lzma_stream *strm, const char *fmt_name, const u8 *buf,
		       size_t len, struct dc_out *o, char *err, size_t err_len)
{
	lzma_ret lret;
	int ret;

	strm->next_in = buf;
	strm->avail_in = len;
	for (;;) {
		size_t room;

		if (o->len == o->cap) {
			ret = dc_out_grow(o, 1, err, err_len);
			if (ret)
				return ret;
		}
		room = o->cap - o->len;
		strm->next_out = o->buf + o->len;
		strm->avail_out = room;

		/* LZMA_FINISH: all input is here, so running dry is truncation */
		lret = lzma_code(strm, LZMA_FINISH);
		o->len += room - strm->avail_out;

		if (lret == LZMA_STREAM_END)
			return 0;	/* any bytes left in avail_in are ignored */
		/*
		 * LZMA_OK: go on (growing the output if it is full). Input cut
		 * short ends the loop as LZMA_BUF_ERROR, which liblzma returns
		 * for a second call in a row that can make no progress; output
		 * without end ends it as -EFBIG at the limit.
		 */
		if (lret != LZMA_OK)
			return dc_lzma_error(fmt_name, lret,
					     len - strm->avail_in, err, err_len);
	}
}

int dc_unxz(const u8 *buf, size_t len, struct dc_out *o, char *err,
	    size_t err_len)
{
	lzma_stream strm = LZMA_STREAM_INIT;
	lzma_ret lret;
	int ret;

	/* flags 0: one stream only, no LZMA_CONCATENATED (see above) */
	lret = lzma_stream_decoder(&strm, DC_LZMA_MEMLIMIT, 0);
	if (lret != LZMA_OK)
		return dc_lzma_error("xz", lret, 0, err, err_len);
	ret = dc_lzma_run(&strm, "xz", buf, len, o, err, err_len);
	lzma_end(&strm);
	return ret;
}

int dc_unlzma(const u8 *buf, size_t len, struct dc_out *o, char *err,
	      size_t err_len)
{
	lzma_stream strm = LZMA_STREAM_INIT;
	lzma_ret lret;
	int ret;

	lret = lzma_alone_decoder(&strm, DC_LZMA_MEMLIMIT);
	if (lret != LZMA_OK)
		return dc_lzma_error("lzma", lret, 0, err, err_len);
	ret = dc_lzma_run(&strm, "lzma", buf, len, o, err, err_len);
	lzma_end(&strm);
	return ret;
}

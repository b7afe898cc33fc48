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
 *
 * liblzma is opened with dlopen() for each decode (decompress_priv.h).
 */
#include <errno.h>

#include <lzma.h>

#include "decompress_priv.h"

/*
 * Decoder memory cap. The kernel's xz uses a 32 MiB dictionary and `lzma -9`
 * a 64 MiB one; anything wanting more than this is not a kernel.
 */
#define DC_LZMA_MEMLIMIT	(256ULL << 20)

enum { LZMA_SYM_STREAM_DECODER, LZMA_SYM_ALONE_DECODER, LZMA_SYM_CODE, LZMA_SYM_END,
       LZMA_NR_SYMBOLS };

static const char *const dc_lzma_symbols[LZMA_NR_SYMBOLS] = {
	[LZMA_SYM_STREAM_DECODER] = "lzma_stream_decoder",
	[LZMA_SYM_ALONE_DECODER] = "lzma_alone_decoder",
	[LZMA_SYM_CODE] = "lzma_code",
	[LZMA_SYM_END] = "lzma_end",
};

struct dc_lzma {
	lzma_ret (*stream_decoder)(lzma_stream *strm, uint64_t memlimit, uint32_t flags);
	lzma_ret (*alone_decoder)(lzma_stream *strm, uint64_t memlimit);
	lzma_ret (*code)(lzma_stream *strm, lzma_action action);
	void (*end)(lzma_stream *strm);
};

/* Opens liblzma for fmt_name ("xz", "lzma"): the handle, or NULL (message in err). */
static void *dc_lzma_open(const char *fmt_name, struct dc_lzma *l, char *err,
			  size_t err_len)
{
	const struct dc_lib lib = {
		.format = fmt_name,
		.soname = "liblzma.so.5",
		.package = "liblzma5",
		.symbols = dc_lzma_symbols,
		.nr_symbols = ARRAY_SIZE(dc_lzma_symbols),
	};
	void *syms[LZMA_NR_SYMBOLS];
	void *handle;

	handle = dc_lib_open(&lib, syms, err, err_len);
	if (!handle)
		return NULL;
	l->stream_decoder = (lzma_ret (*)(lzma_stream *, uint64_t, uint32_t))
		syms[LZMA_SYM_STREAM_DECODER];
	l->alone_decoder = (lzma_ret (*)(lzma_stream *, uint64_t))syms[LZMA_SYM_ALONE_DECODER];
	l->code = (lzma_ret (*)(lzma_stream *, lzma_action))syms[LZMA_SYM_CODE];
	l->end = (void (*)(lzma_stream *))syms[LZMA_SYM_END];
	return handle;
}

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
static int dc_lzma_run(const struct dc_lzma *l, lzma_stream *strm,
		       const char *fmt_name, const u8 *buf, size_t len,
		       struct dc_out *o, char *err, size_t err_len)
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
		lret = l->code(strm, LZMA_FINISH);
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

/*
 * One liblzma decode: an .xz stream (flags 0: one stream only, no
 * LZMA_CONCATENATED, see above) or, with alone, a legacy .lzma file.
 */
static int dc_lzma_decode(const char *fmt_name, bool alone, const u8 *buf,
			  size_t len, struct dc_out *o, char *err, size_t err_len)
{
	lzma_stream strm = LZMA_STREAM_INIT;
	struct dc_lzma l;
	lzma_ret lret;
	void *handle;
	int ret;

	handle = dc_lzma_open(fmt_name, &l, err, err_len);
	if (!handle)
		return -ELIBACC;
	lret = alone ? l.alone_decoder(&strm, DC_LZMA_MEMLIMIT)
		     : l.stream_decoder(&strm, DC_LZMA_MEMLIMIT, 0);
	if (lret != LZMA_OK) {
		ret = dc_lzma_error(fmt_name, lret, 0, err, err_len);
		goto out_close;
	}
	ret = dc_lzma_run(&l, &strm, fmt_name, buf, len, o, err, err_len);
	l.end(&strm);
out_close:
	dc_lib_close(handle);
	return ret;
}

int dc_unxz(const u8 *buf, size_t len, struct dc_out *o, char *err,
	    size_t err_len)
{
	return dc_lzma_decode("xz", false, buf, len, o, err, err_len);
}

int dc_unlzma(const u8 *buf, size_t len, struct dc_out *o, char *err,
	      size_t err_len)
{
	return dc_lzma_decode("lzma", true, buf, len, o, err, err_len);
}

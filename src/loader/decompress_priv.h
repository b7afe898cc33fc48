/*
 * decompress internals shared by the per-format decoders
 * (decompress_{gzip,xz,zstd,lz4}.c) and the dispatcher (decompress.c).
 * Not a public interface: include/trapeze/decompress.h is.
 */
#ifndef TRAPEZE_DECOMPRESS_PRIV_H
#define TRAPEZE_DECOMPRESS_PRIV_H

#include "trapeze/decompress.h"
#include "trapeze/errmsg.h"

/*
 * A growing output buffer. limit is max_out + 1 (saturating): the buffer may
 * hold one byte more than the caller allows, so a decoder that fills it has
 * proved the output too big without having to ask its library whether more
 * output is pending.
 */
struct dc_out {
	u8 *buf;
	size_t len;	/* bytes produced */
	size_t cap;	/* bytes allocated */
	size_t limit;	/* never allocate more than this */
	size_t max_out;	/* the caller's cap */
};

/*
 * Decodes one format: buf/len is the whole payload, starting at its magic.
 * Writes into o (already initialised) and returns 0, -EINVAL, -EFBIG or
 * -ENOMEM with a message in err. The caller frees o on failure.
 */
int dc_gunzip(const u8 *buf, size_t len, struct dc_out *o, char *err,
	      size_t err_len);
int dc_unxz(const u8 *buf, size_t len, struct dc_out *o, char *err,
	    size_t err_len);
int dc_unlzma(const u8 *buf, size_t len, struct dc_out *o, char *err,
	      size_t err_len);
int dc_unzstd(const u8 *buf, size_t len, struct dc_out *o, char *err,
	      size_t err_len);
int dc_unlz4(const u8 *buf, size_t len, struct dc_out *o, char *err,
	     size_t err_len);

/*
 * Makes room so that cap - len >= min(max(want, 1), limit - len), growing
 * at least geometrically. -EFBIG (message in err) when len has reached limit, that
 * is, more than max_out bytes were produced; -ENOMEM.
 */
int dc_out_grow(struct dc_out *o, size_t want, char *err, size_t err_len);

/* Appends n bytes, growing as needed: 0, -EFBIG, -ENOMEM. */
int dc_out_append(struct dc_out *o, const u8 *src, size_t n, char *err,
		  size_t err_len);

/*
 * A decoder's library. trapeze links none of them: each is opened with
 * dlopen() only while a payload of its format is decoded, so a run that
 * boots no compressed kernel never maps them (about 85 KiB of RSS each).
 */
struct dc_lib {
	const char *format;	/* "gzip", for messages */
	const char *soname;	/* "libz.so.1" */
	const char *package;	/* the Debian package that ships it: "zlib1g" */
	const char *const *symbols;	/* the entry points the decoder calls */
	size_t nr_symbols;
};

/*
 * Opens lib->soname (RTLD_NOW | RTLD_LOCAL) and looks up its symbols, in
 * order, into syms[0 .. nr_symbols - 1]. Returns the handle for
 * dc_lib_close(), or NULL with a message in err that names the library and
 * the package to install; the decoder then returns -ELIBACC.
 */
void *dc_lib_open(const struct dc_lib *lib, void *syms[], char *err,
		  size_t err_len);
void dc_lib_close(void *handle);

/* The message for -EFBIG, shared so every format says it the same way. */
void dc_err_too_big(const struct dc_out *o, char *err, size_t err_len);

/* Little-endian u32 at p (no alignment needed). */
static inline u32 dc_le32(const u8 *p)
{
	return (u32)p[0] | (u32)p[1] << 8 | (u32)p[2] << 16 | (u32)p[3] << 24;
}

#endif

/*
 * decompress: host-side decompression of a Linux bzImage's compressed
 * payload, so the vmlinux inside can be loaded without running the kernel's
 * in-guest decompressor (minutes of emulated CPL-0 code on kvm_pvm).
 *
 * Formats are the ones arch/x86/boot/compressed produces (CONFIG_KERNEL_*),
 * each made by scripts/Makefile.lib:
 *   gzip   gzip -n -9                                   (zlib, gzip wrapper)
 *   xz     xz --check=crc32 --x86 --lzma2, + size        (liblzma)
 *   zstd   zstd -22 --ultra, + size                       (libzstd)
 *   lz4    lz4 -l (legacy frame, 8 MiB blocks), + size    (liblz4 blocks)
 *   lzma   lzma -9 (.lzma "alone" header), + size         (liblzma)
 *   bzip2, lzo: recognised, refused with -ENOTSUP
 * "+ size" is the kernel's size_append: the uncompressed length as a 4-byte
 * little-endian number after the compressed stream. gzip needs none since
 * its own trailer ends in that number; so for every format the payload's last
 * 4 bytes are the uncompressed length mod 2^32 (mkpiggy reads it from there).
 * Bytes after a complete gzip, xz, zstd or lzma stream are ignored; lz4's
 * legacy frame has no end mark, so there the trailing size is checked.
 *
 * The input is hostile (a user-supplied image): every length is bounded and
 * the output can never grow past max_out.
 */
#ifndef TRAPEZE_DECOMPRESS_H
#define TRAPEZE_DECOMPRESS_H

#include "trapeze/types.h"

enum compress_kind {
	COMPRESS_NONE,		/* an uncompressed ELF image (\177ELF) */
	COMPRESS_GZIP,
	COMPRESS_XZ,
	COMPRESS_ZSTD,
	COMPRESS_LZ4,		/* legacy lz4 frame, as `lz4 -l` writes it */
	COMPRESS_LZMA,		/* legacy .lzma ("lzma alone") */
	COMPRESS_BZIP2,
	COMPRESS_LZO,		/* lzop */
	COMPRESS_UNKNOWN,
};

/* What buf holds, judged only by its leading magic bytes. */
enum compress_kind decompress_detect(const u8 *buf, size_t len);

/* A short lower-case name ("gzip", "xz", ... "none", "unknown"); never NULL. */
const char *decompress_kind_name(enum compress_kind k);

/*
 * Decompresses the payload in buf (format from decompress_detect) into a
 * malloc'd *out of *out_len bytes, which the caller frees. COMPRESS_NONE is
 * copied as it is, so the contract is the same for every kind (a caller that
 * wants to avoid the copy checks decompress_detect() itself).
 *
 * Returns 0, or on failure sets *out = NULL, *out_len = 0, writes a one-line
 * message to err and returns:
 *   -EFBIG    the output would exceed max_out bytes (a decompression bomb)
 *   -EINVAL   corrupt or truncated input, or an unknown magic
 *   -ENOTSUP  a recognised format that is not built in (bzip2, lzo)
 *   -ELIBACC  the format's library (zlib, liblzma, libzstd, liblz4, opened
 *             with dlopen() only while it decodes) cannot be loaded; err
 *             names the Debian package to install
 *   -ENOMEM   allocation failed
 */
int decompress(const u8 *buf, size_t len, size_t max_out, u8 **out,
	       size_t *out_len, char *err, size_t err_len);

#endif

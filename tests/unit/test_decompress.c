/*
 * Unit tests for decompress: payloads made here with the same libraries and
 * settings as the kernel's build (scripts/Makefile.lib), the kernel's 4-byte
 * size trailer appended, then round-tripped; corrupt, truncated, oversized
 * and unknown input; and, when one is installed, the real Debian kernel's
 * bzImage payload, with the time it takes.
 */
#include <check.h>
#include <elf.h>
#include <errno.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <lz4.h>
#include <lzma.h>
#include <zlib.h>
#include <zstd.h>

#include "check_main.h"
#include "table_bytes.h"
#include "trapeze/decompress.h"
#include "trapeze/loader.h"

#define MiB (1024 * 1024)
#define LZ4_LEGACY_BLOCK (8 * MiB)

static char err[256];

/* ---- test data ---- */

static u64 rng_next(u64 *s)
{
	/* xorshift64: deterministic, so every run tests the same bytes */
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/*
 * Compressible but not trivial, roughly like code: runs of random bytes,
 * words from a small vocabulary, and copies of stretches from the last
 * 32 KiB (within every format's window, lz4's 64 KiB included).
 */
static u8 *make_data(size_t len, u64 seed)
{
	static const char *const words[] = {
		"mov ", "push ", "call ", "ret\n", "struct ", "kernel ", "0x",
		"ffffffff81", "lea ", "jmp ", "\x48\x89\xe5", "\x0f\x1f\x44\x00",
	};
	u8 *d = malloc(len);
	size_t i = 0;

	ck_assert_ptr_nonnull(d);
	while (i < len) {
		u64 r = rng_next(&seed);
		size_t n = 1 + (r >> 8) % 64;

		if (n > len - i)
			n = len - i;
		switch (r % 8) {
		case 0:	/* random bytes */
			for (size_t k = 0; k < n; k++)
				d[i + k] = (u8)rng_next(&seed);
			break;
		case 1:
		case 2: {	/* a word */
			const char *w = words[(r >> 20) % ARRAY_SIZE(words)];
			size_t wl = strlen(w);

			n = wl < n ? wl : n;
			memcpy(d + i, w, n);
			break;
		}
		default:	/* repeat a recent stretch, overlapping as LZ77 may */
			if (i == 0) {
				memset(d, 0, n);
			} else {
				size_t window = i < 32768 ? i : 32768;
				size_t from = i - 1 - (r >> 24) % window;

				for (size_t k = 0; k < n; k++)
					d[i + k] = d[from + k];
			}
			break;
		}
		i += n;
	}
	return d;
}

/* A payload being built: bytes and length. */
struct blob {
	u8 *p;
	size_t len;
};

static void put_le32(u8 *p, u32 v)
{
	p[0] = (u8)v;
	p[1] = (u8)(v >> 8);
	p[2] = (u8)(v >> 16);
	p[3] = (u8)(v >> 24);
}

/* The kernel's size_append: uncompressed length as LE32 after the stream. */
static void append_size(struct blob *b, size_t orig_len)
{
	b->p = realloc(b->p, b->len + 4);
	ck_assert_ptr_nonnull(b->p);
	put_le32(b->p + b->len, (u32)orig_len);
	b->len += 4;
}

/* ---- compressors, set up as scripts/Makefile.lib runs the tools ---- */

/* gzip -n -9: one gzip member, no name, mtime 0 (zlib's default header). */
static struct blob make_gzip(const u8 *d, size_t len)
{
	struct blob b;
	z_stream zs = { 0 };

	ck_assert_int_eq(deflateInit2(&zs, 9, Z_DEFLATED, 16 + MAX_WBITS, 9,
				      Z_DEFAULT_STRATEGY), Z_OK);
	b.len = deflateBound(&zs, len);
	b.p = malloc(b.len);
	ck_assert_ptr_nonnull(b.p);
	zs.next_in = (Bytef *)d;
	zs.avail_in = len;
	zs.next_out = b.p;
	zs.avail_out = b.len;
	ck_assert_int_eq(deflate(&zs, Z_FINISH), Z_STREAM_END);
	b.len = zs.total_out;
	deflateEnd(&zs);
	return b;	/* no size_append: gzip's own trailer ends in ISIZE */
}

/* xz --check=crc32 --x86 --lzma2 (preset 1 to keep the test quick) + size. */
static struct blob make_xz(const u8 *d, size_t len)
{
	lzma_options_lzma opt;
	lzma_filter filters[] = {
		{ .id = LZMA_FILTER_X86, .options = NULL },
		{ .id = LZMA_FILTER_LZMA2, .options = &opt },
		{ .id = LZMA_VLI_UNKNOWN, .options = NULL },
	};
	struct blob b;
	size_t pos = 0;

	ck_assert(!lzma_lzma_preset(&opt, 1));
	b.len = lzma_stream_buffer_bound(len);
	b.p = malloc(b.len);
	ck_assert_ptr_nonnull(b.p);
	ck_assert_int_eq(lzma_stream_buffer_encode(filters, LZMA_CHECK_CRC32,
						   NULL, d, len, b.p, &pos,
						   b.len), LZMA_OK);
	b.len = pos;
	append_size(&b, len);
	return b;
}

/* lzma -9 (legacy .lzma, size unknown + end marker; preset 1 here) + size. */
static struct blob make_lzma(const u8 *d, size_t len)
{
	lzma_stream strm = LZMA_STREAM_INIT;
	lzma_options_lzma opt;
	struct blob b;

	ck_assert(!lzma_lzma_preset(&opt, 1));
	ck_assert_int_eq(lzma_alone_encoder(&strm, &opt), LZMA_OK);
	b.len = len + len / 2 + 4096;
	b.p = malloc(b.len);
	ck_assert_ptr_nonnull(b.p);
	strm.next_in = d;
	strm.avail_in = len;
	strm.next_out = b.p;
	strm.avail_out = b.len;
	ck_assert_int_eq(lzma_code(&strm, LZMA_FINISH), LZMA_STREAM_END);
	b.len = strm.total_out;
	lzma_end(&strm);
	append_size(&b, len);
	return b;
}

/*
 * zstd as the CLI writes it from a pipe (the kernel's `cat | zstd -22
 * --ultra`): checksum on, no content size in the frame header. Level 19.
 */
static struct blob make_zstd(const u8 *d, size_t len)
{
	ZSTD_CCtx *cctx = ZSTD_createCCtx();
	struct blob b;
	size_t n;

	ck_assert_ptr_nonnull(cctx);
	ck_assert(!ZSTD_isError(ZSTD_CCtx_setParameter(cctx, ZSTD_c_compressionLevel, 19)));
	ck_assert(!ZSTD_isError(ZSTD_CCtx_setParameter(cctx, ZSTD_c_checksumFlag, 1)));
	ck_assert(!ZSTD_isError(ZSTD_CCtx_setParameter(cctx, ZSTD_c_contentSizeFlag, 0)));
	b.len = ZSTD_compressBound(len);
	b.p = malloc(b.len);
	ck_assert_ptr_nonnull(b.p);
	n = ZSTD_compress2(cctx, b.p, b.len, d, len);
	ck_assert(!ZSTD_isError(n));
	ZSTD_freeCCtx(cctx);
	b.len = n;
	ck_assert(ZSTD_getFrameContentSize(b.p, b.len) == ZSTD_CONTENTSIZE_UNKNOWN);
	append_size(&b, len);
	return b;
}

/*
 * lz4 -l: the legacy frame, built by hand: magic 0x184C2102, then for each
 * 8 MiB of input a LE32 compressed size and one LZ4 block. No size appended
 * here (make_lz4 adds it); make_lz4_frame is also used to build two frames.
 */
static void append_lz4_frame(struct blob *b, const u8 *d, size_t len)
{
	size_t bound = (size_t)LZ4_compressBound(LZ4_LEGACY_BLOCK);
	size_t nblocks = (len + LZ4_LEGACY_BLOCK - 1) / LZ4_LEGACY_BLOCK;

	b->p = realloc(b->p, b->len + 4 + nblocks * (4 + bound));
	ck_assert_ptr_nonnull(b->p);
	put_le32(b->p + b->len, 0x184c2102);
	b->len += 4;
	for (size_t off = 0; off < len; off += LZ4_LEGACY_BLOCK) {
		size_t n = len - off < LZ4_LEGACY_BLOCK ? len - off : LZ4_LEGACY_BLOCK;
		int c = LZ4_compress_default((const char *)d + off,
					     (char *)b->p + b->len + 4, (int)n,
					     (int)bound);

		ck_assert_int_gt(c, 0);
		put_le32(b->p + b->len, (u32)c);
		b->len += 4 + (size_t)c;
	}
}

static struct blob make_lz4(const u8 *d, size_t len)
{
	struct blob b = { NULL, 0 };

	append_lz4_frame(&b, d, len);
	append_size(&b, len);
	return b;
}

struct fmt {
	const char *name;
	enum compress_kind kind;
	struct blob (*make)(const u8 *d, size_t len);
	size_t size;	/* round-trip size; lz4's spans two 8 MiB blocks */
};

static const struct fmt fmts[] = {
	{ "gzip", COMPRESS_GZIP, make_gzip, 3 * MiB },
	{ "xz", COMPRESS_XZ, make_xz, 3 * MiB },
	{ "zstd", COMPRESS_ZSTD, make_zstd, 3 * MiB },
	{ "lzma", COMPRESS_LZMA, make_lzma, 3 * MiB },
	{ "lz4", COMPRESS_LZ4, make_lz4, 9 * MiB + 12345 },
};
#define FMTS_CHECKSUMMED 3	/* fmts[0..2]: gzip, xz, zstd */
#define FMTS_SELF_ENDING 4	/* fmts[0..3]: streams that mark their end */

/* Decompresses, checking the out-parameters' contract on failure. */
static int run(const struct blob *b, size_t max_out, u8 **out, size_t *out_len)
{
	int ret;

	err[0] = '\0';
	*out = (u8 *)err;	/* must be overwritten either way */
	*out_len = 12345;
	ret = decompress(b->p, b->len, max_out, out, out_len, err, sizeof(err));
	if (ret) {
		ck_assert_ptr_null(*out);
		ck_assert_uint_eq(*out_len, 0);
		ck_assert_msg(err[0] != '\0', "error %d without a message", ret);
		ck_assert_ptr_null(strchr(err, '\n'));
	}
	return ret;
}

/* A test input for one format: seeded data and its compressed payload. */
struct sample {
	const struct fmt *f;
	u8 *data;
	size_t size;
	struct blob b;
};

static struct sample sample_make(const struct fmt *f, size_t size, u64 seed)
{
	struct sample s = { .f = f, .data = make_data(size, seed), .size = size };

	s.b = f->make(s.data, size);
	return s;
}

static void sample_free(struct sample *s)
{
	free(s->b.p);
	free(s->data);
}

/* The payload decodes, within max_out, to exactly the sample's data. */
static void expect_sample_data(const struct sample *s, size_t max_out)
{
	u8 *out;
	size_t out_len;

	ck_assert_msg(run(&s->b, max_out, &out, &out_len) == 0, "%s: %s",
		      s->f->name, err);
	ck_assert_uint_eq(out_len, s->size);
	ck_assert(memcmp(out, s->data, s->size) == 0);
	free(out);
}

/* ---- detection ---- */

START_TEST(detect_magics)
{
	static const struct {
		const char *bytes;
		size_t len;
		enum compress_kind kind;
	} cases[] = {
		{ "\x7f" "ELF\x02\x01", 6, COMPRESS_NONE },
		{ "\x1f\x8b\x08\x00", 4, COMPRESS_GZIP },
		{ "\xfd" "7zXZ\x00\x00\x01", 8, COMPRESS_XZ },
		{ "\x28\xb5\x2f\xfd\x04", 5, COMPRESS_ZSTD },
		{ "\x02\x21\x4c\x18\x10", 5, COMPRESS_LZ4 },
		{ "\x5d\x00\x00\x00\x04\xff\xff\xff\xff\xff\xff\xff\xff", 13, COMPRESS_LZMA },
		{ "BZh91AY&SY", 10, COMPRESS_BZIP2 },
		{ "\x89LZO\x00\x0d\x0a\x1a\x0a\x10", 10, COMPRESS_LZO },
		/* near misses */
		{ "BZh0", 4, COMPRESS_UNKNOWN },
		{ "BZh", 3, COMPRESS_UNKNOWN },
		{ "\x5d\x00\x00\x00\x04", 5, COMPRESS_UNKNOWN },	/* no room for a header */
		{ "\xfd" "7zXZ", 5, COMPRESS_UNKNOWN },
		{ "\x1f", 1, COMPRESS_UNKNOWN },
		{ "MZ\x90\x00", 4, COMPRESS_UNKNOWN },
		{ "", 0, COMPRESS_UNKNOWN },
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++)
		ck_assert_msg(decompress_detect((const u8 *)cases[i].bytes,
						cases[i].len) == cases[i].kind,
			      "case %zu", i);
	ck_assert_int_eq(decompress_detect(NULL, 10), COMPRESS_UNKNOWN);
}
END_TEST

START_TEST(kind_names)
{
	ck_assert_str_eq(decompress_kind_name(COMPRESS_NONE), "none");
	ck_assert_str_eq(decompress_kind_name(COMPRESS_GZIP), "gzip");
	ck_assert_str_eq(decompress_kind_name(COMPRESS_XZ), "xz");
	ck_assert_str_eq(decompress_kind_name(COMPRESS_ZSTD), "zstd");
	ck_assert_str_eq(decompress_kind_name(COMPRESS_LZ4), "lz4");
	ck_assert_str_eq(decompress_kind_name(COMPRESS_LZMA), "lzma");
	ck_assert_str_eq(decompress_kind_name(COMPRESS_BZIP2), "bzip2");
	ck_assert_str_eq(decompress_kind_name(COMPRESS_LZO), "lzo");
	ck_assert_str_eq(decompress_kind_name(COMPRESS_UNKNOWN), "unknown");
	ck_assert_str_eq(decompress_kind_name((enum compress_kind)99), "unknown");
}
END_TEST

/* ---- every supported format, by loop index into fmts ---- */

START_TEST(round_trip)
{
	const struct fmt *f = &fmts[_i];
	struct sample s = sample_make(f, f->size, 0x9e3779b97f4a7c15ull + (u64)_i);
	u8 *out;
	size_t out_len;

	ck_assert_int_eq(decompress_detect(s.b.p, s.b.len), f->kind);
	expect_sample_data(&s, 64 * MiB);
	printf("decompress: %s round trip %zu -> %zu bytes\n", f->name, s.b.len, s.size);

	/* max_out exactly the output size is allowed */
	ck_assert_msg(run(&s.b, f->size, &out, &out_len) == 0, "%s: %s", f->name, err);
	ck_assert_uint_eq(out_len, f->size);
	free(out);
	sample_free(&s);
}
END_TEST

START_TEST(bomb_refused)
{
	struct sample s = sample_make(&fmts[_i], 300 * 1000, 7);
	u8 *out;
	size_t out_len;

	/* one byte short of the real size */
	ck_assert_int_eq(run(&s.b, s.size - 1, &out, &out_len), -EFBIG);
	ck_assert_msg(strstr(err, "limit") != NULL, "%s", err);
	/* far short, and zero */
	ck_assert_int_eq(run(&s.b, 1000, &out, &out_len), -EFBIG);
	ck_assert_int_eq(run(&s.b, 0, &out, &out_len), -EFBIG);
	sample_free(&s);
}
END_TEST

/* A real bomb: 64 MiB of zeros in a few KiB, with a 1 MiB allowance. */
START_TEST(bomb_of_zeros)
{
	const struct fmt *f = &fmts[_i];
	size_t size = 64 * MiB;
	u8 *d = calloc(1, size);
	struct blob b;
	u8 *out;
	size_t out_len;

	ck_assert_ptr_nonnull(d);
	b = f->make(d, size);
	free(d);
	ck_assert_uint_lt(b.len, size / 100);
	ck_assert_int_eq(run(&b, 1 * MiB, &out, &out_len), -EFBIG);
	free(b.p);
}
END_TEST

START_TEST(truncated_refused)
{
	struct sample s = sample_make(&fmts[_i], 300 * 1000, 11);
	size_t full = s.b.len;
	u8 *out;
	size_t out_len;

	/* half, nearly all of the stream (trailer and end cut off), the header only */
	size_t cuts[] = { full / 2, full - 9, 16 };

	for (size_t i = 0; i < ARRAY_SIZE(cuts); i++) {
		s.b.len = cuts[i];
		ck_assert_msg(run(&s.b, 64 * MiB, &out, &out_len) == -EINVAL,
			      "%s cut to %zu of %zu: not refused (%s)", s.f->name,
			      cuts[i], full, err);
	}
	sample_free(&s);
}
END_TEST

/*
 * Bytes overwritten in the middle. gzip, xz and zstd carry checksums; lzma
 * and lz4 do not, so there the damage is found by the decoder (or, for lz4,
 * by the trailing size no longer matching): a run of 0xff is chosen because
 * as LZ4 tokens and lengths it makes absurd literal runs.
 */
START_TEST(corrupt_refused)
{
	struct sample s = sample_make(&fmts[_i], 300 * 1000, 13);
	u8 *out;
	size_t out_len;

	memset(s.b.p + s.b.len / 2, 0xff, 64);
	ck_assert_msg(run(&s.b, 64 * MiB, &out, &out_len) == -EINVAL,
		      "%s: corruption not detected (%s)", s.f->name, err);
	sample_free(&s);
}
END_TEST

/* A single flipped bit where a checksum must catch it. */
START_TEST(bit_flip_refused)
{
	struct sample s = sample_make(&fmts[_i], 300 * 1000, 17);
	u8 *out;
	size_t out_len;

	s.b.p[s.b.len / 2] ^= 0x10;
	ck_assert_msg(run(&s.b, 64 * MiB, &out, &out_len) == -EINVAL,
		      "%s: bit flip not detected (%s)", s.f->name, err);
	sample_free(&s);
}
END_TEST

/*
 * Extra bytes after a complete stream (beyond the size trailer) are ignored.
 * Not for lz4: its legacy frame has no end mark, so bytes after the trailer
 * read as one more block (lz4_legacy_variants covers how it ends).
 */
START_TEST(trailing_bytes_ignored)
{
	struct sample s = sample_make(&fmts[_i], 100 * 1000, 19);

	s.b.p = realloc(s.b.p, s.b.len + 7);
	ck_assert_ptr_nonnull(s.b.p);
	memcpy(s.b.p + s.b.len, "garbage", 7);
	s.b.len += 7;
	expect_sample_data(&s, 64 * MiB);
	sample_free(&s);
}
END_TEST

/*
 * The trailing size only sizes the first allocation: a trailer that lies
 * (too small, absurdly large) changes nothing for the formats that do not
 * check it (xz, zstd, lzma: fmts[1..3]; gzip's is its checked ISIZE and
 * lz4's is checked).
 */
START_TEST(size_hint_lies)
{
	static const u32 lies[] = { 1, 4096, 0xffffffffu };
	struct sample s = sample_make(&fmts[_i], 200 * 1000, 37);

	for (size_t i = 0; i < ARRAY_SIZE(lies); i++) {
		put_le32(s.b.p + s.b.len - 4, lies[i]);
		expect_sample_data(&s, 64 * MiB);
	}
	sample_free(&s);
}
END_TEST

/* ---- format-specific ---- */

START_TEST(gzip_without_trailer_extra)
{
	/* plain `gzip -9` output, as the kernel embeds it: nothing appended */
	size_t size = 200 * 1000;
	u8 *d = make_data(size, 23);
	struct blob b = make_gzip(d, size);
	u8 *out;
	size_t out_len;

	ck_assert_int_eq(run(&b, 64 * MiB, &out, &out_len), 0);
	ck_assert_uint_eq(out_len, size);
	ck_assert(memcmp(out, d, size) == 0);
	free(out);
	free(b.p);
	free(d);
}
END_TEST

START_TEST(lz4_legacy_variants)
{
	size_t size = 100 * 1000;
	u8 *d = make_data(size, 29);
	struct blob b = { NULL, 0 };
	u8 *out;
	size_t out_len;

	/* `lz4 -l` alone: the frame ends with the input */
	append_lz4_frame(&b, d, size);
	ck_assert_int_eq(run(&b, 64 * MiB, &out, &out_len), 0);
	ck_assert_uint_eq(out_len, size);
	free(out);

	/* two concatenated frames, then the size of both */
	append_lz4_frame(&b, d, size);
	append_size(&b, 2 * size);
	ck_assert_int_eq(run(&b, 64 * MiB, &out, &out_len), 0);
	ck_assert_uint_eq(out_len, 2 * size);
	ck_assert(memcmp(out, d, size) == 0 && memcmp(out + size, d, size) == 0);
	free(out);

	/* a trailer that disagrees with the decoded length */
	put_le32(b.p + b.len - 4, (u32)(2 * size + 1));
	ck_assert_int_eq(run(&b, 64 * MiB, &out, &out_len), -EINVAL);
	ck_assert_msg(strstr(err, "trailing size") != NULL, "%s", err);

	/* 1-3 stray bytes cannot be a block header */
	b.len -= 2;
	ck_assert_int_eq(run(&b, 64 * MiB, &out, &out_len), -EINVAL);
	free(b.p);
	free(d);
}
END_TEST

START_TEST(lz4_bad_block_sizes)
{
	size_t size = 100 * 1000;
	u8 *d = make_data(size, 31);
	struct blob b = make_lz4(d, size);
	u32 csize = (u32)(b.len - 12);	/* magic, block size, trailer */
	u8 *out;
	size_t out_len;

	ck_assert_uint_eq(csize, le32(b.p + 4));
	put_le32(b.p + 4, 0);
	ck_assert_int_eq(run(&b, 64 * MiB, &out, &out_len), -EINVAL);
	put_le32(b.p + 4, csize + 5);	/* past the end of the input */
	ck_assert_int_eq(run(&b, 64 * MiB, &out, &out_len), -EINVAL);
	put_le32(b.p + 4, 0xfffffff0u);	/* more than any 8 MiB block needs */
	ck_assert_int_eq(run(&b, 64 * MiB, &out, &out_len), -EINVAL);
	ck_assert_msg(strstr(err, "bad block size") != NULL, "%s", err);
	put_le32(b.p + 4, csize - 1);	/* block cut short by one byte */
	ck_assert_int_eq(run(&b, 64 * MiB, &out, &out_len), -EINVAL);
	free(b.p);
	free(d);
}
END_TEST

START_TEST(none_is_copied)
{
	u8 img[64] = { 0x7f, 'E', 'L', 'F', ELFCLASS64 };
	struct blob b = { img, sizeof(img) };
	u8 *out;
	size_t out_len;

	ck_assert_int_eq(run(&b, sizeof(img), &out, &out_len), 0);
	ck_assert_uint_eq(out_len, sizeof(img));
	ck_assert(out != img && memcmp(out, img, sizeof(img)) == 0);
	free(out);
	ck_assert_int_eq(run(&b, sizeof(img) - 1, &out, &out_len), -EFBIG);
}
END_TEST

START_TEST(unknown_and_unsupported)
{
	struct blob text = { (u8 *)"hello, world", 12 };
	struct blob tiny = { (u8 *)"\x1f", 1 };
	struct blob bz = { (u8 *)"BZh91AY&SY\x00\x01", 12 };
	struct blob lzo = { (u8 *)"\x89LZO\x00\x0d\x0a\x1a\x0a\x10\x30\x20", 12 };
	u8 *out;
	size_t out_len;

	ck_assert_int_eq(decompress_detect(text.p, text.len), COMPRESS_UNKNOWN);
	ck_assert_int_eq(run(&text, 64 * MiB, &out, &out_len), -EINVAL);
	ck_assert_str_eq(err, "unrecognised compression format (magic 68 65 6c 6c)");
	ck_assert_int_eq(run(&tiny, 64 * MiB, &out, &out_len), -EINVAL);

	ck_assert_int_eq(run(&bz, 64 * MiB, &out, &out_len), -ENOTSUP);
	ck_assert_str_eq(err, "bzip2-compressed kernels are not supported; use --boot=linux");
	ck_assert_int_eq(run(&lzo, 64 * MiB, &out, &out_len), -ENOTSUP);
	ck_assert_str_eq(err, "lzo-compressed kernels are not supported; use --boot=linux");
}
END_TEST

/* err may be NULL or zero-length: failures still return the right code. */
START_TEST(no_err_buffer)
{
	u8 *out = NULL;
	size_t out_len = 1;

	ck_assert_int_eq(decompress((const u8 *)"nothing here", 12, MiB, &out,
				    &out_len, NULL, 0), -EINVAL);
	ck_assert_ptr_null(out);
	ck_assert_uint_eq(out_len, 0);
}
END_TEST

/* ---- the installed Debian kernel ---- */

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/*
 * The bzImage payload (Documentation/arch/x86/boot.rst): setup_sects at
 * 0x1f1 (0 means 4), header magic "HdrS" at 0x202, version at 0x206
 * (payload fields since 2.08), payload_offset at 0x248 and payload_length
 * at 0x24c, both relative to the protected-mode code at (setup_sects+1)*512.
 */
static void bzimage_payload(const u8 *img, size_t size, const u8 **payload,
			    size_t *len)
{
	size_t pm, off, plen;
	unsigned int sects;

	ck_assert_uint_ge(size, 0x250);
	ck_assert_uint_eq(le32(img + 0x202), 0x53726448);	/* "HdrS" */
	ck_assert_uint_ge(img[0x206] | img[0x207] << 8, 0x208);
	sects = img[0x1f1] ? img[0x1f1] : 4;
	pm = ((size_t)sects + 1) * 512;
	off = le32(img + 0x248);
	plen = le32(img + 0x24c);
	ck_assert_uint_le(pm, size);
	ck_assert_uint_le(off, size - pm);
	ck_assert_uint_le(plen, size - pm - off);
	*payload = img + pm + off;
	*len = plen;
}

START_TEST(debian_kernel)
{
	glob_t g;
	u8 *img, *out;
	const u8 *payload;
	size_t size, plen, out_len;
	Elf64_Ehdr eh;
	enum compress_kind kind;
	double t0, dt;
	int ret;

	if (glob("/boot/vmlinuz-*", 0, NULL, &g) != 0 || g.gl_pathc == 0) {
		printf("decompress: SKIP debian_kernel: no /boot/vmlinuz-* installed\n");
		globfree(&g);
		return;
	}
	ret = loader_read_file(g.gl_pathv[0], &img, &size, err, sizeof(err));
	if (ret) {
		printf("decompress: SKIP debian_kernel: %s\n", err);
		globfree(&g);
		return;
	}

	bzimage_payload(img, size, &payload, &plen);
	kind = decompress_detect(payload, plen);
	ck_assert_int_ne(kind, COMPRESS_UNKNOWN);

	t0 = now_s();
	ret = decompress(payload, plen, 1024 * MiB, &out, &out_len, err, sizeof(err));
	dt = now_s() - t0;
	ck_assert_msg(ret == 0, "%s: %s", g.gl_pathv[0], err);

	/* an ELF64 x86_64 executable, as long as mkpiggy's z_output_len says */
	ck_assert_uint_ge(out_len, sizeof(eh));
	memcpy(&eh, out, sizeof(eh));
	ck_assert(memcmp(eh.e_ident, ELFMAG, SELFMAG) == 0);
	ck_assert_uint_eq(eh.e_ident[EI_CLASS], ELFCLASS64);
	ck_assert_uint_eq(eh.e_ident[EI_DATA], ELFDATA2LSB);
	ck_assert_uint_eq(eh.e_machine, EM_X86_64);
	ck_assert_uint_eq(eh.e_type, ET_EXEC);
	ck_assert_uint_eq((u32)out_len, le32(payload + plen - 4));

	printf("decompress: %s: %s payload %zu bytes -> vmlinux %zu bytes in %.3f s (%.0f MB/s out)\n",
	       g.gl_pathv[0], decompress_kind_name(kind), plen, out_len, dt,
	       (double)out_len / 1e6 / dt);
	free(out);
	free(img);
	globfree(&g);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("decompress");
	TCase *detect = tcase_create("detect"), *fmt = tcase_create("formats");
	TCase *misc = tcase_create("misc"), *kernel = tcase_create("kernel");
	int n = (int)ARRAY_SIZE(fmts);

	tcase_add_test(detect, detect_magics);
	tcase_add_test(detect, kind_names);
	suite_add_tcase(s, detect);

	/* compression at level 19 and valgrind runs need more than 4 s */
	tcase_set_timeout(fmt, 300);
	tcase_add_loop_test(fmt, round_trip, 0, n);
	tcase_add_loop_test(fmt, bomb_refused, 0, n);
	tcase_add_loop_test(fmt, bomb_of_zeros, 0, n);
	tcase_add_loop_test(fmt, truncated_refused, 0, n);
	tcase_add_loop_test(fmt, corrupt_refused, 0, n);
	tcase_add_loop_test(fmt, bit_flip_refused, 0, FMTS_CHECKSUMMED);
	tcase_add_loop_test(fmt, trailing_bytes_ignored, 0, FMTS_SELF_ENDING);
	tcase_add_loop_test(fmt, size_hint_lies, 1, FMTS_SELF_ENDING);
	suite_add_tcase(s, fmt);

	tcase_set_timeout(misc, 60);
	tcase_add_test(misc, gzip_without_trailer_extra);
	tcase_add_test(misc, lz4_legacy_variants);
	tcase_add_test(misc, lz4_bad_block_sizes);
	tcase_add_test(misc, none_is_copied);
	tcase_add_test(misc, unknown_and_unsupported);
	tcase_add_test(misc, no_err_buffer);
	suite_add_tcase(s, misc);

	tcase_set_timeout(kernel, 600);
	tcase_add_test(kernel, debian_kernel);
	suite_add_tcase(s, kernel);

	return check_run(s);
}

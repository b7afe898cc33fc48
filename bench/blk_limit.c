/*
 * blk_limit: the host-side limit for the virtio-blk benchmark
 * (bench/README.md, benchmark 4): the same requests bench_blk's guest
 * driver makes, done by the host itself on the same image file with
 * pread/pwrite, so a VMM's result can be read as a fraction of what the
 * host gets from that file.
 *
 *   blk_limit [-s SEQ_KIB] [-q SEQ_QD] [-n RAND_N] [-Q RAND_QD] [-d] IMAGE
 *   blk_limit -c MIB IMAGE
 *
 * Phases and their order are bench_blk's: seq_read (the read area, the
 * largest power-of-2 number of 4 KiB blocks in the first half of the file,
 * in SEQ_KIB requests), rand_read1 (RAND_N 4 KiB reads at the guest's LCG
 * sequence of blocks, one at a time), rand_readq (the same with RAND_QD
 * threads, each taking every RAND_QD-th request: RAND_QD requests in
 * flight), seq_write (the write area, the second half, in SEQ_KIB
 * requests). seq_read and seq_write use SEQ_QD threads the same way. Every
 * read checks the block's stamp (its number in the first 4 bytes), as the
 * guest does.
 *
 * The file is opened without O_DIRECT, as trapeze and QEMU (cache=writeback)
 * open it, so all three read the host's page cache; bench.py warms it
 * first. -d opens it with O_DIRECT instead: the device under the page cache.
 * IMAGE may be a block device: inside a Linux guest, `blk_limit -d
 * /dev/vda` is the guest's own benchmark of its virtio disk (bench/linux/).
 *
 * -c MIB creates IMAGE as a test image of MIB MiB: the first 4 bytes of
 * every 4 KiB block of the first half hold the block's number, the rest is
 * zero (what bench.py makes; used where there is no Python, in the nested
 * host).
 *
 * Output, one line per phase, the guest's format with nanoseconds:
 *   blk_limit: PHASE n=0xN qd=0xQ bytes=0xB ns=0xT
 * Exit status 0, 1 on an I/O error or a missing stamp, 64 on bad usage.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define BLOCK		4096
#define MAX_QD		64
#define LCG_A		1664525u	/* guest-firmware/guests/bench_blk.c */
#define LCG_C		1013904223u
#define LCG_SEED	0x2545f491u

struct limit_phase {
	const char *name;
	int write;
	uint32_t n;		/* requests */
	uint32_t qd;		/* threads */
	uint32_t bytes;		/* per request */
	const uint32_t *blocks;	/* block of request i */
};

struct limit_worker {
	pthread_t thread;
	const struct limit_phase *p;
	int fd;
	uint32_t first;		/* requests first, first + qd, ... */
	int err;		/* 0, -errno, or -EILSEQ for a missing stamp */
};

static long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void *limit_worker_run(void *arg)
{
	struct limit_worker *w = arg;
	const struct limit_phase *p = w->p;
	uint8_t *buf;

	/* Aligned for O_DIRECT; filled once, so writes write real bytes. */
	if (posix_memalign((void **)&buf, BLOCK, p->bytes)) {
		w->err = -ENOMEM;
		return NULL;
	}
	memset(buf, 0x5a, p->bytes);
	for (uint32_t i = w->first; i < p->n; i += p->qd) {
		off_t off = (off_t)p->blocks[i] * BLOCK;
		ssize_t r;

		if (p->write)
			r = pwrite(w->fd, buf, p->bytes, off);
		else
			r = pread(w->fd, buf, p->bytes, off);
		if (r != (ssize_t)p->bytes) {
			w->err = r < 0 ? -errno : -EIO;
			break;
		}
		if (!p->write && memcmp(buf, &p->blocks[i], 4)) {
			w->err = -EILSEQ;
			break;
		}
	}
	free(buf);
	return NULL;
}

/* Runs one phase with p->qd threads; prints its line. 0 or -errno. */
static int limit_run_phase(const struct limit_phase *p, int fd)
{
	struct limit_worker w[MAX_QD];
	long long t0, t1;
	uint32_t started = 0;
	int err = 0;

	t0 = now_ns();
	for (uint32_t t = 0; t < p->qd; t++) {
		w[t] = (struct limit_worker){ .p = p, .fd = fd, .first = t };
		if (pthread_create(&w[t].thread, NULL, limit_worker_run, &w[t])) {
			err = -EAGAIN;
			break;
		}
		started++;
	}
	for (uint32_t t = 0; t < started; t++) {
		pthread_join(w[t].thread, NULL);
		if (!err)
			err = w[t].err;
	}
	t1 = now_ns();
	if (err) {
		fprintf(stderr, "blk_limit: %s: %s\n", p->name,
			err == -EILSEQ ? "a block without its stamp" : strerror(-err));
		return err;
	}
	printf("blk_limit: %s n=0x%x qd=0x%x bytes=0x%llx ns=0x%llx\n", p->name, p->n, p->qd,
	       (unsigned long long)p->n * p->bytes, (unsigned long long)(t1 - t0));
	return 0;
}

static int limit_usage(void)
{
	fprintf(stderr, "usage: blk_limit [-s SEQ_KIB] [-q SEQ_QD] [-n RAND_N] [-Q RAND_QD] [-d] "
			"IMAGE\n       blk_limit -c MIB IMAGE\n");
	return 64;
}

/* -c: the stamped test image, written block by block and synced. */
static int limit_create(const char *path, uint32_t mib)
{
	uint8_t block[BLOCK] = { 0 };
	uint32_t blocks = mib * (1048576 / BLOCK);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	if (fd < 0)
		goto out_err;
	for (uint32_t b = 0; b < blocks; b++) {
		uint32_t stamp = b < blocks / 2 ? b : 0;

		memcpy(block, &stamp, sizeof(stamp));
		if (write(fd, block, sizeof(block)) != (ssize_t)sizeof(block))
			goto out_close;
	}
	if (fsync(fd) < 0)
		goto out_close;
	close(fd);
	return 0;

out_close:
	close(fd);
out_err:
	fprintf(stderr, "blk_limit: %s: %s\n", path, strerror(errno ? errno : EIO));
	return 1;
}

static int limit_parse(const char *s, uint32_t min, uint32_t max, uint32_t *v)
{
	char *end;
	unsigned long x = strtoul(s, &end, 0);

	if (*end || x < min || x > max)
		return -1;
	*v = (uint32_t)x;
	return 0;
}

int main(int argc, char **argv)
{
	uint32_t seq_kib = 256, seq_qd = 4, rand_n = 4096, rand_qd = 16, area = 1, seq_n, x;
	uint32_t *seq_rd, *seq_wr, *rnd;
	int opt, fd, flags = O_RDWR | O_CLOEXEC, r = 0;
	uint32_t create_mib = 0;
	off_t size;

	while ((opt = getopt(argc, argv, "s:q:n:Q:dc:")) != -1) {
		switch (opt) {
		case 's':
			if (limit_parse(optarg, 4, 4096, &seq_kib) || seq_kib % 4)
				return limit_usage();
			break;
		case 'q':
			if (limit_parse(optarg, 1, MAX_QD, &seq_qd))
				return limit_usage();
			break;
		case 'n':
			if (limit_parse(optarg, 1, 1u << 24, &rand_n))
				return limit_usage();
			break;
		case 'Q':
			if (limit_parse(optarg, 1, MAX_QD, &rand_qd))
				return limit_usage();
			break;
		case 'd':
			flags |= O_DIRECT;
			break;
		case 'c':
			if (limit_parse(optarg, 1, 65536, &create_mib))
				return limit_usage();
			break;
		default:
			return limit_usage();
		}
	}
	if (optind != argc - 1)
		return limit_usage();
	if (create_mib)
		return limit_create(argv[optind], create_mib);
	fd = open(argv[optind], flags);
	/* The end, not st_size: a block device's st_size is 0. */
	if (fd < 0 || (size = lseek(fd, 0, SEEK_END)) < 0) {
		fprintf(stderr, "blk_limit: %s: %s\n", argv[optind], strerror(errno));
		return 1;
	}
	/* bench_blk's read area: the largest power of 2 of blocks in the first half. */
	while ((off_t)area * 2 * 2 * BLOCK <= size)
		area *= 2;
	seq_n = area / (seq_kib / 4);
	if (area < 16 || seq_n < 1) {
		fprintf(stderr, "blk_limit: %s: too small\n", argv[optind]);
		return 1;
	}
	seq_rd = calloc(seq_n, sizeof(*seq_rd));
	seq_wr = calloc(seq_n, sizeof(*seq_wr));
	rnd = calloc(rand_n, sizeof(*rnd));
	if (!seq_rd || !seq_wr || !rnd) {
		fprintf(stderr, "blk_limit: out of memory\n");
		return 1;
	}
	for (uint32_t i = 0; i < seq_n; i++) {
		seq_rd[i] = i * (seq_kib / 4);
		seq_wr[i] = area + i * (seq_kib / 4);
	}
	x = LCG_SEED;
	for (uint32_t i = 0; i < rand_n; i++) {
		x = x * LCG_A + LCG_C;
		rnd[i] = (x >> 8) & (area - 1);
	}

	const struct limit_phase phases[] = {
		{ "seq_read", 0, seq_n, seq_qd, seq_kib * 1024, seq_rd },
		{ "rand_read1", 0, rand_n, 1, BLOCK, rnd },
		{ "rand_readq", 0, rand_n, rand_qd, BLOCK, rnd },
		{ "seq_write", 1, seq_n, seq_qd, seq_kib * 1024, seq_wr },
	};

	for (size_t i = 0; i < sizeof(phases) / sizeof(phases[0]) && !r; i++)
		r = limit_run_phase(&phases[i], fd);
	free(seq_rd);
	free(seq_wr);
	free(rnd);
	close(fd);
	return r ? 1 : 0;
}

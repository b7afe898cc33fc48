/*
 * Unit tests for virtio-blk: a fake driver (fake_driver.h) puts requests in
 * a ring, the device runs them against a temporary image file through the
 * real virtio core (virtio_rig.h), and the tests check the status bytes, the
 * used ring and the bytes in the file. Also: opening errors, locking, images
 * whose size is not a multiple of 512, malformed requests and rings,
 * parallel requests, reset and shutdown with requests in flight, and the
 * -d/--disk option.
 */
#include <check.h>
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check_main.h"
#include "fake_driver.h"
#include "trapeze/config.h"
#include "trapeze/virtio/blk.h"
#include "virtio_rig.h"

#define SECTOR 512
#define DISK_SECTORS 64		/* the default test image: 32 KiB */
#define BAD 0xEE		/* what the status byte holds before the device writes it */

struct rig {
	char dir[64];
	char path[128];
	struct fake_driver fd;
	struct virtio_blk blk;
	struct vrig_irqs irqs;
	bool blk_up;
	u16 used;		/* chains the driver expects back so far */
};

/* The byte the test image holds at offset off: varies within and across sectors. */
static u8 pattern(u64 off)
{
	return (u8)(off * 7 + off / SECTOR * 13 + 1);
}

static void write_file(const char *path, u64 size)
{
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	u8 *buf = malloc(size ? size : 1);

	ck_assert_int_ge(fd, 0);
	ck_assert_ptr_nonnull(buf);
	for (u64 i = 0; i < size; i++)
		buf[i] = pattern(i);
	ck_assert_int_eq(pwrite(fd, buf, size, 0), (ssize_t)size);
	free(buf);
	close(fd);
}

static void read_file(const char *path, u64 off, void *buf, u64 len)
{
	int fd = open(path, O_RDONLY);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(pread(fd, buf, len, (off_t)off), (ssize_t)len);
	close(fd);
}

static u64 file_size(const char *path)
{
	struct stat st;

	ck_assert_int_eq(stat(path, &st), 0);
	return (u64)st.st_size;
}

static void rig_dir(struct rig *r)
{
	memset(r, 0, sizeof(*r));
	snprintf(r->dir, sizeof(r->dir), "/tmp/trapeze-blk-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(r->dir));
	snprintf(r->path, sizeof(r->path), "%s/disk.img", r->dir);
}

/* Creates the device on the image at r->path (already written). */
static void rig_open(struct rig *r, bool ro, bool event_idx)
{
	char err[256] = "";
	struct fake_driver *fds[1] = { &r->fd };

	fd_init(&r->fd, 256, event_idx);
	ck_assert_msg(virtio_blk_create(&r->blk, r->path, ro, 0, &r->fd.mem, err,
					sizeof(err)) == 0, "%s", err);
	r->blk_up = true;
	vrig_attach(&r->blk.vd, &r->irqs);
	vrig_start(&r->blk.vd, fds, 1, 0);
}

static void rig_init(struct rig *r, u64 size, bool ro)
{
	rig_dir(r);
	write_file(r->path, size);
	rig_open(r, ro, false);
}

static void rig_destroy(struct rig *r)
{
	if (r->blk_up)
		virtio_blk_destroy(&r->blk);
	fd_destroy(&r->fd);
	unlink(r->path);
	rmdir(r->dir);
}

/* Writes the 16-byte request header at gpa. */
static void put_hdr(struct rig *r, u64 gpa, u32 type, u64 sector)
{
	struct virtio_blk_outhdr h = {
		.type = htole32(type), .ioprio = 0, .sector = htole64(sector),
	};

	memcpy(fd_host(&r->fd, gpa, sizeof(h)), &h, sizeof(h));
}

/* One request as Linux lays it out: header, data (if len), status. */
struct req {
	u16 head;
	u64 data;	/* gpa of the data buffer */
	u64 status;	/* gpa of the status byte */
};

static struct req add_req(struct rig *r, u32 type, u64 sector, u32 len, bool data_writable)
{
	struct fd_buf bufs[3] = { { 16, false }, { len, data_writable }, { 1, true } };
	struct fd_buf nodata[2] = { { 16, false }, { 1, true } };
	u64 gpas[3];
	struct req q;

	if (len) {
		q.head = fd_add(&r->fd, bufs, 3, gpas);
		q.data = gpas[1];
		q.status = gpas[2];
	} else {
		q.head = fd_add(&r->fd, nodata, 2, gpas);
		q.data = 0;
		q.status = gpas[1];
	}
	put_hdr(r, gpas[0], type, sector);
	*(u8 *)fd_host(&r->fd, q.status, 1) = BAD;
	return q;
}

/* Publishes head, kicks, waits for the device to use it. */
static void submit(struct rig *r, u16 head)
{
	fd_publish(&r->fd, head);
	virtio_dev_kick(&r->blk.vd, 0);
	r->used++;
	vrig_wait_used(&r->fd, r->used);
}

static u8 status_of(struct rig *r, const struct req *q)
{
	return *(u8 *)fd_host(&r->fd, q->status, 1);
}

/* The used element for the last completed chain with this head. */
static struct virtq_used_elem used_for(struct rig *r, u16 head)
{
	for (u16 i = r->used; i-- > 0;) {
		struct virtq_used_elem e = fd_used_elem(&r->fd, i);

		if (e.id == head)
			return e;
	}
	ck_abort_msg("head %u not in the used ring", head);
	return (struct virtq_used_elem){ 0 };
}

static u8 run(struct rig *r, u32 type, u64 sector, u32 len, bool writable, struct req *out)
{
	struct req q = add_req(r, type, sector, len, writable);

	submit(r, q.head);
	if (out)
		*out = q;
	return status_of(r, &q);
}

/* ---- configuration and features ---- */

START_TEST(test_config_and_features)
{
	struct rig r;
	struct virtio_blk_config c;

	rig_init(&r, DISK_SECTORS * SECTOR, false);
	memset(&c, 0xff, sizeof(c));
	pthread_mutex_lock(&r.blk.vd.lock);
	ck_assert_int_eq(virtio_dev_config_read(&r.blk.vd, 0, &c, VIRTIO_BLK_CONFIG_SIZE), 0);
	pthread_mutex_unlock(&r.blk.vd.lock);
	ck_assert_uint_eq(le64toh(c.capacity), DISK_SECTORS);
	ck_assert_uint_eq(le32toh(c.seg_max), VIRTIO_BLK_SEG_MAX);
	ck_assert_uint_eq(le32toh(c.size_max), VIRTIO_BLK_SIZE_MAX);
	ck_assert_uint_eq(le32toh(c.blk_size), 512);
	ck_assert_uint_eq(c.geometry.cylinders, 0);
	ck_assert_uint_eq(c.unused, 0);
	ck_assert(vrig_negotiated(&r.blk.vd, VIRTIO_BLK_F_FLUSH));
	ck_assert(vrig_negotiated(&r.blk.vd, VIRTIO_BLK_F_SEG_MAX));
	ck_assert(vrig_negotiated(&r.blk.vd, VIRTIO_BLK_F_SIZE_MAX));
	ck_assert(vrig_negotiated(&r.blk.vd, VIRTIO_BLK_F_BLK_SIZE));
	ck_assert(!vrig_negotiated(&r.blk.vd, VIRTIO_BLK_F_RO));
	/* /tmp punches holes (ext4, tmpfs): discard and write-zeroes are offered. */
	ck_assert(r.blk.can_punch);
	ck_assert(vrig_negotiated(&r.blk.vd, VIRTIO_BLK_F_DISCARD));
	ck_assert(vrig_negotiated(&r.blk.vd, VIRTIO_BLK_F_WRITE_ZEROES));
	ck_assert_uint_eq(le32toh(c.max_discard_seg), VIRTIO_BLK_DISCARD_MAX_SEG);
	ck_assert_uint_eq(le32toh(c.max_discard_sectors), VIRTIO_BLK_DWZ_MAX_SECTORS);
	ck_assert_uint_eq(le32toh(c.discard_sector_alignment), VIRTIO_BLK_DISCARD_ALIGN);
	ck_assert_uint_eq(le32toh(c.max_write_zeroes_seg), 1);
	ck_assert_uint_eq(c.write_zeroes_may_unmap, 1);
	/* A read past the configuration gives zeroes and fails. */
	pthread_mutex_lock(&r.blk.vd.lock);
	ck_assert_int_eq(virtio_dev_config_read(&r.blk.vd, VIRTIO_BLK_CONFIG_SIZE - 2, &c, 4),
			 -EINVAL);
	pthread_mutex_unlock(&r.blk.vd.lock);
	rig_destroy(&r);
}
END_TEST

/* ---- the request types ---- */

START_TEST(test_read)
{
	struct rig r;
	struct req q;
	u8 *data;

	rig_init(&r, DISK_SECTORS * SECTOR, false);
	ck_assert_uint_eq(run(&r, VIRTIO_BLK_T_IN, 3, 4 * SECTOR, true, &q), VIRTIO_BLK_S_OK);
	data = fd_host(&r.fd, q.data, 4 * SECTOR);
	for (u64 i = 0; i < 4 * SECTOR; i++)
		ck_assert_uint_eq(data[i], pattern(3 * SECTOR + i));
	/* The used length covers the data and the status byte. */
	ck_assert_uint_eq(used_for(&r, q.head).len, 4 * SECTOR + 1);
	ck_assert_int_gt(atomic_load(&r.irqs.queue[0]), 0);
	rig_destroy(&r);
}
END_TEST

START_TEST(test_write)
{
	struct rig r;
	struct req q = { 0 };
	u8 got[3 * SECTOR], before[SECTOR], after[SECTOR];

	rig_init(&r, DISK_SECTORS * SECTOR, false);
	q = add_req(&r, VIRTIO_BLK_T_OUT, 10, 3 * SECTOR, false);
	for (u32 i = 0; i < 3 * SECTOR; i++)
		((u8 *)fd_host(&r.fd, q.data, 3 * SECTOR))[i] = (u8)(0xA5 ^ i);
	submit(&r, q.head);
	ck_assert_uint_eq(status_of(&r, &q), VIRTIO_BLK_S_OK);
	ck_assert_uint_eq(used_for(&r, q.head).len, 1);
	read_file(r.path, 10 * SECTOR, got, sizeof(got));
	for (u32 i = 0; i < sizeof(got); i++)
		ck_assert_uint_eq(got[i], (u8)(0xA5 ^ i));
	/* The neighbours are untouched. */
	read_file(r.path, 9 * SECTOR, before, SECTOR);
	read_file(r.path, 13 * SECTOR, after, SECTOR);
	for (u32 i = 0; i < SECTOR; i++) {
		ck_assert_uint_eq(before[i], pattern(9 * SECTOR + i));
		ck_assert_uint_eq(after[i], pattern(13 * SECTOR + i));
	}
	/* And a read gives back what was written. */
	ck_assert_uint_eq(run(&r, VIRTIO_BLK_T_IN, 10, 3 * SECTOR, true, &q), VIRTIO_BLK_S_OK);
	ck_assert_mem_eq(fd_host(&r.fd, q.data, sizeof(got)), got, sizeof(got));
	rig_destroy(&r);
}
END_TEST

START_TEST(test_flush)
{
	struct rig r;
	struct req q;

	rig_init(&r, DISK_SECTORS * SECTOR, false);
	ck_assert(r.blk.writeback);	/* FLUSH negotiated: writes are cached until a flush */
	ck_assert_uint_eq(run(&r, VIRTIO_BLK_T_OUT, 0, SECTOR, false, NULL), VIRTIO_BLK_S_OK);
	ck_assert_uint_eq(run(&r, VIRTIO_BLK_T_FLUSH, 0, 0, false, &q), VIRTIO_BLK_S_OK);
	ck_assert_uint_eq(used_for(&r, q.head).len, 1);
	/* A flush carries no data. */
	ck_assert_uint_eq(run(&r, VIRTIO_BLK_T_FLUSH, 0, SECTOR, false, NULL), VIRTIO_BLK_S_IOERR);
	rig_destroy(&r);
}
END_TEST

START_TEST(test_write_through_without_flush)
{
	struct rig r;
	struct fake_driver *fds[1];
	char err[256];

	/* A driver that does not take FLUSH gets every write made stable at once (5.2.6.2). */
	rig_dir(&r);
	write_file(r.path, DISK_SECTORS * SECTOR);
	fd_init(&r.fd, 256, false);
	fds[0] = &r.fd;
	ck_assert_int_eq(virtio_blk_create(&r.blk, r.path, false, 0, &r.fd.mem, err,
					   sizeof(err)), 0);
	r.blk_up = true;
	vrig_attach(&r.blk.vd, &r.irqs);
	vrig_start(&r.blk.vd, fds, 1, 1ULL << VIRTIO_BLK_F_FLUSH);
	ck_assert(!vrig_negotiated(&r.blk.vd, VIRTIO_BLK_F_FLUSH));
	ck_assert(!r.blk.writeback);
	ck_assert_uint_eq(run(&r, VIRTIO_BLK_T_OUT, 1, SECTOR, false, NULL), VIRTIO_BLK_S_OK);
	rig_destroy(&r);
}
END_TEST

START_TEST(test_get_id)
{
	struct rig r;
	struct req q;
	char id[VIRTIO_BLK_ID_BYTES];

	rig_init(&r, DISK_SECTORS * SECTOR, false);
	ck_assert_uint_eq(run(&r, VIRTIO_BLK_T_GET_ID, 0, VIRTIO_BLK_ID_BYTES, true, &q),
			  VIRTIO_BLK_S_OK);
	memset(id, 0, sizeof(id));
	strcpy(id, "trapeze-0");
	ck_assert_mem_eq(fd_host(&r.fd, q.data, VIRTIO_BLK_ID_BYTES), id, sizeof(id));
	ck_assert_uint_eq(used_for(&r, q.head).len, VIRTIO_BLK_ID_BYTES + 1);
	/* A shorter buffer gets the start of the serial, nothing more. */
	q = add_req(&r, VIRTIO_BLK_T_GET_ID, 0, 4, true);
	submit(&r, q.head);
	ck_assert_uint_eq(status_of(&r, &q), VIRTIO_BLK_S_OK);
	ck_assert_mem_eq(fd_host(&r.fd, q.data, 4), "trap", 4);
	/* No buffer at all: an error. */
	ck_assert_uint_eq(run(&r, VIRTIO_BLK_T_GET_ID, 0, 0, true, NULL), VIRTIO_BLK_S_IOERR);
	rig_destroy(&r);
}
END_TEST

/* Adds a discard/write-zeroes request with the given segments. */
static struct req add_dwz(struct rig *r, u32 type, const struct virtio_blk_discard_write_zeroes *segs,
			  unsigned int n)
{
	struct fd_buf bufs[3] = { { 16, false }, { 16 * n, false }, { 1, true } };
	u64 gpas[3];
	struct req q;

	q.head = fd_add(&r->fd, bufs, 3, gpas);
	put_hdr(r, gpas[0], type, 0);
	memcpy(fd_host(&r->fd, gpas[1], 16 * n), segs, 16 * n);
	q.data = gpas[1];
	q.status = gpas[2];
	*(u8 *)fd_host(&r->fd, q.status, 1) = BAD;
	return q;
}

static u8 run_dwz(struct rig *r, u32 type, u64 sector, u32 nr, u32 flags)
{
	struct virtio_blk_discard_write_zeroes seg = {
		.sector = htole64(sector), .num_sectors = htole32(nr), .flags = htole32(flags),
	};
	struct req q = add_dwz(r, type, &seg, 1);

	submit(r, q.head);
	return status_of(r, &q);
}

/* Sectors [first, first + nr) of the file are all zero; the ones around keep the pattern. */
static void check_zeroed(struct rig *r, u64 first, u64 nr)
{
	u8 buf[SECTOR];

	for (u64 s = first - 1; s <= first + nr; s++) {
		read_file(r->path, s * SECTOR, buf, SECTOR);
		for (u32 i = 0; i < SECTOR; i++) {
			if (s >= first && s < first + nr)
				ck_assert_uint_eq(buf[i], 0);
			else
				ck_assert_uint_eq(buf[i], pattern(s * SECTOR + i));
		}
	}
}

START_TEST(test_discard)
{
	struct rig r;
	struct virtio_blk_discard_write_zeroes segs[VIRTIO_BLK_DISCARD_MAX_SEG + 1];
	struct req q;

	rig_init(&r, DISK_SECTORS * SECTOR, false);
	/* A punched hole reads back as zeroes on a file. */
	ck_assert_uint_eq(run_dwz(&r, VIRTIO_BLK_T_DISCARD, 8, 16, 0), VIRTIO_BLK_S_OK);
	check_zeroed(&r, 8, 16);
	ck_assert_uint_eq(file_size(r.path), DISK_SECTORS * SECTOR);
	/* Two segments in one request. */
	segs[0] = (struct virtio_blk_discard_write_zeroes){ htole64(30), htole32(2), 0 };
	segs[1] = (struct virtio_blk_discard_write_zeroes){ htole64(40), htole32(3), 0 };
	q = add_dwz(&r, VIRTIO_BLK_T_DISCARD, segs, 2);
	submit(&r, q.head);
	ck_assert_uint_eq(status_of(&r, &q), VIRTIO_BLK_S_OK);
	check_zeroed(&r, 30, 2);
	check_zeroed(&r, 40, 3);
	/* Unmap on a discard, or any unknown flag: UNSUPP (5.2.6.2). */
	ck_assert_uint_eq(run_dwz(&r, VIRTIO_BLK_T_DISCARD, 50, 1, 1), VIRTIO_BLK_S_UNSUPP);
	ck_assert_uint_eq(run_dwz(&r, VIRTIO_BLK_T_DISCARD, 50, 1, 4), VIRTIO_BLK_S_UNSUPP);
	/* Past the end, or overflowing: IOERR, and nothing discarded. */
	ck_assert_uint_eq(run_dwz(&r, VIRTIO_BLK_T_DISCARD, DISK_SECTORS - 1, 2, 0),
			  VIRTIO_BLK_S_IOERR);
	ck_assert_uint_eq(run_dwz(&r, VIRTIO_BLK_T_DISCARD, UINT64_MAX, 2, 0), VIRTIO_BLK_S_IOERR);
	check_zeroed(&r, 8, 16);
	/* More segments than max_discard_seg. */
	for (unsigned int i = 0; i < ARRAY_SIZE(segs); i++)
		segs[i] = (struct virtio_blk_discard_write_zeroes){ htole64(i), htole32(1), 0 };
	q = add_dwz(&r, VIRTIO_BLK_T_DISCARD, segs, ARRAY_SIZE(segs));
	submit(&r, q.head);
	ck_assert_uint_eq(status_of(&r, &q), VIRTIO_BLK_S_IOERR);
	check_zeroed(&r, 8, 16);	/* sector 0 and 7 still hold the pattern */
	rig_destroy(&r);
}
END_TEST

START_TEST(test_discard_bad_segment_bytes)
{
	struct rig r;
	struct fd_buf bufs[3] = { { 16, false }, { 24, false }, { 1, true } };
	u64 gpas[3];
	u16 head;

	rig_init(&r, DISK_SECTORS * SECTOR, false);
	/* Segment bytes not a multiple of 16. */
	head = fd_add(&r.fd, bufs, 3, gpas);
	put_hdr(&r, gpas[0], VIRTIO_BLK_T_DISCARD, 0);
	memset(fd_host(&r.fd, gpas[1], 24), 0, 24);
	submit(&r, head);
	ck_assert_uint_eq(*(u8 *)fd_host(&r.fd, gpas[2], 1), VIRTIO_BLK_S_IOERR);
	/* No segment at all. */
	ck_assert_uint_eq(run(&r, VIRTIO_BLK_T_DISCARD, 0, 0, false, NULL), VIRTIO_BLK_S_IOERR);
	rig_destroy(&r);
}
END_TEST

START_TEST(test_write_zeroes)
{
	struct rig r;

	rig_init(&r, DISK_SECTORS * SECTOR, false);
	ck_assert_uint_eq(run_dwz(&r, VIRTIO_BLK_T_WRITE_ZEROES, 4, 5, 0), VIRTIO_BLK_S_OK);
	check_zeroed(&r, 4, 5);
	ck_assert_uint_eq(run_dwz(&r, VIRTIO_BLK_T_WRITE_ZEROES, 20, 9,
				  VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP), VIRTIO_BLK_S_OK);
	check_zeroed(&r, 20, 9);
	ck_assert_uint_eq(file_size(r.path), DISK_SECTORS * SECTOR);
	/* Unknown flags: UNSUPP; past the end: IOERR. */
	ck_assert_uint_eq(run_dwz(&r, VIRTIO_BLK_T_WRITE_ZEROES, 40, 1, 2), VIRTIO_BLK_S_UNSUPP);
	ck_assert_uint_eq(run_dwz(&r, VIRTIO_BLK_T_WRITE_ZEROES, DISK_SECTORS, 1, 0),
			  VIRTIO_BLK_S_IOERR);
	/* A second segment: max_write_zeroes_seg is 1. */
	{
		struct virtio_blk_discard_write_zeroes segs[2] = {
			{ htole64(40), htole32(1), 0 }, { htole64(42), htole32(1), 0 },
		};
		struct req q = add_dwz(&r, VIRTIO_BLK_T_WRITE_ZEROES, segs, 2);

		submit(&r, q.head);
		ck_assert_uint_eq(status_of(&r, &q), VIRTIO_BLK_S_IOERR);
	}
	rig_destroy(&r);
}
END_TEST

START_TEST(test_write_zeroes_fallback)
{
	struct rig r;

	/* Where ZERO_RANGE is refused (tmpfs) the zeroes are written; force that path. */
	rig_init(&r, DISK_SECTORS * SECTOR, false);
	atomic_store(&r.blk.can_zero_range, false);
	ck_assert_uint_eq(run_dwz(&r, VIRTIO_BLK_T_WRITE_ZEROES, 6, 3, 0), VIRTIO_BLK_S_OK);
	check_zeroed(&r, 6, 3);
	rig_destroy(&r);
}
END_TEST

START_TEST(test_queued_before_driver_ok)
{
	struct rig r;
	struct fake_driver *fds[1] = { &r.fd };
	struct req q;
	char err[256];

	/* A driver may fill its queue before DRIVER_OK and not notify (3.1.1): served at DRIVER_OK. */
	rig_dir(&r);
	write_file(r.path, DISK_SECTORS * SECTOR);
	fd_init(&r.fd, 256, false);
	ck_assert_int_eq(virtio_blk_create(&r.blk, r.path, false, 0, &r.fd.mem, err,
					   sizeof(err)), 0);
	r.blk_up = true;
	vrig_attach(&r.blk.vd, &r.irqs);
	q = add_req(&r, VIRTIO_BLK_T_IN, 7, SECTOR, true);
	fd_publish(&r.fd, q.head);
	vrig_start(&r.blk.vd, fds, 1, 0);
	vrig_wait_used(&r.fd, 1);
	ck_assert_uint_eq(status_of(&r, &q), VIRTIO_BLK_S_OK);
	ck_assert_uint_eq(((u8 *)fd_host(&r.fd, q.data, SECTOR))[0], pattern(7 * SECTOR));
	rig_destroy(&r);
}
END_TEST

/* ---- read-only disks ---- */

START_TEST(test_read_only)
{
	struct rig r;
	struct req q;
	u8 buf[SECTOR];

	rig_init(&r, DISK_SECTORS * SECTOR, true);
	ck_assert(vrig_negotiated(&r.blk.vd, VIRTIO_BLK_F_RO));
	ck_assert(!vrig_negotiated(&r.blk.vd, VIRTIO_BLK_F_DISCARD));
	ck_assert(!vrig_negotiated(&r.blk.vd, VIRTIO_BLK_F_WRITE_ZEROES));
	q = add_req(&r, VIRTIO_BLK_T_OUT, 2, SECTOR, false);
	memset(fd_host(&r.fd, q.data, SECTOR), 0, SECTOR);
	submit(&r, q.head);
	ck_assert_uint_eq(status_of(&r, &q), VIRTIO_BLK_S_IOERR);
	read_file(r.path, 2 * SECTOR, buf, SECTOR);
	for (u32 i = 0; i < SECTOR; i++)
		ck_assert_uint_eq(buf[i], pattern(2 * SECTOR + i));
	ck_assert_uint_eq(run_dwz(&r, VIRTIO_BLK_T_DISCARD, 2, 1, 0), VIRTIO_BLK_S_IOERR);
	ck_assert_uint_eq(run_dwz(&r, VIRTIO_BLK_T_WRITE_ZEROES, 2, 1, 0), VIRTIO_BLK_S_IOERR);
	check_zeroed(&r, 2, 0);
	/* Reads and flushes work. */
	ck_assert_uint_eq(run(&r, VIRTIO_BLK_T_IN, 2, SECTOR, true, &q), VIRTIO_BLK_S_OK);
	ck_assert_uint_eq(run(&r, VIRTIO_BLK_T_FLUSH, 0, 0, false, NULL), VIRTIO_BLK_S_OK);
	rig_destroy(&r);
}
END_TEST

/* ---- bad requests ---- */

START_TEST(test_out_of_range)
{
	struct rig r;

	rig_init(&r, DISK_SECTORS * SECTOR, false);
	ck_assert_uint_eq(run(&r, VIRTIO_BLK_T_IN, DISK_SECTORS, SECTOR, true, NULL),
			  VIRTIO_BLK_S_IOERR);
	ck_assert_uint_eq(run(&r, VIRTIO_BLK_T_IN, DISK_SECTORS - 1, 2 * SECTOR, true, NULL),
			  VIRTIO_BLK_S_IOERR);
	ck_assert_uint_eq(run(&r, VIRTIO_BLK_T_OUT, DISK_SECTORS - 1, 2 * SECTOR, false, NULL),
			  VIRTIO_BLK_S_IOERR);
	ck_assert_uint_eq(file_size(r.path), DISK_SECTORS * SECTOR);
	/* The last sector itself is fine. */
	ck_assert_uint_eq(run(&r, VIRTIO_BLK_T_IN, DISK_SECTORS - 1, SECTOR, true, NULL),
			  VIRTIO_BLK_S_OK);
	rig_destroy(&r);
}
END_TEST

START_TEST(test_overflow)
{
	struct rig r;

	rig_init(&r, DISK_SECTORS * SECTOR, false);
	/* sector + count wraps around 2^64; sector * 512 wraps too. */
	ck_assert_uint_eq(run(&r, VIRTIO_BLK_T_IN, UINT64_MAX, 2 * SECTOR, true, NULL),
			  VIRTIO_BLK_S_IOERR);
	ck_assert_uint_eq(run(&r, VIRTIO_BLK_T_OUT, UINT64_MAX - 1, 4 * SECTOR, false, NULL),
			  VIRTIO_BLK_S_IOERR);
	ck_assert_uint_eq(run(&r, VIRTIO_BLK_T_IN, 1ULL << 55, SECTOR, true, NULL),
			  VIRTIO_BLK_S_IOERR);
	ck_assert_uint_eq(file_size(r.path), DISK_SECTORS * SECTOR);
	rig_destroy(&r);
}
END_TEST

START_TEST(test_short_header)
{
	struct rig r;
	struct fd_buf bufs[3] = { { 8, false }, { SECTOR, true }, { 1, true } };
	u64 gpas[3];
	u16 head;

	rig_init(&r, DISK_SECTORS * SECTOR, false);
	head = fd_add(&r.fd, bufs, 3, gpas);
	memset(fd_host(&r.fd, gpas[0], 8), 0, 8);	/* type IN, but only 8 bytes */
	*(u8 *)fd_host(&r.fd, gpas[2], 1) = BAD;
	submit(&r, head);
	ck_assert_uint_eq(*(u8 *)fd_host(&r.fd, gpas[2], 1), VIRTIO_BLK_S_IOERR);
	rig_destroy(&r);
}
END_TEST

START_TEST(test_no_status_byte)
{
	struct rig r;
	struct fd_buf bufs[2] = { { 16, false }, { SECTOR, false } };
	u64 gpas[2];
	u16 head;

	rig_init(&r, DISK_SECTORS * SECTOR, false);
	head = fd_add(&r.fd, bufs, 2, gpas);
	put_hdr(&r, gpas[0], VIRTIO_BLK_T_OUT, 0);
	memset(fd_host(&r.fd, gpas[1], SECTOR), 0x77, SECTOR);
	submit(&r, head);
	/* Given back with nothing written, and nothing written to the file. */
	ck_assert_uint_eq(used_for(&r, head).len, 0);
	check_zeroed(&r, 1, 0);
	/* The device carries on. */
	ck_assert_uint_eq(run(&r, VIRTIO_BLK_T_IN, 0, SECTOR, true, NULL), VIRTIO_BLK_S_OK);
	ck_assert(!(virtio_dev_status(&r.blk.vd) & VIRTIO_CONFIG_S_NEEDS_RESET));
	rig_destroy(&r);
}
END_TEST

START_TEST(test_bad_lengths)
{
	struct rig r;
	struct fd_buf bufs[4] = { { 16, false }, { SECTOR, false }, { SECTOR, true }, { 1, true } };
	u64 gpas[4];
	u16 head;

	rig_init(&r, DISK_SECTORS * SECTOR, false);
	/* Data not a multiple of 512, either way. */
	ck_assert_uint_eq(run(&r, VIRTIO_BLK_T_IN, 0, 100, true, NULL), VIRTIO_BLK_S_IOERR);
	ck_assert_uint_eq(run(&r, VIRTIO_BLK_T_OUT, 0, 513, false, NULL), VIRTIO_BLK_S_IOERR);
	check_zeroed(&r, 1, 0);
	/* Data in the wrong direction: a read with readable data, a write with writable data. */
	ck_assert_uint_eq(run(&r, VIRTIO_BLK_T_IN, 0, SECTOR, false, NULL), VIRTIO_BLK_S_IOERR);
	ck_assert_uint_eq(run(&r, VIRTIO_BLK_T_OUT, 0, SECTOR, true, NULL), VIRTIO_BLK_S_IOERR);
	/* Both directions at once. */
	head = fd_add(&r.fd, bufs, 4, gpas);
	put_hdr(&r, gpas[0], VIRTIO_BLK_T_IN, 0);
	*(u8 *)fd_host(&r.fd, gpas[3], 1) = BAD;
	submit(&r, head);
	ck_assert_uint_eq(*(u8 *)fd_host(&r.fd, gpas[3], 1), VIRTIO_BLK_S_IOERR);
	rig_destroy(&r);
}
END_TEST

START_TEST(test_unknown_type)
{
	struct rig r;
	struct req q;

	rig_init(&r, DISK_SECTORS * SECTOR, false);
	ck_assert_uint_eq(run(&r, 99, 0, 0, false, &q), VIRTIO_BLK_S_UNSUPP);
	ck_assert_uint_eq(used_for(&r, q.head).len, 1);
	/* SCSI passthrough and legacy FLUSH_OUT are not ours either. */
	ck_assert_uint_eq(run(&r, 2, 0, 0, false, NULL), VIRTIO_BLK_S_UNSUPP);
	ck_assert_uint_eq(run(&r, 5, 0, 0, false, NULL), VIRTIO_BLK_S_UNSUPP);
	rig_destroy(&r);
}
END_TEST

START_TEST(test_odd_framing)
{
	struct rig r;
	/* Header split in two, data and status sharing one buffer (spec 2.6.4 allows it). */
	struct fd_buf bufs[3] = { { 6, false }, { 10, false }, { 2 * SECTOR + 1, true } };
	u64 gpas[3];
	u8 hdr[16];
	struct virtio_blk_outhdr h = { .type = htole32(VIRTIO_BLK_T_IN), .sector = htole64(5) };
	u16 head;
	u8 *data;

	rig_init(&r, DISK_SECTORS * SECTOR, false);
	head = fd_add(&r.fd, bufs, 3, gpas);
	memcpy(hdr, &h, sizeof(h));
	memcpy(fd_host(&r.fd, gpas[0], 6), hdr, 6);
	memcpy(fd_host(&r.fd, gpas[1], 10), hdr + 6, 10);
	submit(&r, head);
	data = fd_host(&r.fd, gpas[2], 2 * SECTOR + 1);
	ck_assert_uint_eq(data[2 * SECTOR], VIRTIO_BLK_S_OK);
	for (u32 i = 0; i < 2 * SECTOR; i++)
		ck_assert_uint_eq(data[i], pattern(5 * SECTOR + i));
	rig_destroy(&r);
}
END_TEST

/* An indirect chain: the header and the first data sector in one buffer, n more data sectors, status. */
static u8 run_segments(struct rig *r, unsigned int n)
{
	struct fd_buf bufs[256];
	u64 gpas[256];
	u16 head;

	ck_assert_uint_le(n + 2, 256);
	bufs[0] = (struct fd_buf){ 16 + SECTOR, false };
	for (unsigned int i = 1; i <= n; i++)
		bufs[i] = (struct fd_buf){ SECTOR, false };
	bufs[n + 1] = (struct fd_buf){ 1, true };
	head = fd_add_indirect(&r->fd, bufs, n + 2, gpas);
	put_hdr(r, gpas[0], VIRTIO_BLK_T_OUT, 0);
	*(u8 *)fd_host(&r->fd, gpas[n + 1], 1) = BAD;
	submit(r, head);
	return *(u8 *)fd_host(&r->fd, gpas[n + 1], 1);
}

START_TEST(test_seg_max)
{
	struct rig r;

	rig_init(&r, 512 * SECTOR, false);
	ck_assert(vrig_negotiated(&r.blk.vd, VIRTIO_RING_F_INDIRECT_DESC));
	/* seg_max data segments: fine; one more: refused. */
	ck_assert_uint_eq(run_segments(&r, VIRTIO_BLK_SEG_MAX - 1), VIRTIO_BLK_S_OK);
	ck_assert_uint_eq(run_segments(&r, VIRTIO_BLK_SEG_MAX), VIRTIO_BLK_S_IOERR);
	rig_destroy(&r);
}
END_TEST

START_TEST(test_malformed_ring_needs_reset)
{
	struct rig r;

	rig_init(&r, DISK_SECTORS * SECTOR, false);
	/* A head index past the queue: virtq_pop refuses the ring. */
	fd_stage(&r.fd, 300, 0);
	fd_expose(&r.fd, 1);
	virtio_dev_kick(&r.blk.vd, 0);
	ck_assert(virtio_dev_status(&r.blk.vd) & VIRTIO_CONFIG_S_NEEDS_RESET);
	ck_assert_int_eq(atomic_load(&r.irqs.config), 1);
	/* Kicking again changes nothing; a reset brings the device back. */
	virtio_dev_kick(&r.blk.vd, 0);
	ck_assert_int_eq(atomic_load(&r.irqs.config), 1);
	vrig_reset(&r.blk.vd);
	ck_assert_uint_eq(virtio_dev_status(&r.blk.vd), 0);
	rig_destroy(&r);
}
END_TEST

/* ---- sizes, opening, locking ---- */

START_TEST(test_size_not_multiple_of_512)
{
	struct rig r;
	struct virtio_blk_config c;
	struct req q;

	rig_init(&r, 3 * SECTOR + 100, false);
	pthread_mutex_lock(&r.blk.vd.lock);
	virtio_dev_config_read(&r.blk.vd, 0, &c, 8);
	pthread_mutex_unlock(&r.blk.vd.lock);
	/* The tail is not visible: 3 sectors. */
	ck_assert_uint_eq(le64toh(c.capacity), 3);
	ck_assert_uint_eq(run(&r, VIRTIO_BLK_T_IN, 2, SECTOR, true, &q), VIRTIO_BLK_S_OK);
	ck_assert_uint_eq(run(&r, VIRTIO_BLK_T_IN, 3, SECTOR, true, NULL), VIRTIO_BLK_S_IOERR);
	q = add_req(&r, VIRTIO_BLK_T_OUT, 2, SECTOR, false);
	memset(fd_host(&r.fd, q.data, SECTOR), 0, SECTOR);
	submit(&r, q.head);
	ck_assert_uint_eq(status_of(&r, &q), VIRTIO_BLK_S_OK);
	ck_assert_uint_eq(run(&r, VIRTIO_BLK_T_OUT, 3, SECTOR, false, NULL), VIRTIO_BLK_S_IOERR);
	/* The file neither grew nor lost its tail. */
	ck_assert_uint_eq(file_size(r.path), 3 * SECTOR + 100);
	{
		u8 tail[100];

		read_file(r.path, 3 * SECTOR, tail, sizeof(tail));
		for (u32 i = 0; i < sizeof(tail); i++)
			ck_assert_uint_eq(tail[i], pattern(3 * SECTOR + i));
	}
	rig_destroy(&r);
}
END_TEST

START_TEST(test_empty_and_tiny_images)
{
	struct rig r;
	struct virtio_blk_config c;

	rig_init(&r, 100, false);	/* less than a sector: capacity 0 */
	pthread_mutex_lock(&r.blk.vd.lock);
	virtio_dev_config_read(&r.blk.vd, 0, &c, 8);
	pthread_mutex_unlock(&r.blk.vd.lock);
	ck_assert_uint_eq(le64toh(c.capacity), 0);
	ck_assert_uint_eq(run(&r, VIRTIO_BLK_T_IN, 0, SECTOR, true, NULL), VIRTIO_BLK_S_IOERR);
	/* Zero sectors at sector 0 are inside even an empty disk. */
	ck_assert_uint_eq(run(&r, VIRTIO_BLK_T_IN, 0, 0, true, NULL), VIRTIO_BLK_S_OK);
	rig_destroy(&r);
}
END_TEST

/* virtio_blk_create must fail with want in its message. */
static void open_fails(const char *path, bool ro, const char *want)
{
	struct guest_mem mem;
	struct virtio_blk blk;
	char err[512] = "";

	ck_assert_int_eq(guest_mem_init(&mem, 1 << 20), 0);
	ck_assert_int_lt(virtio_blk_create(&blk, path, ro, 0, &mem, err, sizeof(err)), 0);
	ck_assert_msg(strstr(err, want), "error '%s' lacks '%s'", err, want);
	ck_assert_ptr_null(strchr(err, '\n'));
	guest_mem_destroy(&mem);
}

START_TEST(test_open_errors)
{
	struct rig r;
	char sub[160];

	rig_dir(&r);
	open_fails(r.path, false, "does not exist");
	open_fails(r.path, true, "does not exist");
	open_fails(r.dir, false, "is a directory");
	open_fails(r.dir, true, "is a directory");
	open_fails("/dev/null", false, "not a regular file");
	snprintf(sub, sizeof(sub), "%s/nodir/x.img", r.dir);
	open_fails(sub, false, "does not exist");
	rmdir(r.dir);
}
END_TEST

START_TEST(test_open_permissions)
{
	struct rig r;
	bool root = geteuid() == 0;

	rig_dir(&r);
	write_file(r.path, DISK_SECTORS * SECTOR);
	ck_assert_int_eq(chmod(r.dir, 0755), 0);
	ck_assert_int_eq(chmod(r.path, 0444), 0);
	/* Root opens anything: test as nobody (this test runs in its own process). */
	if (root)
		ck_assert_int_eq(seteuid(65534), 0);
	open_fails(r.path, false, "is read-only; add ,ro");
	{
		struct guest_mem mem;
		struct virtio_blk blk;
		char err[256];

		ck_assert_int_eq(guest_mem_init(&mem, 1 << 20), 0);
		ck_assert_msg(virtio_blk_create(&blk, r.path, true, 0, &mem, err, sizeof(err)) == 0,
			      "%s", err);
		virtio_blk_destroy(&blk);
		guest_mem_destroy(&mem);
	}
	if (root)
		ck_assert_int_eq(seteuid(0), 0);
	ck_assert_int_eq(chmod(r.path, 0), 0);
	if (root)
		ck_assert_int_eq(seteuid(65534), 0);
	open_fails(r.path, false, "is not readable");
	open_fails(r.path, true, "is not readable");
	if (root)
		ck_assert_int_eq(seteuid(0), 0);
	unlink(r.path);
	rmdir(r.dir);
}
END_TEST

START_TEST(test_locking)
{
	struct rig r;
	struct guest_mem mem;
	struct virtio_blk a, b;
	char err[256];

	rig_dir(&r);
	write_file(r.path, DISK_SECTORS * SECTOR);
	ck_assert_int_eq(guest_mem_init(&mem, 1 << 20), 0);
	ck_assert_int_eq(virtio_blk_create(&a, r.path, false, 0, &mem, err, sizeof(err)), 0);
	/* A second writer, or a reader beside the writer: refused. */
	open_fails(r.path, false, "is in use by another process (locked)");
	open_fails(r.path, true, "is in use by another process (locked)");
	virtio_blk_destroy(&a);
	/* Readers share. */
	ck_assert_int_eq(virtio_blk_create(&a, r.path, true, 0, &mem, err, sizeof(err)), 0);
	ck_assert_int_eq(virtio_blk_create(&b, r.path, true, 1, &mem, err, sizeof(err)), 0);
	open_fails(r.path, false, "locked");
	virtio_blk_destroy(&b);
	virtio_blk_destroy(&a);
	/* Unlocked once closed. */
	ck_assert_int_eq(virtio_blk_create(&a, r.path, false, 0, &mem, err, sizeof(err)), 0);
	virtio_blk_destroy(&a);
	guest_mem_destroy(&mem);
	unlink(r.path);
	rmdir(r.dir);
}
END_TEST

/* ---- many requests at once ---- */

#define PAR_REQS 80	/* 3 descriptors each: 240 of the queue's 256 */

/* Publishes PAR_REQS writes (sector i gets 0x40 + i) and reads in one batch, then one kick. */
static void publish_batch(struct rig *r, struct req *reqs)
{
	for (unsigned int i = 0; i < PAR_REQS; i++) {
		bool write = i % 2 == 0;

		reqs[i] = add_req(r, write ? VIRTIO_BLK_T_OUT : VIRTIO_BLK_T_IN, i,
				  write ? 2 * SECTOR : SECTOR, !write);
		if (write)
			memset(fd_host(&r->fd, reqs[i].data, 2 * SECTOR), 0x40 + i, 2 * SECTOR);
		fd_stage(&r->fd, reqs[i].head, (u16)i);
	}
	fd_expose(&r->fd, PAR_REQS);
	virtio_dev_kick(&r->blk.vd, 0);
	r->used += PAR_REQS;
}

static void check_batch_in_file(struct rig *r)
{
	u8 buf[2 * SECTOR];

	for (unsigned int i = 0; i < PAR_REQS; i += 2) {
		read_file(r->path, (u64)i * SECTOR, buf, sizeof(buf));
		for (u32 k = 0; k < sizeof(buf); k++)
			ck_assert_uint_eq(buf[k], (u8)(0x40 + i));
	}
}

START_TEST(test_parallel)
{
	struct rig r;
	struct req reqs[PAR_REQS];
	bool seen[256] = { false };

	rig_dir(&r);
	write_file(r.path, 256 * SECTOR);
	rig_open(&r, false, true);	/* EVENT_IDX this time */
	publish_batch(&r, reqs);
	vrig_wait_used(&r.fd, r.used);
	/* Every chain came back exactly once, each with its status. */
	for (u16 i = 0; i < r.used; i++) {
		struct virtq_used_elem e = fd_used_elem(&r.fd, i);

		ck_assert_uint_lt(e.id, 256);
		ck_assert(!seen[e.id]);
		seen[e.id] = true;
	}
	for (unsigned int i = 0; i < PAR_REQS; i++)
		ck_assert_uint_eq(status_of(&r, &reqs[i]), VIRTIO_BLK_S_OK);
	check_batch_in_file(&r);
	rig_destroy(&r);
}
END_TEST

START_TEST(test_reset_waits_for_requests)
{
	struct rig r;
	struct req reqs[PAR_REQS];

	rig_dir(&r);
	write_file(r.path, 256 * SECTOR);
	rig_open(&r, false, false);
	publish_batch(&r, reqs);
	/* The driver resets at once: reset returns only when every request has run. */
	vrig_reset(&r.blk.vd);
	ck_assert_uint_eq(r.blk.io.in_flight, 0);
	check_batch_in_file(&r);
	rig_destroy(&r);
}
END_TEST

START_TEST(test_destroy_completes_writes)
{
	struct rig r;
	struct req reqs[PAR_REQS];

	rig_dir(&r);
	write_file(r.path, 256 * SECTOR);
	rig_open(&r, false, false);
	publish_batch(&r, reqs);
	/* VM shutdown with writes in flight: they all reach the file. */
	virtio_blk_destroy(&r.blk);
	r.blk_up = false;
	check_batch_in_file(&r);
	rig_destroy(&r);
}
END_TEST

/* A job that keeps a worker busy until released. */
struct blocker {
	struct blk_io_job job;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool released;
};

static void blocker_run(struct blk_io_job *job)
{
	struct blocker *b = (struct blocker *)job;

	pthread_mutex_lock(&b->lock);
	while (!b->released)
		pthread_cond_wait(&b->cond, &b->lock);
	pthread_mutex_unlock(&b->lock);
}

/* Jobs that all wait for one another: they finish only if they run at the same time. */
struct rendezvous {
	struct blk_io_job job;
	pthread_barrier_t *barrier;
	atomic_int *done;
};

static void rendezvous_run(struct blk_io_job *job)
{
	struct rendezvous *j = (struct rendezvous *)job;

	pthread_barrier_wait(j->barrier);
	atomic_fetch_add(j->done, 1);
}

START_TEST(test_pool_runs_jobs_in_parallel)
{
	struct blk_io io;
	pthread_barrier_t barrier;
	struct rendezvous jobs[3 * VIRTIO_BLK_IO_THREADS];
	atomic_int done = 0;

	ck_assert_int_eq(blk_io_init(&io, VIRTIO_BLK_IO_THREADS, "test-io"), 0);
	pthread_barrier_init(&barrier, NULL, VIRTIO_BLK_IO_THREADS);
	for (unsigned int i = 0; i < ARRAY_SIZE(jobs); i++) {
		jobs[i] = (struct rendezvous){ .job.run = rendezvous_run, .barrier = &barrier,
					       .done = &done };
		blk_io_submit(&io, &jobs[i].job);
	}
	/* The barrier opens only with every worker inside a job at once. */
	blk_io_drain(&io);
	ck_assert_int_eq(atomic_load(&done), ARRAY_SIZE(jobs));
	ck_assert_uint_eq(io.in_flight, 0);
	blk_io_destroy(&io);
	pthread_barrier_destroy(&barrier);
	ck_assert_int_eq(blk_io_init(&io, 0, "x"), -EINVAL);
	ck_assert_int_eq(blk_io_init(&io, BLK_IO_MAX_THREADS + 1, "x"), -EINVAL);
}
END_TEST

START_TEST(test_too_many_in_flight)
{
	struct rig r;
	struct blocker b[VIRTIO_BLK_IO_THREADS];
	struct req q;

	rig_init(&r, DISK_SECTORS * SECTOR, false);
	/* Every worker busy: requests stay in flight. */
	for (unsigned int i = 0; i < VIRTIO_BLK_IO_THREADS; i++) {
		b[i] = (struct blocker){ .job.run = blocker_run, .released = false };
		pthread_mutex_init(&b[i].lock, NULL);
		pthread_cond_init(&b[i].cond, NULL);
		blk_io_submit(&r.blk.io, &b[i].job);
	}
	/* A driver republishing one head: a full queue's worth is still legal... */
	q = add_req(&r, VIRTIO_BLK_T_FLUSH, 0, 0, false);
	for (unsigned int i = 0; i < VIRTIO_QUEUE_MAX_SIZE; i++)
		fd_stage(&r.fd, q.head, (u16)i);
	fd_expose(&r.fd, VIRTIO_QUEUE_MAX_SIZE);
	virtio_dev_kick(&r.blk.vd, 0);
	ck_assert(!(virtio_dev_status(&r.blk.vd) & VIRTIO_CONFIG_S_NEEDS_RESET));
	/* ...one more is more chains out than any queue holds: stop, ask for a reset. */
	fd_publish(&r.fd, q.head);
	virtio_dev_kick(&r.blk.vd, 0);
	ck_assert(virtio_dev_status(&r.blk.vd) & VIRTIO_CONFIG_S_NEEDS_RESET);
	for (unsigned int i = 0; i < VIRTIO_BLK_IO_THREADS; i++) {
		pthread_mutex_lock(&b[i].lock);
		b[i].released = true;
		pthread_cond_signal(&b[i].cond);
		pthread_mutex_unlock(&b[i].lock);
	}
	/* The accepted ones complete. */
	vrig_wait_used(&r.fd, VIRTIO_QUEUE_MAX_SIZE);
	rig_destroy(&r);
}
END_TEST

/* ---- the option ---- */

#define PARSE(cfg, err, ...)                                                  \
	({                                                                    \
		char *argv_[] = { "trapeze", "run", "-k", "k", __VA_ARGS__, NULL }; \
		config_parse((cfg), (int)ARRAY_SIZE(argv_) - 1, argv_, (err), \
			     CONFIG_ERR_LEN);                                 \
	})

START_TEST(test_disk_option)
{
	struct vm_config cfg;
	char err[CONFIG_ERR_LEN];

	ck_assert_int_eq(PARSE(&cfg, err, "--rng"), 0);
	ck_assert_uint_eq(cfg.nr_disks, 0);
	ck_assert_int_eq(PARSE(&cfg, err, "-d", "a.img", "--disk", "b.img,ro", "--disk=c,d.img"), 0);
	ck_assert_uint_eq(cfg.nr_disks, 3);
	ck_assert_str_eq(cfg.disks[0].path, "a.img");
	ck_assert(!cfg.disks[0].ro);
	ck_assert_str_eq(cfg.disks[1].path, "b.img");
	ck_assert(cfg.disks[1].ro);
	ck_assert_str_eq(cfg.disks[2].path, "c,d.img");	/* only a final ",ro" is an option */
	ck_assert(!cfg.disks[2].ro);
	ck_assert_int_eq(PARSE(&cfg, err, "-d", "1", "-d", "2", "-d", "3", "-d", "4", "-d", "5",
			       "-d", "6", "-d", "7", "-d", "8"), 0);
	ck_assert_uint_eq(cfg.nr_disks, CONFIG_MAX_DISKS);
	ck_assert_int_eq(PARSE(&cfg, err, "-d", "1", "-d", "2", "-d", "3", "-d", "4", "-d", "5",
			       "-d", "6", "-d", "7", "-d", "8", "-d", "9"), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "too many disks"));
	ck_assert_int_eq(PARSE(&cfg, err, "-d", ",ro"), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "empty disk path"));
	ck_assert_int_eq(PARSE(&cfg, err, "-d", ""), -EINVAL);
	ck_assert_int_eq(PARSE(&cfg, err, "-d"), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "needs an argument"));
	ck_assert_ptr_nonnull(strstr(config_run_usage(), "--disk FILE[,ro]"));
}
END_TEST

static Suite *virtio_blk_suite(void)
{
	Suite *s = suite_create("virtio_blk");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_config_and_features);
	tcase_add_test(tc, test_read);
	tcase_add_test(tc, test_write);
	tcase_add_test(tc, test_flush);
	tcase_add_test(tc, test_write_through_without_flush);
	tcase_add_test(tc, test_get_id);
	tcase_add_test(tc, test_discard);
	tcase_add_test(tc, test_discard_bad_segment_bytes);
	tcase_add_test(tc, test_write_zeroes);
	tcase_add_test(tc, test_write_zeroes_fallback);
	tcase_add_test(tc, test_queued_before_driver_ok);
	tcase_add_test(tc, test_read_only);
	tcase_add_test(tc, test_out_of_range);
	tcase_add_test(tc, test_overflow);
	tcase_add_test(tc, test_short_header);
	tcase_add_test(tc, test_no_status_byte);
	tcase_add_test(tc, test_bad_lengths);
	tcase_add_test(tc, test_unknown_type);
	tcase_add_test(tc, test_odd_framing);
	tcase_add_test(tc, test_seg_max);
	tcase_add_test(tc, test_malformed_ring_needs_reset);
	tcase_add_test(tc, test_size_not_multiple_of_512);
	tcase_add_test(tc, test_empty_and_tiny_images);
	tcase_add_test(tc, test_open_errors);
	tcase_add_test(tc, test_open_permissions);
	tcase_add_test(tc, test_locking);
	tcase_add_test(tc, test_parallel);
	tcase_add_test(tc, test_pool_runs_jobs_in_parallel);
	tcase_add_test(tc, test_reset_waits_for_requests);
	tcase_add_test(tc, test_destroy_completes_writes);
	tcase_add_test(tc, test_too_many_in_flight);
	tcase_add_test(tc, test_disk_option);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return check_run(virtio_blk_suite());
}

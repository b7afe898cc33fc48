/*
 * virtio-blk requests (5.2.6) checked on the I/O thread: where the header,
 * the data and the status byte are in a chain, whether the request fits the
 * disk and the limits the device announced. Nothing here touches the file.
 */
#include <endian.h>
#include <string.h>

#include "trapeze/virtio/blk.h"

#define BLK_HDR_LEN 16	/* struct virtio_blk_outhdr (5.2.6) */

_Static_assert(sizeof(struct virtio_blk_outhdr) == BLK_HDR_LEN, "virtio_blk_req header");
_Static_assert(sizeof(struct virtio_blk_discard_write_zeroes) == 16, "discard segment");

/* Copies len bytes from offset off of the chain's readable part. */
static void blk_chain_read(const struct virtq_chain *c, u64 off, void *buf, u64 len)
{
	u8 *out = buf;

	for (unsigned int i = 0; i < c->nr_out && len; i++) {
		u64 n;

		if (off >= c->iov[i].len) {
			off -= c->iov[i].len;
			continue;
		}
		n = c->iov[i].len - off;
		if (n > len)
			n = len;
		memcpy(out, (u8 *)c->iov[i].base + off, n);
		out += n;
		len -= n;
		off = 0;
	}
}

/*
 * Fills req->iov with the bytes [off, off + len) of the chain's iovs
 * [first, first + n). Returns false when that takes more than seg_max.
 */
static bool blk_chain_slice(struct virtio_blk_req *req, const struct virtq_iov *iov,
			    unsigned int n, u64 off, u64 len)
{
	req->nr_iov = 0;
	for (unsigned int i = 0; i < n && len; i++) {
		u64 take;

		if (off >= iov[i].len) {
			off -= iov[i].len;
			continue;
		}
		if (req->nr_iov == VIRTIO_BLK_SEG_MAX)
			return false;
		take = iov[i].len - off;
		if (take > len)
			take = len;
		req->iov[req->nr_iov].iov_base = (u8 *)iov[i].base + off;
		req->iov[req->nr_iov].iov_len = (size_t)take;
		req->nr_iov++;
		len -= take;
		off = 0;
	}
	return true;
}

/* Whether sectors [sector, sector + nr) lie inside the disk, without overflow. */
static bool blk_in_range(const struct virtio_blk *blk, u64 sector, u64 nr)
{
	return sector <= blk->capacity && nr <= blk->capacity - sector;
}

/* Copies the 20-byte serial (NUL-padded, 5.2.6) into the data part; OK. */
static u8 blk_get_id(struct virtio_blk *blk, struct virtio_blk_req *req, const struct virtq_chain *c,
		     u64 data_len)
{
	const u8 *src = (const u8 *)blk->id;
	u64 left = data_len < VIRTIO_BLK_ID_BYTES ? data_len : VIRTIO_BLK_ID_BYTES;

	if (!blk_chain_slice(req, &c->iov[c->nr_out], c->nr_in, 0, left))
		return VIRTIO_BLK_S_IOERR;
	for (unsigned int i = 0; i < req->nr_iov; i++) {
		memcpy(req->iov[i].iov_base, src, req->iov[i].iov_len);
		src += req->iov[i].iov_len;
	}
	return VIRTIO_BLK_S_OK;
}

/* Checks and copies the discard/write-zeroes segments after the header. */
static u8 blk_check_dwz(struct virtio_blk *blk, struct virtio_blk_req *req,
			const struct virtq_chain *c)
{
	u64 bytes = c->out_len - BLK_HDR_LEN;
	u32 max_seg = req->type == VIRTIO_BLK_T_DISCARD ? VIRTIO_BLK_DISCARD_MAX_SEG
							  : VIRTIO_BLK_WZ_MAX_SEG;

	if (!blk->can_punch)
		return VIRTIO_BLK_S_UNSUPP;	/* not offered */
	if (!bytes || bytes % sizeof(req->seg[0]) || bytes / sizeof(req->seg[0]) > max_seg)
		return VIRTIO_BLK_S_IOERR;
	req->nr_iov = (unsigned int)(bytes / sizeof(req->seg[0]));
	blk_chain_read(c, BLK_HDR_LEN, req->seg, bytes);
	for (unsigned int i = 0; i < req->nr_iov; i++) {
		u32 flags = le32toh(req->seg[i].flags);
		u32 nr = le32toh(req->seg[i].num_sectors);

		/* Unknown flags, and unmap on a discard, are UNSUPP (5.2.6.2). */
		if (flags & ~(u32)VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP)
			return VIRTIO_BLK_S_UNSUPP;
		if (req->type == VIRTIO_BLK_T_DISCARD && flags)
			return VIRTIO_BLK_S_UNSUPP;
		if (nr > VIRTIO_BLK_DWZ_MAX_SECTORS ||
		    !blk_in_range(blk, le64toh(req->seg[i].sector), nr))
			return VIRTIO_BLK_S_IOERR;
	}
	return VIRTIO_BLK_S_OK;
}

u8 virtio_blk_req_prepare(struct virtio_blk *blk, struct virtio_blk_req *req,
			  const struct virtq_chain *c, bool *done)
{
	struct virtio_blk_outhdr hdr;
	u64 data_in = c->in_len - 1;	/* writable bytes before the status byte */
	u64 data_out;

	*done = true;
	if (c->out_len < BLK_HDR_LEN)
		return VIRTIO_BLK_S_IOERR;
	data_out = c->out_len - BLK_HDR_LEN;
	blk_chain_read(c, 0, &hdr, sizeof(hdr));
	req->type = le32toh(hdr.type);
	req->sector = le64toh(hdr.sector);

	switch (req->type) {
	case VIRTIO_BLK_T_IN:
		if (data_out || data_in % VIRTIO_BLK_SECTOR ||
		    !blk_in_range(blk, req->sector, data_in / VIRTIO_BLK_SECTOR) ||
		    !blk_chain_slice(req, &c->iov[c->nr_out], c->nr_in, 0, data_in))
			return VIRTIO_BLK_S_IOERR;
		req->len = data_in;
		break;
	case VIRTIO_BLK_T_OUT:
		/* 5.2.6.2: a read-only device fails writes and writes nothing. */
		if (blk->ro || data_in || data_out % VIRTIO_BLK_SECTOR ||
		    !blk_in_range(blk, req->sector, data_out / VIRTIO_BLK_SECTOR) ||
		    !blk_chain_slice(req, c->iov, c->nr_out, BLK_HDR_LEN, data_out))
			return VIRTIO_BLK_S_IOERR;
		req->len = data_out;
		break;
	case VIRTIO_BLK_T_FLUSH:
		if (data_in || data_out)
			return VIRTIO_BLK_S_IOERR;
		break;
	case VIRTIO_BLK_T_GET_ID:
		if (data_out || !data_in)
			return VIRTIO_BLK_S_IOERR;
		return blk_get_id(blk, req, c, data_in);
	case VIRTIO_BLK_T_DISCARD:
	case VIRTIO_BLK_T_WRITE_ZEROES: {
		u8 st;

		if (data_in || blk->ro)
			return VIRTIO_BLK_S_IOERR;
		st = blk_check_dwz(blk, req, c);
		if (st != VIRTIO_BLK_S_OK)
			return st;
		break;
	}
	default:
		return VIRTIO_BLK_S_UNSUPP;
	}
	*done = false;
	return VIRTIO_BLK_S_OK;
}

/* Takes one popped chain: to a worker, or completed here when it is bad or trivial. */

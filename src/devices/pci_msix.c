/*
 * pci_msix: the MSI-X capability, table and pending-bit array of one PCI
 * function (PCI Local Bus 3.0, 6.8.2; register names from <linux/pci_regs.h>),
 * delivered through struct msi_router. See include/trapeze/devices/pci.h
 * for the rules and the lock order.
 *
 * The table and PBA live in one of the function's memory BARs; the guest
 * reaches them through the device's BAR ops, which hand those ranges here.
 * The message control word lives in config space and reaches us through
 * pci_msix_config_written(). Everything the guest writes is hostile: table
 * writes are accepted only as aligned dwords (or qwords), reserved bits read
 * 0, and a message with a bad address is refused by the router.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "trapeze/devices/pci.h"
#include "trapeze/msi.h"

#define MSIX_MAX_VECTORS	2048	/* Table Size is 11 bits, N - 1 (6.8.2.3) */
#define MSIX_CAP_BODY_LEN	10	/* control (2), table (4), PBA (4) */
#define MSIX_ADDR_LO_MASK	0xfffffffcu	/* bits 1-0: DWORD alignment, read 0 (6.8.2.6) */
#define MSIX_PBA_BITS		64	/* vectors per PBA qword (6.8.2.10) */

struct msix_vector {
	u32 addr_lo, addr_hi, data, ctrl;	/* the table entry the guest sees */
	bool pending;				/* its PBA bit */
	int route;				/* router handle, -1 when none */
	bool routed;				/* the route holds this entry's message */
};

struct pci_msix {
	pthread_mutex_t lock;		/* everything below; see pci.h lock order */
	struct msi_router *router;	/* NULL until pci_msix_attach */
	unsigned int nr;
	u32 table_off, pba_off;		/* offsets inside the BAR */
	u8 cap;				/* config offset of the capability */
	bool enabled;			/* MSI-X Enable; also read atomically without lock */
	bool fmask;			/* Function Mask */
	bool logged_bad;		/* a bad message was reported */
	struct msix_vector vec[];
};

static u32 msix_table_len(const struct pci_msix *m)
{
	return m->nr * PCI_MSIX_ENTRY_SIZE;
}

static u32 msix_pba_len(const struct pci_msix *m)
{
	return (m->nr + MSIX_PBA_BITS - 1) / MSIX_PBA_BITS * 8;
}

static bool msix_spans_meet(u64 a, u64 alen, u64 b, u64 blen)
{
	return a < b + blen && b < a + alen;
}

int pci_msix_init(struct pci_dev *d, unsigned int nr_vectors, unsigned int bar,
		  u32 table_off, u32 pba_off)
{
	u64 table_len = (u64)nr_vectors * PCI_MSIX_ENTRY_SIZE;
	u64 pba_len = ((u64)nr_vectors + MSIX_PBA_BITS - 1) / MSIX_PBA_BITS * 8;
	u8 body[MSIX_CAP_BODY_LEN];
	struct pci_msix *m;
	u32 v;
	int off;

	if (d->msix || nr_vectors == 0 || nr_vectors > MSIX_MAX_VECTORS || bar >= PCI_NR_BARS)
		return -EINVAL;
	if (!d->bars[bar].size || d->bars[bar].io)
		return -EINVAL;
	if ((table_off & ~PCI_MSIX_TABLE_OFFSET) || (pba_off & ~PCI_MSIX_PBA_OFFSET))
		return -EINVAL;	/* 8-byte aligned: the low 3 bits hold the BIR */
	if (table_off + table_len > d->bars[bar].size || pba_off + pba_len > d->bars[bar].size ||
	    msix_spans_meet(table_off, table_len, pba_off, pba_len))
		return -EINVAL;

	m = calloc(1, sizeof(*m) + nr_vectors * sizeof(m->vec[0]));
	if (!m)
		return -ENOMEM;
	m->nr = nr_vectors;
	m->table_off = table_off;
	m->pba_off = pba_off;
	for (v = 0; v < nr_vectors; v++) {
		m->vec[v].ctrl = PCI_MSIX_ENTRY_CTRL_MASKBIT;	/* masked after reset */
		m->vec[v].route = -1;
	}

	/* Message Control (Table Size = N - 1), Table and PBA Offset/BIR (6.8.2.3-5). */
	body[0] = (u8)(nr_vectors - 1);
	body[1] = (u8)((nr_vectors - 1) >> 8);
	v = table_off | bar;
	memcpy(body + 2, &v, 4);
	v = pba_off | bar;
	memcpy(body + 6, &v, 4);
	off = pci_dev_add_cap(d, PCI_CAP_ID_MSIX, body, sizeof(body));
	if (off < 0) {
		free(m);
		return off;
	}
	m->cap = (u8)off;
	/* Only MSI-X Enable and Function Mask are the guest's (bits 15, 14). */
	d->wmask[off + PCI_MSIX_FLAGS + 1] = (PCI_MSIX_FLAGS_ENABLE | PCI_MSIX_FLAGS_MASKALL) >> 8;
	pthread_mutex_init(&m->lock, NULL);
	d->msix = m;
	return 0;
}

void pci_msix_destroy(struct pci_dev *d)
{
	struct pci_msix *m = d->msix;

	if (!m)
		return;
	pci_msix_detach(d);
	pthread_mutex_destroy(&m->lock);
	free(m);
	d->msix = NULL;
}

u8 pci_msix_cap_offset(const struct pci_dev *d)
{
	return d->msix ? d->msix->cap : 0;
}

bool pci_msix_enabled(const struct pci_dev *d)
{
	return d->msix && __atomic_load_n(&d->msix->enabled, __ATOMIC_ACQUIRE);
}

/* Lock held for every function below. */
static void msix_release_routes(struct pci_msix *m)
{
	for (unsigned int v = 0; v < m->nr; v++) {
		if (m->router && m->vec[v].route >= 0)
			msi_route_remove(m->router, m->vec[v].route);
		m->vec[v].route = -1;
		m->vec[v].routed = false;
	}
	m->router = NULL;
}

int pci_msix_attach(struct pci_dev *d, struct msi_router *msi)
{
	struct pci_msix *m = d->msix;
	int r = 0;

	if (!m || !msi)
		return -EINVAL;
	pthread_mutex_lock(&m->lock);
	if (m->router) {
		r = -EBUSY;
		goto out_unlock;
	}
	m->router = msi;
	for (unsigned int v = 0; v < m->nr; v++) {
		r = msi_route_add(msi);
		if (r < 0) {
			msix_release_routes(m);
			goto out_unlock;
		}
		m->vec[v].route = r;
		m->vec[v].routed = false;
		r = 0;
	}
out_unlock:
	pthread_mutex_unlock(&m->lock);
	return r;
}

void pci_msix_detach(struct pci_dev *d)
{
	struct pci_msix *m = d->msix;

	if (!m)
		return;
	pthread_mutex_lock(&m->lock);
	msix_release_routes(m);
	pthread_mutex_unlock(&m->lock);
}

static bool msix_vector_masked(const struct pci_msix *m, const struct msix_vector *vec)
{
	return m->fmask || (vec->ctrl & PCI_MSIX_ENTRY_CTRL_MASKBIT);
}

/* Makes the vector's route carry its current message. 0 or -errno. */
static int msix_route(struct pci_msix *m, struct msix_vector *vec)
{
	u64 addr = (u64)vec->addr_hi << 32 | vec->addr_lo;
	int r;

	if (!m->router || vec->route < 0)
		return -ENODEV;
	if (vec->routed)
		return 0;
	r = msi_route_set(m->router, vec->route, addr, vec->data);
	if (!r) {
		vec->routed = true;
	} else if (!m->logged_bad) {
		m->logged_bad = true;
		fprintf(stderr, "trapeze: pci: MSI-X message address 0x%llx data 0x%x cannot be "
			"delivered: %s (reported once)\n", (unsigned long long)addr, vec->data,
			r == -EINVAL ? "not an x86 interrupt address" : strerror(-r));
	}
	return r;
}

static void msix_fire(struct pci_msix *m, struct msix_vector *vec)
{
	if (!msix_route(m, vec))
		msi_route_fire(m->router, vec->route);
}

/*
 * After a change that may have made vector v deliverable: build its route
 * now (not on the device's next notify), then deliver what was pending.
 */
static void msix_sync(struct pci_msix *m, unsigned int v)
{
	struct msix_vector *vec = &m->vec[v];

	if (!m->enabled || msix_vector_masked(m, vec))
		return;
	if (vec->pending) {
		vec->pending = false;	/* 6.8.2.10: cleared when the message is sent */
		msix_fire(m, vec);
	} else {
		msix_route(m, vec);
	}
}

void pci_msix_config_written(struct pci_dev *d)
{
	struct pci_msix *m = d->msix;
	u16 ctrl;

	if (!m)
		return;
	ctrl = (u16)(d->cfg[m->cap + PCI_MSIX_FLAGS] | d->cfg[m->cap + PCI_MSIX_FLAGS + 1] << 8);
	pthread_mutex_lock(&m->lock);
	__atomic_store_n(&m->enabled, (ctrl & PCI_MSIX_FLAGS_ENABLE) != 0, __ATOMIC_RELEASE);
	m->fmask = ctrl & PCI_MSIX_FLAGS_MASKALL;
	for (unsigned int v = 0; v < m->nr; v++)
		msix_sync(m, v);
	pthread_mutex_unlock(&m->lock);
}

int pci_msix_notify(struct pci_dev *d, unsigned int v)
{
	struct pci_msix *m = d->msix;
	struct msix_vector *vec;
	int r = 0;

	if (!m || v >= m->nr)
		return -EINVAL;
	vec = &m->vec[v];
	pthread_mutex_lock(&m->lock);
	if (!m->enabled)
		r = -EINVAL;
	else if (msix_vector_masked(m, vec))
		vec->pending = true;
	else
		msix_fire(m, vec);	/* undeliverable messages were reported */
	pthread_mutex_unlock(&m->lock);
	return r;
}

/* The 16 bytes of table entry v, little-endian (6.8.2.6-9). */
static void msix_entry_bytes(const struct msix_vector *vec, u8 out[PCI_MSIX_ENTRY_SIZE])
{
	u32 w[4] = { vec->addr_lo, vec->addr_hi, vec->data, vec->ctrl };

	for (unsigned int i = 0; i < 4; i++)
		for (unsigned int b = 0; b < 4; b++)
			out[4 * i + b] = (u8)(w[i] >> (8 * b));
}

static void msix_write_dword(struct pci_msix *m, unsigned int v, u32 field, u32 val)
{
	struct msix_vector *vec = &m->vec[v];
	u32 old_lo = vec->addr_lo, old_hi = vec->addr_hi, old_data = vec->data;

	switch (field) {
	case PCI_MSIX_ENTRY_LOWER_ADDR:
		vec->addr_lo = val & MSIX_ADDR_LO_MASK;
		break;
	case PCI_MSIX_ENTRY_UPPER_ADDR:
		vec->addr_hi = val;
		break;
	case PCI_MSIX_ENTRY_DATA:
		vec->data = val;
		break;
	case PCI_MSIX_ENTRY_VECTOR_CTRL:
		vec->ctrl = val & PCI_MSIX_ENTRY_CTRL_MASKBIT;	/* other bits reserved */
		break;
	}
	if (vec->addr_lo != old_lo || vec->addr_hi != old_hi || vec->data != old_data)
		vec->routed = false;
	msix_sync(m, v);
}

static u32 le32(const u8 *p)
{
	return (u32)p[0] | (u32)p[1] << 8 | (u32)p[2] << 16 | (u32)p[3] << 24;
}

static void msix_table_access(struct pci_msix *m, u32 off, u8 *data, u32 len, bool write)
{
	unsigned int v = off / PCI_MSIX_ENTRY_SIZE;
	u32 in = off % PCI_MSIX_ENTRY_SIZE;
	u8 entry[PCI_MSIX_ENTRY_SIZE];

	if (write) {
		/* Whole aligned dwords, or an aligned qword as two (6.8.2: QWORD allowed). */
		if ((len != 4 && len != 8) || (in & (len - 1)))
			return;
		for (u32 i = 0; i < len; i += 4)
			msix_write_dword(m, v, in + i, le32(data + i));
		return;
	}
	if ((len != 1 && len != 2 && len != 4 && len != 8) || (in & (len - 1))) {
		memset(data, 0xff, len);
		return;
	}
	msix_entry_bytes(&m->vec[v], entry);
	memcpy(data, entry + in, len);
}

static void msix_pba_read(struct pci_msix *m, u32 off, u8 *data, u32 len)
{
	u32 first = off / 8 * MSIX_PBA_BITS, in = off % 8;
	u8 word[8] = { 0 };

	if ((len != 1 && len != 2 && len != 4 && len != 8) || (in & (len - 1))) {
		memset(data, 0xff, len);
		return;
	}
	for (u32 b = 0; b < MSIX_PBA_BITS && first + b < m->nr; b++)
		if (m->vec[first + b].pending)
			word[b / 8] |= (u8)(1u << (b % 8));
	memcpy(data, word + in, len);
}

bool pci_msix_access(struct pci_dev *d, u64 bar_offset, void *data, u32 len, bool write)
{
	struct pci_msix *m = d->msix;
	u32 tlen, plen;

	if (!m)
		return false;
	tlen = msix_table_len(m);
	plen = msix_pba_len(m);
	if (!msix_spans_meet(bar_offset, len, m->table_off, tlen) &&
	    !msix_spans_meet(bar_offset, len, m->pba_off, plen))
		return false;
	pthread_mutex_lock(&m->lock);
	if (bar_offset >= m->table_off && bar_offset - m->table_off + len <= tlen) {
		msix_table_access(m, (u32)(bar_offset - m->table_off), data, len, write);
	} else if (bar_offset >= m->pba_off && bar_offset - m->pba_off + len <= plen) {
		if (!write)	/* the PBA is read-only (6.8.2.10) */
			msix_pba_read(m, (u32)(bar_offset - m->pba_off), data, len);
	} else if (!write) {
		memset(data, 0xff, len);	/* straddles an edge of the table or PBA */
	}
	pthread_mutex_unlock(&m->lock);
	return true;
}

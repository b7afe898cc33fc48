/*
 * pic_pit: the legacy 8259A pair and 8254 channel 0, enough for a periodic
 * timer interrupt. Both are KVM's in-kernel models under trapeze, so these
 * writes do not leave the host kernel.
 */
#include "io.h"
#include "rt.h"

#define PIC1_CMD	0x20
#define PIC1_DATA	0x21
#define PIC2_CMD	0xa0
#define PIC2_DATA	0xa1
#define ICW1_INIT_ICW4	0x11	/* 8259A datasheet: ICW1, edge, cascade, ICW4 needed */
#define ICW3_MASTER	0x04	/* slave on IR2 */
#define ICW3_SLAVE	0x02	/* slave identity 2 */
#define ICW4_8086	0x01	/* 8086 mode, normal EOI */

#define PIT_CH0		0x40
#define PIT_CMD		0x43
#define PIT_CH0_LOHI_MODE2 0x34	/* 8254: counter 0, LSB then MSB, mode 2, binary */
#define PIT_HZ		1193182

volatile uint64_t rt_ticks;

void rt_pic_init(uint8_t master_base, uint8_t slave_base, uint16_t mask)
{
	outb(PIC1_CMD, ICW1_INIT_ICW4);
	outb(PIC2_CMD, ICW1_INIT_ICW4);
	outb(PIC1_DATA, master_base);
	outb(PIC2_DATA, slave_base);
	outb(PIC1_DATA, ICW3_MASTER);
	outb(PIC2_DATA, ICW3_SLAVE);
	outb(PIC1_DATA, ICW4_8086);
	outb(PIC2_DATA, ICW4_8086);
	rt_pic_mask(mask);
}

/* Bit n set masks IRQ n; bits 8-15 are the slave's. */
void rt_pic_mask(uint16_t mask)
{
	outb(PIC1_DATA, (uint8_t)mask);
	outb(PIC2_DATA, (uint8_t)(mask >> 8));
}

void rt_pit_start(uint32_t hz)
{
	uint32_t div = PIT_HZ / hz;

	outb(PIT_CMD, PIT_CH0_LOHI_MODE2);
	outb(PIT_CH0, (uint8_t)div);
	outb(PIT_CH0, (uint8_t)(div >> 8));
}

void rt_wait_ticks(uint64_t n)
{
	/* sti's one-instruction shadow keeps the wake-up from slipping in before hlt. */
	while (rt_ticks < n)
		__asm__ volatile("sti; hlt; cli" : : : "memory");
}

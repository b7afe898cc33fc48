/*
 * pvh_note: the Xen PVH entry note, so QEMU's `-kernel` (and any loader
 * that honours PVH) enters a 32-bit guest at _start. Xen's
 * public/elfnote.h: XEN_ELFNOTE_PHYS32_ENTRY (18), name "Xen", a 32-bit
 * physical entry address; the PVH boot ABI enters it in flat 32-bit
 * protected mode, paging off, interrupts off, EBX = start_info. That is the
 * state trapeze gives an ELF32 image at e_entry (docs/guest-abi.md), so
 * a guest with this note runs the same code under both.
 * Link with link32pvh.ld, which puts .note.Xen in a PT_NOTE segment.
 */
#define XEN_ELFNOTE_PHYS32_ENTRY	18

	.section .note.Xen, "a", @note
	.balign 4
	.long 2f - 1f			/* namesz, NUL included */
	.long 4f - 3f			/* descsz */
	.long XEN_ELFNOTE_PHYS32_ENTRY
1:	.asciz "Xen"
2:	.balign 4
3:	.long _start
4:	.balign 4

	.section .note.GNU-stack, "", @progbits

/*
 * bench_blk_loop: the timed driver loop of bench_blk (bench_blk.c has the
 * whole picture). Hand-written because every CPL-0 instruction costs about
 * 1 us on the kvm_pvm host: a request costs 24 instructions here (13 to
 * take a completion and check it, 9 to submit the next request, 2 of loop),
 * a batch of completions about 25 more (the index store and the notify,
 * leaving the poll loop), and every poll 4; gcc's code for the same loop
 * from C took about 60 per request (32-bit code spills).
 *
 * int bb_loop_run(void): runs bb_loop.n requests, at most bb_loop.qd in
 * flight, request i at block bb_blocks[i]; slot s (head id 4s) starts as
 * the first request when s < qd. Returns 0, or BB_LOOP_BAD_ID / _STATUS /
 * _DATA / _TIMEOUT with the offending value in bb_loop.bad.
 *
 * uint32_t bb_calib_poll(uint32_t n): runs the poll loop below n times on
 * an idle queue (used.idx never moves), so bench.py knows what one poll
 * costs and can tell waiting from driving. Returns 0.
 *
 * Registers in the loop:
 *   %eax  the head id of a completion (4 x slot)
 *   %ebx  completions taken (32-bit; its low 16 bits track used.idx)
 *   %ecx  scratch
 *   %edx  next_avail (32-bit; its low 8 bits index the 256-entry ring)
 *   %esi  used.idx as last read
 *   %edi  requests issued
 *   %ebp  the value %ebx has when all n requests are done
 * Per-slot tables are indexed by the head id itself: bb_status[id] (bytes),
 * bb_expect and bb_bufptr (32-bit words at byte offset id), bb_hdr (16-byte
 * headers at id * 4).
 */
#define BB_LOOP_BAD_ID		1
#define BB_LOOP_BAD_STATUS	2
#define BB_LOOP_BAD_DATA	3
#define BB_LOOP_TIMEOUT		4

/* struct bb_loop in bench_blk.c: keep the two in step. */
#define L_N		0
#define L_QD		4
#define L_BAD_ID	8
#define L_NEXT_AVAIL	12
#define L_LAST_USED	16
#define L_NOTIFY_PORT	20
#define L_NOTIFY_ADDR	24
#define L_POLLS		28
#define L_NOTIFIES	32
#define L_BAD		36

#define AVAIL_IDX	(bb_avail + 2)
#define AVAIL_RING	(bb_avail + 4)
#define USED_IDX	(bb_used + 2)
#define USED_RING	(bb_used + 4)
#define HDR_SECTOR	(bb_hdr + 8)
#define POLL_ROUND	65536		/* polls between two stall checks */

/* Submits request %edi in slot %eax: block, sector, status byte, ring entry. */
.macro SUBMIT
	mov bb_blocks(,%edi,4), %ecx
	inc %edi
	mov %ecx, bb_expect(%eax)
	shl $3, %ecx			/* 4 KiB block -> 512-byte sector */
	mov %ecx, HDR_SECTOR(,%eax,4)
	movb $0xff, bb_status(%eax)
	movzbl %dl, %ecx
	mov %ax, AVAIL_RING(,%ecx,2)
	inc %edx
.endm

	.text
	.code32
	.globl bb_loop_run
bb_loop_run:
	push %ebp
	push %ebx
	push %esi
	push %edi
	mov bb_loop + L_NEXT_AVAIL, %edx
	mov bb_loop + L_LAST_USED, %ebx
	mov %ebx, %ebp
	add bb_loop + L_N, %ebp
	xor %edi, %edi
	xor %eax, %eax
	movl $0, bb_stall_start
	movl $0, bb_stall_start + 4

	/* The first min(qd, n) requests, slots 0, 1, ... */
prime:
	cmp bb_loop + L_N, %edi
	jae publish
	cmp bb_loop + L_QD, %edi
	jae publish
	SUBMIT
	add $4, %eax
	jmp prime

	/* Take every completion up to used.idx, resubmitting its slot. */
drain:
	movzbl %bl, %eax
	mov USED_RING(,%eax,8), %eax	/* used element's id */
	inc %ebx
	test bb_loop + L_BAD_ID, %eax
	jnz bad_id
	cmpb $0, bb_status(%eax)
	jne bad_status
	mov bb_bufptr(%eax), %ecx
	mov (%ecx), %ecx
	cmp bb_expect(%eax), %ecx
	jne bad_data
	cmp bb_loop + L_N, %edi
	jae 1f
	SUBMIT
1:	cmp %bx, %si
	jne drain

	/* New requests: publish them with one index store and one notify. */
publish:
	cmpw %dx, AVAIL_IDX
	je done_check
	mov %dx, AVAIL_IDX
	incl bb_loop + L_NOTIFIES
	mov bb_loop + L_NOTIFY_PORT, %ecx
	test %ecx, %ecx
	jz notify_mmio
	push %edx
	mov %ecx, %edx
	xor %eax, %eax			/* queue 0 */
	outw %ax, (%dx)
	pop %edx
	jmp done_check
notify_mmio:
	mov bb_loop + L_NOTIFY_ADDR, %ecx
	movw $0, (%ecx)
done_check:
	cmp %ebp, %ebx
	je finished

	/* Wait for used.idx to move: cmp, jne, dec, jnz per poll. */
wait:
	mov $POLL_ROUND, %ecx
1:	cmpw %bx, USED_IDX
	jne 2f
	dec %ecx
	jnz 1b
	addl $POLL_ROUND, bb_loop + L_POLLS
	push %edx
	call bb_stalled			/* C: 1 once the device is late */
	pop %edx
	test %eax, %eax
	jz wait
	mov $BB_LOOP_TIMEOUT, %eax
	mov %ebx, bb_loop + L_BAD
	jmp out
2:	neg %ecx
	add $POLL_ROUND, %ecx
	add %ecx, bb_loop + L_POLLS
	movl $0, bb_stall_start
	movl $0, bb_stall_start + 4
	movzwl USED_IDX, %esi
	jmp drain

finished:
	xor %eax, %eax
out:
	mov %edx, bb_loop + L_NEXT_AVAIL
	mov %ebx, bb_loop + L_LAST_USED
	pop %edi
	pop %esi
	pop %ebx
	pop %ebp
	ret

bad_id:
	mov %eax, bb_loop + L_BAD
	mov $BB_LOOP_BAD_ID, %eax
	jmp out
bad_status:
	movzbl bb_status(%eax), %eax
	mov %eax, bb_loop + L_BAD
	mov $BB_LOOP_BAD_STATUS, %eax
	jmp out
bad_data:
	mov bb_expect(%eax), %eax
	mov %eax, bb_loop + L_BAD
	mov $BB_LOOP_BAD_DATA, %eax
	jmp out

	.globl bb_calib_poll
bb_calib_poll:
	mov 4(%esp), %ecx
	push %ebx
	movzwl USED_IDX, %ebx
1:	cmpw %bx, USED_IDX
	jne 2f
	dec %ecx
	jnz 1b
2:	pop %ebx
	xor %eax, %eax
	ret

	.section .note.GNU-stack, "", @progbits

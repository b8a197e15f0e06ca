/* A RAW kernel for the boot test: a flat image that the VMM must load at
 * 0x80000000 and enter at its first byte in long mode, as libkrun does with
 * a RAW file on x86_64, with RSI at the zero page. It reports through the
 * VMM's exit-status port: 7 when the zero page's setup header magic is where
 * RSI says, 8 otherwise; then it resets the machine as Linux's reboot=k. */
	.code64
	.text
	.globl	raw_guest_entry
raw_guest_entry:
	movl	$7, %eax
	cmpl	$0x53726448, 0x202(%rsi)	/* "HdrS" */
	je	1f
	movl	$8, %eax
1:	movw	$0x6c4, %dx			/* KRUN_CTL_EXIT_STATUS */
	outl	%eax, %dx
	movw	$0x64, %dx			/* the i8042's command port */
	movb	$0xfe, %al			/* pulse the reset line */
	outb	%al, %dx
2:	hlt
	jmp	2b

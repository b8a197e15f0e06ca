#!/bin/sh
# gen_init_blob.sh INIT_BINARY ASM_OUT: an assembler file that embeds the
# guest init in the library's read-only data.
set -eu
cat >"$2" <<ASM
	.section .note.GNU-stack,"",@progbits
	.section .rodata.krun_init,"a",@progbits
	.balign 16
	.globl krun_init_blob
	.hidden krun_init_blob
krun_init_blob:
	.incbin "$(realpath "$1")"
	.globl krun_init_blob_end
	.hidden krun_init_blob_end
krun_init_blob_end:
ASM

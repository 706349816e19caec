/*
 * workload_step.S -- a function whose instruction lengths a test can rely
 * on when it single-steps through it (workload.h).
 */
	.text
	.globl	workload_step_target
	.type	workload_step_target, @function
workload_step_target:
	nop			/* 1 byte */
	movl	$1, %eax	/* 5 bytes */
	addl	$2, %eax	/* 3 bytes */
	incl	%eax		/* 1 byte */
	ret			/* 1 byte */
	.size	workload_step_target, . - workload_step_target

	.section .note.GNU-stack, "", @progbits

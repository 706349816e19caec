; floppy.asm -- a bootable 1.44 MB floppy image: this boot sector, then the
; kernel binary, optionally a second kernel binary (the x86-64 one), then
; zeros up to 1474560 bytes.
;
; The boot sector reads the kernel with the BIOS into a bounce buffer below
; 640 KiB, enters 32-bit protected mode with a flat GDT, copies the kernel to
; its link address (1 MiB) and jumps to its first byte. It prints nothing on
; success; on a read error it says so on port 0xE9 and shuts Bochs down, so a
; test sees a failure instead of a hang.
;
; With a second kernel, the first kernel's boot options choose. The kernels
; link their option block (bxkd/bootopt.h) on a 16-byte boundary within
; their first OPTION_SECTORS sectors (kernel.ld), so the boot sector reads
; only those of the first kernel, finds the block by paragraphs, and when a
; word of its text is `arch=x64` reads the second kernel instead of the rest
; of the first and boots that. Both kernels start in 32-bit protected mode
; at 1 MiB, so nothing else differs. The launcher writes the same options
; into both kernels' blocks.
;
; Assemble with: nasm -f bin -DKERNEL_BIN='"path/kernel.bin"'
;                [-DKERNEL64_BIN='"path/kernel-x64.bin"'] -o img floppy.asm

bits 16
org 0x7c00

BOUNCE_SEGMENT    equ 0x1000            ; 64 KiB; BIOS reads land here
BOUNCE_LIMIT      equ 0x90000           ; stay below the EBDA
OPTION_SECTORS    equ 2                 ; hold the boot option block (kernel.ld)
KERNEL_BASE       equ 0x100000          ; the kernel's link address
SECTORS_PER_TRACK equ 18
HEADS             equ 2
READ_ATTEMPTS     equ 3
CODE_SELECTOR     equ gdt_code - gdt
DATA_SELECTOR     equ gdt_data - gdt

start:
	cli
	xor ax, ax
	mov ds, ax
	mov ss, ax
	mov sp, 0x7c00
	sti
	cld
	mov [boot_drive], dl

	mov ax, BOUNCE_SEGMENT
	mov es, ax
	mov word [kernel_sectors], KERNEL_SECTORS
	mov ax, 1                           ; the kernel follows this sector
	mov bx, OPTION_SECTORS
	call read_sectors
%ifdef KERNEL64_BIN
	push es
	call options_choose_x64
	pop es
	jne .rest_of_the_kernel
	mov ax, BOUNCE_SEGMENT
	mov es, ax
	mov word [kernel_sectors], KERNEL64_SECTORS
	mov ax, 1 + KERNEL_SECTORS
	mov bx, KERNEL64_SECTORS
	call read_sectors
	jmp .loaded
%endif
.rest_of_the_kernel:
	mov ax, 1 + OPTION_SECTORS
	mov bx, KERNEL_SECTORS - OPTION_SECTORS
	call read_sectors

.loaded:
	in al, 0x92                         ; fast A20 gate
	or al, 2
	and al, 0xfe                        ; bit 0 would reset the machine
	out 0x92, al

	cli
	lgdt [gdt_descriptor]
	mov eax, cr0
	or eax, 1
	mov cr0, eax
	jmp CODE_SELECTOR:protected_mode

; Reads BX sectors from LBA AX on to ES:0 on; ES ends past them.
read_sectors:
	mov [lba], ax
	add bx, ax
	mov [end_lba], bx
.next_sector:
	mov ax, [lba]
	cmp ax, [end_lba]
	jae .done
	call read_sector
	mov ax, es                          ; 512-byte steps never straddle
	add ax, 512 / 16                    ; a 64 KiB DMA boundary
	mov es, ax
	inc word [lba]
	jmp .next_sector
.done:
	ret

%ifdef KERNEL64_BIN
; ZF set when the read kernel's boot options hold the word `arch=x64`.
; A kernel without an option block boots as it is.
options_choose_x64:
	mov ax, BOUNCE_SEGMENT
.scan:
	mov es, ax
	xor di, di
	mov si, option_marker
	mov cx, OPTION_MARKER_LENGTH
	repe cmpsb
	je .found
	inc ax
	cmp ax, BOUNCE_SEGMENT + (OPTION_SECTORS * 512 - OPTION_TEXT_END) / 16
	jbe .scan
	jmp .no
.found:
	mov di, OPTION_TEXT_AT
.next_word:
	cmp di, OPTION_TEXT_END
	jae .no
	mov al, [es:di]
	test al, al
	jz .no
	inc di
	cmp al, ' '
	je .next_word
	dec di                              ; DI: the word's first byte
	mov bx, di
	mov si, arch_x64
	mov cx, ARCH_X64_LENGTH
	repe cmpsb
	jne .skip_word
	mov al, [es:di]                     ; the word must end here
	test al, al
	jz .yes
	cmp al, ' '
	je .yes
.skip_word:
	mov di, bx
.in_word:
	cmp di, OPTION_TEXT_END
	jae .no
	mov al, [es:di]
	test al, al
	jz .no
	cmp al, ' '
	je .next_word
	inc di
	jmp .in_word
.yes:
	cmp al, al                          ; ZF=1
	ret
.no:
	or sp, sp                           ; ZF=0: SP is never zero here
	ret
%endif

; Reads sector [lba] of the boot drive to ES:0, retrying after a reset.
read_sector:
	mov di, READ_ATTEMPTS
.attempt:
	mov ax, [lba]
	xor dx, dx
	mov bx, SECTORS_PER_TRACK
	div bx                              ; ax = track, dx = sector - 1
	mov cl, dl
	inc cl
	xor dx, dx
	mov bx, HEADS
	div bx                              ; ax = cylinder, dx = head
	mov ch, al
	shl ah, 6
	or cl, ah                           ; cylinder bits 9:8 in CL[7:6]
	mov dh, dl
	mov dl, [boot_drive]
	xor bx, bx
	mov ax, 0x0201                      ; read one sector
	int 0x13
	jnc .done
	xor ax, ax                          ; reset the controller and retry
	mov dl, [boot_drive]
	int 0x13
	dec di
	jnz .attempt
	mov si, read_error
	jmp fail
.done:
	ret

; Prints the NUL-terminated string at DS:SI on port 0xE9, then shuts down.
fail:
	lodsb
	test al, al
	jz .shutdown
	out 0xe9, al
	jmp fail
.shutdown:
	mov si, shutdown_word
	mov dx, 0x8900
.next_char:
	lodsb
	test al, al
	jz .halt
	out dx, al
	jmp .next_char
.halt:
	cli
	hlt
	jmp .halt

bits 32
protected_mode:
	mov ax, DATA_SELECTOR
	mov ds, ax
	mov es, ax
	mov fs, ax
	mov gs, ax
	mov ss, ax
	mov esp, 0x7c00
	mov esi, BOUNCE_SEGMENT * 16
	mov edi, KERNEL_BASE
	movzx ecx, word [kernel_sectors]
	shl ecx, 7                          ; 512 / 4 doublewords a sector
	rep movsd
	mov eax, KERNEL_BASE
	jmp eax

align 8
gdt:
	dq 0
gdt_code:                               ; base 0, limit 4 GiB, 32-bit, ring 0
	dw 0xffff, 0
	db 0, 0x9a, 0xcf, 0
gdt_data:
	dw 0xffff, 0
	db 0, 0x92, 0xcf, 0
gdt_end:

gdt_descriptor:
	dw gdt_end - gdt - 1
	dd gdt

boot_drive    db 0
lba           dw 0
end_lba       dw 0
kernel_sectors dw 0
%ifdef KERNEL64_BIN
; Must match bxkd/bootopt.h: the marker, the block's 24-byte marker field
; and its 232-byte text. A block's marker ends in a NUL, so this copy, with
; no NUL after it, is no block to the launcher or the kernels.
option_marker db "BXKD-BOOT-OPTIONS-V1"
OPTION_MARKER_LENGTH equ $ - option_marker
OPTION_TEXT_AT  equ 24
OPTION_TEXT_END equ 24 + 232
arch_x64      db "arch=x64"
ARCH_X64_LENGTH equ $ - arch_x64
%endif
read_error    db "BXKD FATAL boot: floppy read failed", 10, 0
shutdown_word db "Shutdown", 0

	times 510 - ($ - $$) db 0
	dw 0xaa55

kernel_start:
	incbin KERNEL_BIN
kernel_end:
	align 512, db 0

KERNEL_SECTORS equ (kernel_end - kernel_start + 511) / 512

%ifdef KERNEL64_BIN
kernel64_start:
	incbin KERNEL64_BIN
kernel64_end:
	align 512, db 0

KERNEL64_SECTORS equ (kernel64_end - kernel64_start + 511) / 512
	times 0 - (KERNEL64_SECTORS > (BOUNCE_LIMIT - BOUNCE_SEGMENT * 16) / 512) db 0
%endif

	; Assembly fails here ("TIMES value -1 is negative") if the kernel
	; outgrew the bounce buffer.
	times 0 - (KERNEL_SECTORS > (BOUNCE_LIMIT - BOUNCE_SEGMENT * 16) / 512) db 0

	times 1474560 - ($ - $$) db 0

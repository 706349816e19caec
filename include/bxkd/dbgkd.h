/*
 * bxkd/dbgkd.h -- the KD protocol's message structures (DbgKd*), as the
 * Windows kernel debugger puts them on the wire.
 *
 * One definition for the guest's KD stub (freestanding 32-bit), the host
 * bridge, bxkd-dbg and the replay tools (64-bit), and the Windows DLL. The
 * wire uses MSVC natural alignment, where a 64-bit field sits at a multiple
 * of 8 even on x86; i386 GCC aligns it to 4, so every gap is an explicit pad
 * field and every size and offset the protocol fixes is asserted below.
 * Facts and sources: docs/kd-protocol.md sections 2 and 3.
 */
#ifndef BXKD_DBGKD_H
#define BXKD_DBGKD_H

#include <stddef.h>
#include <stdint.h>

/* ---- numbers ------------------------------------------------------------- */

/* DBGKD_ANY_WAIT_STATE_CHANGE.NewState */
enum dbgkd_state_change {
	DBGKD_EXCEPTION_STATE_CHANGE = 0x3030,
	DBGKD_LOAD_SYMBOLS_STATE_CHANGE = 0x3031,
	DBGKD_COMMAND_STRING_STATE_CHANGE = 0x3032,
	DBGKD_MAXIMUM_STATE_CHANGE = 0x3033,
};
#define DBGKD_ALTERNATE_STATE_CHANGE 0x00010000u /* may be OR-ed into NewState */

/* DBGKD_MANIPULATE_STATE64.ApiNumber */
enum dbgkd_manipulate_api {
	DBGKD_READ_VIRTUAL_MEMORY_API = 0x3130,
	DBGKD_WRITE_VIRTUAL_MEMORY_API = 0x3131,
	DBGKD_GET_CONTEXT_API = 0x3132,
	DBGKD_SET_CONTEXT_API = 0x3133,
	DBGKD_WRITE_BREAKPOINT_API = 0x3134,
	DBGKD_RESTORE_BREAKPOINT_API = 0x3135,
	DBGKD_CONTINUE_API = 0x3136,
	DBGKD_READ_CONTROL_SPACE_API = 0x3137,
	DBGKD_WRITE_CONTROL_SPACE_API = 0x3138,
	DBGKD_READ_IO_SPACE_API = 0x3139,
	DBGKD_WRITE_IO_SPACE_API = 0x313A,
	DBGKD_REBOOT_API = 0x313B,
	DBGKD_CONTINUE_API2 = 0x313C,
	DBGKD_READ_PHYSICAL_MEMORY_API = 0x313D,
	DBGKD_WRITE_PHYSICAL_MEMORY_API = 0x313E,
	DBGKD_QUERY_SPECIAL_CALLS_API = 0x313F,
	DBGKD_SET_SPECIAL_CALL_API = 0x3140,
	DBGKD_CLEAR_SPECIAL_CALLS_API = 0x3141,
	DBGKD_SET_INTERNAL_BREAKPOINT_API = 0x3142,
	DBGKD_GET_INTERNAL_BREAKPOINT_API = 0x3143,
	DBGKD_READ_IO_SPACE_EXTENDED_API = 0x3144,
	DBGKD_WRITE_IO_SPACE_EXTENDED_API = 0x3145,
	DBGKD_GET_VERSION_API = 0x3146,
	DBGKD_WRITE_BREAKPOINT_EX_API = 0x3147,
	DBGKD_RESTORE_BREAKPOINT_EX_API = 0x3148,
	DBGKD_CAUSE_BUGCHECK_API = 0x3149,
	DBGKD_SWITCH_PROCESSOR = 0x3150,
	DBGKD_PAGE_IN_API = 0x3151,
	DBGKD_READ_MSR_API = 0x3152,
	DBGKD_WRITE_MSR_API = 0x3153,
	DBGKD_OLD_VLM1 = 0x3154,
	DBGKD_OLD_VLM2 = 0x3155,
	DBGKD_SEARCH_MEMORY_API = 0x3156,
	DBGKD_GET_BUS_DATA_API = 0x3157,
	DBGKD_SET_BUS_DATA_API = 0x3158,
	DBGKD_CHECK_LOW_MEMORY_API = 0x3159,
	DBGKD_CLEAR_ALL_INTERNAL_BREAKPOINTS_API = 0x315A,
	DBGKD_FILL_MEMORY_API = 0x315B,
	DBGKD_QUERY_MEMORY_API = 0x315C,
	DBGKD_SWITCH_PARTITION = 0x315D,
	DBGKD_WRITE_CUSTOM_BREAKPOINT_API = 0x315E,
	DBGKD_GET_CONTEXT_EX_API = 0x315F,
	DBGKD_SET_CONTEXT_EX_API = 0x3160,
	DBGKD_MAXIMUM_MANIPULATE = 0x3161,
};

/* DBGKD_DEBUG_IO.ApiNumber */
enum dbgkd_debug_io_api {
	DBGKD_PRINT_STRING_API = 0x3230,
	DBGKD_GET_STRING_API = 0x3231,
};

#define DBGKD_PRINT_TRACE_API 0x3330u

enum dbgkd_file_io_api {
	DBGKD_CREATE_FILE_API = 0x3430,
	DBGKD_READ_FILE_API = 0x3431,
	DBGKD_WRITE_FILE_API = 0x3432,
	DBGKD_CLOSE_FILE_API = 0x3433,
};

enum dbgkd_control_request_api {
	DBGKD_REQUEST_HARDWARE_BP = 0x4300,
	DBGKD_RELEASE_HARDWARE_BP = 0x4301,
};

/* NTSTATUS values that travel in KD messages. */
#define DBGKD_STATUS_SUCCESS 0x00000000u
#define DBGKD_STATUS_UNSUCCESSFUL 0xC0000001u
#define DBGKD_STATUS_INVALID_PARAMETER 0xC000000Du
#define DBGKD_STATUS_NO_SUCH_DEVICE 0xC000000Eu /* kd64: an MSR the CPU refuses */
#define DBGKD_STATUS_DATATYPE_MISALIGNMENT 0x80000002u
#define DBGKD_STATUS_BREAKPOINT 0x80000003u
#define DBGKD_STATUS_SINGLE_STEP 0x80000004u
#define DBGKD_DBG_CONTINUE 0x00010002u
#define DBGKD_DBG_EXCEPTION_HANDLED 0x00010001u
#define DBGKD_DBG_EXCEPTION_NOT_HANDLED 0x80010001u

/* DBGKD_GET_VERSION64 */
#define DBGKD_64BIT_PROTOCOL_VERSION2 6u
#define DBGKD_VERS_FLAG_MP 0x0001u
#define DBGKD_VERS_FLAG_DATA 0x0002u
#define DBGKD_VERS_FLAG_PTR64 0x0004u
#define DBGKD_MACHINE_I386 0x014Cu
#define DBGKD_MACHINE_AMD64 0x8664u

/* x86 control report flags */
#define DBGKD_REPORT_INCLUDES_SEGS 0x0001u
#define DBGKD_REPORT_STANDARD_CS 0x0002u
#define DBGKD_MAXSTREAM 16u

/* x86 CONTEXT.ContextFlags */
#define DBGKD_CONTEXT_I386 0x00010000u
#define DBGKD_CONTEXT_CONTROL (DBGKD_CONTEXT_I386 | 0x01u)
#define DBGKD_CONTEXT_INTEGER (DBGKD_CONTEXT_I386 | 0x02u)
#define DBGKD_CONTEXT_SEGMENTS (DBGKD_CONTEXT_I386 | 0x04u)
#define DBGKD_CONTEXT_FLOATING_POINT (DBGKD_CONTEXT_I386 | 0x08u)
#define DBGKD_CONTEXT_DEBUG_REGISTERS (DBGKD_CONTEXT_I386 | 0x10u)
#define DBGKD_CONTEXT_EXTENDED_REGISTERS (DBGKD_CONTEXT_I386 | 0x20u)
#define DBGKD_CONTEXT_FULL 0x00010007u
#define DBGKD_CONTEXT_ALL 0x0001003Fu

/* ---- DBGKD_MANIPULATE_STATE64 (packet type 2, 56 bytes) ------------------ */

struct dbgkd_memory64 {
	uint64_t target_base_address;
	uint32_t transfer_count;
	uint32_t actual_bytes; /* read or written; physical requests: caching in */
};

struct dbgkd_breakpoint64 {
	uint64_t breakpoint_address;
	uint32_t breakpoint_handle;
	uint32_t pad;
};

struct dbgkd_control_set_x86 {
	uint32_t trace_flag;
	uint32_t dr7;
	uint32_t current_symbol_start;
	uint32_t current_symbol_end;
};

/* Continue2's control set on AMD64 is packed to 4 (Dr7 at 24, not 28):
 * the 64-bit fields are split so that no compiler pads them. */
struct dbgkd_control_set_amd64 {
	uint32_t trace_flag;
	uint32_t dr7[2];
	uint32_t current_symbol_start[2];
	uint32_t current_symbol_end[2];
};

struct dbgkd_continue2 {
	uint32_t continue_status;
	struct dbgkd_control_set_x86 control_set;
};

struct dbgkd_io64 {
	uint64_t io_address;
	uint32_t data_size;
	uint32_t data_value;
};

struct dbgkd_msr {
	uint32_t msr;
	uint32_t data_value_low;
	uint32_t data_value_high;
};

struct dbgkd_get_version64 {
	uint16_t major_version;
	uint16_t minor_version; /* build number */
	uint8_t protocol_version;
	uint8_t kd_secondary_version;
	uint16_t flags;
	uint16_t machine_type;
	uint8_t max_packet_type;
	uint8_t max_state_change;
	uint8_t max_manipulate;
	uint8_t simulation;
	uint16_t unused;
	uint64_t kern_base;
	uint64_t ps_loaded_module_list;
	uint64_t debugger_data_list;
};

struct dbgkd_query_memory {
	uint64_t address;
	uint64_t reserved;
	uint32_t address_space;
	uint32_t flags;
};

struct dbgkd_context_ex {
	uint32_t offset;
	uint32_t byte_count;
	uint32_t bytes_copied;
};

struct dbgkd_manipulate_state64 {
	uint32_t api_number;
	uint16_t processor_level;
	uint16_t processor;
	uint32_t return_status;
	uint32_t pad;
	union {
		struct dbgkd_memory64 read_memory;
		struct dbgkd_memory64 write_memory;
		uint32_t get_context_unused;
		uint32_t set_context_flags;
		struct dbgkd_breakpoint64 write_breakpoint;
		uint32_t restore_breakpoint_handle;
		uint32_t continue_status;
		struct dbgkd_continue2 continue2;
		struct {
			uint32_t continue_status;
			struct dbgkd_control_set_amd64 control_set;
		} continue2_amd64;
		struct dbgkd_io64 io;
		struct dbgkd_msr msr;
		struct dbgkd_get_version64 get_version;
		struct dbgkd_query_memory query_memory;
		struct dbgkd_context_ex context_ex;
		uint8_t raw[40];
	} u;
};

/* ---- DBGKD_ANY_WAIT_STATE_CHANGE (packet type 7, 240 bytes) --------------- */

struct dbgkd_exception_record64 {
	uint32_t exception_code;
	uint32_t exception_flags;
	uint64_t exception_record;
	uint64_t exception_address;
	uint32_t number_parameters;
	uint32_t pad;
	uint64_t exception_information[15];
};

struct dbgkm_exception64 {
	struct dbgkd_exception_record64 record;
	uint32_t first_chance;
	uint32_t pad;
};

struct dbgkd_load_symbols64 {
	uint32_t path_name_length; /* including the NUL */
	uint32_t pad;
	uint64_t base_of_dll;
	uint64_t process_id;
	uint32_t check_sum;
	uint32_t size_of_image;
	uint8_t unload_symbols;
	uint8_t pad2[7];
};

struct dbgkd_control_report_x86 {
	uint32_t dr6;
	uint32_t dr7;
	uint16_t instruction_count;
	uint16_t report_flags;
	uint8_t instruction_stream[DBGKD_MAXSTREAM];
	uint16_t seg_cs, seg_ds, seg_es, seg_fs;
	uint32_t eflags;
};

/* The control report of an AMD64 state change. */
struct dbgkd_control_report_amd64 {
	uint64_t dr6, dr7;
	uint32_t eflags;
	uint16_t instruction_count;
	uint16_t report_flags;
	uint8_t instruction_stream[DBGKD_MAXSTREAM];
	uint16_t seg_cs, seg_ds, seg_es, seg_fs;
};

struct dbgkd_any_wait_state_change {
	uint32_t new_state;
	uint16_t processor_level;
	uint16_t processor;
	uint32_t number_processors;
	uint32_t pad;
	uint64_t thread;	  /* sign-extended on x86 */
	uint64_t program_counter; /* sign-extended on x86 */
	union {
		struct dbgkm_exception64 exception;
		struct dbgkd_load_symbols64 load_symbols;
		uint8_t raw[160];
	} u;
	union {
		struct dbgkd_control_report_x86 x86;
		struct dbgkd_control_report_amd64 amd64;
		uint8_t raw[48];
	} control_report;
};

/* ---- DBGKD_DEBUG_IO (packet type 3, 16 bytes) ----------------------------- */

struct dbgkd_debug_io {
	uint32_t api_number;
	uint16_t processor_level;
	uint16_t processor;
	union {
		uint32_t length_of_string; /* PrintString */
		struct {
			uint32_t length_of_prompt_string;
			uint32_t length_of_string_read;
		} get_string;
		uint8_t raw[8];
	} u;
};

/* ---- DBGKD_TRACE_IO (packet type 9, 64 bytes) ------------------------------ */

struct dbgkd_trace_io {
	uint32_t api_number; /* DBGKD_PRINT_TRACE_API */
	uint16_t processor_level;
	uint16_t processor;
	union {
		uint32_t length_of_data;
		uint64_t raw[7];
	} u;
};

/* ---- DBGKD_FILE_IO (packet type 11, 64 bytes) ------------------------------- */

struct dbgkd_file_io {
	uint32_t api_number;
	uint32_t status;
	union {
		struct {
			uint32_t desired_access;
			uint32_t file_attributes;
			uint32_t share_access;
			uint32_t create_disposition;
			uint32_t create_options;
			uint32_t padding; /* the x86 ABI would not align what follows */
			uint64_t handle;
			uint64_t length;
		} create_file;
		struct {
			uint64_t handle;
			uint64_t offset;
			uint32_t length;
		} read_write_file;
		struct {
			uint64_t handle;
		} close_file;
		uint64_t raw[7];
	} u;
};

/* ---- x86 processor state --------------------------------------------------- */

struct x86_floating_save_area {
	uint32_t control_word, status_word, tag_word;
	uint32_t error_offset, error_selector;
	uint32_t data_offset, data_selector;
	uint8_t register_area[80];
	uint32_t cr0_npx_state;
};

/* CONTEXT as GetContext returns it for an x86 target. */
struct x86_context {
	uint32_t context_flags;
	uint32_t dr0, dr1, dr2, dr3, dr6, dr7;
	struct x86_floating_save_area float_save;
	uint32_t seg_gs, seg_fs, seg_es, seg_ds;
	uint32_t edi, esi, ebx, edx, ecx, eax;
	uint32_t ebp, eip, seg_cs, eflags, esp, seg_ss;
	uint8_t extended_registers[512];
};

struct x86_descriptor {
	uint16_t pad;
	uint16_t limit;
	uint32_t base;
};

struct x86_special_registers {
	uint32_t cr0, cr2, cr3, cr4;
	uint32_t kernel_dr0, kernel_dr1, kernel_dr2, kernel_dr3, kernel_dr6, kernel_dr7;
	struct x86_descriptor gdtr, idtr;
	uint16_t tr, ldtr;
	uint32_t reserved[6];
};

/* What ReadControlSpace reads on x86: KPROCESSOR_STATE. */
struct x86_processor_state {
	struct x86_context context_frame;
	struct x86_special_registers special_registers;
};

/* ---- AMD64 processor state --------------------------------------------------- */

/* AMD64 CONTEXT.ContextFlags */
#define DBGKD_CONTEXT_AMD64 0x00100000u
#define DBGKD_CONTEXT_AMD64_FULL 0x0010000Bu /* control, integer, floating point */
#define DBGKD_CONTEXT_AMD64_FLOATING_POINT 0x00100008u /* MxCsr and FltSave */
#define DBGKD_CONTEXT_AMD64_ALL 0x0010001Fu

struct amd64_m128 {
	uint64_t low, high;
};

/* CONTEXT as GetContext returns it for an AMD64 target (16-aligned in
 * Windows; every field here is naturally aligned, so no packing is needed). */
struct amd64_context {
	uint64_t p1_home, p2_home, p3_home, p4_home, p5_home, p6_home;
	uint32_t context_flags;
	uint32_t mx_csr;
	uint16_t seg_cs, seg_ds, seg_es, seg_fs, seg_gs, seg_ss;
	uint32_t eflags;
	uint64_t dr0, dr1, dr2, dr3, dr6, dr7;
	uint64_t rax, rcx, rdx, rbx, rsp, rbp, rsi, rdi;
	uint64_t r8, r9, r10, r11, r12, r13, r14, r15;
	uint64_t rip;
	uint8_t flt_save[512]; /* XMM_SAVE_AREA32 (FXSAVE's layout) */
	struct amd64_m128 vector_register[26];
	uint64_t vector_control;
	uint64_t debug_control;
	uint64_t last_branch_to_rip, last_branch_from_rip;
	uint64_t last_exception_to_rip, last_exception_from_rip;
};

/* What ReadControlSpace at "address" 2 reads on AMD64. The descriptors
 * are KDESCRIPTOR: three pad words, the limit, the 64-bit base. */
struct amd64_special_registers {
	uint64_t cr0, cr2, cr3, cr4, kernel_dr0, kernel_dr1, kernel_dr2, kernel_dr3, kernel_dr6,
		kernel_dr7;
	struct {
		uint16_t pad[3], limit;
		uint64_t base;
	} gdtr, idtr;
	uint16_t tr, ldtr;
	uint32_t mx_csr;
	uint64_t debug_control;
	uint64_t last_branch_to_rip, last_branch_from_rip;
	uint64_t last_exception_to_rip, last_exception_from_rip;
	uint64_t cr8;
	uint64_t msr_gs_base, msr_gs_swap, msr_star, msr_lstar, msr_cstar, msr_syscall_mask;
	uint64_t xcr0;
};

/* ---- KDDEBUGGER_DATA64: what GetVersion64's DebuggerDataList leads to ------- */

/* The fields debuggers read at attach (kd-protocol.md 3.7); the rest of the
 * block is zero. The list head DebuggerDataList points at is a LIST_ENTRY64
 * whose Flink is this block's address. */
struct dbgkd_debugger_data64 {
	uint64_t list_flink, list_blink;
	uint32_t owner_tag; /* DBGKD_DEBUGGER_DATA_TAG */
	uint32_t size;	    /* sizeof the whole block */
	uint64_t kern_base;
	uint64_t breakpoint_with_status;
	uint64_t saved_context;
	uint16_t th_callback_stack, next_callback, frame_pointer;
	uint16_t pae_enabled; /* bit 0 */
	uint64_t ki_call_user_mode;
	uint64_t ke_user_callback_dispatcher;
	uint64_t ps_loaded_module_list;
	uint64_t ps_active_process_head;
	uint8_t unread1[0x208 - 0x58];
	uint64_t nt_build_lab; /* address of the build lab string ("2600.xpsp_sp3...") */
	uint8_t unread1b[0x268 - 0x210];
	uint64_t cm_nt_csd_version; /* address of a ULONG: service pack in bits 15:8 */
	uint8_t unread2[0x2a0 - 0x270];
	uint16_t offset_kthread_apc_process;
	uint8_t unread3[0x340 - 0x2a2];
};

#define DBGKD_DEBUGGER_DATA_TAG 0x4742444Bu /* "KDBG" in memory */

/* ---- sizes and offsets the protocol fixes ----------------------------------- */

_Static_assert(sizeof(struct dbgkd_manipulate_state64) == 56, "DBGKD_MANIPULATE_STATE64");
_Static_assert(offsetof(struct dbgkd_manipulate_state64, u) == 16, "manipulate union offset");
_Static_assert(offsetof(struct dbgkd_manipulate_state64, u.continue2.control_set.trace_flag) == 20,
	       "Continue2 TraceFlag");
_Static_assert(offsetof(struct dbgkd_manipulate_state64, u.get_version.kern_base) == 32,
	       "GetVersion64 KernBase");
_Static_assert(offsetof(struct dbgkd_manipulate_state64, u.get_version.debugger_data_list) == 48,
	       "GetVersion64 DebuggerDataList");
_Static_assert(sizeof(struct dbgkd_get_version64) == 40, "DBGKD_GET_VERSION64");
_Static_assert(sizeof(struct dbgkd_any_wait_state_change) == 240, "DBGKD_ANY_WAIT_STATE_CHANGE");
_Static_assert(offsetof(struct dbgkd_any_wait_state_change, u) == 32, "state change union");
_Static_assert(offsetof(struct dbgkd_any_wait_state_change, u.exception.first_chance) == 184,
	       "FirstChance");
_Static_assert(offsetof(struct dbgkd_any_wait_state_change, u.load_symbols.unload_symbols) == 64,
	       "UnloadSymbols");
_Static_assert(offsetof(struct dbgkd_any_wait_state_change, control_report) == 192,
	       "control report");
_Static_assert(offsetof(struct dbgkd_any_wait_state_change, control_report.x86.eflags) == 228,
	       "x86 control report EFlags");
_Static_assert(sizeof(struct dbgkd_debug_io) == 16, "DBGKD_DEBUG_IO");
_Static_assert(sizeof(struct dbgkd_trace_io) == 64, "DBGKD_TRACE_IO");
_Static_assert(sizeof(struct dbgkd_file_io) == 64, "DBGKD_FILE_IO");
_Static_assert(offsetof(struct dbgkd_file_io, u.create_file.handle) == 32, "CreateFile.Handle");
_Static_assert(offsetof(struct dbgkd_debugger_data64, owner_tag) == 0x10, "KDBG tag");
_Static_assert(offsetof(struct dbgkd_debugger_data64, kern_base) == 0x18, "KDBG KernBase");
_Static_assert(offsetof(struct dbgkd_debugger_data64, pae_enabled) == 0x36, "KDBG PaeEnabled");
_Static_assert(offsetof(struct dbgkd_debugger_data64, ps_loaded_module_list) == 0x48,
	       "KDBG PsLoadedModuleList");
_Static_assert(offsetof(struct dbgkd_debugger_data64, ps_active_process_head) == 0x50,
	       "KDBG PsActiveProcessHead");
_Static_assert(offsetof(struct dbgkd_debugger_data64, nt_build_lab) == 0x208, "KDBG NtBuildLab");
_Static_assert(offsetof(struct dbgkd_debugger_data64, cm_nt_csd_version) == 0x268,
	       "KDBG CmNtCSDVersion");
_Static_assert(offsetof(struct dbgkd_debugger_data64, offset_kthread_apc_process) == 0x2a0,
	       "KDBG OffsetKThreadApcProcess");
_Static_assert(sizeof(struct dbgkd_debugger_data64) == 0x340, "KDDEBUGGER_DATA64 (Windows 7)");
_Static_assert(sizeof(struct x86_context) == 716, "x86 CONTEXT");
_Static_assert(offsetof(struct x86_context, seg_gs) == 0x8C, "CONTEXT.SegGs");
_Static_assert(offsetof(struct x86_context, eip) == 0xB8, "CONTEXT.Eip");
_Static_assert(offsetof(struct x86_context, extended_registers) == 0xCC, "CONTEXT.ExtendedRegisters");
_Static_assert(sizeof(struct x86_special_registers) == 84, "KSPECIAL_REGISTERS (x86)");
_Static_assert(sizeof(struct x86_processor_state) == 800, "KPROCESSOR_STATE (x86)");
_Static_assert(sizeof(struct amd64_context) == 1232, "AMD64 CONTEXT");
_Static_assert(offsetof(struct amd64_context, context_flags) == 0x30, "AMD64 CONTEXT.ContextFlags");
_Static_assert(offsetof(struct amd64_context, seg_cs) == 0x38, "AMD64 CONTEXT.SegCs");
_Static_assert(offsetof(struct amd64_context, eflags) == 0x44, "AMD64 CONTEXT.EFlags");
_Static_assert(offsetof(struct amd64_context, dr7) == 0x70, "AMD64 CONTEXT.Dr7");
_Static_assert(offsetof(struct amd64_context, rax) == 0x78, "AMD64 CONTEXT.Rax");
_Static_assert(offsetof(struct amd64_context, rsp) == 0x98, "AMD64 CONTEXT.Rsp");
_Static_assert(offsetof(struct amd64_context, r15) == 0xF0, "AMD64 CONTEXT.R15");
_Static_assert(offsetof(struct amd64_context, rip) == 0xF8, "AMD64 CONTEXT.Rip");
_Static_assert(offsetof(struct amd64_context, flt_save) == 0x100, "AMD64 CONTEXT.FltSave");
_Static_assert(offsetof(struct amd64_context, vector_register) == 0x300, "AMD64 VectorRegister");
_Static_assert(offsetof(struct amd64_context, vector_control) == 0x4A0, "AMD64 VectorControl");
_Static_assert(offsetof(struct amd64_context, last_exception_from_rip) == 0x4C8,
	       "AMD64 LastExceptionFromRip");
_Static_assert(sizeof(struct amd64_special_registers) == 0xE0, "KSPECIAL_REGISTERS (AMD64)");
_Static_assert(offsetof(struct amd64_special_registers, gdtr) == 0x50, "AMD64 Gdtr");
_Static_assert(offsetof(struct amd64_special_registers, tr) == 0x70, "AMD64 Tr");
_Static_assert(offsetof(struct amd64_special_registers, cr8) == 0xA0, "AMD64 Cr8");
_Static_assert(offsetof(struct amd64_special_registers, xcr0) == 0xD8, "AMD64 Xcr0");
_Static_assert(offsetof(struct dbgkd_manipulate_state64,
			u.continue2_amd64.control_set.trace_flag) == 20, "AMD64 TraceFlag");
_Static_assert(offsetof(struct dbgkd_manipulate_state64, u.continue2_amd64.control_set.dr7) == 24,
	       "AMD64 Continue2 Dr7");
_Static_assert(offsetof(struct dbgkd_manipulate_state64,
			u.continue2_amd64.control_set.current_symbol_start) == 32,
	       "AMD64 Continue2 CurrentSymbolStart");
_Static_assert(offsetof(struct dbgkd_any_wait_state_change, control_report.amd64.eflags) == 208,
	       "AMD64 control report EFlags");
_Static_assert(offsetof(struct dbgkd_any_wait_state_change, control_report.amd64.seg_fs) == 238,
	       "AMD64 control report SegFs");

/* ---- names, for logs and decoders -------------------------------------------- */

static inline const char *dbgkd_manipulate_name(uint32_t api)
{
	static const char *const names[] = {
		"ReadVirtualMemory", "WriteVirtualMemory", "GetContext", "SetContext",
		"WriteBreakPoint", "RestoreBreakPoint", "Continue", "ReadControlSpace",
		"WriteControlSpace", "ReadIoSpace", "WriteIoSpace", "Reboot", "Continue2",
		"ReadPhysicalMemory", "WritePhysicalMemory", "QuerySpecialCalls", "SetSpecialCall",
		"ClearSpecialCalls", "SetInternalBreakPoint", "GetInternalBreakPoint",
		"ReadIoSpaceExtended", "WriteIoSpaceExtended", "GetVersion", "WriteBreakPointEx",
		"RestoreBreakPointEx", "CauseBugCheck", NULL, NULL, NULL, NULL, NULL, NULL,
		"SwitchProcessor", "PageIn", "ReadMachineSpecificRegister",
		"WriteMachineSpecificRegister", "OldVlm1", "OldVlm2", "SearchMemory", "GetBusData",
		"SetBusData", "CheckLowMemory", "ClearAllInternalBreakpoints", "FillMemory",
		"QueryMemory", "SwitchPartition", "WriteCustomBreakpoint", "GetContextEx",
		"SetContextEx",
	};

	if (api >= DBGKD_READ_VIRTUAL_MEMORY_API && api < DBGKD_MAXIMUM_MANIPULATE &&
	    names[api - DBGKD_READ_VIRTUAL_MEMORY_API])
		return names[api - DBGKD_READ_VIRTUAL_MEMORY_API];
	return "unknown manipulate API";
}

static inline const char *dbgkd_state_change_name(uint32_t new_state)
{
	switch (new_state & ~DBGKD_ALTERNATE_STATE_CHANGE) {
	case DBGKD_EXCEPTION_STATE_CHANGE:
		return "Exception";
	case DBGKD_LOAD_SYMBOLS_STATE_CHANGE:
		return "LoadSymbols";
	case DBGKD_COMMAND_STRING_STATE_CHANGE:
		return "CommandString";
	default:
		return "unknown state change";
	}
}

#endif /* BXKD_DBGKD_H */

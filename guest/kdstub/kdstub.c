/*
 * kdstub.c -- the KD stub (see kdstub.h): state changes, debug prints and
 * the DbgKd manipulate dispatcher, after ReactOS' kd64 (kdapi.c, kdprint.c,
 * i386/kdx86.c).
 */
#include "kdstub.h"

#define copy_bytes(dst, src, n) __builtin_memcpy((dst), (src), (n))
#define zero_bytes(dst, n) __builtin_memset((dst), 0, (n))

#define INT3 0xCC
#define NT_SUCCESS(status) ((int32_t)(status) >= 0)
/* QueryMemory's AddressSpace answers and flags (windbgkd.h). */
#define QUERY_MEMORY_PROCESS 0
#define QUERY_MEMORY_KERNEL 2
#define QUERY_MEMORY_READ_WRITE_EXECUTE 0x7
#define KERNEL_SPACE_START 0x80000000u

static uint64_t sign_extend(uint32_t address)
{
	return (uint64_t)(int64_t)(int32_t)address;
}

/* x86 addresses come sign-extended; anything else is not an x86 address. */
static bool x86_address(uint64_t address, uint32_t *out)
{
	if (address >> 32 && address >> 32 != 0xFFFFFFFFu)
		return false;
	*out = (uint32_t)address;
	return true;
}

void kdstub_init(struct kdstub *s, const struct kdstub_config *config,
		 const struct kdstub_machine *machine, const struct kd_transport *transport)
{
	zero_bytes(s, sizeof(*s));
	s->config = *config;
	s->machine = *machine;
	s->transport = *transport;
	s->kd_context.retries = 20;
}

static bool debugger_present(struct kdstub *s)
{
	return s->transport.debugger_present(s->transport.ctx);
}

static void send_packet(struct kdstub *s, uint32_t type, const void *header, uint16_t header_length,
			const void *data, uint16_t data_length)
{
	struct kd_string h = { header_length, header_length, (uint8_t *)header };
	struct kd_string d = { data_length, data_length, (uint8_t *)data };

	s->transport.send_packet(s->transport.ctx, type, &h, data_length ? &d : 0, &s->kd_context);
}

/* ---- breakpoints ------------------------------------------------------------ */

bool kdstub_breakpoint_at(const struct kdstub *s, uint64_t address, uint8_t *original)
{
	for (int i = 0; i < KDSTUB_BREAKPOINTS; i++) {
		if (s->breakpoints[i].used && s->breakpoints[i].address == address) {
			*original = s->breakpoints[i].original;
			return true;
		}
	}
	return false;
}

/* Handle = slot + 1; 0 means refused (a duplicate, a full table, or an
 * address that cannot be read and written). */
static uint32_t add_breakpoint(struct kdstub *s, uint64_t kd_address)
{
	uint8_t original, int3 = INT3;
	uint32_t address;
	int slot = -1;

	if (!x86_address(kd_address, &address))
		return 0;
	for (int i = 0; i < KDSTUB_BREAKPOINTS; i++) {
		if (s->breakpoints[i].used && s->breakpoints[i].address == address)
			return 0;
		if (!s->breakpoints[i].used && slot < 0)
			slot = i;
	}
	if (slot < 0 || s->machine.read_virtual(s->machine.ctx, address, &original, 1) != 1 ||
	    s->machine.write_virtual(s->machine.ctx, address, &int3, 1) != 1)
		return 0;
	s->breakpoints[slot] = (struct kdstub_breakpoint){ true, address, original };
	return (uint32_t)slot + 1;
}

static bool remove_breakpoint(struct kdstub *s, uint32_t handle)
{
	struct kdstub_breakpoint *bp;

	if (handle == 0 || handle > KDSTUB_BREAKPOINTS || !s->breakpoints[handle - 1].used)
		return false;
	bp = &s->breakpoints[handle - 1];
	s->machine.write_virtual(s->machine.ctx, bp->address, &bp->original, 1);
	bp->used = false;
	return true;
}

/* ---- manipulate requests ---------------------------------------------------- */

enum served { KEEP_SERVING, RESUME, RESEND_STATE_CHANGE };

static void reply(struct kdstub *s, struct dbgkd_manipulate_state64 *m, uint32_t status,
		  const void *data, uint32_t length)
{
	m->return_status = status;
	send_packet(s, KDCOM_TYPE_STATE_MANIPULATE, m, sizeof(*m), data, (uint16_t)length);
}

static uint32_t clip(uint32_t count)
{
	return count < KDSTUB_REPLY_DATA_MAX ? count : (uint32_t)KDSTUB_REPLY_DATA_MAX;
}

static void read_memory(struct kdstub *s, struct dbgkd_manipulate_state64 *m, bool physical)
{
	uint32_t count = clip(m->u.read_memory.transfer_count), got = 0, address;

	if (physical)
		got = s->machine.read_physical(s->machine.ctx, m->u.read_memory.target_base_address,
					       s->reply, count);
	else if (x86_address(m->u.read_memory.target_base_address, &address))
		got = s->machine.read_virtual(s->machine.ctx, address, s->reply, count);
	m->u.read_memory.actual_bytes = got;
	reply(s, m, got == count ? DBGKD_STATUS_SUCCESS : DBGKD_STATUS_UNSUCCESSFUL, s->reply, got);
}

/* The data to write is what follows the request; its length counts, not
 * TransferCount (kd64 does the same). */
static void write_memory(struct kdstub *s, struct dbgkd_manipulate_state64 *m, bool physical,
			 uint32_t length)
{
	uint32_t done = 0, address;

	if (physical)
		done = s->machine.write_physical(s->machine.ctx,
						 m->u.write_memory.target_base_address, s->message,
						 length);
	else if (x86_address(m->u.write_memory.target_base_address, &address))
		done = s->machine.write_virtual(s->machine.ctx, address, s->message, length);
	m->u.write_memory.actual_bytes = done;
	reply(s, m, done == length ? DBGKD_STATUS_SUCCESS : DBGKD_STATUS_UNSUCCESSFUL, 0, 0);
}

static void get_version(struct kdstub *s, struct dbgkd_manipulate_state64 *m)
{
	struct dbgkd_get_version64 *v = &m->u.get_version;

	zero_bytes(v, sizeof(*v));
	v->major_version = s->config.major_version;
	v->minor_version = s->config.build_number;
	v->protocol_version = DBGKD_64BIT_PROTOCOL_VERSION2;
	v->flags = DBGKD_VERS_FLAG_DATA;
	v->machine_type = DBGKD_MACHINE_I386;
	v->max_packet_type = KDCOM_TYPE_MAX;
	v->max_state_change = DBGKD_MAXIMUM_STATE_CHANGE - DBGKD_EXCEPTION_STATE_CHANGE;
	v->max_manipulate = DBGKD_MAXIMUM_MANIPULATE - DBGKD_READ_VIRTUAL_MEMORY_API;
	v->kern_base = s->config.kern_base;
	v->ps_loaded_module_list = s->config.ps_loaded_module_list;
	v->debugger_data_list = s->config.debugger_data_list;
	reply(s, m, DBGKD_STATUS_SUCCESS, 0, 0);
}

static void processor_state(struct kdstub *s, struct x86_processor_state *state)
{
	s->machine.get_context(s->machine.ctx, &state->context_frame);
	s->machine.get_special(s->machine.ctx, &state->special_registers);
}

/* Control space on x86 is the KPROCESSOR_STATE, addressed by offset. */
static void control_space(struct kdstub *s, struct dbgkd_manipulate_state64 *m, bool write,
			  uint32_t length)
{
	struct x86_processor_state state;
	uint64_t offset = m->u.read_memory.target_base_address;
	uint32_t count = write ? length : clip(m->u.read_memory.transfer_count);

	if (offset > sizeof(state) || count > sizeof(state) - offset) {
		m->u.read_memory.actual_bytes = 0;
		reply(s, m, DBGKD_STATUS_UNSUCCESSFUL, 0, 0);
		return;
	}
	processor_state(s, &state);
	if (write) {
		copy_bytes((uint8_t *)&state + offset, s->message, count);
		s->machine.set_context(s->machine.ctx, &state.context_frame);
		s->machine.set_special(s->machine.ctx, &state.special_registers);
	}
	m->u.read_memory.actual_bytes = count;
	/* kd64 echoes the bytes written, and returns the ones read. */
	copy_bytes(s->reply, (uint8_t *)&state + offset, count);
	reply(s, m, DBGKD_STATUS_SUCCESS, s->reply, count);
}

static void io_space(struct kdstub *s, struct dbgkd_manipulate_state64 *m, bool write)
{
	uint32_t size = m->u.io.data_size, port;
	uint32_t status = DBGKD_STATUS_SUCCESS;

	if ((size != 1 && size != 2 && size != 4) || !x86_address(m->u.io.io_address, &port) ||
	    port > 0xFFFF)
		status = DBGKD_STATUS_UNSUCCESSFUL;
	else if (port % size)
		status = DBGKD_STATUS_DATATYPE_MISALIGNMENT;
	else if (write)
		s->machine.write_io(s->machine.ctx, (uint16_t)port, size, m->u.io.data_value);
	else
		m->u.io.data_value = s->machine.read_io(s->machine.ctx, (uint16_t)port, size);
	reply(s, m, status, 0, 0);
}

static void query_memory(struct kdstub *s, struct dbgkd_manipulate_state64 *m)
{
	uint32_t address;
	uint8_t probe;

	if (m->u.query_memory.address_space != QUERY_MEMORY_PROCESS) {
		reply(s, m, DBGKD_STATUS_INVALID_PARAMETER, 0, 0);
		return;
	}
	if (!x86_address(m->u.query_memory.address, &address) ||
	    s->machine.read_virtual(s->machine.ctx, address, &probe, 1) != 1) {
		reply(s, m, DBGKD_STATUS_UNSUCCESSFUL, 0, 0);
		return;
	}
	m->u.query_memory.address_space =
		address >= KERNEL_SPACE_START ? QUERY_MEMORY_KERNEL : QUERY_MEMORY_PROCESS;
	m->u.query_memory.flags = QUERY_MEMORY_READ_WRITE_EXECUTE;
	reply(s, m, DBGKD_STATUS_SUCCESS, 0, 0);
}

/* GetContextEx / SetContextEx: a byte range of the CONTEXT. */
static void context_ex(struct kdstub *s, struct dbgkd_manipulate_state64 *m, bool set,
		       uint32_t length)
{
	struct x86_context context;
	uint32_t offset = m->u.context_ex.offset, count = m->u.context_ex.byte_count;

	if (set)
		count = length;
	if (offset > sizeof(context) || count > sizeof(context) - offset ||
	    (set && !s->context_sent)) {
		m->u.context_ex.bytes_copied = 0;
		reply(s, m, DBGKD_STATUS_UNSUCCESSFUL, 0, 0);
		return;
	}
	s->machine.get_context(s->machine.ctx, &context);
	if (set) {
		copy_bytes((uint8_t *)&context + offset, s->message, count);
		s->machine.set_context(s->machine.ctx, &context);
		count = 0;
	} else {
		copy_bytes(s->reply, (uint8_t *)&context + offset, count);
		s->context_sent = true;
	}
	m->u.context_ex.bytes_copied = set ? length : count;
	reply(s, m, DBGKD_STATUS_SUCCESS, s->reply, count);
}

static enum served serve(struct kdstub *s, struct dbgkd_manipulate_state64 *m, uint32_t length,
			 struct kdstub_resume *resume)
{
	struct x86_context context;

	switch (m->api_number) {
	case DBGKD_GET_VERSION_API:
		get_version(s, m);
		break;
	case DBGKD_READ_VIRTUAL_MEMORY_API:
	case DBGKD_READ_PHYSICAL_MEMORY_API:
		read_memory(s, m, m->api_number == DBGKD_READ_PHYSICAL_MEMORY_API);
		break;
	case DBGKD_WRITE_VIRTUAL_MEMORY_API:
	case DBGKD_WRITE_PHYSICAL_MEMORY_API:
		write_memory(s, m, m->api_number == DBGKD_WRITE_PHYSICAL_MEMORY_API, length);
		break;
	case DBGKD_GET_CONTEXT_API:
		s->machine.get_context(s->machine.ctx, &context);
		s->context_sent = true;
		reply(s, m, DBGKD_STATUS_SUCCESS, &context, sizeof(context));
		break;
	case DBGKD_SET_CONTEXT_API:
		/* kd64 takes a CONTEXT only after it sent one since the stop. */
		if (!s->context_sent || length != sizeof(context)) {
			reply(s, m, DBGKD_STATUS_UNSUCCESSFUL, 0, 0);
			break;
		}
		copy_bytes(&context, s->message, sizeof(context));
		s->machine.set_context(s->machine.ctx, &context);
		reply(s, m, DBGKD_STATUS_SUCCESS, 0, 0);
		break;
	case DBGKD_READ_CONTROL_SPACE_API:
	case DBGKD_WRITE_CONTROL_SPACE_API:
		control_space(s, m, m->api_number == DBGKD_WRITE_CONTROL_SPACE_API, length);
		break;
	case DBGKD_WRITE_BREAKPOINT_API:
		m->u.write_breakpoint.breakpoint_handle =
			add_breakpoint(s, m->u.write_breakpoint.breakpoint_address);
		reply(s, m,
		      m->u.write_breakpoint.breakpoint_handle ? DBGKD_STATUS_SUCCESS
							      : DBGKD_STATUS_UNSUCCESSFUL,
		      0, 0);
		break;
	case DBGKD_RESTORE_BREAKPOINT_API:
		reply(s, m,
		      remove_breakpoint(s, m->u.restore_breakpoint_handle) ? DBGKD_STATUS_SUCCESS
									   : DBGKD_STATUS_UNSUCCESSFUL,
		      0, 0);
		break;
	case DBGKD_READ_IO_SPACE_API:
	case DBGKD_WRITE_IO_SPACE_API:
		io_space(s, m, m->api_number == DBGKD_WRITE_IO_SPACE_API);
		break;
	case DBGKD_QUERY_MEMORY_API:
		query_memory(s, m);
		break;
	case DBGKD_GET_CONTEXT_EX_API:
	case DBGKD_SET_CONTEXT_EX_API:
		context_ex(s, m, m->api_number == DBGKD_SET_CONTEXT_EX_API, length);
		break;
	case DBGKD_CONTINUE_API:
		/* No reply. A failure status asks to keep serving. */
		if (!NT_SUCCESS(m->u.continue_status))
			break;
		resume->continue_status = m->u.continue_status;
		return RESUME;
	case DBGKD_CONTINUE_API2:
		if (!NT_SUCCESS(m->u.continue2.continue_status))
			break;
		resume->continue_status = m->u.continue2.continue_status;
		resume->single_step = m->u.continue2.control_set.trace_flag != 0;
		resume->dr7_set = true;
		resume->dr7 = m->u.continue2.control_set.dr7;
		return RESUME;
	case DBGKD_SWITCH_PROCESSOR:
		/* One processor: it reports its stop again, as a new one would. */
		return RESEND_STATE_CHANGE;
	case DBGKD_REBOOT_API:
		s->machine.reboot(s->machine.ctx);
		return RESUME;
	default:
		/* Anything else gets a well-formed failure, as kd64 answers. */
		reply(s, m, DBGKD_STATUS_UNSUCCESSFUL, 0, 0);
		break;
	}
	return KEEP_SERVING;
}

/*
 * KdpSendWaitContinue: send the state change, then take manipulate
 * requests until one resumes the machine. A RESET from the debugger (or a
 * switch to this processor) means the state change goes out again.
 */
static void send_wait_continue(struct kdstub *s, const void *header, uint16_t header_length,
			       const void *data, uint16_t data_length,
			       struct kdstub_resume *resume)
{
	struct dbgkd_manipulate_state64 m;

	resume->continue_status = DBGKD_DBG_CONTINUE;
	resume->single_step = false;
	resume->dr7_set = false;
	for (;;) {
		send_packet(s, KDCOM_TYPE_STATE_CHANGE64, header, header_length, data, data_length);
		/* A packet that may be dropped was: nobody is there to serve. */
		if (!debugger_present(s))
			return;
		enum served served = KEEP_SERVING;
		while (served == KEEP_SERVING) {
			struct kd_string h = { 0, sizeof(m), (uint8_t *)&m };
			struct kd_string d = { 0, sizeof(s->message), s->message };
			uint32_t length = 0;
			enum kd_status status = s->transport.receive_packet(
				s->transport.ctx, KDCOM_TYPE_STATE_MANIPULATE, &h, &d, &length,
				&s->kd_context);
			if (status == KD_PACKET_NEEDS_RESEND) {
				served = RESEND_STATE_CHANGE;
				break;
			}
			if (status != KD_PACKET_RECEIVED)
				continue;
			if (length > sizeof(s->message))
				length = sizeof(s->message); /* transports check; trust none */
			served = serve(s, &m, length, resume);
		}
		if (served == RESUME)
			return;
	}
}

void kdstub_report_exception(struct kdstub *s, uint32_t code, uint64_t address,
			     bool first_chance, struct kdstub_resume *resume)
{
	struct dbgkd_any_wait_state_change sc;
	struct dbgkd_control_report_x86 *report = &sc.control_report.x86;
	struct x86_context context;
	struct x86_special_registers special;
	/* kd64 sends a trace buffer after the header; position 1, nothing in it. */
	static const uint32_t trace = 1;

	s->machine.get_context(s->machine.ctx, &context);
	s->machine.get_special(s->machine.ctx, &special);
	zero_bytes(&sc, sizeof(sc));
	sc.new_state = DBGKD_EXCEPTION_STATE_CHANGE;
	sc.processor_level = s->config.processor_level;
	sc.number_processors = 1;
	sc.thread = s->config.thread;
	sc.program_counter = sign_extend(context.eip);
	sc.u.exception.record.exception_code = code;
	sc.u.exception.record.exception_address = address;
	sc.u.exception.first_chance = first_chance;

	/* The code at PC as it really is: breakpoints shown as their bytes. */
	uint32_t got = s->machine.read_virtual(s->machine.ctx, context.eip,
					       report->instruction_stream, DBGKD_MAXSTREAM);
	for (uint32_t i = 0; i < got; i++)
		kdstub_breakpoint_at(s, context.eip + i, &report->instruction_stream[i]);
	report->instruction_count = (uint16_t)got;
	report->dr6 = special.kernel_dr6;
	report->dr7 = special.kernel_dr7;
	report->report_flags = DBGKD_REPORT_INCLUDES_SEGS;
	if (context.seg_cs == s->config.kernel_cs)
		report->report_flags |= DBGKD_REPORT_STANDARD_CS;
	report->seg_cs = (uint16_t)context.seg_cs;
	report->seg_ds = (uint16_t)context.seg_ds;
	report->seg_es = (uint16_t)context.seg_es;
	report->seg_fs = (uint16_t)context.seg_fs;
	report->eflags = context.eflags;

	s->context_sent = false;
	send_wait_continue(s, &sc, sizeof(sc), &trace, sizeof(trace), resume);
}

bool kdstub_print(struct kdstub *s, const char *text, uint32_t length)
{
	struct dbgkd_debug_io io;

	/* kd64 does not even try without a debugger. */
	if (!debugger_present(s))
		return false;
	if (length > KDCOM_MAX_PAYLOAD - sizeof(io))
		length = KDCOM_MAX_PAYLOAD - sizeof(io);
	zero_bytes(&io, sizeof(io));
	io.api_number = DBGKD_PRINT_STRING_API;
	io.processor_level = s->config.processor_level;
	io.u.length_of_string = length;
	send_packet(s, KDCOM_TYPE_DEBUG_IO, &io, sizeof(io), text, (uint16_t)length);
	return kdstub_poll_breakin(s);
}

void kdstub_load_symbols(struct kdstub *s, const char *path, uint64_t base, uint32_t size,
			 uint32_t checksum, bool unload)
{
	struct dbgkd_any_wait_state_change sc;
	struct kdstub_resume ignored;
	struct x86_context context;
	uint32_t path_length = 0;

	if (!debugger_present(s))
		return;
	while (path[path_length] && path_length < KDCOM_MAX_PAYLOAD - sizeof(sc) - 1)
		path_length++;
	s->machine.get_context(s->machine.ctx, &context);
	zero_bytes(&sc, sizeof(sc));
	sc.new_state = DBGKD_LOAD_SYMBOLS_STATE_CHANGE;
	sc.processor_level = s->config.processor_level;
	sc.number_processors = 1;
	sc.thread = s->config.thread;
	sc.program_counter = sign_extend(context.eip);
	sc.u.load_symbols.path_name_length = path_length + 1; /* with the NUL */
	sc.u.load_symbols.base_of_dll = base;
	sc.u.load_symbols.check_sum = checksum;
	sc.u.load_symbols.size_of_image = size;
	sc.u.load_symbols.unload_symbols = unload;
	s->context_sent = false;
	send_wait_continue(s, &sc, sizeof(sc), path, (uint16_t)(path_length + 1), &ignored);
}

bool kdstub_poll_breakin(struct kdstub *s)
{
	if (s->kd_context.break_in_requested) {
		s->kd_context.break_in_requested = 0;
		return true;
	}
	return s->transport.receive_packet(s->transport.ctx, KDCOM_TYPE_POLL_BREAKIN, 0, 0, 0,
					   &s->kd_context) == KD_PACKET_RECEIVED;
}

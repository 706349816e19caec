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
#define NUMBER_PROCESSORS 1
/* QueryMemory's AddressSpace question and answers, and flags (windbgkd.h). */
#define QUERY_MEMORY_VIRTUAL 0
#define QUERY_MEMORY_PROCESS 0
#define QUERY_MEMORY_KERNEL 2
#define QUERY_MEMORY_READ_WRITE_EXECUTE 0x7
#define KERNEL_SPACE_START 0x80000000u
/* ReadControlSpace "addresses" on AMD64 (amd64/kdx64.c): pointers to the
 * KPCR, the KPRCB and the current KTHREAD, and the KSPECIAL_REGISTERS. */
#define AMD64_CONTROL_SPACE_KPCR 0
#define AMD64_CONTROL_SPACE_KPRCB 1
#define AMD64_CONTROL_SPACE_KSPECIAL 2
#define AMD64_CONTROL_SPACE_KTHREAD 3

static uint64_t sign_extend(uint32_t address)
{
	return (uint64_t)(int64_t)(int32_t)address;
}

/* A pointer of the target as it travels: an x86 one sign-extended
 * (kd-protocol.md 3.9), whichever form the caller gave; an AMD64 one as
 * it is. */
static uint64_t target_pointer(const struct kdstub *s, uint64_t pointer)
{
	return s->config.amd64 ? pointer : sign_extend((uint32_t)pointer);
}

/* An address from the debugger as the machine takes it: on x86 the
 * sign-extended form taken back to 32 bits (anything else is not an x86
 * address); on AMD64 as it is, the machine's page walk deciding. */
static bool target_address(const struct kdstub *s, uint64_t address, uint64_t *out)
{
	if (!s->config.amd64 && address >> 32 && address >> 32 != 0xFFFFFFFFu)
		return false;
	*out = s->config.amd64 ? address : (uint32_t)address;
	return true;
}

static uint32_t context_size(const struct kdstub *s)
{
	return s->config.amd64 ? sizeof(struct amd64_context) : sizeof(struct x86_context);
}

static uint64_t context_pc(const struct kdstub *s, const union kdstub_context *context)
{
	return s->config.amd64 ? context->amd64.rip : sign_extend(context->x86.eip);
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

bool kdstub_breakpoint_at(const struct kdstub *s, uint64_t kd_address, uint8_t *original)
{
	uint64_t address;

	/* The table holds the machine's addresses; x86 callers may ask
	 * sign-extended. */
	if (!target_address(s, kd_address, &address))
		return false;
	for (int i = 0; i < KDSTUB_BREAKPOINTS; i++) {
		if (s->breakpoints[i].used && s->breakpoints[i].address == address) {
			*original = s->breakpoints[i].original;
			return true;
		}
	}
	return false;
}

/* Handle = slot + 1; 0 means refused (a duplicate, a full table, or an
 * address that cannot be read and written). kd64 answers an unreadable
 * address with a deferred breakpoint that the page-fault path plants later
 * (KdSetOwedBreakpoints); the stub hears of no page coming in, so such a
 * breakpoint would never fire: refusing tells the debugger so. */
static uint32_t add_breakpoint(struct kdstub *s, uint64_t kd_address)
{
	uint8_t original, int3 = INT3;
	uint64_t address;
	int slot = -1;

	if (!target_address(s, kd_address, &address))
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

/* RESEND_STATE_CHANGE sends the same packet again (the transport lost it);
 * REPORT_AGAIN builds the stop report anew, as kd64 does for
 * ContinueProcessorReselected. */
enum served { KEEP_SERVING, RESUME, RESEND_STATE_CHANGE, REPORT_AGAIN };

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
	uint32_t count = clip(m->u.read_memory.transfer_count), got = 0;
	uint64_t address;

	if (physical)
		got = s->machine.read_physical(s->machine.ctx, m->u.read_memory.target_base_address,
					       s->reply, count);
	else if (target_address(s, m->u.read_memory.target_base_address, &address))
		got = s->machine.read_virtual(s->machine.ctx, address, s->reply, count);
	m->u.read_memory.actual_bytes = got;
	reply(s, m, got == count ? DBGKD_STATUS_SUCCESS : DBGKD_STATUS_UNSUCCESSFUL, s->reply, got);
}

/* The data to write is what follows the request; its length counts, not
 * TransferCount (kd64 does the same). */
static void write_memory(struct kdstub *s, struct dbgkd_manipulate_state64 *m, bool physical,
			 uint32_t length)
{
	uint32_t done = 0;
	uint64_t address;

	if (physical)
		done = s->machine.write_physical(s->machine.ctx,
						 m->u.write_memory.target_base_address, s->message,
						 length);
	else if (target_address(s, m->u.write_memory.target_base_address, &address))
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
	/* As kd64's KdVersionBlock: 64-bit pointers and the AMD64 CONTEXT
	 * (secondary version 2) on x86-64. */
	v->kd_secondary_version = s->config.amd64 ? 2 : 0;
	v->flags = DBGKD_VERS_FLAG_DATA | (s->config.amd64 ? DBGKD_VERS_FLAG_PTR64 : 0);
	v->machine_type = s->config.amd64 ? DBGKD_MACHINE_AMD64 : DBGKD_MACHINE_I386;
	v->max_packet_type = KDCOM_TYPE_MAX;
	v->max_state_change = DBGKD_MAXIMUM_STATE_CHANGE - DBGKD_EXCEPTION_STATE_CHANGE;
	v->max_manipulate = DBGKD_MAXIMUM_MANIPULATE - DBGKD_READ_VIRTUAL_MEMORY_API;
	v->kern_base = target_pointer(s, s->config.kern_base);
	v->ps_loaded_module_list = target_pointer(s, s->config.ps_loaded_module_list);
	v->debugger_data_list = target_pointer(s, s->config.debugger_data_list);
	reply(s, m, DBGKD_STATUS_SUCCESS, 0, 0);
}

static void processor_state(struct kdstub *s, struct x86_processor_state *state)
{
	union kdstub_context context;
	union kdstub_special_registers special;

	s->machine.get_context(s->machine.ctx, &context);
	s->machine.get_special(s->machine.ctx, &special);
	state->context_frame = context.x86;
	state->special_registers = special.x86;
}

/* Control space on x86 is the KPROCESSOR_STATE of `Processor`, addressed by
 * offset. As i386/kdx86.c: a read starts inside it and is clipped to its
 * end; a write must fit whole. */
static void control_space(struct kdstub *s, struct dbgkd_manipulate_state64 *m, bool write,
			  uint32_t length)
{
	struct x86_processor_state state;
	uint64_t offset = m->u.read_memory.target_base_address;
	uint32_t count = write ? length : clip(m->u.read_memory.transfer_count);
	bool valid = m->processor < NUMBER_PROCESSORS &&
		     (write ? offset <= sizeof(state) && count <= sizeof(state) - offset
			    : offset < sizeof(state));

	if (!valid) {
		count = 0;
	} else {
		if (count > sizeof(state) - offset)
			count = (uint32_t)(sizeof(state) - offset);
		processor_state(s, &state);
		if (write) {
			union kdstub_context context;
			union kdstub_special_registers special;
			copy_bytes((uint8_t *)&state + offset, s->message, count);
			context.x86 = state.context_frame;
			special.x86 = state.special_registers;
			s->machine.set_context(s->machine.ctx, &context);
			s->machine.set_special(s->machine.ctx, &special);
		} else {
			copy_bytes(s->reply, (uint8_t *)&state + offset, count);
		}
	}
	m->u.read_memory.actual_bytes = count;
	/* kd64 returns the bytes read, and echoes the data of a write whether
	 * or not it went in. */
	reply(s, m, valid ? DBGKD_STATUS_SUCCESS : DBGKD_STATUS_UNSUCCESSFUL,
	      write ? s->message : s->reply, write ? clip(length) : count);
}

/* Control space on AMD64 (amd64/kdx64.c) is not an offset but a choice:
 * "address" 2 is the KSPECIAL_REGISTERS, read from their start and
 * clipped to their size, written from their start as far as the data
 * goes; 3 is the current KTHREAD's address. The stub has no KPCR or KPRCB
 * to point at (0 and 1): those fail, as any other address does in kd64. */
static void amd64_control_space(struct kdstub *s, struct dbgkd_manipulate_state64 *m,
				 bool write, uint32_t length)
{
	union kdstub_special_registers special;
	uint64_t which = m->u.read_memory.target_base_address;
	uint32_t count = write ? length : clip(m->u.read_memory.transfer_count);
	bool valid = m->processor < NUMBER_PROCESSORS;

	if (valid && which == AMD64_CONTROL_SPACE_KSPECIAL) {
		if (count > sizeof(special.amd64))
			count = sizeof(special.amd64);
		s->machine.get_special(s->machine.ctx, &special);
		if (write) {
			copy_bytes(&special.amd64, s->message, count);
			s->machine.set_special(s->machine.ctx, &special);
		} else {
			copy_bytes(s->reply, &special.amd64, count);
		}
	} else if (valid && !write && which == AMD64_CONTROL_SPACE_KTHREAD) {
		if (count > sizeof(s->config.thread))
			count = sizeof(s->config.thread);
		copy_bytes(s->reply, &s->config.thread, count);
	} else {
		valid = false;
		count = 0;
	}
	m->u.read_memory.actual_bytes = count;
	reply(s, m, valid ? DBGKD_STATUS_SUCCESS : DBGKD_STATUS_UNSUCCESSFUL,
	      write ? s->message : s->reply, write ? clip(length) : count);
}

/* As i386/kdx86.c: sizes 1, 2 and 4, naturally aligned; DataSize comes back
 * as the size moved (0 on failure) and a read's DataValue holds only the
 * bytes read. */
static void io_space(struct kdstub *s, struct dbgkd_manipulate_state64 *m, bool write)
{
	uint32_t size = m->u.io.data_size;
	uint32_t status = DBGKD_STATUS_SUCCESS;
	uint64_t port;

	if (!write)
		m->u.io.data_value = 0;
	if (size != 1 && size != 2 && size != 4)
		status = DBGKD_STATUS_INVALID_PARAMETER;
	else if (!target_address(s, m->u.io.io_address, &port) || port > 0xFFFF)
		status = DBGKD_STATUS_UNSUCCESSFUL; /* not a port: kd64 would truncate */
	else if (port % size)
		status = DBGKD_STATUS_DATATYPE_MISALIGNMENT;
	if (status != DBGKD_STATUS_SUCCESS) {
		m->u.io.data_size = 0;
		reply(s, m, status, 0, 0);
		return;
	}
	uint32_t mask = size == 4 ? 0xFFFFFFFFu : (1u << (8 * size)) - 1;
	if (write)
		s->machine.write_io(s->machine.ctx, (uint16_t)port, size,
				    m->u.io.data_value & mask);
	else
		m->u.io.data_value =
			s->machine.read_io(s->machine.ctx, (uint16_t)port, size) & mask;
	reply(s, m, status, 0, 0);
}

/* kd64 classifies a virtual address without touching it: any of them is
 * process (user) or kernel memory, readable, writable and executable. */
static void query_memory(struct kdstub *s, struct dbgkd_manipulate_state64 *m)
{
	uint32_t status = DBGKD_STATUS_SUCCESS;

	if (m->u.query_memory.address_space == QUERY_MEMORY_VIRTUAL) {
		uint64_t address = m->u.query_memory.address;
		bool kernel = s->config.amd64 ? address >> 63 != 0
					      : (uint32_t)address >= KERNEL_SPACE_START;
		m->u.query_memory.address_space = kernel ? QUERY_MEMORY_KERNEL : QUERY_MEMORY_PROCESS;
		m->u.query_memory.flags = QUERY_MEMORY_READ_WRITE_EXECUTE;
	} else {
		status = DBGKD_STATUS_INVALID_PARAMETER;
	}
	m->u.query_memory.reserved = 0;
	reply(s, m, status, 0, 0);
}

/* GetContextEx / SetContextEx: a byte range of the CONTEXT. */
static void context_ex(struct kdstub *s, struct dbgkd_manipulate_state64 *m, bool set,
		       uint32_t length)
{
	union kdstub_context context;
	uint32_t offset = m->u.context_ex.offset, count = m->u.context_ex.byte_count;
	uint32_t size = context_size(s);

	if (set)
		count = length;
	if (m->processor >= NUMBER_PROCESSORS || offset > size || count > size - offset ||
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

/* The status kd64 answers an MSR request with: its KdpSysReadMsr and
 * KdpSysWriteMsr turn the CPU's #GP on a register it refuses into
 * STATUS_NO_SUCH_DEVICE; a machine without MSR hooks is kd64 on an
 * architecture without MSRs, which fails them STATUS_UNSUCCESSFUL. */
static uint32_t msr_status(bool served, bool ok)
{
	if (!served)
		return DBGKD_STATUS_UNSUCCESSFUL;
	return ok ? DBGKD_STATUS_SUCCESS : DBGKD_STATUS_NO_SUCH_DEVICE;
}

/* ReadMsr: the value in DataValueLow/High, zero when refused (kd64 sends
 * whatever its local held). */
static void read_msr(struct kdstub *s, struct dbgkd_manipulate_state64 *m)
{
	uint64_t value = 0;
	bool served = s->machine.read_msr != 0;
	bool ok = served && s->machine.read_msr(s->machine.ctx, m->u.msr.msr, &value);

	if (!ok)
		value = 0;
	m->u.msr.data_value_low = (uint32_t)value;
	m->u.msr.data_value_high = (uint32_t)(value >> 32);
	reply(s, m, msr_status(served, ok), 0, 0);
}

/* WriteMsr: kd64 echoes the request as it came, MSR and value, with the
 * status alone changed. */
static void write_msr(struct kdstub *s, struct dbgkd_manipulate_state64 *m)
{
	uint64_t value = (uint64_t)m->u.msr.data_value_high << 32 | m->u.msr.data_value_low;
	bool served = s->machine.write_msr != 0;
	bool ok = served && s->machine.write_msr(s->machine.ctx, m->u.msr.msr, value);

	reply(s, m, msr_status(served, ok), 0, 0);
}

static enum served serve(struct kdstub *s, struct dbgkd_manipulate_state64 *m, uint32_t length,
			 struct kdstub_resume *resume)
{
	union kdstub_context context;

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
		if (m->processor >= NUMBER_PROCESSORS) {
			reply(s, m, DBGKD_STATUS_UNSUCCESSFUL, 0, 0);
			break;
		}
		s->machine.get_context(s->machine.ctx, &context);
		s->context_sent = true;
		reply(s, m, DBGKD_STATUS_SUCCESS, &context, context_size(s));
		break;
	case DBGKD_SET_CONTEXT_API:
		/* kd64 takes a CONTEXT only after it sent one since the stop. */
		if (!s->context_sent || m->processor >= NUMBER_PROCESSORS ||
		    length != context_size(s)) {
			reply(s, m, DBGKD_STATUS_UNSUCCESSFUL, 0, 0);
			break;
		}
		copy_bytes(&context, s->message, length);
		s->machine.set_context(s->machine.ctx, &context);
		reply(s, m, DBGKD_STATUS_SUCCESS, 0, 0);
		break;
	case DBGKD_READ_CONTROL_SPACE_API:
	case DBGKD_WRITE_CONTROL_SPACE_API:
		if (s->config.amd64)
			amd64_control_space(s, m, m->api_number == DBGKD_WRITE_CONTROL_SPACE_API,
					    length);
		else
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
	case DBGKD_READ_MSR_API:
		read_msr(s, m);
		break;
	case DBGKD_WRITE_MSR_API:
		write_msr(s, m);
		break;
	case DBGKD_GET_CONTEXT_EX_API:
	case DBGKD_SET_CONTEXT_EX_API:
		context_ex(s, m, m->api_number == DBGKD_SET_CONTEXT_EX_API, length);
		break;
	case DBGKD_CONTINUE_API:
		/* No reply, and any status ends the stop: a failure only says the
		 * exception was not handled (kd64 returns NT_SUCCESS(status)). */
		resume->continue_status = m->u.continue_status;
		return RESUME;
	case DBGKD_CONTINUE_API2:
		resume->continue_status = m->u.continue2.continue_status;
		/* Only a successful Continue2 applies its control set. */
		if (NT_SUCCESS(m->u.continue2.continue_status)) {
			resume->dr7_set = true;
			if (s->config.amd64) {
				resume->single_step =
					m->u.continue2_amd64.control_set.trace_flag != 0;
				resume->dr7 = m->u.continue2_amd64.control_set.dr7[0];
			} else {
				resume->single_step = m->u.continue2.control_set.trace_flag != 0;
				resume->dr7 = m->u.continue2.control_set.dr7;
			}
		}
		return RESUME;
	case DBGKD_SWITCH_PROCESSOR:
		/* One processor: it reports its stop again, as a new one would. */
		return REPORT_AGAIN;
	case DBGKD_REBOOT_API:
		/* No reply. A machine that comes back is still the debugger's. */
		s->machine.reboot(s->machine.ctx);
		break;
	case DBGKD_CLEAR_ALL_INTERNAL_BREAKPOINTS_API:
		/* kd64 has no internal breakpoints to clear and answers nothing. */
		break;
	case DBGKD_WRITE_BREAKPOINT_EX_API:
		/* Unimplemented in kd64 too; its failure ends the stop there, and
		 * a debugger that sent it waits for the next state change. */
		reply(s, m, DBGKD_STATUS_UNSUCCESSFUL, s->message, clip(length));
		resume->continue_status = DBGKD_STATUS_UNSUCCESSFUL;
		return RESUME;
	case DBGKD_RESTORE_BREAKPOINT_EX_API:
		reply(s, m, DBGKD_STATUS_UNSUCCESSFUL, s->message, clip(length));
		break;
	default:
		/* Anything else gets a well-formed failure, as kd64 answers. */
		reply(s, m, DBGKD_STATUS_UNSUCCESSFUL, 0, 0);
		break;
	}
	return KEEP_SERVING;
}

/*
 * KdpSendWaitContinue: send the state change, then take manipulate
 * requests until one resumes the machine. A RESET from the debugger means
 * the same state change goes out again. Returns true when the debugger
 * switched processors: the caller builds and reports the stop anew.
 */
static bool send_wait_continue(struct kdstub *s, const void *header, uint16_t header_length,
			       const void *data, uint16_t data_length,
			       struct kdstub_resume *resume)
{
	struct dbgkd_manipulate_state64 m;

	resume->continue_status = DBGKD_DBG_CONTINUE;
	resume->single_step = false;
	resume->dr7_set = false;
	/* SetContext only after a GetContext of this report, as kd64. */
	s->context_sent = false;
	for (;;) {
		send_packet(s, KDCOM_TYPE_STATE_CHANGE64, header, header_length, data, data_length);
		/* A packet that may be dropped was: nobody is there to serve. */
		if (!debugger_present(s))
			return false;
		enum served served = KEEP_SERVING;
		while (served == KEEP_SERVING) {
			struct kd_string h = { 0, sizeof(m), (uint8_t *)&m };
			struct kd_string d = { 0, sizeof(s->message), s->message };
			uint32_t length = 0;
			enum kd_outcome status = s->transport.receive_packet(
				s->transport.ctx, KDCOM_TYPE_STATE_MANIPULATE, &h, &d, &length,
				&s->kd_context);
			if (status == KD_NEEDS_RESEND) {
				served = RESEND_STATE_CHANGE;
				break;
			}
			if (status != KD_OK)
				continue;
			/* A transport delivers exactly the 56-byte header or nothing
			 * (kd-protocol.md 2.3); anything shorter would leave the last
			 * request's bytes in `m`. */
			if (h.length != sizeof(m))
				continue;
			if (length > sizeof(s->message))
				length = sizeof(s->message); /* transports check; trust none */
			served = serve(s, &m, length, resume);
		}
		if (served == RESUME)
			return false;
		if (served == REPORT_AGAIN)
			return true;
	}
}

/* The control report's fields, the same in the x86 and the AMD64 layout. */
#define FILL_CONTROL_REPORT(report, context, special, flags, stream, got)                      \
	do {                                                                                   \
		copy_bytes((report)->instruction_stream, (stream), (got));                     \
		(report)->instruction_count = (uint16_t)(got);                                 \
		(report)->report_flags = (flags);                                              \
		(report)->dr6 = (special)->kernel_dr6;                                         \
		(report)->dr7 = (special)->kernel_dr7;                                         \
		(report)->seg_cs = (uint16_t)(context)->seg_cs;                                \
		(report)->seg_ds = (uint16_t)(context)->seg_ds;                                \
		(report)->seg_es = (uint16_t)(context)->seg_es;                                \
		(report)->seg_fs = (uint16_t)(context)->seg_fs;                                \
		(report)->eflags = (context)->eflags;                                          \
	} while (0)

/* KdpSetCommonState and KdpSetContextState: what every state change says
 * about the stop, control report included. */
static void set_common_state(struct kdstub *s, struct dbgkd_any_wait_state_change *sc,
			     uint32_t new_state)
{
	union kdstub_context context;
	union kdstub_special_registers special;

	s->machine.get_context(s->machine.ctx, &context);
	s->machine.get_special(s->machine.ctx, &special);
	zero_bytes(sc, sizeof(*sc));
	sc->new_state = new_state;
	sc->processor_level = s->config.processor_level;
	sc->number_processors = NUMBER_PROCESSORS;
	sc->thread = target_pointer(s, s->config.thread);
	uint64_t pc = context_pc(s, &context);
	sc->program_counter = pc;

	/* The code at PC as it really is: breakpoints shown as their bytes.
	 * kd64 deletes the breakpoints in this range instead; the stub keeps
	 * them, so a debugger's handles stay valid across stops (bxkd-dbg
	 * restores one by handle to step off it). Both reports carry the
	 * same fields, in two layouts. */
	uint8_t stream[DBGKD_MAXSTREAM];
	uint64_t at = s->config.amd64 ? pc : (uint32_t)pc;
	uint32_t got = s->machine.read_virtual(s->machine.ctx, at, stream, DBGKD_MAXSTREAM);
	for (uint32_t i = 0; i < got; i++)
		kdstub_breakpoint_at(s, at + i, &stream[i]);
	uint32_t cs = s->config.amd64 ? context.amd64.seg_cs : context.x86.seg_cs;
	uint16_t flags = DBGKD_REPORT_INCLUDES_SEGS |
			 (cs == s->config.kernel_cs ? DBGKD_REPORT_STANDARD_CS : 0);
	if (s->config.amd64)
		FILL_CONTROL_REPORT(&sc->control_report.amd64, &context.amd64, &special.amd64,
				    flags, stream, got);
	else
		FILL_CONTROL_REPORT(&sc->control_report.x86, &context.x86, &special.x86, flags,
				    stream, got);
}

void kdstub_report_exception(struct kdstub *s, uint32_t code, uint64_t address,
			     bool first_chance, struct kdstub_resume *resume)
{
	struct dbgkd_any_wait_state_change sc;
	/* kd64 sends a trace buffer after the header; position 1, nothing in it. */
	static const uint32_t trace = 1;

	do {
		set_common_state(s, &sc, DBGKD_EXCEPTION_STATE_CHANGE);
		sc.u.exception.record.exception_code = code;
		sc.u.exception.record.exception_address = target_pointer(s, address);
		sc.u.exception.first_chance = first_chance;
	} while (send_wait_continue(s, &sc, sizeof(sc), &trace, sizeof(trace), resume));
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
	uint32_t path_length = 0;

	if (!debugger_present(s))
		return;
	/* KdpPathBuffer: the path as far as a packet holds it, and a NUL. */
	while (path[path_length] && path_length < sizeof(s->path) - 1) {
		s->path[path_length] = (uint8_t)path[path_length];
		path_length++;
	}
	s->path[path_length++] = 0;
	do {
		set_common_state(s, &sc, DBGKD_LOAD_SYMBOLS_STATE_CHANGE);
		sc.u.load_symbols.path_name_length = path_length; /* with the NUL */
		sc.u.load_symbols.base_of_dll = target_pointer(s, base);
		sc.u.load_symbols.check_sum = checksum;
		sc.u.load_symbols.size_of_image = size;
		sc.u.load_symbols.unload_symbols = unload;
	} while (send_wait_continue(s, &sc, sizeof(sc), s->path, (uint16_t)path_length, &ignored));
}

bool kdstub_poll_breakin(struct kdstub *s)
{
	if (s->kd_context.break_in_requested) {
		s->kd_context.break_in_requested = 0;
		return true;
	}
	return s->transport.receive_packet(s->transport.ctx, KDCOM_TYPE_POLL_BREAKIN, 0, 0, 0,
					   &s->kd_context) == KD_OK;
}

/*
 * dbg_registers.c -- bxkd-dbg's processor state: the registers of an x86
 * and an AMD64 target (the machine GetVersion names), their CONTEXTs as
 * GetContext and SetContext carry them, its model-specific registers
 * (ReadMsr, WriteMsr), and the link's own account.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "bxkd/dbgkd.h"
#include "dbg_session.h"
#include "kdtrace.h"

struct register_slot {
	const char *name;
	size_t offset;
	size_t size; /* bytes */
};

/* Both machines' registers in one table: x86's first, then AMD64's. */
#define X86(name, field) { name, offsetof(struct x86_context, field), 4 }
#define AMD64(name, field)                                                                       \
	{ name, offsetof(struct amd64_context, field), sizeof(((struct amd64_context *)0)->field) }
static const struct register_slot registers[] = {
	X86("eax", eax), X86("ebx", ebx), X86("ecx", ecx), X86("edx", edx), X86("esi", esi),
	X86("edi", edi), X86("ebp", ebp), X86("esp", esp), X86("eip", eip), X86("eflags", eflags),
	X86("cs", seg_cs), X86("ss", seg_ss), X86("ds", seg_ds), X86("es", seg_es),
	X86("fs", seg_fs), X86("gs", seg_gs), X86("dr7", dr7),
#define X86_REGISTERS 17
	AMD64("rax", rax), AMD64("rbx", rbx), AMD64("rcx", rcx), AMD64("rdx", rdx),
	AMD64("rsi", rsi), AMD64("rdi", rdi), AMD64("rbp", rbp), AMD64("rsp", rsp),
	AMD64("r8", r8), AMD64("r9", r9), AMD64("r10", r10), AMD64("r11", r11), AMD64("r12", r12),
	AMD64("r13", r13), AMD64("r14", r14), AMD64("r15", r15), AMD64("rip", rip),
	AMD64("eflags", eflags), AMD64("cs", seg_cs), AMD64("ss", seg_ss), AMD64("ds", seg_ds),
	AMD64("es", seg_es), AMD64("fs", seg_fs), AMD64("gs", seg_gs), AMD64("dr7", dr7),
	AMD64("mxcsr", mx_csr),
	/* FltSave is FXSAVE's area: the x87 control and status words first. */
	{ "fpcw", offsetof(struct amd64_context, flt_save) + 0, 2 },
	{ "fpsw", offsetof(struct amd64_context, flt_save) + 2, 2 },
};
#define REGISTER_COUNT (sizeof(registers) / sizeof(*registers))

/* A CONTEXT of either machine, as the bytes GetContext carries. */
union any_context {
	struct x86_context x86;
	struct amd64_context amd64;
	uint8_t bytes[sizeof(struct amd64_context)];
};

struct machine_context {
	const struct register_slot *registers;
	size_t register_count;
	size_t context_size;
	size_t flags_offset; /* of ContextFlags */
};

static struct machine_context machine_of(const struct session *s)
{
	if (kdclient_machine(s->client) == DBGKD_MACHINE_AMD64)
		return (struct machine_context){ registers + X86_REGISTERS,
						 REGISTER_COUNT - X86_REGISTERS,
						 sizeof(struct amd64_context),
						 offsetof(struct amd64_context, context_flags) };
	return (struct machine_context){ registers, X86_REGISTERS, sizeof(struct x86_context),
					 offsetof(struct x86_context, context_flags) };
}

static uint64_t register_value(const union any_context *c, const struct register_slot *r)
{
	uint64_t value = 0;

	memcpy(&value, c->bytes + r->offset, r->size); /* little-endian, as the wire */
	return value;
}

static bool get_context(struct session *s, const char *command, union any_context *context)
{
	struct dbgkd_manipulate_state64 m;
	size_t length, want = machine_of(s).context_size;

	memset(&m, 0, sizeof(m));
	enum kdclient_status st = dbg_request(s, DBGKD_GET_CONTEXT_API, &m, NULL, 0, context->bytes,
					  sizeof(context->bytes), &length);
	if (st != KDCLIENT_OK)
		return dbg_failed(s, command, "GetContext: %s", kdclient_status_name(st));
	if (m.return_status != DBGKD_STATUS_SUCCESS || length != want)
		return dbg_failed(s, command,
				  "GetContext: status 0x%08x, %zu bytes where a %s CONTEXT has %zu",
				  m.return_status, length,
				  kdclient_machine(s->client) == DBGKD_MACHINE_AMD64 ? "AMD64" : "x86",
				  want);
	return true;
}

static const struct register_slot *find_register(const struct session *s, const char *name)
{
	struct machine_context mc = machine_of(s);

	for (size_t i = 0; i < mc.register_count; i++) {
		if (!strcmp(mc.registers[i].name, name))
			return &mc.registers[i];
	}
	return NULL;
}

bool dbg_cmd_regs(struct session *s, char **w, int n)
{
	(void)w;
	(void)n;
	union any_context c;

	if (s->checking)
		return true;
	if (!get_context(s, "regs", &c))
		return false;
	struct machine_context mc = machine_of(s);
	if (s->json) {
		struct json_object *answer = dbg_answer("regs");
		for (size_t i = 0; i < mc.register_count; i++)
			json_object_object_add(answer, mc.registers[i].name,
					       kdtrace_json_hex(register_value(&c, &mc.registers[i]),
								(int)(2 * mc.registers[i].size)));
		dbg_print_answer(answer);
	} else if (kdclient_machine(s->client) == DBGKD_MACHINE_AMD64) {
		for (size_t i = 0; i < mc.register_count; i++)
			printf("%s=%0*" PRIx64 "%s", mc.registers[i].name,
			       (int)(2 * mc.registers[i].size), register_value(&c, &mc.registers[i]),
			       i % 4 == 3 || i + 1 == mc.register_count ? "\n" : " ");
	} else {
		const struct x86_context *x = &c.x86;
		printf("eax=%08x ebx=%08x ecx=%08x edx=%08x esi=%08x edi=%08x\n"
		       "eip=%08x esp=%08x ebp=%08x eflags=%08x\n"
		       "cs=%04x ss=%04x ds=%04x es=%04x fs=%04x gs=%04x\n",
		       x->eax, x->ebx, x->ecx, x->edx, x->esi, x->edi, x->eip, x->esp, x->ebp,
		       x->eflags, x->seg_cs, x->seg_ss, x->seg_ds, x->seg_es, x->seg_fs, x->seg_gs);
	}
	return true;
}

bool dbg_cmd_setreg(struct session *s, char **w, int n)
{
	union any_context c;
	struct dbgkd_manipulate_state64 m;
	uint64_t value;
	size_t length;

	if (n != 3 || !dbg_number(w[2], &value))
		return dbg_usage(s, "setreg", NULL);
	if (s->checking)
		return true;
	const struct register_slot *r = find_register(s, w[1]);
	if (!r)
		return dbg_failed(s, "setreg", "no register '%s'", w[1]);
	if (r->size < 8 && value >> (8 * r->size))
		return dbg_failed(s, "setreg", "%s holds %zu bytes; 0x%" PRIx64 " does not fit",
				  w[1], r->size, value);
	if (!get_context(s, "setreg", &c))
		return false;
	struct machine_context mc = machine_of(s);
	memcpy(c.bytes + r->offset, &value, r->size);
	memset(&m, 0, sizeof(m));
	memcpy(&m.u.set_context_flags, c.bytes + mc.flags_offset, 4);
	enum kdclient_status st = dbg_request(s, DBGKD_SET_CONTEXT_API, &m, c.bytes, mc.context_size,
					  NULL, 0, &length);
	if (st != KDCLIENT_OK || m.return_status != DBGKD_STATUS_SUCCESS)
		return dbg_request_failed(s, "setreg", st, m.return_status, "SetContext");
	return dbg_ok_line(s, "setreg", "%s = 0x%0*" PRIx64 "\n", w[1], (int)(2 * r->size), value);
}

/* An MSR request: the register's number and, for a write, its value. */
static bool msr_request(struct session *s, const char *command, uint32_t api, uint32_t msr,
			uint64_t *value)
{
	struct dbgkd_manipulate_state64 m;
	size_t length;
	char what[40];

	memset(&m, 0, sizeof(m));
	m.u.msr.msr = msr;
	m.u.msr.data_value_low = (uint32_t)*value;
	m.u.msr.data_value_high = (uint32_t)(*value >> 32);
	enum kdclient_status st = dbg_request(s, api, &m, NULL, 0, NULL, 0, &length);
	if (st == KDCLIENT_OK && m.return_status == DBGKD_STATUS_SUCCESS) {
		*value = (uint64_t)m.u.msr.data_value_high << 32 | m.u.msr.data_value_low;
		return true;
	}
	/* kd64 answers STATUS_NO_SUCH_DEVICE for a register the CPU (or the
	 * target's policy) refuses; the status is in the failure's words. */
	snprintf(what, sizeof(what), "%s 0x%08x", api == DBGKD_READ_MSR_API ? "ReadMsr" : "WriteMsr",
		 msr);
	return dbg_request_failed(s, command, st, m.return_status, what);
}

/* The MSR argument: a number of 32 bits. */
static bool msr_number(const char *text, uint32_t *msr)
{
	uint64_t value;

	if (!dbg_number(text, &value) || value > UINT32_MAX)
		return false;
	*msr = (uint32_t)value;
	return true;
}

bool dbg_cmd_rdmsr(struct session *s, char **w, int n)
{
	uint32_t msr;
	uint64_t value = 0;

	if (n != 2 || !msr_number(w[1], &msr))
		return dbg_usage(s, "rdmsr", "MSR: a number of 32 bits");
	if (s->checking)
		return true;
	if (!msr_request(s, "rdmsr", DBGKD_READ_MSR_API, msr, &value))
		return false;
	if (!s->json) {
		printf("msr 0x%08x = 0x%016" PRIx64 "\n", msr, value);
		return true;
	}
	struct json_object *answer = dbg_answer("rdmsr");
	json_object_object_add(answer, "msr", kdtrace_json_hex(msr, 8));
	json_object_object_add(answer, "value", kdtrace_json_hex(value, 16));
	dbg_print_answer(answer);
	return true;
}

bool dbg_cmd_wrmsr(struct session *s, char **w, int n)
{
	uint32_t msr;
	uint64_t value;

	if (n != 3 || !msr_number(w[1], &msr) || !dbg_number(w[2], &value))
		return dbg_usage(s, "wrmsr", "MSR: a number of 32 bits; VALUE: of 64 bits");
	if (s->checking)
		return true;
	if (!msr_request(s, "wrmsr", DBGKD_WRITE_MSR_API, msr, &value))
		return false;
	return dbg_ok_line(s, "wrmsr", "msr 0x%08x = 0x%016" PRIx64 "\n", msr, value);
}

/* What the link went through, and how long recovering took. */
bool dbg_cmd_link(struct session *s, char **w, int n)
{
	struct kdclient_stats st;

	(void)w;
	(void)n;
	if (s->checking)
		return true;
	kdclient_stats(s->client, &st);
	if (!s->json) {
		printf("link: %" PRIu64 " recoveries (longest %u ms, bound %u ms), %" PRIu64
		       " requests asked again, %" PRIu64 " probes, %" PRIu64 " retransmissions\n",
		       st.recoveries, st.max_recovery_ms, st.recovery_bound_ms, st.reissued, st.probes,
		       st.retransmissions);
		return true;
	}
	struct json_object *answer = dbg_answer("link");
	struct json_object *times = json_object_new_array();
	for (size_t i = 0; i < st.samples; i++)
		json_object_array_add(times, json_object_new_uint64(st.recovery_ms[i]));
	const struct {
		const char *key;
		uint64_t value;
	} fields[] = {
		{ "recoveries", st.recoveries },
		{ "max_recovery_ms", st.max_recovery_ms },
		{ "recovery_bound_ms", st.recovery_bound_ms },
		{ "reissued", st.reissued },
		{ "probes", st.probes },
		{ "retransmissions", st.retransmissions },
		{ "resends_requested", st.resends_requested },
		{ "duplicates", st.duplicates },
		{ "resets", st.resets },
		{ "bad_checksums", st.bad_checksums },
		{ "garbage_bytes", st.garbage_bytes },
		{ "watchdog_resets", st.watchdog_resets },
	};
	for (size_t i = 0; i < sizeof(fields) / sizeof(*fields); i++)
		json_object_object_add(answer, fields[i].key, json_object_new_uint64(fields[i].value));
	json_object_object_add(answer, "recovery_ms", times);
	dbg_print_answer(answer);
	return true;
}

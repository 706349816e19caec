/*
 * vmport_bochs.cc -- the Bochs side of the vmport device.
 *
 * Thin glue: a bx_devmodel_c that claims the backdoor ports, a struct
 * guest_vcpu implemented with bochs-bin's exported debugger accessors, the
 * bochsrc `vmport:` option, and the plugin entry point. All protocol logic is
 * in the C core (vmport.c and friends). What each Bochs declaration relies on
 * is written down in bochs_abi.h.
 */
#include "config.h"

#include <dlfcn.h>
#include <link.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "bochs_abi.h"
#include "bxkd/backdoor.h"

extern "C" {
#include "process.h"
#include "vmport.h"
}
#include "kdbridge.h"
#include "vmport_session.h"
#include "vmport_stop.h"

namespace {

/* ---- the guest CPU, as the core sees it ------------------------------ */

/* Bochs numbers general registers in x86 encoding order, as we do. */
static_assert(GUEST_REG_EAX == 0 && GUEST_REG_EDI == 7, "register numbering");

Bit64u pc_system_u64(unsigned offset)
{
	Bit64u value;
	memcpy(&value, bx_pc_system + offset, sizeof(value));
	return value;
}

Bit32u pc_system_u32(unsigned offset)
{
	Bit32u value;
	memcpy(&value, bx_pc_system + offset, sizeof(value));
	return value;
}

double pc_system_m_ips()
{
	double m_ips;
	memcpy(&m_ips, bx_pc_system + BX_PC_SYSTEM_M_IPS, sizeof(m_ips));
	return m_ips;
}

/* bx_pc_system_c::time_ticks(), which is inline in Bochs' headers. */
Bit64u pc_system_ticks()
{
	return pc_system_u64(BX_PC_SYSTEM_TICKS_TOTAL) +
	       (Bit64u)(Bit32u)(pc_system_u32(BX_PC_SYSTEM_CURR_COUNTDOWN_PERIOD) -
				pc_system_u32(BX_PC_SYSTEM_CURR_COUNTDOWN));
}

uint32_t bochs_get_reg(void *, enum guest_reg reg)
{
	return bx_dbg_get_reg32_value(reg);
}

void bochs_set_reg(void *, enum guest_reg reg, uint32_t value)
{
	bx_dbg_set_reg32_value(reg, value);
}

/* CPL is SS.DPL in every mode (0 in real mode, 3 in virtual-8086 mode);
 * CS's RPL would be wrong in real mode, where selectors are plain numbers. */
unsigned bochs_cpl(void *)
{
	bx_dbg_sreg_t ss;
	bx_cpu_array[0]->dbg_get_sreg(&ss, BX_SEG_REG_SS);
	return (ss.des_h >> 13) & 3;
}

bool bochs_read_phys(void *, uint64_t paddr, void *buf, size_t len)
{
	if (len > UINT32_MAX || paddr + len < paddr)
		return false;
	return BX_MEM_C::dbg_fetch_mem(bx_cpu_array[0], paddr, (unsigned)len, (Bit8u *)buf);
}

bool bochs_write_phys(void *, uint64_t paddr, const void *buf, size_t len)
{
	if (len > UINT32_MAX || paddr + len < paddr)
		return false;
	/* dbg_set_mem does not write through its buffer argument. */
	return BX_MEM_C::dbg_set_mem(bx_cpu_array[0], paddr, (unsigned)len,
				     (Bit8u *)const_cast<void *>(buf));
}

/* 64-bit mode: CS is a long-mode code segment (its L bit; outside long
 * mode the bit is reserved and clear). A 64-bit client's string
 * instructions then address with the whole RSI/RDI (no client issues them
 * with a 32-bit address-size prefix). */
static bool in_64_bit_mode()
{
	bx_dbg_sreg_t cs;
	bx_cpu_array[0]->dbg_get_sreg(&cs, BX_SEG_REG_CS);
	return (cs.des_h >> 21) & 1;
}

/* Segment base from the descriptor cache and a 32-bit offset, then the
 * page tables; in 64-bit mode the offset alone (DS and ES have no base). */
bool bochs_translate(void *, enum guest_seg seg, uint64_t offset, uint64_t *paddr)
{
	bx_dbg_sreg_t s;
	bx_cpu_array[0]->dbg_get_sreg(&s, seg == GUEST_SEG_ES ? BX_SEG_REG_ES : BX_SEG_REG_DS);
	Bit32u base = (s.des_l >> 16) | (s.des_h & 0xffu) << 16 | (s.des_h & 0xff000000u);
	Bit64u linear = in_64_bit_mode() ? offset : (Bit32u)(base + (Bit32u)offset);
	Bit64u phy, page_mask;
	if (!bx_cpu_array[0]->dbg_xlate_linear2phy(linear, &phy, &page_mask, false))
		return false;
	*paddr = phy;
	return true;
}

uint64_t bochs_string_pointer(void *, enum guest_reg reg)
{
	return in_64_bit_mode() ? bx_dbg_get_reg64_value(reg) : bx_dbg_get_reg32_value(reg);
}

uint64_t bochs_ticks(void *)
{
	return pc_system_ticks();
}

/* The fast path's reads: a page at a time straight from Bochs' RAM where
 * Bochs allows direct access (dbg_fetch_mem checks every byte, which is
 * most of a fast answer's time). The legacy window at 640 KiB-1 MiB (VGA,
 * ROMs, shadow RAM) and whatever Bochs vetoes go through dbg_fetch_mem, so
 * the bytes are the same either way. */
bool bochs_peek_phys(void *, uint64_t paddr, void *buf, size_t len)
{
	Bit8u *to = (Bit8u *)buf;

	if (len > UINT32_MAX || paddr + len < paddr)
		return false;
	while (len) {
		size_t chunk = 0x1000 - (paddr & 0xfff);
		if (chunk > len)
			chunk = len;
		bool legacy = paddr < 0x100000 && paddr + chunk > 0xa0000;
		const Bit8u *host =
			legacy ? nullptr
			       : BX_MEM_C::getHostMemAddr(bx_cpu_array[0], paddr, BX_MEM_READ);
		if (host)
			memcpy(to, host, chunk);
		else if (!BX_MEM_C::dbg_fetch_mem(bx_cpu_array[0], paddr, (unsigned)chunk, to))
			return false;
		to += chunk;
		paddr += chunk;
		len -= chunk;
	}
	return true;
}

/* Bochs' own walk from CR3 (32-bit, PAE or long mode, as the CPU is):
 * the debugger's, which reads the tables without touching their accessed
 * bits. */
bool bochs_linear_to_phys(void *, uint64_t linear, uint64_t *paddr)
{
	Bit64u phy, page_mask;
	if (!bx_cpu_array[0]->dbg_xlate_linear2phy(linear, &phy, &page_mask, false))
		return false;
	*paddr = phy;
	return true;
}

bool bochs_in_64_bit_mode(void *)
{
	return in_64_bit_mode();
}

extern const struct guest_vcpu bochs_vcpu;

bool bochs_find_page(void *, const void *prefix, size_t length, uint64_t limit, uint64_t *paddr)
{
	return guest_find_page_by_reading(&bochs_vcpu, prefix, length, limit, paddr);
}

const struct guest_vcpu bochs_vcpu = {
	nullptr,	 bochs_get_reg,	  bochs_set_reg,   bochs_cpl,
	bochs_read_phys, bochs_write_phys, bochs_translate, bochs_string_pointer, bochs_ticks,
	bochs_find_page, bochs_linear_to_phys, bochs_peek_phys, bochs_in_64_bit_mode,
};

/*
 * Bochs runs REP INSB/OUTSB one byte per handler call and, after each,
 * decrements ECX and steps EDI/ESI. The core moved the whole buffer on the
 * first byte; these values make that the last iteration and leave the
 * pointer where it started, as VMware does. ECX ends at 0 where VMware
 * leaves the count: Bochs stops a REP only at ECX = 0.
 */
void end_string_op(enum guest_port_dir dir)
{
	unsigned pointer = dir == GUEST_PORT_OUT ? GUEST_REG_ESI : GUEST_REG_EDI;

	if (in_64_bit_mode()) {
		/* RCX and RSI/RDI whole: a 32-bit write would leave a count
		 * above 4 GiB and step the pointer in its low half only. */
		bx_dbg_set_reg64_value(GUEST_REG_ECX, 1);
		bx_dbg_set_reg64_value(pointer, bx_dbg_get_reg64_value(pointer) - 1);
		return;
	}
	bx_dbg_set_reg32_value(GUEST_REG_ECX, 1);
	bx_dbg_set_reg32_value(pointer, bx_dbg_get_reg32_value(pointer) - 1);
}

/* ---- the device ------------------------------------------------------ */

class bx_vmport_c : public bx_devmodel_c {
public:
	bx_vmport_c()
	{
		put("vmport", "VMPORT");
		vmport_config_init(&settings);
	}
	~bx_vmport_c() override;
	void init() override;
	void after_restore_state() override;

	/* The bochsrc `vmport:` line, parsed before init(). */
	static int32_t parse_option(const char *context, int num_params, char *params[]);
	static int32_t save_option(FILE *fp);

private:
	bool host_matches_abi();
	bool learn_machine(struct vmport_config *config);
	void open_kd_transport();
	bool open_session(const struct vmport_config *machine);
	static void observe_endpoint(void *self, enum kd_endpoint_event event, const void *bytes,
				     size_t length);
	static void stop_if_asked(void *self);
	static void while_waiting(void *self);
	void report_status(bool last_word);
	void io(uint16_t port, struct guest_port_access *access);
	static void log_from_core(void *self, enum bxkd_log_level level, const char *message);
	static void log_from_kd_link(void *self, enum bxkd_log_level level, const char *message);
	static void log_tclo_answer(void *self, const char *command, const uint8_t *answer,
				    size_t len);
	static void log_guestinfo(void *self, const char *key, const uint8_t *value, size_t len);
	static Bit32u read_handler(void *self, Bit32u port, unsigned len);
	static void write_handler(void *self, Bit32u port, Bit32u value, unsigned len);

	struct vmport_config settings;
	struct vmport *core = nullptr;
	/* kd_endpoint as parse_option read it. */
	struct kdep_options kd_endpoint;
	struct kdbridge *kd = nullptr;
	struct vmport_session *session = nullptr;
	bool replay_stop_reported = false;
	bool stopping = false;
	/* The live status file (kd_status=): rewritten at most every
	 * KD_STATUS_WRITE_MS, and only when something changed. */
	struct kd_status_pace status_pace;
	bool status_failed = false;
};

bx_vmport_c *the_device;

bx_vmport_c::~bx_vmport_c()
{
	vmport_stop_unwatch();
	if (!core)
		return;
	vmport_session_close(session, pc_system_ticks(), vmport_stop_requested());
	const struct vmport_stats *s = vmport_get_stats(core);
	info("%llu backdoor calls, %llu with a bad magic, %llu unknown, %llu refused; "
	     "%llu GuestRPC messages, %llu high-bandwidth transfers, %llu refused message steps",
	     (unsigned long long)s->calls, (unsigned long long)s->bad_magic,
	     (unsigned long long)s->unknown_commands, (unsigned long long)s->refused_commands,
	     (unsigned long long)s->rpc_messages, (unsigned long long)s->hb_transfers,
	     (unsigned long long)s->message_errors);
	info("KD transport: %llu calls (%llu sends, %llu receives, %llu break-in polls), "
	     "%llu refused, %llu scans of guest memory, %llu memory reads answered by the fast "
	     "path",
	     (unsigned long long)s->kd_calls, (unsigned long long)s->kd_sends,
	     (unsigned long long)s->kd_receives, (unsigned long long)s->kd_polls,
	     (unsigned long long)s->kd_errors, (unsigned long long)s->kd_scans,
	     (unsigned long long)s->kd_fast_answers);
	if (kd) {
		char line[512];
		report_status(true);
		kdbridge_summary(kd, line, sizeof(line));
		info("%s", line);
	}
	vmport_guestinfo_foreach(core, log_guestinfo, this);
	vmport_destroy(core);
	kdbridge_close(kd);
}

/*
 * Everything in bochs_abi.h that a different Bochs build could get wrong
 * without failing to link. Checked once, before the guest runs.
 */
bool bx_vmport_c::host_matches_abi()
{
	Dl_info where;
	const ElfW(Sym) *symbol = nullptr;

	if (!dladdr1(bx_pc_system, &where, (void **)&symbol, RTLD_DL_SYMENT) || !symbol) {
		panic("cannot find the size of bx_pc_system in bochs-bin's symbol table");
		return false;
	}
	if (symbol->st_size != BX_PC_SYSTEM_SIZE) {
		panic("bx_pc_system is %lu bytes, this plugin was written for Bochs 2.7's %u; "
		      "rebuild against this Bochs (see bochs-plugin/bochs_abi.h)",
		      (unsigned long)symbol->st_size, (unsigned)BX_PC_SYSTEM_SIZE);
		return false;
	}
	double m_ips = pc_system_m_ips();
	Bit64u usec = reinterpret_cast<bx_pc_system_c *>(bx_pc_system)->time_usec();
	if (!(m_ips > 0) || (Bit64u)((double)pc_system_ticks() / m_ips) != usec) {
		panic("bx_pc_system's tick counters are not where bochs_abi.h says");
		return false;
	}
	if (bx_cpu_count != 1) {
		panic("vmport supports exactly one CPU; the configuration has %u", bx_cpu_count);
		return false;
	}
	return true;
}

/* The facts GETMHZ, GETHZ, GETMEMSIZE and GETTIME report, from Bochs. */
bool bx_vmport_c::learn_machine(struct vmport_config *config)
{
	bx_param_num_c *ram = SIM->get_param_num("memory.standard.ram.size", nullptr);
	bx_param_num_c *time0 = SIM->get_param_num("clock_cmos.time0", nullptr);

	if (!ram || !time0) {
		panic("Bochs has no parameter %s", ram ? "clock_cmos.time0" : "memory.standard.ram.size");
		return false;
	}
	config->ips = (uint64_t)llround(pc_system_m_ips() * 1e6);
	config->ram_bytes = (uint64_t)ram->get64() << 20;
	/* Bochs' time0 is seconds since 1970, or 1 (local) / 2 (utc) for the
	 * host clock at start, which the RTC then follows too. */
	long t0 = time0->get64();
	if (t0 > 2) {
		config->epoch_seconds = (uint64_t)t0;
	} else {
		config->epoch_seconds = (uint64_t)time(nullptr);
		info("clock: time0 follows the host clock; GETTIME answers will differ between runs");
	}
	return true;
}

void bx_vmport_c::init()
{
	if (!host_matches_abi())
		return;

	struct vmport_config config = settings;
	if (!learn_machine(&config))
		return;
	const struct bxkd_log log = { log_from_core, this };
	core = vmport_create(&config, &log);
	if (!core) {
		panic("out of memory creating the backdoor device");
		return;
	}
	vmport_tclo_on_answer(core, log_tclo_answer, this);
	if (!open_session(&config))
		return;
	open_kd_transport();
	/* What a stop would cut short: a recording, a wait for the debugger. */
	if (kd || (session && !vmport_session_replaying(session)))
		vmport_stop_watch();

	const Bit8u any_size = BX_IO_LEN_1 | BX_IO_LEN_2 | BX_IO_LEN_4;
	static const unsigned ports[] = { BDOOR_PORT, BDOOR_PORT_HB };
	for (unsigned port : ports) {
		if (!pluginRegisterIOReadHandler(this, read_handler, port, "VMware backdoor", any_size) ||
		    !pluginRegisterIOWriteHandler(this, write_handler, port, "VMware backdoor",
						  any_size)) {
			panic("port 0x%04x is already claimed by another device", port);
			return;
		}
	}
	char line[1024];
	vmport_config_format(&settings, line, sizeof(line));
	info("VMware backdoor on ports 0x%04x and 0x%04x (bxkd %s): %s", BDOOR_PORT, BDOOR_PORT_HB,
	     PACKAGE_VERSION, line);
	info("machine: %llu instructions per second, %llu MiB of RAM, clock starts at %llu",
	     (unsigned long long)config.ips, (unsigned long long)(config.ram_bytes >> 20),
	     (unsigned long long)config.epoch_seconds);
}

/* The debugger's endpoint. Its messages and the attach lines go to the
 * log, which is where a user looks for them. */
/* record= or replay= (vmport_session.h). */
bool bx_vmport_c::open_session(const struct vmport_config *machine)
{
	char error[512];
	const struct vmport_session_machine m = { machine->ips, machine->ram_bytes >> 20,
						  machine->epoch_seconds };

	const struct bxkd_log log = { log_from_core, this };
	session = vmport_session_open(&settings, &m, &log, error, sizeof(error));
	if (!session && error[0]) {
		panic("session: %s", error);
		return false;
	}
	return true;
}

void bx_vmport_c::observe_endpoint(void *self, enum kd_endpoint_event event, const void *bytes,
				   size_t length)
{
	bx_vmport_c *device = static_cast<bx_vmport_c *>(self);

	vmport_session_endpoint(device->session, event, bytes, length, pc_system_ticks());
}

void bx_vmport_c::open_kd_transport()
{
	char error[512];

	/* A replay has no debugger: the recording answers. */
	if (vmport_session_replaying(session)) {
		vmport_set_kd_port(core, vmport_session_kd_port(session, nullptr));
		info("KD transport on backdoor command %u answered from the recording",
		     settings.kd_command);
		return;
	}
	if (!settings.kd_endpoint[0]) {
		info("KD transport off; 'vmport: kd_endpoint=unix:/path/kd.sock' turns it on");
		return;
	}
	struct kdbridge_options options;
	kdbridge_options_init(&options);
	options.endpoint = kd_endpoint;
	options.resend_timeout_ms = settings.kd_resend_ms;
	options.retries = settings.kd_retries;
	/* The fast path answers memory reads at once: their ACK goes with the reply. */
	options.ack_with_reply = settings.kd_fastpath;
	options.log = { log_from_kd_link, this };
	if (session)
		options.observer = { observe_endpoint, this };
	options.waiting = { while_waiting, this, VMPORT_STOP_CHECK_MS };
	kd = kdbridge_open(&options, error, sizeof(error));
	if (!kd) {
		panic("KD transport: %s", error);
		return;
	}
	kd_status_pace_init(&status_pace, KD_STATUS_WRITE_MS, true);
	report_status(true);
	vmport_set_kd_port(core, session ? vmport_session_kd_port(session, kdbridge_port(kd))
					 : kdbridge_port(kd));
	info("KD transport on backdoor command %u: attach a debugger at %s", settings.kd_command,
	     kdbridge_address(kd));
	/* One log line per hint line. */
	const char *hint = kdbridge_attach_hint(kd);
	while (*hint) {
		size_t n = strcspn(hint, "\n");
		info("  %.*s", (int)n, hint);
		hint += n + (hint[n] == '\n');
	}
}

void bx_vmport_c::after_restore_state()
{
	if (core)
		vmport_restored_from_checkpoint(core);
}

int32_t bx_vmport_c::parse_option(const char *context, int num_params, char *params[])
{
	char error[256];

	for (int i = 1; i < num_params; i++) {
		char key[64];
		const char *eq = strchr(params[i], '=');
		size_t key_len = eq ? (size_t)(eq - params[i]) : 0;
		if (!eq || key_len == 0 || key_len >= sizeof(key)) {
			the_device->panic("%s: vmport: '%s' is not key=value", context ? context : "",
					  params[i]);
			return -1;
		}
		memcpy(key, params[i], key_len);
		key[key_len] = '\0';
		if (!vmport_config_set(&the_device->settings, key, eq + 1, error, sizeof(error)) ||
		    (!strcmp(key, "kd_endpoint") && the_device->settings.kd_endpoint[0] &&
		     !kdep_parse(the_device->settings.kd_endpoint, &the_device->kd_endpoint, error,
				 sizeof(error)))) {
			the_device->panic("%s: vmport: %s", context ? context : "", error);
			return -1;
		}
	}
	return 0;
}

int32_t bx_vmport_c::save_option(FILE *fp)
{
	char line[1024];

	vmport_config_format(&the_device->settings, line, sizeof(line));
	fprintf(fp, "vmport: %s\n", line);
	return 0;
}

void bx_vmport_c::log_from_core(void *self, enum bxkd_log_level level, const char *message)
{
	bx_vmport_c *device = static_cast<bx_vmport_c *>(self);

	switch (level) {
	case BXKD_LOG_DEBUG:
		device->ldebug("%s", message);
		break;
	case BXKD_LOG_INFO:
		device->info("%s", message);
		break;
	case BXKD_LOG_ERROR:
		device->error("%s", message);
		break;
	}
}

/* The KD link's messages (a debugger attaching, leaving, resetting). */
void bx_vmport_c::log_from_kd_link(void *self, enum bxkd_log_level level, const char *message)
{
	(void)level;
	static_cast<bx_vmport_c *>(self)->info("KD: %s", message);
}

/* Printable, bounded text for the log. */
void printable(char *out, size_t size, const uint8_t *data, size_t len)
{
	size_t n = 0;

	for (; n < len && n + 4 < size; n++)
		out[n] = data[n] >= ' ' && data[n] <= '~' ? (char)data[n] : '.';
	if (n < len && n + 4 <= size) {
		memcpy(out + n, "...", 3);
		n += 3;
	}
	out[n] = '\0';
}

void bx_vmport_c::log_tclo_answer(void *self, const char *command, const uint8_t *answer,
				  size_t len)
{
	char text[200];

	printable(text, sizeof(text), answer, len);
	static_cast<bx_vmport_c *>(self)->ldebug("TCLO '%s' answered '%s'", command, text);
}

void bx_vmport_c::log_guestinfo(void *self, const char *key, const uint8_t *value, size_t len)
{
	char text[200];

	printable(text, sizeof(text), value, len);
	static_cast<bx_vmport_c *>(self)->info("%s = %s", key, text);
}

/* One access of a backdoor port, through the session when there is one.
 * A replay that diverged stops the machine: nothing after the first
 * difference means anything; so does one that got past the cut of a
 * recording cut short. */
/* Bochs was told to stop (vmport_stop.h): the machine stops here, as SDL2
 * stops it, with a panic under `panic: action=fatal`; the device's
 * destructor then ends a recording with an END that says so. */
void bx_vmport_c::stop_if_asked(void *self)
{
	bx_vmport_c *device = static_cast<bx_vmport_c *>(self);
	const char *signal = vmport_stop_requested();

	if (!signal || device->stopping)
		return;
	device->stopping = true;
	device->panic("stopped by %s at tick %llu%s", signal,
		      (unsigned long long)pc_system_ticks(),
		      device->session && !vmport_session_replaying(device->session)
			      ? "; the recording ends here"
			      : "");
}

/* The bridge asks this before each wait for the debugger: it is about to
 * read the endpoint anyway (a system call), so a clock read here costs
 * nothing a port access would notice, and every change of the status
 * (a packet, a debugger coming or going) happens inside such a read. */
void bx_vmport_c::while_waiting(void *self)
{
	stop_if_asked(self);
	static_cast<bx_vmport_c *>(self)->report_status(false);
}

void bx_vmport_c::report_status(bool last_word)
{
	struct kd_status status;
	char why[512];

	if (!kd || !settings.kd_status[0] || status_failed)
		return;
	kdbridge_status(kd, &status);
	status.tick = pc_system_ticks();
	if (!kd_status_pace_due(&status_pace, &status, bxkd_now_ms(), last_word))
		return;
	if (!kd_status_write_file(settings.kd_status, &status, why, sizeof(why))) {
		status_failed = true;
		error("KD status: %s; no more status", why);
	}
}

void bx_vmport_c::io(uint16_t port, struct guest_port_access *access)
{
	stop_if_asked(this);
	if (!session) {
		vmport_io(core, &bochs_vcpu, access);
		return;
	}
	const struct guest_vcpu *vcpu =
		vmport_session_begin_call(session, &bochs_vcpu, port, access->dir);
	vmport_io(core, vcpu, access);
	vmport_session_end_call(session, access);
	const char *why = vmport_session_replay_stop(session);
	if (why && !replay_stop_reported) {
		replay_stop_reported = true;
		panic("%s (the report: %s)", why,
		      settings.replay_report[0] ? settings.replay_report : "replay_report= not set");
	}
}

Bit32u bx_vmport_c::read_handler(void *self, Bit32u port, unsigned)
{
	bx_vmport_c *device = static_cast<bx_vmport_c *>(self);
	struct guest_port_access access = { (uint16_t)port, GUEST_PORT_IN, 0, false };

	device->io((uint16_t)port, &access);
	if (access.string_op_done)
		end_string_op(GUEST_PORT_IN);
	return access.in_value;
}

void bx_vmport_c::write_handler(void *self, Bit32u port, Bit32u, unsigned)
{
	bx_vmport_c *device = static_cast<bx_vmport_c *>(self);
	struct guest_port_access access = { (uint16_t)port, GUEST_PORT_OUT, 0, false };

	device->io((uint16_t)port, &access);
	if (access.string_op_done)
		end_string_op(GUEST_PORT_OUT);
}

} // namespace

/* Bochs derives this name from the file name libbx_vmport.so. */
extern "C" __attribute__((visibility("default"))) int
libvmport_plugin_entry(plugin_t *plugin, Bit16u type, Bit8u mode)
{
	switch (mode) {
	case BX_PLUGIN_INIT:
		the_device = new bx_vmport_c();
		pluginRegisterDeviceDevmodel(plugin, type, the_device, "vmport");
		if (!SIM->register_addon_option("vmport", bx_vmport_c::parse_option,
						bx_vmport_c::save_option))
			the_device->panic("cannot register the bochsrc option 'vmport'");
		return 0;
	case BX_PLUGIN_FINI:
		SIM->unregister_addon_option("vmport");
		delete the_device;
		the_device = nullptr;
		return 0;
	case BX_PLUGIN_PROBE:
		return BX_PLUGTYPE_OPTIONAL;
	default:
		return 0;
	}
}

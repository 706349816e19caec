/*
 * bochs_abi.h -- the part of Bochs 2.7's binary interface this plugin uses.
 *
 * Debian ships Bochs without headers, so this is the one place where the
 * plugin states what it relies on in bochs-bin. Every declaration must match
 * Debian bookworm's bochs 2.7+dfsg-4 (configured --enable-plugins
 * --enable-debugger --enable-smp --enable-x86-64); configure checks the
 * symbols with nm and vmport_bochs.cc re-checks the object sizes at load
 * time, so a different Bochs fails loudly instead of corrupting memory.
 * Facts and how they were established: docs/bochs-plugin-abi.md.
 *
 * Only C++ files include this header.
 */
#ifndef BXKD_BOCHS_ABI_H
#define BXKD_BOCHS_ABI_H

#include <stdint.h>
#include <stdio.h>

/* Bochs' integer names; Bit64u must be `unsigned long` (not `unsigned long
 * long`) for the mangled names below to match the exported symbols. */
typedef uint8_t Bit8u;
typedef uint16_t Bit16u;
typedef uint32_t Bit32u;
typedef unsigned long Bit64u;
static_assert(sizeof(Bit64u) == 8, "Bochs plugins are built for LP64 hosts");

/*
 * logfunctions: base of every Bochs device. One virtual method (the
 * destructor) and exactly these data members, in this order (logio.h).
 * Constructor, destructor, put() and the printf-like reporters are exported.
 * Bochs allocates nothing for us: the members are here so that our derived
 * class lays its own members out after the 48 bytes Bochs writes to.
 */
class logfunctions {
public:
	logfunctions();
	virtual ~logfunctions();
	void info(const char *fmt, ...) __attribute__((format(printf, 2, 3)));
	void error(const char *fmt, ...) __attribute__((format(printf, 2, 3)));
	void panic(const char *fmt, ...) __attribute__((format(printf, 2, 3)));
	void ldebug(const char *fmt, ...) __attribute__((format(printf, 2, 3)));
	/* name: shown by the log configuration; prefix: the "[VMPORT]" tag. */
	void put(const char *name, const char *prefix);

private:
	char *name;
	char *prefix;
	int onoff[4];
	void *logio;
};
static_assert(sizeof(logfunctions) == 48, "layout of Bochs 2.7 logfunctions");

/*
 * bx_devmodel_c: what Bochs calls through for every device. No data members;
 * the virtual methods after the destructor must keep exactly this order
 * (debug_dump exists because Debian builds Bochs with its debugger).
 */
class bx_devmodel_c : public logfunctions {
public:
	virtual ~bx_devmodel_c() {}
	virtual void init() {}
	virtual void reset(unsigned type) { (void)type; }
	virtual void register_state() {}
	virtual void after_restore_state() {}
	virtual void debug_dump(int argc, char **argv) { (void)argc, (void)argv; }
};

/* Opaque to us; the exported functions below only take pointers. */
struct plugin_t;
class BX_CPU_C;

/* Plugin entry protocol (plugin.h): Bochs calls lib<NAME>_plugin_entry. */
enum bx_plugin_mode {
	BX_PLUGIN_FINI = 0,
	BX_PLUGIN_INIT = 1,
	BX_PLUGIN_PROBE = 2, /* answer the plugin type */
	BX_PLUGIN_FLAGS = 3,
};
enum { BX_PLUGTYPE_OPTIONAL = 0x04 }; /* loaded by `plugin_ctrl: NAME=1` */

typedef Bit32u (*bx_io_read_handler_t)(void *self, Bit32u port, unsigned len);
typedef void (*bx_io_write_handler_t)(void *self, Bit32u port, Bit32u value, unsigned len);

/* Access sizes a port handler accepts, as the mask argument below. */
enum { BX_IO_LEN_1 = 1, BX_IO_LEN_2 = 2, BX_IO_LEN_4 = 4 };

/* Segment register numbers of dbg_get_sreg (cpu.h BX_SEG_REG_*). */
enum { BX_SEG_REG_ES = 0, BX_SEG_REG_CS = 1, BX_SEG_REG_SS = 2, BX_SEG_REG_DS = 3 };

/* Filled by BX_CPU_C::dbg_get_sreg (bx_debug/debug.h, x86-64 build). */
struct bx_dbg_sreg_t {
	Bit16u sel;
	Bit32u des_l, des_h, valid;
	Bit32u dword3;
};

extern "C" {
/* Exported C functions. */
void pluginRegisterDeviceDevmodel(plugin_t *plugin, Bit16u type, bx_devmodel_c *dev,
				  const char *name);

/* Exported C function-pointer *variables*, set up by Bochs before INIT. */
extern int (*pluginRegisterIOReadHandler)(void *self, bx_io_read_handler_t handler,
					  unsigned port, const char *name, Bit8u len_mask);
extern int (*pluginRegisterIOWriteHandler)(void *self, bx_io_write_handler_t handler,
					   unsigned port, const char *name, Bit8u len_mask);

/* SMP build: a pointer to an array of CPU pointers, not an array. */
extern BX_CPU_C **bx_cpu_array;
extern Bit8u bx_cpu_count;
/* The CPU the bx_dbg_*_reg* functions act on. */
extern unsigned dbg_cpu;
/* The system timer object; see bx_pc_system_ticks() in vmport_bochs.cc. */
extern unsigned char bx_pc_system[];
}

/*
 * General registers of CPU dbg_cpu; numbers 0..7 = EAX ECX EDX EBX ESP EBP
 * ESI EDI. The 32-bit setter stores only the low dword (a 32-bit move into
 * the 64-bit register slot, per its disassembly), so bits 63:32 survive. The
 * 64-bit twins refuse to work outside long mode. Inside an IN handler every
 * write is seen by the guest after the instruction except EAX, which the
 * handler's return value overwrites.
 */
Bit32u bx_dbg_get_reg32_value(unsigned reg);
void bx_dbg_set_reg32_value(unsigned reg, Bit32u value);
Bit64u bx_dbg_get_reg64_value(unsigned reg);
void bx_dbg_set_reg64_value(unsigned reg, Bit64u value);

class BX_CPU_C {
public:
	bool dbg_get_sreg(bx_dbg_sreg_t *sreg, unsigned sreg_no);
	/* Linear to physical through the guest's page tables (identity with
	 * paging off); false if not mapped. */
	bool dbg_xlate_linear2phy(Bit64u laddr, Bit64u *phy, Bit64u *lpf_mask, bool verbose);
};

class BX_MEM_C {
public:
	/* Static in this build: declaring them as non-static member functions
	 * links (same mangled name) but passes a bogus `this` at run time. */
	static bool dbg_fetch_mem(BX_CPU_C *cpu, Bit64u paddr, unsigned len, Bit8u *buf);
	static bool dbg_set_mem(BX_CPU_C *cpu, Bit64u paddr, unsigned len, Bit8u *buf);
	/* The host address of guest physical `paddr` for an access of kind
	 * `rw` (BX_MEM_READ), valid to the end of its 4 KiB page; NULL where
	 * Bochs vetoes direct access (memory-mapped devices, VGA). */
	static Bit8u *getHostMemAddr(BX_CPU_C *cpu, Bit64u paddr, unsigned rw);
};
enum { BX_MEM_READ = 0 }; /* Bochs' BX_READ */

/*
 * The configuration interface. SIM points at a bx_real_sim_c; these are
 * its exported (virtual) methods, called directly by their symbols.
 * Parameter values are Bit64s; the names used are Bochs 2.7's BXPN_* paths.
 */
class bx_param_c;
class bx_param_num_c {
public:
	long get64();
};
typedef int32_t (*bx_addon_option_parser_t)(const char *context, int num_params, char *params[]);
typedef int32_t (*bx_addon_option_save_t)(FILE *fp);
class bx_real_sim_c {
public:
	bx_param_num_c *get_param_num(const char *name, bx_param_c *base);
	/* `keyword:` lines in bochsrc after the plugin is loaded (plugin_ctrl)
	 * go to `parser` with params[0] = keyword, then the comma-separated
	 * words; a negative return is a configuration error. */
	bool register_addon_option(const char *keyword, bx_addon_option_parser_t parser,
				   bx_addon_option_save_t save);
	bool unregister_addon_option(const char *keyword);
};
extern bx_real_sim_c *SIM;

/*
 * bx_pc_system_c keeps the instruction tick counter in private members; its
 * accessor time_ticks() is inline, so there is no function to call. These
 * offsets were read from bochs-bin's own code (objdump of
 * bx_pc_system_c::time_usec, which computes ticks and divides by m_ips) and
 * the object size from its dynamic symbol. time_usec() is exported and lets
 * the plugin cross-check the offsets at run time.
 */
enum {
	BX_PC_SYSTEM_SIZE = 0x1678,
	BX_PC_SYSTEM_CURR_COUNTDOWN = 0x1638, /* Bit32u */
	BX_PC_SYSTEM_CURR_COUNTDOWN_PERIOD = 0x163c, /* Bit32u */
	BX_PC_SYSTEM_TICKS_TOTAL = 0x1640, /* Bit64u */
	BX_PC_SYSTEM_M_IPS = 0x1658, /* double, millions of instructions/s */
};
class bx_pc_system_c {
public:
	Bit64u time_usec();
};

#endif /* BXKD_BOCHS_ABI_H */

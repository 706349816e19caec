/*
 * vmport_bochs.cc -- the Bochs side of the vmport device.
 *
 * Thin glue: a bx_devmodel_c that claims the backdoor port, a struct
 * vmport_vcpu implemented with bochs-bin's exported debugger accessors, and
 * the plugin entry point. All protocol logic is in the C core (vmport.c).
 * What each Bochs declaration relies on is written down in bochs_abi.h.
 */
#include "config.h"

#include <dlfcn.h>
#include <link.h>
#include <stdio.h>
#include <string.h>

#include "bochs_abi.h"
#include "bxkd/backdoor.h"

extern "C" {
#include "vmport.h"
}

namespace {

/* ---- the guest CPU, as the core sees it ------------------------------ */

/* Bochs numbers general registers in x86 encoding order, as we do. */
static_assert(VMPORT_REG_EAX == 0 && VMPORT_REG_EDI == 7, "register numbering");

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

/* bx_pc_system_c::time_ticks(), which is inline in Bochs' headers. */
Bit64u pc_system_ticks()
{
	return pc_system_u64(BX_PC_SYSTEM_TICKS_TOTAL) +
	       (Bit64u)(Bit32u)(pc_system_u32(BX_PC_SYSTEM_CURR_COUNTDOWN_PERIOD) -
				pc_system_u32(BX_PC_SYSTEM_CURR_COUNTDOWN));
}

uint32_t bochs_get_reg(void *, enum vmport_reg reg)
{
	return bx_dbg_get_reg32_value(reg);
}

void bochs_set_reg(void *, enum vmport_reg reg, uint32_t value)
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

uint64_t bochs_ticks(void *)
{
	return pc_system_ticks();
}

const struct vmport_vcpu bochs_vcpu = {
	nullptr, bochs_get_reg, bochs_set_reg, bochs_cpl, bochs_read_phys, bochs_write_phys,
	bochs_ticks,
};

/* ---- the device ------------------------------------------------------ */

class bx_vmport_c : public bx_devmodel_c {
public:
	bx_vmport_c()
	{
		put("vmport", "VMPORT");
	}
	~bx_vmport_c() override;
	void init() override;

private:
	bool host_matches_abi();
	static void log_from_core(void *self, enum vmport_log_level level, const char *message);
	static Bit32u read_handler(void *self, Bit32u port, unsigned len);
	static void write_handler(void *self, Bit32u port, Bit32u value, unsigned len);

	struct vmport *core = nullptr;
};

bx_vmport_c *the_device;

bx_vmport_c::~bx_vmport_c()
{
	if (core) {
		const struct vmport_stats *s = vmport_get_stats(core);
		info("%llu backdoor calls, %llu with a bad magic, %llu unknown, %llu refused",
		     (unsigned long long)s->calls, (unsigned long long)s->bad_magic,
		     (unsigned long long)s->unknown_commands,
		     (unsigned long long)s->refused_commands);
		vmport_destroy(core);
	}
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
	double m_ips;
	memcpy(&m_ips, bx_pc_system + BX_PC_SYSTEM_M_IPS, sizeof(m_ips));
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

void bx_vmport_c::init()
{
	if (!host_matches_abi())
		return;

	struct vmport_config config;
	vmport_config_init(&config);
	core = vmport_create(&config, log_from_core, this);
	if (!core) {
		panic("out of memory creating the backdoor device");
		return;
	}
	const Bit8u any_size = BX_IO_LEN_1 | BX_IO_LEN_2 | BX_IO_LEN_4;
	if (!pluginRegisterIOReadHandler(this, read_handler, BDOOR_PORT, "VMware backdoor",
					 any_size) ||
	    !pluginRegisterIOWriteHandler(this, write_handler, BDOOR_PORT, "VMware backdoor",
					  any_size)) {
		panic("port 0x%04x is already claimed by another device", BDOOR_PORT);
		return;
	}
	info("VMware backdoor on port 0x%04x (bxkd %s), VMX type %u", BDOOR_PORT, PACKAGE_VERSION,
	     config.vmx_type);
}

void bx_vmport_c::log_from_core(void *self, enum vmport_log_level level, const char *message)
{
	bx_vmport_c *device = static_cast<bx_vmport_c *>(self);

	switch (level) {
	case VMPORT_LOG_DEBUG:
		device->ldebug("%s", message);
		break;
	case VMPORT_LOG_INFO:
		device->info("%s", message);
		break;
	case VMPORT_LOG_ERROR:
		device->error("%s", message);
		break;
	}
}

Bit32u bx_vmport_c::read_handler(void *self, Bit32u port, unsigned)
{
	bx_vmport_c *device = static_cast<bx_vmport_c *>(self);
	return vmport_io(device->core, &bochs_vcpu, (uint16_t)port, VMPORT_IN);
}

void bx_vmport_c::write_handler(void *self, Bit32u port, Bit32u, unsigned)
{
	bx_vmport_c *device = static_cast<bx_vmport_c *>(self);
	vmport_io(device->core, &bochs_vcpu, (uint16_t)port, VMPORT_OUT);
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
		return 0;
	case BX_PLUGIN_FINI:
		delete the_device;
		the_device = nullptr;
		return 0;
	case BX_PLUGIN_PROBE:
		return BX_PLUGTYPE_OPTIONAL;
	default:
		return 0;
	}
}

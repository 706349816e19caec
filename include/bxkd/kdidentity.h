/*
 * bxkd/kdidentity.h -- which Windows the test kernel says it is to a
 * kernel debugger.
 *
 * A debugger picks its model of the target (structure offsets, symbol
 * files) from the build number GetVersion reports and the service pack in
 * the ULONG that KDDEBUGGER_DATA64.CmNtCSDVersion points at; radare2's
 * winkd refuses to attach to a pair it has no profile for. Each identity
 * here is a real x86 release that radare2 has a profile for (and, where
 * `x64` says so, an x64 one: radare2's x64 profiles are 3790 SP1 and SP2,
 * 6000, 6002 SP2, 7601, 9200 and three Windows 10 builds), and says the
 * same thing everywhere a debugger looks: GetVersion's MinorVersion, the
 * CSD version, the debugger data block's Size and NtBuildLab.
 *
 * Shared by the kernel (boot option kd_os=BUILD[.SP]) and the launcher
 * (`bxkd run --os BUILD[.SP]`), so both accept exactly the same list.
 */
#ifndef BXKD_KDIDENTITY_H
#define BXKD_KDIDENTITY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct kd_identity {
	const char *windows;	  /* "Windows XP SP3", for people */
	uint16_t build;		  /* GetVersion MinorVersion (NtBuildNumber's low bits) */
	uint8_t service_pack;	  /* CmNtCSDVersion bits 15:8 */
	uint16_t debugger_data_size; /* KDDEBUGGER_DATA64.Size that release reports */
	const char *build_lab;	  /* what KDDEBUGGER_DATA64.NtBuildLab points at */
	bool x64;		  /* the release had an x64 edition radare2 has a profile
				   * for too: the x86-64 kernel may claim it */
};

/* The block sizes are the ones each release's KdDebuggerDataBlock carries
 * (memory forensics tools find the block by tag and this size). */
#define KD_DEBUGGER_DATA_SIZE_XP 0x290u
#define KD_DEBUGGER_DATA_SIZE_2003 0x318u
#define KD_DEBUGGER_DATA_SIZE_VISTA 0x328u
#define KD_DEBUGGER_DATA_SIZE_7 0x340u
#define KD_DEBUGGER_DATA_SIZE_8 0x360u
/* The largest of them: what the kernel reserves for the block. */
#define KD_DEBUGGER_DATA_SIZE_MAX KD_DEBUGGER_DATA_SIZE_8

/* The build labs end in "bxkd": they name the release's branch, not a
 * real build of it. */
static const struct kd_identity kd_identities[] = {
	{ "Windows XP SP2", 2600, 2, KD_DEBUGGER_DATA_SIZE_XP, "2600.xpsp_sp2.bxkd", false },
	{ "Windows XP SP3", 2600, 3, KD_DEBUGGER_DATA_SIZE_XP, "2600.xpsp_sp3.bxkd", false },
	{ "Windows Server 2003", 3790, 0, KD_DEBUGGER_DATA_SIZE_2003, "3790.srv03_rtm.bxkd", false },
	{ "Windows Server 2003 SP1", 3790, 1, KD_DEBUGGER_DATA_SIZE_2003, "3790.srv03_sp1.bxkd", true },
	{ "Windows Server 2003 SP2", 3790, 2, KD_DEBUGGER_DATA_SIZE_2003, "3790.srv03_sp2.bxkd", true },
	{ "Windows Vista", 6000, 0, KD_DEBUGGER_DATA_SIZE_VISTA, "6000.vista_rtm.bxkd", true },
	{ "Windows Vista SP2", 6002, 2, KD_DEBUGGER_DATA_SIZE_VISTA, "6002.vistasp2.bxkd", true },
	{ "Windows 7 SP1", 7601, 1, KD_DEBUGGER_DATA_SIZE_7, "7601.win7sp1.bxkd", true },
	{ "Windows 8", 9200, 0, KD_DEBUGGER_DATA_SIZE_8, "9200.win8_rtm.bxkd", true },
};

#define KD_IDENTITY_COUNT (sizeof(kd_identities) / sizeof(kd_identities[0]))
/* Windows XP SP3: the 32-bit kernel's default. */
#define KD_IDENTITY_DEFAULT (&kd_identities[1])
/* Windows 7 SP1: the x86-64 kernel's default, a release radare2's
 * winkd has x64 profiles for (SP0 and SP1). */
#define KD_IDENTITY_DEFAULT_X64 (&kd_identities[7])

/* The CmNtCSDVersion value: service pack major in bits 15:8, minor (always
 * 0 here) in bits 7:0. */
static inline uint32_t kd_identity_csd_version(const struct kd_identity *identity)
{
	return (uint32_t)identity->service_pack << 8;
}

/* A decimal number of up to 5 digits from text[*at..length); false if
 * there is none or it is longer. */
static inline bool kd_identity_number(const char *text, size_t length, size_t *at,
				      uint32_t *value)
{
	size_t start = *at;

	*value = 0;
	while (*at < length && text[*at] >= '0' && text[*at] <= '9' && *at - start < 5)
		*value = *value * 10 + (uint32_t)(text[(*at)++] - '0');
	return *at > start && (*at == length || text[*at] < '0' || text[*at] > '9');
}

/*
 * The identity text[0..length) names: "BUILD.SP" (2600.3), or "BUILD"
 * alone for the latest service pack the list has of that build. NULL when
 * the text is not of that form or names no identity in the list.
 */
static inline const struct kd_identity *kd_identity_parse(const char *text, size_t length)
{
	const struct kd_identity *found = NULL;
	uint32_t build, service_pack = 0;
	size_t at = 0;

	if (!kd_identity_number(text, length, &at, &build))
		return NULL;
	bool any_service_pack = at == length;
	if (!any_service_pack) {
		if (text[at++] != '.' || !kd_identity_number(text, length, &at, &service_pack) ||
		    at != length)
			return NULL;
	}
	for (size_t i = 0; i < KD_IDENTITY_COUNT; i++) {
		const struct kd_identity *id = &kd_identities[i];
		if (id->build == build && (any_service_pack || id->service_pack == service_pack) &&
		    (!found || id->service_pack > found->service_pack))
			found = id;
	}
	return found;
}

#endif /* BXKD_KDIDENTITY_H */

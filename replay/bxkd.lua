-- bxkd.lua -- a Wireshark dissector for bxkd session files (replay/README.md).
--
-- A session file is a pcap file of LINKTYPE_USER0 (147) whose packets are
-- records (replay/session.h): a header (24 bytes in format version 1, 28
-- with the record's CRC-32 from version 2 on), then a payload by kind.
-- This decodes every kind: the manifest's and the end's key=value lines,
-- backdoor calls (registers by name, guest memory accesses, and for a KD
-- transport CALL the shared page's header, include/bxkd/kdvm.h), calls of
-- the kd host port, and the debugger's bytes with the KDCOM frames that lie
-- wholly inside one record (include/bxkd/kdcom.h). All fields little-endian.
--
-- Load it for one run:   tshark -X lua_script:/usr/local/share/bxkd/bxkd.lua -r SESSION
-- or for good: copy it into Wireshark's personal Lua plugins folder
-- (~/.local/lib/wireshark/plugins/).

local bxkd = Proto("bxkd", "bxkd debug session record")

-- ---- numbers (session.h, backdoor.h, kdvm.h, kdcom.h) -------------------------

local SESSION_MAGIC = 0x534b5842
local SESSION_VERSION = 2
local HEADER_SIZES = { [1] = 24, [2] = 28 }
local CHECKSUM_OFFSET = 24
local BACKDOOR_FIXED_SIZE = 72
local ACCESS_SIZE = 16
local KD_PORT_FIXED_SIZE = 20
local ENDPOINT_FIXED_SIZE = 4

local BDOOR_MAGIC = 0x564d5868
local BDOOR_PORT = 0x5658
local KDVM_MAGIC = 0x444b7862
local KDVM_SUB_CALL = 3
local KDVM_PAGE_HEADER_SIZE = 64
-- The device writes back the page header from header_length (24) to reserved (48).
local WRITE_BACK_OFFSET = 24
local WRITE_BACK_LENGTH = 24

local KDCOM_HEADER_SIZE = 16
local KDCOM_MAX_PAYLOAD = 4000
local KDCOM_TRAILER = 0xaa
local KDCOM_DATA_LEADER = 0x30303030
local KDCOM_CONTROL_LEADER = 0x69696969

-- The backdoor command the KD transport rides on: the manifest's vmport
-- settings say (kd_command=N); OS_NOT_FOUND (18) is the device's default.
local kd_command = 18

local kinds = { [1] = "MANIFEST", [2] = "BACKDOOR", [3] = "KD_PORT", [4] = "ENDPOINT", [5] = "END" }
local directions = { [0] = "IN", [1] = "OUT" }
local regs = { "eax", "ecx", "edx", "ebx", "ebp", "esi", "edi" }
local kd_ops = { [1] = "send", [2] = "receive", [3] = "poll_breakin", [4] = "debugger_present",
                 [5] = "debugger_attached" }
local kd_port_results = { [0] = "OK", [1] = "TIMED_OUT", [2] = "NEEDS_RESEND", [3] = "DROPPED",
                          [4] = "INVALID" }
local endpoint_events = { [1] = "to_debugger", [2] = "to_target", [3] = "attached", [4] = "detached" }
local commands = {
    [1] = "GETMHZ", [2] = "APMFUNCTION", [10] = "GETVERSION", [15] = "GETSCREENSIZE",
    [17] = "GETHWVERSION", [18] = "OS_NOT_FOUND", [19] = "GETUUID", [20] = "GETMEMSIZE",
    [23] = "GETTIME", [24] = "STOPCATCHUP", [28] = "INITPCIOPROM", [30] = "MESSAGE",
    [37] = "PATCH_SMBIOS_STRUCTS", [45] = "GETHZ", [46] = "GETTIMEFULL",
    [48] = "CHECKFORCEBIOSSETUP", [49] = "LAZYTIMEREMULATION", [50] = "BIOSBBS",
    [54] = "OSNOTMACOSXSERVER", [55] = "GETTIMEFULL_WITH_LAG", [62] = "XPMODE",
    [64] = "FIRMWARE_INIT", [65] = "FIRMWARE_ACPI_SERVICES", [68] = "GET_VCPU_INFO",
    [69] = "EFI_SERIALCON_CONFIG", [70] = "BUG328986", [71] = "FIRMWARE_ERROR",
    [73] = "EFI_BOOT_CONFIG", [74] = "GET_HW_MODEL", [75] = "GET_SVGA_CAPABILITIES",
    [76] = "GET_FORCE_X2APIC", [77] = "SET_PCI_HOLE", [78] = "GET_PCI_HOLE", [79] = "GET_PCI_BAR",
    [80] = "SHOULD_GENERATE_SYSTEMID", [85] = "MKS_GUEST_STATS", [91] = "STEALCLOCK",
    [92] = "GUEST_PAGE_HINTS", [93] = "FIRMWARE_UPDATE",
}
local kd_subcommands = { [1] = "HELLO", [2] = "REGISTER", [3] = "CALL", [4] = "UNREGISTER" }
local kd_statuses = {
    [0] = "OK", [1] = "NO_TRANSPORT", [2] = "NOT_REGISTERED", [3] = "NOT_FOUND", [4] = "BAD_FRAME",
    [5] = "BAD_PAGE", [6] = "BAD_REQUEST", [7] = "WRONG_DISCOVERY", [8] = "BAD_SUBCOMMAND",
    [0xffffffff] = "REFUSED",
}
local kd_requests = { [1] = "SEND", [2] = "RECEIVE", [3] = "POLL_BREAKIN" }
local kd_page_results = { [0] = "OK", [1] = "TIMED_OUT", [2] = "NEEDS_RESEND", [3] = "DROPPED",
                          [0xffffffff] = "NONE" }
local packet_types = {
    [0] = "UNUSED", [1] = "STATE_CHANGE32", [2] = "STATE_MANIPULATE", [3] = "DEBUG_IO",
    [4] = "ACK", [5] = "RESEND", [6] = "RESET", [7] = "STATE_CHANGE64", [8] = "POLL_BREAKIN",
    [9] = "TRACE_IO", [10] = "CONTROL_REQUEST", [11] = "FILE_IO",
}
local leaders = { [KDCOM_DATA_LEADER] = "data (0000)", [KDCOM_CONTROL_LEADER] = "control (iiii)" }

-- ---- fields --------------------------------------------------------------------------

local f = {
    magic = ProtoField.uint32("bxkd.magic", "Magic", base.HEX),
    version = ProtoField.uint16("bxkd.version", "Format version", base.DEC),
    kind = ProtoField.uint16("bxkd.kind", "Kind", base.DEC, kinds),
    sequence = ProtoField.uint32("bxkd.sequence", "Sequence", base.DEC),
    length = ProtoField.uint32("bxkd.length", "Payload length", base.DEC),
    tick = ProtoField.uint64("bxkd.tick", "Tick", base.DEC),
    checksum = ProtoField.uint32("bxkd.checksum", "Checksum (CRC-32)", base.HEX),
    checksum_ok = ProtoField.bool("bxkd.checksum_ok", "Checksum right"),

    text_line = ProtoField.string("bxkd.text.line", "Line"),
    text_key = ProtoField.string("bxkd.text.key", "Key"),
    text_value = ProtoField.string("bxkd.text.value", "Value"),

    bd_port = ProtoField.uint16("bxkd.backdoor.port", "Port", base.HEX),
    bd_direction = ProtoField.uint8("bxkd.backdoor.direction", "Direction", base.DEC, directions),
    bd_cpl = ProtoField.uint8("bxkd.backdoor.cpl", "CPL", base.DEC),
    bd_in_value = ProtoField.uint32("bxkd.backdoor.in_value", "Value delivered by IN", base.HEX),
    bd_string_op_done = ProtoField.uint8("bxkd.backdoor.string_op_done", "String op done", base.DEC),
    bd_accesses = ProtoField.uint32("bxkd.backdoor.accesses", "Memory accesses", base.DEC),
    bd_command = ProtoField.uint16("bxkd.backdoor.command", "Command", base.DEC, commands),
    bd_subcommand = ProtoField.uint16("bxkd.backdoor.subcommand", "Subcommand", base.DEC),

    access_address = ProtoField.uint64("bxkd.access.address", "Guest physical address", base.HEX),
    access_length = ProtoField.uint32("bxkd.access.length", "Length", base.DEC),
    access_write = ProtoField.uint8("bxkd.access.write", "Write", base.DEC,
                                    { [0] = "read", [1] = "write" }),
    access_ok = ProtoField.uint8("bxkd.access.ok", "OK", base.DEC, { [0] = "failed", [1] = "ok" }),
    access_data = ProtoField.bytes("bxkd.access.data", "Bytes"),

    kd_subcommand = ProtoField.uint16("bxkd.kd.subcommand", "KD subcommand", base.DEC,
                                      kd_subcommands),
    kd_status = ProtoField.uint32("bxkd.kd.status", "KD status", base.DEC, kd_statuses),

    page_signature = ProtoField.string("bxkd.kdvm.signature", "Signature"),
    page_nonce = ProtoField.uint32("bxkd.kdvm.nonce", "Nonce", base.HEX),
    page_version = ProtoField.uint16("bxkd.kdvm.version", "Version", base.DEC),
    page_header_size = ProtoField.uint16("bxkd.kdvm.header_size", "Header size", base.DEC),
    page_request = ProtoField.uint32("bxkd.kdvm.request", "Request", base.DEC, kd_requests),
    page_packet_type = ProtoField.uint32("bxkd.kdvm.packet_type", "Packet type", base.DEC,
                                         packet_types),
    page_header_length = ProtoField.uint16("bxkd.kdvm.header_length", "Header length", base.DEC),
    page_header_capacity = ProtoField.uint16("bxkd.kdvm.header_capacity", "Header capacity",
                                             base.DEC),
    page_data_length = ProtoField.uint16("bxkd.kdvm.data_length", "Data length", base.DEC),
    page_data_capacity = ProtoField.uint16("bxkd.kdvm.data_capacity", "Data capacity", base.DEC),
    page_timeout = ProtoField.uint32("bxkd.kdvm.timeout_ms", "Timeout (ms)", base.DEC),
    page_result = ProtoField.uint32("bxkd.kdvm.result", "Result", base.DEC, kd_page_results),
    page_flags = ProtoField.uint32("bxkd.kdvm.flags", "Flags", base.HEX),
    page_calls = ProtoField.uint32("bxkd.kdvm.calls", "Calls", base.DEC),
    page_payload = ProtoField.bytes("bxkd.kdvm.payload", "KD packet"),

    kd_op = ProtoField.uint8("bxkd.kd.op", "Operation", base.DEC, kd_ops),
    kd_result = ProtoField.uint8("bxkd.kd.result", "Result", base.DEC),
    kd_packet_type = ProtoField.uint16("bxkd.kd.packet_type", "Packet type", base.DEC,
                                       packet_types),
    kd_timeout = ProtoField.uint32("bxkd.kd.timeout_ms", "Timeout (ms)", base.DEC),
    kd_header_length = ProtoField.uint32("bxkd.kd.header_length", "Header length", base.DEC),
    kd_data_capacity = ProtoField.uint32("bxkd.kd.data_capacity", "Data capacity", base.DEC),
    kd_data_length = ProtoField.uint32("bxkd.kd.data_length", "Data length", base.DEC),
    kd_header = ProtoField.bytes("bxkd.kd.header", "Message header"),
    kd_data = ProtoField.bytes("bxkd.kd.data", "Message data"),

    ep_event = ProtoField.uint8("bxkd.endpoint.event", "Event", base.DEC, endpoint_events),
    ep_bytes = ProtoField.bytes("bxkd.endpoint.bytes", "Bytes"),

    kdcom_leader = ProtoField.uint32("bxkd.kdcom.leader", "Leader", base.HEX, leaders),
    kdcom_type = ProtoField.uint16("bxkd.kdcom.type", "Type", base.DEC, packet_types),
    kdcom_count = ProtoField.uint16("bxkd.kdcom.byte_count", "Byte count", base.DEC),
    kdcom_id = ProtoField.uint32("bxkd.kdcom.id", "Id", base.HEX),
    kdcom_checksum = ProtoField.uint32("bxkd.kdcom.checksum", "Checksum", base.HEX),
    kdcom_checksum_ok = ProtoField.bool("bxkd.kdcom.checksum_ok", "Checksum right"),
    kdcom_payload = ProtoField.bytes("bxkd.kdcom.payload", "Payload"),
    kdcom_trailer = ProtoField.uint8("bxkd.kdcom.trailer", "Trailer", base.HEX),
    kdcom_trailer_ok = ProtoField.bool("bxkd.kdcom.trailer_ok", "Trailer right"),
    kdcom_breakin = ProtoField.none("bxkd.kdcom.breakin", "Break-in"),
    kdcom_reassembled = ProtoField.uint32("bxkd.kdcom.reassembled",
                                          "Bytes from earlier records in front", base.DEC),
}
-- Each register in and out by name: bxkd.backdoor.in.eax, bxkd.backdoor.out.eax, ...
for _, name in ipairs(regs) do
    f["in_" .. name] = ProtoField.uint32("bxkd.backdoor.in." .. name, name:upper() .. " in", base.HEX)
    f["out_" .. name] = ProtoField.uint32("bxkd.backdoor.out." .. name, name:upper() .. " out",
                                          base.HEX)
end
-- The keys every manifest and end has, as fields of their own: bxkd.manifest.image, ...
local text_keys = {
    [1] = { "format", "bxkd_version", "image", "image_sha256", "boot_options", "vmport",
            "bochs_ips", "bochs_megs", "bochs_time0", "recorded_utc" },
    [5] = { "records", "backdoor_calls", "kd_port_calls", "endpoint_records", "interrupted",
            "interrupted_call_tick" },
}
local text_key_fields = { [1] = {}, [5] = {} }
for kind, keys in pairs(text_keys) do
    local prefix = kind == 1 and "bxkd.manifest." or "bxkd.end."
    for _, key in ipairs(keys) do
        local field = ProtoField.string(prefix .. key, key)
        text_key_fields[kind][key] = field
        f[prefix .. key] = field
    end
end

-- ---- DbgKd messages (include/bxkd/dbgkd.h) ----------------------------------------------
-- Inside a KD packet: the message header (a DbgKd structure) and its data,
-- decoded to the API and its fields, as pipe-bridge/kdtrace_message.c
-- decodes them for bxkd-replay dump and bxkd-tap.

local KDCOM_TYPE_STATE_MANIPULATE = 2
local KDCOM_TYPE_DEBUG_IO = 3
local KDCOM_TYPE_STATE_CHANGE64 = 7
local MANIPULATE_SIZE = 56
local STATE_CHANGE_SIZE = 240
local DEBUG_IO_SIZE = 16
local X86_CONTEXT_SIZE = 716
local AMD64_CONTEXT_SIZE = 1232

local manipulate_apis = {
    [0x3130] = "ReadVirtualMemory", [0x3131] = "WriteVirtualMemory", [0x3132] = "GetContext",
    [0x3133] = "SetContext", [0x3134] = "WriteBreakPoint", [0x3135] = "RestoreBreakPoint",
    [0x3136] = "Continue", [0x3137] = "ReadControlSpace", [0x3138] = "WriteControlSpace",
    [0x3139] = "ReadIoSpace", [0x313a] = "WriteIoSpace", [0x313b] = "Reboot",
    [0x313c] = "Continue2", [0x313d] = "ReadPhysicalMemory", [0x313e] = "WritePhysicalMemory",
    [0x313f] = "QuerySpecialCalls", [0x3140] = "SetSpecialCall", [0x3141] = "ClearSpecialCalls",
    [0x3142] = "SetInternalBreakPoint", [0x3143] = "GetInternalBreakPoint",
    [0x3144] = "ReadIoSpaceExtended", [0x3145] = "WriteIoSpaceExtended", [0x3146] = "GetVersion",
    [0x3147] = "WriteBreakPointEx", [0x3148] = "RestoreBreakPointEx", [0x3149] = "CauseBugCheck",
    [0x3150] = "SwitchProcessor", [0x3151] = "PageIn", [0x3152] = "ReadMachineSpecificRegister",
    [0x3153] = "WriteMachineSpecificRegister", [0x3154] = "OldVlm1", [0x3155] = "OldVlm2",
    [0x3156] = "SearchMemory", [0x3157] = "GetBusData", [0x3158] = "SetBusData",
    [0x3159] = "CheckLowMemory", [0x315a] = "ClearAllInternalBreakpoints",
    [0x315b] = "FillMemory", [0x315c] = "QueryMemory", [0x315d] = "SwitchPartition",
    [0x315e] = "WriteCustomBreakpoint", [0x315f] = "GetContextEx", [0x3160] = "SetContextEx",
}
local state_changes = { [0x3030] = "Exception", [0x3031] = "LoadSymbols", [0x3032] = "CommandString" }
local debug_io_apis = { [0x3230] = "PrintString", [0x3231] = "GetString" }
local ntstatus_names = { [0x00000000] = "success", [0xc0000001] = "unsuccessful",
                         [0xc000000d] = "invalid-parameter", [0x80000002] = "datatype-misalignment",
                         [0xc000000e] = "no-such-device" }
local exception_names = { [0x80000003] = "breakpoint", [0x80000004] = "single-step",
                          [0xc0000005] = "access-violation" }
local machine_names = { [0x014c] = "i386", [0x8664] = "AMD64" }
local continue_names = { [0x00010002] = "DBG_CONTINUE", [0x00010001] = "DBG_EXCEPTION_HANDLED",
                         [0x80010001] = "DBG_EXCEPTION_NOT_HANDLED" }
-- The memory and control-space APIs share DBGKD_READ_MEMORY64's layout.
local memory_apis = { [0x3130] = true, [0x3131] = true, [0x3137] = true, [0x3138] = true,
                      [0x313d] = true, [0x313e] = true }
-- The x86 CONTEXT's registers (struct x86_context), by offset.
local context_regs = {
    { "dr0", 4 }, { "dr1", 8 }, { "dr2", 12 }, { "dr3", 16 }, { "dr6", 20 }, { "dr7", 24 },
    { "gs", 140 }, { "fs", 144 }, { "es", 148 }, { "ds", 152 }, { "edi", 156 }, { "esi", 160 },
    { "ebx", 164 }, { "edx", 168 }, { "ecx", 172 }, { "eax", 176 }, { "ebp", 180 },
    { "eip", 184 }, { "cs", 188 }, { "eflags", 192 }, { "esp", 196 }, { "ss", 200 },
}
-- The AMD64 CONTEXT's (struct amd64_context): { name, offset, size }, in
-- its order; the debug and general registers and RIP are 64 bits wide.
local amd64_context_regs = { { "flags", 0x30, 4 }, { "mxcsr", 0x34, 4 } }
for i, name in ipairs({ "cs", "ds", "es", "fs", "gs", "ss" }) do
    amd64_context_regs[#amd64_context_regs + 1] = { name, 0x38 + 2 * (i - 1), 2 }
end
amd64_context_regs[#amd64_context_regs + 1] = { "eflags", 0x44, 4 }
for i, name in ipairs({ "dr0", "dr1", "dr2", "dr3", "dr6", "dr7", "rax", "rcx", "rdx", "rbx",
                        "rsp", "rbp", "rsi", "rdi", "r8", "r9", "r10", "r11", "r12", "r13", "r14",
                        "r15", "rip" }) do
    amd64_context_regs[#amd64_context_regs + 1] = { name, 0x48 + 8 * (i - 1), 8 }
end

local function dbgkd_field(kind, name, label, display, names)
    f["dbgkd." .. name] = ProtoField[kind]("bxkd.dbgkd." .. name, label, display, names)
end
dbgkd_field("string", "name", "Message")
dbgkd_field("string", "message", "Request or reply")
dbgkd_field("uint32", "api", "ApiNumber", base.HEX, manipulate_apis)
dbgkd_field("uint32", "io_api", "ApiNumber", base.HEX, debug_io_apis)
dbgkd_field("uint32", "new_state", "NewState", base.HEX, state_changes)
dbgkd_field("uint16", "processor", "Processor", base.DEC)
dbgkd_field("uint32", "status", "ReturnStatus", base.HEX, ntstatus_names)
dbgkd_field("string", "status_name", "ReturnStatus name")
dbgkd_field("uint64", "address", "Address", base.HEX)
dbgkd_field("uint32", "count", "TransferCount", base.DEC)
dbgkd_field("uint32", "actual", "ActualBytes", base.DEC)
dbgkd_field("uint32", "handle", "BreakPointHandle", base.DEC)
dbgkd_field("uint32", "continue_status", "ContinueStatus", base.HEX, continue_names)
dbgkd_field("uint32", "trace_flag", "TraceFlag", base.DEC)
dbgkd_field("uint32", "dr7", "Dr7", base.HEX)
dbgkd_field("uint16", "version.major", "MajorVersion", base.HEX)
dbgkd_field("uint16", "version.build", "MinorVersion (build)", base.DEC)
dbgkd_field("uint8", "version.protocol", "ProtocolVersion", base.DEC)
dbgkd_field("uint16", "version.machine", "MachineType", base.HEX, machine_names)
dbgkd_field("uint64", "version.kern_base", "KernBase", base.HEX)
dbgkd_field("uint64", "version.ps_loaded_module_list", "PsLoadedModuleList", base.HEX)
dbgkd_field("uint64", "version.debugger_data_list", "DebuggerDataList", base.HEX)
dbgkd_field("uint64", "thread", "Thread", base.HEX)
dbgkd_field("uint64", "pc", "ProgramCounter", base.HEX)
dbgkd_field("uint32", "exception.code", "ExceptionCode", base.HEX, exception_names)
dbgkd_field("string", "exception.code_name", "ExceptionCode name")
dbgkd_field("uint64", "exception.address", "ExceptionAddress", base.HEX)
dbgkd_field("uint32", "exception.first_chance", "FirstChance", base.DEC)
dbgkd_field("uint32", "string_length", "LengthOfString", base.DEC)
dbgkd_field("string", "string", "String")
dbgkd_field("bytes", "data", "Data")
f["context.flags"] = ProtoField.uint32("bxkd.context.flags", "ContextFlags", base.HEX)
for _, reg in ipairs(context_regs) do
    f["context." .. reg[1]] = ProtoField.uint32("bxkd.context." .. reg[1], reg[1]:upper(), base.HEX)
end
-- bxkd.context.amd64.rip, ...: an AMD64 CONTEXT's, each as wide as it is there.
local amd64_labels = { flags = "ContextFlags", mxcsr = "MxCsr", eflags = "EFlags (RFLAGS)" }
local uint_of_size = { [2] = ProtoField.uint16, [4] = ProtoField.uint32, [8] = ProtoField.uint64 }
for _, reg in ipairs(amd64_context_regs) do
    local key = "context.amd64." .. reg[1]
    f[key] = uint_of_size[reg[3]]("bxkd." .. key, amd64_labels[reg[1]] or reg[1]:upper(), base.HEX)
end

local function u64hex(range) return "0x" .. range:le_uint64():tohex() end

local function status_text(t, range)
    local status = range:le_uint()
    local name = ntstatus_names[status] or "unknown"
    t:add_le(f["dbgkd.status"], range)
    t:add(f["dbgkd.status_name"], name)
    return string.format("status=0x%08x %s", status, name)
end

-- Which CONTEXT it is, x86's or AMD64's, goes by its size: the two differ
-- (716 and 1232 bytes) and the size is in the packet itself. The machine
-- type would have to come from the session's GetVersion reply, another
-- record, which Wireshark may not have dissected yet (a filtered or
-- random-order pass) and which a session cut out of a longer one lacks.
local function dissect_context(range, tree)
    if range:len() == AMD64_CONTEXT_SIZE then
        local rip = range(0xf8, 8):le_uint64():tohex()
        local t = tree:add(bxkd, range, "AMD64 CONTEXT, RIP 0x" .. rip)
        for _, reg in ipairs(amd64_context_regs) do
            t:add_le(f["context.amd64." .. reg[1]], range(reg[2], reg[3]))
        end
        return
    end
    if range:len() < X86_CONTEXT_SIZE then return end
    local t = tree:add(bxkd, range(0, X86_CONTEXT_SIZE), "x86 CONTEXT")
    t:add_le(f["context.flags"], range(0, 4))
    for _, reg in ipairs(context_regs) do
        t:add_le(f["context." .. reg[1]], range(reg[2], 4))
    end
end

-- The API's own fields of a DBGKD_MANIPULATE_STATE64 (its union at 16).
local function manipulate_fields(p, t, api, reply)
    if memory_apis[api] then
        t:add_le(f["dbgkd.address"], p(16, 8))
        t:add_le(f["dbgkd.count"], p(24, 4))
        local text = string.format("address=%s count=%d", u64hex(p(16, 8)), p(24, 4):le_uint())
        if reply then
            t:add_le(f["dbgkd.actual"], p(28, 4))
            text = text .. string.format(" actual=%d", p(28, 4):le_uint())
        end
        return text
    elseif api == 0x3134 then
        t:add_le(f["dbgkd.address"], p(16, 8))
        t:add_le(f["dbgkd.handle"], p(24, 4))
        return string.format("address=%s", u64hex(p(16, 8)))
            .. (reply and string.format(" handle=%d", p(24, 4):le_uint()) or "")
    elseif api == 0x3135 then
        t:add_le(f["dbgkd.handle"], p(16, 4))
        return string.format("handle=%d", p(16, 4):le_uint())
    elseif api == 0x313c then
        t:add_le(f["dbgkd.continue_status"], p(16, 4))
        t:add_le(f["dbgkd.trace_flag"], p(20, 4))
        t:add_le(f["dbgkd.dr7"], p(24, 4))
        return string.format("continue=0x%08x TraceFlag=%d", p(16, 4):le_uint(),
                             p(20, 4):le_uint())
    elseif api == 0x3146 and reply then
        t:add_le(f["dbgkd.version.major"], p(16, 2))
        t:add_le(f["dbgkd.version.build"], p(18, 2))
        t:add(f["dbgkd.version.protocol"], p(20, 1))
        t:add_le(f["dbgkd.version.machine"], p(24, 2))
        t:add_le(f["dbgkd.version.kern_base"], p(32, 8))
        t:add_le(f["dbgkd.version.ps_loaded_module_list"], p(40, 8))
        t:add_le(f["dbgkd.version.debugger_data_list"], p(48, 8))
        return string.format("build=%d machine=%s KernBase=%s", p(18, 2):le_uint(),
                             machine_names[p(24, 2):le_uint()] or "unknown", u64hex(p(32, 8)))
    end
    return ""
end

local function dissect_manipulate(p, t, to_target)
    local api = p(0, 4):le_uint()
    local reply = not to_target
    local name = manipulate_apis[api] or string.format("unknown API 0x%04x", api)
    t:add_le(f["dbgkd.api"], p(0, 4))
    t:add(f["dbgkd.name"], name)
    t:add(f["dbgkd.message"], reply and "reply" or "request")
    t:add_le(f["dbgkd.processor"], p(6, 2))
    local words = { name, reply and "reply" or "request", reply and status_text(t, p(8, 4)) or nil }
    local fields = manipulate_fields(p, t, api, reply)
    if fields ~= "" then
        words[#words + 1] = fields
    end
    local data = p:len() - MANIPULATE_SIZE
    if data > 0 then
        local range = p(MANIPULATE_SIZE, data)
        t:add(f["dbgkd.data"], range)
        words[#words + 1] = string.format("data=%d", data)
        -- GetContext's reply and SetContext's request carry the CONTEXT.
        if (api == 0x3132 and reply) or (api == 0x3133 and not reply) then
            dissect_context(range, t)
        end
    end
    return table.concat(words, " ")
end

local function dissect_state_change(p, t)
    local state = p(0, 4):le_uint()
    local name = state_changes[bit.band(state, 0xffff)] or string.format("state 0x%08x", state)
    t:add_le(f["dbgkd.new_state"], p(0, 4))
    t:add(f["dbgkd.name"], name)
    t:add_le(f["dbgkd.processor"], p(6, 2))
    t:add_le(f["dbgkd.thread"], p(16, 8))
    t:add_le(f["dbgkd.pc"], p(24, 8))
    local text = string.format("%s pc=%s", name, u64hex(p(24, 8)))
    if bit.band(state, 0xffff) == 0x3030 then
        local code = p(32, 4):le_uint()
        local code_name = exception_names[code] or "unknown"
        t:add_le(f["dbgkd.exception.code"], p(32, 4))
        t:add(f["dbgkd.exception.code_name"], code_name)
        t:add_le(f["dbgkd.exception.address"], p(48, 8))
        t:add_le(f["dbgkd.exception.first_chance"], p(184, 4))
        text = text .. string.format(" code=0x%08x %s", code, code_name)
    end
    return text
end

local function dissect_debug_io(p, t)
    local api = p(0, 4):le_uint()
    local name = debug_io_apis[api] or string.format("unknown API 0x%04x", api)
    t:add_le(f["dbgkd.io_api"], p(0, 4))
    t:add(f["dbgkd.name"], name)
    t:add_le(f["dbgkd.processor"], p(6, 2))
    t:add_le(f["dbgkd.string_length"], p(8, 4))
    local text = name
    local length = p:len() - DEBUG_IO_SIZE
    if api == 0x3230 and length > 0 then
        local s = p(DEBUG_IO_SIZE, length)
        t:add(f["dbgkd.string"], s)
        text = text .. string.format(" %q", s:string())
    end
    return text
end

-- A KD packet (message header, then data) of `ptype` in `p`; `to_target`:
-- the debugger sent it. Its fields go under `tree`; returns the line for the
-- Info column, or nil for a packet too short for its message header.
local function dissect_kd_message(p, tree, ptype, to_target)
    local n = p:len()
    if ptype == KDCOM_TYPE_STATE_MANIPULATE and n >= MANIPULATE_SIZE then
        return dissect_manipulate(p, tree:add(bxkd, p, "DBGKD_MANIPULATE_STATE64"), to_target)
    elseif ptype == KDCOM_TYPE_STATE_CHANGE64 and n >= STATE_CHANGE_SIZE then
        return dissect_state_change(p, tree:add(bxkd, p, "DBGKD_ANY_WAIT_STATE_CHANGE"))
    elseif ptype == KDCOM_TYPE_DEBUG_IO and n >= DEBUG_IO_SIZE then
        return dissect_debug_io(p, tree:add(bxkd, p, "DBGKD_DEBUG_IO"))
    end
    return nil
end

-- Who a record's bytes went from and to: the guest, the device or the
-- debugger (the Source and Destination columns, bxkd.src and bxkd.dst).
f.src = ProtoField.string("bxkd.src", "From")
f.dst = ProtoField.string("bxkd.dst", "To")

local function set_ends(pinfo, tree, from, to)
    pinfo.cols.src = from
    pinfo.cols.dst = to
    tree:add(f.src, from)
    tree:add(f.dst, to)
end

local field_list = {}
for _, field in pairs(f) do
    field_list[#field_list + 1] = field
end
bxkd.fields = field_list

local damaged = ProtoExpert.new("bxkd.damaged", "Damaged record", expert.group.MALFORMED,
                                expert.severity.ERROR)
local newer = ProtoExpert.new("bxkd.newer", "Record of a newer session format",
                              expert.group.UNDECODED, expert.severity.WARN)
local partial = ProtoExpert.new("bxkd.kdcom.partial", "KDCOM frame continues in another record",
                                expert.group.REASSEMBLE, expert.severity.NOTE)
local bad_checksum = ProtoExpert.new("bxkd.kdcom.bad_checksum", "KDCOM checksum wrong",
                                     expert.group.CHECKSUM, expert.severity.WARN)
local bad_record_checksum = ProtoExpert.new("bxkd.bad_checksum", "Record checksum wrong",
                                            expert.group.CHECKSUM, expert.severity.ERROR)
bxkd.experts = { damaged, newer, partial, bad_checksum, bad_record_checksum }

-- ---- helpers ----------------------------------------------------------------------------

local function name_of(table, value)
    return table[value] or ("unknown " .. tostring(value))
end

-- CRC-32 as session_crc32 (zlib's): reflected 0xEDB88320, ~0 in and out.
local crc_table = {}
for n = 0, 255 do
    local c = n
    for _ = 1, 8 do
        if bit32.band(c, 1) == 1 then
            c = bit32.bxor(bit32.rshift(c, 1), 0xedb88320)
        else
            c = bit32.rshift(c, 1)
        end
    end
    crc_table[n] = c
end

-- A version 2 record's checksum: all its bytes, the checksum field as zero.
local function record_crc(tvb)
    local bytes = tvb:bytes()
    local crc = 0xffffffff
    for i = 0, bytes:len() - 1 do
        local byte = bytes:get_index(i)
        if i >= CHECKSUM_OFFSET and i < CHECKSUM_OFFSET + 4 then
            byte = 0
        end
        crc = bit32.bxor(crc_table[bit32.band(bit32.bxor(crc, byte), 0xff)], bit32.rshift(crc, 8))
    end
    return bit32.bnot(crc)
end

local function u32(tvb, offset)
    return tvb(offset, 4):le_uint()
end

-- ---- MANIFEST and END -----------------------------------------------------------------------

local function dissect_text(tvb, tree, kind)
    local offset = 0
    local total = tvb:len()
    while offset < total do
        local line_end = offset
        while line_end < total and tvb(line_end, 1):uint() ~= 0x0a do
            line_end = line_end + 1
        end
        local length = line_end - offset
        if length > 0 then
            local line = tvb(offset, length)
            local text = line:string()
            local equals = text:find("=", 1, true)
            local item = tree:add(f.text_line, line)
            if equals then
                local key = text:sub(1, equals - 1)
                local value = text:sub(equals + 1)
                item:add(f.text_key, tvb(offset, equals - 1))
                item:add(f.text_value, tvb(offset + equals, length - equals))
                local field = text_key_fields[kind][key]
                if field then
                    tree:add(field, tvb(offset + equals, length - equals))
                end
                if kind == 1 and key == "vmport" then
                    local command = value:match("kd_command=(%d+)")
                    if command then
                        kd_command = tonumber(command)
                    end
                end
            end
        end
        offset = line_end + 1
    end
end

-- ---- BACKDOOR -------------------------------------------------------------------------------

-- The page header's fields from `range` (the 64 bytes the device read).
local function dissect_page_header(range, tree)
    local t = tree:add(bxkd, range, "KD page header (as the device read it)")
    t:add(f.page_signature, range(0, 8))
    t:add_le(f.page_nonce, range(8, 4))
    t:add_le(f.page_version, range(12, 2))
    t:add_le(f.page_header_size, range(14, 2))
    t:add_le(f.page_request, range(16, 4))
    t:add_le(f.page_packet_type, range(20, 4))
    t:add_le(f.page_header_length, range(24, 2))
    t:add_le(f.page_header_capacity, range(26, 2))
    t:add_le(f.page_data_length, range(28, 2))
    t:add_le(f.page_data_capacity, range(30, 2))
    t:add_le(f.page_timeout, range(32, 4))
    return range(16, 4):le_uint(), range(20, 4):le_uint()
end

-- The fields from header_length to calls, as the device wrote them back.
local function dissect_write_back(range, tree)
    local t = tree:add(bxkd, range, "KD page write-back (the call's outcome)")
    t:add_le(f.page_header_length, range(0, 2))
    t:add_le(f.page_data_length, range(4, 2))
    t:add_le(f.page_result, range(12, 4))
    t:add_le(f.page_flags, range(16, 4))
    t:add_le(f.page_calls, range(20, 4))
    return range(12, 4):le_uint()
end

local function dissect_backdoor(tvb, pinfo, tree)
    if tvb:len() < BACKDOOR_FIXED_SIZE then
        tree:add_proto_expert_info(damaged, "BACKDOOR payload shorter than its fixed part")
        return
    end
    local port = tvb(0, 2):le_uint()
    local direction = tvb(2, 1):uint()
    tree:add_le(f.bd_port, tvb(0, 2))
    tree:add(f.bd_direction, tvb(2, 1))
    tree:add(f.bd_cpl, tvb(3, 1))
    tree:add_le(f.bd_in_value, tvb(4, 4))
    local reg_in, reg_out = {}, {}
    local rin = tree:add(bxkd, tvb(8, 28), "Registers in")
    local rout = tree:add(bxkd, tvb(36, 28), "Registers out")
    for i, name in ipairs(regs) do
        local at = 4 * (i - 1)
        rin:add_le(f["in_" .. name], tvb(8 + at, 4))
        rout:add_le(f["out_" .. name], tvb(36 + at, 4))
        reg_in[name] = u32(tvb, 8 + at)
        reg_out[name] = u32(tvb, 36 + at)
    end
    tree:add(f.bd_string_op_done, tvb(64, 1))
    set_ends(pinfo, tree, "guest", "device")
    local count = u32(tvb, 68)
    tree:add_le(f.bd_accesses, tvb(68, 4))

    -- The command: ECX on the low-bandwidth port, EBX on the other.
    local selector = port == BDOOR_PORT and reg_in.ecx or reg_in.ebx
    local command = bit.band(selector, 0xffff)
    local sub = bit.rshift(selector, 16)
    tree:add(f.bd_command, command)
    tree:add(f.bd_subcommand, sub)
    local info = string.format("backdoor %s 0x%04x %s", directions[direction] or "?", port,
                               port == BDOOR_PORT and (commands[command] or tostring(command))
                                   or "HB")
    local kd = port == BDOOR_PORT and reg_in.eax == BDOOR_MAGIC and command == kd_command
        and sub ~= 0 and reg_in.ebx == KDVM_MAGIC
    if kd then
        -- An IN answers in the value it delivers; the device leaves EAX to the emulator.
        local status = direction == 0 and u32(tvb, 4) or reg_out.eax
        tree:add(f.kd_status, status)
        tree:add(f.kd_subcommand, sub)
        info = info .. string.format(" KD %s %s", name_of(kd_subcommands, sub),
                                     name_of(kd_statuses, status))
    end

    -- The accesses, each with its bytes; the KD page's among them.
    local offset = BACKDOOR_FIXED_SIZE
    local found = {}
    for i = 0, count - 1 do
        if offset + ACCESS_SIZE > tvb:len() then
            tree:add_proto_expert_info(damaged, "access list runs past the end of the record")
            return
        end
        local address = tvb(offset, 8):le_uint64()
        local length = u32(tvb, offset + 8)
        local write = tvb(offset + 12, 1):uint()
        local ok = tvb(offset + 13, 1):uint()
        local size = ACCESS_SIZE + (ok == 1 and length or 0)
        if offset + size > tvb:len() then
            tree:add_proto_expert_info(damaged, "access bytes run past the end of the record")
            return
        end
        local t = tree:add(bxkd, tvb(offset, size),
                           string.format("Access %d: %s 0x%s, %d bytes%s", i,
                                         write == 1 and "write" or "read", address:tohex(), length,
                                         ok == 1 and "" or " (failed)"))
        t:add_le(f.access_address, tvb(offset, 8))
        t:add_le(f.access_length, tvb(offset + 8, 4))
        t:add(f.access_write, tvb(offset + 12, 1))
        t:add(f.access_ok, tvb(offset + 13, 1))
        if ok == 1 and length > 0 then
            t:add(f.access_data, tvb(offset + ACCESS_SIZE, length))
            found[#found + 1] = { address = address, length = length, write = write,
                                  range = tvb(offset + ACCESS_SIZE, length), tree = t }
        end
        offset = offset + size
    end
    if offset ~= tvb:len() then
        tree:add_proto_expert_info(damaged, "bytes follow the last access")
    end
    if not (kd and sub == KDVM_SUB_CALL) then
        pinfo.cols.info = info
        return
    end

    -- A KD CALL (bochs-plugin/vmport_kd.c): the device read the page
    -- header, read a send's payload or wrote a receive's, and wrote back
    -- the outcome; the write-back names the page.
    local function last(write, length, address)
        local hit
        for _, a in ipairs(found) do
            if a.write == write and (length == nil or a.length == length)
                and (address == nil or a.address == address) then
                hit = a
            end
        end
        return hit
    end
    local back = last(1, WRITE_BACK_LENGTH)
    local page = back and back.address - WRITE_BACK_OFFSET
    local header = last(0, KDVM_PAGE_HEADER_SIZE, page)
    if not header then
        pinfo.cols.info = info
        return
    end
    page = header.address
    local request, packet_type = dissect_page_header(header.range, header.tree)
    info = info .. " " .. name_of(kd_requests, request)
    if request ~= 3 then
        info = info .. " " .. name_of(packet_types, packet_type)
    end
    local payload = last(request == 2 and 1 or 0, nil, page + KDVM_PAGE_HEADER_SIZE)
    local message
    if payload and request ~= 3 then
        payload.tree:add(f.page_payload, payload.range)
        message = dissect_kd_message(payload.range, payload.tree, packet_type, request == 2)
    end
    if back then
        local result = dissect_write_back(back.range, back.tree)
        info = info .. " -> " .. name_of(kd_page_results, result)
    end
    if message then
        info = info .. ": " .. message
    end
    pinfo.cols.info = info
end

-- ---- KD_PORT --------------------------------------------------------------------------------

local function dissect_kd_port(tvb, pinfo, tree)
    if tvb:len() < KD_PORT_FIXED_SIZE then
        tree:add_proto_expert_info(damaged, "KD_PORT payload shorter than its fixed part")
        return
    end
    local op = tvb(0, 1):uint()
    local result = tvb(1, 1):uint()
    local packet_type = tvb(2, 2):le_uint()
    local header_length = u32(tvb, 8)
    local data_length = u32(tvb, 16)
    tree:add(f.kd_op, tvb(0, 1))
    local result_name = (op == 1 or op == 2) and name_of(kd_port_results, result)
        or (result == 1 and "yes" or "no")
    tree:add(f.kd_result, tvb(1, 1)):append_text(" (" .. result_name .. ")")
    tree:add_le(f.kd_packet_type, tvb(2, 2))
    tree:add_le(f.kd_timeout, tvb(4, 4))
    tree:add_le(f.kd_header_length, tvb(8, 4))
    tree:add_le(f.kd_data_capacity, tvb(12, 4))
    tree:add_le(f.kd_data_length, tvb(16, 4))
    -- A receive that got nothing says the sizes it asked, without bytes.
    local carries_bytes = op == 1 or (op == 2 and result == 0)
    local message
    if op == 2 then
        set_ends(pinfo, tree, "debugger", "device")
    else
        set_ends(pinfo, tree, "device", "debugger")
    end
    if not carries_bytes then
        if tvb:len() ~= KD_PORT_FIXED_SIZE then
            tree:add_proto_expert_info(damaged, "bytes after a call that carries none")
        end
    elseif KD_PORT_FIXED_SIZE + header_length + data_length ~= tvb:len() then
        tree:add_proto_expert_info(damaged, "header_length + data_length do not match the bytes")
    else
        if header_length > 0 then
            tree:add(f.kd_header, tvb(KD_PORT_FIXED_SIZE, header_length))
        end
        if data_length > 0 then
            tree:add(f.kd_data, tvb(KD_PORT_FIXED_SIZE + header_length, data_length))
        end
        if header_length + data_length > 0 then
            message = dissect_kd_message(tvb(KD_PORT_FIXED_SIZE, header_length + data_length),
                                         tree, packet_type, op == 2)
        end
    end
    local info = "kd_port " .. name_of(kd_ops, op)
    if op == 1 or op == 2 then
        info = info .. " " .. name_of(packet_types, packet_type)
    end
    info = info .. " -> " .. result_name
    if message then
        info = info .. ": " .. message
    end
    pinfo.cols.info = info
end

-- ---- ENDPOINT -------------------------------------------------------------------------------

-- Whether the bytes from `offset` to the end could begin a leader.
local function leader_begins(range, offset)
    local first = range(offset, 1):uint()
    if first ~= 0x30 and first ~= 0x69 then
        return false
    end
    for i = offset + 1, range:len() - 1 do
        if range(i, 1):uint() ~= first then
            return false
        end
    end
    return true
end

-- KDCOM frames whose bytes are all in `range`: leader, header, and for
-- data packets the payload, trailer and the KD message inside. Returns the
-- frames' descriptions and, when the last frame is cut by the range's
-- end, the offset where it starts (the next record of the direction
-- carries the rest; dissect_endpoint puts them together).
local function dissect_kdcom(range, tree, to_target)
    local n = range:len()
    local offset = 0
    local frames = {}
    while offset < n do
        local leader = offset + 4 <= n and range(offset, 4):uint()
        if not leader and leader_begins(range, offset) then
            tree:add_proto_expert_info(partial)
            return frames, offset
        end
        if leader == KDCOM_DATA_LEADER or leader == KDCOM_CONTROL_LEADER then
            if offset + KDCOM_HEADER_SIZE > n then
                tree:add_proto_expert_info(partial)
                return frames, offset
            end
            local ptype = range(offset + 4, 2):le_uint()
            local count = range(offset + 6, 2):le_uint()
            local data = leader == KDCOM_DATA_LEADER
            local size = KDCOM_HEADER_SIZE + (data and count + 1 or 0)
            if data and count > KDCOM_MAX_PAYLOAD then
                size = KDCOM_HEADER_SIZE -- damaged: the engine rescans after the header
            end
            if offset + size > n then
                tree:add_proto_expert_info(partial)
                return frames, offset
            end
            local t = tree:add(bxkd, range(offset, size),
                               string.format("KDCOM %s %s id=0x%08x", data and "data" or "control",
                                             name_of(packet_types, ptype),
                                             range(offset + 8, 4):le_uint()))
            t:add(f.kdcom_leader, range(offset, 4))
            t:add_le(f.kdcom_type, range(offset + 4, 2))
            t:add_le(f.kdcom_count, range(offset + 6, 2))
            t:add_le(f.kdcom_id, range(offset + 8, 4))
            t:add_le(f.kdcom_checksum, range(offset + 12, 4))
            if data and size > KDCOM_HEADER_SIZE then
                local sum = 0
                for i = 0, count - 1 do
                    sum = sum + range(offset + KDCOM_HEADER_SIZE + i, 1):uint()
                end
                local ok = sum == range(offset + 12, 4):le_uint()
                t:add(f.kdcom_checksum_ok, ok)
                if not ok then
                    t:add_proto_expert_info(bad_checksum)
                end
                if count > 0 then
                    t:add(f.kdcom_payload, range(offset + KDCOM_HEADER_SIZE, count))
                end
                local trailer = range(offset + KDCOM_HEADER_SIZE + count, 1)
                t:add(f.kdcom_trailer, trailer)
                t:add(f.kdcom_trailer_ok, trailer:uint() == KDCOM_TRAILER)
            end
            local description = string.format("%s id=0x%08x", name_of(packet_types, ptype),
                                              range(offset + 8, 4):le_uint())
            if data and size > KDCOM_HEADER_SIZE and count > 0 then
                local message = dissect_kd_message(range(offset + KDCOM_HEADER_SIZE, count), t,
                                                   ptype, to_target)
                if message then
                    description = description .. " " .. message
                end
            end
            frames[#frames + 1] = description
            offset = offset + size
        elseif to_target and range(offset, 1):uint() == 0x62 then
            tree:add(f.kdcom_breakin, range(offset, 1))
            frames[#frames + 1] = "break-in"
            offset = offset + 1
        else
            offset = offset + 1
        end
    end
    return frames, nil
end

-- Reassembly: a frame one record leaves unfinished is completed by the
-- next record of the same direction. On the first pass (records in file
-- order) the unfinished bytes are carried per direction and remembered
-- for the record that completes them, so later passes in any order find
-- them by record number.
local carried = {}    -- event (1 t2d, 2 d2t) -> ByteArray of an unfinished frame
local carried_in = {} -- record's frame number -> ByteArray that goes in front of its bytes

function bxkd.init()
    carried = {}
    carried_in = {}
end

local function dissect_endpoint(tvb, pinfo, tree)
    if tvb:len() < ENDPOINT_FIXED_SIZE then
        tree:add_proto_expert_info(damaged, "ENDPOINT payload shorter than its fixed part")
        return
    end
    local event = tvb(0, 1):uint()
    tree:add(f.ep_event, tvb(0, 1))
    if event == 1 then
        set_ends(pinfo, tree, "device", "debugger")
    else
        set_ends(pinfo, tree, "debugger", "device")
    end
    local info = "endpoint " .. name_of(endpoint_events, event)
    local n = tvb:len() - ENDPOINT_FIXED_SIZE
    if n > 0 then
        local range = tvb(ENDPOINT_FIXED_SIZE, n)
        local t = tree:add(f.ep_bytes, range)
        if not pinfo.visited and carried[event] and carried[event]:len() > 0 then
            carried_in[pinfo.number] = carried[event]
        end
        local before = carried_in[pinfo.number]
        local frames_range = range
        if before then
            frames_range = (before .. range:bytes()):tvb("Reassembled KDCOM bytes")()
            t:add(f.kdcom_reassembled, before:len())
        end
        local frames, cut = dissect_kdcom(frames_range, t, event == 2)
        if not pinfo.visited then
            carried[event] = cut and frames_range(cut, frames_range:len() - cut):bytes()
                or ByteArray.new()
        end
        info = info .. string.format(" %d bytes", n)
        if #frames > 0 then
            info = info .. ": " .. table.concat(frames, ", ")
        end
    end
    pinfo.cols.info = info
end

-- ---- the record -----------------------------------------------------------------------------

function bxkd.dissector(tvb, pinfo, root)
    pinfo.cols.protocol = "BXKD"
    local tree = root:add(bxkd, tvb())
    if tvb:len() < HEADER_SIZES[1] then
        tree:add_proto_expert_info(damaged, "shorter than the 24-byte record header")
        return
    end
    tree:add_le(f.magic, tvb(0, 4))
    tree:add_le(f.version, tvb(4, 2))
    tree:add_le(f.kind, tvb(6, 2))
    tree:add_le(f.sequence, tvb(8, 4))
    tree:add_le(f.length, tvb(12, 4))
    tree:add_le(f.tick, tvb(16, 8))
    local magic = u32(tvb, 0)
    local version = tvb(4, 2):le_uint()
    local kind = tvb(6, 2):le_uint()
    local length = u32(tvb, 12)
    if magic ~= SESSION_MAGIC then
        tree:add_proto_expert_info(damaged, "not a bxkd session record (magic)")
        return
    end
    if version == 0 then
        tree:add_proto_expert_info(damaged, "format version 0, which never existed")
        return
    end
    if version > SESSION_VERSION then
        tree:add_proto_expert_info(newer, string.format(
            "session format version %d; this dissector knows versions 1 to %d", version,
            SESSION_VERSION))
        return
    end
    local HEADER_SIZE = HEADER_SIZES[version]
    if tvb:len() < HEADER_SIZE or HEADER_SIZE + length ~= tvb:len() then
        tree:add_proto_expert_info(damaged, "the header's length does not match the record")
        return
    end
    if version >= 2 then
        local stored = u32(tvb, CHECKSUM_OFFSET)
        local right = record_crc(tvb) == stored
        tree:add_le(f.checksum, tvb(CHECKSUM_OFFSET, 4))
        tree:add(f.checksum_ok, right)
        if not right then
            tree:add_proto_expert_info(bad_record_checksum)
        end
    end
    tree:append_text(string.format(", %s #%d", name_of(kinds, kind), u32(tvb, 8)))
    pinfo.cols.info = name_of(kinds, kind):lower()
    local payload = tvb(HEADER_SIZE, length)
    local sub = tree:add(bxkd, payload, name_of(kinds, kind))
    if length == 0 then
        return
    end
    if kind == 1 or kind == 5 then
        dissect_text(payload:tvb(), sub, kind)
    elseif kind == 2 then
        dissect_backdoor(payload:tvb(), pinfo, sub)
    elseif kind == 3 then
        dissect_kd_port(payload:tvb(), pinfo, sub)
    elseif kind == 4 then
        dissect_endpoint(payload:tvb(), pinfo, sub)
    end
end

-- Session files are LINKTYPE_USER0, Wireshark's encapsulation USER0.
local encaps = wtap_encaps or wtap
DissectorTable.get("wtap_encap"):add(encaps.USER0, bxkd)

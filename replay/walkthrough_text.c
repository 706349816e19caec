/*
 * walkthrough_text.c -- the steps bxkd-replay walkthrough follows and the
 * prose between them. The facts are those of docs/kd-protocol.md; the
 * numbers in the document come from the session, never from here.
 */
#include "config.h"

#include "bxkd/dbgkd.h"
#include "bxkd/kdcom.h"
#include "session.h"
#include "walkthrough.h"

#define RECEIVED(type, api) { SESSION_KD_RECEIVE, type, api }
#define SENT(type, api) { SESSION_KD_SEND, type, api }
#define MANIPULATE_RECEIVED(api) RECEIVED(KDCOM_TYPE_STATE_MANIPULATE, api)
#define MANIPULATE_SENT(api) SENT(KDCOM_TYPE_STATE_MANIPULATE, api)
#define STOP_SENT SENT(KDCOM_TYPE_STATE_CHANGE64, 0)

const struct walkthrough_step walkthrough_steps[] = {
	{ "The debugger attaches to a stopped kernel", { 0, 0, 0 }, STOP_SENT,
	  "The test kernel boots with `kd_break=1`, so the first thing its KD stub does is stop "
	  "and report that stop. Before that, the guest's transport module makes sure the "
	  "device is there (HELLO) and tells it where its shared page is (REGISTER, the page "
	  "frame number in ESI). From then on every KdSendPacket and KdReceivePacket is one "
	  "CALL: the module writes a request into the page header and the packet after it, "
	  "and makes one backdoor call; Bochs suspends the guest inside that `in` instruction "
	  "until the device has an answer.\n\n"
	  "Here the stop is a STATE_CHANGE64 packet (an exception with code 0x80000003, a "
	  "breakpoint). No debugger is attached yet, so the device holds the call. When the "
	  "debugger connects, the device's KDCOM engine sends the waiting packet at once, "
	  "with id 0x80800800: the first id after the target started its numbering carries "
	  "the SYNC bit (0x800). The debugger, though, has just arrived and does not trust "
	  "whatever is in the line: it sends a break-in byte (`b`, 0x62) and a RESET. The "
	  "target answers RESET with RESET, sets both its ids back to 0x80800000 without "
	  "SYNC, and sends the packet it was delivering once more. That second copy is the "
	  "one the debugger acknowledges, with an ACK carrying the same id.\n\n"
	  "So the stop crosses the wire twice, but the guest made one call and sees one "
	  "result, OK: the resend happened below it, in the KDCOM engine. The kd host port "
	  "record that follows is the send as the device saw it: one packet, delivered." },
	{ "GetVersion", MANIPULATE_RECEIVED(DBGKD_GET_VERSION_API),
	  MANIPULATE_SENT(DBGKD_GET_VERSION_API),
	  "Once stopped, the kernel's KD stub loops: it asks its transport for a "
	  "STATE_MANIPULATE packet, carries out the request, and sends the reply. The "
	  "debugger's first question is GetVersion. Every STATE_MANIPULATE packet starts "
	  "with the same 56-byte DBGKD_MANIPULATE_STATE64: ApiNumber, the processor, "
	  "ReturnStatus (filled in by the reply) and a 40-byte union whose meaning depends on "
	  "ApiNumber.\n\n"
	  "Watch the ids. The debugger numbers its own packets, starting at 0x80800000 after "
	  "the RESET; each side acknowledges the other's data packet with an ACK of the same "
	  "id. The target's reply carries 0x80800001, because its id flipped when its stop was "
	  "acknowledged. A receive is a CALL too: the guest offers room in the page (the "
	  "header's capacities), the device waits for a whole packet from the debugger and "
	  "writes it into the page after the header, then writes back the lengths and the "
	  "result." },
	{ "Reading virtual memory", MANIPULATE_RECEIVED(DBGKD_READ_VIRTUAL_MEMORY_API),
	  MANIPULATE_SENT(DBGKD_READ_VIRTUAL_MEMORY_API),
	  "A read request says where (TargetBaseAddress, sign-extended to 64 bits on this "
	  "32-bit kernel) and how much (TransferCount). The reply repeats the request, sets "
	  "ReturnStatus and ActualBytesRead, and carries the bytes read as the packet's data, "
	  "after the 56-byte structure: the KDCOM byte count is 56 plus the data, and the "
	  "page's data_length says how much of the payload is data." },
	{ "Setting a breakpoint", MANIPULATE_RECEIVED(DBGKD_WRITE_BREAKPOINT_API),
	  MANIPULATE_SENT(DBGKD_WRITE_BREAKPOINT_API),
	  "The debugger asks the kernel to plant a breakpoint (WriteBreakPoint with the "
	  "address). The stub saves the byte there, writes an `int3` (0xCC) over it and "
	  "answers with a handle, which the debugger later uses to take the breakpoint "
	  "out again (RestoreBreakPoint)." },
	{ "Continuing, and a DbgPrint on the way", MANIPULATE_RECEIVED(DBGKD_CONTINUE_API2),
	  SENT(KDCOM_TYPE_DEBUG_IO, DBGKD_PRINT_STRING_API),
	  "Continue2 lets the kernel run: ContinueStatus DBG_CONTINUE, TraceFlag 0 (no single "
	  "step). The kernel's KD stub leaves its loop and the guest runs until it has "
	  "something to report. A running kernel asks now and then whether the debugger wants "
	  "to break in: a POLL_BREAKIN request in the page, which the device answers from the "
	  "bytes the debugger sent (result OK when a `b` is pending, TIMED_OUT when none is; "
	  "the kd_port record after it says which). Its first report here is a DbgPrint: a "
	  "DEBUG_IO packet whose 16-byte "
	  "DBGKD_DEBUG_IO (PrintString, LengthOfString) is followed by the text. A print "
	  "expects no reply; the ACK alone ends it." },
	{ "The breakpoint is hit", STOP_SENT, STOP_SENT,
	  "The kernel reaches the `int3`. The exception comes to the KD stub, which reports "
	  "it the way it reported the first stop: a STATE_CHANGE64 packet whose "
	  "ProgramCounter and ExceptionAddress are the breakpoint's address and whose "
	  "ExceptionCode is 0x80000003. The control report at its end shows the "
	  "instruction bytes at that address, the breakpoint's 0xCC among them if it is "
	  "still in place." },
	{ "A single step", MANIPULATE_RECEIVED(DBGKD_CONTINUE_API2), STOP_SENT,
	  "Before it steps off a breakpoint the debugger takes it out (RestoreBreakPoint; "
	  "those records are skipped here). Then Continue2 with TraceFlag 1: the stub sets "
	  "the trap flag, the processor runs one instruction and raises a single-step "
	  "exception, and the stub reports a stop again, now with ExceptionCode 0x80000004 "
	  "and the next instruction's address as the ProgramCounter." },
};

const size_t walkthrough_step_count = sizeof(walkthrough_steps) / sizeof(walkthrough_steps[0]);

_Static_assert(sizeof(walkthrough_steps) / sizeof(walkthrough_steps[0]) <= WALKTHROUGH_STEPS_MAX,
	       "walkthrough.c keeps each step's records in arrays of this size");

void walkthrough_intro(FILE *out, const char *session, size_t records)
{
	fprintf(out,
		"# A KD session, packet by packet\n\n"
		"<!-- Generated by `bxkd-replay walkthrough %s` (replay/walkthrough.c); do not "
		"edit. `make walkthrough` writes it again and `make check` fails when it "
		"differs. -->\n\n"
		"This document follows a real debug session between a debugger (bxkd-dbg) and "
		"the test kernel running under Bochs, recorded by bxkd as the golden session "
		"`tests/sessions/golden/%s` (%zu records). Everything below is read out of that "
		"recording; only the prose between the steps is written by hand. "
		"[docs/kd-protocol.md](kd-protocol.md) has the protocol's rules and sources.\n\n"
		"## How to read it\n\n"
		"A KD packet travels through these layers:\n\n"
		"1. The kernel's KD stub calls the transport module's KdSendPacket or "
		"KdReceivePacket with a packet: a message header (a DbgKd structure) and "
		"optional data.\n"
		"2. The transport module (bxkd's guest module, VMKD-style) puts the packet into "
		"its **shared page** after a 64-byte page header (`include/bxkd/kdvm.h`) and "
		"makes one **backdoor call**: an `in` from port 0x5658 with EAX = 0x564d5868 "
		"(`VMXh`), ECX = the command and the KD subcommand, EBX = `bxKD`.\n"
		"3. The Bochs device reads the page (guest physical memory), hands the packet to "
		"its **KDCOM engine**, which frames it for the debugger's byte stream, and writes "
		"the result back into the page.\n"
		"4. The debugger gets **KDCOM frames**: for data, a 16-byte header (leader "
		"`0000`, type, byte count, id, checksum), the payload and the trailer byte 0xAA; "
		"control packets (ACK, RESEND, RESET) have the leader `iiii`, no payload and no "
		"trailer. A lone `b` asks a running target to break in.\n\n"
		"The session file records each layer: a **backdoor** record for each call "
		"(registers before and after, and every guest memory access the device made), "
		"**endpoint** records for the bytes on the debugger's side (`t2d` to the "
		"debugger, `d2t` to the target), and **kd_port** records for what the device "
		"asked of its KDCOM side and got. The records after a backdoor call, up to the "
		"next one, happened while the guest was inside that call. Frames are shown when "
		"their last byte has come; the one-line summaries in `code` are those of "
		"`bxkd-replay dump` and `bxkd-tap`. All numbers are little-endian.\n\n",
		session, session, records);
}

void walkthrough_step_heading(FILE *out, size_t step)
{
	fprintf(out, "## %zu. %s\n\n%s\n\n", step + 1, walkthrough_steps[step].title,
		walkthrough_steps[step].prose);
}

void walkthrough_outro(FILE *out, size_t first_unshown, size_t last_record)
{
	fprintf(out,
		"## The rest of the session\n\n"
		"Records %zu to %zu are not shown. They hold more of the same: further steps, "
		"the registers (GetContext and SetContext, whose data is the 716-byte x86 "
		"CONTEXT), physical memory, and the workload's prints once the kernel runs "
		"free. `bxkd-replay dump` lists every record, and the Wireshark dissector "
		"(replay/README.md) shows each one's fields.\n",
		first_unshown, last_record);
}

/*
 * vmport_kd.c -- the host side of the KD transport (bxkd/kdvm.h): finds the
 * guest's shared page, checks every field of it, and hands the packet to
 * the kd host port (struct kd_host_port).
 *
 * The page is guest memory: the guest may change any byte of it at any
 * time, so the header is read once into a local copy, checked, and only
 * the copy is used; lengths are checked against the page and against the
 * 4000-byte KD limit before anything is read or written. Nothing here logs
 * per call: a debug session makes thousands.
 */
#include "config.h"

#include <inttypes.h>
#include <string.h>

#include "bxkd/byteorder.h"
#include "vmport_internal.h"

static uint64_t ram_pages(const struct vmport *vp)
{
	return vp->config.ram_bytes / KDVM_PAGE_SIZE;
}

static bool read_header(const struct vmport_call *call, uint64_t address,
			struct kdvm_page_header *h)
{
	return call->vcpu->read_phys(call->vcpu->ctx, address, h, sizeof(*h));
}

static bool identity_ok(const struct kdvm_page_header *h)
{
	return !memcmp(h->signature, KDVM_SIGNATURE, sizeof(h->signature)) &&
	       h->version == KDVM_PROTOCOL_VERSION && h->header_size == sizeof(*h);
}

/* ---- finding the page ---------------------------------------------------- */

/* VMKD's discovery: the lowest page of RAM that carries the signature and
 * the nonce the caller names. Whoever can write RAM and knows the nonce
 * can put a page below the real one; registration has no such weakness. */
static bool scan_for_page(struct vmport *vp, const struct vmport_call *call, uint32_t nonce,
			  uint64_t *address)
{
	uint8_t start[sizeof(((struct kdvm_page_header *)0)->signature) + sizeof(nonce)];

	vp->stats.kd_scans++;
	memcpy(start, KDVM_SIGNATURE, sizeof(start) - sizeof(nonce));
	le_put32(start + sizeof(start) - sizeof(nonce), nonce);
	return guest_find_page(call->vcpu, start, sizeof(start), ram_pages(vp) * KDVM_PAGE_SIZE,
			       address);
}

/* The page this call is about, with its header read and its identity
 * checked; a status other than OK when there is none. */
static enum kdvm_status locate_page(struct vmport *vp, const struct vmport_call *call,
				    uint64_t *address, struct kdvm_page_header *h)
{
	uint32_t nonce = call->reg[GUEST_REG_ESI];

	if (vp->config.kd_discovery == KDVM_DISCOVERY_REGISTER) {
		if (!vp->kd_page_known)
			return KDVM_STATUS_NOT_REGISTERED;
		*address = vp->kd_page_address;
		if (!read_header(call, *address, h))
			return KDVM_STATUS_BAD_FRAME;
		return identity_ok(h) ? KDVM_STATUS_OK : KDVM_STATUS_BAD_PAGE;
	}

	/* Scan discovery: keep the page while it keeps signature and nonce. */
	if (vp->kd_page_known && read_header(call, vp->kd_page_address, h) && identity_ok(h) &&
	    h->nonce == nonce) {
		*address = vp->kd_page_address;
		return KDVM_STATUS_OK;
	}
	if (vp->kd_page_known)
		vmport_log(vp, BXKD_LOG_INFO,
			   "KD page at 0x%" PRIx64 " does not carry the signature and the call's "
			   "nonce 0x%08" PRIx32 "; scanning guest memory again",
			   vp->kd_page_address, nonce);
	vp->kd_page_known = false;
	if (!scan_for_page(vp, call, nonce, address))
		return KDVM_STATUS_NOT_FOUND;
	if (!read_header(call, *address, h) || !identity_ok(h))
		return KDVM_STATUS_BAD_PAGE;
	vp->kd_page_known = true;
	vp->kd_page_address = *address;
	vp->kd_page_calls = 0;
	vmport_log(vp, BXKD_LOG_INFO,
		   "KD page found by scanning at guest physical 0x%" PRIx64 " (nonce 0x%08" PRIx32
		   ", tick %" PRIu64 ")",
		   *address, nonce, call->vcpu->ticks(call->vcpu->ctx));
	return KDVM_STATUS_OK;
}

/* ---- requests ------------------------------------------------------------- */

/* The page carries KD_OK .. KD_DROPPED; anything else a port might say is
 * no answer the guest could act on. */
static uint32_t page_result(enum kd_outcome outcome)
{
	return outcome <= KD_DROPPED ? (uint32_t)outcome : KDVM_RESULT_UNTOUCHED;
}

static enum kdvm_status do_send(struct vmport *vp, const struct vmport_call *call,
				uint64_t address, struct kdvm_page_header *h)
{
	uint8_t payload[KDCOM_MAX_PAYLOAD];
	size_t total = (size_t)h->header_length + h->data_length;

	if (!kdcom_type_is_data(h->packet_type) || total > KDCOM_MAX_PAYLOAD)
		return KDVM_STATUS_BAD_REQUEST;
	if (total && !call->vcpu->read_phys(call->vcpu->ctx, address + sizeof(*h), payload, total))
		return KDVM_STATUS_BAD_FRAME;
	vp->stats.kd_sends++;
	enum kd_outcome r = vp->kd_port.send(vp->kd_port.ctx, h->packet_type, payload,
						   h->header_length, payload + h->header_length,
						   h->data_length);
	if (r == KD_INVALID)
		return KDVM_STATUS_BAD_REQUEST;
	h->result = page_result(r);
	return KDVM_STATUS_OK;
}

static enum kdvm_status do_receive(struct vmport *vp, const struct vmport_call *call,
				   uint64_t address, struct kdvm_page_header *h)
{
	uint8_t payload[KDCOM_MAX_PAYLOAD];
	size_t data_length = 0;

	if (!kdcom_type_is_data(h->packet_type) || h->header_capacity > KDCOM_MAX_PAYLOAD ||
	    h->timeout_ms > KDVM_TIMEOUT_MAX_MS)
		return KDVM_STATUS_BAD_REQUEST;
	/* kd64 offers 4096 bytes of data room; a packet never has more than
	 * what 4000 leaves after the header. */
	size_t room = KDCOM_MAX_PAYLOAD - h->header_capacity;
	size_t data_capacity = h->data_capacity < room ? h->data_capacity : room;

	vp->stats.kd_receives++;
	/* With the fast path, memory reads are answered here and the wait
	 * goes on; the guest gets the first request it must serve. */
	bool fast = vp->config.kd_fastpath && h->packet_type == KDCOM_TYPE_STATE_MANIPULATE;
	enum kd_outcome r;
	do
		r = vp->kd_port.receive(vp->kd_port.ctx, h->packet_type, payload,
					h->header_capacity, payload + h->header_capacity,
					data_capacity, &data_length, h->timeout_ms);
	while (fast && r == KD_OK && data_length <= data_capacity &&
	       vmport_kd_fast_answer(vp, call->vcpu, payload, h->header_capacity));
	if (r == KD_INVALID)
		return KDVM_STATUS_BAD_REQUEST;
	h->result = page_result(r);
	h->header_length = 0;
	h->data_length = 0;
	if (r != KD_OK)
		return KDVM_STATUS_OK;
	if (data_length > data_capacity)
		return KDVM_STATUS_BAD_REQUEST; /* a port that broke its promise */
	size_t total = h->header_capacity + data_length;
	if (!call->vcpu->write_phys(call->vcpu->ctx, address + sizeof(*h), payload, total))
		return KDVM_STATUS_BAD_FRAME;
	h->header_length = h->header_capacity;
	h->data_length = (uint16_t)data_length;
	return KDVM_STATUS_OK;
}

/* Writes back what the guest reads after a call: lengths, result, flags. */
static bool write_back(struct vmport *vp, const struct vmport_call *call, uint64_t address,
		       struct kdvm_page_header *h)
{
	h->flags = vp->kd_port.debugger_present(vp->kd_port.ctx) ? KDVM_FLAG_DEBUGGER_PRESENT : 0;
	h->calls = ++vp->kd_page_calls;
	/* Only the fields from header_length on: the guest owns the rest. */
	size_t from = offsetof(struct kdvm_page_header, header_length);
	size_t to = offsetof(struct kdvm_page_header, reserved);
	return call->vcpu->write_phys(call->vcpu->ctx, address + from, (const uint8_t *)h + from,
				      to - from);
}

static enum kdvm_status kd_call(struct vmport *vp, struct vmport_call *call)
{
	struct kdvm_page_header h;
	uint64_t address;
	enum kdvm_status status;

	if (!vp->have_kd_port)
		return KDVM_STATUS_NO_TRANSPORT;
	status = locate_page(vp, call, &address, &h);
	if (status != KDVM_STATUS_OK)
		return status;

	switch (h.request) {
	case KDVM_REQUEST_SEND:
		status = do_send(vp, call, address, &h);
		break;
	case KDVM_REQUEST_RECEIVE:
		status = do_receive(vp, call, address, &h);
		break;
	case KDVM_REQUEST_POLL_BREAKIN:
		vp->stats.kd_polls++;
		h.result = vp->kd_port.poll_breakin(vp->kd_port.ctx) ? KD_OK
								      : KD_TIMED_OUT;
		break;
	default:
		status = KDVM_STATUS_BAD_REQUEST;
		break;
	}
	if (status == KDVM_STATUS_OK && !write_back(vp, call, address, &h))
		status = KDVM_STATUS_BAD_FRAME;
	return status;
}

/* ---- subcommands -------------------------------------------------------------- */

static enum kdvm_status kd_register(struct vmport *vp, struct vmport_call *call)
{
	uint64_t frame = (uint64_t)call->reg[GUEST_REG_EDI] << 32 | call->reg[GUEST_REG_ESI];
	struct kdvm_page_header h;

	if (vp->config.kd_discovery != KDVM_DISCOVERY_REGISTER)
		return KDVM_STATUS_WRONG_DISCOVERY;
	if (frame >= ram_pages(vp))
		return KDVM_STATUS_BAD_FRAME;
	uint64_t address = frame * KDVM_PAGE_SIZE;
	if (!read_header(call, address, &h))
		return KDVM_STATUS_BAD_FRAME;
	if (!identity_ok(&h))
		return KDVM_STATUS_BAD_PAGE;
	if (!vp->kd_page_known || vp->kd_page_address != address)
		vmport_log(vp, BXKD_LOG_INFO,
			   "KD page registered at guest physical 0x%" PRIx64 " (tick %" PRIu64 ")",
			   address, call->vcpu->ticks(call->vcpu->ctx));
	vp->kd_page_known = true;
	vp->kd_page_address = address;
	vp->kd_page_calls = 0;
	return KDVM_STATUS_OK;
}

bool vmport_kd_is_kd_call(const struct vmport *vp, const struct vmport_call *call)
{
	return kdvm_is_transport_call(call->reg[GUEST_REG_ECX], call->reg[GUEST_REG_EBX],
				      vp->config.kd_command);
}

void vmport_kd(struct vmport *vp, struct vmport_call *call)
{
	enum kdvm_status status;

	vp->stats.kd_calls++;
	switch (BDOOR_SUBCMD(call->reg[GUEST_REG_ECX])) {
	case KDVM_SUB_HELLO:
		call->reg[GUEST_REG_EBX] = KDVM_MAGIC;
		call->reg[GUEST_REG_ECX] = KDVM_PROTOCOL_VERSION;
		call->reg[GUEST_REG_ESI] = vp->config.kd_discovery;
		call->reg[GUEST_REG_EDI] =
			(vp->have_kd_port ? KDVM_HELLO_TRANSPORT : 0) |
			(vp->have_kd_port && vp->kd_port.debugger_attached(vp->kd_port.ctx)
				 ? KDVM_HELLO_DEBUGGER
				 : 0);
		status = KDVM_STATUS_OK;
		break;
	case KDVM_SUB_REGISTER:
		status = kd_register(vp, call);
		break;
	case KDVM_SUB_CALL:
		status = kd_call(vp, call);
		break;
	case KDVM_SUB_UNREGISTER:
		if (vp->config.kd_discovery == KDVM_DISCOVERY_REGISTER)
			vp->kd_page_known = false;
		status = KDVM_STATUS_OK;
		break;
	default:
		status = KDVM_STATUS_BAD_SUBCOMMAND;
		break;
	}
	if (status != KDVM_STATUS_OK)
		vp->stats.kd_errors++;
	call->reg[GUEST_REG_EAX] = status;
}

void vmport_set_kd_port(struct vmport *vp, const struct kd_host_port *port)
{
	vp->have_kd_port = port != NULL;
	if (port)
		vp->kd_port = *port;
}

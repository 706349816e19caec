/*
 * kdvm_transport.c -- the guest's fast KD transport (see kdvm_transport.h).
 *
 * Every KdSendPacket and KdReceivePacket is one backdoor call: the request
 * and payload are written into the page, the call hands it to the device,
 * and the answer is in the page when the call returns. Lengths are checked
 * against the caller's buffers before anything is copied, in both
 * directions: the device is trusted to follow the protocol, but a device
 * that does not must not be able to overrun kernel memory through us.
 */
#include "kdvm_transport.h"

#include "bxkd/backdoor.h"

/* No C library here, and the Windows build links none. A packet is up to
 * 4000 bytes copied twice per call: string instructions make that a few
 * instructions per copy instead of several per byte, which is what an
 * emulator (and VM exits elsewhere) charges for. */
static void copy_bytes(void *to, const void *from, uint32_t n)
{
#if defined(__i386__) || defined(__x86_64__)
	void *d = to;
	const void *s = from;
	uintptr_t words = n / 4, tail = n % 4; /* RCX whole on 64-bit Windows too */

	__asm__ volatile("rep movsl\n\tmov %3, %2\n\trep movsb"
			 : "+D"(d), "+S"(s), "+c"(words)
			 : "r"(tail)
			 : "memory");
#else
	uint8_t *d = to;
	const uint8_t *s = from;

	while (n--)
		*d++ = *s++;
#endif
}

static void fill_signature(struct kdvm_page_header *h)
{
	copy_bytes(h->signature, KDVM_SIGNATURE, sizeof(h->signature));
}

static struct kdvm_regs backdoor(struct kdvm *kd, uint16_t subcommand, uint32_t esi,
				 uint32_t edi)
{
	struct kdvm_regs r = {
		.eax = BDOOR_MAGIC,
		.ebx = KDVM_MAGIC,
		.ecx = (uint32_t)subcommand << 16 | kd->kd_command,
		.edx = BDOOR_PORT,
		.esi = esi,
		.edi = edi,
	};

	kd->stats.backdoor_calls++;
	kd->platform.backdoor(kd->platform.ctx, &r);
	kd->last_status = r.eax;
	if (r.eax != KDVM_STATUS_OK)
		kd->stats.refused++;
	return r;
}

static uint32_t register_page(struct kdvm *kd)
{
	uint64_t frame = kd->platform.physical_address(kd->platform.ctx, kd->page) / KDVM_PAGE_SIZE;
	struct kdvm_regs r =
		backdoor(kd, KDVM_SUB_REGISTER, (uint32_t)frame, (uint32_t)(frame >> 32));

	return r.eax;
}

uint32_t kdvm_initialize(struct kdvm *kd, const struct kdvm_platform *platform,
			 struct kdvm_page *page, uint32_t nonce, uint16_t kd_command)
{
	struct kdvm_page_header *h = &page->h;

	*kd = (struct kdvm){
		.platform = *platform,
		.page = page,
		.kd_command = kd_command ? kd_command : BDOOR_CMD_OS_NOT_FOUND,
		.nonce = nonce,
		.receive_timeout_ms = KDVM_DEFAULT_RECEIVE_TIMEOUT_MS,
	};
	fill_signature(h);
	h->nonce = nonce;
	h->version = KDVM_PROTOCOL_VERSION;
	h->header_size = sizeof(*h);
	h->result = KDVM_RESULT_UNTOUCHED;

	struct kdvm_regs r = backdoor(kd, KDVM_SUB_HELLO, 0, 0);
	/* VMware leaves EAX at the magic; an empty port reads all ones. */
	if (r.eax != KDVM_STATUS_OK || r.ebx != KDVM_MAGIC)
		return KDVM_INIT_NO_DEVICE;
	if (r.ecx != KDVM_PROTOCOL_VERSION)
		return KDVM_STATUS_BAD_PAGE;
	if (!(r.edi & KDVM_HELLO_TRANSPORT))
		return KDVM_STATUS_NO_TRANSPORT;
	kd->discovery = r.esi;
	kd->debugger_present = (r.edi & KDVM_HELLO_DEBUGGER) != 0;
	if (kd->discovery == KDVM_DISCOVERY_REGISTER) {
		uint32_t status = register_page(kd);
		if (status != KDVM_STATUS_OK)
			return status;
	}
	kd->ready = true;
	return KDVM_STATUS_OK;
}

uint32_t kdvm_reconnect(struct kdvm *kd)
{
	if (kd->discovery != KDVM_DISCOVERY_REGISTER)
		return KDVM_STATUS_OK;
	uint32_t status = register_page(kd);
	kd->ready = status == KDVM_STATUS_OK;
	return status;
}

void kdvm_shutdown(struct kdvm *kd)
{
	if (kd->ready && kd->discovery == KDVM_DISCOVERY_REGISTER)
		backdoor(kd, KDVM_SUB_UNREGISTER, 0, 0);
	kd->ready = false;
}

/* Hands the page to the device. A device that lost the page (it was reset
 * under a running kernel) gets it registered again, once. */
static bool call_device(struct kdvm *kd)
{
	if (!kd->ready)
		return false;
	kd->page->h.result = KDVM_RESULT_UNTOUCHED;
	struct kdvm_regs r = backdoor(kd, KDVM_SUB_CALL, kd->nonce, 0);
	if (r.eax == KDVM_STATUS_NOT_REGISTERED && kdvm_reconnect(kd) == KDVM_STATUS_OK)
		r = backdoor(kd, KDVM_SUB_CALL, kd->nonce, 0);
	return r.eax == KDVM_STATUS_OK;
}

static uint32_t string_length(const struct kd_string *s)
{
	return s && s->buffer ? s->length : 0;
}

void kdvm_send_packet(struct kdvm *kd, uint32_t packet_type, const struct kd_string *header,
		      const struct kd_string *data, struct kd_context *kd_context)
{
	struct kdvm_page_header *h = &kd->page->h;
	uint32_t header_length = string_length(header);
	uint32_t data_length = string_length(data);

	(void)kd_context;
	if (!kdcom_type_is_data(packet_type) || header_length + data_length > KDCOM_MAX_PAYLOAD) {
		kd->stats.rejected++;
		return;
	}
	copy_bytes(kd->page->payload, header ? header->buffer : 0, header_length);
	copy_bytes(kd->page->payload + header_length, data ? data->buffer : 0, data_length);
	h->request = KDVM_REQUEST_SEND;
	h->packet_type = packet_type;
	h->header_length = (uint16_t)header_length;
	h->data_length = (uint16_t)data_length;
	h->header_capacity = h->data_capacity = 0;
	kd->stats.sends++;
	if (!call_device(kd))
		return;
	if (h->result == KD_OK)
		kd->debugger_present = true;
	else if (h->result == KD_DROPPED)
		kd->debugger_present = false;
}

static enum kd_outcome poll_breakin(struct kdvm *kd)
{
	kd->page->h.request = KDVM_REQUEST_POLL_BREAKIN;
	kd->page->h.packet_type = KDCOM_TYPE_POLL_BREAKIN;
	kd->stats.polls++;
	if (!call_device(kd))
		return KD_TIMED_OUT;
	return kd->page->h.result == KD_OK ? KD_OK : KD_TIMED_OUT;
}

enum kd_outcome kdvm_receive_packet(struct kdvm *kd, uint32_t packet_type,
				   struct kd_string *header, struct kd_string *data,
				   uint32_t *data_length, struct kd_context *kd_context)
{
	struct kdvm_page_header *h = &kd->page->h;

	(void)kd_context;
	/* The answer is the result: KdpControlCPending is for a break-in
	 * kdcom.dll noticed while waiting for something else, and the device
	 * keeps those for the next poll itself. */
	if (packet_type == KDCOM_TYPE_POLL_BREAKIN)
		return poll_breakin(kd);
	/* ACK, RESEND and RESET are kdcom.dll's business; nobody asks us. */
	if (!header || !header->buffer || header->maximum_length > KDCOM_MAX_PAYLOAD ||
	    !kdcom_type_is_data(packet_type)) {
		kd->stats.rejected++;
		return KD_TIMED_OUT;
	}
	uint32_t data_room = data && data->buffer ? data->maximum_length : 0;

	h->request = KDVM_REQUEST_RECEIVE;
	h->packet_type = packet_type;
	h->header_capacity = header->maximum_length;
	h->data_capacity = (uint16_t)data_room;
	h->header_length = h->data_length = 0;
	h->timeout_ms = kd->receive_timeout_ms;
	kd->stats.receives++;
	if (!call_device(kd))
		return KD_TIMED_OUT;
	if (h->result == KD_NEEDS_RESEND)
		return KD_NEEDS_RESEND;
	if (h->result != KD_OK)
		return KD_TIMED_OUT;

	/* Read the lengths once; the page is shared memory. */
	uint32_t got_header = h->header_length, got_data = h->data_length;
	if (got_header != header->maximum_length || got_data > data_room ||
	    got_header + got_data > KDVM_PAYLOAD_CAPACITY) {
		kd->stats.rejected++;
		return KD_TIMED_OUT;
	}
	copy_bytes(header->buffer, kd->page->payload, got_header);
	header->length = (uint16_t)got_header;
	if (data && data->buffer) {
		copy_bytes(data->buffer, kd->page->payload + got_header, got_data);
		data->length = (uint16_t)got_data;
	}
	if (data_length)
		*data_length = got_data;
	kd->debugger_present = true;
	return KD_OK;
}

/* ---- as the KD stub's transport ------------------------------------------------ */

static void transport_send(void *ctx, uint32_t packet_type, const struct kd_string *header,
			   const struct kd_string *data, struct kd_context *kd_context)
{
	kdvm_send_packet(ctx, packet_type, header, data, kd_context);
}

static enum kd_outcome transport_receive(void *ctx, uint32_t packet_type, struct kd_string *header,
					struct kd_string *data, uint32_t *data_length,
					struct kd_context *kd_context)
{
	return kdvm_receive_packet(ctx, packet_type, header, data, data_length, kd_context);
}

static bool transport_debugger_present(void *ctx)
{
	return ((struct kdvm *)ctx)->debugger_present;
}

void kdvm_as_transport(struct kdvm *kd, struct kd_transport *transport)
{
	transport->ctx = kd;
	transport->send_packet = transport_send;
	transport->receive_packet = transport_receive;
	transport->debugger_present = transport_debugger_present;
}

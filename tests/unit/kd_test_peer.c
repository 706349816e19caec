/*
 * kd_test_peer.c -- the in-memory debugger (see kd_test_peer.h).
 */
#include "config.h"

#include "kd_test_peer.h"

#include <stdlib.h>
#include <string.h>

#include "bxkd/kdcom.h"
#include "bxkd/kdvm.h"
#include "fake_contract.h"

/* The peer's own list, not the code under test's: the device must never
 * hand the port a control packet, the poll pseudo-type or a number past
 * the table. */
static bool is_data_type(uint32_t type)
{
	const uint32_t data_types =
		(1u << KDCOM_TYPE_STATE_CHANGE32) | (1u << KDCOM_TYPE_STATE_MANIPULATE) |
		(1u << KDCOM_TYPE_DEBUG_IO) | (1u << KDCOM_TYPE_STATE_CHANGE64) |
		(1u << KDCOM_TYPE_TRACE_IO) | (1u << KDCOM_TYPE_CONTROL_REQUEST) |
		(1u << KDCOM_TYPE_FILE_IO);

	return type < 32 && ((data_types >> type) & 1u);
}

static void *copy_of(const void *bytes, size_t length)
{
	/* One byte at least, so an empty part is a valid pointer to free. */
	uint8_t *copy = malloc(length ? length : 1);

	if (!copy)
		abort();
	if (length)
		memcpy(copy, bytes, length);
	return copy;
}

/* A packet made of copies of the bytes given. */
static void fill(struct kd_test_packet *p, uint32_t type, const void *header, size_t header_length,
		 const void *data, size_t data_length)
{
	p->type = type;
	p->header = copy_of(header, header_length);
	p->header_length = header_length;
	p->data = copy_of(data, data_length);
	p->data_length = data_length;
}

static void packet_free(struct kd_test_packet *p)
{
	free(p->header);
	free(p->data);
}

static struct kd_test_packet *append(struct kd_test_packet **list, size_t *count, size_t *room)
{
	if (*count == *room) {
		size_t grown = *room ? *room * 2 : 16;
		struct kd_test_packet *bigger = realloc(*list, grown * sizeof(**list));
		if (!bigger)
			abort();
		*list = bigger;
		*room = grown;
	}
	return &(*list)[(*count)++];
}

static enum kd_outcome peer_send(void *ctx, uint32_t packet_type, const uint8_t *header,
				       size_t header_length, const uint8_t *data,
				       size_t data_length)
{
	struct kd_test_peer *peer = ctx;

	peer->calls.send++;
	FAKE_REQUIRE(is_data_type(packet_type), "the device sent packet type %u",
		      (unsigned)packet_type);
	/* Each on its own first, so a huge pair cannot wrap the sum. */
	FAKE_REQUIRE(header_length <= KDCOM_MAX_PAYLOAD && data_length <= KDCOM_MAX_PAYLOAD &&
			      header_length + data_length <= KDCOM_MAX_PAYLOAD,
		      "the device sent %zu + %zu bytes, over the KD limit of %u", header_length,
		      data_length, KDCOM_MAX_PAYLOAD);
	FAKE_REQUIRE(header || !header_length, "header bytes without a buffer");
	FAKE_REQUIRE(data || !data_length, "data bytes without a buffer");

	fill(append(&peer->sent, &peer->sent_count, &peer->sent_room), packet_type, header,
	     header_length, data, data_length);
	return peer->send_result;
}

static bool first_queued_of(const struct kd_test_peer *peer, uint32_t type, size_t *index)
{
	for (size_t i = 0; i < peer->queued_count; i++) {
		if (peer->queued[i].type == type) {
			*index = i;
			return true;
		}
	}
	return false;
}

static enum kd_outcome peer_receive(void *ctx, uint32_t packet_type, uint8_t *header,
					  size_t header_length, uint8_t *data,
					  size_t data_capacity, size_t *data_length,
					  uint32_t timeout_ms)
{
	struct kd_test_peer *peer = ctx;
	size_t index;

	peer->calls.receive++;
	FAKE_REQUIRE(is_data_type(packet_type), "the device received packet type %u",
		      (unsigned)packet_type);
	FAKE_REQUIRE(header_length <= KDCOM_MAX_PAYLOAD &&
			      data_capacity <= KDCOM_MAX_PAYLOAD - header_length,
		      "the device offered %zu + %zu bytes, over the KD limit of %u", header_length,
		      data_capacity, KDCOM_MAX_PAYLOAD);
	FAKE_REQUIRE(timeout_ms <= KDVM_TIMEOUT_MAX_MS, "the device would wait %u ms",
		      (unsigned)timeout_ms);
	FAKE_REQUIRE(header || !header_length, "header room without a buffer");
	FAKE_REQUIRE(data || !data_capacity, "data room without a buffer");
	FAKE_REQUIRE(data_length, "no place for the data length");
	peer->last_receive_type = packet_type;
	peer->last_header_length = header_length;
	peer->last_data_capacity = data_capacity;
	peer->last_timeout_ms = timeout_ms;
	*data_length = 0;

	if (peer->script_next < peer->scripted)
		return peer->receive_script[peer->script_next++];
	if (!first_queued_of(peer, packet_type, &index))
		return KD_TIMED_OUT;

	struct kd_test_packet *p = &peer->queued[index];
	size_t total = p->header_length + p->data_length;
	if (total < header_length || total - header_length > data_capacity) {
		peer->misfits++;
		return KD_TIMED_OUT;
	}
	/* The payload, split at the receiver's header_length. */
	for (size_t at = 0; at < total; at++) {
		uint8_t byte = at < p->header_length ? p->header[at]
						     : p->data[at - p->header_length];
		if (at < header_length)
			header[at] = byte;
		else
			data[at - header_length] = byte;
	}
	size_t got = total - header_length;
	if (data_capacity > got)
		memset(data + got, KD_TEST_PEER_POISON, data_capacity - got);
	*data_length = got + peer->overstate_data_by;

	packet_free(p);
	memmove(p, p + 1, (peer->queued_count - index - 1) * sizeof(*p));
	peer->queued_count--;
	return KD_OK;
}

static bool peer_poll_breakin(void *ctx)
{
	struct kd_test_peer *peer = ctx;
	bool pending = peer->breakin_pending;

	peer->calls.poll_breakin++;
	peer->breakin_pending = false;
	return pending;
}

static bool peer_debugger_present(void *ctx)
{
	struct kd_test_peer *peer = ctx;

	peer->calls.debugger_present++;
	return peer->debugger_present;
}

static bool peer_debugger_attached(void *ctx)
{
	struct kd_test_peer *peer = ctx;

	peer->calls.debugger_attached++;
	return peer->debugger_attached;
}

void kd_test_peer_init(struct kd_test_peer *peer)
{
	memset(peer, 0, sizeof(*peer));
	peer->send_result = KD_OK;
	peer->debugger_present = true;
	peer->debugger_attached = true;
	peer->port = (struct kd_host_port){
		.ctx = peer,
		.send = peer_send,
		.receive = peer_receive,
		.poll_breakin = peer_poll_breakin,
		.debugger_present = peer_debugger_present,
		.debugger_attached = peer_debugger_attached,
	};
}

void kd_test_peer_free(struct kd_test_peer *peer)
{
	kd_test_peer_forget_sent(peer);
	free(peer->sent);
	for (size_t i = 0; i < peer->queued_count; i++)
		packet_free(&peer->queued[i]);
	free(peer->queued);
	memset(peer, 0, sizeof(*peer));
}

void kd_test_peer_queue(struct kd_test_peer *peer, uint32_t type, const void *header,
			size_t header_length, const void *data, size_t data_length)
{
	fill(append(&peer->queued, &peer->queued_count, &peer->queued_room), type, header,
	     header_length, data, data_length);
}

void kd_test_peer_script_receive(struct kd_test_peer *peer, enum kd_outcome result)
{
	FAKE_REQUIRE(peer->scripted < KD_TEST_PEER_SCRIPT_MAX, "more than %d receives scripted",
		KD_TEST_PEER_SCRIPT_MAX);
	peer->receive_script[peer->scripted++] = result;
}

const struct kd_test_packet *kd_test_peer_sent(const struct kd_test_peer *peer, size_t i)
{
	FAKE_REQUIRE(i < peer->sent_count, "packet %zu asked for, %zu sent", i, peer->sent_count);
	return &peer->sent[i];
}

void kd_test_peer_forget_sent(struct kd_test_peer *peer)
{
	for (size_t i = 0; i < peer->sent_count; i++)
		packet_free(&peer->sent[i]);
	peer->sent_count = 0;
}

unsigned kd_test_peer_total_calls(const struct kd_test_peer *peer)
{
	return peer->calls.send + peer->calls.receive + peer->calls.poll_breakin +
	       peer->calls.debugger_present + peer->calls.debugger_attached;
}

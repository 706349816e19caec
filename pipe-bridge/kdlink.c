/*
 * kdlink.c -- KdSendPacket / KdReceivePacket semantics over a byte channel
 * (see kdlink.h).
 */
#include "kdlink.h"

/* Freestanding: the compiler's own, no C library. */
#define copy_bytes(dst, src, n) __builtin_memcpy((dst), (src), (n))
#define zero_bytes(dst, n) __builtin_memset((dst), 0, (n))

/* Longest single wait: a wait that long means no timer at all, and the
 * channel's read is asked again afterwards. */
#define LONGEST_WAIT_MS 60000

static uint64_t clock_ms(const struct kdlink *link)
{
	return link->channel.now_ms(link->channel.ctx) + link->skew_ms;
}

void kdlink_init(struct kdlink *link, const struct kdlink_channel *channel,
		 uint32_t resend_timeout_ms, uint32_t retries)
{
	struct kdcom_config config;

	zero_bytes(link, sizeof(*link));
	link->channel = *channel;
	kdcom_config_init(&config, KDCOM_TARGET, resend_timeout_ms);
	config.retries = retries;
	kdcom_init(&link->k, &config);
}

void kdlink_set_ack_with_reply(struct kdlink *link, bool on)
{
	link->ack_with_reply = on;
}

void kdlink_set_retries(struct kdlink *link, uint32_t retries)
{
	/* kdcom_send reads it when a send starts. */
	link->k.config.retries = retries;
}

static void flush(struct kdlink *link)
{
	const uint8_t *bytes;
	size_t n;

	while ((n = kdcom_output(&link->k, &bytes)) > 0) {
		link->channel.write(link->channel.ctx, bytes, n);
		kdcom_output_consumed(&link->k, n);
	}
}

/* Returns true when the rest of the input is stale. */
static bool take_event(struct kdlink *link, const struct kdcom_event *e)
{
	switch (e->kind) {
	case KDCOM_EVENT_SENT:
		link->sent = true;
		break;
	case KDCOM_EVENT_DROPPED:
		link->dropped = true;
		break;
	case KDCOM_EVENT_ABANDONED:
		link->abandoned = true;
		break;
	case KDCOM_EVENT_PACKET:
		copy_bytes(link->packet, e->payload, e->length);
		link->packet_length = e->length;
		link->received = true;
		/* One packet per call: any more wait, unacknowledged, for the next. */
		kdcom_expect(&link->k, 0, 0, 0);
		break;
	case KDCOM_EVENT_RESET:
		link->reset = true;
		/* What the debugger sent before its RESET reached us is stale:
		 * more RESETs, usually, which would bounce the link forever. */
		if (link->channel.link_reset)
			link->channel.link_reset(link->channel.ctx);
		return true;
	default:
		/* RESEND after our packet was acknowledged asks for a copy
		 * that arrived damaged; the debugger has the packet already.
		 * BREAKIN stays pending in the engine for the next poll. */
		break;
	}
	return false;
}

/* Gives the engine buffered bytes until it reports something; the rest
 * stays buffered for the next look. */
static void feed_buffered(struct kdlink *link)
{
	struct kdcom_event e;
	bool any = false;

	while (link->input_length && !any) {
		size_t used = kdcom_input(&link->k, link->input + link->input_start,
					  link->input_length, clock_ms(link));
		if (link->channel.taken && used)
			link->channel.taken(link->channel.ctx, link->input + link->input_start, used);
		link->input_start += used;
		link->input_length -= used;
		while (kdcom_next_event(&link->k, &e)) {
			any = true;
			if (take_event(link, &e) && link->input_length) {
				if (link->channel.taken)
					link->channel.taken(link->channel.ctx,
							    link->input + link->input_start,
							    link->input_length);
				link->input_length = 0;
			}
		}
	}
	if (!link->input_length)
		link->input_start = 0;
}

/* Moves bytes both ways for up to wait_ms (KDLINK_WAIT_FOREVER: until
 * something happens). */
static void pump(struct kdlink *link, int32_t wait_ms)
{
	size_t n = 0;
	struct kdcom_event e;
	bool had_packet = link->received;

	flush(link);
	if (link->input_length) {
		feed_buffered(link);
	} else {
		switch (link->channel.read(link->channel.ctx, link->input, sizeof(link->input), &n,
					   wait_ms)) {
		case KDLINK_READ_DATA:
			link->input_start = 0;
			link->input_length = n < sizeof(link->input) ? n : sizeof(link->input);
			feed_buffered(link);
			break;
		case KDLINK_READ_PEER_CHANGED:
			/* Half a frame from the last debugger, or bytes meant for
			 * it, mean nothing to the next one. */
			kdcom_discard_output(&link->k);
			kdcom_restart_input(&link->k);
			/* A new debugger hears the packet in flight at once, not
			 * when a timer started for the last one runs out. */
			kdcom_retransmit_now(&link->k, clock_ms(link));
			break;
		case KDLINK_READ_NOTHING:
			break;
		}
	}
	kdcom_tick(&link->k, clock_ms(link));
	while (kdcom_next_event(&link->k, &e))
		take_event(link, &e);
	if (!link->ack_with_reply || had_packet || !link->received)
		flush(link);
}

/* Milliseconds until the engine or the caller's deadline needs us. Flush
 * before asking: writing to a slow channel (a UART: 349 ms for a whole
 * frame at 115200 baud) takes time the wait must not add to. */
static int32_t wait_for(const struct kdlink *link, uint64_t deadline)
{
	uint64_t engine = kdcom_deadline(&link->k);
	uint64_t next = engine < deadline ? engine : deadline;
	uint64_t now = clock_ms(link);

	if (next == UINT64_MAX)
		return KDLINK_WAIT_FOREVER;
	if (next <= now)
		return 0;
	return next - now > LONGEST_WAIT_MS ? LONGEST_WAIT_MS : (int32_t)(next - now);
}

static bool nobody_can_answer(const struct kdlink *link)
{
	return link->channel.peer_absent && link->channel.peer_absent(link->channel.ctx);
}

enum kd_outcome kdlink_send(struct kdlink *link, uint16_t type, const void *header,
			       size_t header_length, const void *data, size_t data_length)
{
	if (kdcom_send(&link->k, type, header, header_length, data, data_length, clock_ms(link)) !=
	    KDCOM_SEND_STARTED)
		return KD_INVALID;
	link->sent = link->dropped = link->abandoned = false;
	while (!link->sent && !link->dropped && !link->abandoned) {
		if (!nobody_can_answer(link)) {
			flush(link);
			pump(link, wait_for(link, UINT64_MAX));
			continue;
		}
		uint64_t before = link->k.stats.retransmissions;
		if (kdcom_retries_exhausted(&link->k)) {
			/* A packet that must be delivered waits for a debugger. */
			pump(link, KDLINK_WAIT_FOREVER);
		} else {
			uint64_t deadline = kdcom_deadline(&link->k), now = clock_ms(link);
			if (deadline != UINT64_MAX && deadline > now)
				link->skew_ms += deadline - now;
			pump(link, 0);
		}
		link->unheard += link->k.stats.retransmissions - before;
	}
	if (link->abandoned) {
		link->resend_owed = true;
		return KD_ABANDONED;
	}
	if (link->dropped)
		link->drops++;
	return link->sent ? KD_OK : KD_DROPPED;
}

enum kd_outcome kdlink_receive(struct kdlink *link, uint16_t type, void *header,
				  size_t header_length, void *data, size_t data_capacity,
				  size_t *data_length, uint32_t timeout_ms)
{
	if (header_length > KDCOM_MAX_PAYLOAD || type == KDCOM_TYPE_UNUSED ||
	    type >= KDCOM_TYPE_MAX)
		return KD_INVALID;
	*data_length = 0;
	if (link->resend_owed) {
		link->resend_owed = false;
		return KD_NEEDS_RESEND;
	}
	link->received = link->reset = false;
	kdcom_expect(&link->k, type, header_length, header_length + data_capacity);
	uint64_t deadline = clock_ms(link) + timeout_ms;
	while (!link->received && !link->reset && clock_ms(link) < deadline) {
		flush(link);
		pump(link, wait_for(link, deadline));
	}
	kdcom_expect(&link->k, 0, 0, 0);

	if (link->received) {
		/* The engine took only lengths within [header_length,
		 * header_length + data_capacity]. */
		if (header_length)
			copy_bytes(header, link->packet, header_length);
		*data_length = link->packet_length - header_length;
		if (*data_length)
			copy_bytes(data, link->packet + header_length, *data_length);
		return KD_OK;
	}
	return link->reset ? KD_NEEDS_RESEND : KD_TIMED_OUT;
}

bool kdlink_poll_breakin(struct kdlink *link)
{
	pump(link, 0);
	return kdcom_take_breakin(&link->k);
}

bool kdlink_debugger_present(const struct kdlink *link)
{
	return link->k.debugger_present;
}

const struct kdcom_stats *kdlink_stats(const struct kdlink *link)
{
	return &link->k.stats;
}

uint64_t kdlink_drops(const struct kdlink *link)
{
	return link->drops;
}

uint64_t kdlink_unheard_retransmissions(const struct kdlink *link)
{
	return link->unheard;
}

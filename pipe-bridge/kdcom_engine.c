/*
 * kdcom_engine.c -- the KDCOM framing engine (see kdcom_engine.h).
 *
 * The target role follows ReactOS' kddll.c (docs/kd-protocol.md
 * 1.4-1.10) on the wire, with four changes, each marked "Stricter" below:
 * control packets must have the fields real peers send, a data packet's
 * type must agree with the API number in its payload, and only a new packet
 * (not a retransmitted one) counts as an implicit acknowledgement. KDCOM
 * checksums the payload but not the header; these checks stop a damaged
 * header from being taken for something else. And a RESET abandons a
 * manipulate reply in flight instead of resending it, so a debugger that
 * reattaches gets the state change it waits for.
 */
#include "kdcom_engine.h"

#include "bxkd/byteorder.h"
#include "bxkd/dbgkd.h"

/* Freestanding: the compiler's own, no C library. */
#define copy_bytes(dst, src, n) __builtin_memcpy((dst), (src), (n))
#define zero_bytes(dst, n) __builtin_memset((dst), 0, (n))

uint32_t kdcom_checksum(const void *data, size_t length)
{
	const uint8_t *p = data;
	uint32_t sum = 0;

	while (length--)
		sum += *p++;
	return sum;
}

bool kdcom_is_data_type(uint16_t type)
{
	return kdcom_type_is_data(type);
}

size_t kdcom_message_header_size(uint16_t type)
{
	switch (type) {
	case KDCOM_TYPE_STATE_MANIPULATE:
		return sizeof(struct dbgkd_manipulate_state64);
	case KDCOM_TYPE_STATE_CHANGE64:
		return sizeof(struct dbgkd_any_wait_state_change);
	case KDCOM_TYPE_DEBUG_IO:
		return sizeof(struct dbgkd_debug_io);
	case KDCOM_TYPE_TRACE_IO:
		return sizeof(struct dbgkd_trace_io);
	case KDCOM_TYPE_FILE_IO:
		return sizeof(struct dbgkd_file_io);
	default:
		return 4; /* the API number */
	}
}

bool kdcom_type_matches_payload(uint16_t type, const uint8_t *payload, size_t length)
{
	if (!kdcom_is_data_type(type) || length < kdcom_message_header_size(type))
		return false;
	uint32_t api = le_get32(payload);
	switch (type) {
	case KDCOM_TYPE_STATE_CHANGE32:
	case KDCOM_TYPE_STATE_CHANGE64:
		api &= ~DBGKD_ALTERNATE_STATE_CHANGE;
		return api >= DBGKD_EXCEPTION_STATE_CHANGE && api < DBGKD_MAXIMUM_STATE_CHANGE;
	case KDCOM_TYPE_STATE_MANIPULATE:
		return api >= DBGKD_READ_VIRTUAL_MEMORY_API && api < DBGKD_MAXIMUM_MANIPULATE;
	case KDCOM_TYPE_DEBUG_IO:
		return api == DBGKD_PRINT_STRING_API || api == DBGKD_GET_STRING_API;
	case KDCOM_TYPE_TRACE_IO:
		return api == DBGKD_PRINT_TRACE_API;
	case KDCOM_TYPE_CONTROL_REQUEST:
		return api == DBGKD_REQUEST_HARDWARE_BP || api == DBGKD_RELEASE_HARDWARE_BP;
	default: /* KDCOM_TYPE_FILE_IO */
		return api >= DBGKD_CREATE_FILE_API && api <= DBGKD_CLOSE_FILE_API;
	}
}

const char *kdcom_type_name(uint16_t type)
{
	static const char *const names[KDCOM_TYPE_MAX] = {
		"UNUSED",	  "STATE_CHANGE32", "STATE_MANIPULATE", "DEBUG_IO",
		"ACKNOWLEDGE",	  "RESEND",	    "RESET",		"STATE_CHANGE64",
		"POLL_BREAKIN",	  "TRACE_IO",	    "CONTROL_REQUEST",	"FILE_IO",
	};

	return type < KDCOM_TYPE_MAX ? names[type] : "unknown";
}

/* ---- setup ------------------------------------------------------------------ */

void kdcom_config_init(struct kdcom_config *config, enum kdcom_role role, uint64_t resend_timeout)
{
	config->role = role;
	config->resend_timeout = resend_timeout;
	config->retries = 20;
	config->reset_answer_window = 2 * resend_timeout;
}

/* A target numbers from INITIAL with SYNC set, to tell a debugger that
 * was listening before that it must take this id as the new start. */
static void restart_numbering(struct kdcom *k, bool announce)
{
	k->send_id = KDCOM_INITIAL_ID | (announce ? KDCOM_SYNC_ID : 0);
	k->recv_id = KDCOM_INITIAL_ID;
	k->have_last = false;
}

void kdcom_init(struct kdcom *k, const struct kdcom_config *config)
{
	zero_bytes(k, sizeof(*k));
	k->config = *config;
	restart_numbering(k, config->role == KDCOM_TARGET);
	k->debugger_present = true;
	k->parse_state = KDCOM_SCAN_LEADER;
}

/* ---- output and events ---------------------------------------------------------- */

static bool queue_output(struct kdcom *k, const void *bytes, size_t count)
{
	const uint8_t *p = bytes;

	if (count > KDCOM_OUTPUT_CAPACITY - k->output_length) {
		k->stats.output_overflows++;
		return false;
	}
	/* At most two runs: up to the ring's end, then from its front. */
	size_t at = (k->output_start + k->output_length) % KDCOM_OUTPUT_CAPACITY;
	size_t first = KDCOM_OUTPUT_CAPACITY - at < count ? KDCOM_OUTPUT_CAPACITY - at : count;
	copy_bytes(k->output + at, p, first);
	copy_bytes(k->output, p + first, count - first);
	k->output_length += count;
	return true;
}

size_t kdcom_output(const struct kdcom *k, const uint8_t **bytes)
{
	size_t run = KDCOM_OUTPUT_CAPACITY - k->output_start;

	*bytes = k->output + k->output_start;
	return k->output_length < run ? k->output_length : run;
}

void kdcom_output_consumed(struct kdcom *k, size_t count)
{
	if (count > k->output_length)
		count = k->output_length;
	k->output_start = (k->output_start + count) % KDCOM_OUTPUT_CAPACITY;
	k->output_length -= count;
	/* Drained: what is queued next starts at the front, in one piece
	 * with whatever follows it (an ACK and the reply behind it). */
	if (!k->output_length)
		k->output_start = 0;
}

void kdcom_discard_output(struct kdcom *k)
{
	k->output_start = k->output_length = 0;
}

static void send_control(struct kdcom *k, uint16_t type, uint32_t id)
{
	uint8_t frame[KDCOM_HEADER_SIZE];

	le_put32(frame, KDCOM_CONTROL_LEADER);
	le_put16(frame + 4, type);
	le_put16(frame + 6, 0);
	le_put32(frame + 8, id);
	le_put32(frame + 12, 0);
	queue_output(k, frame, sizeof(frame));
}

static void push_event(struct kdcom *k, enum kdcom_event_kind kind)
{
	if (k->event_count == KDCOM_EVENT_CAPACITY)
		return; /* kdcom_input stops at the first event; never reached */
	struct kdcom_event *e = &k->events[(k->event_start + k->event_count++) % KDCOM_EVENT_CAPACITY];
	e->kind = kind;
	e->type = 0;
	e->length = 0;
	e->payload = 0;
}

bool kdcom_next_event(struct kdcom *k, struct kdcom_event *event)
{
	if (!k->event_count)
		return false;
	*event = k->events[k->event_start];
	k->event_start = (k->event_start + 1) % KDCOM_EVENT_CAPACITY;
	k->event_count--;
	return true;
}

/* ---- sending ------------------------------------------------------------------------ */

static void transmit(struct kdcom *k, uint64_t now)
{
	/* Every try carries the current id, which a RESET may have changed. */
	le_put32(k->frame + 8, k->send_id);
	queue_output(k, k->frame, k->frame_length);
	k->send_deadline = now + k->config.resend_timeout;
}

static void retransmit(struct kdcom *k, uint64_t now)
{
	k->stats.retransmissions++;
	transmit(k, now);
}

enum kdcom_send_status kdcom_send(struct kdcom *k, uint16_t type, const void *header,
				  size_t header_length, const void *data, size_t data_length,
				  uint64_t now)
{
	size_t length = header_length + data_length;
	uint8_t *payload = k->frame + KDCOM_HEADER_SIZE;

	if (k->send_state != KDCOM_SEND_IDLE)
		return KDCOM_SEND_BUSY;
	if (header_length > KDCOM_MAX_PAYLOAD || data_length > KDCOM_MAX_PAYLOAD - header_length)
		return KDCOM_SEND_INVALID;
	if (header_length)
		copy_bytes(payload, header, header_length);
	if (data_length)
		copy_bytes(payload + header_length, data, data_length);
	if (!kdcom_type_matches_payload(type, payload, length))
		return KDCOM_SEND_INVALID;

	le_put32(k->frame, KDCOM_DATA_LEADER);
	le_put16(k->frame + 4, type);
	le_put16(k->frame + 6, (uint16_t)length);
	le_put32(k->frame + 12, kdcom_checksum(payload, length));
	payload[length] = KDCOM_TRAILER;
	k->frame_length = (uint16_t)(KDCOM_HEADER_SIZE + length + 1);
	k->frame_type = type;
	k->frame_api = le_get32(payload);
	k->retries_left = k->config.retries;
	k->send_state = KDCOM_SEND_AWAIT_ACK;
	transmit(k, now);
	return KDCOM_SEND_STARTED;
}

bool kdcom_sending(const struct kdcom *k)
{
	return k->send_state != KDCOM_SEND_IDLE;
}

void kdcom_retransmit_now(struct kdcom *k, uint64_t now)
{
	if (k->send_state == KDCOM_SEND_AWAIT_ACK)
		retransmit(k, now);
}

bool kdcom_retries_exhausted(const struct kdcom *k)
{
	return k->send_state == KDCOM_SEND_AWAIT_ACK && k->retries_left == 0;
}

static void complete_send(struct kdcom *k)
{
	k->send_id = (k->send_id ^ 1) & ~KDCOM_SYNC_ID;
	k->send_state = KDCOM_SEND_IDLE;
	k->debugger_present = true;
	k->stats.packets_sent++;
	push_event(k, KDCOM_EVENT_SENT);
}

void kdcom_send_breakin(struct kdcom *k)
{
	uint8_t b = KDCOM_BREAKIN_BYTE;

	queue_output(k, &b, 1);
}

/* One RESET on the wire, and its answer owed until the window closes. */
static void transmit_reset(struct kdcom *k, uint64_t now)
{
	if (now > k->resets_owed_until)
		k->resets_owed = 0; /* lost on the way, or swallowed */
	k->resets_owed++;
	k->resets_owed_until = now + k->config.reset_answer_window;
	send_control(k, KDCOM_TYPE_RESET, 0);
	k->send_deadline = now + k->config.resend_timeout;
}

void kdcom_send_reset(struct kdcom *k, uint64_t now)
{
	bool awaiting = k->send_state == KDCOM_SEND_AWAIT_RESET;

	k->send_state = KDCOM_SEND_AWAIT_RESET;
	k->retries_left = k->config.retries;
	k->watchdog_resetting = false;
	/* One RESET on the wire at a time: the target answers each one and
	 * restarts its ids each time, and a packet acknowledged between two
	 * answers (a stop taken after the first) would have its ACK match
	 * the target's next packet after the second. An unanswered RESET is
	 * sent again by the resend timer. */
	if (!awaiting)
		transmit_reset(k, now);
}

/* Windows gives up on these when no debugger answers (ReactOS KdSendPacket);
 * everything else a target sends waits for one forever. */
static bool droppable(uint16_t type, uint32_t api)
{
	switch (type) {
	case KDCOM_TYPE_DEBUG_IO:
		return api == DBGKD_PRINT_STRING_API;
	case KDCOM_TYPE_STATE_CHANGE32:
	case KDCOM_TYPE_STATE_CHANGE64:
		return api == DBGKD_LOAD_SYMBOLS_STATE_CHANGE;
	case KDCOM_TYPE_FILE_IO:
		return api == DBGKD_CREATE_FILE_API;
	default:
		return true;
	}
}

/* ---- time ------------------------------------------------------------------------------ */

static void request_resend(struct kdcom *k)
{
	k->stats.resends_requested++;
	send_control(k, KDCOM_TYPE_RESEND, 0);
}

static void restart_parser(struct kdcom *k)
{
	k->parse_state = KDCOM_SCAN_LEADER;
	k->leader_count = 0;
	k->header_fill = 0;
	k->payload_fill = 0;
}

static void send_timed_out(struct kdcom *k, uint64_t now)
{
	if (k->retries_left > 0)
		k->retries_left--;
	/* The watchdog's RESET is not given up: the ids are out of step
	 * until the target answers it, which a running target does once it
	 * stops and sends (it reads the line while it waits for an ACK). */
	if (k->retries_left == 0 && !k->watchdog_resetting) {
		if (k->config.role == KDCOM_DEBUGGER || k->send_state == KDCOM_SEND_AWAIT_RESET) {
			k->send_state = KDCOM_SEND_IDLE;
			push_event(k, KDCOM_EVENT_SEND_FAILED);
			return;
		}
		if (droppable(k->frame_type, k->frame_api)) {
			k->send_state = KDCOM_SEND_IDLE;
			k->debugger_present = false;
			restart_numbering(k, true);
			push_event(k, KDCOM_EVENT_DROPPED);
			return;
		}
	}
	if (k->send_state == KDCOM_SEND_AWAIT_RESET)
		transmit_reset(k, now);
	else
		retransmit(k, now);
}

void kdcom_tick(struct kdcom *k, uint64_t now)
{
	if (k->parse_state != KDCOM_SCAN_LEADER && now >= k->frame_deadline) {
		/* The rest of a frame never came: a data packet is asked for
		 * again, a control packet has no one to ask. */
		if (k->parse_state != KDCOM_READ_HEADER ||
		    le_get32(k->header) == KDCOM_DATA_LEADER)
			request_resend(k);
		restart_parser(k);
	}
	if (k->send_state != KDCOM_SEND_IDLE && now >= k->send_deadline)
		send_timed_out(k, now);
}

uint64_t kdcom_deadline(const struct kdcom *k)
{
	uint64_t deadline = UINT64_MAX;

	if (k->send_state != KDCOM_SEND_IDLE)
		deadline = k->send_deadline;
	if (k->parse_state != KDCOM_SCAN_LEADER && k->frame_deadline < deadline)
		deadline = k->frame_deadline;
	return deadline;
}

/* ---- receiving ----------------------------------------------------------------------------- */

void kdcom_restart_input(struct kdcom *k)
{
	restart_parser(k);
}

void kdcom_expect(struct kdcom *k, uint16_t type, size_t min_length, size_t max_length)
{
	k->wanted_type = type;
	k->wanted_min = (uint16_t)(min_length < KDCOM_MAX_PAYLOAD ? min_length : KDCOM_MAX_PAYLOAD);
	k->wanted_max = (uint16_t)(max_length < KDCOM_MAX_PAYLOAD ? max_length : KDCOM_MAX_PAYLOAD);
}

bool kdcom_take_breakin(struct kdcom *k)
{
	bool pending = k->breakin_pending;

	k->breakin_pending = false;
	return pending;
}

/* The target's side of a RESET: answer it, restart both ids, and resend
 * what was in flight under the new id. */
static void target_reset(struct kdcom *k, uint64_t now)
{
	restart_numbering(k, false);
	k->debugger_present = true;
	send_control(k, KDCOM_TYPE_RESET, 0);
	if (k->send_state == KDCOM_SEND_AWAIT_ACK &&
	    k->frame_type == KDCOM_TYPE_STATE_MANIPULATE) {
		/* Stricter than kdcom.dll, which resends the reply: it answers
		 * a request from the session the debugger just abandoned, and a
		 * debugger that has reset waits for a state change. The RESET
		 * event that follows makes the stub resend that
		 * (KdPacketNeedsResend). */
		k->send_state = KDCOM_SEND_IDLE;
		k->stats.replies_abandoned++;
		push_event(k, KDCOM_EVENT_ABANDONED);
	} else if (k->send_state == KDCOM_SEND_AWAIT_ACK) {
		retransmit(k, now);
	}
	push_event(k, KDCOM_EVENT_RESET);
}

/*
 * The watchdog RESET (Stricter than following every RESET). A target
 * sends RESET only to answer one (or when it took damage for one), so a
 * RESET the debugger did not ask for means the
 * two sides' ids can no longer be trusted. It is either the target's
 * answer to a RESET it read from damage (it restarted its ids) or damage
 * itself: control packets carry no checksum, and a RESEND whose type byte
 * is hit (5 becomes 6) reads as a RESET (the target restarted nothing).
 * Following it would be right in the first case and, in the second, leave
 * the debugger's ids restarted alone: the target then takes the
 * debugger's next packet for a copy it has, acknowledges it without
 * delivering it, and both sides wait for ever. The debugger cannot tell
 * the two apart, so it resets the link itself, at once: whatever the
 * target did, both sides restart together when it answers. The send in
 * flight is abandoned, as a RESET abandons it at a stopped target, which
 * then reports its state again; the owner hears so at once
 * (KDCOM_EVENT_ABANDONED) and asks again after the state change.
 * Recovery takes one round trip, a resend timeout more for each RESET or
 * answer lost on the way.
 */
static void watchdog_reset(struct kdcom *k, uint64_t now)
{
	bool abandoning = k->send_state == KDCOM_SEND_AWAIT_ACK;

	k->stats.watchdog_resets++;
	kdcom_send_reset(k, now);
	k->watchdog_resetting = true;
	if (abandoning)
		push_event(k, KDCOM_EVENT_ABANDONED);
}

/* The debugger's side of a RESET: an answer to one of ours restarts our
 * ids, as the target restarted its own. A RESET sent again may be
 * answered more than once; each later answer comes before the target
 * reads what we sent after the first, so following it keeps the ids in
 * step. Any other RESET starts the watchdog RESET. */
static void debugger_reset(struct kdcom *k, uint64_t now)
{
	bool answer = k->send_state == KDCOM_SEND_AWAIT_RESET ||
		      (k->resets_owed > 0 && now <= k->resets_owed_until);

	if (!answer) {
		watchdog_reset(k, now);
		return;
	}
	if (k->resets_owed > 0)
		k->resets_owed--;
	restart_numbering(k, false);
	k->debugger_present = true;
	if (k->send_state == KDCOM_SEND_AWAIT_RESET) {
		k->send_state = KDCOM_SEND_IDLE;
		k->watchdog_resetting = false;
	} else if (k->send_state == KDCOM_SEND_AWAIT_ACK) {
		retransmit(k, now);
	}
	push_event(k, KDCOM_EVENT_RESET);
}

static void handle_control(struct kdcom *k, uint16_t type, uint16_t count, uint32_t id,
			   uint32_t checksum, uint64_t now)
{
	/* Stricter: real peers send control packets with no length and no
	 * checksum, and RESEND/RESET with id 0. Anything else is damage, and
	 * a damaged ACK must not pass for a RESET. */
	if (count != 0 || checksum != 0 ||
	    (type != KDCOM_TYPE_ACKNOWLEDGE && (id != 0 || type < KDCOM_TYPE_ACKNOWLEDGE ||
						type > KDCOM_TYPE_RESET))) {
		k->stats.bad_frames++;
		return;
	}
	switch (type) {
	case KDCOM_TYPE_ACKNOWLEDGE:
		if (k->send_state == KDCOM_SEND_AWAIT_ACK && id == (k->send_id & ~KDCOM_SYNC_ID))
			complete_send(k);
		return;
	case KDCOM_TYPE_RESEND:
		if (k->send_state == KDCOM_SEND_AWAIT_ACK) {
			retransmit(k, now);
		} else if (k->send_state == KDCOM_SEND_IDLE) {
			if (!k->event_count ||
			    k->events[(k->event_start + k->event_count - 1) % KDCOM_EVENT_CAPACITY].kind !=
				    KDCOM_EVENT_RESEND)
				push_event(k, KDCOM_EVENT_RESEND);
		}
		return;
	default: /* KDCOM_TYPE_RESET */
		k->stats.resets++;
		if (k->config.role == KDCOM_TARGET)
			target_reset(k, now);
		else
			debugger_reset(k, now);
		return;
	}
}

static void deliver(struct kdcom *k, uint16_t type, uint16_t length)
{
	k->stats.packets_received++;
	push_event(k, KDCOM_EVENT_PACKET);
	struct kdcom_event *e =
		&k->events[(k->event_start + k->event_count - 1) % KDCOM_EVENT_CAPACITY];
	e->type = type;
	e->length = length;
	e->payload = k->payload;
}

/* A well-formed data packet at the target. */
static void target_data(struct kdcom *k, uint16_t type, uint16_t length, uint32_t id)
{
	if (k->send_state == KDCOM_SEND_AWAIT_ACK) {
		/* The debugger only starts a new packet once it has ours, so a
		 * new one means ours arrived; ReactOS then asks for the new one
		 * again, as it cannot take it while sending. Stricter: a copy of
		 * an old packet proves nothing; it just gets its ACK again. */
		if (id == k->recv_id) {
			request_resend(k);
			complete_send(k);
		} else {
			k->stats.duplicates++;
			send_control(k, KDCOM_TYPE_ACKNOWLEDGE, id);
		}
		return;
	}
	if (id != k->recv_id) {
		k->stats.duplicates++;
		send_control(k, KDCOM_TYPE_ACKNOWLEDGE, id);
		return;
	}
	/* Not waiting for any packet: leave it unacknowledged and the
	 * debugger sends it again when we are. */
	if (!k->wanted_type)
		return;
	/* ReactOS asks again for a packet shorter than the header it wants
	 * (and overflows its buffer on a longer one; we ask again). */
	if (type == k->wanted_type && (length < k->wanted_min || length > k->wanted_max)) {
		k->stats.bad_frames++;
		request_resend(k);
		return;
	}
	send_control(k, KDCOM_TYPE_ACKNOWLEDGE, id);
	/* A packet of another type is acknowledged and dropped, as kdcom.dll
	 * does; the id stays, so it cannot be mistaken for the next one. */
	if (type != k->wanted_type)
		return;
	k->recv_id ^= 1;
	deliver(k, type, length);
}

/* A well-formed data packet at the debugger. */
static void debugger_data(struct kdcom *k, uint16_t type, uint16_t length, uint32_t id,
			  uint32_t checksum)
{
	uint32_t base = id & ~KDCOM_SYNC_ID;
	bool duplicate;

	/* Sent before our RESET reached the target: it sends the packet
	 * again, renumbered, once it has answered the RESET (rizin's attach
	 * waits for that answer the same way). Unacknowledged, so the target
	 * has no reason to think it delivered it. */
	if (k->send_state == KDCOM_SEND_AWAIT_RESET) {
		k->stats.stale_packets++;
		return;
	}
	if ((id & KDCOM_SYNC_ID) && base == KDCOM_INITIAL_ID) {
		/* The target restarted its numbering: take its id, unless this
		 * is a copy of the packet we just took under that same id. */
		duplicate = k->have_last && k->recv_id == (KDCOM_INITIAL_ID ^ 1) &&
			    k->last_type == type && k->last_length == length &&
			    k->last_checksum == checksum;
	} else {
		duplicate = base != k->recv_id;
	}
	/* Acknowledge without SYNC: that is what the target matches. */
	send_control(k, KDCOM_TYPE_ACKNOWLEDGE, base);
	if (duplicate) {
		k->stats.duplicates++;
		return;
	}
	/* The target answered: our packet got through (rizin does the same). */
	if (k->send_state == KDCOM_SEND_AWAIT_ACK)
		complete_send(k);
	k->recv_id = base ^ 1;
	k->have_last = true;
	k->last_type = type;
	k->last_length = length;
	k->last_checksum = checksum;
	deliver(k, type, length);
}

/* A complete data frame is in header + payload. */
static void handle_data_frame(struct kdcom *k)
{
	uint16_t type = le_get16(k->header + 4);
	uint16_t length = le_get16(k->header + 6);
	uint32_t id = le_get32(k->header + 8);
	uint32_t checksum = le_get32(k->header + 12);

	if (kdcom_checksum(k->payload, length) != checksum) {
		k->stats.bad_checksums++;
		request_resend(k);
		return;
	}
	/* Stricter: the type is outside the checksum; the API number is in. */
	if (!kdcom_type_matches_payload(type, k->payload, length)) {
		k->stats.bad_frames++;
		request_resend(k);
		return;
	}
	k->debugger_present = true;
	if (k->config.role == KDCOM_TARGET)
		target_data(k, type, length, id);
	else
		debugger_data(k, type, length, id, checksum);
}

/* The 16 header bytes are in. */
static void handle_header(struct kdcom *k, uint64_t now)
{
	uint32_t leader = le_get32(k->header);
	uint16_t type = le_get16(k->header + 4);
	uint16_t count = le_get16(k->header + 6);

	if (leader == KDCOM_CONTROL_LEADER) {
		restart_parser(k);
		handle_control(k, type, count, le_get32(k->header + 8), le_get32(k->header + 12), now);
		return;
	}
	if (count > KDCOM_MAX_PAYLOAD || !kdcom_is_data_type(type)) {
		k->stats.bad_frames++;
		request_resend(k);
		restart_parser(k);
		return;
	}
	k->payload_fill = 0;
	k->parse_state = count ? KDCOM_READ_PAYLOAD : KDCOM_READ_TRAILER;
}

static void scan_leader(struct kdcom *k, uint8_t b, uint64_t now)
{
	if (b == KDCOM_DATA_LEADER_BYTE || b == KDCOM_CONTROL_LEADER_BYTE) {
		if (k->leader_count && b != k->leader_byte) {
			k->stats.garbage_bytes += k->leader_count;
			k->leader_count = 0;
		}
		k->leader_byte = b;
		if (++k->leader_count == 4) {
			for (int i = 0; i < 4; i++)
				k->header[i] = b;
			k->header_fill = 4;
			k->parse_state = KDCOM_READ_HEADER;
			k->frame_deadline = now + k->config.resend_timeout;
		}
		return;
	}
	k->stats.garbage_bytes += k->leader_count;
	k->leader_count = 0;
	if (b == KDCOM_BREAKIN_BYTE && k->config.role == KDCOM_TARGET) {
		k->stats.breakins++;
		if (!k->breakin_pending)
			push_event(k, KDCOM_EVENT_BREAKIN);
		k->breakin_pending = true;
		return;
	}
	k->stats.garbage_bytes++;
}

size_t kdcom_input(struct kdcom *k, const void *data, size_t length, uint64_t now)
{
	const uint8_t *p = data;
	size_t used = 0;

	/* Stop at every event: the caller's answer (say, kdcom_expect after
	 * SENT) must be in place before the bytes behind it are read, as a
	 * kernel's next KdReceivePacket comes before the UART is read again. */
	while (used < length && !k->event_count) {
		switch (k->parse_state) {
		case KDCOM_SCAN_LEADER:
			scan_leader(k, p[used++], now);
			break;
		case KDCOM_READ_HEADER:
			k->header[k->header_fill++] = p[used++];
			k->frame_deadline = now + k->config.resend_timeout;
			if (k->header_fill == KDCOM_HEADER_SIZE)
				handle_header(k, now);
			break;
		case KDCOM_READ_PAYLOAD: {
			size_t want = le_get16(k->header + 6) - k->payload_fill;
			size_t take = length - used < want ? length - used : want;
			copy_bytes(k->payload + k->payload_fill, p + used, take);
			k->payload_fill = (uint16_t)(k->payload_fill + take);
			used += take;
			k->frame_deadline = now + k->config.resend_timeout;
			if (k->payload_fill == le_get16(k->header + 6))
				k->parse_state = KDCOM_READ_TRAILER;
			break;
		}
		case KDCOM_READ_TRAILER:
			restart_parser(k);
			if (p[used++] != KDCOM_TRAILER) {
				k->stats.bad_frames++;
				request_resend(k);
			} else {
				handle_data_frame(k);
			}
			break;
		}
	}
	return used;
}

/*
 * kdser.c -- the guest's serial KD transport (see kdser.h).
 *
 * Everything is polled, as kdcom.dll polls: the kernel calls us with
 * interrupts in whatever state the debugger found them, so the UART's own
 * interrupt is never used. The line status register is read before every
 * byte in either direction, and a byte that has arrived is taken whenever
 * it is read, also while we wait to transmit: the UART holds only 16, and
 * a debugger does not stop talking while we write a 4000-byte packet.
 */
#include "kdser.h"

#include "bxkd/kdcom.h"

/* Freestanding: the compiler's own, no C library. */
#define copy_bytes(dst, src, n) __builtin_memcpy((dst), (src), (n))
#define zero_bytes(dst, n) __builtin_memset((dst), 0, (n))

/* What the receive FIFO can hold: all that a RESET can leave behind in the
 * UART itself. */
#define UART_FIFO_DEPTH 16u

static uint8_t reg_in(const struct kdser *kd, uint16_t reg)
{
	return kd->platform.inb(kd->platform.ctx, (uint16_t)(kd->config.port + reg));
}

static void reg_out(const struct kdser *kd, uint16_t reg, uint8_t value)
{
	kd->platform.outb(kd->platform.ctx, (uint16_t)(kd->config.port + reg), value);
}

/* ---- time --------------------------------------------------------------------------- */

/* Split so that neither product overflows, even for a GHz TSC. */
uint64_t kdser_now_ms(const struct kdser *kd)
{
	uint64_t ticks = kd->platform.clock(kd->platform.ctx), hz = kd->config.clock_hz;

	return ticks / hz * 1000 + ticks % hz * 1000 / hz;
}

static uint64_t ticks_in_ms(const struct kdser *kd, uint32_t ms)
{
	uint64_t hz = kd->config.clock_hz;

	return ms / 1000 * hz + ms % 1000 * hz / 1000;
}

/* The first tick at which kdser_now_ms() says `ms`: a wait ends when kdlink,
 * which counts in milliseconds, sees its deadline, not up to one later. */
static uint64_t tick_of_ms(const struct kdser *kd, uint64_t ms)
{
	uint64_t hz = kd->config.clock_hz;

	return ms / 1000 * hz + (ms % 1000 * hz + 999) / 1000;
}

static uint64_t ticks_now(const struct kdser *kd)
{
	return kd->platform.clock(kd->platform.ctx);
}

/* ---- the UART ------------------------------------------------------------------------- */

/* Reads the line status and, if a byte has arrived, takes it into our
 * buffer, so that every look at the UART also empties it. */
static uint8_t line_status(struct kdser *kd)
{
	uint8_t lsr = reg_in(kd, KDSER_LSR);

	if (lsr & KDSER_LSR_ERRORS)
		kd->stats.line_errors++;
	if (lsr & KDSER_LSR_DR) {
		uint8_t byte = reg_in(kd, KDSER_RBR);
		if (kd->received_count == KDSER_RECEIVE_BUFFER) {
			/* Only while we write: reading stops when it is full. The
			 * KDCOM framing recovers the packet it belonged to. */
			kd->stats.receive_overflows++;
		} else {
			kd->received[(kd->received_start + kd->received_count) %
				     KDSER_RECEIVE_BUFFER] = byte;
			kd->received_count++;
			kd->stats.bytes_read++;
		}
	}
	return lsr;
}

/* Takes what the UART has, while there is room for it. */
static void take_arrived_bytes(struct kdser *kd)
{
	while (kd->received_count < KDSER_RECEIVE_BUFFER && (line_status(kd) & KDSER_LSR_DR))
		;
}

static size_t hand_over(struct kdser *kd, uint8_t *to, size_t capacity)
{
	size_t n = 0;

	while (n < capacity && kd->received_count) {
		to[n++] = kd->received[kd->received_start];
		kd->received_start = (kd->received_start + 1) % KDSER_RECEIVE_BUFFER;
		kd->received_count--;
	}
	return n;
}

static bool transmitter_ready(struct kdser *kd)
{
	if (line_status(kd) & KDSER_LSR_THRE)
		return true;
	uint64_t give_up = ticks_now(kd) + ticks_in_ms(kd, KDSER_TRANSMIT_STALL_MS);
	while (!(line_status(kd) & KDSER_LSR_THRE)) {
		if (ticks_now(kd) >= give_up)
			return false;
	}
	return true;
}

/* ---- the UART as kdlink's channel ------------------------------------------------------- */

static enum kdlink_read_status channel_read(void *ctx, void *buffer, size_t capacity,
					    size_t *length, int32_t wait_ms)
{
	struct kdser *kd = ctx;
	uint64_t deadline =
		wait_ms < 0 ? UINT64_MAX : tick_of_ms(kd, kdser_now_ms(kd) + (uint32_t)wait_ms);

	for (;;) {
		take_arrived_bytes(kd);
		if (kd->received_count)
			break;
		if (ticks_now(kd) >= deadline) {
			*length = 0;
			return KDLINK_READ_NOTHING;
		}
	}
	*length = hand_over(kd, buffer, capacity);
	return KDLINK_READ_DATA;
}

static void channel_write(void *ctx, const void *bytes, size_t length)
{
	struct kdser *kd = ctx;
	const uint8_t *p = bytes;

	for (size_t i = 0; i < length; i++) {
		if (!transmitter_ready(kd)) {
			kd->stats.transmit_stalls++;
			kd->stats.bytes_unsent += length - i;
			return;
		}
		reg_out(kd, KDSER_THR, p[i]);
		kd->stats.bytes_written++;
	}
}

static uint64_t channel_now_ms(void *ctx)
{
	return kdser_now_ms(ctx);
}

/* What came before the debugger's RESET is stale: our buffer, and what the
 * FIFO holds now, read into it and forgotten with it. At most a FIFO's
 * worth: a line that keeps talking must not keep us here. */
static void channel_link_reset(void *ctx)
{
	struct kdser *kd = ctx;

	for (unsigned i = 0; i < UART_FIFO_DEPTH && kd->received_count < KDSER_RECEIVE_BUFFER &&
			     (line_status(kd) & KDSER_LSR_DR);
	     i++)
		;
	kd->received_start = kd->received_count = 0;
}

/* ---- setup ------------------------------------------------------------------------------ */

void kdser_config_init(struct kdser_config *config, uint64_t clock_hz)
{
	config->port = KDSER_COM1;
	config->clock_hz = clock_hz;
	config->receive_timeout_ms = KDSER_DEFAULT_RECEIVE_TIMEOUT_MS;
	config->resend_timeout_ms = KDSER_DEFAULT_RESEND_TIMEOUT_MS;
	config->retries = KDSER_DEFAULT_RETRIES;
}

static void program_uart(const struct kdser *kd)
{
	uint16_t divisor = KDSER_UART_CLOCK_DIVISOR_BASE / KDSER_BAUD;

	/* Polled: no interrupt sources, and OUT2 (the PC's IRQ gate) off. */
	reg_out(kd, KDSER_IER, 0);
	reg_out(kd, KDSER_LCR, KDSER_LCR_DLAB);
	reg_out(kd, KDSER_DLL, (uint8_t)divisor);
	reg_out(kd, KDSER_DLM, (uint8_t)(divisor >> 8));
	reg_out(kd, KDSER_LCR, KDSER_LCR_8N1);
	/* Start clean: what arrived before the kernel was ready is noise
	 * to it, and a debugger that waits keeps sending RESETs anyway. */
	reg_out(kd, KDSER_FCR, KDSER_FCR_ENABLE | KDSER_FCR_CLEAR_RX | KDSER_FCR_CLEAR_TX);
	reg_out(kd, KDSER_MCR, KDSER_MCR_DTR | KDSER_MCR_RTS);
}

enum kdser_init_status kdser_initialize(struct kdser *kd, const struct kdser_platform *platform,
					const struct kdser_config *config)
{
	zero_bytes(kd, sizeof(*kd));
	if (!config->clock_hz || !config->receive_timeout_ms || !config->resend_timeout_ms)
		return KDSER_INIT_BAD_CONFIG;
	kd->platform = *platform;
	kd->config = *config;

	program_uart(kd);
	/* An empty port reads all ones. */
	if (reg_in(kd, KDSER_LCR) != KDSER_LCR_8N1 || reg_in(kd, KDSER_IER) != 0)
		return KDSER_INIT_NO_UART;

	const struct kdlink_channel channel = {
		.ctx = kd,
		.read = channel_read,
		.write = channel_write,
		.now_ms = channel_now_ms,
		/* A serial line cannot tell whether anyone listens. */
		.peer_absent = 0,
		.link_reset = channel_link_reset,
	};
	kdlink_init(&kd->link, &channel, config->resend_timeout_ms, config->retries);
	kd->ready = true;
	return KDSER_INIT_OK;
}

/* ---- KdSendPacket / KdReceivePacket ------------------------------------------------------ */

static uint32_t string_length(const struct kd_string *s)
{
	return s && s->buffer ? s->length : 0;
}

void kdser_send_packet(struct kdser *kd, uint32_t packet_type, const struct kd_string *header,
		       const struct kd_string *data, struct kd_context *kd_context)
{
	uint32_t header_length = string_length(header);
	uint32_t data_length = string_length(data);

	if (!kd->ready || !kdcom_type_is_data(packet_type) ||
	    header_length + data_length > KDCOM_MAX_PAYLOAD) {
		kd->stats.rejected++;
		return;
	}
	if (kd_context && kd_context->retries)
		kdlink_set_retries(&kd->link, kd_context->retries);
	kd->stats.sends++;
	/* DROPPED shows in kdser_debugger_present; ABANDONED in the next
	 * receive, which says NeedsResend. */
	if (kdlink_send(&kd->link, (uint16_t)packet_type, header_length ? header->buffer : 0,
			header_length, data_length ? data->buffer : 0, data_length) ==
	    KD_INVALID)
		kd->stats.rejected++;
}

/* The answer is the result. KdpControlCPending is not set as well: the
 * stub would then see the one break-in twice (kdvm_transport.c does the same). */
static enum kd_outcome poll_breakin(struct kdser *kd)
{
	kd->stats.polls++;
	if (!kd->ready || !kdlink_poll_breakin(&kd->link))
		return KD_TIMED_OUT;
	return KD_OK;
}

enum kd_outcome kdser_receive_packet(struct kdser *kd, uint32_t packet_type,
				    struct kd_string *header, struct kd_string *data,
				    uint32_t *data_length, struct kd_context *kd_context)
{
	(void)kd_context;
	if (packet_type == KDCOM_TYPE_POLL_BREAKIN)
		return poll_breakin(kd);
	/* ACK, RESEND and RESET are the link's business; nobody asks us. */
	if (!kd->ready || !header || !header->buffer ||
	    header->maximum_length > KDCOM_MAX_PAYLOAD || !kdcom_type_is_data(packet_type)) {
		kd->stats.rejected++;
		return KD_TIMED_OUT;
	}
	bool have_data = data && data->buffer;
	size_t got = 0;

	kd->stats.receives++;
	enum kd_outcome outcome =
		kdlink_receive(&kd->link, (uint16_t)packet_type, header->buffer,
			       header->maximum_length, have_data ? data->buffer : 0,
			       have_data ? data->maximum_length : 0, &got,
			       kd->config.receive_timeout_ms);
	/* KdReceivePacket has only KDSTATUS to say: a refused call is a
	 * timeout to the kernel. */
	if (outcome != KD_OK)
		return outcome == KD_NEEDS_RESEND ? KD_NEEDS_RESEND : KD_TIMED_OUT;
	/* kdlink took only a packet that fits both buffers exactly. */
	header->length = header->maximum_length;
	if (have_data)
		data->length = (uint16_t)got;
	if (data_length)
		*data_length = (uint32_t)got;
	return KD_OK;
}

bool kdser_debugger_present(const struct kdser *kd)
{
	return kd->ready && kdlink_debugger_present(&kd->link);
}

const struct kdcom_stats *kdser_link_stats(const struct kdser *kd)
{
	return kdlink_stats(&kd->link);
}

/* ---- as the KD stub's transport ------------------------------------------------ */

static void transport_send(void *ctx, uint32_t packet_type, const struct kd_string *header,
			   const struct kd_string *data, struct kd_context *kd_context)
{
	kdser_send_packet(ctx, packet_type, header, data, kd_context);
}

static enum kd_outcome transport_receive(void *ctx, uint32_t packet_type, struct kd_string *header,
					struct kd_string *data, uint32_t *data_length,
					struct kd_context *kd_context)
{
	return kdser_receive_packet(ctx, packet_type, header, data, data_length, kd_context);
}

static bool transport_debugger_present(void *ctx)
{
	return kdser_debugger_present(ctx);
}

void kdser_as_transport(struct kdser *kd, struct kd_transport *transport)
{
	transport->ctx = kd;
	transport->send_packet = transport_send;
	transport->receive_packet = transport_receive;
	transport->debugger_present = transport_debugger_present;
}

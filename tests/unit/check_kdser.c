/*
 * check_kdser.c -- the guest's serial KD transport (guest/kdser/kdser.c)
 * on a fake 16550 whose wire ends in a KDCOM engine in the debugger role.
 *
 * Time is the fake's: each read of the line status register is one byte
 * time at 115200 baud (10 bits, 86.75 us at the 4 MHz TSC the Bochs tests
 * run), in which the transmitter puts the byte it holds on the wire, the
 * debugger hears it and answers, and one byte of the debugger's reaches
 * the receive FIFO. So a test's timings are exact and its runs identical,
 * and a transport that waited without polling would never see time pass.
 */
#include "config.h"

#include <check.h>
#include <string.h>

#include "bxkd/dbgkd.h"
#include "bxkd/kdcom.h"
#include "kdcom_engine.h"
#include "kdser.h"
#include "kd_test_bytes.h"
#include "suites.h"
#include "testcases.h"

#define CLOCK_HZ 4000000u
#define BYTE_TICKS (CLOCK_HZ * KDSER_BITS_PER_BYTE / KDSER_BAUD)
#define START_TICKS 1000000000u /* 250 s: a clock that does not start at 0 */
#define UART_FIFO 16u
#define DEBUGGER_RESEND_MS 500u
#define WIRE_CAPACITY 65536u
#define PACKETS_KEPT 8u
#define MANIPULATE_HEADER 56u
#define DEBUG_IO_HEADER 16u
#define STATE_CHANGE_HEADER 240u
#define KD64_DATA_ROOM 0x1000u
#define GUARD_BYTES 64u

/* ---- the fake 16550 --------------------------------------------------------------- */

static struct {
	bool absent; /* nothing at the port: every read is all ones */
	uint8_t ier, lcr, mcr, fcr, dll, dlm, scr;
	bool divisor_written_under_dlab[2];
	unsigned writes_outside_the_uart;
	uint8_t rx[UART_FIFO];
	unsigned rx_start, rx_count;
	bool overrun;	       /* LSR.OE until the LSR is read */
	unsigned bytes_overrun; /* lost because the FIFO was full */
	bool tx_busy;
	uint8_t tx_byte;
	bool tx_stuck; /* a transmitter that never empties */
	unsigned thr_writes_while_busy; /* a driver that did not wait for THRE */
	unsigned rbr_reads_while_empty;
	uint64_t lsr_reads;
} uart;

/* ---- the wire and the debugger at its far end -------------------------------------- */

enum direction { T2D, D2T };
enum damage_kind { DROP, FLIP };

struct packet {
	uint16_t type, length;
	uint8_t payload[KDCOM_MAX_PAYLOAD];
};

static struct {
	uint64_t ticks;
	/* Nobody at the far end: the target's bytes go nowhere, nothing comes. */
	bool absent;
	uint64_t arrives_at_ms; /* ... until then (0: never) */
	/* Hears nothing but still talks. */
	bool deaf;
	uint8_t d2t[WIRE_CAPACITY];
	size_t d2t_start, d2t_length;
	/* Bytes each way so far, to place damage. */
	uint64_t sent[2];
	bool damage_armed;
	enum direction damage_direction;
	uint64_t damage_at;
	enum damage_kind damage_kind;
	/* What the debugger's engine reported. */
	struct packet packets[PACKETS_KEPT];
	unsigned packet_count;
	unsigned sent_events, send_failures, resets, resends;
} wire;

static struct kdcom debugger;
static struct kdser kd;
static struct kdser_config config;

/* The caller's buffers, each followed by guard bytes. */
static uint8_t header_buffer[KDCOM_MAX_PAYLOAD + GUARD_BYTES];
static uint8_t data_buffer[KD64_DATA_ROOM + GUARD_BYTES];

static uint64_t now_ms(void)
{
	return wire.ticks / (CLOCK_HZ / 1000);
}

static void start_debugger(void)
{
	struct kdcom_config c;

	kdcom_config_init(&c, KDCOM_DEBUGGER, DEBUGGER_RESEND_MS);
	kdcom_init(&debugger, &c);
}

static void debugger_events(void)
{
	struct kdcom_event e;

	while (kdcom_next_event(&debugger, &e)) {
		switch (e.kind) {
		case KDCOM_EVENT_PACKET: {
			ck_assert_uint_lt(wire.packet_count, PACKETS_KEPT);
			struct packet *p = &wire.packets[wire.packet_count++];
			p->type = e.type;
			p->length = e.length;
			memcpy(p->payload, e.payload, e.length);
			break;
		}
		case KDCOM_EVENT_SENT:
			wire.sent_events++;
			break;
		case KDCOM_EVENT_SEND_FAILED:
			wire.send_failures++;
			break;
		case KDCOM_EVENT_RESET:
			wire.resets++;
			break;
		case KDCOM_EVENT_RESEND:
			wire.resends++;
			break;
		default:
			break;
		}
	}
}

/* The byte as the wire delivers it: false if the damage ate it. */
static bool carry(enum direction direction, uint8_t *byte)
{
	uint64_t index = wire.sent[direction]++;

	if (!wire.damage_armed || wire.damage_direction != direction || wire.damage_at != index)
		return true;
	wire.damage_armed = false;
	if (wire.damage_kind == DROP)
		return false;
	*byte ^= 0xff;
	return true;
}

static void debugger_hears(uint8_t byte)
{
	if (wire.absent || wire.deaf || !carry(T2D, &byte))
		return;
	debugger_events();
	/* No ck_assert on paths taken for every byte: each one costs Check a
	 * message to its log, seconds over a test. */
	if (kdcom_input(&debugger, &byte, 1, now_ms()) != 1)
		ck_abort_msg("the debugger's engine did not take a byte");
	debugger_events();
}

static void debugger_talks(void)
{
	const uint8_t *bytes;
	size_t n;

	while ((n = kdcom_output(&debugger, &bytes)) > 0) {
		for (size_t i = 0; i < n; i++) {
			uint8_t byte = bytes[i];
			if (!carry(D2T, &byte))
				continue;
			if (wire.d2t_length == WIRE_CAPACITY)
				ck_abort_msg("the debugger sent more than the wire holds");
			wire.d2t[(wire.d2t_start + wire.d2t_length++) % WIRE_CAPACITY] = byte;
		}
		kdcom_output_consumed(&debugger, n);
	}
}

/* One byte time: a byte each way, and the debugger's part in between. */
static void byte_time_passes(void)
{
	wire.ticks += BYTE_TICKS;
	if (wire.absent && wire.arrives_at_ms && now_ms() >= wire.arrives_at_ms) {
		wire.absent = false;
		start_debugger();
	}
	if (uart.tx_busy && !uart.tx_stuck) {
		uart.tx_busy = false;
		debugger_hears(uart.tx_byte);
	}
	if (!wire.absent) {
		kdcom_tick(&debugger, now_ms());
		debugger_events();
		debugger_talks();
	}
	if (wire.d2t_length) {
		uint8_t byte = wire.d2t[wire.d2t_start];
		wire.d2t_start = (wire.d2t_start + 1) % WIRE_CAPACITY;
		wire.d2t_length--;
		if (uart.rx_count == UART_FIFO) {
			uart.overrun = true;
			uart.bytes_overrun++;
		} else {
			uart.rx[(uart.rx_start + uart.rx_count++) % UART_FIFO] = byte;
		}
	}
}

/* Bytes the debugger's UART sends that its engine did not make. */
static void line_carries(uint8_t byte)
{
	ck_assert_uint_lt(wire.d2t_length, WIRE_CAPACITY);
	wire.d2t[(wire.d2t_start + wire.d2t_length++) % WIRE_CAPACITY] = byte;
}

/* Time the kernel spends elsewhere: nobody reads the UART meanwhile. */
static void time_passes(unsigned byte_times)
{
	while (byte_times--)
		byte_time_passes();
}

static bool line_quiet(void)
{
	const uint8_t *bytes;

	return !uart.tx_busy && !wire.d2t_length && !kdcom_output(&debugger, &bytes);
}

/* Lets what is on the line arrive; the kernel does not poll meanwhile. */
static void let_the_line_settle(void)
{
	for (unsigned i = 0; i < 100000 && !line_quiet(); i++)
		byte_time_passes();
	ck_assert(line_quiet());
}

static uint8_t fake_inb(void *ctx, uint16_t port)
{
	bool dlab = uart.lcr & KDSER_LCR_DLAB;

	(void)ctx;
	if (uart.absent)
		return 0xff;
	switch (port - KDSER_COM1) {
	case KDSER_RBR:
		if (dlab)
			return uart.dll;
		if (!uart.rx_count) {
			uart.rbr_reads_while_empty++;
			return 0;
		} else {
			uint8_t byte = uart.rx[uart.rx_start];
			uart.rx_start = (uart.rx_start + 1) % UART_FIFO;
			uart.rx_count--;
			return byte;
		}
	case KDSER_IER:
		return dlab ? uart.dlm : uart.ier;
	case KDSER_IIR:
		return uart.fcr & KDSER_FCR_ENABLE ? 0xc1 : 0x01; /* no interrupt pending */
	case KDSER_LCR:
		return uart.lcr;
	case KDSER_MCR:
		return uart.mcr;
	case KDSER_LSR: {
		uart.lsr_reads++;
		byte_time_passes();
		uint8_t lsr = (uint8_t)((uart.rx_count ? KDSER_LSR_DR : 0) |
					(uart.overrun ? KDSER_LSR_OE : 0) |
					(uart.tx_busy ? 0 : KDSER_LSR_THRE | 0x40));
		uart.overrun = false;
		return lsr;
	}
	case 6:
		return 0xb0; /* MSR: CTS, DSR, DCD */
	case 7:
		return uart.scr;
	}
	return 0xff;
}

static void fake_outb(void *ctx, uint16_t port, uint8_t value)
{
	bool dlab = uart.lcr & KDSER_LCR_DLAB;

	(void)ctx;
	switch (port - KDSER_COM1) {
	case KDSER_THR:
		if (dlab) {
			uart.dll = value;
			uart.divisor_written_under_dlab[0] = true;
		} else if (uart.tx_busy) {
			uart.thr_writes_while_busy++;
		} else {
			uart.tx_busy = true;
			uart.tx_byte = value;
		}
		return;
	case KDSER_IER:
		if (dlab) {
			uart.dlm = value;
			uart.divisor_written_under_dlab[1] = true;
		} else {
			uart.ier = value;
		}
		return;
	case KDSER_FCR:
		uart.fcr = value;
		if (value & KDSER_FCR_CLEAR_RX)
			uart.rx_start = uart.rx_count = 0;
		return;
	case KDSER_LCR:
		uart.lcr = value;
		return;
	case KDSER_MCR:
		uart.mcr = value;
		return;
	case 7:
		uart.scr = value;
		return;
	default:
		uart.writes_outside_the_uart++;
		return;
	}
}

static uint64_t fake_clock(void *ctx)
{
	(void)ctx;
	return wire.ticks;
}

static const struct kdser_platform platform = {
	.ctx = NULL,
	.inb = fake_inb,
	.outb = fake_outb,
	.clock = fake_clock,
};

/* ---- fixture ------------------------------------------------------------------------- */

static void setup(void)
{
	memset(&uart, 0, sizeof(uart));
	memset(&wire, 0, sizeof(wire));
	memset(&kd, 0, sizeof(kd));
	wire.ticks = START_TICKS;
	start_debugger();
	kdser_config_init(&config, CLOCK_HZ);
}

static void start_transport(void)
{
	ck_assert_int_eq(kdser_initialize(&kd, &platform, &config), KDSER_INIT_OK);
}

/* Whatever a test did, the driver never wrote over a byte still being
 * sent, never read an empty receiver, and never let the FIFO overrun. */
static void teardown(void)
{
	ck_assert_uint_eq(uart.thr_writes_while_busy, 0);
	ck_assert_uint_eq(uart.rbr_reads_while_empty, 0);
	ck_assert_uint_eq(uart.writes_outside_the_uart, 0);
	ck_assert_uint_eq(uart.bytes_overrun, 0);
}

/* ---- packets ------------------------------------------------------------------------- */

static void fill_pattern(uint8_t *bytes, size_t n, uint8_t salt)
{
	for (size_t i = 0; i < n; i++)
		bytes[i] = (uint8_t)(i * 13u + (i >> 8) + salt);
}

/* A header the engines take for its type: the API number comes first. */
static void fill_header(uint8_t *header, size_t n, uint32_t api, uint8_t salt)
{
	fill_pattern(header, n, salt);
	memcpy(header, &api, sizeof(api));
}

static void fill_guards(void)
{
	kd_test_guard(header_buffer, sizeof(header_buffer));
	kd_test_guard(data_buffer, sizeof(data_buffer));
}

static void send(uint32_t type, const uint8_t *header, uint16_t header_length,
		 const uint8_t *data, uint16_t data_length)
{
	struct kd_string h = { header_length, header_length, (uint8_t *)header };
	struct kd_string d = { data_length, data_length, (uint8_t *)data };
	struct kd_context context = { .retries = 20 };

	kdser_send_packet(&kd, type, &h, data ? &d : NULL, &context);
}

static void send_print(const char *text)
{
	uint8_t header[DEBUG_IO_HEADER];
	uint16_t length = (uint16_t)strlen(text);

	fill_header(header, sizeof(header), DBGKD_PRINT_STRING_API, 0);
	memcpy(header + 8, &(uint32_t){ length }, 4);
	send(KDCOM_TYPE_DEBUG_IO, header, DEBUG_IO_HEADER, (const uint8_t *)text, length);
}

/* How long, on the fake clock, sending a debug print took. */
static uint64_t ms_to_send_print(const char *text)
{
	uint64_t start = now_ms();

	send_print(text);
	return now_ms() - start;
}

static void send_state_change(void)
{
	uint8_t header[STATE_CHANGE_HEADER];

	fill_header(header, sizeof(header), DBGKD_EXCEPTION_STATE_CHANGE, 7);
	send(KDCOM_TYPE_STATE_CHANGE64, header, STATE_CHANGE_HEADER, NULL, 0);
}

/* KdReceivePacket as kd64's manipulate loop calls it. */
static enum kd_outcome receive(uint16_t data_room, uint32_t *data_length)
{
	struct kd_string header = { 0x5555, MANIPULATE_HEADER, header_buffer };
	struct kd_string data = { 0x5555, data_room, data_buffer };
	struct kd_context context = { .retries = 20 };

	*data_length = 0x5555;
	return kdser_receive_packet(&kd, KDCOM_TYPE_STATE_MANIPULATE, &header, &data,
				    data_length, &context);
}

static bool poll_breakin(struct kd_context *context)
{
	return kdser_receive_packet(&kd, KDCOM_TYPE_POLL_BREAKIN, NULL, NULL, NULL, context) ==
	       KD_OK;
}

/* The debugger sends once the line is quiet and its last packet is through. */
static void debugger_sends(uint16_t type, const uint8_t *header, size_t header_length,
			   const uint8_t *data, size_t data_length)
{
	let_the_line_settle();
	ck_assert_int_eq(kdcom_send(&debugger, type, header, header_length, data, data_length,
				    now_ms()),
			 KDCOM_SEND_STARTED);
}

static void assert_debugger_got(unsigned index, uint16_t type, const uint8_t *header,
				size_t header_length, const uint8_t *data, size_t data_length)
{
	ck_assert_uint_gt(wire.packet_count, index);
	const struct packet *p = &wire.packets[index];
	ck_assert_uint_eq(p->type, type);
	ck_assert_uint_eq(p->length, header_length + data_length);
	ck_assert(!memcmp(p->payload, header, header_length));
	ck_assert_msg(!memcmp(p->payload + header_length, data, data_length),
		      "data of length %zu differs", data_length);
}

/* ---- initialisation ------------------------------------------------------------------ */

START_TEST(initialisation_programs_115200_8n1_with_the_fifo_and_no_interrupts)
{
	start_transport();
	/* The divisor went into the latch, not into THR and IER. */
	ck_assert(uart.divisor_written_under_dlab[0] && uart.divisor_written_under_dlab[1]);
	uint16_t divisor = (uint16_t)(uart.dll | uart.dlm << 8);
	ck_assert_uint_eq(divisor, 1);
	ck_assert_uint_eq(KDSER_UART_CLOCK_DIVISOR_BASE / divisor, 115200);
	/* 8 data bits, no parity, 1 stop bit, and the latch closed again. */
	ck_assert_uint_eq(uart.lcr, KDSER_LCR_8N1);
	ck_assert(uart.fcr & KDSER_FCR_ENABLE);
	/* Polled: no interrupt source, and the IRQ gate closed. */
	ck_assert_uint_eq(uart.ier, 0);
	ck_assert_uint_eq(uart.mcr & KDSER_MCR_OUT2, 0);
	ck_assert_uint_eq(uart.mcr, KDSER_MCR_DTR | KDSER_MCR_RTS);
	/* Nothing sent, nobody told anything yet. */
	ck_assert(!uart.tx_busy);
	ck_assert_uint_eq(wire.sent[T2D], 0);
	ck_assert(kdser_debugger_present(&kd));
}
END_TEST

START_TEST(initialisation_without_a_uart_fails_and_the_calls_do_nothing)
{
	struct kd_context context = { .retries = 20 };
	uint32_t data_length;

	uart.absent = true;
	ck_assert_int_eq(kdser_initialize(&kd, &platform, &config), KDSER_INIT_NO_UART);
	ck_assert(!kdser_debugger_present(&kd));
	uint64_t before = wire.ticks;
	send_print("nobody\n");
	ck_assert_int_eq(receive(KD64_DATA_ROOM, &data_length), KD_TIMED_OUT);
	ck_assert(!poll_breakin(&context));
	ck_assert_uint_eq(wire.ticks, before);
	ck_assert_uint_eq(kd.stats.rejected, 2);
}
END_TEST

START_TEST(initialisation_without_a_clock_rate_is_refused)
{
	config.clock_hz = 0;
	ck_assert_int_eq(kdser_initialize(&kd, &platform, &config), KDSER_INIT_BAD_CONFIG);
	kdser_config_init(&config, CLOCK_HZ);
	config.resend_timeout_ms = 0;
	ck_assert_int_eq(kdser_initialize(&kd, &platform, &config), KDSER_INIT_BAD_CONFIG);
	ck_assert(!kd.ready);
}
END_TEST

/* ---- packets both ways ------------------------------------------------------------------ */

/* DbgPrint's packets: a 16-byte DBGKD_DEBUG_IO and up to 3984 bytes. */
START_TEST(send_of_every_length_arrives_byte_identical)
{
	static uint8_t data[KDCOM_MAX_PAYLOAD];
	uint8_t header[DEBUG_IO_HEADER];

	start_transport();
	for (uint16_t n = 0; n <= KDCOM_MAX_PAYLOAD - DEBUG_IO_HEADER; n++) {
		fill_header(header, sizeof(header), DBGKD_PRINT_STRING_API, (uint8_t)n);
		fill_pattern(data, n, (uint8_t)(n >> 3));
		wire.packet_count = 0;
		uint64_t start = wire.ticks;

		send(KDCOM_TYPE_DEBUG_IO, header, DEBUG_IO_HEADER, data, n);

		ck_assert_uint_eq(wire.packet_count, 1);
		assert_debugger_got(0, KDCOM_TYPE_DEBUG_IO, header, DEBUG_IO_HEADER, data, n);
		/* The frame, then the debugger's 16-byte ACK: one byte time
		 * each, and a look at the line to see that nothing follows. */
		uint64_t frame = KDCOM_HEADER_SIZE + DEBUG_IO_HEADER + n + 1u;
		ck_assert_uint_eq(wire.ticks - start, (frame + KDCOM_HEADER_SIZE + 1) * BYTE_TICKS);
	}
	ck_assert_uint_eq(kdser_link_stats(&kd)->packets_sent,
			  KDCOM_MAX_PAYLOAD - DEBUG_IO_HEADER + 1);
	ck_assert_uint_eq(kdser_link_stats(&kd)->retransmissions, 0);
	ck_assert_uint_eq(kd.stats.rejected, 0);
	ck_assert(kdser_debugger_present(&kd));
}
END_TEST

/* The manipulate loop's receives: a 56-byte header and every amount of
 * data; odd lengths with a data room of exactly the packet's size. */
START_TEST(receive_of_every_length_arrives_byte_identical)
{
	static uint8_t sent_data[KDCOM_MAX_PAYLOAD];
	uint8_t sent_header[MANIPULATE_HEADER];
	uint32_t data_length;

	start_transport();
	for (uint16_t n = 0; n <= KDCOM_MAX_PAYLOAD - MANIPULATE_HEADER; n++) {
		uint16_t room = n % 2 ? n : KD64_DATA_ROOM;
		fill_header(sent_header, sizeof(sent_header), DBGKD_READ_VIRTUAL_MEMORY_API,
			    (uint8_t)(n + 1));
		fill_pattern(sent_data, n, (uint8_t)(n * 3));
		debugger_sends(KDCOM_TYPE_STATE_MANIPULATE, sent_header, MANIPULATE_HEADER,
			       sent_data, n);
		fill_guards();

		ck_assert_int_eq(receive(room, &data_length), KD_OK);

		ck_assert_uint_eq(data_length, n);
		ck_assert(!memcmp(header_buffer, sent_header, MANIPULATE_HEADER));
		ck_assert_msg(!memcmp(data_buffer, sent_data, n), "data of length %u differs", n);
		kd_test_assert_guarded_from(header_buffer, MANIPULATE_HEADER, sizeof(header_buffer));
		kd_test_assert_guarded_from(data_buffer, n, sizeof(data_buffer));
	}
	let_the_line_settle();
	ck_assert_uint_eq(wire.sent_events, KDCOM_MAX_PAYLOAD - MANIPULATE_HEADER + 1);
	ck_assert_uint_eq(debugger.stats.retransmissions, 0);
	ck_assert_uint_eq(kdser_link_stats(&kd)->packets_received,
			  KDCOM_MAX_PAYLOAD - MANIPULATE_HEADER + 1);
}
END_TEST

/* The debugger's packet does not fit: the link asks for it again and the
 * receive times out without touching the caller's buffers. */
START_TEST(a_packet_bigger_than_the_data_room_is_not_delivered)
{
	uint8_t header[MANIPULATE_HEADER];
	uint8_t data[100] = { 0 };
	uint32_t data_length;

	start_transport();
	fill_header(header, sizeof(header), DBGKD_READ_VIRTUAL_MEMORY_API, 1);
	debugger_sends(KDCOM_TYPE_STATE_MANIPULATE, header, sizeof(header), data, sizeof(data));
	fill_guards();
	ck_assert_int_eq(receive(sizeof(data) - 1, &data_length), KD_TIMED_OUT);
	kd_test_assert_guarded_from(header_buffer, 0, sizeof(header_buffer));
	kd_test_assert_guarded_from(data_buffer, 0, sizeof(data_buffer));
	ck_assert_uint_eq(data_length, 0x5555);
	ck_assert_uint_gt(kdser_link_stats(&kd)->resends_requested, 0);
	/* With room for it, the copy sent again arrives. */
	ck_assert_int_eq(receive(sizeof(data), &data_length), KD_OK);
	ck_assert_uint_eq(data_length, sizeof(data));
}
END_TEST

/* ---- a damaged line -------------------------------------------------------------------- */

static uint8_t request_header[MANIPULATE_HEADER], request_data[8];
static uint8_t reply_header[MANIPULATE_HEADER], reply_data[16];

/* One exchange of kd64's manipulate loop: the debugger's request, the
 * target's reply. True if each side got the other's packet exactly once,
 * byte for byte. */
static void exchange(void)
{
	uint32_t data_length;
	enum kd_outcome status = KD_TIMED_OUT;

	debugger_sends(KDCOM_TYPE_STATE_MANIPULATE, request_header, sizeof(request_header),
		       request_data, sizeof(request_data));
	/* kd64 asks again after each time-out. */
	for (int tries = 0; tries < 10 && status != KD_OK; tries++) {
		fill_guards();
		status = receive(KD64_DATA_ROOM, &data_length);
		ck_assert_int_ne(status, KD_NEEDS_RESEND);
	}
	ck_assert_int_eq(status, KD_OK);
	ck_assert_uint_eq(data_length, sizeof(request_data));
	ck_assert(!memcmp(header_buffer, request_header, sizeof(request_header)));
	ck_assert(!memcmp(data_buffer, request_data, sizeof(request_data)));

	send(KDCOM_TYPE_STATE_MANIPULATE, reply_header, sizeof(reply_header), reply_data,
	     sizeof(reply_data));
	/* A damaged ACK of the reply: the target retransmitted, the debugger
	 * dropped the copy; let its second ACK through. */
	let_the_line_settle();
}

/* Every byte of a request, its ACK, the reply and its ACK, lost or flipped
 * in turn: the side that sent it sends it again (after a RESEND or its
 * timeout) and both sides end up with each packet exactly once. */
START_TEST(a_lost_or_damaged_byte_anywhere_is_recovered)
{
	fill_header(request_header, sizeof(request_header), DBGKD_READ_VIRTUAL_MEMORY_API, 3);
	fill_pattern(request_data, sizeof(request_data), 4);
	fill_header(reply_header, sizeof(reply_header), DBGKD_READ_VIRTUAL_MEMORY_API, 5);
	fill_pattern(reply_data, sizeof(reply_data), 6);

	/* The undamaged exchange, to count its bytes each way. */
	start_transport();
	exchange();
	ck_assert_uint_eq(wire.packet_count, 1);
	uint64_t bytes[2] = { wire.sent[T2D], wire.sent[D2T] };
	ck_assert_uint_eq(bytes[D2T], KDCOM_HEADER_SIZE + 64 + 1 + KDCOM_HEADER_SIZE);
	ck_assert_uint_eq(bytes[T2D], KDCOM_HEADER_SIZE + KDCOM_HEADER_SIZE + 72 + 1);

	for (int direction = T2D; direction <= D2T; direction++) {
		for (int kind = DROP; kind <= FLIP; kind++) {
			for (uint64_t at = 0; at < bytes[direction]; at++) {
				setup();
				start_transport();
				wire.damage_armed = true;
				wire.damage_direction = (enum direction)direction;
				wire.damage_kind = (enum damage_kind)kind;
				wire.damage_at = at;

				exchange();

				ck_assert_msg(!wire.damage_armed, "damage at %s byte %u not done",
					      direction == T2D ? "t2d" : "d2t", (unsigned)at);
				ck_assert_msg(wire.packet_count == 1,
					      "%s byte %u %s: the debugger got %u replies",
					      direction == T2D ? "t2d" : "d2t", (unsigned)at,
					      kind == DROP ? "lost" : "flipped", wire.packet_count);
				assert_debugger_got(0, KDCOM_TYPE_STATE_MANIPULATE, reply_header,
						    sizeof(reply_header), reply_data,
						    sizeof(reply_data));
				ck_assert_uint_eq(kdser_link_stats(&kd)->packets_received, 1);
				teardown();
			}
		}
	}
}
END_TEST

/* ---- break-in -------------------------------------------------------------------------- */

START_TEST(poll_for_break_in_is_true_after_the_break_in_byte_only)
{
	struct kd_context context = { .retries = 20 };
	static const uint8_t not_breakin[] = { 'x', 0x00, 0xff, 0x30, 0x69, 0x61, 0x63 };

	start_transport();
	ck_assert(!poll_breakin(&context));
	ck_assert_uint_eq(context.break_in_requested, 0);

	for (size_t i = 0; i < sizeof(not_breakin); i++) {
		line_carries(not_breakin[i]);
		ck_assert_msg(!poll_breakin(&context), "0x%02x taken for a break-in",
			      not_breakin[i]);
		let_the_line_settle();
	}
	ck_assert_uint_eq(context.break_in_requested, 0);

	kdcom_send_breakin(&debugger);
	ck_assert(poll_breakin(&context));
	/* Reported by the result alone, and taken once. */
	ck_assert_uint_eq(context.break_in_requested, 0);
	ck_assert(!poll_breakin(&context));
	ck_assert_uint_eq(context.break_in_requested, 0);

	/* Sent while the kernel runs: it waits in the FIFO for the next poll. */
	kdcom_send_breakin(&debugger);
	time_passes(1000);
	ck_assert(poll_breakin(NULL));
	ck_assert_uint_eq(kd.stats.polls, 4 + sizeof(not_breakin));
}
END_TEST

/* The UART holds 16 bytes; what a debugger sends while we write a long
 * packet is read as we go, so a break-in behind 40 bytes of noise still
 * arrives. */
START_TEST(bytes_that_arrive_while_a_long_packet_is_written_are_kept)
{
	static uint8_t data[3000];

	start_transport();
	for (int i = 0; i < 40; i++)
		line_carries('x');
	line_carries(KDCOM_BREAKIN_BYTE);
	uint8_t header[DEBUG_IO_HEADER];
	fill_header(header, sizeof(header), DBGKD_PRINT_STRING_API, 0);
	send(KDCOM_TYPE_DEBUG_IO, header, DEBUG_IO_HEADER, data, sizeof(data));
	ck_assert_uint_eq(wire.packet_count, 1);
	ck_assert_uint_eq(uart.bytes_overrun, 0);
	ck_assert(poll_breakin(NULL));
}
END_TEST

/* ---- time-outs, resets, nobody there --------------------------------------------------- */

START_TEST(receive_with_nothing_to_receive_times_out)
{
	uint32_t data_length;

	start_transport();
	fill_guards();
	uint64_t start = now_ms();
	ck_assert_int_eq(receive(KD64_DATA_ROOM, &data_length), KD_TIMED_OUT);
	uint64_t waited = now_ms() - start;
	ck_assert_uint_ge(waited, KDSER_DEFAULT_RECEIVE_TIMEOUT_MS);
	ck_assert_uint_le(waited, KDSER_DEFAULT_RECEIVE_TIMEOUT_MS + 1);
	kd_test_assert_guarded_from(header_buffer, 0, sizeof(header_buffer));
	kd_test_assert_guarded_from(data_buffer, 0, sizeof(data_buffer));
	ck_assert_uint_eq(data_length, 0x5555);
	/* The time-out is a parameter. */
	config.receive_timeout_ms = 250;
	start_transport();
	start = now_ms();
	ck_assert_int_eq(receive(KD64_DATA_ROOM, &data_length), KD_TIMED_OUT);
	ck_assert_uint_eq((now_ms() - start) / 10, 25);
}
END_TEST

START_TEST(a_reset_from_the_debugger_makes_a_waiting_receive_need_resend)
{
	uint32_t data_length;
	uint8_t header[MANIPULATE_HEADER];

	start_transport();
	kdcom_send_reset(&debugger, now_ms());
	ck_assert_int_eq(receive(KD64_DATA_ROOM, &data_length), KD_NEEDS_RESEND);
	let_the_line_settle();
	/* The target answered with its own RESET. */
	ck_assert_uint_eq(wire.resets, 1);
	ck_assert_uint_eq(kdser_link_stats(&kd)->resets, 1);

	/* Both restarted their ids: the next request arrives. */
	fill_header(header, sizeof(header), DBGKD_GET_VERSION_API, 9);
	debugger_sends(KDCOM_TYPE_STATE_MANIPULATE, header, sizeof(header), NULL, 0);
	ck_assert_int_eq(receive(KD64_DATA_ROOM, &data_length), KD_OK);
	ck_assert(!memcmp(header_buffer, header, sizeof(header)));
}
END_TEST

/* A debugger that resets while our manipulate reply waits for its ACK has
 * abandoned its request: the reply is given up, and the next receive says
 * NeedsResend so the stub sends its state change again. */
START_TEST(a_reset_that_cuts_off_a_reply_makes_the_next_receive_need_resend)
{
	uint8_t header[MANIPULATE_HEADER];
	uint32_t data_length;

	start_transport();
	fill_header(header, sizeof(header), DBGKD_GET_VERSION_API, 2);
	wire.deaf = true;
	kdcom_send_reset(&debugger, now_ms());
	send(KDCOM_TYPE_STATE_MANIPULATE, header, sizeof(header), NULL, 0);
	ck_assert_uint_eq(kdser_link_stats(&kd)->replies_abandoned, 1);
	ck_assert_int_eq(receive(KD64_DATA_ROOM, &data_length), KD_NEEDS_RESEND);
	ck_assert(kdser_debugger_present(&kd));
}
END_TEST

/* With nobody at the other end of the line, a debug print goes after its
 * 20 sends, a resend time-out each (a serial line cannot tell that nobody
 * listens). */
START_TEST(with_nobody_answering_a_debug_print_is_dropped_after_its_retries)
{
	start_transport();
	wire.absent = true;
	/* 20 time-outs of 1 s; each 38-byte frame's time on the wire is
	 * inside its time-out. */
	uint64_t took = ms_to_send_print("hello, anyone?\n");
	ck_assert_uint_ge(took, KDSER_DEFAULT_RETRIES * KDSER_DEFAULT_RESEND_TIMEOUT_MS);
	ck_assert_uint_le(took, KDSER_DEFAULT_RETRIES * KDSER_DEFAULT_RESEND_TIMEOUT_MS + 1);
	ck_assert_uint_eq(kdser_link_stats(&kd)->retransmissions, KDSER_DEFAULT_RETRIES - 1);
	ck_assert(!kdser_debugger_present(&kd));
}
END_TEST

/* KD_CONTEXT.KdpDefaultRetries is the retry count, as in kdcom.dll. */
START_TEST(the_kd_context_sets_the_retries)
{
	struct kd_context context = { .retries = 3 };
	uint8_t header[DEBUG_IO_HEADER];
	struct kd_string h = { sizeof(header), sizeof(header), header };

	start_transport();
	wire.absent = true;
	fill_header(header, sizeof(header), DBGKD_PRINT_STRING_API, 0);
	uint64_t start = now_ms();
	kdser_send_packet(&kd, KDCOM_TYPE_DEBUG_IO, &h, NULL, &context);
	ck_assert(!kdser_debugger_present(&kd));
	ck_assert_uint_eq(kdser_link_stats(&kd)->retransmissions, 2);
	ck_assert_uint_eq((now_ms() - start) / 1000, 3);
}
END_TEST

/* A UART whose transmitter never empties loses what we write instead of
 * hanging the kernel: the print is given up after its retries, each write
 * after one stall. */
START_TEST(a_transmitter_that_never_empties_costs_bounded_time)
{
	start_transport();
	uart.tx_stuck = true;
	ck_assert_uint_le(ms_to_send_print("stuck\n"),
			  KDSER_DEFAULT_RETRIES * KDSER_DEFAULT_RESEND_TIMEOUT_MS +
				  KDSER_TRANSMIT_STALL_MS + 1);
	ck_assert(!kdser_debugger_present(&kd));
	ck_assert_uint_eq(kd.stats.transmit_stalls, KDSER_DEFAULT_RETRIES);
	ck_assert_uint_eq(kd.stats.bytes_written, 1);
}
END_TEST

/* A state change is never dropped: it goes on being sent until a debugger
 * comes, a minute later here, and answers. */
START_TEST(with_nobody_answering_a_state_change_is_sent_until_someone_does)
{
	start_transport();
	wire.absent = true;
	wire.arrives_at_ms = now_ms() + 60000;
	send_state_change();
	ck_assert_uint_ge(now_ms(), wire.arrives_at_ms);
	ck_assert_uint_le(now_ms(), wire.arrives_at_ms + KDSER_DEFAULT_RESEND_TIMEOUT_MS + 100);
	ck_assert_uint_eq(wire.packet_count, 1);
	ck_assert_uint_eq(wire.packets[0].type, KDCOM_TYPE_STATE_CHANGE64);
	ck_assert_uint_ge(kdser_link_stats(&kd)->retransmissions, 59);
	ck_assert(kdser_debugger_present(&kd));
}
END_TEST

/* KdDebuggerNotPresent as kdcom.dll keeps it: set when a droppable packet
 * runs out of retries, cleared when the debugger speaks again. */
START_TEST(debugger_present_flips_as_the_engine_says)
{
	struct kd_context context = { .retries = 20 };

	start_transport();
	ck_assert(kdser_debugger_present(&kd));
	send_print("one\n");
	ck_assert(kdser_debugger_present(&kd));

	wire.absent = true;
	send_print("two\n");
	ck_assert(!kdser_debugger_present(&kd));

	/* A debugger attaches: break-in and RESET, as rizin does. The stub
	 * polls, sees the break-in and reports the stop; the RESET behind the
	 * break-in restarts the ids and the state change is sent again. */
	wire.absent = false;
	start_debugger();
	kdcom_send_breakin(&debugger);
	kdcom_send_reset(&debugger, now_ms());
	ck_assert(poll_breakin(&context));
	ck_assert_uint_eq(context.break_in_requested, 0);
	ck_assert(!kdser_debugger_present(&kd));
	send_state_change();
	ck_assert(kdser_debugger_present(&kd));
	ck_assert_uint_eq(wire.resets, 1);
	ck_assert_uint_eq(wire.packet_count, 2);
	ck_assert_uint_eq(wire.packets[1].type, KDCOM_TYPE_STATE_CHANGE64);

	/* And the next print is acknowledged. */
	send_print("three\n");
	ck_assert(kdser_debugger_present(&kd));
	ck_assert_uint_eq(wire.packet_count, 3);
}
END_TEST

/* ---- the API -------------------------------------------------------------------------- */

START_TEST(arguments_out_of_range_send_nothing)
{
	static uint8_t big[KDCOM_MAX_PAYLOAD + 1];
	static const uint32_t bad_types[] = { KDCOM_TYPE_UNUSED, KDCOM_TYPE_ACKNOWLEDGE,
					       KDCOM_TYPE_RESEND, KDCOM_TYPE_RESET,
					       KDCOM_TYPE_MAX, 0x10000 + KDCOM_TYPE_DEBUG_IO };
	uint32_t data_length;

	start_transport();
	fill_header(big, DEBUG_IO_HEADER, DBGKD_PRINT_STRING_API, 0);
	for (size_t i = 0; i < sizeof(bad_types) / sizeof(*bad_types); i++) {
		send(bad_types[i], big, DEBUG_IO_HEADER, NULL, 0);
		struct kd_string h = { 0, MANIPULATE_HEADER, header_buffer };
		ck_assert_int_eq(kdser_receive_packet(&kd, bad_types[i], &h, NULL, &data_length,
						      NULL),
				 KD_TIMED_OUT);
	}
	/* 4001 bytes, split any way. */
	send(KDCOM_TYPE_DEBUG_IO, big, DEBUG_IO_HEADER, big + DEBUG_IO_HEADER,
	     KDCOM_MAX_PAYLOAD + 1 - DEBUG_IO_HEADER);
	/* A header bigger than any packet, or none. */
	struct kd_string h = { 0, KDCOM_MAX_PAYLOAD + 1, header_buffer };
	ck_assert_int_eq(kdser_receive_packet(&kd, KDCOM_TYPE_STATE_MANIPULATE, &h, NULL,
					      &data_length, NULL),
			 KD_TIMED_OUT);
	ck_assert_int_eq(kdser_receive_packet(&kd, KDCOM_TYPE_STATE_MANIPULATE, NULL, NULL,
					      &data_length, NULL),
			 KD_TIMED_OUT);
	/* A payload whose API number is not of its type: the engine's check. */
	send(KDCOM_TYPE_STATE_MANIPULATE, big, MANIPULATE_HEADER, NULL, 0);

	ck_assert_uint_eq(uart.lsr_reads, 0);
	ck_assert_uint_eq(wire.sent[T2D], 0);
	ck_assert_uint_eq(kd.stats.rejected, 2 * sizeof(bad_types) / sizeof(*bad_types) + 4);
}
END_TEST

/* What the KD stub calls: the same calls through struct kd_transport. */
START_TEST(as_the_stubs_transport_it_is_the_same_calls)
{
	struct kd_transport t;
	struct kd_context context = { .retries = 20 };
	uint8_t header[MANIPULATE_HEADER];
	uint32_t data_length = 0;

	start_transport();
	kdser_as_transport(&kd, &t);
	ck_assert_ptr_eq(t.ctx, &kd);

	fill_header(header, sizeof(header), DBGKD_GET_VERSION_API, 1);
	struct kd_string h = { sizeof(header), sizeof(header), header };
	t.send_packet(t.ctx, KDCOM_TYPE_STATE_MANIPULATE, &h, NULL, &context);
	assert_debugger_got(0, KDCOM_TYPE_STATE_MANIPULATE, header, sizeof(header), header, 0);

	debugger_sends(KDCOM_TYPE_STATE_MANIPULATE, header, sizeof(header), header, 8);
	struct kd_string rh = { 0, MANIPULATE_HEADER, header_buffer };
	struct kd_string rd = { 0, KD64_DATA_ROOM, data_buffer };
	ck_assert_int_eq(t.receive_packet(t.ctx, KDCOM_TYPE_STATE_MANIPULATE, &rh, &rd,
					  &data_length, &context),
			 KD_OK);
	ck_assert_uint_eq(rh.length, MANIPULATE_HEADER);
	ck_assert_uint_eq(rd.length, 8);
	ck_assert_uint_eq(data_length, 8);
	ck_assert(t.debugger_present(t.ctx));

	kdcom_send_breakin(&debugger);
	ck_assert_int_eq(t.receive_packet(t.ctx, KDCOM_TYPE_POLL_BREAKIN, NULL, NULL, NULL,
					  &context),
			 KD_OK);
	ck_assert_uint_eq(kd.stats.sends, 1);
	ck_assert_uint_eq(kd.stats.receives, 1);
	ck_assert_uint_eq(kd.stats.polls, 1);
}
END_TEST

BXKD_SUITE(kdser,
	testcases_add_with(s, "initialisation", 0, setup, teardown, TESTS(
		initialisation_programs_115200_8n1_with_the_fifo_and_no_interrupts,
		initialisation_without_a_uart_fails_and_the_calls_do_nothing,
		initialisation_without_a_clock_rate_is_refused));
	testcases_add_with(s, "packets", 300, setup, teardown, TESTS(
		send_of_every_length_arrives_byte_identical,
		receive_of_every_length_arrives_byte_identical,
		a_packet_bigger_than_the_data_room_is_not_delivered,
		a_lost_or_damaged_byte_anywhere_is_recovered));
	testcases_add_with(s, "break-in", 0, setup, teardown, TESTS(
		poll_for_break_in_is_true_after_the_break_in_byte_only,
		bytes_that_arrive_while_a_long_packet_is_written_are_kept));
	testcases_add_with(s, "link", 60, setup, teardown, TESTS(
		receive_with_nothing_to_receive_times_out,
		a_reset_from_the_debugger_makes_a_waiting_receive_need_resend,
		a_reset_that_cuts_off_a_reply_makes_the_next_receive_need_resend,
		with_nobody_answering_a_debug_print_is_dropped_after_its_retries,
		the_kd_context_sets_the_retries,
		a_transmitter_that_never_empties_costs_bounded_time,
		with_nobody_answering_a_state_change_is_sent_until_someone_does,
		debugger_present_flips_as_the_engine_says));
	testcases_add_with(s, "api", 0, setup, teardown, TESTS(
		arguments_out_of_range_send_nothing, as_the_stubs_transport_it_is_the_same_calls));
)

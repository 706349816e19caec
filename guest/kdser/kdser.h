/*
 * kdser.h -- the guest's serial KD transport: KdSendPacket and
 * KdReceivePacket as KDCOM bytes on a polled 16550 UART, COM1 at 115200
 * baud, as Windows' kdcom.dll does. The baseline the fast transport
 * (guest/kdvm) is measured against, and the way to debug the test kernel
 * with nothing but Bochs' emulated serial port.
 *
 * The framing is the KDCOM engine and the blocking semantics are kdlink,
 * the same code the host bridge runs (pipe-bridge/kdcom_engine.h, kdlink.h); this
 * file is only their channel: the UART, polled. Portable freestanding C,
 * no C library, no OS; the platform gives port I/O and a clock, so the
 * same file runs in the test kernel and in the host unit tests against a
 * fake UART.
 */
#ifndef GUEST_KDSER_H
#define GUEST_KDSER_H

#include <stdbool.h>
#include <stdint.h>

#include "bxkd/kdtransport.h"
#include "kdlink.h"

/* ---- the 16550 ------------------------------------------------------------------ */

#define KDSER_COM1 0x3F8u
#define KDSER_BAUD 115200u
/* The divisor latch counts the UART's 1.8432 MHz clock in 16ths. */
#define KDSER_UART_CLOCK_DIVISOR_BASE 115200u
/* One byte on the wire in 8N1: start bit, 8 data bits, stop bit. */
#define KDSER_BITS_PER_BYTE 10u

/* Register offsets from the base port. */
#define KDSER_RBR 0u /* read: receive buffer */
#define KDSER_THR 0u /* write: transmit holding */
#define KDSER_DLL 0u /* with LCR.DLAB: divisor latch, low */
#define KDSER_IER 1u /* interrupt enable */
#define KDSER_DLM 1u /* with LCR.DLAB: divisor latch, high */
#define KDSER_IIR 2u /* read: interrupt identification */
#define KDSER_FCR 2u /* write: FIFO control */
#define KDSER_LCR 3u /* line control */
#define KDSER_MCR 4u /* modem control */
#define KDSER_LSR 5u /* line status */

#define KDSER_LCR_8N1 0x03u  /* 8 data bits, no parity, 1 stop bit */
#define KDSER_LCR_DLAB 0x80u /* registers 0 and 1 are the divisor latch */
#define KDSER_FCR_ENABLE 0x01u
#define KDSER_FCR_CLEAR_RX 0x02u
#define KDSER_FCR_CLEAR_TX 0x04u
#define KDSER_MCR_DTR 0x01u
#define KDSER_MCR_RTS 0x02u
#define KDSER_MCR_OUT2 0x08u /* gates the UART's IRQ line on a PC: left off */
#define KDSER_LSR_DR 0x01u   /* a received byte is waiting */
#define KDSER_LSR_OE 0x02u   /* overrun: a byte was lost */
#define KDSER_LSR_PE 0x04u
#define KDSER_LSR_FE 0x08u
#define KDSER_LSR_BI 0x10u
#define KDSER_LSR_THRE 0x20u /* the transmit holding register is empty */
#define KDSER_LSR_ERRORS (KDSER_LSR_OE | KDSER_LSR_PE | KDSER_LSR_FE | KDSER_LSR_BI)

/* ---- the transport ---------------------------------------------------------------- */

struct kdser_platform {
	void *ctx;
	uint8_t (*inb)(void *ctx, uint16_t port);
	void (*outb)(void *ctx, uint16_t port, uint8_t value);
	/* A free-running counter of config.clock_hz ticks a second: the TSC
	 * in the test kernel. */
	uint64_t (*clock)(void *ctx);
};

/* Receive waits at most this long before KdPacketTimedOut (kd64 asks
 * again), as the kdvm transport does. */
#define KDSER_DEFAULT_RECEIVE_TIMEOUT_MS 1000u
/* Without an ACK this long after a packet was queued, it is sent again.
 * The timer starts before the bytes go out, and a whole 4017-byte frame
 * takes 349 ms at 115200 baud, so this leaves a debugger at least 650 ms
 * to answer even the longest packet. */
#define KDSER_DEFAULT_RESEND_TIMEOUT_MS 1000u
/* Sends before the no-debugger exemptions apply (KdpDefaultRetries). */
#define KDSER_DEFAULT_RETRIES 20u
/* A transmitter that stays busy this long is not there: the rest of what
 * was being written is lost instead of hanging the kernel. */
#define KDSER_TRANSMIT_STALL_MS 20u
/* Bytes that arrive while we write, or faster than kdlink takes them: a
 * whole frame, so that nothing a debugger sends while we write one of ours
 * overruns the UART's 16-byte FIFO. */
#define KDSER_RECEIVE_BUFFER 4096u

struct kdser_config {
	uint16_t port;		     /* base I/O port (KDSER_COM1) */
	/* Ticks of platform.clock a second; required. Under Bochs the TSC
	 * counts instructions, so it is the configured ips (4 000 000 in the
	 * tests; the backdoor's GETHZ command says). */
	uint64_t clock_hz;
	uint32_t receive_timeout_ms;
	uint32_t resend_timeout_ms;
	uint32_t retries;
};

/* COM1 and the defaults above, with the clock rate given. */
void kdser_config_init(struct kdser_config *config, uint64_t clock_hz);

enum kdser_init_status {
	KDSER_INIT_OK,
	KDSER_INIT_NO_UART,    /* the registers do not read back: nothing at the port */
	KDSER_INIT_BAD_CONFIG, /* no clock rate, or timeouts of 0 */
};

struct kdser_stats {
	uint32_t sends, receives, polls;
	uint32_t rejected;          /* caller's arguments out of range: nothing sent */
	uint64_t bytes_written, bytes_read;
	uint32_t line_errors;       /* LSR said overrun, parity, framing or break */
	uint32_t receive_overflows; /* bytes left in the UART with our buffer full */
	uint32_t transmit_stalls;   /* writes given up on a transmitter that never emptied */
	uint64_t bytes_unsent;      /* ... and the bytes they lost */
};

struct kdser {
	struct kdser_platform platform;
	struct kdser_config config;
	bool ready; /* the UART is programmed */
	uint8_t received[KDSER_RECEIVE_BUFFER];
	uint32_t received_start, received_count;
	struct kdser_stats stats;
	struct kdlink link;
};

/*
 * KdDebuggerInitialize0: programs the UART (115200 baud, 8N1, FIFO on,
 * interrupts off: everything is polled) and starts the KDCOM link with
 * the packet ids of a freshly booted target.
 */
enum kdser_init_status kdser_initialize(struct kdser *kd, const struct kdser_platform *platform,
					const struct kdser_config *config);

/* KdSendPacket. Returns when the debugger has the packet, or when it was
 * dropped because nobody answered its retries (kdser_debugger_present then
 * false). kd_context->retries, when not 0, is the retry count, as
 * kdcom.dll takes KdpDefaultRetries. */
void kdser_send_packet(struct kdser *kd, uint32_t packet_type, const struct kd_string *header,
		       const struct kd_string *data, struct kd_context *kd_context);

/* KdReceivePacket, including PACKET_TYPE_KD_POLL_BREAKIN (8), which takes
 * no buffers and never waits. header->maximum_length is the exact header
 * size wanted; a packet never overruns header or data. */
enum kd_outcome kdser_receive_packet(struct kdser *kd, uint32_t packet_type,
				    struct kd_string *header, struct kd_string *data,
				    uint32_t *data_length, struct kd_context *kd_context);

/* KdDebuggerNotPresent, inverted: false once a droppable packet ran out
 * of retries, true again when the debugger next speaks. */
bool kdser_debugger_present(const struct kdser *kd);

/* The KDCOM link's own counts: retransmissions, resends, resets... */
const struct kdcom_stats *kdser_link_stats(const struct kdser *kd);

/* Milliseconds by the platform's clock, as the transport counts them. */
uint64_t kdser_now_ms(const struct kdser *kd);

/* The module as the KD stub's transport (guest/kdstub/). */
void kdser_as_transport(struct kdser *kd, struct kd_transport *transport);

#endif /* GUEST_KDSER_H */

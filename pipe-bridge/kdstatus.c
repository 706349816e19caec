/*
 * kdstatus.c -- the KD link's live status line (kdstatus.h): its text
 * form, the pace at which it is passed on, and the line people read.
 */
#include "config.h"

#include "kdstatus.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KD_STATUS_MAGIC "bxkd-status 1 "

static const char *const source_names[] = { [KD_STATUS_DEVICE] = "device",
					    [KD_STATUS_RELAY] = "relay" };

void kd_status_format(const struct kd_status *s, char *line, size_t size)
{
	snprintf(line, size,
		 KD_STATUS_MAGIC "source=%s attached=%d to_debugger=%" PRIu64
				 " from_debugger=%" PRIu64 " retransmitted=%" PRIu64
				 " resets=%" PRIu64 " breakins=%" PRIu64 " tick=%" PRIu64 "\n",
		 source_names[s->source == KD_STATUS_RELAY], s->attached ? 1 : 0, s->to_debugger,
		 s->from_debugger, s->retransmitted, s->resets, s->breakins, s->tick);
}

/* A decimal number of length bytes that fits in 64 bits. */
static bool parse_count(const char *text, size_t length, uint64_t *value)
{
	uint64_t n = 0;

	if (!length || length > 20)
		return false;
	for (size_t i = 0; i < length; i++) {
		unsigned digit = (unsigned)(text[i] - '0');
		if (digit > 9 || n > (UINT64_MAX - digit) / 10)
			return false;
		n = n * 10 + digit;
	}
	*value = n;
	return true;
}

/* One key=value of the line into s; seen marks the keys already read. */
static bool parse_item(const char *item, size_t length, struct kd_status *s, unsigned *seen)
{
	static const char *const keys[] = { "source",	     "attached", "to_debugger",
					    "from_debugger", "retransmitted", "resets",
					    "breakins",	     "tick" };
	uint64_t *counts[] = { NULL,	      NULL,	  &s->to_debugger, &s->from_debugger,
			       &s->retransmitted, &s->resets, &s->breakins,    &s->tick };
	const char *eq = memchr(item, '=', length);

	if (!eq)
		return false;
	size_t key_length = (size_t)(eq - item), value_length = length - key_length - 1;
	for (unsigned k = 0; k < sizeof(keys) / sizeof(*keys); k++) {
		if (strlen(keys[k]) != key_length || memcmp(keys[k], item, key_length))
			continue;
		if (*seen & 1u << k)
			return false;
		*seen |= 1u << k;
		if (counts[k])
			return parse_count(eq + 1, value_length, counts[k]);
		if (k == 1) {
			uint64_t attached;
			if (!parse_count(eq + 1, value_length, &attached) || attached > 1)
				return false;
			s->attached = attached;
			return true;
		}
		for (unsigned src = 0; src < sizeof(source_names) / sizeof(*source_names); src++)
			if (strlen(source_names[src]) == value_length &&
			    !memcmp(source_names[src], eq + 1, value_length)) {
				s->source = (enum kd_status_source)src;
				return true;
			}
		return false;
	}
	return false;
}

bool kd_status_parse(const char *text, size_t length, struct kd_status *s)
{
	const size_t magic = sizeof(KD_STATUS_MAGIC) - 1;
	struct kd_status read = { 0 };
	unsigned seen = 0;

	if (length && text[length - 1] == '\n')
		length--;
	if (length < magic || memcmp(text, KD_STATUS_MAGIC, magic) || memchr(text, '\n', length))
		return false;
	for (size_t at = magic; at < length;) {
		const char *blank = memchr(text + at, ' ', length - at);
		size_t item = blank ? (size_t)(blank - text) - at : length - at;
		if (!parse_item(text + at, item, &read, &seen))
			return false;
		at += item + (blank != NULL);
		if (blank && at == length)
			return false;
	}
	if (seen != 0xffu)
		return false;
	*s = read;
	return true;
}

bool kd_status_same(const struct kd_status *a, const struct kd_status *b, bool with_tick)
{
	return a->source == b->source && a->attached == b->attached &&
	       a->to_debugger == b->to_debugger && a->from_debugger == b->from_debugger &&
	       a->retransmitted == b->retransmitted && a->resets == b->resets &&
	       a->breakins == b->breakins && (!with_tick || a->tick == b->tick);
}

void kd_status_pace_init(struct kd_status_pace *pace, uint64_t interval_ms, bool with_tick)
{
	memset(pace, 0, sizeof(*pace));
	pace->interval_ms = interval_ms;
	pace->with_tick = with_tick;
}

bool kd_status_pace_due(struct kd_status_pace *pace, const struct kd_status *s, uint64_t now_ms,
			bool force)
{
	if (pace->passed_any && kd_status_same(&pace->passed, s, pace->with_tick))
		return false;
	if (pace->passed_any && !force && now_ms - pace->passed_ms < pace->interval_ms)
		return false;
	pace->passed_any = true;
	pace->passed_ms = now_ms;
	pace->passed = *s;
	return true;
}

/* ---- the line for people ------------------------------------------------------------------ */

static const char *plural(uint64_t n)
{
	return n == 1 ? "" : "s";
}

/* Joins parts[0..count) with "; ", the address (if any) in front; false
 * if it does not fit. */
static bool join(char *out, size_t size, const char *address, char parts[][80], size_t count)
{
	size_t used = address ? (size_t)snprintf(out, size, "%s: ", address) : 0;

	if (!address)
		out[0] = '\0';
	for (size_t i = 0; i < count && used < size; i++)
		used += (size_t)snprintf(out + used, size - used, "%s%s", i ? "; " : "", parts[i]);
	return used < size;
}

/* The parts kept as long as the address is: whether a debugger is there,
 * packets, resets and retransmissions. */
#define KEPT_WITH_ADDRESS 4u

void kd_status_describe(const struct kd_status *s, const char *address, uint64_t ips, char *out,
			size_t size)
{
	char parts[6][80];
	size_t count = 0;

	if (!size)
		return;
	snprintf(parts[count++], sizeof(parts[0]), "%s",
		 s->attached ? "debugger attached" : "no debugger");
	snprintf(parts[count++], sizeof(parts[0]),
		 "%" PRIu64 " packet%s to the debugger, %" PRIu64 " from it", s->to_debugger,
		 plural(s->to_debugger), s->from_debugger);
	snprintf(parts[count++], sizeof(parts[0]), "%" PRIu64 " reset%s", s->resets,
		 plural(s->resets));
	snprintf(parts[count++], sizeof(parts[0]), "%" PRIu64 " %s", s->retransmitted,
		 s->source == KD_STATUS_RELAY ? "resends asked" : "retransmitted");
	snprintf(parts[count++], sizeof(parts[0]), "%" PRIu64 " break-in%s", s->breakins,
		 plural(s->breakins));
	if (s->source == KD_STATUS_DEVICE && ips)
		snprintf(parts[count++], sizeof(parts[0]), "guest at %.2f s",
			 (double)s->tick / (double)ips);
	/* Too long: the least telling parts go first, then the address. */
	for (size_t kept = count; address && kept >= KEPT_WITH_ADDRESS; kept--)
		if (join(out, size, address, parts, kept))
			return;
	for (size_t kept = address ? KEPT_WITH_ADDRESS : count; kept >= 1; kept--)
		if (join(out, size, NULL, parts, kept))
			return;
	out[0] = '\0';
}

/* ---- the line on a screen ------------------------------------------------------------------ */

#define ERASE_LINE "\r\033[K"

void kd_status_display_init(struct kd_status_display *d, bool terminal, size_t columns,
			    const char *prefix, const char *address, uint64_t ips)
{
	memset(d, 0, sizeof(*d));
	d->terminal = terminal;
	d->columns = columns;
	d->prefix = prefix;
	d->address = address;
	d->ips = ips;
	kd_status_pace_init(&d->pace, terminal ? KD_STATUS_TERMINAL_MS : KD_STATUS_PLAIN_MS,
			    terminal);
}

void kd_status_display_update(struct kd_status_display *d, const struct kd_status *s,
			      uint64_t now_ms, char *out, size_t size)
{
	char line[KD_STATUS_TEXT_MAX];
	size_t lead = strlen(d->prefix);

	out[0] = '\0';
	if (!kd_status_pace_due(&d->pace, s, now_ms, false))
		return;
	if (!d->terminal) {
		kd_status_describe(s, d->address, d->ips, line, sizeof(line));
		snprintf(out, size, "%s%s\n", d->prefix, line);
		return;
	}
	/* A line longer than the terminal would wrap, and "\r" would then
	 * rewrite only its last row. */
	size_t room = d->columns > lead + 1 ? d->columns - lead : 1;
	kd_status_describe(s, d->address, d->ips, line, room < sizeof(line) ? room : sizeof(line));
	snprintf(out, size, ERASE_LINE "%s%s", d->prefix, line);
	d->on_screen = true;
}

void kd_status_display_clear(struct kd_status_display *d, char *out, size_t size)
{
	out[0] = '\0';
	if (!d->on_screen)
		return;
	snprintf(out, size, ERASE_LINE);
	d->on_screen = false;
	/* Drawn again at the next update, whatever the pace says. */
	d->pace.passed_any = false;
}

void kd_status_display_end(struct kd_status_display *d, const struct kd_status *s, char *out,
			   size_t size)
{
	char line[KD_STATUS_TEXT_MAX];

	kd_status_describe(s, d->address, d->ips, line, sizeof(line));
	snprintf(out, size, "%s%sat the end, %s\n", d->on_screen ? ERASE_LINE : "", d->prefix,
		 line);
	d->on_screen = false;
}

/* ---- the file ------------------------------------------------------------------------------- */

bool kd_status_write_file(const char *path, const struct kd_status *s, char *error,
			  size_t error_size)
{
	char line[KD_STATUS_LINE_MAX], fresh[4096];

	if ((size_t)snprintf(fresh, sizeof(fresh), "%s.new", path) >= sizeof(fresh)) {
		snprintf(error, error_size, "the status file's name is too long: %s", path);
		return false;
	}
	kd_status_format(s, line, sizeof(line));
	FILE *f = fopen(fresh, "w");
	bool written = f && fputs(line, f) != EOF;
	if (f && fclose(f) != 0)
		written = false;
	if (!written || rename(fresh, path) != 0) {
		snprintf(error, error_size, "cannot write %s: %s", written ? path : fresh,
			 strerror(errno));
		return false;
	}
	return true;
}

bool kd_status_read_file(const char *path, struct kd_status *s)
{
	char line[KD_STATUS_LINE_MAX];
	FILE *f = fopen(path, "r");

	if (!f)
		return false;
	size_t length = fread(line, 1, sizeof(line), f);
	fclose(f);
	return length < sizeof(line) && kd_status_parse(line, length, s);
}

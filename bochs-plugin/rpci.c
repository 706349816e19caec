/*
 * rpci.c -- the host side of RPCI: requests "command args" from the guest,
 * replies "1 result" or "0 error". Commands are looked up in a table that
 * the KD transport and tests extend with vmport_rpci_register().
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "vmport_internal.h"

#define GUESTINFO_PREFIX "guestinfo."
#define GUESTINFO_KEY_MAX 255
#define GUESTINFO_MAX_VARIABLES 1024
#define LOG_TEXT_MAX 1000

bool vmport_rpci_register(struct vmport *vp, const char *command, vmport_rpci_fn fn, void *ctx)
{
	for (size_t i = 0; i < vp->handler_count; i++) {
		if (!strcmp(vp->handlers[i].command, command)) {
			vp->handlers[i].fn = fn;
			vp->handlers[i].ctx = ctx;
			return true;
		}
	}
	struct vmport_rpci_handler *more =
		realloc(vp->handlers, (vp->handler_count + 1) * sizeof(*more));
	if (!more)
		return false;
	vp->handlers = more;
	char *name = strdup(command);
	if (!name)
		return false;
	vp->handlers[vp->handler_count++] = (struct vmport_rpci_handler){ name, fn, ctx };
	return true;
}

bool vmport_rpci_dispatch(struct vmport *vp, const uint8_t *request, size_t len,
			  struct vmport_buffer *reply)
{
	/* An empty request may come without a buffer; memchr and pointer
	 * arithmetic want one even for no bytes. */
	if (len == 0)
		request = (const uint8_t *)"";
	const uint8_t *space = memchr(request, ' ', len);
	size_t name_len = space ? (size_t)(space - request) : len;
	const uint8_t *args = space ? space + 1 : request + len;
	size_t args_len = (size_t)(request + len - args);
	const struct vmport_rpci_handler *handler = NULL;
	struct vmport_buffer result = { 0 };
	bool ok;

	for (size_t i = 0; i < vp->handler_count; i++) {
		if (strlen(vp->handlers[i].command) == name_len &&
		    !memcmp(vp->handlers[i].command, request, name_len)) {
			handler = &vp->handlers[i];
			break;
		}
	}
	if (handler) {
		ok = handler->fn(handler->ctx, args, args_len, &result);
	} else {
		ok = false;
		vmport_buffer_printf(&result, "Unknown command");
	}
	if (result.overflowed || result.len + 2 > VMPORT_REPLY_MAX) {
		ok = false;
		result.len = 0;
		result.overflowed = false;
		vmport_buffer_printf(&result, "Reply too large");
	}
	bool stored = vmport_buffer_append(reply, ok ? "1 " : "0 ", 2) &&
		      vmport_buffer_append(reply, result.data, result.len);
	free(result.data);
	return stored;
}

/* A failure reply: "0 " and the reason. */
static bool refuse(struct vmport_buffer *reply, const char *why)
{
	vmport_buffer_append(reply, why, strlen(why));
	return false;
}

/* Arguments often end in the space or NUL old clients add. */
static size_t trimmed(const uint8_t *text, size_t len)
{
	while (len && (text[len - 1] == ' ' || text[len - 1] == '\0' || text[len - 1] == '\n'))
		len--;
	return len;
}

/* ---- guestinfo variables ------------------------------------------------------ */

static struct vmport_guestinfo *find_guestinfo(const struct vmport *vp, const char *key,
					       size_t key_len)
{
	for (size_t i = 0; i < vp->guestinfo_count; i++) {
		if (strlen(vp->guestinfo[i].key) == key_len &&
		    !memcmp(vp->guestinfo[i].key, key, key_len))
			return &vp->guestinfo[i];
	}
	return NULL;
}

static bool store_guestinfo(struct vmport *vp, const char *key, size_t key_len,
			    const uint8_t *value, size_t value_len)
{
	struct vmport_guestinfo *var = find_guestinfo(vp, key, key_len);
	uint8_t *copy = malloc(value_len ? value_len : 1);

	if (!copy)
		return false;
	memcpy(copy, value, value_len);
	if (var) {
		free(var->value);
	} else {
		if (vp->guestinfo_count == GUESTINFO_MAX_VARIABLES) {
			free(copy);
			return false;
		}
		struct vmport_guestinfo *more =
			realloc(vp->guestinfo, (vp->guestinfo_count + 1) * sizeof(*more));
		char *name = malloc(key_len + 1);
		if (more)
			vp->guestinfo = more;
		if (!more || !name) {
			free(name);
			free(copy);
			return false;
		}
		memcpy(name, key, key_len);
		name[key_len] = '\0';
		var = &vp->guestinfo[vp->guestinfo_count++];
		var->key = name;
	}
	var->value = copy;
	var->value_len = value_len;
	return true;
}

bool vmport_guestinfo_set(struct vmport *vp, const char *key, const uint8_t *value,
			  size_t value_len)
{
	return store_guestinfo(vp, key, strlen(key), value, value_len);
}

const uint8_t *vmport_guestinfo_get(const struct vmport *vp, const char *key, size_t *value_len)
{
	const struct vmport_guestinfo *var = find_guestinfo(vp, key, strlen(key));

	if (!var)
		return NULL;
	*value_len = var->value_len;
	return var->value;
}

void vmport_guestinfo_foreach(const struct vmport *vp,
			      void (*fn)(void *ctx, const char *key, const uint8_t *value,
					 size_t value_len),
			      void *ctx)
{
	for (size_t i = 0; i < vp->guestinfo_count; i++)
		fn(ctx, vp->guestinfo[i].key, vp->guestinfo[i].value, vp->guestinfo[i].value_len);
}

/* A key the guest may touch: "guestinfo." and printable ASCII, no spaces. */
static bool guest_key_ok(const uint8_t *key, size_t len)
{
	if (len <= strlen(GUESTINFO_PREFIX) || len > GUESTINFO_KEY_MAX ||
	    memcmp(key, GUESTINFO_PREFIX, strlen(GUESTINFO_PREFIX)))
		return false;
	for (size_t i = 0; i < len; i++) {
		if (key[i] <= ' ' || key[i] > '~')
			return false;
	}
	return true;
}

/* info-set guestinfo.<name> <value> */
static bool rpc_info_set(void *ctx, const uint8_t *args, size_t len, struct vmport_buffer *reply)
{
	struct vmport *vp = ctx;
	const uint8_t *space = memchr(args, ' ', len);
	size_t key_len = space ? (size_t)(space - args) : len;
	const uint8_t *value = space ? space + 1 : args + len;
	size_t value_len = (size_t)(args + len - value);

	if (!guest_key_ok(args, key_len))
		return refuse(reply, "Invalid key");
	if (!store_guestinfo(vp, (const char *)args, key_len, value, value_len))
		return refuse(reply, "Too many variables");
	return true;
}

/* info-get guestinfo.<name> */
static bool rpc_info_get(void *ctx, const uint8_t *args, size_t len, struct vmport_buffer *reply)
{
	struct vmport *vp = ctx;
	size_t key_len = trimmed(args, len);
	const struct vmport_guestinfo *var;

	if (!guest_key_ok(args, key_len) || !(var = find_guestinfo(vp, (const char *)args, key_len)))
		return refuse(reply, "No value found");
	return vmport_buffer_append(reply, var->value, var->value_len);
}

/* log <text>: into the device log, one printable line. */
static bool rpc_log(void *ctx, const uint8_t *args, size_t len, struct vmport_buffer *reply)
{
	struct vmport *vp = ctx;
	char text[LOG_TEXT_MAX + 4];
	size_t n = 0;

	(void)reply;
	len = trimmed(args, len);
	for (; n < len && n < LOG_TEXT_MAX; n++)
		text[n] = args[n] >= ' ' && args[n] <= '~' ? (char)args[n] : '.';
	if (len > LOG_TEXT_MAX) {
		memcpy(text + n, "...", 3);
		n += 3;
	}
	text[n] = '\0';
	vmport_log(vp, BXKD_LOG_INFO, "guest: %s", text);
	return true;
}

/* tools.set.version <n> */
static bool rpc_tools_set_version(void *ctx, const uint8_t *args, size_t len,
				  struct vmport_buffer *reply)
{
	struct vmport *vp = ctx;
	uint64_t version = 0;

	len = trimmed(args, len);
	if (len == 0 || len > 10)
		return refuse(reply, "Invalid version");
	for (size_t i = 0; i < len; i++) {
		if (args[i] < '0' || args[i] > '9')
			return refuse(reply, "Invalid version");
		version = version * 10 + (uint64_t)(args[i] - '0');
	}
	if (version > UINT32_MAX)
		return refuse(reply, "Invalid version");
	if (!vp->have_tools_version || vp->tools_version != version)
		vmport_log(vp, BXKD_LOG_INFO, "guest tools version %u", (unsigned)version);
	vp->have_tools_version = true;
	vp->tools_version = (uint32_t)version;
	return true;
}

bool vmport_tools_version(const struct vmport *vp, uint32_t *version)
{
	*version = vp->tools_version;
	return vp->have_tools_version;
}

bool vmport_rpci_init(struct vmport *vp)
{
	return vmport_rpci_register(vp, "info-set", rpc_info_set, vp) &&
	       vmport_rpci_register(vp, "info-get", rpc_info_get, vp) &&
	       vmport_rpci_register(vp, "log", rpc_log, vp) &&
	       vmport_rpci_register(vp, "tools.set.version", rpc_tools_set_version, vp);
}

/* ---- TCLO ------------------------------------------------------------------- */

bool vmport_tclo_queue(struct vmport *vp, const char *command)
{
	char *copy = strdup(command);
	char **more = copy ? realloc(vp->tclo_queue, (vp->tclo_queued + 1) * sizeof(*more)) : NULL;

	if (!more) {
		free(copy);
		return false;
	}
	vp->tclo_queue = more;
	vp->tclo_queue[vp->tclo_queued++] = copy;
	return true;
}

void vmport_tclo_on_answer(struct vmport *vp,
			   void (*fn)(void *ctx, const char *command, const uint8_t *answer,
				      size_t answer_len),
			   void *ctx)
{
	vp->tclo_answer_fn = fn;
	vp->tclo_answer_ctx = ctx;
}

void vmport_rpci_free(struct vmport *vp)
{
	for (size_t i = 0; i < vp->handler_count; i++)
		free(vp->handlers[i].command);
	free(vp->handlers);
	for (size_t i = 0; i < vp->guestinfo_count; i++) {
		free(vp->guestinfo[i].key);
		free(vp->guestinfo[i].value);
	}
	free(vp->guestinfo);
	for (size_t i = vp->tclo_next; i < vp->tclo_queued; i++)
		free(vp->tclo_queue[i]);
	free(vp->tclo_queue);
}

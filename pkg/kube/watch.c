/* kube/watch: pure incremental decoder of Kubernetes watch streams. */
#include "kube/watch.h"

#include <stdlib.h>
#include <string.h>

#define WATCH_DEFAULT_MAX_LINE (8u << 20)

struct watch_decoder {
	watch_cb cb;
	void *arg;
	size_t max_line;
	uint8_t *buf; /* the unfinished line */
	size_t len;
	size_t cap;
	int skipping; /* inside an oversize line: drop bytes up to the next newline */
};

const char *watch_type_str(enum watch_type t)
{
	switch (t) {
	case WATCH_ADDED:
		return "ADDED";
	case WATCH_MODIFIED:
		return "MODIFIED";
	case WATCH_DELETED:
		return "DELETED";
	case WATCH_BOOKMARK:
		return "BOOKMARK";
	case WATCH_ERROR:
		return "ERROR";
	}
	return "?";
}

const char *watch_result_str(enum watch_result r)
{
	switch (r) {
	case WATCH_RESULT_EVENT:
		return "event";
	case WATCH_RESULT_OVERSIZE:
		return "oversize";
	case WATCH_RESULT_GARBAGE:
		return "garbage";
	case WATCH_RESULT_BAD_SHAPE:
		return "bad_shape";
	case WATCH_RESULT_UNKNOWN_TYPE:
		return "unknown_type";
	}
	return "?";
}

struct watch_decoder *watch_decoder_new(size_t max_line, watch_cb cb, void *arg)
{
	struct watch_decoder *d = calloc(1, sizeof(*d));
	if (!d)
		return NULL;
	d->cb = cb;
	d->arg = arg;
	d->max_line = max_line ? max_line : WATCH_DEFAULT_MAX_LINE;
	return d;
}

void watch_decoder_free(struct watch_decoder *d)
{
	if (!d)
		return;
	free(d->buf);
	free(d);
}

void watch_decoder_reset(struct watch_decoder *d)
{
	d->len = 0;
	d->skipping = 0;
}

size_t watch_decoder_pending(const struct watch_decoder *d)
{
	return d->len;
}

static int parse_type(const char *s, enum watch_type *out)
{
	static const struct {
		const char *name;
		enum watch_type t;
	} types[] = {
		{ "ADDED", WATCH_ADDED },     { "MODIFIED", WATCH_MODIFIED },
		{ "DELETED", WATCH_DELETED }, { "BOOKMARK", WATCH_BOOKMARK },
		{ "ERROR", WATCH_ERROR },
	};
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		if (strcmp(s, types[i].name) == 0) {
			*out = types[i].t;
			return 0;
		}
	}
	return -1;
}

static const char *str_at(json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);
	return json_is_string(v) ? json_string_value(v) : NULL;
}

/* Decodes one complete line (newline excluded) and reports it. */
static int decode_line(struct watch_decoder *d, const uint8_t *p, size_t n)
{
	/* Trailing CR and surrounding blanks are not content; an empty line is a keep-alive. */
	while (n > 0 && (p[n - 1] == '\r' || p[n - 1] == ' ' || p[n - 1] == '\t'))
		n--;
	while (n > 0 && (p[0] == ' ' || p[0] == '\t' || p[0] == '\r')) {
		p++;
		n--;
	}
	if (n == 0)
		return 0;

	json_error_t jerr;
	json_t *root = json_loadb((const char *)p, n, JSON_REJECT_DUPLICATES, &jerr);
	if (!root || !json_is_object(root)) {
		int rc = d->cb(WATCH_RESULT_GARBAGE, NULL, root ? "not a JSON object" : jerr.text,
			       d->arg);
		json_decref(root);
		return rc;
	}

	int rc;
	const char *type = str_at(root, "type");
	json_t *obj = json_object_get(root, "object");
	struct watch_event ev;
	memset(&ev, 0, sizeof(ev));
	if (!type || !json_is_object(obj)) {
		rc = d->cb(WATCH_RESULT_BAD_SHAPE, NULL,
			   !type ? "no \"type\" string" : "no \"object\" object", d->arg);
	} else if (parse_type(type, &ev.type) < 0) {
		rc = d->cb(WATCH_RESULT_UNKNOWN_TYPE, NULL, "unknown event type", d->arg);
	} else {
		ev.object = obj;
		ev.resource_version = str_at(json_object_get(obj, "metadata"), "resourceVersion");
		if (ev.type == WATCH_ERROR) {
			json_t *code = json_object_get(obj, "code");
			if (json_is_integer(code) && json_integer_value(code) > 0 &&
			    json_integer_value(code) < 1000)
				ev.status_code = (int)json_integer_value(code);
			ev.status_reason = str_at(obj, "reason");
			ev.status_message = str_at(obj, "message");
			ev.gone = ev.status_code == 410 ||
				  (ev.status_reason && (strcmp(ev.status_reason, "Expired") == 0 ||
							strcmp(ev.status_reason, "Gone") == 0));
		}
		rc = d->cb(WATCH_RESULT_EVENT, &ev, NULL, d->arg);
	}
	json_decref(root);
	return rc;
}

static int buf_append(struct watch_decoder *d, const uint8_t *p, size_t n)
{
	if (d->len + n > d->cap) {
		size_t cap = d->cap ? d->cap : 4096;
		while (cap < d->len + n)
			cap *= 2;
		if (cap > d->max_line)
			cap = d->max_line;
		uint8_t *nb = realloc(d->buf, cap);
		if (!nb)
			return -1;
		d->buf = nb;
		d->cap = cap;
	}
	memcpy(d->buf + d->len, p, n);
	d->len += n;
	return 0;
}

int watch_decoder_feed(struct watch_decoder *d, const uint8_t *buf, size_t len)
{
	size_t off = 0;
	while (off < len) {
		const uint8_t *nl = memchr(buf + off, '\n', len - off);
		size_t seg = nl ? (size_t)(nl - (buf + off)) : len - off;

		if (d->skipping) {
			if (nl)
				d->skipping = 0;
			off += seg + (nl ? 1 : 0);
			continue;
		}
		if (d->len + seg > d->max_line) {
			d->len = 0;
			d->skipping = nl == NULL;
			off += seg + (nl ? 1 : 0);
			if (d->cb(WATCH_RESULT_OVERSIZE, NULL, "line longer than the limit",
				  d->arg))
				return 1;
			continue;
		}
		if (!nl) {
			if (buf_append(d, buf + off, seg) < 0) {
				d->len = 0;
				d->skipping = 1;
				return -1;
			}
			return 0;
		}
		int rc;
		if (d->len == 0) {
			rc = decode_line(d, buf + off, seg);
		} else {
			if (buf_append(d, buf + off, seg) < 0) {
				d->len = 0;
				return -1;
			}
			size_t n = d->len;
			d->len = 0; /* emptied first: the callback may reset the decoder */
			rc = decode_line(d, d->buf, n);
		}
		off += seg + 1;
		if (rc)
			return 1;
	}
	return 0;
}

int watch_decoder_finish(struct watch_decoder *d)
{
	int skipping = d->skipping;
	size_t n = d->len;
	d->len = 0;
	d->skipping = 0;
	if (skipping || n == 0)
		return 0;
	return decode_line(d, d->buf, n) ? 1 : 0;
}

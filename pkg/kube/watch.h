/* kube/watch: pure incremental decoder of Kubernetes watch streams (one JSON event per line). */
#ifndef L2LB_KUBE_WATCH_H
#define L2LB_KUBE_WATCH_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

/*
 * The stream arrives in arbitrary chunks (a chunk may end mid-line, hold several lines, or a
 * single byte). The decoder buffers at most max_line bytes of an unfinished line; a longer
 * line is reported once as WATCH_RESULT_OVERSIZE and skipped up to its newline. It does no I/O
 * and no logging: every line ends in exactly one call of the callback with an outcome.
 */

enum watch_type {
	WATCH_ADDED,
	WATCH_MODIFIED,
	WATCH_DELETED,
	WATCH_BOOKMARK,
	WATCH_ERROR,
};

/* "ADDED", "MODIFIED", "DELETED", "BOOKMARK", "ERROR". */
const char *watch_type_str(enum watch_type t);

enum watch_result {
	WATCH_RESULT_EVENT,	   /* a well-formed event; ev is set */
	WATCH_RESULT_OVERSIZE,	   /* a line longer than max_line, skipped */
	WATCH_RESULT_GARBAGE,	   /* a line that is not a JSON object */
	WATCH_RESULT_BAD_SHAPE,	   /* JSON, but no "type" string or no "object" object */
	WATCH_RESULT_UNKNOWN_TYPE, /* "type" is none of the five above */
};

const char *watch_result_str(enum watch_result r);

struct watch_event {
	enum watch_type type;
	/* Borrowed for the duration of the callback; json_incref() it to keep it. */
	json_t *object;
	/* object.metadata.resourceVersion, or NULL; borrowed like object. */
	const char *resource_version;
	/* For WATCH_ERROR, the Status fields (0 / NULL when absent); borrowed like object. */
	int status_code;
	const char *status_reason;
	const char *status_message;
	/* WATCH_ERROR meaning the requested resourceVersion is too old: re-list (code 410). */
	int gone;
};

/*
 * Called once per non-empty line. ev is non-NULL only for WATCH_RESULT_EVENT; detail is a short
 * human explanation for the other outcomes (borrowed). Return 0 to go on, non-zero to make
 * watch_decoder_feed() return at once (the rest of that chunk is dropped; reset before reuse).
 */
typedef int (*watch_cb)(enum watch_result r, const struct watch_event *ev, const char *detail,
			void *arg);

struct watch_decoder;

/* Returns an owned decoder, or NULL when out of memory. max_line 0 means 8 MiB. */
struct watch_decoder *watch_decoder_new(size_t max_line, watch_cb cb, void *arg);
void watch_decoder_free(struct watch_decoder *d);

/* Forgets any unfinished line (a new stream starts). */
void watch_decoder_reset(struct watch_decoder *d);

/*
 * Decodes the complete lines in buf[0..len) plus what was buffered before. Returns 0, 1 when the
 * callback asked to stop, or -1 when out of memory (the unfinished line is then dropped).
 */
int watch_decoder_feed(struct watch_decoder *d, const uint8_t *buf, size_t len);

/* End of stream: decodes a final line that lacks its newline. Returns as watch_decoder_feed. */
int watch_decoder_finish(struct watch_decoder *d);

/* Bytes of an unfinished line currently buffered (for tests and metrics). */
size_t watch_decoder_pending(const struct watch_decoder *d);

#endif

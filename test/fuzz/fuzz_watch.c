/* libFuzzer target for pkg/kube/watch: any bytes, cut into chunks the input itself chooses. */
#include "kube/watch.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static int fuzz_cb(enum watch_result r, const struct watch_event *ev, const char *detail, void *arg)
{
	size_t *count = arg;
	(*count)++;
	if (r == WATCH_RESULT_EVENT) {
		/* Touch what a consumer reads, so a dangling borrow shows up under ASan. */
		if (!ev || !ev->object ||
		    (ev->resource_version && strlen(ev->resource_version) > (1u << 20)))
			abort();
		if (ev->gone && ev->type != WATCH_ERROR)
			abort();
	} else if (!detail) {
		abort();
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	/* First byte: the chunk size step; a small line bound exercises the oversize path. */
	size_t step = (size_t)(data[0] % 17) + 1;
	data++;
	size--;
	size_t count = 0;
	struct watch_decoder *d = watch_decoder_new(256, fuzz_cb, &count);
	if (!d)
		return 0;
	for (size_t off = 0; off < size; off += step) {
		size_t n = size - off < step ? size - off : step;
		if (watch_decoder_feed(d, data + off, n) < 0)
			break;
		if (watch_decoder_pending(d) > 256)
			abort();
	}
	watch_decoder_finish(d);
	watch_decoder_free(d);
	return 0;
}

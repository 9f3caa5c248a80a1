#include "speaker/caps.h"

#include <errno.h>
#include <linux/capability.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

const char *caps_result_str(enum caps_result r)
{
	switch (r) {
	case CAPS_OK:
		return "ok";
	case CAPS_NOT_PERMITTED:
		return "not_permitted";
	case CAPS_FAILED:
		return "failed";
	}
	return "unknown";
}

struct caps_sets caps_limited(const struct caps_sets *now, enum caps_keep keep)
{
	struct caps_sets out = { 0, 0, 0 };
	uint64_t raw = (uint64_t)1 << CAPS_NET_RAW;

	if (keep == CAPS_KEEP_NET_RAW)
		out.permitted = now->permitted & raw;
	return out;
}

/* Version 3 of the interface: two 32-bit words per set, for this process (pid 0). */
int caps_read(struct caps_sets *out)
{
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct d[_LINUX_CAPABILITY_U32S_3];

	memset(d, 0, sizeof(d));
	if (syscall(SYS_capget, &h, d) != 0)
		return -1;
	out->effective = (uint64_t)d[1].effective << 32 | d[0].effective;
	out->permitted = (uint64_t)d[1].permitted << 32 | d[0].permitted;
	out->inheritable = (uint64_t)d[1].inheritable << 32 | d[0].inheritable;
	return 0;
}

static int caps_write(const struct caps_sets *s)
{
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct d[_LINUX_CAPABILITY_U32S_3];

	d[0].effective = (uint32_t)s->effective;
	d[1].effective = (uint32_t)(s->effective >> 32);
	d[0].permitted = (uint32_t)s->permitted;
	d[1].permitted = (uint32_t)(s->permitted >> 32);
	d[0].inheritable = (uint32_t)s->inheritable;
	d[1].inheritable = (uint32_t)(s->inheritable >> 32);
	return syscall(SYS_capset, &h, d) == 0 ? 0 : -1;
}

static int count_bits(uint64_t v)
{
	int n = 0;

	for (; v != 0; v &= v - 1)
		n++;
	return n;
}

enum caps_result caps_start(struct log *lg, enum caps_keep keep)
{
	struct caps_sets now, next;
	char err[128], others[8];
	uint64_t raw = (uint64_t)1 << CAPS_NET_RAW;

	if (caps_read(&now) < 0) {
		log_error(lg, "cannot read capabilities", "error",
			  log_fmt(err, sizeof(err), "%s", strerror(errno)));
		return CAPS_FAILED;
	}
	int have_raw = (now.permitted & raw) != 0;
	next = caps_limited(&now, keep);
	log_info(lg, "capabilities", "cap_net_raw",
		 !have_raw		     ? "missing"
		 : keep == CAPS_KEEP_NET_RAW ? "held, effective only while a capture opens"
					     : "held, dropped (dry run captures nothing)",
		 "others_dropped",
		 log_fmt(others, sizeof(others), "%d", count_bits(now.permitted & ~raw)));
	if (caps_write(&next) < 0) {
		log_error(lg, "cannot limit capabilities", "error",
			  log_fmt(err, sizeof(err), "%s", strerror(errno)));
		return CAPS_FAILED;
	}
	if (keep == CAPS_KEEP_NET_RAW && !have_raw) {
		log_warn(lg, "without CAP_NET_RAW no capture can open: nothing will be answered");
		return CAPS_NOT_PERMITTED;
	}
	return CAPS_OK;
}

enum caps_result caps_raise_net_raw(void)
{
	struct caps_sets s;
	uint64_t raw = (uint64_t)1 << CAPS_NET_RAW;

	if (caps_read(&s) < 0)
		return CAPS_FAILED;
	if (!(s.permitted & raw))
		return CAPS_NOT_PERMITTED;
	s.effective |= raw;
	return caps_write(&s) == 0 ? CAPS_OK : CAPS_FAILED;
}

void caps_lower(void)
{
	struct caps_sets s;

	if (caps_read(&s) < 0 || s.effective == 0)
		return;
	s.effective = 0;
	(void)caps_write(&s);
}

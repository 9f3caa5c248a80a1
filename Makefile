# l2lb: GNU make only. `make help` lists the targets.
#
# Sources are found by convention, so adding a module needs no edit here:
#   pkg/*/*.c             -> build/libl2lb.a (shared by both daemons, no main())
#   speaker/*.c           -> build/libspeaker.a, speaker/main.c -> build/bin/l2lb-speaker
#   controller/*.c        -> build/libcontroller.a, controller/main.c -> build/bin/l2lb-controller
#   pkg/kube/cmd/NAME.c   -> build/bin/l2lb-NAME (small tools on the library)
#   test/unit/test_*.c    -> build/test/unit/test_* (one Check suite per module)
#   test/fakes/*.c        -> build/libfakes.a (link-time fakes a unit test may name in test_X_FAKES)
#   test/fuzz/fuzz_*.c    -> build/fuzz/fuzz_* libFuzzer targets (`make fuzz`; make check smoke-runs)
#   test/*/check-*.sh     -> further suites that `make check` runs after the unit tests

BUILD    ?= build
PREFIX   ?= /usr/local
DESTDIR  ?=
BINDIR   ?= $(PREFIX)/bin
VERSION  ?= $(shell git describe --always --dirty 2>/dev/null || echo 0.0.0)
SAN      ?=

PKGS := libnl-3.0 libnl-route-3.0 libpcap libcurl jansson yaml-0.1 libmicrohttpd

# Debian packages the build, the tests, the demo and `make lint` need.
DEB_PKGS := gcc make pkg-config libc6-dev libnl-3-dev libnl-route-3-dev libpcap-dev \
	libcurl4-openssl-dev libjansson-dev libyaml-dev libmicrohttpd-dev check \
	python3 openssl ca-certificates iproute2 iputils-arping ndisc6 nftables curl tcpdump \
	procps psmisc libcap2-bin cppcheck clang clang-tidy clang-format libclang-rt-14-dev

WARN     := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wformat=2
CFLAGS   ?= -O2 -g
ALL_CFLAGS = -std=gnu11 $(WARN) $(CFLAGS) -D_GNU_SOURCE -DL2LB_VERSION='"$(VERSION)"' \
	-Ipkg -I. $(PKG_CFLAGS) -MMD -MP
ALL_LDFLAGS = $(LDFLAGS)
ifeq ($(SAN),1)
ALL_CFLAGS  += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
ALL_LDFLAGS += -fsanitize=address,undefined
endif

# Goals that must work before the libraries are installed.
NODEPS_GOALS := deps clean format help manifests
ifneq ($(filter-out $(NODEPS_GOALS),$(or $(MAKECMDGOALS),all)),)
# The include's own rule installs what is missing and records pkg-config's answer, so every
# target that compiles runs `make deps` first, and a fresh machine needs no other step.
include $(BUILD)/config.mk
endif

LIB_SRC := $(sort $(wildcard pkg/*/*.c))
SPK_SRC := $(filter-out speaker/main.c,$(sort $(wildcard speaker/*.c)))
CTL_SRC := $(filter-out controller/main.c,$(sort $(wildcard controller/*.c)))
FAKE_SRC := $(sort $(wildcard test/fakes/*.c))
TOOL_SRC := $(sort $(wildcard pkg/kube/cmd/*.c))
UNIT_SRC := $(sort $(wildcard test/unit/test_*.c))
FUZZ_SRC := $(sort $(wildcard test/fuzz/fuzz_*.c))

obj = $(patsubst %.c,$(BUILD)/obj/%.o,$(1))

LIB   := $(BUILD)/libl2lb.a
SPKLIB := $(BUILD)/libspeaker.a
CTLLIB := $(BUILD)/libcontroller.a
FAKELIB := $(BUILD)/libfakes.a
TOOLS := $(patsubst pkg/kube/cmd/%.c,$(BUILD)/bin/l2lb-%,$(TOOL_SRC))
BINS  := $(BUILD)/bin/l2lb-speaker $(BUILD)/bin/l2lb-controller $(TOOLS)
UNITS := $(patsubst test/unit/%.c,$(BUILD)/test/unit/%,$(UNIT_SRC))
FUZZERS := $(patsubst test/fuzz/%.c,$(BUILD)/fuzz/%,$(FUZZ_SRC))

# Keep objects that only feed a test binary, so a second `make check` relinks nothing.
.SECONDARY:

.PHONY: manifests all deps check check-unit check-asan demo bench fuzz fuzz-build install format lint clean help
.DEFAULT_GOAL := all

all: $(BINS) $(LIB)

help:
	@echo "make            build $(BUILD)/bin/l2lb-speaker, l2lb-controller and $(BUILD)/libl2lb.a"
	@echo "make demo       the whole system on one machine, end to end (root)"
	@echo "make check      every test suite; ends with 'N passed, N failed, N skipped'"
	@echo "make check-asan the unit tests again under ASan and UBSan"
	@echo "make bench      benchmarks that print tables"
	@echo "make fuzz       libFuzzer targets, a short run each"
	@echo "make install    PREFIX=$(PREFIX) DESTDIR=$(DESTDIR)"
	@echo "make deps       install the Debian packages the rest needs"
	@echo "make manifests  render deploy/l2lb.yaml from deploy/ (kubectl kustomize)"
	@echo "make format | lint | clean"

deps:
	@sh test/deps.sh $(DEB_PKGS)

$(BUILD)/config.mk: Makefile test/deps.sh
	@sh test/deps.sh $(DEB_PKGS)
	@mkdir -p $(@D)
	@{ echo "PKG_CFLAGS := $$(pkg-config --cflags $(PKGS))"; \
	   echo "PKG_LIBS := $$(pkg-config --libs $(PKGS))"; \
	   echo "CHECK_LIBS := $$(pkg-config --libs check)"; } > $@.tmp && mv $@.tmp $@

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(LIB): $(call obj,$(LIB_SRC))
$(SPKLIB): $(call obj,$(SPK_SRC))
$(CTLLIB): $(call obj,$(CTL_SRC))
$(FAKELIB): $(call obj,$(FAKE_SRC))
$(LIB) $(SPKLIB) $(CTLLIB) $(FAKELIB):
	@mkdir -p $(@D)
	@rm -f $@
	$(AR) rcs $@ $^

$(BUILD)/bin/l2lb-speaker: $(call obj,speaker/main.c) $(SPKLIB) $(LIB)
$(BUILD)/bin/l2lb-controller: $(call obj,controller/main.c) $(CTLLIB) $(LIB)
# A static pattern rule: a plain pattern rule would lose its prerequisites to the $(BINS) rule.
$(TOOLS): $(BUILD)/bin/l2lb-%: $(BUILD)/obj/pkg/kube/cmd/%.o $(LIB)
$(BINS):
	@mkdir -p $(@D)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(PKG_LIBS) -lm

# A unit test may link fakes in place of I/O modules: `test_foo_FAKES := 1` in test/unit/fakes.mk
# puts build/libfakes.a before the real libraries, so its symbols win.
-include test/unit/fakes.mk
$(BUILD)/test/unit/%: $(call obj,test/unit/%.c) $(FAKELIB) $(SPKLIB) $(CTLLIB) $(LIB)
	@mkdir -p $(@D)
	$(CC) $(ALL_LDFLAGS) -o $@ $< $(if $($*_FAKES),$(FAKELIB)) $(SPKLIB) $(CTLLIB) $(LIB) \
		$(PKG_LIBS) $(CHECK_LIBS) -lm

check-unit: $(UNITS)

# `make check`: the unit tests plain and under sanitizers, then every further suite. The
# runner prints each suite's result and one closing line counting every test.
check: all check-unit fuzz-build
	@$(MAKE) --no-print-directory BUILD=$(BUILD)/asan SAN=1 check-unit
	@L2LB_BUILD=$(abspath $(BUILD)) sh test/check.sh -u $(BUILD)/test/unit \
		-u $(BUILD)/asan/test/unit -s

check-asan:
	@$(MAKE) --no-print-directory BUILD=$(BUILD)/asan SAN=1 check-unit
	@sh test/check.sh -u $(BUILD)/asan/test/unit

demo: all
	@if [ -x test/netns/demo.sh ]; then sh test/netns/demo.sh; \
	else echo "make demo: not yet: the end-to-end demo lands with issue 8" >&2; exit 1; fi

# bench-rss's baseline: the speaker's libraries and no speaker. --no-as-needed loads all of them,
# as the speaker does, although the baseline calls into only some.
$(BUILD)/bench/rss-floor: $(call obj,test/bench/rss_floor.c) $(LIB)
	@mkdir -p $(@D)
	$(CC) $(ALL_LDFLAGS) -Wl,--no-as-needed -o $@ $^ $(PKG_LIBS) -lm

bench: all $(BUILD)/bench/rss-floor
	@if ls test/bench/bench-*.sh >/dev/null 2>&1; then \
		for b in test/bench/bench-*.sh; do sh "$$b" || exit 1; done; \
	else echo "make bench: not yet: no benchmark has landed" >&2; exit 1; fi

# libFuzzer targets: the library again, built by clang with the fuzzer's coverage and ASan, and
# each test/fuzz/fuzz_X.c linked against it. `make check` smoke-runs them (test/fuzz/check-fuzz.sh).
FUZZ_CFLAGS = -std=gnu11 $(WARN) -O1 -g -D_GNU_SOURCE -DL2LB_VERSION='"$(VERSION)"' -Ipkg -I. \
	$(PKG_CFLAGS) -fsanitize=fuzzer-no-link,address -fno-omit-frame-pointer -MMD -MP
fuzzobj = $(patsubst %.c,$(BUILD)/fuzz/obj/%.o,$(1))

$(BUILD)/fuzz/obj/%.o: %.c
	@mkdir -p $(@D)
	clang $(FUZZ_CFLAGS) -c -o $@ $<

$(BUILD)/fuzz/libl2lb.a: $(call fuzzobj,$(LIB_SRC))
	@mkdir -p $(@D)
	@rm -f $@
	$(AR) rcs $@ $^

$(BUILD)/fuzz/fuzz_%: $(call fuzzobj,test/fuzz/fuzz_%.c) $(BUILD)/fuzz/libl2lb.a
	clang -fsanitize=fuzzer,address -o $@ $^ $(PKG_LIBS) -lm

fuzz-build: $(FUZZERS)

fuzz: all fuzz-build
	@if ls test/fuzz/fuzz_*.c >/dev/null 2>&1; then L2LB_BUILD=$(abspath $(BUILD)) sh test/fuzz/run.sh; \
	else echo "make fuzz: not yet: no fuzz target has landed" >&2; exit 1; fi

install: all
	install -d $(DESTDIR)$(BINDIR)
	install -m 0755 $(BINS) $(DESTDIR)$(BINDIR)/

# deploy/l2lb.yaml is every object of deploy/ in one file; a test fails when it is stale.
manifests:
	sh test/deploy/render.sh > deploy/l2lb.yaml.tmp && mv deploy/l2lb.yaml.tmp deploy/l2lb.yaml

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

lint: all
	cppcheck --quiet --error-exitcode=1 --enable=warning,performance,portability \
		--inline-suppr --std=c11 -D_GNU_SOURCE -DL2LB_VERSION='"lint"' -Ipkg -I. \
		--suppress=missingIncludeSystem $$(git ls-files '*.c')
	clang-tidy --quiet $$(git ls-files '*.c') -- -std=gnu11 -D_GNU_SOURCE -DL2LB_VERSION='"lint"' \
		-Ipkg -I. $(PKG_CFLAGS)

clean:
	rm -rf $(BUILD)

-include $(shell find $(BUILD)/obj $(BUILD)/fuzz/obj -name '*.d' 2>/dev/null)

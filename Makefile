# trapeze build. `make` builds the VMM and the tiny guests; `make check` installs
# what the tests need (make deps), builds, and runs every test suite.

CC      ?= gcc
BUILD   := build
CFLAGS  ?= -O2 -g
CFLAGS  += -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -Iinclude -MMD -MP
# The decompression libraries are dlopen()ed when a compressed kernel is
# unpacked (src/loader/decompress.c), so trapeze does not link them; the unit
# tests do, to make their compressed test data.
LDLIBS  += -lpthread
TEST_LDLIBS := -lz -llzma -lzstd -llz4

VERSION := $(shell git describe --always --dirty 2>/dev/null || echo unknown)
CFLAGS  += -DTRAPEZE_VERSION=\"0.1.0-$(VERSION)\"

# Every .c under src/ belongs to the VMM; main.c is the only one tests leave out.
SRCS     := $(shell find src -name '*.c' | sort)
OBJS     := $(SRCS:%.c=$(BUILD)/%.o)
LIB_OBJS := $(filter-out $(BUILD)/src/main.o,$(OBJS))

CHECK_LIBS := $(shell pkg-config --libs check 2>/dev/null || echo -lcheck)
UNIT_SRCS  := $(sort $(wildcard tests/unit/test_*.c))
UNIT_BINS  := $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/unit/%)
BOOT_TEST  := $(BUILD)/tests/boot/boot_test

.PHONY: all deps check check-unit check-boot check-nested clean demo linux-kernel bench
all: $(BUILD)/trapeze firmware

$(BUILD)/trapeze: $(OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c -o $@ $<

$(BUILD)/tests/unit/%: tests/unit/%.c $(LIB_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Itests -o $@ $< $(LIB_OBJS) $(CHECK_LIBS) $(LDLIBS) $(TEST_LDLIBS)

$(BOOT_TEST): tests/boot/boot_test.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $< $(CHECK_LIBS) $(LDLIBS)

include guest-firmware/firmware.mk

deps:
	scripts/deps.sh

# The main job on a built-in default: Debian's kernel to a busybox shell.
demo: deps all
	scripts/demo.sh

# The stock guest kernel the Linux boot tests use, at a stable path.
linux-kernel:
	scripts/link-kernel.sh $(BUILD)/linux

check: deps
	$(MAKE) all linux-kernel $(UNIT_BINS) $(BOOT_TEST)
	scripts/run-tests.sh

check-unit: $(UNIT_BINS)
	scripts/run-tests.sh unit

check-boot: all linux-kernel $(BOOT_TEST)
	scripts/run-tests.sh boot

check-nested: all linux-kernel
	scripts/run-tests.sh nested

# Benchmarks (bench/README.md): numbers, never a pass/fail; not part of check.
bench: deps all
	bench/run.sh $(BENCH_ARGS)

clean:
	rm -rf $(BUILD)

-include $(OBJS:.o=.d) $(UNIT_BINS:=.d)

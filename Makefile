# pylight -- light controller daemon. `make`, `make check`, `make demo`, `make install`.

PREFIX ?= /usr/local
SBINDIR ?= $(PREFIX)/sbin
MANDIR ?= $(PREFIX)/share/man
SYSCONFDIR ?= /etc
UNITDIR ?= $(shell pkg-config --variable=systemdsystemunitdir systemd 2>/dev/null || echo /lib/systemd/system)
VERSION = 0.1.0

CC ?= cc
CFLAGS ?= -O2 -g
PKGS = libmosquitto inih libsystemd json-c
WARN = -Wall -Wextra -Werror -Wstrict-prototypes -Wmissing-prototypes -Wshadow \
       -Wpointer-arith -Wformat=2 -Wvla
PCFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PLIBS := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
ALL_CFLAGS = -std=c11 -D_GNU_SOURCE -DPYLIGHT_VERSION='"$(VERSION)"' -Iinclude $(PCFLAGS) \
             $(WARN) $(CFLAGS) $(SANFLAGS)
ALL_LDFLAGS = $(LDFLAGS) $(SANFLAGS)
LIBS = $(PLIBS) -lpthread -lm

# BUILD is where objects go; `make SAN=1` builds an ASan+UBSan tree beside the normal one.
ifeq ($(SAN),1)
BUILD ?= build/san
SANFLAGS = -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
else
BUILD ?= build/plain
endif

SRCS := $(wildcard src/*.c)
OBJS := $(SRCS:src/%.c=$(BUILD)/%.o)
LIBOBJS := $(filter-out $(BUILD)/main.o,$(OBJS))
UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/%)

all: $(BUILD)/pylightd pylightd

pylightd: $(BUILD)/pylightd
	ln -sf $< $@

$(BUILD)/pylightd: $(OBJS)
	$(CC) $(ALL_LDFLAGS) -o $@ $(OBJS) $(LIBS)

$(BUILD)/%.o: src/%.c | $(BUILD)
	$(CC) $(ALL_CFLAGS) -MMD -MP -c -o $@ $<

$(BUILD)/tests/%: tests/unit/%.c $(LIBOBJS) | $(BUILD)
	$(CC) $(ALL_CFLAGS) $(shell pkg-config --cflags cmocka) -o $@ $< $(LIBOBJS) \
		$(ALL_LDFLAGS) $(LIBS) $(shell pkg-config --libs cmocka)

$(BUILD):
	mkdir -p $(BUILD)/tests

units: $(UNIT_BINS)

# Everything `make check` and `make demo` need, installed from Debian when missing.
deps:
	@tests/deps.sh

check: deps
	$(MAKE) units $(BUILD)/pylightd
	$(MAKE) SAN=1 units build/san/pylightd
	tests/run-units.sh $(BUILD)/tests build/san/tests
	PYLIGHTD=$(abspath $(BUILD)/pylightd) tests/run-blackbox.sh
	PYLIGHTD=$(abspath build/san/pylightd) tests/run-blackbox.sh

demo: deps $(BUILD)/pylightd
	tests/demo/demo.sh $(abspath $(BUILD)/pylightd)

install: $(BUILD)/pylightd
	install -D -m 755 $(BUILD)/pylightd $(DESTDIR)$(SBINDIR)/pylightd

uninstall:
	rm -f $(DESTDIR)$(SBINDIR)/pylightd

clean:
	rm -rf build pylightd

.PHONY: all units deps check demo install uninstall clean
-include $(OBJS:.o=.d)

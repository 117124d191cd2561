# pylight -- light controller daemon. `make`, `make check`, `make demo`, `make install`,
# `make deb`.

PREFIX ?= /usr/local
SBINDIR ?= $(PREFIX)/sbin
MANDIR ?= $(PREFIX)/share/man
SYSCONFDIR ?= /etc
PKG_CONFIG ?= pkg-config
UNITDIR ?= $(shell $(PKG_CONFIG) --variable=systemdsystemunitdir systemd 2>/dev/null || \
	echo /lib/systemd/system)
VERSION = 0.1.0

CC ?= cc
CFLAGS ?= -O2 -g
PKGS = libmosquitto inih libsystemd json-c
WEB_PKGS = libmicrohttpd
# Headers only: pylight-web opens libsqlite3 with dlopen when its history is on.
WEB_HDR_PKGS = sqlite3
# Header-only: xxhash is compiled in (XXH_INLINE_ALL), so it adds flags but no library.
HDR_PKGS = libxxhash
WARN = -Wall -Wextra -Werror -Wstrict-prototypes -Wmissing-prototypes -Wshadow \
       -Wpointer-arith -Wformat=2 -Wvla
# These run when make reads this file. On a fresh machine that is before `deps` has installed
# the packages, so every target that runs `deps` re-invokes make for the build: the new make
# reads this file again with the .pc files in place. That is simpler than deferring each
# flag to recipe time (and still right under -j, where prerequisites run in any order).
# A build whose packages are missing stops at once with the reason (need_pkgs), never with
# a link error far from the cause.
PCFLAGS := $(shell $(PKG_CONFIG) --cflags $(PKGS) $(HDR_PKGS) 2>/dev/null)
PLIBS := $(shell $(PKG_CONFIG) --libs $(PKGS) 2>/dev/null)
WEB_PCFLAGS := $(shell $(PKG_CONFIG) --cflags $(WEB_PKGS) $(WEB_HDR_PKGS) 2>/dev/null)
WEB_PLIBS := $(shell $(PKG_CONFIG) --libs $(WEB_PKGS) 2>/dev/null)
PKGS_MISSING := $(shell $(PKG_CONFIG) --exists $(PKGS) $(HDR_PKGS) $(WEB_PKGS) $(WEB_HDR_PKGS) \
	2>/dev/null || echo yes)
need_pkgs = $(if $(PKGS_MISSING),$(error pkg-config cannot find all of $(PKGS) $(HDR_PKGS) \
	$(WEB_PKGS) $(WEB_HDR_PKGS): \
	`make deps` installs the Debian packages))
# The caller's CPPFLAGS, CFLAGS and LDFLAGS (dpkg's hardening flags) come after the project's,
# so that they win where both set the same option.
ALL_CFLAGS = -std=c11 -D_GNU_SOURCE -DPYLIGHT_VERSION='"$(VERSION)"' -Iinclude $(PCFLAGS) \
             $(WARN) $(CPPFLAGS) $(CFLAGS) $(SANFLAGS)
ALL_LDFLAGS = $(LDFLAGS) $(SANFLAGS)
LIBS = $(PLIBS) -lpthread -lm

# BUILD is where objects go; `make SAN=1` builds an ASan+UBSan tree beside the normal one.
ifeq ($(SAN),1)
BUILD ?= build/san
SANFLAGS = -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
else
BUILD ?= build/plain
endif

# Three parts, one folder each: src/common/ is what both programs link (headers in include/),
# src/pylightd/ the daemon's own modules, src/web/ pylight-web's (their headers beside them).
COMMON_SRCS := $(wildcard src/common/*.c)
COMMON_OBJS := $(COMMON_SRCS:src/%.c=$(BUILD)/obj/%.o)
DAEMON_SRCS := $(wildcard src/pylightd/*.c)
DAEMON_OBJS := $(DAEMON_SRCS:src/%.c=$(BUILD)/obj/%.o)
OBJS := $(COMMON_OBJS) $(DAEMON_OBJS)
# Everything of pylightd but its main(): what the unit tests and the reload bench link.
LIBOBJS := $(filter-out $(BUILD)/obj/pylightd/main.o,$(OBJS))
# pylight-web: its own sources, the page compiled in, and the common modules (the same
# thresholds parser checks every text before it is saved, and the history parses readings
# as pylightd does).
WEB_SRCS := $(wildcard src/web/*.c)
WEB_PAGE := $(wildcard src/web/page/*.html src/web/page/*.js src/web/page/*.css src/web/page/*.svg)
WEB_OBJS := $(WEB_SRCS:src/%.c=$(BUILD)/obj/%.o) $(BUILD)/obj/web/assets.o $(COMMON_OBJS)
UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/%)

all: $(BUILD)/pylightd pylightd $(BUILD)/pylight-web pylight-web

pylightd: $(BUILD)/pylightd
	ln -sf $< $@

pylight-web: $(BUILD)/pylight-web
	ln -sf $< $@

$(BUILD)/pylight-web: $(WEB_OBJS)
	$(need_pkgs)$(CC) $(ALL_LDFLAGS) -o $@ $(WEB_OBJS) $(LIBS) $(WEB_PLIBS)

$(BUILD)/obj/web/%.o: src/web/%.c
	@mkdir -p $(@D)
	$(need_pkgs)$(CC) $(ALL_CFLAGS) $(WEB_PCFLAGS) -Isrc/web -MMD -MP -c -o $@ $<

$(BUILD)/obj/web/assets.c: src/web/page/embed.sh $(WEB_PAGE)
	@mkdir -p $(@D)
	src/web/page/embed.sh $(WEB_PAGE) >$@.tmp && mv $@.tmp $@

$(BUILD)/obj/web/assets.o: $(BUILD)/obj/web/assets.c
	$(need_pkgs)$(CC) $(ALL_CFLAGS) -Isrc/web -c -o $@ $<

$(BUILD)/pylightd: $(OBJS)
	$(need_pkgs)$(CC) $(ALL_LDFLAGS) -o $@ $(OBJS) $(LIBS)

$(BUILD)/obj/common/%.o: src/common/%.c
	@mkdir -p $(@D)
	$(need_pkgs)$(CC) $(ALL_CFLAGS) -MMD -MP -c -o $@ $<

$(BUILD)/obj/pylightd/%.o: src/pylightd/%.c
	@mkdir -p $(@D)
	$(need_pkgs)$(CC) $(ALL_CFLAGS) -Isrc/pylightd -MMD -MP -c -o $@ $<

$(BUILD)/tests/%: tests/unit/%.c $(LIBOBJS)
	@mkdir -p $(@D)
	$(need_pkgs)$(CC) $(ALL_CFLAGS) -Isrc/pylightd $(shell $(PKG_CONFIG) --cflags cmocka) -o $@ $< $(LIBOBJS) \
		$(ALL_LDFLAGS) $(LIBS) $(shell $(PKG_CONFIG) --libs cmocka)

units: $(UNIT_BINS)

# Everything `make check`, `make demo`, `make bench` and `make fuzz` need, installed from
# Debian when missing; those targets then build in a new make (see PCFLAGS above).
deps:
	@tests/deps.sh

# `make demo` installs only what the demo runs (no browser, no packaging tools).
deps-demo:
	@tests/deps.sh demo

check: deps
	$(MAKE) units $(BUILD)/pylightd $(BUILD)/pylight-web
	$(MAKE) SAN=1 units build/san/pylightd build/san/pylight-web
	tests/run-units.sh $(BUILD)/tests build/san/tests
	PYLIGHTD=$(abspath $(BUILD)/pylightd) PYLIGHT_WEB=$(abspath $(BUILD)/pylight-web) \
		tests/run-blackbox.sh
	PYLIGHTD=$(abspath build/san/pylightd) PYLIGHT_WEB=$(abspath build/san/pylight-web) \
		tests/run-blackbox.sh
	tests/systemd/run.sh

# Benchmarks against a bare libmosquitto relay; never part of check's pass/fail.
BENCH_BINS = $(BUILD)/bench/relay $(BUILD)/bench/loadgen $(BUILD)/bench/failover \
	     $(BUILD)/bench/takeover
$(BUILD)/bench/loadgen $(BUILD)/bench/failover $(BUILD)/bench/takeover: tests/bench/client.c \
	tests/bench/client.h
$(BUILD)/bench/%: tests/bench/%.c
	@mkdir -p $(BUILD)/bench
	$(need_pkgs)$(CC) $(ALL_CFLAGS) -Isrc/pylightd -o $@ $(filter %.c,$^) $(ALL_LDFLAGS) $(LIBS)

bench: deps
	$(MAKE) $(BUILD)/pylightd $(BUILD)/pylight-web $(BENCH_BINS) $(BUILD)/bench/reload \
		$(BUILD)/bench/presence
	tests/bench/bench.sh $(BUILD)

# The drivers of the daemon's modules alone, without MQTT: a reload, a presence report.
$(BUILD)/bench/reload $(BUILD)/bench/presence: $(BUILD)/bench/%: tests/bench/%.c $(LIBOBJS)
	@mkdir -p $(BUILD)/bench
	$(need_pkgs)$(CC) $(ALL_CFLAGS) -Isrc/pylightd -o $@ $< $(LIBOBJS) $(ALL_LDFLAGS) $(LIBS)

# libFuzzer targets (clang, ASan+UBSan); FUZZ_SECONDS per target.
FUZZ_SECONDS ?= 20
fuzz: deps
	FUZZ_SECONDS=$(FUZZ_SECONDS) tests/fuzz/run.sh

lint:
	tests/lint.sh

demo: deps-demo
	$(MAKE) $(BUILD)/pylightd $(BUILD)/pylight-web
	tests/demo/demo.sh $(abspath $(BUILD)/pylightd)

# The samples in conf/ are installed only where no file exists yet: an operator's
# pylight.ini and ref.txt are never overwritten, and `uninstall` removes them only
# while they are still identical to the samples.
CONFDIR ?= $(SYSCONFDIR)/pylight
# What install and uninstall handle: every program in PROGS, and every unit and man page
# found in systemd/ and man/ (the units' @SBINDIR@ and @CONFDIR@ are filled in).
PROGS = pylightd pylight-web
UNITS = $(notdir $(wildcard systemd/*.service systemd/*.socket))
MAN5 = $(notdir $(wildcard man/*.5))
MAN8 = $(notdir $(wildcard man/*.8))

install: $(PROGS:%=$(BUILD)/%)
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(UNITDIR) $(DESTDIR)$(MANDIR)/man5 \
		$(DESTDIR)$(MANDIR)/man8
	install -m 755 $(PROGS:%=$(BUILD)/%) $(DESTDIR)$(SBINDIR)
	for u in $(UNITS); do \
		sed -e 's|@SBINDIR@|$(SBINDIR)|g' -e 's|@CONFDIR@|$(CONFDIR)|g' systemd/$$u \
			>$(DESTDIR)$(UNITDIR)/$$u && chmod 644 $(DESTDIR)$(UNITDIR)/$$u || exit 1; \
	done
	install -m 644 $(MAN5:%=man/%) $(DESTDIR)$(MANDIR)/man5
	install -m 644 $(MAN8:%=man/%) $(DESTDIR)$(MANDIR)/man8
	[ -d $(DESTDIR)$(CONFDIR) ] || install -d -m 755 $(DESTDIR)$(CONFDIR)
	for f in pylight.ini ref.txt; do \
		if [ -e $(DESTDIR)$(CONFDIR)/$$f ]; then \
			echo "install: keeping the existing $(DESTDIR)$(CONFDIR)/$$f"; \
		else \
			install -m 644 conf/$$f $(DESTDIR)$(CONFDIR)/$$f || exit 1; \
		fi; \
	done

uninstall:
	rm -f $(PROGS:%=$(DESTDIR)$(SBINDIR)/%) $(UNITS:%=$(DESTDIR)$(UNITDIR)/%) \
		$(MAN5:%=$(DESTDIR)$(MANDIR)/man5/%) $(MAN8:%=$(DESTDIR)$(MANDIR)/man8/%)
	for f in pylight.ini ref.txt; do \
		if cmp -s conf/$$f $(DESTDIR)$(CONFDIR)/$$f; then \
			rm -f $(DESTDIR)$(CONFDIR)/$$f; \
		elif [ -e $(DESTDIR)$(CONFDIR)/$$f ]; then \
			echo "uninstall: keeping the changed $(DESTDIR)$(CONFDIR)/$$f"; \
		fi; \
	done
	[ ! -d $(DESTDIR)$(CONFDIR) ] || rmdir --ignore-fail-on-non-empty $(DESTDIR)$(CONFDIR)

# `make deb`: the Debian package (debian/), built by dpkg-buildpackage without root or network
# in a copy of this tree, since it writes the package beside the folder it builds in. The
# .deb, .changes, .buildinfo and the build log are left in DEB_DIR.
DEB_DIR = build/deb
deb:
	@command -v dpkg-buildpackage >/dev/null || { echo "deb: dpkg-buildpackage not found;" \
		"on Debian 12 install dpkg-dev and debhelper (make deps)" >&2; exit 1; }
	rm -rf $(DEB_DIR)
	mkdir -p $(DEB_DIR)/pylight
	tar -cf - --exclude=./build --exclude=./.git --exclude=./pylightd --exclude=./pylight-web \
		--exclude=__pycache__ . | tar -xf - -C $(DEB_DIR)/pylight
	cd $(DEB_DIR)/pylight && env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL bash -o pipefail -c \
		'dpkg-buildpackage -us -uc -b 2>&1 | tee ../pylight_$$(dpkg-parsechangelog -S Version)_$$(dpkg-architecture -qDEB_HOST_ARCH).build'
	rm -rf $(DEB_DIR)/pylight
	@ls $(DEB_DIR)/*.deb

clean:
	rm -rf build pylightd pylight-web

.PHONY: all units deps deps-demo check demo bench fuzz lint install uninstall deb clean
-include $(OBJS:.o=.d) $(WEB_SRCS:src/%.c=$(BUILD)/obj/%.d)

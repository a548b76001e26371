# cordon: cordond (controller), cordonctl (CLI), cordon-agent (hypervisor agent)
#   make            build everything into build/
#   make SAN=1      same with ASan + UBSan
#   make check      all tests (needs root: namespaces, nftables)
#   make check-san  unit + non-libvirt tests against the SAN=1 build
#   make demo       install dependencies, build, show a cut and a restore
#   make man        man pages (scdoc) into build/man/
#   make fuzz       libFuzzer targets (clang), each FUZZ_SECONDS (10) on its corpus
#   make install    install binaries, man pages, bash completion, units,
#                   sysusers.d, default config (DESTDIR, PREFIX)
#   make deb        Debian packages cordon-controller and cordon-agent
#                   (dpkg-buildpackage, from a copy of the tree; DEB_OUT)

CC      ?= cc
PREFIX  ?= /usr/local
# Distribution builds pass their flags in the environment (dpkg-buildflags:
# -D_FORTIFY_SOURCE in CPPFLAGS, -fstack-protector-strong in CFLAGS, relro
# and now in LDFLAGS): each reaches every compile and link line below.
CPPFLAGS ?=
LDFLAGS  ?=
B       := build
PKGS_COMMON := libzmq libprotobuf-c jansson inih
PKGS_AGENT  := $(PKGS_COMMON) libnftnl libmnl libczmq libsystemd libvirt libxml-2.0 libnl-3.0 libnl-route-3.0
PKGS_CTL    := $(PKGS_COMMON) sqlite3 libpq libczmq libsystemd gmime-3.0 yaml-0.1
PKGS_TEST   := cmocka
# Both daemons' /metrics (common/metrics_http.c), not cordonctl's.
PKGS_HTTP   := libmicrohttpd

CFLAGS  ?= -O2 -g
CFLAGS  += -std=gnu11 -Wall -Wextra -Werror -D_GNU_SOURCE -MMD -MP \
           -Icommon -Iproto -I$(B)/proto -Iagent -Icontroller
ifeq ($(SAN),1)
CFLAGS  += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
LDFLAGS += -fsanitize=address,undefined
endif

# Test builds only (tests/integration/127-rolling-upgrade.sh), each in its
# own B=: CORDON_PROTO_VERSION_OVERRIDE=N claims protocol N and sends a field
# this schema lacks (a newer peer); CORDON_SCOPE_NEXT=1 adds a fourth scope
# "next" (bit 8), as a newer controller might.
ifneq ($(CORDON_PROTO_VERSION_OVERRIDE),)
CFLAGS  += -DCORDON_PROTO_VERSION_OVERRIDE=$(CORDON_PROTO_VERSION_OVERRIDE)
endif
ifeq ($(CORDON_SCOPE_NEXT),1)
CFLAGS  += -DCORDON_SCOPE_NEXT
endif

pc_cflags = $(shell pkg-config --cflags $(1))
pc_libs   = $(shell pkg-config --libs $(1))

PROTO_GEN   := $(B)/proto/cordon.pb-c.c
HTTP_SRC    := common/metrics_http.c
HTTP_OBJ    := $(patsubst %.c,$(B)/%.o,$(HTTP_SRC))
COMMON_SRC  := $(filter-out $(HTTP_SRC),$(wildcard common/*.c)) $(wildcard proto/*.c)
COMMON_OBJ  := $(patsubst %.c,$(B)/%.o,$(COMMON_SRC)) $(B)/proto/cordon.pb-c.o
AGENT_SRC   := $(wildcard agent/*.c)
AGENT_OBJ   := $(patsubst %.c,$(B)/%.o,$(AGENT_SRC))
CTLCLI_SRC  := $(wildcard controller/cordonctl*.c)
# The report parser is cordonctl's alone until cordond ingests reports.
CTLD_SRC    := $(filter-out $(CTLCLI_SRC) controller/report_%.c,$(wildcard controller/*.c))
CTLD_OBJ    := $(patsubst %.c,$(B)/%.o,$(CTLD_SRC))
REPORT_OBJ  := $(patsubst %.c,$(B)/%.o,$(wildcard controller/report_*.c))
CTLCLI_OBJ  := $(patsubst %.c,$(B)/%.o,$(CTLCLI_SRC)) $(B)/controller/policy.o \
               $(B)/controller/calendar.o $(B)/controller/store_backup.o $(REPORT_OBJ)

# cordon-sendmail: SMTP submission for notify_command (mail/).
MAIL_OBJ    := $(patsubst %.c,$(B)/%.o,$(wildcard mail/*.c))
PKGS_MAIL   := libcurl gmime-3.0

BINS := $(B)/cordond $(B)/cordonctl $(B)/cordon-agent $(B)/cordon-sendmail

# man/NAME.SECTION.scd -> $(B)/man/NAME.SECTION
MAN_SRC   := $(wildcard man/*.scd)
MAN_PAGES := $(patsubst man/%.scd,$(B)/man/%,$(MAN_SRC))

# Unit tests: tests/unit/test_NAME.c, linked with common + proto and the
# module objects listed in UNIT_DEPS_NAME (objects without main()).
UNIT_SRC   := $(wildcard tests/unit/test_*.c)
UNIT_BINS  := $(patsubst tests/unit/%.c,$(B)/tests/%,$(UNIT_SRC))
UNIT_DEPS_test_state    := $(B)/agent/state.o $(B)/agent/state_dump.o
UNIT_DEPS_test_term     := $(B)/agent/term.o $(B)/agent/state.o $(B)/agent/state_dump.o
UNIT_DEPS_test_follow   := $(B)/agent/follow.o $(B)/agent/transport.o $(B)/agent/config.o
UNIT_DEPS_test_calendar := $(B)/controller/calendar.o
UNIT_DEPS_test_policy   := $(B)/controller/policy.o $(B)/controller/calendar.o
UNIT_DEPS_test_notify   := $(B)/controller/notify.o
UNIT_DEPS_test_report_parse := $(REPORT_OBJ)
UNIT_DEPS_test_config   := $(B)/agent/config.o $(B)/controller/config.o $(B)/controller/calendar.o
STORE_OBJ  := $(B)/controller/store.o $(B)/controller/store_schema.o $(B)/controller/db.o \
              $(B)/controller/db_sqlite.o $(B)/controller/db_pg.o $(B)/controller/db_pg_sql.o
UNIT_DEPS_test_retention := $(STORE_OBJ) $(B)/controller/store_backup.o \
                            $(B)/controller/retention.o $(B)/controller/config.o $(B)/controller/calendar.o
UNIT_DEPS_test_store_backup := $(STORE_OBJ) $(B)/controller/store_backup.o
UNIT_DEPS_test_store    := $(STORE_OBJ) $(B)/controller/store_backup.o $(B)/controller/desired.o \
                           $(B)/controller/inventory.o $(B)/controller/ip_history.o $(B)/controller/vm_hosts.o

# Test and benchmark tools: tests/tools/NAME.c, linked like unit tests with
# TOOL_DEPS_NAME.
TOOL_SRC   := $(wildcard tests/tools/*.c)
TOOL_BINS  := $(patsubst tests/tools/%.c,$(B)/tools/%,$(TOOL_SRC))
TOOL_DEPS_nfttool := $(B)/agent/nft.o $(B)/agent/nft_batch.o $(B)/agent/nft_obj.o \
                     $(B)/agent/nft_bridge.o $(B)/agent/nft_port.o
TOOL_DEPS_linkwatch := $(B)/agent/link.o
TOOL_DEPS_fullset := $(B)/agent/enforce.o $(B)/agent/state.o $(B)/agent/state_dump.o $(B)/agent/inventory.o \
                     $(B)/agent/config.o $(TOOL_DEPS_nfttool)

all: $(BINS) $(UNIT_BINS) $(TOOL_BINS)

$(B)/proto/cordon.pb-c.c $(B)/proto/cordon.pb-c.h: proto/cordon.proto
	@mkdir -p $(B)/proto
	protoc-c --c_out=$(B)/proto -Iproto $<

$(B)/%.o: %.c $(B)/proto/cordon.pb-c.h
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(call pc_cflags,$(PKGS_AGENT) $(PKGS_CTL) $(PKGS_HTTP) $(PKGS_MAIL)) -c -o $@ $<

$(B)/proto/cordon.pb-c.o: $(B)/proto/cordon.pb-c.c
	$(CC) $(CPPFLAGS) $(filter-out -Werror,$(CFLAGS)) $(call pc_cflags,libprotobuf-c) -c -o $@ $<

$(B)/cordon-agent: $(AGENT_OBJ) $(COMMON_OBJ) $(HTTP_OBJ)
	$(CC) $(LDFLAGS) -o $@ $^ $(call pc_libs,$(PKGS_AGENT) $(PKGS_HTTP)) -lm

$(B)/cordond: $(CTLD_OBJ) $(COMMON_OBJ) $(HTTP_OBJ)
	$(CC) $(LDFLAGS) -o $@ $^ $(call pc_libs,$(PKGS_CTL) $(PKGS_HTTP)) -lm

$(B)/cordonctl: $(CTLCLI_OBJ) $(COMMON_OBJ)
	$(CC) $(LDFLAGS) -o $@ $^ $(call pc_libs,$(PKGS_CTL))

# cordond's default notify_command names where `make install` puts it.
$(B)/controller/config.o: CPPFLAGS += -DCORDON_SBINDIR='"$(PREFIX)/sbin"'

$(B)/cordon-sendmail: $(MAIL_OBJ) $(B)/common/contact.o
	$(CC) $(LDFLAGS) -o $@ $^ $(call pc_libs,$(PKGS_MAIL))

.SECONDEXPANSION:
$(B)/tests/%: tests/unit/%.c $(COMMON_OBJ) $$(UNIT_DEPS_$$*)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(LDFLAGS) $(call pc_cflags,$(PKGS_AGENT) $(PKGS_CTL) $(PKGS_TEST)) -o $@ $(filter %.c %.o,$^) \
	    $(call pc_libs,$(PKGS_AGENT) $(PKGS_CTL) $(PKGS_TEST)) -lm

$(B)/tools/%: tests/tools/%.c $(COMMON_OBJ) $$(TOOL_DEPS_$$*)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(LDFLAGS) $(call pc_cflags,$(PKGS_AGENT) $(PKGS_CTL)) -o $@ $(filter %.c %.o,$^) \
	    $(call pc_libs,$(PKGS_AGENT) $(PKGS_CTL)) -lm

$(B)/man/%: man/%.scd
	@mkdir -p $(dir $@)
	scdoc <$< >$@.tmp && mv $@.tmp $@

man: $(MAN_PAGES)

# What is installed: the programs and their pages (no tests, no cmocka).
progs: $(BINS) $(MAN_PAGES)

check: all
	tests/run

# Against the ASan + UBSan build (CI runs check-san after `make check`):
# the unit tests and the integration tests where outside input reaches our
# parsers (config keys, the wire from unauthenticated and flooding peers,
# the control socket, state files, case input, report mails, terminal
# escapes, rows of another store: --migrate-store), so that CI stays near
# 30 minutes on 2 cores; check-san-all runs every test but the libvirt ones.
SAN_TESTS := @(test_*|105-*|150-*|156-*|157-*|160-*|23[68]-*|350-*|365-*|372-*|390-*|6[0-5]0-*|833-*)
check-san:
	$(MAKE) SAN=1 B=build-san all
	CDT_BUILD=$(CURDIR)/build-san tests/run '$(SAN_TESTS)'

check-san-all:
	$(MAKE) SAN=1 B=build-san all
	CDT_BUILD=$(CURDIR)/build-san CDT_EXCLUDE='4[0-9][0-9]-libvirt*' tests/run

demo: deps all
	tests/demo.sh

deps:
	./scripts/install-deps.sh

bench: all
	bench/run

# Its own build (fuzz/fuzz.mk, clang, build/fuzz/obj): never mixed with the
# objects above.
FUZZ_SECONDS ?= 10
fuzz:
	FUZZ_SECONDS=$(FUZZ_SECONDS) fuzz/run

install: $(BINS) $(MAN_PAGES)
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/sbin \
	    $(DESTDIR)/etc/cordon/authorized-agents $(DESTDIR)/lib/systemd/system
	install -m 0755 $(B)/cordonctl $(DESTDIR)$(PREFIX)/bin/
	install -m 0755 $(B)/cordond $(B)/cordon-agent $(B)/cordon-sendmail $(DESTDIR)$(PREFIX)/sbin/
	for p in $(MAN_PAGES); do d=$(DESTDIR)$(PREFIX)/share/man/man$${p##*.}; \
	    install -d $$d && install -m 0644 $$p $$d/ || exit 1; done
	install -d $(DESTDIR)$(PREFIX)/share/bash-completion/completions
	install -m 0644 completions/cordonctl $(DESTDIR)$(PREFIX)/share/bash-completion/completions/
	# The units name /usr/local (the default PREFIX): rewritten for this one.
	for u in cordond.service cordon-agent.service; do \
	    sed 's|/usr/local/|$(PREFIX)/|g' systemd/$$u >$(DESTDIR)/lib/systemd/system/$$u.tmp && \
	    chmod 0644 $(DESTDIR)/lib/systemd/system/$$u.tmp && \
	    mv $(DESTDIR)/lib/systemd/system/$$u.tmp $(DESTDIR)/lib/systemd/system/$$u || exit 1; done
	install -d $(DESTDIR)$(PREFIX)/lib/sysusers.d
	install -m 0644 systemd/cordon.sysusers $(DESTDIR)$(PREFIX)/lib/sysusers.d/cordon.conf
	install -m 0644 systemd/cordon-agent.sysusers $(DESTDIR)$(PREFIX)/lib/sysusers.d/cordon-agent.conf
	# Readable by cordond's user (it holds no secret: the key is a path).
	test -e $(DESTDIR)/etc/cordon/cordond.conf || \
	    install -m 0644 conf/cordond.conf $(DESTDIR)/etc/cordon/cordond.conf
	test -e $(DESTDIR)/etc/cordon/agent.conf || \
	    install -m 0640 conf/agent.conf $(DESTDIR)/etc/cordon/agent.conf
	test -e $(DESTDIR)/etc/cordon/inventory.json || \
	    install -m 0644 conf/inventory.json $(DESTDIR)/etc/cordon/inventory.json
	# Shipped ladders and templates: installed once, then the operator's.
	test -e $(DESTDIR)/etc/cordon/policies || { install -d $(DESTDIR)/etc/cordon/policies && \
	    install -m 0644 policies/*.policy $(DESTDIR)/etc/cordon/policies/; }
	for f in report-types.conf report-rules.conf; do test -e $(DESTDIR)/etc/cordon/$$f || \
	    install -m 0644 conf/$$f $(DESTDIR)/etc/cordon/$$f || exit 1; done
	test -e $(DESTDIR)/etc/cordon/calendar.conf || \
	    install -m 0644 conf/calendar.conf $(DESTDIR)/etc/cordon/calendar.conf
	test -e $(DESTDIR)/etc/cordon/templates || { install -d $(DESTDIR)/etc/cordon/templates && \
	    install -m 0644 templates/*.txt $(DESTDIR)/etc/cordon/templates/; }

# From a copy of the tree in a temporary directory: dpkg-buildpackage
# writes its .deb, .changes and .buildinfo next to the source directory,
# and debian/rules' own build directory stays out of this tree too. The
# packages land in DEB_OUT.
DEB_OUT  ?= $(B)/deb
DEB_JOBS ?= 2
deb:
	@set -e; tmp=$$(mktemp -d /tmp/cordon-deb.XXXXXX); trap 'rm -rf "$$tmp"' EXIT; \
	mkdir "$$tmp/cordon"; \
	tar -C $(CURDIR) --exclude=./.git --exclude=./build --exclude='./build-*' -cf - . | \
	    tar -C "$$tmp/cordon" -xf -; \
	(cd "$$tmp/cordon" && dpkg-buildpackage -b -us -uc -j$(DEB_JOBS)) >"$$tmp/build.log" 2>&1 || \
	    { tail -n 40 "$$tmp/build.log"; echo "make deb: dpkg-buildpackage failed" >&2; exit 1; }; \
	mkdir -p $(DEB_OUT); cp "$$tmp"/*.deb $(DEB_OUT)/; ls $(DEB_OUT)/*.deb

clean:
	rm -rf $(B) build-san

.PHONY: all man progs deb check check-san check-san-all demo deps bench fuzz install clean

-include $(shell find $(B) -name '*.d' 2>/dev/null)

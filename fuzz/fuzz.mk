# fuzz/fuzz.mk: the libFuzzer targets, built with clang + ASan + UBSan into
# $(B)/fuzz/. Its own object dir ($(B)/fuzz/obj) and its own generated
# protobuf code, so it never races or mixes with the normal build.
#   make -f fuzz/fuzz.mk [B=build] [CLANG=clang]
# Run through `make fuzz` or fuzz/run (see README, "Fuzzing").

B     ?= build
CLANG ?= clang
F     := $(B)/fuzz
O     := $(F)/obj

SAN    := -fsanitize=address,undefined -fno-sanitize-recover=undefined \
          -fno-omit-frame-pointer
PKGS   := libprotobuf-c jansson inih libxml-2.0 libvirt libczmq libzmq gmime-3.0 yaml-0.1
CFLAGS := -std=gnu11 -g -O1 -Wall -Wextra -Werror -D_GNU_SOURCE $(SAN) \
          -I. -Icommon -Iproto -I$(O)/proto -Iagent -Icontroller \
          $(shell pkg-config --cflags $(PKGS))
LIBS   := $(shell pkg-config --libs $(PKGS)) -lm

# The parsers and what they call; linked from an archive, so each target
# takes only the objects it needs.
# metrics_http.c is the daemons' HTTP server (libmicrohttpd): no parser.
LIB_SRC := $(filter-out common/metrics_http.c,$(wildcard common/*.c)) proto/codec.c \
           controller/policy.c controller/calendar.c controller/config.c \
           controller/notify.c agent/config.c agent/inventory.c \
           agent/state.c agent/state_dump.c agent/virt_read.c \
           $(wildcard controller/report_*.c)
# agent/config.c and controller/config.c: one archive member each.
obj_of  = $(O)/$(subst /,_,$(1:.c=.o))
LIB_OBJ := $(foreach s,$(LIB_SRC),$(call obj_of,$(s))) $(O)/cordon.pb-c.o
HELPER  := $(O)/fuzz_fuzz_input.o

TARGETS := $(patsubst fuzz/fuzz_%.c,%,$(filter-out fuzz/fuzz_input.c,$(wildcard fuzz/fuzz_*.c)))
BINS    := $(addprefix $(F)/fuzz_,$(TARGETS))

all: $(BINS)

$(O)/proto/cordon.pb-c.c $(O)/proto/cordon.pb-c.h: proto/cordon.proto
	@mkdir -p $(O)/proto
	protoc-c --c_out=$(O)/proto -Iproto $<

# Generated code is not ours to keep warning-free (the Makefile agrees).
$(O)/cordon.pb-c.o: $(O)/proto/cordon.pb-c.c
	$(CLANG) $(filter-out -Werror,$(CFLAGS)) -fsanitize=fuzzer-no-link -c -o $@ $<

define compile
$(call obj_of,$(1)): $(1) $(O)/proto/cordon.pb-c.h
	@mkdir -p $(O)
	$(CLANG) $(CFLAGS) -fsanitize=fuzzer-no-link -MMD -MF $$@.dep -c -o $$@ $$<
endef
$(foreach s,$(LIB_SRC) $(wildcard fuzz/*.c),$(eval $(call compile,$(s))))

$(O)/libparsers.a: $(LIB_OBJ)
	rm -f $@
	ar rcs $@ $^

$(F)/fuzz_%: $(O)/fuzz_fuzz_%.o $(HELPER) $(O)/libparsers.a
	$(CLANG) $(SAN) -fsanitize=fuzzer -o $@ $^ $(LIBS)

.PHONY: all
-include $(wildcard $(O)/*.dep)

#!/bin/sh
# Fuzz the wire decoder (proto/fuzz_codec.c) with libFuzzer + ASan + UBSan.
#   bench/fuzz_codec.sh [SECONDS]      default 60
# Env: B (work dir, default build/fuzz), CLANG (default clang).
# Crashes land in $B/fuzz/artifacts/; the corpus in $B/fuzz/corpus/ is kept
# between runs so each run starts where the last one stopped.
set -eu

secs=${1:-60}
top=$(cd "$(dirname "$0")/.." && pwd)
b=${B:-$top/build/fuzz}
cc=${CLANG:-clang}
san="-fsanitize=address,undefined -fno-sanitize-recover=undefined"
san="$san -fno-omit-frame-pointer -g -O1"

mkdir -p "$b/proto" "$b/fuzz/corpus" "$b/fuzz/artifacts"
cd "$top"

# Generated code in our own dir: the fuzz build must not race a normal make.
protoc-c --c_out="$b/proto" -Iproto proto/cordon.proto
pbc_cflags=$(pkg-config --cflags libprotobuf-c)
pbc_libs=$(pkg-config --libs libprotobuf-c)

# Generated code is not ours to keep warning-free (the Makefile agrees).
"$cc" $san -fsanitize=fuzzer-no-link -std=gnu11 $pbc_cflags -I"$b/proto" \
    -c -o "$b/cordon.pb-c.o" "$b/proto/cordon.pb-c.c"
"$cc" $san -fsanitize=fuzzer -std=gnu11 -D_GNU_SOURCE -Wall -Wextra -Werror \
    -Icommon -Iproto -I"$b/proto" $pbc_cflags -o "$b/fuzz_codec" \
    proto/fuzz_codec.c proto/codec.c common/mac.c common/utf8.c "$b/cordon.pb-c.o" \
    $pbc_libs

# Seeds: one valid message per body type, so the fuzzer starts past the
# envelope and reaches the validators at once.
seed() {
    printf '%s\n' "$2" |
        protoc-c -Iproto --encode=cordon.Envelope proto/cordon.proto \
            >"$b/fuzz/corpus/seed-$1"
}
seed hello 'version: 1 hello { host_id: "hv-01" version: "0.1"
  vms { uuid: "0b0e-1" name: "web1" state: "running"
    interfaces { mac: "52:54:00:01:01:01" bridge: "br-pub" scope: "public"
      ips: "198.18.1.11" ips: "2001:db8::1" target: "vnet0" model: "virtio" }
    interfaces { mac: "52:54:00:01:01:02" scope: "private" } }
  enforced { uuid: "0b0e-1" generation: 3 scopes: 5 mechanisms: "nft" } }'
seed desired 'version: 1 desired { full: true
  vms { uuid: "a" generation: 9 scopes: 3 power_off: true }
  vms { uuid: "b" generation: 1 } }'
seed ack 'version: 1 ack { vms { uuid: "a" generation: 9 scopes: 3
  mechanisms: "nft" error: "detach timed out" } }'
seed heartbeat 'version: 1 heartbeat { seq: 42 time_ms: 1700000000123 }'
seed refused 'version: 1 refused { reason: "key bound to another host" }'
seed hello_required 'version: 1 hello_required { }'
seed inventory 'version: 1 inventory { full: false
  vms { uuid: "c" interfaces { mac: "02:00:00:00:00:01" ips: "::1" } }
  removed: "a" removed: "b" }'

echo "fuzzing for ${secs}s, corpus $b/fuzz/corpus"
exec "$b/fuzz_codec" -max_total_time="$secs" -max_len=4096 -timeout=10 \
    -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="$b/fuzz/artifacts/" "$b/fuzz/corpus"

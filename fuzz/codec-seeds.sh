#!/bin/sh
# fuzz/codec-seeds.sh: writes fuzz/corpus/codec/seed-* again, one valid
# message per body type (so the fuzzer starts past the envelope and
# reaches the validators at once). Run after changing proto/cordon.proto.
set -eu
cd "$(dirname "$0")/.."
seed() {
	printf '%s\n' "$2" |
		protoc-c -Iproto --encode=cordon.Envelope proto/cordon.proto \
			>"fuzz/corpus/codec/seed-$1"
}
seed hello 'version: 1 hello { host_id: "hv-01" version: "0.1"
  vms { uuid: "0b0e-1" name: "web1" state: "running"
    interfaces { mac: "52:54:00:01:01:01" bridge: "br-pub" scope: "public"
      ips: "198.18.1.11" ips: "2001:db8::1" target: "vnet0" model: "virtio" }
    interfaces { mac: "52:54:00:01:01:02" scope: "private" } }
  enforced { uuid: "0b0e-1" generation: 3 scopes: 5 mechanisms: "nft" }
  term_seen: 2 }'
seed desired 'version: 1 desired { full: true term: 3
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
seed not_leader 'version: 2 not_leader { leader: "tcp://198.18.0.2:7440" term: 4 }'

#!/bin/bash
# Prometheus metrics (docs/metrics.md): cordond and cordon-agent serve
# GET /metrics (text format 0.0.4, valid by `promtool check metrics`). What
# an operator watches is right: one agent connected, the cut VM's ports cut
# on its host, acked = desired once converged, a flushed ruleset counted
# as a tamper re-assert. Only /metrics (404 elsewhere, 405 for POST);
# metrics_listen = off serves nothing, a bad value is a config error naming
# the key; the shipped alert rules pass `promtool check rules`; a real
# Prometheus (unprivileged) scrapes both and sees up == 1.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../cases.sh"
cdt_init
for t in curl promtool; do
	command -v "$t" >/dev/null || fail "tool $t is installed (scripts/install-deps.sh)"
done
RULES=$(cd "$(dirname "$0")/../.." && pwd)/conf/cordon-alerts.rules.yml

# The agent's metrics on its management address (the default, 127.0.0.1,
# is reachable only inside hv1's namespace): Prometheus in the
# controller's namespace scrapes both.
AGENT_METRICS=198.18.0.11:9751
topo_one_host_unstarted 2
cases_setup_files
cases_conf_lines
write_controller_conf "${CASES_CONF[@]}"
agent_keygen hv1
enroll_agent hv1
write_agent_conf hv1 hv1 "metrics_listen = $AGENT_METRICS"
start_controller --test-clock
start_agent hv1
wait_agent_connected hv1
wait_vm_known vm12

# scrape NS URL: the body of a 200 answer (curl fails on anything else).
scrape() { ip netns exec "$1" curl -sS -f --max-time 5 "$2"; }
ctl_metrics() { scrape "$CTL_NS" http://127.0.0.1:9750/metrics; }
agent_metrics() { scrape "$CTL_NS" "http://$AGENT_METRICS/metrics"; }
# value NAME_WITH_LABELS: its sample's value in the text on stdin.
value() { awk -v n="$1" '$1 == n { print $2; f = 1 } END { exit !f }'; }
ctl_value_is() { [ "$(ctl_metrics | value "$1")" = "$2" ]; }
agent_value() { agent_metrics | value "$1"; }
# http_code NS METHOD URL
http_code() { ip netns exec "$1" curl -s -o /dev/null -w '%{http_code}' -X "$2" --max-time 5 "$3"; }

vm_suspend vm11 all
expect_cut vm11 public
expect_cut vm11 private
check "cordonctl vms: vm11 enforced" wait_until 15 vm_enforced vm11

# ---- the controller
out=$(ctl_metrics) || fail "cordond answers GET /metrics on 127.0.0.1:9750"
printf '%s\n' "$out" | grep -E '^cordon_(agents|vms|oldest|agent_connected)' | sed 's/^/#   /'
check "cordond's /metrics passes promtool check metrics" \
	q promtool check metrics <<<"$out"
check "cordon_agents_connected 1" [ "$(value cordon_agents_connected <<<"$out")" = 1 ]
check "cordon_agent_connected{host=\"hv1\"} 1" \
	[ "$(value 'cordon_agent_connected{host="hv1"}' <<<"$out")" = 1 ]
check "cordon_build_info carries the version" \
	q grep -E '^cordon_build_info\{version="[0-9.]+"\} 1$' <<<"$out"
check "cordon_vms_cut_desired 1 (vm11)" [ "$(value cordon_vms_cut_desired <<<"$out")" = 1 ]
check "cordon_vms_cut_acked reaches cordon_vms_cut_desired (1) once converged" \
	wait_until 10 ctl_value_is cordon_vms_cut_acked 1
check "cordon_vms_pending 0 and no unacked generation once converged" \
	wait_until 10 eval 'ctl_value_is cordon_vms_pending 0 &&
		ctl_value_is cordon_oldest_unacked_generation_age_seconds 0'
check "cordon_vms_known 2" ctl_value_is cordon_vms_known 2
check "cordon_store_errors_total 0" ctl_value_is cordon_store_errors_total 0
check "cordon_metrics_store_read_ok 1" ctl_value_is cordon_metrics_store_read_ok 1

# ---- a case: open, its steps fired (one on time, one half an hour late on the
# test clock), then responded
case_open --category phishing --vm vm12 --contact alice@example.org
check "cordon_cases_open{category=\"phishing\",state=\"escalating\"} 1" \
	ctl_value_is 'cordon_cases_open{category="phishing",state="escalating"}' 1
check "the warning fired on time: cordon_steps_fired_total{how=\"deadline\"} 1" \
	wait_until 10 ctl_value_is 'cordon_steps_fired_total{how="deadline"}' 1
clock_advance 150m # the call, due at 2 h, fires half an hour late
check "the call fired half an hour late: lateness count 2, 1 within 900 s, 2 within 3600 s" \
	wait_until 10 eval 'ctl_value_is cordon_step_lateness_seconds_count 2 &&
		ctl_value_is "cordon_step_lateness_seconds_bucket{le=\"900\"}" 1 &&
		ctl_value_is "cordon_step_lateness_seconds_bucket{le=\"3600\"}" 2'
case_ok "$CASE_ID" respond --note "customer is on it"
check "responded: escalating 0, responded 1" \
	eval 'ctl_value_is "cordon_cases_open{category=\"phishing\",state=\"escalating\"}" 0 &&
		ctl_value_is "cordon_cases_open{category=\"phishing\",state=\"responded\"}" 1'
check "cordon_notification_failures_total 0 (the warning was sent)" \
	ctl_value_is cordon_notification_failures_total 0

# ---- the agent
out=$(agent_metrics) || fail "cordon-agent answers GET /metrics on $AGENT_METRICS"
printf '%s\n' "$out" | grep -E '^cordon_agent_(ports|vms|tamper|controller|apply_seconds_count)' |
	sed 's/^/#   /'
check "cordon-agent's /metrics passes promtool check metrics" \
	q promtool check metrics <<<"$out"
ports=$(ctl --json vm show vm11 | jq '[.interfaces[] | select(.port != null)] | length')
check "cordon_agent_ports_cut = vm11's ports ($ports)" \
	[ "$(value cordon_agent_ports_cut <<<"$out")" = "$ports" ]
check "cordon_agent_vms_enforced 1" [ "$(value cordon_agent_vms_enforced <<<"$out")" = 1 ]
check "cordon_agent_controller_link_up 1" \
	[ "$(value cordon_agent_controller_link_up <<<"$out")" = 1 ]
check "cordon_agent_apply_seconds counted the cut (count >= 1)" \
	[ "$(value cordon_agent_apply_seconds_count <<<"$out")" -ge 1 ]
check "cordon_agent_build_info names host hv1" \
	q grep -E '^cordon_agent_build_info\{version="[0-9.]+",host="hv1"\} 1$' <<<"$out"

# ---- tampering is counted
t0=$(value cordon_agent_tamper_reasserts_total <<<"$out") ||
	fail "cordon_agent_tamper_reasserts_total is exposed"
host_nft hv1 flush ruleset
expect_cut vm11 public 5
check "cordon_agent_tamper_reasserts_total rises above $t0 after nft flush ruleset" \
	wait_until 5 eval '[ "$(agent_value cordon_agent_tamper_reasserts_total)" -gt "$t0" ]'

# ---- only GET /metrics
check "GET /nothing: 404" [ "$(http_code "$CTL_NS" GET http://127.0.0.1:9750/nothing)" = 404 ]
check "agent GET /: 404" [ "$(http_code "$CTL_NS" GET "http://$AGENT_METRICS/")" = 404 ]
check "POST /metrics: 405" [ "$(http_code "$CTL_NS" POST http://127.0.0.1:9750/metrics)" = 405 ]

# ---- a scraper that connects and never finishes its request: 20
# connections (the limit is 16) hold nothing up. cordond keeps serving
# cordonctl meanwhile, and drops them after 5 s idle: /metrics answers
# again while the holder still keeps its sockets open.
ip netns exec "$CTL_NS" python3 -c '
import socket, sys, time
held = []
for i in range(20):
    try:
        s = socket.create_connection(("127.0.0.1", 9750), timeout=2)
        s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n")
        held.append(s)
    except OSError:
        pass
print("held", len(held), flush=True)
time.sleep(60)
' >"$CDT_TMP/holder.out" 2>&1 &
HOLDER=$!
on_exit kill "$HOLDER"
check "the slow scraper has its connections open" \
	wait_until 10 grep -q '^held' "$CDT_TMP/holder.out"
note "slow scraper: $(cat "$CDT_TMP/holder.out") connections"
check "cordonctl status answers while they are held" q ctl status
check "GET /metrics answers again while the slow scraper still holds its sockets" \
	wait_until 20 eval 'kill -0 "$HOLDER" && ctl_metrics >/dev/null'
kill "$HOLDER" 2>/dev/null || true
wait "$HOLDER" 2>/dev/null || true

# ---- the alert rules
check "conf/cordon-alerts.rules.yml passes promtool check rules" \
	q promtool check rules "$RULES"

# ---- a real Prometheus, as nobody, scraping both
prom_up() { # both targets up == 1
	ip netns exec "$CTL_NS" curl -sf --max-time 5 \
		'http://127.0.0.1:9090/api/v1/query?query=up' |
		jq -e '[.data.result[] | select(.value[1] == "1")] | length == 2' >/dev/null
}
if command -v prometheus >/dev/null; then
	# Its own directory: CDT_TMP (0700) is root's alone.
	P=$(mktemp -d "/tmp/$CDT_PREFIX-prom.XXXXXX")
	on_exit rm -rf -- "$P"
	mkdir -p "$P/data"
	cat >"$P/prometheus.yml" <<-YML
	global:
	  scrape_interval: 1s
	scrape_configs:
	  - job_name: cordond
	    static_configs: [ { targets: ["127.0.0.1:9750"] } ]
	  - job_name: cordon-agent
	    static_configs: [ { targets: ["$AGENT_METRICS"] } ]
	YML
	chown -R nobody: "$P"
	_log_register "$P/prometheus.log"
	ip netns exec "$CTL_NS" setpriv --reuid=nobody --regid=nogroup --clear-groups \
		prometheus --config.file="$P/prometheus.yml" --storage.tsdb.path="$P/data" \
		--web.listen-address=127.0.0.1:9090 >"$P/prometheus.log" 2>&1 </dev/null &
	PROM_PID=$!
	on_exit _stop_pid "$PROM_PID" prometheus TERM
	check "Prometheus (as nobody) scrapes cordond and cordon-agent: up == 1 for both" \
		wait_until 30 prom_up
	_stop_pid "$PROM_PID" prometheus TERM
else
	note "prometheus not installed: the real scrape is skipped"
fi

# ---- metrics_listen = off, and a bad value
stop_controller
write_controller_conf "metrics_listen = off"
start_controller
check "metrics_listen = off: nothing listens on 127.0.0.1:9750" \
	not ip netns exec "$CTL_NS" curl -s --max-time 2 -o /dev/null http://127.0.0.1:9750/metrics
stop_controller
for v in "[::1]:9750" "198.18.0.1:9750" ""; do
	write_controller_conf "metrics_listen = $v"
	check "cordond --check-config accepts metrics_listen = '$v'" \
		q "$CORDOND" -c "$CDT_TMP/ctl/cordond.conf" --check-config
done
for v in "localhost:9750" "127.0.0.1" "127.0.0.1:99999" "[::1]9750" "1.2.3.4:80x"; do
	write_controller_conf "metrics_listen = $v"
	err=$("$CORDOND" -c "$CDT_TMP/ctl/cordond.conf" --check-config 2>&1) && err=
	check "cordond --check-config refuses metrics_listen = '$v', naming the key" \
		q grep -F "metrics_listen: '$v' is not ADDRESS:PORT" <<<"$err"
done
write_agent_conf hv1 hv1 "metrics_listen = nonsense"
err=$("$CORDON_AGENT" -c "$CDT_TMP/hv1/agent.conf" --check-config 2>&1) && err=
check "cordon-agent --check-config refuses metrics_listen = nonsense, naming the key" \
	q grep -F "metrics_listen: 'nonsense' is not ADDRESS:PORT" <<<"$err"
cdt_done

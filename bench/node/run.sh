#!/usr/bin/env bash
# Node benchmark: OpenReadmission on a real `accord node` (SQLite, WAL, synchronous=FULL)
# against the transport floor (the load generator's mTLS echo server) and two references on
# the same stack — the minimal commit-before-reply server, without and with an Ed25519
# signature per request — in the same run, with the same clients and connections. Prints
# medians, each target's share of the floor and the durability checks (rows committed =
# successful replies).
#
# Usage: bench/node/run.sh
# Settings (environment variables, defaults in brackets):
#   CLIENTS      client counts N to try                   ["16 64 256"]
#   CONNECTIONS  HTTP/2 connections C shared by the N      [4]
#   REPETITIONS  runs per target and N                     [3]
#   WARMUP       seconds of warm-up per run                 [2]
#   DURATION     measured seconds per run                   [10]
#   PARTNER      "down": FR's node is configured but not running, so the outbox dispatcher
#                retries with back-off; "up": FR's node runs too and receives every case [down]
#   PROFILE      1: first, profile the fresh node (perf, cpu-clock, DWARF stacks) during one
#                run at PROFILE_CLIENTS clients [64] and print where its CPU time goes  [0]
#   STAGES       1: afterwards, time the node's layers in-process (loadgen stages)      [0]
#   KEYS         idempotency keys the clients send: "time-ordered" (UUIDv7, as common.proto
#                advises clients) or "random" (UUIDv4)                     [time-ordered]
#   REFERENCES   1: also measure the minimal commit-before-reply servers                 [1]
#   KEEP         1: keep the temporary folder (PKI, configs, databases, logs)           [0]
set -euo pipefail

repository="$(cd "$(dirname "$0")/../.." && pwd)"
clients_list="${CLIENTS:-16 64 256}"
connections="${CONNECTIONS:-4}"
repetitions="${REPETITIONS:-3}"
warmup="${WARMUP:-2}"
duration="${DURATION:-10}"
partner_mode="${PARTNER:-down}"
profile_clients="${PROFILE_CLIENTS:-64}"
key_form="${KEYS:-time-ordered}"
cpu_window="$(python3 -c "import sys; print(max(float(sys.argv[1]) - 1, 0.1))" "${duration}")"

# The dist profile (Cargo.toml: fat LTO, one codegen unit, line tables for perf) is what the
# node is measured and shipped in; the load generator is its own package (bench/loadgen).
cargo build --profile dist --quiet --manifest-path "${repository}/Cargo.toml" \
    -p accord -p accord-loadgen
target_directory="${CARGO_TARGET_DIR:-${repository}/target}"

work="$(mktemp -d -t accord-bench-node.XXXXXX)"
started_pids=()
cleanup() {
    for pid in "${started_pids[@]}"; do
        kill -CONT "${pid}" 2>/dev/null || true
        kill "${pid}" 2>/dev/null || true
    done
    wait 2>/dev/null || true
    if [ "${KEEP:-0}" = 1 ]; then
        echo "kept ${work}" >&2
    else
        rm -rf "${work}"
    fi
}
trap cleanup EXIT

# Private copies: another build in the repository must not replace a binary mid-run.
mkdir -p "${work}/bin"
cp "${target_directory}/dist/accord" "${target_directory}/dist/loadgen" "${work}/bin/"
accord="${work}/bin/accord"
loadgen="${work}/bin/loadgen"

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Waits until FILE contains "listening on HOST:PORT" and prints HOST:PORT.
wait_listening() {
    local file="$1" pid="$2"
    for _ in $(seq 1 300); do
        if grep -q "listening on" "${file}" 2>/dev/null; then
            grep -m1 -o "listening on [0-9.:]*" "${file}" | cut -d' ' -f3
            return 0
        fi
        if ! kill -0 "${pid}" 2>/dev/null; then
            echo "process ${pid} exited; its log:" >&2
            cat "${file}" >&2
            return 1
        fi
        sleep 0.1
    done
    echo "timed out waiting for ${file}" >&2
    return 1
}

node_config() {
    local state="$1" port="$2" partner="$3" partner_port="$4"
    cat <<EOF
state = "${state}"
listen_addr = "127.0.0.1:${port}"
database_url = "sqlite://${work}/${state}.db?mode=rwc"

[tls]
ca = "${work}/pki/ca.pem"
crl = "${work}/pki/crl.pem"
certificate = "${work}/pki/issued/${state}-node.pem"
private_key = "${work}/pki/issued/${state}-node.key"
signing_key = "${work}/pki/issued/${state}-node.signing.key"

[[partners]]
state = "${partner}"
endpoint = "https://127.0.0.1:${partner_port}"
signing_public_key = "${work}/pki/issued/${partner}-node.signing.pub"
regimes = ["UKFR_2025"]
EOF
}

count_cases() {
    python3 -c 'import sqlite3, sys; print(sqlite3.connect(sys.argv[1]).execute("SELECT count(*) FROM case_summary").fetchone()[0])' "$1"
}

echo "== machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'); load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"

"${accord}" pki init --dir "${work}/pki" >/dev/null
for state in GB FR; do
    "${accord}" pki issue --dir "${work}/pki" --state "${state}" --role node >/dev/null
done
"${accord}" pki issue --dir "${work}/pki" --state GB --role gateway >/dev/null

gb_port="$(free_port)"
fr_port="$(free_port)"
node_config GB "${gb_port}" FR "${fr_port}" >"${work}/gb.toml"
node_config FR "${fr_port}" GB "${gb_port}" >"${work}/fr.toml"

RUST_LOG=warn "${accord}" node --config "${work}/gb.toml" >"${work}/gb.log" 2>&1 &
gb_pid=$!
started_pids+=("${gb_pid}")
wait_listening "${work}/gb.log" "${gb_pid}" >/dev/null || { echo "the GB node did not start" >&2; exit 1; }
if [ "${partner_mode}" = up ]; then
    RUST_LOG=warn "${accord}" node --config "${work}/fr.toml" >"${work}/fr.log" 2>&1 &
    fr_pid=$!
    started_pids+=("${fr_pid}")
    wait_listening "${work}/fr.log" "${fr_pid}" >/dev/null || { echo "the FR node did not start" >&2; exit 1; }
fi
"${loadgen}" echo-server --pki "${work}/pki" --state GB >"${work}/echo.log" 2>&1 &
echo_pid=$!
started_pids+=("${echo_pid}")
echo_address="$(wait_listening "${work}/echo.log" "${echo_pid}")"
targets=(node floor)
declare -A target_address=([node]="127.0.0.1:${gb_port}" [floor]="${echo_address}")
declare -A target_pid=([node]="${gb_pid}" [floor]="${echo_pid}")
if [ "${REFERENCES:-1}" = 1 ]; then
    # The minimal commit-before-reply servers (loadgen's `minimal` module), each on its file.
    for reference in minimal minimal-signed; do
        sign=()
        [ "${reference}" = minimal-signed ] && sign=(--sign)
        "${loadgen}" echo-server --pki "${work}/pki" --state GB \
            --commit "${work}/${reference}.db" "${sign[@]}" >"${work}/${reference}.log" 2>&1 &
        started_pids+=($!)
        target_pid[${reference}]=$!
        target_address[${reference}]="$(wait_listening "${work}/${reference}.log" "$!")"
        targets+=("${reference}")
    done
fi
echo "== node GB on 127.0.0.1:${gb_port} (partner FR ${partner_mode} on ${fr_port}), floor on ${echo_address}; targets ${targets[*]}; ${key_form} keys"

# While another target is measured, the nodes are paused (SIGSTOP): their outbox dispatchers
# would otherwise keep working in the background and take CPU from that target's run.
node_pids=("${gb_pid}")
[ "${partner_mode}" = up ] && node_pids+=("${fr_pid}")
signal_nodes() {
    for pid in "${node_pids[@]}"; do
        kill "-$1" "${pid}"
    done
}

results="${work}/results.txt"
: >"${results}"
# CPU time of a process so far (user + system, in clock ticks of 1/100 s): the whole process
# (its live and ended threads), or with $2 only its live threads whose name starts with $2
# (sqlx runs SQLite on threads named `sqlx-sqlite-worker-…`).
process_ticks() {
    local pid="$1" prefix="${2:-}" total=0 name fields
    if [ -z "${prefix}" ]; then
        read -ra fields <"/proc/${pid}/stat" || { echo 0; return; }
        echo "$((fields[13] + fields[14]))"
        return
    fi
    for task in /proc/"${pid}"/task/*; do
        name="$(cat "${task}/comm" 2>/dev/null)" || continue
        [[ "${name}" == "${prefix}"* ]] || continue
        read -ra fields <"${task}/stat" 2>/dev/null || continue
        total=$((total + fields[13] + fields[14]))
    done
    echo "${total}"
}
# The machine's idle and I/O-wait ticks, and all its ticks.
machine_ticks() {
    local fields
    read -ra fields </proc/stat
    echo "$((fields[4] + fields[5])) $((fields[1] + fields[2] + fields[3] + fields[4] + fields[5] + fields[6] + fields[7] + fields[8]))"
}
# The bytes a process has had written to storage so far (write_bytes of /proc/PID/io: its
# files, WAL and checkpoints included; its sockets not).
process_disk_bytes() {
    awk '/^write_bytes/ {print $2}' "/proc/$1/io" 2>/dev/null || echo 0
}
# The counters run_load reads at each end of a window, in this order: the server process's
# CPU, its SQLite threads', the load generator's, the machine's idle and I/O-wait ticks, all
# its ticks, and the server's bytes written to storage.
cpu_snapshot() {
    echo "$(process_ticks "$1") $(process_ticks "$1" sqlx-sqlite) $(process_ticks "$2") $(machine_ticks) $(process_disk_bytes "$1")"
}
run_load() {
    local label="$1" clients="$2" server="${target_pid[$1]}"
    [ "${label}" != node ] && signal_nodes STOP
    "${loadgen}" run --label "${label}" --target "https://${target_address[${label}]}" \
        --pki "${work}/pki" --state GB --requested-state FR --clients "${clients}" \
        --connections "${connections}" --keys "${key_form}" --warmup "${warmup}" \
        --duration "${duration}" >"${work}/run.txt" 2>>"${work}/loadgen.log" &
    local loadgen_pid=$!
    # CPU over the load generator's measured window, less half a second at each end so that
    # the load generator is surely still running, for the CPU table of summarise.py.
    sleep "${warmup}"
    sleep 0.5
    local before after
    read -ra before <<<"$(cpu_snapshot "${server}" "${loadgen_pid}")"
    sleep "${cpu_window}"
    read -ra after <<<"$(cpu_snapshot "${server}" "${loadgen_pid}")"
    wait "${loadgen_pid}"
    local fields=() index=0 name
    for name in server_cpu_ticks sqlite_cpu_ticks loadgen_cpu_ticks idle_ticks machine_ticks \
        server_disk_bytes; do
        fields+=("${name}=$((after[index] - before[index]))")
        index=$((index + 1))
    done
    echo "$(cat "${work}/run.txt") ${fields[*]} window_s=${cpu_window}" | tee -a "${results}"
    [ "${label}" != node ] && signal_nodes CONT
    return 0
}
# The profile runs first, on the fresh node, so that it shows the steady request path (later
# the undelivered outbox has grown; see the outbox scan timing at the end).
if [ "${PROFILE:-0}" = 1 ]; then
    frequency=499
    perf record -e cpu-clock -F "${frequency}" --call-graph dwarf,16384 -p "${gb_pid}" \
        -o "${work}/node.perf" -- sleep $((warmup + duration)) >/dev/null 2>&1 &
    perf_pid=$!
    profiled="$("${loadgen}" run --label profiled --target "https://127.0.0.1:${gb_port}" \
        --pki "${work}/pki" --state GB --requested-state FR --clients "${profile_clients}" \
        --connections "${connections}" --keys "${key_form}" --warmup "${warmup}" \
        --duration "${duration}" 2>/dev/null)"
    wait "${perf_pid}" || true
    echo "== profile of the node during: ${profiled}"
    profiled_replies="$(echo "${profiled}" | grep -o 'ok_total=[0-9]*' | cut -d= -f2)"
    perf script -i "${work}/node.perf" 2>/dev/null \
        | python3 "${repository}/bench/node/profile.py" --requests "${profiled_replies}" \
            --sample-us "$((1000000 / frequency))"
    # Counted for the durability check, not in the medians (perf slows the node).
    echo "${profiled}" >>"${results}"
fi

for repetition in $(seq 1 "${repetitions}"); do
    for clients in ${clients_list}; do
        # Rotate the order so that no target always runs on a warmer or busier machine.
        for index in "${!targets[@]}"; do
            run_load "${targets[$(((index + repetition - 1) % ${#targets[@]}))]}" "${clients}"
        done
    done
done
echo "== load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"

partner_arguments=()
if [ "${partner_mode}" = up ]; then
    # Give GB's dispatcher time to deliver what is still in its outbox.
    gb_cases_now="$(count_cases "${work}/GB.db")"
    for _ in $(seq 1 600); do
        [ "$(count_cases "${work}/FR.db")" -ge "${gb_cases_now}" ] && break
        sleep 0.5
    done
    partner_arguments=(--partner-cases "$(count_cases "${work}/FR.db")")
fi
# Stop the node gracefully (it drains in-flight work), then count what it committed.
kill -TERM "${gb_pid}"
wait "${gb_pid}" || true
gb_cases="$(count_cases "${work}/GB.db")"
python3 - "${work}/GB.db" <<'PYTHON'
import sqlite3, sys, time
database = sqlite3.connect(sys.argv[1])
pending = database.execute(
    "SELECT count(*) FROM outbox WHERE delivered_at IS NULL AND failed_reason IS NULL").fetchone()[0]
# The dispatcher's query (Store::due_deliveries) as it runs in a round, for one destination;
# it does not run for FR while FR's link is backing off, as it is here. "Another partner" is
# the look-up for a second partner's messages while FR's backlog waits.
query = """SELECT o.id, o.case_ref, o.destination, o.channel, o.payload, o.attempts FROM outbox o
  WHERE o.destination = ? AND o.delivered_at IS NULL AND o.failed_reason IS NULL
  AND o.next_attempt_at <= ?
  AND NOT EXISTS (SELECT 1 FROM outbox p WHERE p.case_ref = o.case_ref
      AND p.delivered_at IS NULL AND p.id < o.id)
  ORDER BY o.id LIMIT 256"""
def fastest(destination, now):
    timings = []
    for _ in range(3):
        started = time.perf_counter()
        database.execute(query, (destination, now)).fetchall()
        timings.append((time.perf_counter() - started) * 1000)
    return min(timings)
attempts = database.execute("SELECT count(*) FROM outbox WHERE attempts > 0").fetchone()[0]
print(f"== outbox after the run: {pending:,} messages pending, {attempts:,} of them attempted "
      f"(the link backs off, not each message); one look-up of due messages "
      f"(Store::due_deliveries) for FR takes {fastest('FR', 2**62):.1f} ms with all due, "
      f"{fastest('FR', 0):.0f} ms with none due, and for another partner "
      f"{fastest('DE', 2**62):.3f} ms")
PYTHON

echo
status=0
reference_arguments=()
for reference in "${targets[@]:2}"; do
    rows="$(python3 -c 'import sqlite3, sys; print(sqlite3.connect(sys.argv[1]).execute("SELECT count(*) FROM request").fetchone()[0])' "${work}/${reference}.db")"
    reference_arguments+=(--rows "${reference}=${rows}")
done
python3 "${repository}/bench/node/summarise.py" "${results}" --cases "${gb_cases}" \
    "${partner_arguments[@]}" "${reference_arguments[@]}" || status=$?

if [ "${STAGES:-0}" = 1 ]; then
    echo
    echo "== the node's layers in-process (loadgen stages, N=64)"
    "${loadgen}" stages --pki "${work}/pki" --state GB --requested-state FR \
        --work "${work}/stages" --clients 64 --warmup 1 --duration 5
    "${loadgen}" stages --pki "${work}/pki" --state GB --requested-state FR \
        --work "${work}/stages" --clients 64 --warmup 1 --duration 5 --stage app --dispatcher
fi
exit "${status}"

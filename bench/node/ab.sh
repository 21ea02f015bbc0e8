#!/usr/bin/env bash
# Interleaved A/B of node builds: starts one GB node per build (each on a fresh SQLite file,
# partner FR configured but down) and drives OpenReadmission on them in turn, one at a time
# (the others paused with SIGSTOP), round after round, printing one line per run.
#
# Usage: bench/node/ab.sh LABEL=DIR[:LOADGEN_ARGUMENTS] ...
#   DIR holds the `accord` and `loadgen` binaries built from the version to compare
#   (`cargo build --profile dist -p accord -p accord-loadgen`, then copy them out of
#   target/dist after each build).
# Settings: CLIENTS [64], CONNECTIONS [4], ROUNDS [3], WARMUP [2], DURATION [6] (seconds);
#   LEGACY: space-separated labels whose node predates per-pair agreements (no `regimes`
#   key in its configuration, which it would refuse).
# Example: bench/node/ab.sh before=/tmp/before after=/tmp/after random=/tmp/after:"--keys random"
set -euo pipefail
clients="${CLIENTS:-64}"; connections="${CONNECTIONS:-4}"; rounds="${ROUNDS:-3}"
warmup="${WARMUP:-2}"; duration="${DURATION:-6}"
[ $# -gt 0 ] || { sed -n '2,13p' "$0" >&2; exit 2; }
legacy=" ${LEGACY:-} "
work="$(mktemp -d -t accord-ab.XXXXXX)"
pids=()
trap 'kill -CONT "${pids[@]}" 2>/dev/null || true; kill "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null; rm -rf "${work}"' EXIT
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
# A process's CPU time so far, user and system, in clock ticks.
node_ticks() { local fields; read -ra fields <"/proc/$1/stat"; echo $((fields[13] + fields[14])); }
first="${1#*=}"; first="${first%%:*}"
"${first}/accord" pki init --dir "${work}/pki" >/dev/null
for state in GB FR; do "${first}/accord" pki issue --dir "${work}/pki" --state "${state}" --role node >/dev/null; done
"${first}/accord" pki issue --dir "${work}/pki" --state GB --role gateway >/dev/null
fr_port="$(free_port)"
declare -A port directory arguments
for spec in "$@"; do
    label="${spec%%=*}"; rest="${spec#*=}"; directory[${label}]="${rest%%:*}"; arguments[${label}]=""
    [[ "${rest}" == *:* ]] && arguments[${label}]="${rest#*:}"
    port[${label}]="$(free_port)"
    cat >"${work}/${label}.toml" <<TOML
state = "GB"
listen_addr = "127.0.0.1:${port[${label}]}"
database_url = "sqlite://${work}/${label}.db?mode=rwc"
[tls]
ca = "${work}/pki/ca.pem"
crl = "${work}/pki/crl.pem"
certificate = "${work}/pki/issued/GB-node.pem"
private_key = "${work}/pki/issued/GB-node.key"
signing_key = "${work}/pki/issued/GB-node.signing.key"
[[partners]]
state = "FR"
endpoint = "https://127.0.0.1:${fr_port}"
signing_public_key = "${work}/pki/issued/FR-node.signing.pub"
TOML
    [[ "${legacy}" == *" ${label} "* ]] || echo 'regimes = ["UKFR_2025"]' >>"${work}/${label}.toml"
    RUST_LOG=warn "${directory[${label}]}/accord" node --config "${work}/${label}.toml" >"${work}/${label}.log" 2>&1 &
    pids+=($!)
done
sleep 2
for _ in $(seq 1 "${rounds}"); do
    index=0
    for spec in "$@"; do
        label="${spec%%=*}"
        kill -STOP "${pids[@]}"
        kill -CONT "${pids[${index}]}"
        # shellcheck disable=SC2086 # the extra loadgen arguments are words
        "${directory[${label}]}/loadgen" run --label "${label}" --target "https://127.0.0.1:${port[${label}]}" \
            --pki "${work}/pki" --state GB --requested-state FR --clients "${clients}" \
            --connections "${connections}" --warmup "${warmup}" --duration "${duration}" \
            ${arguments[${label}]} >"${work}/run.txt" 2>/dev/null &
        loadgen_pid=$!
        # The node's CPU time over the measured seconds (clock ticks of utime + stime).
        sleep "${warmup}"
        ticks_before="$(node_ticks "${pids[${index}]}")"
        sleep "${duration}"
        ticks_after="$(node_ticks "${pids[${index}]}")"
        wait "${loadgen_pid}"
        rps="$(grep -o 'rps=[0-9.]*' "${work}/run.txt" | cut -d= -f2)"
        grep -o 'label=[^ ]*\|rps=[^ ]*\|p50_ms=[^ ]*\|p99_ms=[^ ]*\|errors=[^ ]*' "${work}/run.txt" | tr '\n' ' '
        # CPU µs of the node per reply: ticks are 1/100 s (getconf CLK_TCK).
        python3 -c "import sys; t, r, d = map(float, sys.argv[1:]); print(f'node_cpu_us_per_request={t * 1e4 / (r * d):.1f}')" \
            "$((ticks_after - ticks_before))" "${rps}" "${duration}"
        index=$((index + 1))
    done
done

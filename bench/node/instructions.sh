#!/usr/bin/env bash
# Instructions per OpenReadmission, counted by callgrind: repeatable where requests/s are not
# (this machine is shared; runs of one build differ by up to 15 % in requests/s, while the
# instruction count of one build moves by about 1 %).
#
# For each build in turn: starts GB's node (fresh SQLite file, partner FR configured but down)
# under `valgrind --tool=callgrind`, drives it with the build's own load generator, zeroes
# the counters once the node is warm, and after WINDOW seconds dumps them and counts the cases
# committed in between (`case_summary` rows). Prints the node's instructions (all threads) per
# committed case. Builds run one after the other, never at once.
#
# Usage: bench/node/instructions.sh LABEL=DIR ...
#   DIR holds `accord` and `loadgen` (for example copied out of target/release).
# Settings: CLIENTS [64], CONNECTIONS [4], WARM [15] (seconds under load before counting),
#   WINDOW [30] (seconds counted); LEGACY: labels whose node predates per-pair agreements
#   (no `regimes` key in its configuration); KEEP=1 keeps the callgrind files.
# Example: bench/node/instructions.sh before=/tmp/before after=/tmp/after
set -euo pipefail
clients="${CLIENTS:-64}"; connections="${CONNECTIONS:-4}"
warm="${WARM:-15}"; window="${WINDOW:-30}"; legacy=" ${LEGACY:-} "
[ $# -gt 0 ] || { sed -n '2,18p' "$0" >&2; exit 2; }
command -v valgrind >/dev/null || { echo "valgrind is not installed" >&2; exit 2; }
work="$(mktemp -d -t accord-instructions.XXXXXX)"
node_pid=""; loadgen_pid=""
cleanup() {
    [ -n "${loadgen_pid}" ] && kill "${loadgen_pid}" 2>/dev/null
    [ -n "${node_pid}" ] && kill "${node_pid}" 2>/dev/null
    wait 2>/dev/null
    [ "${KEEP:-0}" = 1 ] && echo "kept ${work}" >&2 || rm -rf "${work}"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
cases() { python3 -c 'import sqlite3, sys; print(sqlite3.connect(sys.argv[1]).execute("select count(*) from case_summary").fetchone()[0])' "$1"; }

first="${1#*=}"
"${first}/accord" pki init --dir "${work}/pki" >/dev/null
for state in GB FR; do "${first}/accord" pki issue --dir "${work}/pki" --state "${state}" --role node >/dev/null; done
"${first}/accord" pki issue --dir "${work}/pki" --state GB --role gateway >/dev/null
fr_port="$(free_port)"

for spec in "$@"; do
    label="${spec%%=*}"; directory="${spec#*=}"; port="$(free_port)"
    cat >"${work}/${label}.toml" <<TOML
state = "GB"
listen_addr = "127.0.0.1:${port}"
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
    RUST_LOG=warn valgrind --tool=callgrind --callgrind-out-file="${work}/${label}.callgrind" \
        "${directory}/accord" node --config "${work}/${label}.toml" >"${work}/${label}.log" 2>&1 &
    node_pid=$!
    for _ in $(seq 1 120); do
        (echo >"/dev/tcp/127.0.0.1/${port}") 2>/dev/null && break
        kill -0 "${node_pid}" 2>/dev/null || { echo "${label}: the node stopped:" >&2; cat "${work}/${label}.log" >&2; exit 1; }
        sleep 1
    done
    "${directory}/loadgen" run --label "${label}" --target "https://127.0.0.1:${port}" \
        --pki "${work}/pki" --state GB --requested-state FR --clients "${clients}" \
        --connections "${connections}" --warmup 1 --duration $((warm + window + 30)) \
        >"${work}/${label}.run" 2>&1 &
    loadgen_pid=$!
    sleep "${warm}"
    callgrind_control --zero "${node_pid}" >/dev/null 2>&1
    before="$(cases "${work}/${label}.db")"
    sleep "${window}"
    callgrind_control --dump "${node_pid}" >/dev/null 2>&1
    after="$(cases "${work}/${label}.db")"
    kill "${loadgen_pid}" 2>/dev/null || true; wait "${loadgen_pid}" 2>/dev/null || true; loadgen_pid=""
    kill "${node_pid}"; wait "${node_pid}" 2>/dev/null || true; node_pid=""
    # The dump after zeroing is the file's first numbered part.
    total="$(callgrind_annotate "${work}/${label}.callgrind.1" 2>/dev/null \
        | awk '/PROGRAM TOTALS/ { gsub(",", "", $1); print $1; exit }')"
    requests=$((after - before))
    echo "label=${label} requests=${requests} instructions=${total} instructions_per_request=$((total / requests))"
done

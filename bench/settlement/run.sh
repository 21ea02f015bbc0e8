#!/usr/bin/env bash
# Settlement benchmark: Accord's solver against OR-Tools' SimpleMinCostFlow and networkx's
# max_flow_min_cost on the same generated instances (32 states dense; 1,000 states with
# 50,000 pairs). Prints median solve times, ratios, and checks that all three agree on the
# settled and redirected totals. Usage: bench/settlement/run.sh [SEED]
#
# It creates a Python virtual environment under target/ (pip install ortools networkx from
# PyPI), builds the `settle_bench` example of accord-domain in the dist profile, and writes the
# generated instances to target/bench-settlement/.
set -euo pipefail

repository="$(cd "$(dirname "$0")/../.." && pwd)"
work="${repository}/target/bench-settlement"
venv="${work}/venv"
mkdir -p "${work}"

if [ ! -x "${venv}/bin/python" ]; then
    python3 -m venv "${venv}"
fi
"${venv}/bin/python" -m pip install --quiet --disable-pip-version-check ortools networkx

# The dist profile (Cargo.toml), as every benchmark: the build that is measured is the one shipped.
cargo build --profile dist --quiet --manifest-path "${repository}/Cargo.toml" \
    -p accord-domain --example settle_bench
target_directory="${CARGO_TARGET_DIR:-${repository}/target}"

exec "${venv}/bin/python" "${repository}/bench/settlement/bench.py" \
    --solver "${target_directory}/dist/examples/settle_bench" \
    --work "${work}" \
    --seed "${1:-20250806}"

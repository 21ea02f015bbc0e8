"""Settlement benchmark driver (run through bench/settlement/run.sh).

Generates settlement instances deterministically from a seed, solves each with Accord's
solver (the `settle_bench` example, which times only the solve), with OR-Tools'
SimpleMinCostFlow and with networkx's max_flow_min_cost, prints the median solve times and
their ratios as a Markdown table, and checks that the three agree on the settled and
redirected totals. The network for OR-Tools and networkx is built here, straight from the
definitions of DESIGN.md section 3 (debts, positions, bilateral needs, consent), so the
comparison also checks Accord's own model of the problem.
"""

import argparse
import json
import math
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path

import networkx
import numpy
import ortools
from ortools.graph.python import min_cost_flow

ACCORD_RUNS = 21
ORTOOLS_RUNS = 11
NETWORKX_RUNS = {"small": 5, "large": 3}


# ---------------------------------------------------------------- instances


def lognormal_count(rng, median, sigma=1.1):
    """A count of people: log-normal, so most pairs are small and a few are large."""
    return int(rng.lognormvariate(math.log(median), sigma))


def generate(rng, states, pairs, consent_pairs, median):
    """A multilateral instance over `states` states with returns on `pairs` ordered pairs.

    Candidates are limited on most pairs, as in the scheme (a state can only admit people who
    applied from that origin), so direct admissions run short and redirected ones are needed.
    """
    size = [rng.paretovariate(1.5) for _ in range(states)]  # a few large states, many small
    all_pairs = states * (states - 1)
    chosen = range(all_pairs) if pairs >= all_pairs else rng.sample(range(all_pairs), pairs)
    returns, admissions, candidates = [], [], {}
    for index in sorted(chosen):
        sender, offset = divmod(index, states - 1)
        receiver = offset if offset < sender else offset + 1
        weight = math.sqrt(size[sender] * size[receiver])
        count = lognormal_count(rng, median * weight)
        returns.append([sender, receiver, count])
        if rng.random() < 0.3:
            admissions.append([sender, receiver, int(count * rng.uniform(0.0, 1.3))])
        if rng.random() < 0.7:
            candidates[(sender, receiver)] = int(count * rng.uniform(0.2, 1.0))
    owed = [0] * states
    for sender, _, count in returns:
        owed[sender] += count
    capacity = [
        [state, int(owed[state] * rng.uniform(0.3, 1.0))]
        for state in range(states)
        if rng.random() < 0.4
    ]
    consented = set()
    while len(consented) < min(consent_pairs, all_pairs):
        admitting, origin = rng.randrange(states), rng.randrange(states)
        if admitting != origin:
            consented.add((admitting, origin))
    for pair in sorted(consented):
        if pair not in candidates and rng.random() < 0.5:
            candidates[pair] = lognormal_count(rng, median)
    return {
        "mode": "multilateral",
        "returns": returns,
        "admissions": admissions,
        "capacity": capacity,
        "candidates": [[a, o, count] for (a, o), count in sorted(candidates.items())],
        "consented": [list(pair) for pair in sorted(consented)],
    }


# ---------------------------------------------------------------- the network, from DESIGN.md


def network(instance):
    """Arcs (tail, head, capacity, cost) of the multilateral settlement network."""
    balance = {}
    for sender, receiver, count in instance["returns"]:
        balance[(sender, receiver)] = balance.get((sender, receiver), 0) + count
    for admitting, origin, count in instance["admissions"]:
        balance[(admitting, origin)] = balance.get((admitting, origin), 0) - count
    debt = {pair: amount for pair, amount in balance.items() if amount > 0}
    states = sorted({state for pair in balance for state in pair}
                    | {state for state, _ in instance["capacity"]}
                    | {state for entry in instance["candidates"] for state in entry[:2]}
                    | {state for entry in instance["consented"] for state in entry})
    index = {state: position for position, state in enumerate(states)}
    position = {state: 0 for state in states}
    for (debtor, creditor), amount in debt.items():
        position[debtor] += amount
        position[creditor] -= amount
    need = {
        (debtor, creditor): amount - debt.get((creditor, debtor), 0)
        for (debtor, creditor), amount in debt.items()
        if amount > debt.get((creditor, debtor), 0)
    }
    capacity = dict(map(tuple, instance["capacity"]))
    candidates = {(a, o): count for a, o, count in instance["candidates"]}
    consented = {tuple(pair) for pair in instance["consented"]}
    unlimited = sum(max(value, 0) for value in position.values()) + 1
    source, sink, count = 0, 1, len(states)
    arcs = []
    for pair in sorted(set(need) | consented):
        admitting, origin = pair
        if position.get(admitting, 0) > 0 and position.get(origin, 0) < 0:
            bound = min(candidates.get(pair, unlimited), unlimited)
            cost = 0 if pair in need else 1
            arcs.append((2 + index[admitting], 2 + count + index[origin], bound, cost))
    for state in states:
        if position[state] > 0:
            bound = min(position[state], capacity.get(state, position[state]))
            arcs.append((source, 2 + index[state], bound, 0))
        elif position[state] < 0:
            arcs.append((2 + count + index[state], sink, -position[state], 0))
    return 2 + 2 * count, arcs


# ---------------------------------------------------------------- solvers


def solve_accord(solver, path):
    output = subprocess.run([solver, str(path), str(ACCORD_RUNS)], check=True,
                            capture_output=True, text=True).stdout
    result = json.loads(output)
    return result["settled"], result["redirected"], result["median_ms"], result


def solve_ortools(arcs):
    tails = numpy.array([arc[0] for arc in arcs], dtype=numpy.int32)
    heads = numpy.array([arc[1] for arc in arcs], dtype=numpy.int32)
    capacities = numpy.array([arc[2] for arc in arcs], dtype=numpy.int64)
    costs = numpy.array([arc[3] for arc in arcs], dtype=numpy.int64)
    # solve_max_flow_with_min_cost sends as much as it can from positive to negative supplies.
    available = int(sum(arc[2] for arc in arcs if arc[0] == 0))
    times, settled, redirected = [], None, None
    for _ in range(ORTOOLS_RUNS):
        flow = min_cost_flow.SimpleMinCostFlow()
        flow.add_arcs_with_capacity_and_unit_cost(tails, heads, capacities, costs)
        flow.set_node_supply(0, available)
        flow.set_node_supply(1, -available)
        start = time.perf_counter()
        status = flow.solve_max_flow_with_min_cost()
        times.append((time.perf_counter() - start) * 1000)
        if status != flow.OPTIMAL:
            sys.exit(f"OR-Tools did not find an optimum: status {status}")
        settled, redirected = flow.maximum_flow(), flow.optimal_cost()
    return settled, redirected, statistics.median(times)


def solve_networkx(arcs, runs):
    graph = networkx.DiGraph()
    for tail, head, capacity, cost in arcs:
        graph.add_edge(tail, head, capacity=capacity, weight=cost)
    times, settled, redirected = [], None, None
    for _ in range(runs):
        start = time.perf_counter()
        flow = networkx.max_flow_min_cost(graph, 0, 1)
        times.append((time.perf_counter() - start) * 1000)
        settled = sum(flow[0].values())
        redirected = networkx.cost_of_flow(graph, flow)
    return settled, redirected, statistics.median(times)


# ---------------------------------------------------------------- main


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--solver", required=True, help="the settle_bench example binary")
    parser.add_argument("--work", required=True, help="folder for the generated instances")
    parser.add_argument("--seed", type=int, default=20250806)
    arguments = parser.parse_args()
    rng = random.Random(arguments.seed)
    cases = [
        ("32 states, dense", "small", generate(rng, 32, 32 * 31, 700, 20)),
        ("1,000 states, 50,000 pairs", "large", generate(rng, 1000, 50_000, 100_000, 20)),
    ]
    rows, failures = [], []
    for name, size, instance in cases:
        path = Path(arguments.work) / f"instance-{size}-{arguments.seed}.json"
        path.write_text(json.dumps(instance))
        node_count, arcs = network(instance)
        accord = solve_accord(arguments.solver, path)
        reference = solve_ortools(arcs)
        graph = solve_networkx(arcs, NETWORKX_RUNS[size])
        totals = {(accord[0], accord[1]), (reference[0], reference[1]), (graph[0], graph[1])}
        if len(totals) != 1:
            failures.append(f"{name}: Accord {accord[:2]}, OR-Tools {reference[:2]}, "
                            f"networkx {graph[:2]}")
        rows.append((name, len(instance["returns"]), node_count, len(arcs), accord, reference, graph))
    print_table(rows, arguments.seed)
    check_goals(rows, failures)
    if failures:
        sys.exit("\n".join(failures))


def print_table(rows, seed):
    print(f"seed {seed}; Python {sys.version.split()[0]}, OR-Tools {ortools.__version__}, "
          f"networkx {networkx.__version__}; medians of {ACCORD_RUNS} (Accord), "
          f"{ORTOOLS_RUNS} (OR-Tools), {NETWORKX_RUNS['small']}/{NETWORKX_RUNS['large']} "
          "(networkx) runs; solve time only")
    print()
    print("| instance | pairs | nodes | arcs | settled | redirected | Accord ms | "
          "OR-Tools ms | networkx ms | OR-Tools / Accord | networkx / Accord | agree | "
          "Accord ms, validation + solve |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: |")
    for name, pairs, nodes, arcs, accord, reference, graph in rows:
        agree = (accord[0], accord[1]) == (reference[0], reference[1]) == (graph[0], graph[1])
        print(f"| {name} | {pairs:,} | {nodes:,} | {arcs:,} | {accord[0]:,} | {accord[1]:,} | "
              f"{accord[2]:.3f} | {reference[2]:.3f} | {graph[2]:.1f} | "
              f"{reference[2] / accord[2]:.1f}x | {graph[2] / accord[2]:.0f}x | "
              f"{'yes' if agree else 'NO'} | {accord[3]['end_to_end_median_ms']:.3f} |")
    print()
    for name, _, _, _, accord, _, _ in rows:
        print(f"{name}: Accord's verify of its certificate took {accord[3]['verify_ms']:.3f} ms")


def check_goals(rows, failures):
    small, large = rows[0], rows[1]
    goals = [
        ("32 states under 1 ms", small[4][2] < 1.0),
        ("1,000 states under 1 s", large[4][2] < 1000.0),
        ("1,000 states no slower than OR-Tools", large[4][2] <= large[5][2]),
    ]
    for goal, met in goals:
        print(f"goal: {goal}: {'met' if met else 'MISSED'}")


if __name__ == "__main__":
    main()

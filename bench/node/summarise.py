#!/usr/bin/env python3
"""Summarises the node benchmark: medians of the load generator's RESULT lines per target
and client count, each target's share of the floor, and the durability checks.

Usage: summarise.py RESULTS_FILE [--cases N] [--partner-cases N] [--rows LABEL=N ...]
RESULTS_FILE holds the load generator's `RESULT key=value …` lines, in any order.
--cases is the number of cases in the node's database after the run; it must equal the sum
of `ok_total` over the node's runs, `node` and `profiled` (every successful reply is a
committed case). The `profiled` run is left out of the medians: perf slows the node.
--rows gives the rows a reference server (`minimal`, `minimal-signed`) committed; each must
equal the sum of `ok_total` over that target's runs.
"""

import argparse
import collections
import statistics
import sys


def parse(path):
    """The RESULT lines of `path`, as dictionaries."""
    results = []
    with open(path, encoding="utf-8") as lines:
        for line in lines:
            if not line.startswith("RESULT "):
                continue
            fields = dict(item.split("=", 1) for item in line.split()[1:])
            results.append(fields)
    return results


def median(results, key):
    return statistics.median(float(result[key]) for result in results)


def cpu_us_per_request(run, ticks_key):
    """CPU µs per reply over the run's measured window: clock ticks are 1/100 s."""
    return float(run[ticks_key]) * 10_000 / (float(run["rps"]) * float(run["window_s"]))


def print_cpu(groups, settings):
    """Where each target's CPU went, per reply (medians over the runs that carry the CPU
    fields run.sh appends: the server process, its SQLite threads, the load generator, the
    machine's idle and I/O-wait share, and the bytes the server had written to storage)."""
    rows = []
    for clients, connections in settings:
        for label in ("node", "minimal-signed", "minimal", "floor"):
            runs = [run for run in groups.get((clients, connections, label), [])
                    if "server_cpu_ticks" in run]
            if runs:
                rows.append((clients, connections, label, runs))
    if not rows:
        return
    print()
    print("| N clients | target | server CPU µs / reply | of which SQLite's thread | "
          "load generator CPU µs / reply | machine idle or I/O wait | "
          "server's bytes to storage / reply |")
    print("| ---: | --- | ---: | ---: | ---: | ---: | ---: |")
    for clients, _connections, label, runs in rows:
        server = statistics.median(cpu_us_per_request(run, "server_cpu_ticks") for run in runs)
        sqlite = statistics.median(cpu_us_per_request(run, "sqlite_cpu_ticks") for run in runs)
        loadgen = statistics.median(cpu_us_per_request(run, "loadgen_cpu_ticks") for run in runs)
        idle = statistics.median(100.0 * float(run["idle_ticks"]) / float(run["machine_ticks"])
                                 for run in runs)
        disk = statistics.median(float(run.get("server_disk_bytes", 0))
                                 / (float(run["rps"]) * float(run["window_s"])) for run in runs)
        print(f"| {clients} | {label} | {server:.0f} | {sqlite:.0f} | {loadgen:.0f} | {idle:.0f} % "
              f"| {disk:,.0f} |")


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("results")
    parser.add_argument("--cases", type=int, help="cases in the node's database after the run")
    parser.add_argument("--partner-cases", type=int, help="cases in the partner's database")
    parser.add_argument("--rows", action="append", default=[], metavar="LABEL=N",
                        help="rows a reference server committed")
    args = parser.parse_args()
    results = parse(args.results)
    groups = collections.defaultdict(list)
    for result in results:
        groups[(int(result["clients"]), int(result["connections"]), result["label"])].append(result)
    settings = sorted({(clients, connections) for clients, connections, _ in groups})
    print("| N clients | C connections | target | runs | requests/s (median) | p50 ms | p99 ms | "
          "response bytes | share of the floor |")
    print("| ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for clients, connections in settings:
        floor = groups.get((clients, connections, "floor"))
        for label in ("node", "minimal-signed", "minimal", "floor"):
            runs = groups.get((clients, connections, label))
            if not runs:
                continue
            rps = median(runs, "rps")
            ratio = ""
            if label != "floor" and floor:
                ratio = f"{100.0 * rps / median(floor, 'rps'):.1f} %"
            print(f"| {clients} | {connections} | {label} | {len(runs)} | {rps:,.0f} | "
                  f"{median(runs, 'p50_ms'):.2f} | {median(runs, 'p99_ms'):.2f} | "
                  f"{runs[0]['response_bytes']} | {ratio} |")
    print_cpu(groups, settings)
    print()
    for (clients, connections, label), runs in sorted(groups.items()):
        each = ", ".join(f"{float(run['rps']):,.0f}" for run in runs)
        print(f"- {label}, N={clients}, C={connections}: requests/s per run {each}")
    errors = sum(int(result["errors"]) for result in results)
    print(f"- errors over all runs: {errors}")
    failed = False
    for given in args.rows:
        label, rows = given.split("=", 1)
        replies = sum(int(result["ok_total"]) for result in results if result["label"] == label)
        holds = replies == int(rows)
        failed |= not holds
        print(f"- durability of {label}: {replies:,} successful replies, {int(rows):,} rows "
              f"committed — {'holds' if holds else 'FAILS'}")
    if args.cases is None:
        return 1 if failed else 0
    # The profiled run is a node run too (left out of the medians only).
    replies = sum(int(result["ok_total"]) for result in results
                  if result["label"] in ("node", "profiled"))
    verdict = "holds" if replies == args.cases else "FAILS"
    print(f"- durability: {replies:,} successful OpenReadmission replies from the node, "
          f"{args.cases:,} cases in its database — {verdict}")
    if args.partner_cases is not None:
        print(f"- delivery: {args.partner_cases:,} of those cases reached the partner node")
    return 0 if replies == args.cases and not failed else 1


if __name__ == "__main__":
    sys.exit(main())

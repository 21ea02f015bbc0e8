#!/usr/bin/env python3
"""Where the node's CPU time goes: buckets `perf script` call stacks by stage.

Reads the text of `perf script` (a `perf record -e cpu-clock --call-graph dwarf` profile of
the node process) on standard input and prints, per stage, the share of samples and the CPU
time per request (given --requests, the successful replies during the profile).

A sample is attributed to the first *context* found anywhere on its stack (the outbox
dispatcher, the writer task, the idempotency pre-read, event signing, …); failing that, to
the first *component* found walking from the leaf towards the root (TLS, HTTP/2, protobuf,
…); failing that, by its thread (SQLite work runs on sqlx's per-connection worker threads).
"""

import argparse
import collections
import re
import sys

# (stage, pattern): the first pattern found anywhere on the stack wins, in this order.
CONTEXTS = [
    ("outbox dispatcher (deliveries to the partner, retries)", r"app::dispatcher::"),
    ("deadline sweeper", r"app::deadlines::"),
    ("writer task: batching, building SQL (sea-orm/sea-query)", r"store::writer::"),
    ("idempotency pre-read (sea-orm query, per request)", r"find_idempotency|replay_of"),
    ("Ed25519 event signing", r"envelope::sign|ed25519_dalek|curve25519_dalek"),
    ("peer identity from the certificate (per request)", r"from_certificate_der|from_request|x509_parser::|asn1_rs::|der_parser::"),
]

# (stage, pattern): walking from the leaf, the first frame that matches one of these wins.
COMPONENTS = [
    ("TLS (rustls, AES-GCM)", r"rustls|ring_core|aes_gcm|gcm_"),
    ("HTTP/2 and gRPC framing (h2, hyper, tonic)", r"\bh2::|hyper|tonic::|tower::|axum::"),
    ("protobuf encode/decode (prost)", r"prost::|encode_to_vec|encode_raw|merge_field"),
    ("node handler: validation, domain, conversion", r"accord_node::|accord_domain::|accord_trust::"),
    ("sea-orm/sqlx (other)", r"sea_orm::|sea_query::|sqlx"),
    ("tokio runtime", r"tokio::"),
]

SQLITE_WORKER = "sqlx-sqlite-wor"


def sqlite_stage(frames):
    """The stage of a sample on a sqlx SQLite worker thread."""
    text = "\n".join(frames)
    if re.search(r"ext4_sync_file|\bfsync|fdatasync|jbd2", text):
        return "SQLite: fsync at commit and checkpoint"
    if re.search(r"walCheckpoint|sqlite3WalCheckpoint", text):
        return "SQLite: WAL checkpoint (copying pages into the database file)"
    if re.search(r"sqlite3Prepare|sqlite3LockAndPrepare", text):
        return "SQLite: preparing statements (SQL parse; statement-cache misses)"
    if re.search(r"subjournalPage", text):
        return "SQLite: statement journal (page copies for multi-row INSERTs)"
    if re.search(r"pwrite|ext4_buffered_write|generic_perform_write", text):
        return "SQLite: writing WAL frames"
    if re.search(r"pread|filemap_read|ext4_file_read", text):
        return "SQLite: reading pages (cache misses)"
    if re.search(r"sqlite3|walChecksum|pager|btree|Vdbe", text, re.IGNORECASE):
        return "SQLite: executing statements (B-tree, VDBE)"
    return "sqlx worker threads: hand-off and wake-ups"


def stage_of(thread, frames):
    """The stage a sample belongs to."""
    if thread.startswith(SQLITE_WORKER):
        return sqlite_stage(frames)
    text = "\n".join(frames)
    for stage, pattern in CONTEXTS:
        if re.search(pattern, text):
            return stage
    for frame in frames:  # leaf first
        for stage, pattern in COMPONENTS:
            if re.search(pattern, frame):
                return stage
    if re.search(r"tcp_|sock_|inet_|ip_|__sys_(send|recv)", text):
        return "kernel: network"
    if re.search(r"futex|epoll|schedule", text):
        return "runtime scheduling and wake-ups (kernel)"
    return "other"


def samples(lines):
    """Yields (thread, frames) per sample of `perf script` output."""
    thread, frames = None, []
    for line in lines:
        if not line.strip():
            if thread is not None:
                yield thread, frames
            thread, frames = None, []
        elif not line[0].isspace():
            thread = line.split()[0]
        else:
            frames.append(line.strip())
    if thread is not None:
        yield thread, frames


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, help="successful replies during the profile")
    parser.add_argument("--sample-us", type=float, default=None,
                        help="CPU time one sample stands for, in microseconds (1e6 / frequency)")
    args = parser.parse_args()
    counts = collections.Counter()
    for thread, frames in samples(sys.stdin):
        counts[stage_of(thread, frames)] += 1
    total = sum(counts.values())
    print(f"| stage | share of node CPU | CPU µs per request |")
    print(f"| --- | ---: | ---: |")
    for stage, count in counts.most_common():
        per_request = ""
        if args.requests and args.sample_us:
            per_request = f"{count * args.sample_us / args.requests:.0f}"
        print(f"| {stage} | {100.0 * count / total:.1f} % | {per_request} |")
    if args.requests and args.sample_us:
        print(f"| **total** | 100 % | **{total * args.sample_us / args.requests:.0f}** |")
    print(f"\n{total} samples")


if __name__ == "__main__":
    main()

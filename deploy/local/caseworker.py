#!/usr/bin/env python3
"""Two caseworkers, one in the UK and one in France, working a readmission case through
their own nodes with a standard gRPC client (Python grpcio), as README.md describes.

It compiles the stubs from proto/ with grpcio-tools into a temporary folder, then:
1. GB's caseworker (GB's gateway certificate) opens a readmission request on GB's node;
2. GB's node delivers it to FR's node, whose receipt starts France's 14-day reply clock;
3. FR's caseworker (FR's gateway certificate) reads the case on FR's node and accepts it;
4. both nodes show the same signed history.

Run from the repository's root against a federation `accord up` started (README.md):
    ACCORD_FEDERATION=.accord/up/federation.json python3 deploy/local/caseworker.py
or, without ACCORD_FEDERATION, against the two nodes of deploy/local/ (ports 7101 and 7102).
"""

import json
import os
import sys
import tempfile
import time
import uuid
from datetime import datetime, timedelta, timezone

import grpc
from grpc_tools import protoc

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PKI = os.path.join(os.getcwd(), ".accord", "pki")
NODES = {"GB": "127.0.0.1:7101", "FR": "127.0.0.1:7102"}


def compile_stubs():
    out = tempfile.mkdtemp(prefix="accord-stubs-")
    proto_root = os.path.join(ROOT, "proto")
    files = sorted(
        os.path.join("accord", "v1", name)
        for name in os.listdir(os.path.join(proto_root, "accord", "v1"))
        if name.endswith(".proto")
    )
    include = os.path.join(os.path.dirname(protoc.__file__), "_proto")
    status = protoc.main(
        ["protoc", f"-I{proto_root}", f"-I{include}", f"--python_out={out}", f"--grpc_python_out={out}"]
        + files
    )
    if status != 0:
        sys.exit("could not compile the protos")
    sys.path.insert(0, out)


# The states' folders as `accord join` wrote them (the walkthrough with a coordinator), when
# ACCORD_STATES names their parent folder; otherwise the `accord pki` folder above.
STATES = os.environ.get("ACCORD_STATES")

# A federation `accord up` started: its federation.json names every node and the files of
# each state's gateway identity.
FEDERATION = os.environ.get("ACCORD_FEDERATION")
if FEDERATION:
    with open(FEDERATION, encoding="utf-8") as described:
        FEDERATION = json.load(described)
    NODES = {state: entry["grpc"] for state, entry in FEDERATION["states"].items()}


def read(path):
    with open(path, "rb") as file:
        return file.read()


def gateway_files(state):
    """The network's root, and `state`'s gateway key and certificate chain."""
    if FEDERATION:
        entry = FEDERATION["states"][state]
        return [FEDERATION["ca_cert"], entry["client_key"], entry["client_cert"]]
    if STATES:
        folder = os.path.join(STATES, state)
        return [os.path.join(folder, name) for name in ("ca.pem", "gateway.key", "gateway.pem")]
    return [
        os.path.join(PKI, "ca.pem"),
        os.path.join(PKI, "issued", f"{state}-gateway.key"),
        os.path.join(PKI, "issued", f"{state}-gateway.pem"),
    ]


def gateway_channel(state):
    """An mTLS channel to `state`'s node, presenting `state`'s gateway certificate."""
    ca, key, chain = (read(path) for path in gateway_files(state))
    credentials = grpc.ssl_channel_credentials(
        root_certificates=ca, private_key=key, certificate_chain=chain
    )
    return grpc.secure_channel(NODES[state], credentials)


def main():
    compile_stubs()
    from accord.v1 import common_pb2, event_pb2, person_pb2, readmission_pb2, readmission_pb2_grpc
    from google.protobuf.timestamp_pb2 import Timestamp

    arrival = Timestamp()
    arrival.FromDatetime(datetime.now(timezone.utc) - timedelta(days=2))
    gb = readmission_pb2_grpc.ReadmissionServiceStub(gateway_channel("GB"))
    fr = readmission_pb2_grpc.ReadmissionServiceStub(gateway_channel("FR"))

    opened = gb.OpenReadmission(
        readmission_pb2.OpenReadmissionRequest(
            idempotency_key=str(uuid.uuid4()),
            requested_state="FR",
            regime=common_pb2.REGIME_UKFR_2025,
            arrival_time=arrival,
            person=person_pb2.PersonalData(
                keyed_pseudonym="5e" * 32, nationality="ER", birth_year=1999, family_ties=False
            ),
            evidence=[
                readmission_pb2.Evidence(
                    kind=readmission_pb2.EVIDENCE_KIND_FINGERPRINT_HIT, reference="EURODAC-GB-0001"
                )
            ],
        ),
        timeout=10,
    )
    case_ref = opened.readmission.case_ref
    print(f"GB opened {case_ref}")

    for _ in range(100):
        try:
            seen = fr.GetReadmission(readmission_pb2.GetReadmissionRequest(case_ref=case_ref), timeout=5)
            if seen.readmission.status == readmission_pb2.READMISSION_STATUS_RECEIVED:
                break
        except grpc.RpcError as error:
            if error.code() != grpc.StatusCode.NOT_FOUND:
                raise
        time.sleep(0.1)
    else:
        sys.exit("FR's node never received the request: is it running?")
    due = seen.readmission.reply_due_at.ToDatetime()
    print(f"FR received it; France must reply by {due:%Y-%m-%d %H:%M} UTC")

    decided = fr.DecideReadmission(
        readmission_pb2.DecideReadmissionRequest(
            idempotency_key=str(uuid.uuid4()),
            case_ref=case_ref,
            accept=readmission_pb2.ReadmissionAcceptance(),
        ),
        timeout=10,
    )
    print("FR accepted:", readmission_pb2.ReadmissionStatus.Name(decided.readmission.status))

    for _ in range(100):
        on_gb = gb.GetReadmission(readmission_pb2.GetReadmissionRequest(case_ref=case_ref), timeout=5)
        if on_gb.readmission.status == decided.readmission.status:
            break
        time.sleep(0.1)
    on_fr = fr.GetReadmission(readmission_pb2.GetReadmissionRequest(case_ref=case_ref), timeout=5)
    same = list(on_gb.readmission.events) == list(on_fr.readmission.events)
    print(f"GB sees {readmission_pb2.ReadmissionStatus.Name(on_gb.readmission.status)}; "
          f"both nodes hold the same {len(on_gb.readmission.events)} signed events: {same}")
    for event in on_gb.readmission.events:
        kind = event_pb2.ReadmissionEventKind.Name(event.kind)
        print(f"  #{event.sequence} {kind:<40} by {event.acting_state}, key {event.signing_key_id}")
    if not same:
        sys.exit(1)


if __name__ == "__main__":
    main()

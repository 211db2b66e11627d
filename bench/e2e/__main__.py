"""`python3 -m bench.e2e`: produce and consume throughput and produce latency of Odradek,
Apache Kafka and Tansu in one invocation, with the same client (confluent-kafka) and the
same settings for all, in the manner of `kafka-producer-perf-test` and
`kafka-consumer-perf-test` (shared/kafka-spec/docs/ops.html).

Prints each broker's figures, Odradek's ratios to the others and its targets against
Tansu; `--json FILE` keeps everything. `--groups` measures consumer groups instead
(`bench.e2e.groups`: re-stabilisation after a join, a leave and a crash, and offset
commit round trips). `--quorum` measures the KRaft metadata quorum instead
(`bench.e2e.quorum`: create-topic round trips, metadata records committed per second,
failover time, with 3 controllers each). See bench/e2e/README.md.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypeVar

from bench.e2e.brokers import BROKERS
from bench.e2e.cells import build_matrix, parse_size
from bench.e2e.consumer import FetchSettings
from bench.e2e.groups import DEFAULT_MEMBER_SETTINGS, GroupOptions, run_group_benchmark
from bench.e2e.groups import format_report as format_group_report
from bench.e2e.groups import to_json as group_json
from bench.e2e.quorum import SYSTEMS as QUORUM_SYSTEMS
from bench.e2e.quorum import QuorumOptions, run_quorum_benchmark
from bench.e2e.quorum import format_report as format_quorum_report
from bench.e2e.quorum import to_json as quorum_json
from bench.e2e.report import format_report, machine_facts, to_json, write_json
from bench.e2e.runner import Options, run_benchmark

T = TypeVar("T")


def _listed(parse: Callable[[str], T]) -> Callable[[str], list[T]]:
    def parse_list(text: str) -> list[T]:
        return [parse(item) for item in text.split(",") if item.strip()]

    return parse_list


def _acks(text: str) -> str:
    value = text.strip().lower()
    if value not in ("0", "1", "all", "-1"):
        raise argparse.ArgumentTypeError(f"acks is 0, 1 or all, not {text!r}")
    return "all" if value == "-1" else value


def _broker(text: str) -> str:
    name = text.strip().lower()
    if name not in BROKERS:
        raise argparse.ArgumentTypeError(f"unknown broker {text!r} (know {', '.join(BROKERS)})")
    return name


def parser() -> argparse.ArgumentParser:
    """The command line."""
    p = argparse.ArgumentParser(
        prog="python3 -m bench.e2e",
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    size = parse_size
    p.add_argument(
        "--brokers",
        type=_listed(_broker),
        default=",".join(BROKERS),
        help="brokers to run, comma-separated",
    )
    p.add_argument(
        "--subject",
        type=_broker,
        default="odradek",
        help="the broker whose ratios to the others are reported",
    )
    p.add_argument(
        "--reps",
        type=int,
        default=3,
        help="repetitions of the matrix (brokers take turns within each)",
    )
    p.add_argument("--record-size", type=size, default="1KiB", help="bytes of each record value")
    p.add_argument(
        "--bytes",
        type=size,
        default="64MiB",
        dest="cell_bytes",
        help="record bytes sent per throughput run (e.g. 1GiB)",
    )
    p.add_argument(
        "--acks", type=_listed(_acks), default="1,all", help="acks of the throughput runs"
    )
    p.add_argument(
        "--partitions",
        type=_listed(int),
        default="1,6",
        help="partition counts of the throughput runs",
    )
    p.add_argument(
        "--batch-sizes",
        type=_listed(size),
        default="16KiB,64KiB",
        help="producer batch.size values",
    )
    p.add_argument(
        "--linger-ms", type=float, default=5.0, help="producer linger.ms of the throughput runs"
    )
    p.add_argument(
        "--throughput",
        type=float,
        default=-1,
        help="records/s of the throughput runs; -1 for as fast as possible",
    )
    p.add_argument(
        "--latency-rate", type=float, default=5000, help="records/s of the latency runs; 0 for none"
    )
    p.add_argument(
        "--latency-seconds", type=float, default=5.0, help="how long each latency run sends"
    )
    p.add_argument(
        "--latency-acks", type=_listed(_acks), default="1,all", help="acks of the latency runs"
    )
    p.add_argument(
        "--latency-linger-ms",
        type=float,
        default=5.0,
        help="producer linger.ms of the latency runs",
    )
    p.add_argument(
        "--warm-up-bytes",
        type=size,
        default="32MiB",
        help="bytes produced and consumed on each broker before measuring",
    )
    p.add_argument(
        "--buffer-memory",
        type=size,
        default="32MiB",
        help="bytes the producer may hold unsent (Java's buffer.memory)",
    )
    p.add_argument(
        "--idempotence",
        action="store_true",
        help="enable.idempotence on the producer (needs acks=all)",
    )
    p.add_argument("--fetch-min-bytes", type=size, default=1, help="consumer fetch.min.bytes")
    p.add_argument("--fetch-max-bytes", type=size, default="50MiB", help="consumer fetch.max.bytes")
    p.add_argument(
        "--max-partition-fetch-bytes",
        type=size,
        default="4MiB",
        help="consumer max.partition.fetch.bytes",
    )
    p.add_argument("--json", type=Path, metavar="FILE", help="write all results as JSON here")
    p.add_argument(
        "--profile",
        type=Path,
        metavar="DIR",
        help="profile the odradek node (py-spy, else cProfile) into DIR",
    )
    p.add_argument(
        "--groups",
        action="store_true",
        help="measure consumer groups (re-stabilisation, commit round trips) instead",
    )
    p.add_argument(
        "--group-assignor",
        default=DEFAULT_MEMBER_SETTINGS["partition.assignment.strategy"],
        help="partition.assignment.strategy of the --groups members",
    )
    p.add_argument(
        "--group-commit-seconds",
        type=float,
        default=5.0,
        help="how long the --groups commit run commits",
    )
    p.add_argument(
        "--quorum",
        action="store_true",
        help="measure the metadata quorum (create-topic, records/s, failover) instead",
    )
    p.add_argument(
        "--quorum-creates",
        type=int,
        default=40,
        help="CreateTopics round trips timed per --quorum repetition",
    )
    p.add_argument(
        "--quorum-load-seconds",
        type=float,
        default=5.0,
        help="how long the --quorum records/s load runs",
    )
    p.add_argument(
        "--workdir",
        type=Path,
        metavar="DIR",
        help="keep the brokers' configs, data and logs here, not in a temporary directory",
    )
    return p


def options_from(args: argparse.Namespace) -> Options:
    """The benchmark's options from parsed arguments."""
    cells = build_matrix(
        record_size=args.record_size,
        cell_bytes=args.cell_bytes,
        acks=args.acks,
        partitions=args.partitions,
        batch_sizes=args.batch_sizes,
        linger_ms=args.linger_ms,
        throughput=args.throughput,
        latency_rate=args.latency_rate,
        latency_seconds=args.latency_seconds,
        latency_acks=args.latency_acks,
        latency_linger_ms=args.latency_linger_ms,
    )
    return Options(
        brokers=tuple(dict.fromkeys(args.brokers)),
        cells=tuple(cells),
        repetitions=args.reps,
        warm_up_bytes=args.warm_up_bytes,
        fetch=FetchSettings(
            min_bytes=args.fetch_min_bytes,
            max_bytes=args.fetch_max_bytes,
            max_partition_bytes=args.max_partition_fetch_bytes,
        ),
        buffer_memory=args.buffer_memory,
        idempotence=args.idempotence,
        profile_dir=args.profile,
        workdir=args.workdir,
    )


def _log(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    """Runs the benchmark; the status is 0 unless no broker produced anything."""
    args = parser().parse_args(argv)
    if args.groups:
        return _groups(args)
    if args.quorum:
        return _quorum(args)
    if args.idempotence and any(acks != "all" for acks in [*args.acks, *args.latency_acks]):
        parser().error("--idempotence needs --acks all (and --latency-acks all)")
    options = options_from(args)
    load_before = os.getloadavg()
    run = run_benchmark(options, _log)
    machine = machine_facts(load_before)
    print(format_report(run, args.subject, machine))
    if args.json is not None:
        write_json(args.json, to_json(run, args.subject, machine))
        _log(f"results written to {args.json}")
    succeeded = any(m.error is None and m.produce is not None for m in run.measurements)
    return 0 if succeeded else 1


def _groups(args: argparse.Namespace) -> int:
    options = GroupOptions(
        brokers=tuple(dict.fromkeys(args.brokers)),
        repetitions=args.reps,
        member_settings={
            **DEFAULT_MEMBER_SETTINGS,
            "partition.assignment.strategy": args.group_assignor,
        },
        commit_seconds=args.group_commit_seconds,
        workdir=args.workdir,
    )
    versions, results = run_group_benchmark(options, _log)
    print(format_group_report(versions, results, args.subject))
    if args.json is not None:
        write_json(args.json, group_json(versions, results, args.subject))
        _log(f"results written to {args.json}")
    return 0 if any(r.error is None for r in results) else 1


def _quorum(args: argparse.Namespace) -> int:
    options = QuorumOptions(
        systems=tuple(b for b in dict.fromkeys(args.brokers) if b in QUORUM_SYSTEMS),
        repetitions=args.reps,
        creates=args.quorum_creates,
        load_seconds=args.quorum_load_seconds,
        workdir=args.workdir,
    )
    results = run_quorum_benchmark(options, _log)
    print(format_quorum_report(results, args.subject))
    if args.json is not None:
        write_json(args.json, quorum_json(results, args.subject))
        _log(f"results written to {args.json}")
    return 0 if any(r.error is None for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())

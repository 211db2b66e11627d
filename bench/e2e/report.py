"""The end-to-end benchmark's results: per-broker figures, the subject's ratios to each
other broker, the targets, and the same as JSON.

Each figure of a broker in a cell is the median over the repetitions that succeeded
(peak memory: the largest). Throughput compares as a ratio of MB/s (subject / other, so
above 1 is faster); latency as a difference in milliseconds (subject - other, so below 0
is faster), since a ratio of two small latencies says little.

The targets are the subject's against Tansu in the same run: produce and catch-up consume
MB/s at least Tansu's in every throughput cell, p99 latency of the fixed-rate cells within
1 ms of Tansu's, and resident memory outside mapped files under 300 MB throughout.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import sys
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import confluent_kafka

from bench.e2e.brokers import Odradek
from bench.e2e.cells import THROUGHPUT, Cell
from bench.e2e.producer import MIB
from bench.e2e.runner import BenchRun, Measurement

GIB = 1 << 30
TARGET_REFERENCE = "tansu"
TARGET_THROUGHPUT_RATIO = 1.0
TARGET_P99_DELTA_MS = 1.0
TARGET_MEMORY_BYTES = 300 * MIB
#: How much of an unavailable broker's log the table shows (the JSON keeps all of it).
UNAVAILABLE_DETAIL_LINES = 8


@dataclass(frozen=True)
class Summary:
    """One broker's figures in one cell, over the repetitions."""

    cell: Cell
    broker: str
    runs: int
    failures: int
    records_per_second: float
    produce_mb_per_second: float
    p50_ms: float
    p99_ms: float
    p999_ms: float
    max_ms: float
    consume_mb_per_second: float | None
    #: Broker CPU seconds spent per GiB produced, during the produce phase.
    broker_cpu_per_gib: float
    peak_rss: int
    peak_anon: int


@dataclass(frozen=True)
class Comparison:
    """The subject against one other broker in one cell."""

    cell: Cell
    subject: str
    other: str
    produce_ratio: float
    consume_ratio: float | None
    p99_delta_ms: float


@dataclass(frozen=True)
class Target:
    """One target and whether this run met it."""

    description: str
    value: float
    met: bool


def _median(values: list[float]) -> float:
    return statistics.median(values) if values else 0.0


def summarise(run: BenchRun) -> list[Summary]:
    """Every (cell, broker) that has at least one successful run, in matrix order."""
    summaries = []
    for cell in run.options.cells:
        for broker in run.brokers:
            tried = [m for m in run.measurements if m.cell == cell and m.broker == broker]
            done = [m for m in tried if m.error is None and m.produce is not None]
            if not done:
                continue
            summaries.append(_summary(cell, broker, done, len(tried) - len(done)))
    return summaries


def _summary(cell: Cell, broker: str, done: list[Measurement], failures: int) -> Summary:
    produced = [m.produce for m in done if m.produce is not None]
    consumed = [m.consume.mb_per_second for m in done if m.consume is not None]

    def median_of(figure: Callable[[Any], float]) -> float:
        return _median([figure(result) for result in produced])

    cpu_per_gib = [
        m.broker_cpu_produce / (m.produce.bytes / GIB)
        for m in done
        if m.produce is not None and m.produce.bytes
    ]
    return Summary(
        cell=cell,
        broker=broker,
        runs=len(done),
        failures=failures,
        records_per_second=median_of(lambda r: r.records_per_second),
        produce_mb_per_second=median_of(lambda r: r.mb_per_second),
        p50_ms=median_of(lambda r: r.latency_ms.p50),
        p99_ms=median_of(lambda r: r.latency_ms.p99),
        p999_ms=median_of(lambda r: r.latency_ms.p999),
        max_ms=median_of(lambda r: r.latency_ms.max),
        consume_mb_per_second=_median(consumed) if consumed else None,
        broker_cpu_per_gib=_median(cpu_per_gib),
        peak_rss=max(m.memory.rss for m in done),
        peak_anon=max(m.memory.anon for m in done),
    )


def compare(summaries: list[Summary], subject: str) -> list[Comparison]:
    """The subject's ratios and latency differences to every other broker, per cell."""
    by_key = {(s.cell, s.broker): s for s in summaries}
    comparisons = []
    for mine in (s for s in summaries if s.broker == subject):
        for theirs in (s for s in summaries if s.cell == mine.cell and s.broker != subject):
            consume_ratio = None
            if mine.consume_mb_per_second and theirs.consume_mb_per_second:
                consume_ratio = mine.consume_mb_per_second / theirs.consume_mb_per_second
            comparisons.append(
                Comparison(
                    cell=mine.cell,
                    subject=subject,
                    other=theirs.broker,
                    produce_ratio=(
                        mine.produce_mb_per_second / theirs.produce_mb_per_second
                        if theirs.produce_mb_per_second
                        else 0.0
                    ),
                    consume_ratio=consume_ratio,
                    p99_delta_ms=mine.p99_ms - by_key[(mine.cell, theirs.broker)].p99_ms,
                )
            )
    return comparisons


def targets(run: BenchRun, comparisons: list[Comparison], subject: str) -> list[Target]:
    """The subject's targets against Tansu, for the cells both ran."""
    found = []
    for c in comparisons:
        if c.other != TARGET_REFERENCE:
            continue
        if c.cell.kind == THROUGHPUT:
            found.append(
                Target(
                    f"{c.cell.name}: produce MB/s >= {TARGET_THROUGHPUT_RATIO:g}x tansu",
                    c.produce_ratio,
                    c.produce_ratio >= TARGET_THROUGHPUT_RATIO,
                )
            )
            if c.consume_ratio is not None:
                found.append(
                    Target(
                        f"{c.cell.name}: consume MB/s >= {TARGET_THROUGHPUT_RATIO:g}x tansu",
                        c.consume_ratio,
                        c.consume_ratio >= TARGET_THROUGHPUT_RATIO,
                    )
                )
        else:
            found.append(
                Target(
                    f"{c.cell.name}: p99 within {TARGET_P99_DELTA_MS:g} ms of tansu (delta ms)",
                    c.p99_delta_ms,
                    c.p99_delta_ms <= TARGET_P99_DELTA_MS,
                )
            )
    status = run.brokers.get(subject)
    if status is not None and status.unavailable is None and status.peak_memory.rss:
        anon = status.peak_memory.anon
        found.append(
            Target(
                f"{subject}: peak resident memory outside mapped files"
                f" < {TARGET_MEMORY_BYTES // MIB} MB (MB)",
                anon / MIB,
                anon < TARGET_MEMORY_BYTES,
            )
        )
    return found


def _ms(value: float) -> str:
    return f"{value:9.2f}"


def format_report(run: BenchRun, subject: str, machine: dict[str, Any]) -> str:
    """The tables printed at the end of a run."""
    summaries = summarise(run)
    comparisons = compare(summaries, subject)
    lines = [
        f"machine: {machine['cpus']} CPUs, load average {machine['load_before']} before,"
        f" {machine['load_after']} after; client: confluent-kafka {machine['confluent_kafka']}"
        f" (librdkafka {machine['librdkafka']}) in the same machine",
        f"repetitions: {run.options.repetitions} (figures are medians; memory is the peak)",
        "",
        "brokers:",
    ]
    for status in run.brokers.values():
        if status.unavailable is not None:
            reason, *details = status.unavailable.splitlines()
            lines.append(f"  {status.name:<8} UNAVAILABLE: {reason}")
            lines += [f"           | {line}" for line in details[-UNAVAILABLE_DETAIL_LINES:]]
        else:
            peak = status.peak_memory
            lines.append(
                f"  {status.name:<8} {status.version}; peak RSS {peak.rss / MIB:.0f} MB"
                f" ({peak.anon / MIB:.0f} MB outside mapped files)"
            )
    lines += [
        "",
        f"{'cell':<58} {'broker':<8} {'rec/s':>9} {'MB/s':>7} {'p50 ms':>9} {'p99 ms':>9}"
        f" {'p99.9 ms':>9} {'max ms':>9} {'cons MB/s':>9} {'cpu s/GiB':>9} {'RSS MB':>7}",
    ]
    previous: Cell | None = None
    for s in summaries:
        label = s.cell.name if s.cell != previous else ""
        previous = s.cell
        consume = f"{s.consume_mb_per_second:9.1f}" if s.consume_mb_per_second else f"{'-':>9}"
        failed = f"  ({s.failures} failed)" if s.failures else ""
        lines.append(
            f"{label:<58} {s.broker:<8} {s.records_per_second:9.0f}"
            f" {s.produce_mb_per_second:7.1f} {_ms(s.p50_ms)} {_ms(s.p99_ms)}"
            f" {_ms(s.p999_ms)} {_ms(s.max_ms)} {consume} {s.broker_cpu_per_gib:9.2f}"
            f" {s.peak_rss / MIB:7.0f}{failed}"
        )
    failures = [m for m in run.measurements if m.error is not None]
    if failures:
        lines += ["", "failed runs:"]
        lines += [f"  {m.cell.name} {m.broker} rep {m.repetition + 1}: {m.error}" for m in failures]
    lines += ["", *_comparison_lines(run, comparisons, subject)]
    if run.profile is not None:
        lines += ["", f"profile of {Odradek.name} ({run.profile.tool}):"]
        lines += [f"  {path}" for path in run.profile.files]
        lines += ["", run.profile.summary]
    elif run.options.profile_dir is not None:
        lines += ["", f"no profile: {Odradek.name} did not run"]
    return "\n".join(lines)


def _comparison_lines(run: BenchRun, comparisons: list[Comparison], subject: str) -> list[str]:
    status = run.brokers.get(subject)
    if status is None:
        return [f"no ratios: {subject} was not among the brokers run"]
    others = sorted({c.other for c in comparisons})
    if not others:
        if status.unavailable is not None:
            return [f"no ratios: {subject} unavailable: {status.unavailable.splitlines()[0]}"]
        return [f"no ratios: no other broker ran the same cells as {subject}"]
    header = f"{subject} relative to:".ljust(58)
    columns = "".join(f" | {o:<8} {'produce':>8} {'consume':>8} {'p99 Δms':>8}" for o in others)
    lines = [header + columns]
    by_cell: dict[Cell, dict[str, Comparison]] = {}
    for c in comparisons:
        by_cell.setdefault(c.cell, {})[c.other] = c
    for cell, row in by_cell.items():
        text = f"{cell.name:<58}"
        for other in others:
            found = row.get(other)
            if found is None:
                text += f" | {'':<8} {'-':>8} {'-':>8} {'-':>8}"
                continue
            consume = (
                f"{found.consume_ratio:7.2f}x" if found.consume_ratio is not None else f"{'-':>8}"
            )
            text += f" | {'':<8} {found.produce_ratio:7.2f}x {consume} {found.p99_delta_ms:+8.2f}"
        lines.append(text)
    verdicts = targets(run, comparisons, subject)
    if verdicts:
        lines += ["", f"targets of {subject} against {TARGET_REFERENCE}:"]
        lines += [
            f"  {'met    ' if t.met else 'NOT MET'}  {t.value:8.2f}  {t.description}"
            for t in verdicts
        ]
    return lines


def machine_facts(load_before: tuple[float, float, float]) -> dict[str, Any]:
    """What the figures depend on besides the brokers."""
    return {
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
        "python": sys.version.split()[0],
        "confluent_kafka": confluent_kafka.version()[0],
        "librdkafka": confluent_kafka.libversion()[0],
        "load_before": " ".join(f"{x:.2f}" for x in load_before),
        "load_after": " ".join(f"{x:.2f}" for x in os.getloadavg()),
    }


def _measurement_json(m: Measurement) -> dict[str, Any]:
    data: dict[str, Any] = {
        "cell": m.cell.name,
        "broker": m.broker,
        "repetition": m.repetition,
        "error": m.error,
        "peak_rss_bytes": m.memory.rss,
        "peak_anon_bytes": m.memory.anon,
        "broker_cpu_seconds_produce": m.broker_cpu_produce,
        "broker_cpu_seconds_consume": m.broker_cpu_consume,
    }
    if m.produce is not None:
        data["produce"] = {
            **asdict(m.produce),
            "records_per_second": m.produce.records_per_second,
            "mb_per_second": m.produce.mb_per_second,
        }
    if m.consume is not None:
        data["consume"] = {
            **asdict(m.consume),
            "records_per_second": m.consume.records_per_second,
            "mb_per_second": m.consume.mb_per_second,
        }
    return data


def to_json(run: BenchRun, subject: str, machine: dict[str, Any]) -> dict[str, Any]:
    """Everything measured, for later comparison between runs."""
    summaries = summarise(run)
    comparisons = compare(summaries, subject)
    options = run.options
    return {
        "tool": "bench.e2e",
        "subject": subject,
        "machine": machine,
        "options": {
            "brokers": list(options.brokers),
            "repetitions": options.repetitions,
            "warm_up_bytes": options.warm_up_bytes,
            "fetch": asdict(options.fetch),
            "buffer_memory": options.buffer_memory,
            "idempotence": options.idempotence,
            "mb": "2**20 bytes of record values",
        },
        "cells": [{"name": cell.name, **asdict(cell)} for cell in options.cells],
        "brokers": {
            name: {
                "version": status.version,
                "available": status.unavailable is None,
                "unavailable": status.unavailable,
                "peak_rss_bytes": status.peak_memory.rss,
                "peak_anon_bytes": status.peak_memory.anon,
                "log_dir": status.log_dir,
            }
            for name, status in run.brokers.items()
        },
        "measurements": [_measurement_json(m) for m in run.measurements],
        "summary": [{**asdict(s), "cell": s.cell.name} for s in summaries],
        "comparisons": [{**asdict(c), "cell": c.cell.name} for c in comparisons],
        "targets": [asdict(t) for t in targets(run, comparisons, subject)],
        "profile": asdict(run.profile) if run.profile is not None else None,
    }


def write_json(path: Path, document: dict[str, Any]) -> None:
    """Writes the JSON document, indented for people and diffs."""
    path.write_text(json.dumps(document, indent=2) + "\n")

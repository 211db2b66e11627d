"""Shared conventions of the hot-path micro-benchmarks (see bench/README.md).

Absolute timings on a shared machine mean little; a ratio to a *ceiling* measured in
the same run, on the same bytes, does. So within a pytest-benchmark group:

* the ceiling is the benchmark that sets ``benchmark.extra_info["baseline"] = True``
  (for example, plain CRC-32C of the buffer that a validator has to checksum anyway);
* a benchmark may state ``benchmark.extra_info["target"] = 0.8``, the smallest ratio
  it is meant to reach;
* ``benchmark.extra_info["bytes"]`` gives the bytes processed per call, for MB/s.

After the run, :func:`pytest_terminal_summary` prints each benchmark's throughput as
a ratio of its group's ceiling (ceiling time / benchmark time, by median and by
minimum) and whether it meets its target. It reports; it never fails the run.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import pytest


def _ratio_rows(benchmarks: list[Any]) -> list[str]:
    groups: dict[str | None, list[Any]] = defaultdict(list)
    for bench in benchmarks:
        groups[bench.group].append(bench)
    rows = []
    for group, members in sorted(groups.items(), key=lambda item: str(item[0])):
        baselines = [b for b in members if b.extra_info.get("baseline")]
        if len(baselines) != 1:
            continue
        ceiling = baselines[0].stats
        rows.append(f"{group}  (ceiling: {baselines[0].name})")
        for bench in members:
            stats = bench.stats
            by_median = ceiling.median / stats.median
            by_min = ceiling.min / stats.min
            size = bench.extra_info.get("bytes")
            speed = f"{size / stats.median / 1e6:9.0f} MB/s" if size else " " * 14
            target = bench.extra_info.get("target")
            verdict = ""
            if target is not None:
                verdict = f"target {target:.2f}: " + ("met" if by_median >= target else "NOT MET")
            rows.append(
                f"  {bench.name:<44} {speed}  ratio {by_median:5.2f} (min {by_min:5.2f})  {verdict}"
            )
    return rows


@pytest.hookimpl(trylast=True)
def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    session = getattr(config, "_benchmarksession", None)
    benchmarks = [b for b in getattr(session, "benchmarks", []) if b]
    rows = _ratio_rows(benchmarks)
    if rows:
        terminalreporter.section("throughput relative to each group's ceiling")
        for row in rows:
            terminalreporter.write_line(row)

"""A tiny run of the end-to-end benchmark tool (bench/e2e), so that it cannot rot.

It runs `python3 -m bench.e2e` as a user would, on a few thousand records, against every
broker that can run here, and checks in the JSON it writes that each broker took every
record produced and gave all of them back to the catch-up consumer. It asserts nothing
about speed: the figures of so short a run mean nothing.

Run it on purpose (bench/ is not in the default test run):

    python3 -m pytest bench/test_e2e_smoke.py
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PARTITIONS = 2
RECORD_SIZE = 1024
#: Record bytes of the throughput run: two thousand 1 KiB records.
CELL_BYTES = 2 * 1024 * 1024
LATENCY_RATE = 1000
LATENCY_SECONDS = 1


def run_tool(json_path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable, "-m", "bench.e2e",
            "--reps", "1",
            "--record-size", str(RECORD_SIZE),
            "--bytes", str(CELL_BYTES),
            "--acks", "all",
            "--partitions", str(PARTITIONS),
            "--batch-sizes", "16KiB",
            "--latency-rate", str(LATENCY_RATE),
            "--latency-seconds", str(LATENCY_SECONDS),
            "--latency-acks", "1",
            "--warm-up-bytes", "256KiB",
            "--json", str(json_path),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )  # fmt: skip


def test_records_go_through_every_available_broker(tmp_path: Path) -> None:
    json_path = tmp_path / "e2e.json"
    result = run_tool(json_path)
    assert json_path.is_file(), result.stdout + result.stderr
    document = json.loads(json_path.read_text())
    available = [name for name, broker in document["brokers"].items() if broker["available"]]
    if not available:
        reasons = "; ".join(
            f"{name}: {broker['unavailable'].splitlines()[0]}"
            for name, broker in document["brokers"].items()
        )
        pytest.skip(f"no broker can run here ({reasons})")
    assert result.returncode == 0, result.stdout + result.stderr
    cells = {cell["name"]: cell for cell in document["cells"]}
    assert {cell["kind"] for cell in cells.values()} == {"throughput", "latency"}

    for name in available:
        runs = [m for m in document["measurements"] if m["broker"] == name]
        assert {m["cell"] for m in runs} == set(cells), name
        for run in runs:
            cell = cells[run["cell"]]
            assert run["error"] is None, (name, run["cell"], run["error"])
            assert run["produce"]["records"] == cell["records"], (name, run["cell"])
            assert run["produce"]["errors"] == 0, (name, run["cell"])
            assert run["peak_rss_bytes"] > 0, name
            if cell["kind"] == "throughput":
                # Also one record per partition, sent before the clock started.
                expected = cell["records"] + cell["partitions"]
                assert run["consume"]["records"] == expected, (name, run["cell"])
                assert run["consume"]["bytes"] == expected * RECORD_SIZE, (name, run["cell"])
        assert name in result.stdout

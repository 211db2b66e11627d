"""Crash tests with real processes: a writer killed with SIGKILL at random moments.

After every kill the log dir is opened again (an unclean start: recovery from the recovery
points) and read whole: every batch must be whole and valid or absent, batches must follow
each other without holes, and everything up to the last fsync the writer reported must be
there. The writer then resumes on the recovered log (its producer state must let it go on
with the next sequence number). Each test runs a bounded number of short cycles.
"""

from __future__ import annotations

import os
import random
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from odradek.storage.log_manager import LogManager, ManagerSchedule
from tests.storage.batches import read_batches
from tests.storage.crash_writer import PRODUCER_ID, TP, config_for, parse_value, record_value

REPO = Path(__file__).resolve().parents[2]
CYCLES = 6


def run_writer_until_killed(directory: Path, seed: int, mode: str, run_for: float) -> int:
    """Start the writer, SIGKILL it after ``run_for`` seconds; the last fsync'd offset."""
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.storage.crash_writer", str(directory), str(seed), mode],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert process.stdout is not None
    assert process.stderr is not None
    flushed = 0
    ready = False
    output = b""
    kill_at = float("inf")
    deadline = time.monotonic() + 20.0  # startup (recovery, imports) is not timed
    while time.monotonic() < deadline:
        if ready and time.monotonic() >= kill_at:
            break
        readable, _, _ = select.select([process.stdout], [], [], 0.01)
        if readable:
            chunk = os.read(process.stdout.fileno(), 65536)
            if not chunk:
                break
            output += chunk
            *lines, output = output.split(b"\n")
            for line in lines:
                if line.startswith(b"ready") and not ready:
                    ready = True
                    kill_at = time.monotonic() + run_for
                elif line.startswith(b"flushed"):
                    flushed = int(line.split()[1])
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=10)
    # Lines printed before the kill may still sit in the pipe.
    rest = process.stdout.read()
    *complete, _partial = (output + rest).split(b"\n")
    for line in complete:
        if line.startswith(b"flushed"):
            flushed = int(line.split()[1])
    errors = process.stderr.read().decode()
    assert process.returncode == -signal.SIGKILL, f"the writer failed:\n{errors}"
    assert ready, f"the writer never started:\n{errors}"
    return flushed


def check_log(directory: Path, mode: str, flushed: int) -> None:
    manager = LogManager([directory], config_for(mode), schedule=ManagerSchedule())
    manager.startup()
    log = manager.get_log(TP)
    assert log is not None
    assert log.log_end_offset >= flushed, "data below the last fsync was lost"
    batches = read_batches(log)  # decoding checks every batch's CRC
    numbers = []
    for stored in batches:
        parsed = [parse_value(r.value or b"") for r in stored.records]
        number, _, count = parsed[0]
        assert all(p[0] == number for p in parsed), "records of different batches mixed"
        if mode != "compact":
            assert [p[1] for p in parsed] == list(range(count)), "a batch lost records"
        for record, (n, i, c) in zip(stored.records, parsed, strict=True):
            assert record.value == record_value(n, i, c)
        numbers.append(number)
    assert numbers == sorted(set(numbers))
    if mode != "compact":
        if numbers:
            assert numbers == list(range(numbers[0], numbers[-1] + 1)), "a hole in the log"
        offsets = [b.base_offset for b in batches]
        ends = [b.next_offset for b in batches]
        assert offsets[1:] == ends[:-1], "offsets are not contiguous"
    entry = log.producer_state.last_entry(PRODUCER_ID)
    if batches:
        assert entry is not None
        last = batches[-1]
        assert entry.last_seq == (last.base_sequence + last.last_offset_delta) & 0x7FFFFFFF
    # Alternate: half the checks end in a clean shutdown, half leave the log as found.
    if random.random() < 0.5:
        manager.shutdown()


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["delete", "compact"])
def test_killed_writers_leave_whole_batches_and_keep_what_was_flushed(
    tmp_path: Path, mode: str
) -> None:
    rng = random.Random()
    seed = rng.randrange(2**32)
    for cycle in range(CYCLES):
        flushed = run_writer_until_killed(tmp_path, seed + cycle, mode, rng.uniform(0.05, 0.6))
        check_log(tmp_path, mode, flushed)

"""Where the Odradek node's time goes during a benchmark: a sampling profile with py-spy,
or cProfile where py-spy cannot attach.

py-spy reads the node's Python stacks from outside (it needs ptrace rights over the node)
and writes a speedscope profile (https://www.speedscope.app/ opens it). Only samples in
which a thread is running count, so an idle node between runs adds nothing. The summary
here folds every thread's samples per function: *total* is the share of samples with the
function anywhere on the stack, *self* the share with it at the top.

cProfile instead runs inside the node (`python -m cProfile -o FILE -m odradek.node.cli
start ...`, see brokers.Odradek), counts every call and slows the node down more; its
summary is pstats' top functions by cumulative and by own time.

Nothing in this module belongs to Kafka; the profile is of the Python node alone.
"""

from __future__ import annotations

import io
import json
import pstats
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

TOP_FUNCTIONS = 30
SAMPLE_RATE = 100


def py_spy_unavailable() -> str | None:
    """Why py-spy cannot profile a process here, or None if it can.

    Attaching to a fresh interpreter is the only sure test: containers often forbid ptrace.
    """
    py_spy = shutil.which("py-spy")
    if py_spy is None:
        return "py-spy not installed (pip install py-spy)"
    target = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        # py-spy needs the interpreter's state to exist before it can find it.
        time.sleep(0.5)
        probe = subprocess.run(
            [py_spy, "dump", "--pid", str(target.pid)],
            capture_output=True,
            timeout=30.0,
            check=False,
        )
    finally:
        target.kill()
        target.wait()
    if probe.returncode != 0:
        return "py-spy cannot attach here: " + probe.stderr.decode(errors="replace").strip()
    return None


class PySpyRecording:
    """`py-spy record` attached to a running process, until `stop()`."""

    def __init__(self, pid: int, output: Path) -> None:
        self.output = output
        self._stderr = output.parent / "py-spy.log"
        with self._stderr.open("wb") as log:
            self._process = subprocess.Popen(
                [
                    "py-spy", "record",
                    "--pid", str(pid),
                    "--format", "speedscope",
                    "--output", str(output),
                    "--rate", str(SAMPLE_RATE),
                    "--subprocesses",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
            )  # fmt: skip

    def stop(self) -> str:
        """Ends the recording (py-spy writes its file on SIGINT) and returns the summary,
        or why there is none."""
        if self._process.poll() is None:
            self._process.send_signal(signal.SIGINT)
            try:
                self._process.wait(timeout=60.0)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        if not self.output.is_file():
            return f"py-spy wrote no profile:\n{self._stderr.read_text(errors='replace')}"
        return summarise_speedscope(self.output)


def _function(frame: dict[str, object]) -> str | None:
    """The function a speedscope frame is in, or None for py-spy's own frames (the
    process of `--subprocesses`), which have no file."""
    if not frame.get("file"):
        return None
    # py-spy gives the line being run, not the function's, so one function has many
    # frames; they are added up under its name and file.
    return f"{frame.get('name')}  ({frame.get('file')})"


def summarise_speedscope(path: Path, top: int = TOP_FUNCTIONS) -> str:
    """The top functions of a speedscope profile by total and by self time."""
    document = json.loads(path.read_text())
    functions = [_function(frame) for frame in document["shared"]["frames"]]
    total: Counter[str] = Counter()
    own: Counter[str] = Counter()
    seconds = 0.0
    for profile in document["profiles"]:
        for stack, weight in zip(profile["samples"], profile["weights"], strict=True):
            seconds += weight
            names = [name for index in stack if (name := functions[index]) is not None]
            for name in set(names):
                total[name] += weight
            if names:
                own[names[-1]] += weight
    if not seconds:
        return f"{path}: no samples (the node was idle throughout)"
    lines = [f"{path}: {seconds:.1f} s of samples over all threads"]
    for title, counter in (("total (on the stack)", total), ("self (at the top)", own)):
        lines.append(f"\ntop {top} functions by {title}:")
        for name, weight in counter.most_common(top):
            lines.append(f"  {100 * weight / seconds:5.1f}%  {weight:8.2f} s  {name}")
    return "\n".join(lines)


def summarise_pstats(path: Path, top: int = TOP_FUNCTIONS) -> str:
    """The top functions of a cProfile stats file by cumulative and by own time."""
    if not path.is_file():
        return f"cProfile wrote no stats to {path} (the node did not exit through Python)"
    sections = []
    for order, title in (("cumulative", "cumulative time"), ("tottime", "own time")):
        text = io.StringIO()
        pstats.Stats(str(path), stream=text).sort_stats(order).print_stats(top)
        sections.append(f"top {top} functions by {title}:\n{text.getvalue()}")
    return "\n".join(sections)

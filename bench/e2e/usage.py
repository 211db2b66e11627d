"""What a broker process costs the machine while it serves the benchmark: resident memory
and CPU time, read from Linux's /proc (proc(5): `/proc/<pid>/status` and `/proc/<pid>/stat`).

Memory is sampled by a background thread, because a peak between two phases of a run is
still a peak; CPU time is a counter, so it is read at phase boundaries. Both cover the
broker's process and any processes it starts (a node that forks workers is charged for
them), found by their parent pid.

Resident memory is kept in two figures: `rss` (VmRSS, everything resident) and `anon`
(RssAnon + RssShmem, the memory that is not a mapped file). A broker that memory-maps the
offset and time indexes of its segments (shared/kafka-spec/docs/implementation.html,
"Log"), as Kafka and Odradek do, has those page-cache pages counted in VmRSS as RssFile;
`anon` leaves them aside.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from pathlib import Path

PROC = Path("/proc")
SAMPLE_INTERVAL = 0.1
#: Children are looked for less often than memory is read: scanning /proc is the costly part.
CHILD_SCAN_INTERVAL = 2.0
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Memory:
    """Resident memory in bytes."""

    rss: int
    anon: int

    def max(self, other: Memory) -> Memory:
        """The larger of each figure."""
        return Memory(max(self.rss, other.rss), max(self.anon, other.anon))


NO_MEMORY = Memory(0, 0)


def _status_kib(pid: int) -> dict[str, int]:
    fields: dict[str, int] = {}
    with open(PROC / str(pid) / "status") as status:
        for line in status:
            name, _, value = line.partition(":")
            if name.startswith(("Vm", "Rss")):
                fields[name] = int(value.split()[0])
    return fields


def memory_of(pids: list[int]) -> Memory:
    """The summed resident memory of the processes still alive among `pids`."""
    rss = anon = 0
    for pid in pids:
        try:
            fields = _status_kib(pid)
        except (FileNotFoundError, ProcessLookupError):
            continue
        rss += fields.get("VmRSS", 0) * 1024
        anon += (fields.get("RssAnon", 0) + fields.get("RssShmem", 0)) * 1024
    return Memory(rss, anon)


def _stat_fields(pid: int) -> list[str]:
    text = (PROC / str(pid) / "stat").read_text()
    # The command name, in parentheses, may itself hold spaces and parentheses.
    return text[text.rindex(")") + 2 :].split()


def cpu_seconds_of(pids: list[int]) -> float:
    """User plus system CPU time, in seconds, of the processes still alive among `pids`."""
    ticks = 0
    for pid in pids:
        try:
            fields = _stat_fields(pid)
        except (FileNotFoundError, ProcessLookupError):
            continue
        # utime and stime are fields 14 and 15 of proc(5); the list starts at field 3.
        ticks += int(fields[11]) + int(fields[12])
    return ticks / CLOCK_TICKS


def is_running(pid: int) -> bool:
    """Whether process `pid` exists and has not exited (a zombie has)."""
    try:
        state = _stat_fields(pid)[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state not in ("Z", "X")


def process_tree(root: int) -> list[int]:
    """`root` and all its descendants, by parent pid."""
    parents: dict[int, list[int]] = {}
    for entry in PROC.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            parent = int(_stat_fields(int(entry.name))[1])
        except (FileNotFoundError, ProcessLookupError, ValueError, IndexError):
            continue
        parents.setdefault(parent, []).append(int(entry.name))
    tree, pending = [], [root]
    while pending:
        pid = pending.pop()
        tree.append(pid)
        pending.extend(parents.get(pid, ()))
    return tree


class UsageMonitor:
    """Samples a process tree's resident memory until closed.

    `peak` is the largest sample since the monitor started; `window_peak` the largest
    since the last `start_window()`, so that each run of a matrix gets its own figure.
    """

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self._pids = process_tree(pid)
        self._lock = threading.Lock()
        self._peak = memory_of(self._pids)
        self._window_peak = self._peak
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, name=f"rss-{pid}", daemon=True)
        self._thread.start()

    def _sample(self) -> None:
        since_scan = 0.0
        while not self._stop.wait(SAMPLE_INTERVAL):
            since_scan += SAMPLE_INTERVAL
            if since_scan >= CHILD_SCAN_INTERVAL:
                since_scan = 0.0
                self._pids = process_tree(self.pid)
            self._record(memory_of(self._pids))

    def _record(self, sample: Memory) -> None:
        with self._lock:
            self._peak = self._peak.max(sample)
            self._window_peak = self._window_peak.max(sample)

    @property
    def peak(self) -> Memory:
        """The largest resident memory seen since the monitor started."""
        with self._lock:
            return self._peak

    def start_window(self) -> None:
        """Starts a new window for `window_peak` from the memory in use now."""
        sample = memory_of(self._pids)
        with self._lock:
            self._window_peak = sample
            self._peak = self._peak.max(sample)

    def window_peak(self) -> Memory:
        """The largest resident memory seen since `start_window()`, this moment included."""
        self._record(memory_of(self._pids))
        with self._lock:
            return self._window_peak

    def cpu_seconds(self) -> float:
        """CPU time the process tree has used so far."""
        return cpu_seconds_of(self._pids)

    def close(self) -> None:
        """Stops sampling."""
        self._stop.set()
        self._thread.join(timeout=5.0)

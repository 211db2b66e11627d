"""The matrix of the end-to-end benchmark: which producer settings each run uses.

Two kinds of cell, both with records of one size and compression off:

* *throughput* cells send a fixed number of bytes as fast as possible and then read them
  back with a catch-up consumer, for every combination of `acks` (1: the leader's write;
  all: every in-sync replica's, shared/kafka-spec/docs/design.html, "Replication"),
  partition count and client `batch.size` ("The Producer");
* *latency* cells send at a fixed rate well below what any broker sustains, with a short
  `linger.ms`, so that the send-to-acknowledgement latency is the broker's answer time
  plus the linger rather than time queued in the client.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

THROUGHPUT = "throughput"
LATENCY = "latency"


@dataclass(frozen=True)
class Cell:
    """One combination of settings, run once per broker per repetition."""

    kind: str
    acks: str
    partitions: int
    batch_size: int
    linger_ms: float
    #: Records per second to aim for; -1 for as fast as possible.
    throughput: float
    records: int
    record_size: int

    @property
    def name(self) -> str:
        """A label that lines up across runs and tables."""
        rate = "max" if self.throughput < 0 else f"{self.throughput:g}/s"
        return (
            f"{self.kind} acks={self.acks} p={self.partitions} "
            f"batch={format_size(self.batch_size)} linger={self.linger_ms:g}ms rate={rate}"
        )

    @property
    def consumes(self) -> bool:
        """Whether the run reads its records back with a catch-up consumer."""
        return self.kind == THROUGHPUT


def format_size(size: int) -> str:
    """`16384` -> `16KiB`: the unit the matrix is named in."""
    for unit, scale in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if size >= scale and size % scale == 0:
            return f"{size // scale}{unit}"
    return f"{size}B"


def parse_size(text: str) -> int:
    """`64KiB`, `1GiB`, `100MB` (= MiB) or a plain number of bytes."""
    units = {"k": 1 << 10, "m": 1 << 20, "g": 1 << 30}
    cleaned = text.strip().lower().removesuffix("b").removesuffix("i")
    if cleaned and cleaned[-1] in units:
        return int(float(cleaned[:-1]) * units[cleaned[-1]])
    return int(cleaned)


def build_matrix(
    *,
    record_size: int,
    cell_bytes: int,
    acks: Sequence[str],
    partitions: Sequence[int],
    batch_sizes: Sequence[int],
    linger_ms: float,
    throughput: float,
    latency_rate: float,
    latency_seconds: float,
    latency_acks: Sequence[str],
    latency_linger_ms: float,
) -> list[Cell]:
    """Every throughput combination, then one latency cell per `latency_acks` (on one
    partition with the smallest batch size) unless `latency_rate` is 0."""
    records = max(1, cell_bytes // record_size)
    cells = [
        Cell(THROUGHPUT, ack, count, batch, linger_ms, throughput, records, record_size)
        for ack in acks
        for count in partitions
        for batch in batch_sizes
    ]
    if latency_rate > 0:
        latency_records = max(1, int(latency_rate * latency_seconds))
        cells.extend(
            Cell(
                LATENCY,
                ack,
                1,
                min(batch_sizes),
                latency_linger_ms,
                latency_rate,
                latency_records,
                record_size,
            )
            for ack in latency_acks
        )
    return cells

"""The produce half of the benchmark, in the manner of Kafka's `kafka-producer-perf-test`
(shared/kafka-spec/docs/ops.html shows it in use): send a number of fixed-size records, as
fast as possible or at a target rate, and report records/s, MB/s and the latency of each
record from its send to its acknowledgement.

The client is confluent-kafka (librdkafka) in this process, with the producer settings a
user would set (shared/kafka-spec/docs/design.html, "The Producer": batching by
`batch.size` and `linger.ms`; "Replication": `acks`). Latency is librdkafka's own
per-message figure (`Message.latency()`: from `produce()` to the broker's answer); the
acknowledgement is timed when its delivery report is served, which this loop does after
every send (and while it waits for the next one at a fixed rate), so the figure is late by
at most one send interval.

MB/s here is 2**20 bytes of record values per second, as `kafka-producer-perf-test`
prints it.
"""

from __future__ import annotations

import os
import resource
import time
from array import array
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from confluent_kafka import KafkaError, Message, Producer

from bench.e2e.client_settings import common_settings

MIB = 1024 * 1024


@dataclass(frozen=True)
class ProduceSettings:
    """What a `kafka-producer-perf-test` user chooses."""

    acks: str
    linger_ms: float
    batch_size: int
    record_size: int
    records: int
    #: Records per second to aim for; -1 for as fast as possible.
    throughput: float = -1
    #: Bytes the client may hold unsent (Java's `buffer.memory`, 32 MiB by default).
    buffer_memory: int = 32 * MIB
    idempotence: bool = False

    def client_config(self) -> dict[str, Any]:
        """The librdkafka configuration for these settings."""
        return {
            "acks": self.acks,
            "linger.ms": self.linger_ms,
            "batch.size": self.batch_size,
            "compression.type": "none",
            "enable.idempotence": self.idempotence,
            # librdkafka's default queue (1 GiB, 100,000 records) is far deeper than
            # Java's, and a throughput run's latency is mostly time spent in that queue.
            "queue.buffering.max.kbytes": max(1, self.buffer_memory // 1024),
            "queue.buffering.max.messages": max(1, self.buffer_memory // self.record_size),
        }


@dataclass(frozen=True)
class Latencies:
    """Send-to-acknowledgement latency percentiles, in milliseconds."""

    p50: float
    p99: float
    p999: float
    max: float
    mean: float


@dataclass(frozen=True)
class ProduceResult:
    """What one produce run achieved."""

    records: int
    bytes: int
    seconds: float
    errors: int
    first_error: str | None
    latency_ms: Latencies
    client_cpu_seconds: float

    @property
    def records_per_second(self) -> float:
        return self.records / self.seconds if self.seconds else 0.0

    @property
    def mb_per_second(self) -> float:
        return self.bytes / MIB / self.seconds if self.seconds else 0.0


class ProduceFailed(RuntimeError):
    """Records were still unacknowledged when the time allowed ran out."""


def percentiles(latencies_s: array[float]) -> Latencies:
    """p50, p99, p99.9, max and mean of latencies given in seconds, as milliseconds.

    A percentile is the value at index `n * q` of the sorted list, as
    `kafka-producer-perf-test` takes it.
    """
    if not latencies_s:
        return Latencies(0.0, 0.0, 0.0, 0.0, 0.0)
    ordered = sorted(latencies_s)
    count = len(ordered)

    def at(q: float) -> float:
        return ordered[min(count - 1, int(count * q))] * 1000.0

    return Latencies(
        p50=at(0.5),
        p99=at(0.99),
        p999=at(0.999),
        max=ordered[-1] * 1000.0,
        mean=sum(ordered) / count * 1000.0,
    )


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _wait_until(moment: float, poll: Callable[[float], int]) -> None:
    """Waits for the moment the next record is due, serving delivery reports meanwhile."""
    while (wait := moment - time.perf_counter()) > 0:
        if wait >= 0.001:
            # Returns early when a report comes in; librdkafka counts in whole milliseconds.
            poll(wait)
        else:
            time.sleep(wait)


def produce(
    bootstrap: str, topic: str, partitions: int, settings: ProduceSettings, *, timeout: float
) -> ProduceResult:
    """Sends `settings.records` records of `settings.record_size` random bytes to `topic`.

    One record first goes to each partition and is acknowledged before the clock starts,
    so that the run does not measure connecting and fetching metadata; a catch-up
    consumer therefore finds `partitions + settings.records` records. Raises
    `ProduceFailed` if records are still unacknowledged `timeout` seconds after the last
    send.
    """
    latencies: array[float] = array("d")
    errors: list[KafkaError] = []

    def delivered(error: KafkaError | None, message: Message) -> None:
        if error is not None:
            errors.append(error)
            return
        latency = message.latency()
        if latency is not None:
            latencies.append(latency)

    producer = Producer(
        {**common_settings(bootstrap), "on_delivery": delivered, **settings.client_config()}
    )
    payload = os.urandom(settings.record_size)
    for partition in range(partitions):
        producer.produce(topic, payload, partition=partition)
    if producer.flush(timeout) or errors:
        raise ProduceFailed(f"{topic}: warm-up records not acknowledged: {errors[:1]}")
    del latencies[:]

    send = producer.produce
    poll = producer.poll
    interval = 1.0 / settings.throughput if settings.throughput > 0 else 0.0
    cpu_before = _cpu_seconds()
    started = time.perf_counter()
    for sent in range(settings.records):
        if interval:
            _wait_until(started + sent * interval, poll)
        while True:
            try:
                send(topic, payload)
                break
            except BufferError:
                # The client's queue is full: wait for acknowledgements to make room.
                poll(0.01)
        # librdkafka fixes a record's latency when its delivery report is served, not
        # when the acknowledgement arrives: reports must be served often.
        poll(0)
    unacknowledged = producer.flush(timeout)
    seconds = time.perf_counter() - started
    client_cpu = _cpu_seconds() - cpu_before
    if unacknowledged:
        raise ProduceFailed(f"{topic}: {unacknowledged} records unacknowledged after {timeout} s")
    delivered_records = len(latencies)
    return ProduceResult(
        records=delivered_records,
        bytes=delivered_records * settings.record_size,
        seconds=seconds,
        errors=len(errors),
        first_error=str(errors[0]) if errors else None,
        latency_ms=percentiles(latencies),
        client_cpu_seconds=client_cpu,
    )

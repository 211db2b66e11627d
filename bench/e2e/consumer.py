"""The catch-up consume half of the benchmark, in the manner of Kafka's
`kafka-consumer-perf-test`: once a topic is written, one consumer reads all of it from the
beginning as fast as it can, and the figure is MB/s.

The consumer is confluent-kafka (librdkafka) in this process. It takes its partitions with
`assign()` from the earliest offset, so no group rebalance is timed (shared/kafka-spec/
docs/design.html, "The Consumer": the consumer pulls with Fetch and controls its own
position). The fetch sizes that bound each round trip (`fetch.min.bytes`,
`fetch.max.bytes`, `max.partition.fetch.bytes`) are the same for every broker.

The clock runs from `assign()` to the last expected record; the client has fetched the
topic's metadata before it starts.
"""

from __future__ import annotations

import resource
import time
from dataclasses import dataclass
from typing import Any

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaException, TopicPartition

from bench.e2e.client_settings import common_settings

MIB = 1024 * 1024
#: How many records one `consume()` call may hand back.
CONSUME_BATCH = 10_000
#: librdkafka insists on a group id, even for a consumer that only assigns; nothing is
#: committed under it.
GROUP_ID = "odradek-bench"


@dataclass(frozen=True)
class FetchSettings:
    """The consumer's fetch sizes, in bytes."""

    min_bytes: int = 1
    max_bytes: int = 50 * MIB
    max_partition_bytes: int = 4 * MIB

    def client_config(self) -> dict[str, Any]:
        """The librdkafka configuration for these settings."""
        return {
            "fetch.min.bytes": self.min_bytes,
            "fetch.max.bytes": self.max_bytes,
            "max.partition.fetch.bytes": self.max_partition_bytes,
            # librdkafka rejects a response larger than this, which must leave room for
            # the largest fetch plus its framing.
            "receive.message.max.bytes": max(self.max_bytes + 1024 * 1024, 100_000_000),
        }


@dataclass(frozen=True)
class ConsumeResult:
    """What one catch-up read achieved."""

    records: int
    bytes: int
    seconds: float
    client_cpu_seconds: float

    @property
    def records_per_second(self) -> float:
        return self.records / self.seconds if self.seconds else 0.0

    @property
    def mb_per_second(self) -> float:
        return self.bytes / MIB / self.seconds if self.seconds else 0.0


class ConsumeStalled(RuntimeError):
    """No record arrived for too long before all expected records were read."""


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def catch_up(
    bootstrap: str,
    topic: str,
    partitions: int,
    expected_records: int,
    fetch: FetchSettings,
    *,
    stall_timeout: float,
) -> ConsumeResult:
    """Reads `expected_records` records from the start of every partition of `topic`.

    Raises `ConsumeStalled` when `stall_timeout` seconds pass without a record, and
    `KafkaException` when the client reports an error.
    """
    consumer = Consumer(
        {
            **common_settings(bootstrap),
            "group.id": GROUP_ID,
            "enable.auto.commit": False,
            "enable.auto.offset.store": False,
            **fetch.client_config(),
        }
    )
    try:
        # Without the topic's leaders in its metadata cache, librdkafka looks up the start
        # offsets only after a half-second retry timer, which would count as consume time.
        consumer.list_topics(topic, timeout=stall_timeout)
        records = value_bytes = 0
        cpu_before = _cpu_seconds()
        started = time.perf_counter()
        consumer.assign(
            [TopicPartition(topic, partition, OFFSET_BEGINNING) for partition in range(partitions)]
        )
        last_progress = started
        while records < expected_records:
            # consume() waits for as many records as asked for (or the timeout), so the
            # last call must not ask for more than are left.
            wanted = min(CONSUME_BATCH, expected_records - records)
            messages = consumer.consume(wanted, timeout=0.5)
            now = time.perf_counter()
            if not messages:
                if now - last_progress > stall_timeout:
                    raise ConsumeStalled(
                        f"{topic}: {records} of {expected_records} records read, then nothing"
                        f" for {stall_timeout:.0f} s"
                    )
                continue
            last_progress = now
            for message in messages:
                if message.error() is not None:
                    raise KafkaException(message.error())
            records += len(messages)
            # len() of a message is the length of its value.
            value_bytes += sum(map(len, messages))
        seconds = time.perf_counter() - started
        return ConsumeResult(
            records=records,
            bytes=value_bytes,
            seconds=seconds,
            client_cpu_seconds=_cpu_seconds() - cpu_before,
        )
    finally:
        consumer.close()

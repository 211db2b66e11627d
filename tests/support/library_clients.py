"""The Python Kafka client libraries as test clients: confluent-kafka (librdkafka),
kafka-python and aiokafka, each through its public API only.

The libraries are imported when used, so that a missing one makes only its own tests
skip (`unavailable`).
"""

from __future__ import annotations

import asyncio
import importlib.util
import time
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from tests.support.client_api import DEFAULT_TIMEOUT, Client
from tests.support.records import ConsumedRecord, ConsumeTimeout, Header, Record

PIP_HINT = "pip install -e '.[dev]'"


def _missing_module(module: str, package: str) -> str | None:
    if importlib.util.find_spec(module) is None:
        return f"{package} not installed: {PIP_HINT}"
    return None


def _headers(raw: Sequence[tuple[str, bytes | None]] | None) -> tuple[Header, ...]:
    return tuple((name, value) for name, value in raw or ())


class ConfluentKafka(Client):
    """confluent-kafka, the Python binding of librdkafka."""

    name = "confluent-kafka"

    def unavailable(self) -> str | None:
        return _missing_module("confluent_kafka", "confluent-kafka")

    def produce(
        self,
        bootstrap: str,
        topic: str,
        records: Sequence[Record],
        *,
        config: Mapping[str, Any] | None = None,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        import confluent_kafka

        producer = confluent_kafka.Producer({"bootstrap.servers": bootstrap, **(config or {})})
        failures: list[Any] = []

        def delivered(error: Any, _message: Any) -> None:
            if error is not None:
                failures.append(error)

        for record in records:
            options: dict[str, Any] = {}
            if record.partition is not None:
                options["partition"] = record.partition
            if record.timestamp is not None:
                options["timestamp"] = record.timestamp
            while True:
                try:
                    producer.produce(
                        topic,
                        value=record.value,
                        key=record.key,
                        headers=list(record.headers) or None,
                        on_delivery=delivered,
                        **options,
                    )
                    break
                except BufferError:
                    # The local queue is full: serve delivery reports to make room.
                    producer.poll(0.1)
            producer.poll(0)
        unsent = producer.flush(timeout)
        if unsent:
            raise TimeoutError(f"{self.name}: {unsent} records unacknowledged after {timeout} s")
        if failures:
            raise confluent_kafka.KafkaException(failures[0])

    def consume(
        self,
        bootstrap: str,
        topic: str,
        count: int,
        *,
        group: str | None = None,
        config: Mapping[str, Any] | None = None,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> list[ConsumedRecord]:
        import confluent_kafka

        deadline = time.monotonic() + timeout
        settings: dict[str, Any] = {
            "bootstrap.servers": bootstrap,
            # librdkafka wants a group id even for a consumer that only assigns.
            "group.id": group or f"odradek-unused-{uuid.uuid4()}",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": group is not None,
            **(config or {}),
        }
        consumer = confluent_kafka.Consumer(settings)
        received: list[ConsumedRecord] = []
        try:
            if group is not None:
                consumer.subscribe([topic])
            else:
                metadata = consumer.list_topics(topic, timeout=timeout)
                partitions = sorted(metadata.topics[topic].partitions)
                consumer.assign(
                    [
                        confluent_kafka.TopicPartition(topic, p, confluent_kafka.OFFSET_BEGINNING)
                        for p in partitions
                    ]
                )
            while len(received) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise ConsumeTimeout(self.name, count, received)
                for message in consumer.consume(count - len(received), timeout=min(left, 0.5)):
                    if message.error() is not None:
                        raise confluent_kafka.KafkaException(message.error())
                    received.append(self._record(message))
        finally:
            consumer.close()
        return received

    @staticmethod
    def _record(message: Any) -> ConsumedRecord:
        return ConsumedRecord(
            topic=message.topic(),
            partition=message.partition(),
            offset=message.offset(),
            timestamp=message.timestamp()[1],
            key=message.key(),
            value=message.value(),
            headers=_headers(message.headers()),
        )


class KafkaPython(Client):
    """kafka-python, a pure-Python client."""

    name = "kafka-python"

    def unavailable(self) -> str | None:
        return _missing_module("kafka", "kafka-python")

    def produce(
        self,
        bootstrap: str,
        topic: str,
        records: Sequence[Record],
        *,
        config: Mapping[str, Any] | None = None,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        import kafka

        producer = kafka.KafkaProducer(bootstrap_servers=bootstrap, **(config or {}))
        try:
            acks = [
                producer.send(
                    topic,
                    value=record.value,
                    key=record.key,
                    headers=list(record.headers),
                    partition=record.partition,
                    timestamp_ms=record.timestamp,
                )
                for record in records
            ]
            producer.flush(timeout=timeout)
            for ack in acks:
                ack.get(timeout=timeout)
        finally:
            producer.close(timeout=timeout)

    def consume(
        self,
        bootstrap: str,
        topic: str,
        count: int,
        *,
        group: str | None = None,
        config: Mapping[str, Any] | None = None,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> list[ConsumedRecord]:
        import kafka

        deadline = time.monotonic() + timeout
        # Without a group id, kafka-python assigns itself every partition of the topic.
        consumer = kafka.KafkaConsumer(
            topic,
            bootstrap_servers=bootstrap,
            group_id=group,
            auto_offset_reset="earliest",
            enable_auto_commit=group is not None,
            **(config or {}),
        )
        received: list[ConsumedRecord] = []
        try:
            while len(received) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise ConsumeTimeout(self.name, count, received)
                batches = consumer.poll(
                    timeout_ms=int(min(left, 0.5) * 1000), max_records=count - len(received)
                )
                for messages in batches.values():
                    received.extend(
                        ConsumedRecord(
                            topic=message.topic,
                            partition=message.partition,
                            offset=message.offset,
                            timestamp=message.timestamp,
                            key=message.key,
                            value=message.value,
                            headers=_headers(message.headers),
                        )
                        for message in messages
                    )
        finally:
            consumer.close()
        return received


class AioKafka(Client):
    """aiokafka, an asyncio client, run in an event loop of its own for each call."""

    name = "aiokafka"

    def unavailable(self) -> str | None:
        return _missing_module("aiokafka", "aiokafka")

    def produce(
        self,
        bootstrap: str,
        topic: str,
        records: Sequence[Record],
        *,
        config: Mapping[str, Any] | None = None,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        asyncio.run(asyncio.wait_for(self._produce(bootstrap, topic, records, config), timeout))

    async def _produce(
        self,
        bootstrap: str,
        topic: str,
        records: Sequence[Record],
        config: Mapping[str, Any] | None,
    ) -> None:
        import aiokafka

        producer = aiokafka.AIOKafkaProducer(bootstrap_servers=bootstrap, **(config or {}))
        await producer.start()
        try:
            acks = [
                await producer.send(
                    topic,
                    value=record.value,
                    key=record.key,
                    headers=list(record.headers) or None,
                    partition=record.partition,
                    timestamp_ms=record.timestamp,
                )
                for record in records
            ]
            for ack in acks:
                await ack
        finally:
            await producer.stop()

    def consume(
        self,
        bootstrap: str,
        topic: str,
        count: int,
        *,
        group: str | None = None,
        config: Mapping[str, Any] | None = None,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> list[ConsumedRecord]:
        received: list[ConsumedRecord] = []
        try:
            asyncio.run(
                asyncio.wait_for(
                    self._consume(bootstrap, topic, count, group, config, received), timeout
                )
            )
        except TimeoutError as timed_out:
            raise ConsumeTimeout(self.name, count, received) from timed_out
        return received

    async def _consume(
        self,
        bootstrap: str,
        topic: str,
        count: int,
        group: str | None,
        config: Mapping[str, Any] | None,
        received: list[ConsumedRecord],
    ) -> None:
        import aiokafka

        # Without a group id, aiokafka assigns itself every partition of the topic.
        consumer = aiokafka.AIOKafkaConsumer(
            topic,
            bootstrap_servers=bootstrap,
            group_id=group,
            auto_offset_reset="earliest",
            enable_auto_commit=group is not None,
            **(config or {}),
        )
        await consumer.start()
        try:
            while len(received) < count:
                batches = await consumer.getmany(timeout_ms=500, max_records=count - len(received))
                for messages in batches.values():
                    received.extend(
                        ConsumedRecord(
                            topic=message.topic,
                            partition=message.partition,
                            offset=message.offset,
                            timestamp=message.timestamp,
                            key=message.key,
                            value=message.value,
                            headers=_headers(message.headers),
                        )
                        for message in messages
                    )
        finally:
            await consumer.stop()

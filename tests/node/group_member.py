"""One consumer group member as a process of its own, for the consumer group tests.

    python3 -m tests.node.group_member --library confluent-kafka \\
        --bootstrap-server HOST:PORT --topic T --group G [--config JSON]

It subscribes to the topic with the library's own consumer (confluent-kafka,
kafka-python or aiokafka; ``--config`` is merged into that library's settings, in its
own terms; for kafka-python and aiokafka, ``"assignors": ["roundrobin", ...]`` names
their assignor classes), and consumes with manual commits: each polled batch is printed, then its
offsets are committed synchronously. A commit that fails because the group moved on
(a rebalance) is skipped: the new owner of those partitions gets the records again,
which is what at-least-once means. It prints one JSON object per line:

    {"assigned": [0, 3]}             its assignment, whenever it changes
    {"records": [[p, offset, value], ...]}   a polled batch, values as text
    {"committed": true}              the batch's offsets are committed

SIGTERM closes the consumer cleanly (it leaves the group) and exits 0; SIGKILL is a
crash, after which the group learns of the loss only when the session times out.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys
from typing import Any

POLL_S = 0.2


class Stop:
    """Set by SIGTERM: finish the current poll, close, exit."""

    requested = False

    @classmethod
    def install(cls) -> None:
        def stop(_signum: int, _frame: object) -> None:
            cls.requested = True

        signal.signal(signal.SIGTERM, stop)


def emit(**fields: Any) -> None:
    print(json.dumps(fields), flush=True)


class AssignmentReporter:
    def __init__(self) -> None:
        self.last: list[int] | None = None

    def report(self, partitions: list[int]) -> None:
        current = sorted(partitions)
        if current != self.last:
            self.last = current
            emit(assigned=current)


def run_confluent(args: argparse.Namespace, config: dict[str, Any]) -> None:
    import confluent_kafka

    consumer = confluent_kafka.Consumer(
        {
            "bootstrap.servers": args.bootstrap_server,
            "group.id": args.group,
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
            **config,
        }
    )
    reporter = AssignmentReporter()
    consumer.subscribe([args.topic])
    try:
        while not Stop.requested:
            messages = consumer.consume(100, timeout=POLL_S)
            reporter.report([tp.partition for tp in consumer.assignment()])
            batch = []
            for message in messages:
                if message.error() is not None:
                    continue
                batch.append(
                    [message.partition(), message.offset(), (message.value() or b"").decode()]
                )
            if not batch:
                continue
            emit(records=batch)
            try:
                consumer.commit(asynchronous=False)
            except confluent_kafka.KafkaException:
                continue
            emit(committed=True)
    finally:
        consumer.close()


def run_kafka_python(args: argparse.Namespace, config: dict[str, Any]) -> None:
    import kafka
    from kafka.coordinator.assignors.cooperative_sticky import CooperativeStickyAssignor
    from kafka.coordinator.assignors.range import RangePartitionAssignor
    from kafka.coordinator.assignors.roundrobin import RoundRobinPartitionAssignor
    from kafka.coordinator.assignors.sticky.sticky_assignor import StickyPartitionAssignor
    from kafka.errors import CommitFailedError, KafkaError

    assignors = {
        "range": RangePartitionAssignor,
        "roundrobin": RoundRobinPartitionAssignor,
        "sticky": StickyPartitionAssignor,
        "cooperative-sticky": CooperativeStickyAssignor,
    }
    names = config.pop("assignors", None)
    if names is not None:
        config["partition_assignment_strategy"] = [assignors[n] for n in names]
    consumer = kafka.KafkaConsumer(
        args.topic,
        bootstrap_servers=args.bootstrap_server,
        group_id=args.group,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        **config,
    )
    reporter = AssignmentReporter()
    try:
        while not Stop.requested:
            polled = consumer.poll(timeout_ms=int(POLL_S * 1000))
            reporter.report([tp.partition for tp in consumer.assignment()])
            batch = [
                [m.partition, m.offset, m.value.decode()]
                for messages in polled.values()
                for m in messages
            ]
            if not batch:
                continue
            emit(records=batch)
            try:
                consumer.commit()
            except (CommitFailedError, KafkaError):
                continue
            emit(committed=True)
    finally:
        consumer.close()


async def _run_aiokafka(args: argparse.Namespace, config: dict[str, Any]) -> None:
    import aiokafka
    from aiokafka.coordinator.assignors.range import RangePartitionAssignor
    from aiokafka.coordinator.assignors.roundrobin import RoundRobinPartitionAssignor
    from aiokafka.coordinator.assignors.sticky.sticky_assignor import StickyPartitionAssignor
    from aiokafka.errors import CommitFailedError, IllegalStateError, KafkaError

    assignors = {
        "range": RangePartitionAssignor,
        "roundrobin": RoundRobinPartitionAssignor,
        "sticky": StickyPartitionAssignor,
    }
    names = config.pop("assignors", None)
    if names is not None:
        config["partition_assignment_strategy"] = tuple(assignors[n] for n in names)
    consumer = aiokafka.AIOKafkaConsumer(
        args.topic,
        bootstrap_servers=args.bootstrap_server,
        group_id=args.group,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        **config,
    )
    await consumer.start()
    reporter = AssignmentReporter()
    try:
        while not Stop.requested:
            polled = await consumer.getmany(timeout_ms=int(POLL_S * 1000))
            reporter.report([tp.partition for tp in consumer.assignment()])
            batch = [
                [m.partition, m.offset, m.value.decode()]
                for messages in polled.values()
                for m in messages
            ]
            if not batch:
                continue
            emit(records=batch)
            try:
                await consumer.commit()
            except (CommitFailedError, IllegalStateError, KafkaError):
                continue
            emit(committed=True)
    finally:
        await consumer.stop()


def run_aiokafka(args: argparse.Namespace, config: dict[str, Any]) -> None:
    asyncio.run(_run_aiokafka(args, config))


LIBRARIES = {
    "confluent-kafka": run_confluent,
    "kafka-python": run_kafka_python,
    "aiokafka": run_aiokafka,
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--library", choices=sorted(LIBRARIES), required=True)
    parser.add_argument("--bootstrap-server", required=True)
    parser.add_argument("--topic", required=True)
    parser.add_argument("--group", required=True)
    parser.add_argument("--config", default="{}", help="library settings as a JSON object")
    args = parser.parse_args(argv)
    Stop.install()
    LIBRARIES[args.library](args, json.loads(args.config))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""One confluent-kafka group member as a process of its own, for the group benchmark.

    python3 -m bench.e2e.group_member --bootstrap-server HOST:PORT --topic T --group G \\
        [--config JSON]

It subscribes and polls, and prints a JSON line each time its assignment changes,
from inside librdkafka's rebalance callbacks, with the wall-clock time it happened:

    {"subscribed": true, "at": 1712345678.123}
    {"assignment": [0, 3], "at": 1712345679.456}

SIGTERM closes it cleanly (it leaves the group); SIGKILL is a crash. Being a process
of its own is what lets the benchmark crash one member and not the others.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import time
from typing import Any

from bench.e2e.client_settings import common_settings

#: Short polls, so that the rebalance callbacks run as soon as librdkafka has them.
POLL_S = 0.02


def emit(**fields: Any) -> None:
    print(json.dumps({**fields, "at": time.time()}), flush=True)


def main(argv: list[str] | None = None) -> int:
    import confluent_kafka

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bootstrap-server", required=True)
    parser.add_argument("--topic", required=True)
    parser.add_argument("--group", required=True)
    parser.add_argument("--config", default="{}")
    args = parser.parse_args(argv)

    stop = False

    def on_term(_signum: int, _frame: object) -> None:
        nonlocal stop
        stop = True

    signal.signal(signal.SIGTERM, on_term)
    consumer = confluent_kafka.Consumer(
        {
            **common_settings(args.bootstrap_server),
            "group.id": args.group,
            "enable.auto.commit": False,
            **json.loads(args.config),
        }
    )
    owned: set[int] = set()

    def assigned(_consumer: Any, partitions: list[Any]) -> None:
        owned.update(tp.partition for tp in partitions)
        emit(assignment=sorted(owned))

    def revoked(_consumer: Any, partitions: list[Any]) -> None:
        owned.difference_update(tp.partition for tp in partitions)
        emit(assignment=sorted(owned))

    emit(subscribed=True)
    consumer.subscribe([args.topic], on_assign=assigned, on_revoke=revoked, on_lost=revoked)
    try:
        while not stop:
            consumer.poll(POLL_S)
    finally:
        consumer.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())

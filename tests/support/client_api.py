"""What every test client offers: produce records to a topic, consume N records from it.

Each client is an unmodified Kafka client library or program, so a test that passes with
all of them has exercised the broker the way each client family speaks the protocol
(shared/kafka-spec/docs/protocol.html): librdkafka (confluent-kafka, kcat), kafka-python,
aiokafka, kafkajs and the Java kafka-clients.
"""

from __future__ import annotations

import abc
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from tests.support.records import ConsumedRecord, Record

DEFAULT_TIMEOUT = 60.0


class Client(abc.ABC):
    """One Kafka client, driven through its own API or command line.

    `config` is passed to the client in its own terms: librdkafka properties for
    confluent-kafka and kcat, constructor keywords for kafka-python and aiokafka, Java
    client properties for the Java client, producer()/consumer() options for kafkajs.
    """

    name: ClassVar[str]
    needs_java: ClassVar[bool] = False

    @abc.abstractmethod
    def unavailable(self) -> str | None:
        """Why this client cannot run here (and what to do about it), or None."""

    @abc.abstractmethod
    def produce(
        self,
        bootstrap: str,
        topic: str,
        records: Sequence[Record],
        *,
        config: Mapping[str, Any] | None = None,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        """Sends `records` in order and returns once the broker acknowledged every one.

        Raises ValueError for a record this client cannot express.
        """

    @abc.abstractmethod
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
        """Reads `count` records of `topic` from the beginning, in the order received.

        With `group`, subscribes as a member of that consumer group (committing what it
        read); without, reads every partition outside any group where the client allows
        it. Raises `records.ConsumeTimeout` if fewer arrive within `timeout` seconds.
        """

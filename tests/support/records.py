"""Records as tests write and read them, independent of any client library.

A `Record` is what a producer is asked to send and a `ConsumedRecord` what a consumer
returns: the fields a Kafka record carries in a v2 record batch (key, value, headers,
timestamp; shared/kafka-spec/docs/implementation.html, "Record"), plus the partition and
offset the broker placed it at. The client programs outside Python (tools/clients) speak
JSON lines with bytes in base64; `to_json_line` and `from_json_line` are that format.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

Header = tuple[str, bytes | None]


@dataclass(frozen=True)
class Record:
    """A record to produce. Without `partition` the client's partitioner chooses, and
    without `timestamp` (milliseconds since the epoch) the client stamps the send time."""

    value: bytes | None
    key: bytes | None = None
    headers: tuple[Header, ...] = ()
    partition: int | None = None
    timestamp: int | None = None


@dataclass(frozen=True)
class ConsumedRecord:
    """A record as a consumer received it."""

    topic: str
    partition: int
    offset: int
    timestamp: int
    key: bytes | None
    value: bytes | None
    headers: tuple[Header, ...] = ()

    def content(self) -> tuple[bytes | None, bytes | None, tuple[Header, ...]]:
        """Key, value and headers: what must survive a trip through any client."""
        return (self.key, self.value, self.headers)


class ConsumeTimeout(TimeoutError):
    """Fewer records than asked for arrived before the deadline."""

    def __init__(self, client: str, expected: int, received: Sequence[ConsumedRecord]) -> None:
        self.client = client
        self.expected = expected
        self.received = list(received)
        super().__init__(
            f"{client}: received {len(received)} of {expected} records before the timeout"
        )


def numbered_records(count: int, *, prefix: str = "record") -> list[Record]:
    """`count` text records with distinct keys, values and one header each."""
    return [
        Record(
            key=f"{prefix}-key-{index}".encode(),
            value=f"{prefix}-value-{index}".encode(),
            headers=(("index", str(index).encode()),),
        )
        for index in range(count)
    ]


def _b64(data: bytes | None) -> str | None:
    return None if data is None else base64.b64encode(data).decode("ascii")


def _unb64(text: str | None) -> bytes | None:
    return None if text is None else base64.b64decode(text)


def to_json_line(record: Record) -> str:
    """A record to produce, as one line for tools/clients."""
    fields: dict[str, Any] = {
        "key": _b64(record.key),
        "value": _b64(record.value),
        "headers": [[name, _b64(value)] for name, value in record.headers],
        "partition": record.partition,
        "timestamp": record.timestamp,
    }
    return json.dumps(fields)


def from_json_line(line: str) -> ConsumedRecord:
    """A record printed by a consumer of tools/clients."""
    fields = json.loads(line)
    return ConsumedRecord(
        topic=fields["topic"],
        partition=fields["partition"],
        offset=fields["offset"],
        timestamp=fields["timestamp"],
        key=_unb64(fields["key"]),
        value=_unb64(fields["value"]),
        headers=tuple((name, _unb64(value)) for name, value in fields["headers"]),
    )

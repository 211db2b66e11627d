"""What the coordinator knows of the cluster's topics: names, ids, partition counts.

The broker passes its metadata image's ``TopicsImage`` (``odradek.metadata.topics``),
which has this shape; tests pass a small stand-in. Offset commits check partitions
against it (UNKNOWN_TOPIC_OR_PARTITION), and consumer groups resolve their
subscriptions -- names and regexes -- to topic ids and partition counts with it.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Protocol


class TopicView(Protocol):
    """What the coordinator needs to know of a topic (``metadata.topics.TopicImage``)."""

    @property
    def topic_id(self) -> uuid.UUID: ...

    @property
    def partitions(self) -> Mapping[int, object]: ...


class TopicsView(Protocol):
    """The cluster's topics by name (``metadata.topics.TopicsImage`` is one)."""

    @property
    def by_name(self) -> Mapping[str, TopicView]: ...

    def get_by_name(self, name: str) -> TopicView | None: ...
